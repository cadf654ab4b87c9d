package envelope

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// now is 00:30 on 2026-03-11 in the province, still 2026-03-10 in UTC.
var now = time.Date(2026, 3, 10, 17, 30, 0, 0, time.UTC)

func good() *lienthongv1.Envelope {
	sum := sha256.Sum256([]byte("x"))
	return &lienthongv1.Envelope{
		MessageId: "3f2b6a1e-8c4d-4e7f-9a10-2b3c4d5e6f70", Sender: "000.01.31.H53", Recipients: []string{"000.00.31.H53", "commune:000.00.31.H53"},
		BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "05", Notation: "QĐ-UBND", IssueDate: "2026-03-11",
		DocumentType: "Quyết định", Subject: "Về việc chuyển đổi số", Signer: "Nguyễn Văn A",
		Urgency: lienthongv1.Urgency_URGENCY_FLASH, SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL, DueDate: "2026-03-11",
		Files: []*lienthongv1.FileInfo{
			{Name: "Quyết định 05.pdf", MediaType: "application/pdf", Size: 1, Sha256: sum[:]},
			{Name: "phụ lục (1).docx", MediaType: "", Size: 0, Sha256: sum[:]},
		},
	}
}

func TestCheckAcceptsAGoodEnvelope(t *testing.T) {
	if err := Check(good(), now); err != nil {
		t.Fatal(err)
	}
	env := good()
	env.BusinessType, env.RelatedMessageId, env.Recipients = lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", nil
	env.IssueDate, env.DueDate, env.Number = "2026-03-12", "", "999999" // tomorrow is tolerated
	if err := Check(env, now); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRefuses(t *testing.T) {
	const id = "3f2b6a1e-8c4d-4e7f-9a10-2b3c4d5e6f70"
	tests := []struct {
		name   string
		change func(*lienthongv1.Envelope)
		kind   lienthong.Kind
		want   string // the whole message, or a distinctive part of it
	}{
		{"upper-case id", func(e *lienthongv1.Envelope) { e.MessageId = strings.ToUpper(id) },
			lienthong.KindInvalid, `mã văn bản (message id) "3F2B6A1E-8C4D-4E7F-9A10-2B3C4D5E6F70" phải viết ở dạng chuẩn 3f2b6a1e-8c4d-4e7f-9a10-2b3c4d5e6f70 (use the canonical lower-case UUID)`},
		{"urn:uuid id", func(e *lienthongv1.Envelope) { e.MessageId = "urn:uuid:" + id }, lienthong.KindInvalid, "phải viết ở dạng chuẩn " + id},
		{"braced id", func(e *lienthongv1.Envelope) { e.MessageId = "{" + id + "}" }, lienthong.KindInvalid, "phải viết ở dạng chuẩn " + id},
		{"id not a UUID", func(e *lienthongv1.Envelope) { e.MessageId = "123" }, lienthong.KindInvalid, `mã văn bản (message id) "123" phải là một UUID`},
		{"related id in upper case", func(e *lienthongv1.Envelope) {
			e.BusinessType, e.RelatedMessageId = lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE, strings.ToUpper(id)
		}, lienthong.KindInvalid, "mã văn bản liên quan (related message id)"},
		{"secret", func(e *lienthongv1.Envelope) { e.SecurityLevel = lienthongv1.SecurityLevel_SECURITY_LEVEL_TOP_SECRET },
			lienthong.KindFailedPrecondition, "văn bản mật không được gửi qua trục liên thông"},
		{"security level 99", func(e *lienthongv1.Envelope) { e.SecurityLevel = 99 }, lienthong.KindInvalid, "độ mật 99 không hợp lệ"},
		{"urgency 99", func(e *lienthongv1.Envelope) { e.Urgency = 99 }, lienthong.KindInvalid,
			"độ khẩn 99 không hợp lệ: thường, khẩn, thượng khẩn hoặc hỏa tốc (urgency 99 undefined)"},
		{"business type 9", func(e *lienthongv1.Envelope) { e.BusinessType = 9 }, lienthong.KindInvalid, "thiếu loại nghiệp vụ"},
		{"number abc", func(e *lienthongv1.Envelope) { e.Number = "abc" }, lienthong.KindInvalid,
			`số văn bản "abc" phải là số nguyên dương có tối đa 6 chữ số, ví dụ 45 (number must be a positive integer up to 999999)`},
		{"number -5", func(e *lienthongv1.Envelope) { e.Number = "-5" }, lienthong.KindInvalid, `số văn bản "-5" phải là số nguyên dương`},
		{"number of 20 digits", func(e *lienthongv1.Envelope) { e.Number = "12345678901234567890" }, lienthong.KindInvalid, `số văn bản "12345678901234567890"`},
		{"number 999999999", func(e *lienthongv1.Envelope) { e.Number = "999999999" }, lienthong.KindInvalid, `số văn bản "999999999"`},
		{"number 1000000", func(e *lienthongv1.Envelope) { e.Number = "1000000" }, lienthong.KindInvalid, `số văn bản "1000000"`},
		{"notation of 100 KB", func(e *lienthongv1.Envelope) { e.Notation = strings.Repeat("A", 100<<10) }, lienthong.KindInvalid,
			"ký hiệu văn bản dài 102400 byte, tối đa 100 (notation is limited to 100 bytes)"},
		{"notation with a space", func(e *lienthongv1.Envelope) { e.Notation = " QĐ-UBND" }, lienthong.KindInvalid, "không có khoảng trắng"},
		{"no issue date", func(e *lienthongv1.Envelope) { e.IssueDate = "" }, lienthong.KindInvalid, "thiếu ngày ban hành YYYY-MM-DD (issue date is required)"},
		{"issue date not-a-date", func(e *lienthongv1.Envelope) { e.IssueDate = "not-a-date" }, lienthong.KindInvalid,
			`ngày ban hành: ngày "not-a-date" không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)`},
		{"issue date 9999-12-31", func(e *lienthongv1.Envelope) { e.IssueDate = "9999-12-31" }, lienthong.KindInvalid,
			"ngày ban hành 9999-12-31 ở tương lai (issue date is in the future)"},
		{"issue date the day after tomorrow", func(e *lienthongv1.Envelope) { e.IssueDate, e.DueDate = "2026-03-13", "" }, lienthong.KindInvalid, "ở tương lai"},
		{"issue date 1999", func(e *lienthongv1.Envelope) { e.IssueDate = "1999-12-31" }, lienthong.KindInvalid, "ngày ban hành 1999-12-31 quá cũ (issue date before 2000)"},
		{"due date yesterday", func(e *lienthongv1.Envelope) { e.IssueDate, e.DueDate = "2026-03-01", "2026-03-10" }, lienthong.KindInvalid,
			"hạn xử lý 2026-03-10 đã qua, hôm nay là 2026-03-11 (due date in the past)"},
		{"due date before issue", func(e *lienthongv1.Envelope) { e.IssueDate, e.DueDate = "2026-03-12", "2026-03-11" }, lienthong.KindInvalid,
			"hạn xử lý 2026-03-11 trước ngày ban hành 2026-03-12 (due date before the issue date)"},
		{"due date 9999-12-31", func(e *lienthongv1.Envelope) { e.DueDate = "9999-12-31" }, lienthong.KindInvalid, "quá xa, tối đa 5 năm"},
		{"due date not a date", func(e *lienthongv1.Envelope) { e.DueDate = "soon" }, lienthong.KindInvalid, `hạn xử lý: ngày "soon" không đúng dạng`},
		{"subject of 1 MiB", func(e *lienthongv1.Envelope) { e.Subject = strings.Repeat("a", 1<<20) }, lienthong.KindInvalid,
			"trích yếu (subject) dài 1048576 ký tự, tối đa 2000 (subject too long)"},
		{"subject of 2001 Vietnamese letters", func(e *lienthongv1.Envelope) { e.Subject = strings.Repeat("ệ", 2001) }, lienthong.KindInvalid, "dài 2001 ký tự, tối đa 2000"},
		{"no subject", func(e *lienthongv1.Envelope) { e.Subject = "" }, lienthong.KindInvalid, "thiếu trích yếu (subject) của văn bản"},
		{"subject with ANSI colour", func(e *lienthongv1.Envelope) { e.Subject = "\x1b[32mĐã ký hợp lệ\x1b[0m" }, lienthong.KindInvalid,
			"trích yếu (subject) chứa ký tự điều khiển hoặc ký tự đảo chiều U+001B ở ký tự thứ 1; hãy gõ lại không có ký tự đó (subject contains a control or bidi character)"},
		{"subject with a newline", func(e *lienthongv1.Envelope) { e.Subject = "a\nb" }, lienthong.KindInvalid, "U+000A"},
		{"signer with a right-to-left override", func(e *lienthongv1.Envelope) { e.Signer = "Nguyễn\u202eA" }, lienthong.KindInvalid,
			"người ký (signer) chứa ký tự điều khiển hoặc ký tự đảo chiều U+202E ở ký tự thứ 7"},
		{"signer of 201 characters", func(e *lienthongv1.Envelope) { e.Signer = strings.Repeat("b", 201) }, lienthong.KindInvalid, "người ký (signer) dài 201 ký tự, tối đa 200"},
		{"document type of 101 bytes", func(e *lienthongv1.Envelope) { e.DocumentType = strings.Repeat("c", 101) }, lienthong.KindInvalid, "loại văn bản dài 101 byte"},
		{"subject not UTF-8", func(e *lienthongv1.Envelope) { e.Subject = "a\xffb" }, lienthong.KindInvalid, "trích yếu (subject) không phải văn bản UTF-8 hợp lệ"},
		{"no recipients", func(e *lienthongv1.Envelope) { e.Recipients = nil }, lienthong.KindInvalid, "văn bản chưa có nơi nhận (no recipients)"},
		{"recipient with an escape", func(e *lienthongv1.Envelope) { e.Recipients = []string{"000.00.31.H53\x1b[2J"} }, lienthong.KindInvalid, "nơi nhận (recipient) chứa ký tự điều khiển"},
		{"too many recipients", func(e *lienthongv1.Envelope) { e.Recipients = make([]string, 2001) }, lienthong.KindInvalid, "văn bản ghi 2001 nơi nhận, tối đa 2000"},
		{"no files", func(e *lienthongv1.Envelope) { e.Files = nil }, lienthong.KindInvalid, "văn bản không có tệp đính kèm nào (no files)"},
		{"file without a name", func(e *lienthongv1.Envelope) { e.Files[1].Name = "" }, lienthong.KindInvalid, "tệp thứ 2 không có tên (file name missing)"},
		{"bad media type", func(e *lienthongv1.Envelope) { e.Files[0].MediaType = "pdf" }, lienthong.KindInvalid,
			`tệp "Quyết định 05.pdf": kiểu tệp (media type) "pdf" không hợp lệ, ví dụ application/pdf`},
		{"short hash", func(e *lienthongv1.Envelope) { e.Files[0].Sha256 = []byte{1} }, lienthong.KindInvalid, "mã băm SHA-256 phải dài 32 byte, được 1"},
		{"negative size", func(e *lienthongv1.Envelope) { e.Files[0].Size = -1 }, lienthong.KindInvalid, "kích thước âm"},
		{"names equal but for case", func(e *lienthongv1.Envelope) { e.Files[1].Name = "QUYẾT ĐỊNH 05.PDF" }, lienthong.KindInvalid,
			`tên tệp "Quyết định 05.pdf" và "QUYẾT ĐỊNH 05.PDF" trùng nhau khi không phân biệt chữ hoa, chữ thường (file names differ only in case)`},
	}
	for _, tt := range tests {
		env := good()
		tt.change(env)
		err := Check(env, now)
		if err == nil {
			t.Errorf("%s: Check accepted it", tt.name)
			continue
		}
		if k := lienthong.ErrorKind(err); k != tt.kind {
			t.Errorf("%s: kind %v, want %v (%v)", tt.name, k, tt.kind, err)
		}
		if !strings.Contains(lienthong.ErrorMessage(err), tt.want) {
			t.Errorf("%s: message\n got  %q\n want %q in it", tt.name, lienthong.ErrorMessage(err), tt.want)
		}
	}
}

func TestFileName(t *testing.T) {
	for _, n := range []string{"a.pdf", "Quyết định số 12.pdf", "phụ lục (1).docx", "báo-cáo_2026.xlsx", "receipt-2026.pdf", "CONSOLE.pdf",
		"COM10.txt", "delivery.pb.pdf", strings.Repeat("ệ", 85) /* 255 bytes */, "x"} {
		if err := FileName(n); err != nil {
			t.Errorf("FileName(%q): %v", n, err)
		}
	}
	bad := []struct{ name, want string }{
		{"", "tên tệp trống (file name missing)"},
		{"a\x00b.pdf", `tên tệp "a\x00b.pdf" chứa ký tự điều khiển hoặc ký tự đảo chiều U+0000 (file name contains a control or bidi character)`},
		{"a\x1b[31m.pdf", "U+001B"},
		{"hóa đơn\u202efdp.exe", "U+202E"},
		{strings.Repeat("a", 300), "dài 300 byte, tối đa 255 byte (file name too long)"},
		{strings.Repeat("ệ", 86), "dài 258 byte, tối đa 255 byte"},
		{"x/a.txt", `chứa ký tự '/'; tên tệp không được có / \ : * ? " < > |`},
		{`y\a.txt`, `chứa ký tự '\\'`},
		{"a:b.pdf", `chứa ký tự ':'`},
		{"what?.pdf", `chứa ký tự '?'`},
		{".", "không được bắt đầu hay kết thúc bằng dấu chấm hoặc khoảng trắng"},
		{"..", "không được bắt đầu hay kết thúc bằng dấu chấm hoặc khoảng trắng"},
		{".partial-x", "không được bắt đầu hay kết thúc bằng dấu chấm"},
		{"a.pdf.", "kết thúc bằng dấu chấm"},
		{" a.pdf", "khoảng trắng"},
		{"a.pdf ", "khoảng trắng"},
		{"delivery.pb", "trùng tên tệp ltnode tự ghi trong thư mục văn bản (delivery.pb, receipt-*.pb); hãy đổi tên (file name reserved by the node)"},
		{"Delivery.PB", "file name reserved by the node"},
		{"receipt-delivered.pb", "file name reserved by the node"},
		{"envelope.json", "file name reserved by the node"},
		{"Thong-Tin.json", "file name reserved by the node"},
		{"thong-tin.json.tmp", "file name reserved by the node"},
		{"CON", "tên thiết bị Windows dành riêng"},
		{"nul.txt", "file name reserved on Windows"},
		{"Com1.pdf", "file name reserved on Windows"},
		{"lpt9", "file name reserved on Windows"},
		{"con.pdf.txt.x", "file name reserved on Windows"},
		{"a\xffb", "không phải văn bản UTF-8 hợp lệ"},
	}
	for _, tt := range bad {
		err := FileName(tt.name)
		if err == nil {
			t.Errorf("FileName(%q) accepted it", tt.name)
			continue
		}
		if lienthong.ErrorKind(err) != lienthong.KindInvalid || !strings.Contains(lienthong.ErrorMessage(err), tt.want) {
			t.Errorf("FileName(%q) = %v, want InvalidArgument with %q", tt.name, err, tt.want)
		}
	}
}

func TestFileNames(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"a.pdf", "b.pdf"}, ""},
		{[]string{"a.pdf", "a.pdf"}, `tên tệp "a.pdf" bị trùng (duplicate file name)`},
		{[]string{"Đơn.pdf", "đơn.PDF"}, `tên tệp "Đơn.pdf" và "đơn.PDF" trùng nhau khi không phân biệt chữ hoa, chữ thường`},
		{[]string{"\u212a.pdf", "k.pdf"}, "trùng nhau"}, // KELVIN SIGN folds to k
		{[]string{"x/a.txt", "y/a.txt"}, `tên tệp "x/a.txt" chứa ký tự '/'`},
	}
	for _, tt := range tests {
		err := FileNames(tt.names)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("FileNames(%q): %v", tt.names, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("FileNames(%q) = %v, want %q", tt.names, err, tt.want)
		}
	}
}

