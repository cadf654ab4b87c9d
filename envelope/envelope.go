// Package envelope states the rules for everything a sender or a
// recipient writes: each field of a document's envelope, its file names,
// message ids, and the texts of status steps. The node checks them before
// it queues a document, the hub when the document arrives (Send) and when
// a status step is reported; a declaration of a paper or secret document
// obeys the same rules for the fields it shares (number, notation, issue
// date, document type). One implementation, so the clerk hears the same
// message from the node at once as the hub would give later.
//
// Every refusal is a lienthong.KindInvalid error (FailedPrecondition for a
// secret document) whose message says, in Vietnamese with the English
// gist, what to correct.
package envelope

import (
	"crypto/sha256"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/internal/termsafe"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Bounds of the fields. Characters are Unicode code points; bytes are of
// the UTF-8 encoding.
const (
	MaxSubject      = 2000 // characters
	MaxSigner       = 200  // characters
	MaxText         = 2000 // characters: a status step's text, a rejection reason
	MaxNotation     = 100  // bytes, as declarations have always had
	MaxDocumentType = 100  // bytes
	MaxMediaType    = 255  // bytes
	MaxRecipients   = 2000 // entries of an envelope's recipient list
	MaxRecipient    = 64   // bytes of one entry (a code or KIND:CODE)
	// MaxNumber is the highest register number. An agency numbers its
	// documents from 1 each year; the busiest issue tens of thousands.
	// The bound keeps one mistyped or hostile number from putting a
	// million "possibly sent on paper" gaps into the compliance report.
	MaxNumber = 999999
	// maxNumberLen allows leading zeros ("05", as numbers below 10 are
	// written) on top of MaxNumber's six digits.
	maxNumberLen = 7
	// MinYear is the earliest issue year accepted.
	MinYear = 2000
	// MaxDueYears is how far after the day of sending a due date may lie.
	MaxDueYears = 5
	// MaxEdxml is the encoded size in bytes of an envelope's EdxmlHeader
	// (the fields of an edXML package the envelope has no field for).
	MaxEdxml = 64 << 10
)

func invalid(format string, args ...any) error {
	return lienthong.Errorf(lienthong.KindInvalid, format, args...)
}

// Check applies every rule to env that needs neither the hub's state nor
// its configured limits: the message ids, the enums, each text field, the
// dates against now (the day of sending, in the province), and the files.
// It does not check the sender against a certificate, that the recipients
// exist, nor file counts and sizes against the hub's limits.
func Check(env *lienthongv1.Envelope, now time.Time) error {
	if err := MessageID("mã văn bản (message id)", env.GetMessageId()); err != nil {
		return err
	}
	switch sl := env.GetSecurityLevel(); sl {
	case lienthongv1.SecurityLevel_SECURITY_LEVEL_UNSPECIFIED, lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL:
	case lienthongv1.SecurityLevel_SECURITY_LEVEL_CONFIDENTIAL, lienthongv1.SecurityLevel_SECURITY_LEVEL_SECRET,
		lienthongv1.SecurityLevel_SECURITY_LEVEL_TOP_SECRET:
		return lienthong.Errorf(lienthong.KindFailedPrecondition,
			"văn bản mật không được gửi qua trục liên thông; hãy chuyển bằng đường mật và khai báo bằng `ltnode declare --kind secret` (secret documents are refused)")
	default:
		return invalid("độ mật %d không hợp lệ; chỉ văn bản thường được gửi qua trục (security level %d undefined)", int32(sl), int32(sl))
	}
	bt := env.GetBusinessType()
	switch {
	case bt == lienthongv1.BusinessType_BUSINESS_TYPE_UNSPECIFIED || lienthongv1.BusinessType_name[int32(bt)] == "":
		return invalid("thiếu loại nghiệp vụ (business type: new, revoke, update, replace)")
	case bt == lienthongv1.BusinessType_BUSINESS_TYPE_NEW && env.GetRelatedMessageId() != "":
		return invalid("văn bản mới không được ghi văn bản liên quan (related message id set on a new document)")
	case bt != lienthongv1.BusinessType_BUSINESS_TYPE_NEW && env.GetRelatedMessageId() == "":
		return invalid("thu hồi/cập nhật/thay thế phải ghi mã văn bản gốc (related message id missing)")
	}
	if env.GetRelatedMessageId() != "" {
		if err := MessageID("mã văn bản liên quan (related message id)", env.GetRelatedMessageId()); err != nil {
			return err
		}
	}
	if u := env.GetUrgency(); lienthongv1.Urgency_name[int32(u)] == "" {
		return invalid("độ khẩn %d không hợp lệ: thường, khẩn, thượng khẩn hoặc hỏa tốc (urgency %d undefined)", int32(u), int32(u))
	}
	if _, err := Number(env.GetNumber()); err != nil {
		return err
	}
	if err := Notation(env.GetNotation()); err != nil {
		return err
	}
	if err := IssueDate(env.GetIssueDate(), now); err != nil {
		return err
	}
	if err := DocumentType(env.GetDocumentType()); err != nil {
		return err
	}
	if env.GetSubject() == "" {
		return invalid("thiếu trích yếu (subject) của văn bản")
	}
	if err := line("trích yếu (subject)", env.GetSubject(), MaxSubject, 0); err != nil {
		return err
	}
	if err := line("người ký (signer)", env.GetSigner(), MaxSigner, 0); err != nil {
		return err
	}
	if env.GetDueDate() != "" {
		if err := DueDate(env.GetDueDate(), env.GetIssueDate(), now); err != nil {
			return err
		}
	}
	if err := recipients(env); err != nil {
		return err
	}
	if err := edxmlHeader(env); err != nil {
		return err
	}
	return files(env.GetFiles())
}

// edxmlHeader bounds the edXML fields an envelope carries: they are
// signed and stored with it, and written out at every recipient.
func edxmlHeader(env *lienthongv1.Envelope) error {
	x := env.GetEdxml()
	if x == nil {
		return nil
	}
	if n := proto.Size(x); n > MaxEdxml {
		return invalid("các trường edXML của văn bản dài %d byte, tối đa %d; hãy rút gọn nội dung, nơi nhận hoặc phụ lục (edXML fields too large)", n, MaxEdxml)
	}
	if len(x.GetFiles()) > len(env.GetFiles()) {
		return invalid("danh mục edXML ghi %d tệp nhưng văn bản có %d (edXML manifest lists more files than the envelope)", len(x.GetFiles()), len(env.GetFiles()))
	}
	return nil
}

func recipients(env *lienthongv1.Envelope) error {
	list := env.GetRecipients()
	if len(list) == 0 && env.GetRelatedMessageId() == "" {
		return invalid("văn bản chưa có nơi nhận (no recipients)")
	}
	if len(list) > MaxRecipients {
		return invalid("văn bản ghi %d nơi nhận, tối đa %d; hãy gửi theo nhóm, ví dụ commune:000.00.31.H53 (too many recipients)",
			len(list), MaxRecipients)
	}
	for _, r := range list {
		if err := line("nơi nhận (recipient)", r, 0, MaxRecipient); err != nil {
			return err
		}
	}
	return nil
}

func files(list []*lienthongv1.FileInfo) error {
	if len(list) == 0 {
		return invalid("văn bản không có tệp đính kèm nào (no files)")
	}
	names := make([]string, len(list))
	for i, f := range list {
		if f.GetName() == "" {
			return invalid("tệp thứ %d không có tên (file name missing)", i+1)
		}
		if err := FileName(f.GetName()); err != nil {
			return err
		}
		if err := MediaType(f.GetMediaType()); err != nil {
			return lienthong.Wrap(lienthong.KindInvalid, err, "tệp %s: %s", quote(f.GetName()), lienthong.ErrorMessage(err))
		}
		switch {
		case len(f.GetSha256()) != sha256.Size:
			return invalid("tệp %s: mã băm SHA-256 phải dài 32 byte, được %d", quote(f.GetName()), len(f.GetSha256()))
		case f.GetSize() < 0:
			return invalid("tệp %s: kích thước âm", quote(f.GetName()))
		}
		names[i] = f.GetName()
	}
	return FileNames(names)
}

// MessageID checks that id, the field named what, is a UUID in its
// canonical form: 36 characters, lower case, with hyphens. Other
// spellings of the same UUID (upper case, braces, urn:uuid:) are refused
// with the canonical one in the message, so that one document never has
// two keys.
func MessageID(what, id string) error {
	canon, ok := Canonical(id)
	switch {
	case !ok:
		return invalid("%s %s phải là một UUID, ví dụ %s", what, quote(id), "3f2b6a1e-8c4d-4e7f-9a10-2b3c4d5e6f70")
	case canon != id:
		return invalid("%s %s phải viết ở dạng chuẩn %s (use the canonical lower-case UUID)", what, quote(id), canon)
	}
	return nil
}

// LookupID returns the canonical form of a message id given to look a
// document up (track, acknowledge, report a status step): any spelling of
// a UUID finds the document; anything else is refused.
func LookupID(id string) (string, error) {
	canon, ok := Canonical(id)
	if !ok {
		return "", invalid("mã văn bản (message id) %s phải là một UUID, ví dụ %s", quote(id), "3f2b6a1e-8c4d-4e7f-9a10-2b3c4d5e6f70")
	}
	return canon, nil
}

// Canonical returns the canonical form of a UUID written in any spelling
// uuid.Parse reads, and false when s is not a UUID.
func Canonical(s string) (string, bool) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// Number reads a register number (số): a positive integer of at most six
// digits, leading zeros allowed ("05").
func Number(s string) (uint32, error) {
	bad := func() (uint32, error) {
		return 0, invalid("số văn bản %s phải là số nguyên dương có tối đa 6 chữ số, ví dụ 45 (number must be a positive integer up to %d)",
			quote(s), MaxNumber)
	}
	if s == "" || len(s) > maxNumberLen {
		return bad()
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return bad()
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 || v > MaxNumber {
		return bad()
	}
	return uint32(v), nil
}

// Notation checks a notation (ký hiệu), e.g. QĐ-UBND or UBND-VP: letters
// and digits joined by - / . _ ( ) &, without spaces, as the rules for
// administrative documents write them, and at most MaxNotation bytes.
func Notation(s string) error {
	if s == "" {
		return invalid("thiếu ký hiệu văn bản, ví dụ QĐ-UBND (notation is required)")
	}
	if len(s) > MaxNotation {
		return invalid("ký hiệu văn bản dài %d byte, tối đa %d (notation is limited to %d bytes)", len(s), MaxNotation, MaxNotation)
	}
	if err := line("ký hiệu (notation)", s, 0, 0); err != nil {
		return err
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) && !strings.ContainsRune("-/._()&", r) {
			return invalid("ký hiệu %s chỉ gồm chữ, số và các dấu - / . _ ( ) &, không có khoảng trắng, ví dụ QĐ-UBND (notation: letters, digits and - / . _ ( ) & only)",
				quote(s))
		}
	}
	return nil
}

// Declaration checks the fields of a declaration of a document issued on
// paper or secret (trimmed by the caller), with the rules of the same
// fields of an envelope, and returns the register number.
func Declaration(number, notation, issueDate, documentType string, now time.Time) (uint32, error) {
	n, err := Number(number)
	if err != nil {
		return 0, err
	}
	if err := Notation(notation); err != nil {
		return 0, err
	}
	if err := IssueDate(issueDate, now); err != nil {
		return 0, err
	}
	if err := DocumentType(documentType); err != nil {
		return 0, err
	}
	return n, nil
}

// DocumentType checks the optional type of document (loại văn bản), e.g.
// "Quyết định".
func DocumentType(s string) error {
	if len(s) > MaxDocumentType {
		return invalid("loại văn bản dài %d byte, tối đa %d (document type is limited to %d bytes)", len(s), MaxDocumentType, MaxDocumentType)
	}
	return line("loại văn bản (document type)", s, 0, 0)
}

// StatusText checks the text of a status step (a rejection's reason): at
// most MaxText characters; line breaks and tabs are allowed, other
// control characters not.
func StatusText(s string) error {
	return text("lý do (reason)", s, MaxText, 0, true)
}

// MediaType checks a file's declared media type: empty, or type/subtype
// with optional parameters as mime.ParseMediaType reads them, of at most
// MaxMediaType bytes.
func MediaType(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxMediaType {
		return invalid("kiểu tệp (media type) dài %d byte, tối đa %d", len(s), MaxMediaType)
	}
	if err := line("kiểu tệp (media type)", s, 0, 0); err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(s)
	if typ, sub, ok := strings.Cut(mt, "/"); err != nil || !ok || typ == "" || sub == "" {
		return invalid("kiểu tệp (media type) %s không hợp lệ, ví dụ application/pdf", quote(s))
	}
	return nil
}

// day is a calendar date as midnight UTC, for comparing dates.
type day = time.Time

// today is now's date in the province.
func today(now time.Time) day {
	y, m, d := now.In(lienthong.Zone()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func parseDate(what, s string) (day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return day{}, invalid("%s: ngày %s không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)", what, quote(s))
	}
	return t, nil
}

// IssueDate checks an issue date (ngày ban hành): YYYY-MM-DD, not before
// MinYear and not after tomorrow in the province (the node's and the
// hub's clocks may disagree around midnight).
func IssueDate(s string, now time.Time) error {
	if s == "" {
		return invalid("thiếu ngày ban hành YYYY-MM-DD (issue date is required)")
	}
	d, err := parseDate("ngày ban hành", s)
	if err != nil {
		return err
	}
	if d.Year() < MinYear {
		return invalid("ngày ban hành %s quá cũ (issue date before %d)", s, MinYear)
	}
	if d.After(today(now).AddDate(0, 0, 1)) {
		return invalid("ngày ban hành %s ở tương lai (issue date is in the future)", s)
	}
	return nil
}

// DueDate checks a due date (hạn xử lý) against the issue date and now:
// not before the issue date, not before today in the province (a due
// date already past would count the recipients overdue the moment they
// receive it), and at most MaxDueYears ahead.
func DueDate(s, issue string, now time.Time) error {
	d, err := parseDate("hạn xử lý", s)
	if err != nil {
		return err
	}
	if iss, err := time.Parse(time.DateOnly, issue); err == nil && d.Before(iss) {
		return invalid("hạn xử lý %s trước ngày ban hành %s (due date before the issue date)", s, issue)
	}
	t := today(now)
	if d.Before(t) {
		return invalid("hạn xử lý %s đã qua, hôm nay là %s (due date in the past)", s, t.Format(time.DateOnly))
	}
	if d.After(t.AddDate(MaxDueYears, 0, 0)) {
		return invalid("hạn xử lý %s quá xa, tối đa %d năm (due date more than %d years ahead)", s, MaxDueYears, MaxDueYears)
	}
	return nil
}

// line checks a one-line text field: valid UTF-8, no control or
// bidirectional formatting characters, at most maxChars characters and
// maxBytes bytes (0: no bound).
func line(what, s string, maxChars, maxBytes int) error {
	return text(what, s, maxChars, maxBytes, false)
}

func text(what, s string, maxChars, maxBytes int, multiline bool) error {
	if maxBytes > 0 && len(s) > maxBytes {
		return invalid("%s dài %d byte, tối đa %d (%s too long)", what, len(s), maxBytes, english(what))
	}
	if !utf8.ValidString(s) {
		return invalid("%s không phải văn bản UTF-8 hợp lệ (%s is not valid UTF-8)", what, english(what))
	}
	n := 0
	for _, r := range s {
		n++
		if termsafe.Unsafe(r) && !(multiline && (r == '\n' || r == '\t')) {
			return invalid("%s chứa ký tự điều khiển hoặc ký tự đảo chiều U+%04X ở ký tự thứ %d; hãy gõ lại không có ký tự đó (%s contains a control or bidi character)",
				what, r, n, english(what))
		}
	}
	if maxChars > 0 && n > maxChars {
		return invalid("%s dài %d ký tự, tối đa %d (%s too long)", what, n, maxChars, english(what))
	}
	return nil
}

// english returns the English name in a field label "tên (name)".
func english(what string) string {
	if i := strings.LastIndexByte(what, '('); i >= 0 && strings.HasSuffix(what, ")") {
		return what[i+1 : len(what)-1]
	}
	return what
}

// quote quotes s for a message, shortened when long; control and
// bidirectional characters come out escaped.
func quote(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == max {
			return strconv.Quote(s[:i]) + fmt.Sprintf("… (%d byte)", len(s))
		}
		n++
	}
	return strconv.Quote(s)
}