func TestLookupIDAndCanonical(t *testing.T) {
	const id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	for _, s := range []string{id, strings.ToUpper(id), "urn:uuid:" + id, "{" + id + "}", strings.ReplaceAll(id, "-", "")} {
		got, err := LookupID(s)
		if err != nil || got != id {
			t.Errorf("LookupID(%q) = %q, %v; want %q", s, got, err, id)
		}
	}
	if _, err := LookupID("../../etc"); err == nil || !strings.Contains(err.Error(), `"../../etc" phải là một UUID`) {
		t.Errorf("LookupID of a path: %v", err)
	}
	if err := MessageID("mã", id); err != nil {
		t.Errorf("MessageID(canonical): %v", err)
	}
}

func TestStatusText(t *testing.T) {
	if err := StatusText("Sai thể thức:\n\t- thiếu chữ ký"); err != nil {
		t.Errorf("a reason on two lines: %v", err)
	}
	for _, tt := range []struct{ in, want string }{
		{strings.Repeat("x", 1<<20), "lý do (reason) dài 1048576 ký tự, tối đa 2000 (reason too long)"},
		{"ok\x1b[32m Đã ký hợp lệ", "lý do (reason) chứa ký tự điều khiển hoặc ký tự đảo chiều U+001B ở ký tự thứ 3"},
		{"a\r\nb", "U+000D"},
	} {
		if err := StatusText(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("StatusText(%.20q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestCheckEdxml(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	ok := func() *lienthongv1.Envelope {
		return &lienthongv1.Envelope{
			MessageId: "6a1c7f43-0c39-4c1f-8d3e-1f6f8c1a2b3c", Sender: "000.00.31.H53", Recipients: []string{"000.01.31.H53"},
			BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "12", Notation: "UBND-VP", IssueDate: "2026-12-01",
			DocumentType: "Công văn", Subject: "S", Urgency: lienthongv1.Urgency_URGENCY_NORMAL,
			Files: []*lienthongv1.FileInfo{{Name: "a.pdf", MediaType: "application/pdf", Size: 1, Sha256: make([]byte, 32)}},
			Edxml: &lienthongv1.EdxmlHeader{Content: "nội dung", Files: []*lienthongv1.EdxmlFile{{ContentId: "cid:1"}}},
		}
	}
	if err := Check(ok(), now); err != nil {
		t.Fatalf("Check: %v", err)
	}
	big := ok()
	big.Edxml.Content = strings.Repeat("x", MaxEdxml)
	if err := Check(big, now); err == nil || !strings.Contains(err.Error(), "các trường edXML của văn bản dài") {
		t.Errorf("oversized edXML fields: %v", err)
	}
	more := ok()
	more.Edxml.Files = append(more.Edxml.Files, &lienthongv1.EdxmlFile{ContentId: "cid:2"})
	if err := Check(more, now); err == nil || !strings.Contains(err.Error(), "danh mục edXML ghi 2 tệp nhưng văn bản có 1") {
		t.Errorf("edXML manifest longer than the files: %v", err)
	}
}
