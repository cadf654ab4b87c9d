package edxml

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
)

// Limits bound what Read accepts. A zero field takes its default.
type Limits struct {
	// MaxTotal is the size of the whole package in bytes (default 512 MiB:
	// base64 makes a 300 MB attachment about 400 MB).
	MaxTotal int64
	// MaxText is the size in bytes of one tag or one element's text other
	// than an attachment's content (default 1 MiB).
	MaxText int
	// MaxDepth is the deepest nesting of elements (default 32; edXML needs 7).
	MaxDepth int
	// MaxAttachments is the number of attachments (default 100).
	MaxAttachments int
	// MaxEntries bounds each repeated element (To, Place, TraceHeader,
	// Reference, …; default 2000).
	MaxEntries int
	// MaxSignature is the size in bytes of the header's Signature element
	// (default 64 KiB).
	MaxSignature int
}

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits { return Limits{}.withDefaults() }

func (l Limits) withDefaults() Limits {
	if l.MaxTotal <= 0 {
		l.MaxTotal = 512 << 20
	}
	if l.MaxText <= 0 {
		l.MaxText = 1 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 100
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 2000
	}
	if l.MaxSignature <= 0 {
		l.MaxSignature = 64 << 10
	}
	return l
}

// Sink returns the writer that receives the decoded bytes of attachment a
// (Index, and the ContentID, Name and ContentType its Attachment element
// gave before the content, completed from the manifest). Read calls it
// once per attachment, in the order of the package, and never closes the
// writer. When Read fails, the caller discards whatever the sinks got.
type Sink func(a Attachment) (io.Writer, error)

// PositionError says where in a package Read stopped: the element (its
// path below the envelope) and the line.
type PositionError struct {
	Element string
	Line    int
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("edxml: element %s, line %d", e.Element, e.Line)
}

// Read reads an edXML package or status message from r, token by token:
// attachments are base64-decoded as they stream and written to the
// writers sink returns (nil sink: decoded, checked and hashed, then
// dropped), so memory stays bounded whatever the size of the package.
// DTDs and entity declarations are refused, as is anything over lim.
// Every refusal is a *lienthong.Error (KindInvalid, or KindTooLarge for a
// limit) whose message names the element and the line; errors.As finds a
// *PositionError in it.
func Read(r io.Reader, sink Sink, lim Limits) (*Message, error) {
	rd := newReader(r, sink, lim.withDefaults())
	if err := rd.run(); err != nil {
		return nil, err
	}
	return rd.result()
}

// countingReader is the decoder's byte source. It counts bytes and lines,
// enforces the total and per-text limits, remembers the current tag for
// the Signature capture, and lets the reader take over the stream for an
// attachment's content (which encoding/xml would otherwise return as one
// CharData token of the whole attachment).
type countingReader struct {
	r     *bufio.Reader
	n     int64  // bytes consumed
	lines int    // newlines consumed
	run   int    // bytes since the last '<' or '>'
	ltAt  int64  // offset of the last '<'
	tag   []byte // bytes since the last '<': the current tag
	// capture, while capturing, receives every byte consumed (the
	// Signature element), up to capMax.
	capture   []byte
	capturing bool
	capMax    int
	max       int64
	maxRun    int
	limErr    error
}

var errTotal = errors.New("package over the size limit")
var errRun = errors.New("text over the size limit")
var errSig = errors.New("signature over the size limit")

type errEncoding string

func (e errEncoding) Error() string { return "encoding " + string(e) }

func (c *countingReader) ReadByte() (byte, error) {
	if c.limErr != nil {
		return 0, c.limErr
	}
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, err
	}
	c.n++
	if c.n > c.max {
		c.limErr = errTotal
		return 0, errTotal
	}
	switch b {
	case '\n':
		c.lines++
	case '<':
		c.ltAt = c.n - 1
		c.tag = c.tag[:0]
	}
	if b == '<' || b == '>' {
		c.run = 0
	} else if c.run++; c.run > c.maxRun {
		c.limErr = errRun
		return 0, errRun
	}
	if len(c.tag) <= c.maxRun {
		c.tag = append(c.tag, b)
	}
	if c.capturing {
		if len(c.capture) >= c.capMax {
			c.limErr = errSig
			return 0, errSig
		}
		c.capture = append(c.capture, b)
	}
	return b, nil
}

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		b, err := c.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

type frame struct {
	name  string
	ns    string
	text  []byte
	skip  bool // unknown namespace: ignored with its subtree
	start int  // line
}

type reader struct {
	lim   Limits
	cr    *countingReader
	dec   *xml.Decoder
	sink  Sink
	stack []frame
	ns    string // the package's namespace
	root  string

	hdr        Header
	status     Status
	isStatus   bool
	traces     []Trace
	bus        Business
	busSeen    bool
	sig        *SignatureInfo
	sigDepth   int // depth of the Signature element while capturing, else 0
	refs       []Reference
	atts       []Attachment
	cur        *Attachment // the attachment being read
	curHasData bool
	stream     *attStream
	entries    map[string]int
	starts     map[string]int // first line of each element path seen
}

func newReader(r io.Reader, sink Sink, lim Limits) *reader {
	cr := &countingReader{r: bufio.NewReaderSize(r, 64<<10), max: lim.MaxTotal, maxRun: lim.MaxText, capMax: lim.MaxSignature}
	dec := xml.NewDecoder(cr)
	dec.Strict = true
	// Only the five predefined entities; a document declaring others
	// is refused at its DOCTYPE anyway.
	dec.Entity = nil
	dec.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) { return nil, errEncoding(label) }
	return &reader{lim: lim, cr: cr, dec: dec, sink: sink, entries: map[string]int{}, starts: map[string]int{}}
}

func (rd *reader) line() int { return rd.cr.lines + 1 }

func (rd *reader) path() string {
	var names []string
	for i, f := range rd.stack {
		if i == 0 && (f.name == "edXML" || f.name == "edXMLEnvelope") {
			continue
		}
		if f.name == "edXMLEnvelope" && i == 1 {
			continue
		}
		names = append(names, f.name)
	}
	if len(names) == 0 && len(rd.stack) > 0 {
		return rd.stack[0].name
	}
	return strings.Join(names, "/")
}

// fail returns a refusal naming the current element and line.
func (rd *reader) fail(kind lienthong.Kind, format string, args ...any) error {
	el := rd.path()
	if el == "" {
		el = "(gốc)"
	}
	pos := &PositionError{Element: el, Line: rd.line()}
	return lienthong.Wrap(kind, pos, "gói edXML không hợp lệ tại phần tử <%s>, dòng %d: %s", el, pos.Line, fmt.Sprintf(format, args...))
}

func (rd *reader) failAt(el string, line int, format string, args ...any) error {
	pos := &PositionError{Element: el, Line: line}
	return lienthong.Wrap(lienthong.KindInvalid, pos, "gói edXML không hợp lệ tại phần tử <%s>, dòng %d: %s", el, line, fmt.Sprintf(format, args...))
}

func (rd *reader) limitErr(err error) error {
	switch {
	case errors.Is(err, errTotal):
		return rd.fail(lienthong.KindTooLarge, "gói vượt quá %d byte (package over the size limit)", rd.lim.MaxTotal)
	case errors.Is(err, errSig):
		return rd.fail(lienthong.KindTooLarge, "chữ ký XML vượt quá %d byte (Signature over the size limit)", rd.lim.MaxSignature)
	case errors.Is(err, errRun):
		return rd.fail(lienthong.KindTooLarge, "một thẻ hoặc nội dung phần tử vượt quá %d byte (element text over the size limit)", rd.lim.MaxText)
	}
	return nil
}

func (rd *reader) run() error {
	for {
		tok, err := rd.dec.Token()
		if err == io.EOF {
			if len(rd.stack) == 0 && rd.root != "" {
				return nil
			}
			if rd.root == "" {
				return rd.fail(lienthong.KindInvalid, "tệp rỗng, không có phần tử edXML (empty file)")
			}
			return rd.fail(lienthong.KindInvalid, "tệp kết thúc giữa chừng (unexpected end of file)")
		}
		if err != nil {
			if lerr := rd.limitErr(err); lerr != nil {
				return lerr
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return rd.fail(lienthong.KindInvalid, "XML sai cú pháp: %s (malformed XML)", se.Msg)
			}
			var ee errEncoding
			if errors.As(err, &ee) {
				return rd.fail(lienthong.KindInvalid, "gói phải mã hóa UTF-8, không phải %q (encoding must be UTF-8)", clip(string(ee)))
			}
			return rd.fail(lienthong.KindInvalid, "không đọc được gói: %v (read error)", err)
		}
		if err := rd.token(tok); err != nil {
			return err
		}
	}
}

func (rd *reader) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.Directive:
		return rd.fail(lienthong.KindInvalid, "gói không được chứa DTD hoặc khai báo thực thể (<!DOCTYPE>, <!ENTITY> refused)")
	case xml.ProcInst:
		if t.Target == "xml" {
			enc := procAttr(string(t.Inst), "encoding")
			if enc != "" && !strings.EqualFold(enc, "utf-8") {
				return rd.fail(lienthong.KindInvalid, "gói phải mã hóa UTF-8, không phải %q (encoding must be UTF-8)", enc)
			}
		}
		return nil
	case xml.StartElement:
		return rd.start(t)
	case xml.EndElement:
		return rd.end(t)
	case xml.CharData:
		if n := len(rd.stack); n > 0 {
			f := &rd.stack[n-1]
			if f.name == "ContentTransferEncoded" && rd.cur != nil {
				return rd.attachmentText(t)
			}
			if rd.sigDepth > 0 || f.skip {
				return nil
			}
			if len(f.text)+len(t) > rd.lim.MaxText {
				return rd.fail(lienthong.KindTooLarge, "nội dung phần tử vượt quá %d byte (element text over the size limit)", rd.lim.MaxText)
			}
			f.text = append(f.text, t...)
		} else if len(bytes.TrimSpace(t)) > 0 {
			return rd.fail(lienthong.KindInvalid, "có văn bản ngoài phần tử gốc (text outside the root element)")
		}
	}
	return nil
}

func procAttr(inst, name string) string {
	i := strings.Index(inst, name+"=")
	if i < 0 {
		return ""
	}
	v := inst[i+len(name)+1:]
	if len(v) == 0 {
		return ""
	}
	q := v[0]
	if q != '"' && q != '\'' {
		return ""
	}
	if j := strings.IndexByte(v[1:], q); j >= 0 {
		return v[1 : 1+j]
	}
	return ""
}

func known(ns string) bool { return ns == Namespace || ns == LegacyGoVN || ns == LegacyEDoc }

func (rd *reader) start(t xml.StartElement) error {
	if len(rd.stack) >= rd.lim.MaxDepth {
		rd.stack = append(rd.stack, frame{name: t.Name.Local})
		return rd.fail(lienthong.KindTooLarge, "các phần tử lồng nhau quá %d cấp (nesting deeper than %d)", rd.lim.MaxDepth, rd.lim.MaxDepth)
	}
	f := frame{name: t.Name.Local, ns: t.Name.Space, start: rd.line()}
	if len(rd.stack) == 0 {
		if rd.root != "" {
			return rd.fail(lienthong.KindInvalid, "tệp có nhiều hơn một phần tử gốc (more than one root element)")
		}
		rd.root = t.Name.Local
		rd.stack = append(rd.stack, f)
		if t.Name.Local != "edXML" && t.Name.Local != "edXMLEnvelope" {
			return rd.fail(lienthong.KindInvalid, "phần tử gốc phải là edXML hoặc edXMLEnvelope (root element is not edXML)")
		}
		if !known(t.Name.Space) {
			return rd.fail(lienthong.KindInvalid, "không gian tên %q không phải của QCVN 102:2016; cần %s (wrong namespace)", t.Name.Space, Namespace)
		}
		rd.ns = t.Name.Space
		return nil
	}
	parent := rd.stack[len(rd.stack)-1]
	f.skip = parent.skip
	if rd.sigDepth > 0 {
		rd.stack = append(rd.stack, f)
		return nil
	}
	if t.Name.Local == "Signature" && (t.Name.Space == DSigNamespace || known(t.Name.Space)) && !f.skip && rd.sig == nil {
		rd.sigDepth = len(rd.stack) + 1
		rd.sig = &SignatureInfo{Offset: rd.cr.ltAt, Line: rd.line()}
		rd.cr.capture = append(rd.cr.capture[:0], rd.cr.tag...)
		rd.cr.capturing = true
		rd.stack = append(rd.stack, f)
		return nil
	}
	// Children without a namespace (a prefixed root, unprefixed
	// children, as some builds write) belong to the package's.
	if !known(t.Name.Space) && t.Name.Space != "" {
		f.skip = true // a foreign extension: ignored
	}
	rd.stack = append(rd.stack, f)
	if f.skip {
		return nil
	}
	p := rd.path()
	if _, ok := rd.starts[p]; !ok && len(rd.starts) < 256 {
		rd.starts[p] = f.start
	}
	switch p {
	case "edXMLHeader/MessageHeader/To":
		if err := rd.count(p); err != nil {
			return err
		}
		rd.hdr.To = append(rd.hdr.To, Organization{})
	case "edXMLHeader/MessageHeader/ResponseFor":
		if err := rd.count(p); err != nil {
			return err
		}
		rd.hdr.ResponseFor = append(rd.hdr.ResponseFor, ResponseFor{})
	case "edXMLHeader/TraceHeaderList/TraceHeader":
		if err := rd.count(p); err != nil {
			return err
		}
		rd.traces = append(rd.traces, Trace{})
	case "edXMLHeader/TraceHeaderList/Bussiness", "edXMLHeader/Bussiness":
		rd.busSeen = true
	case "edXMLHeader/TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo",
		"edXMLHeader/Bussiness/ReplacementInfoList/ReplacementInfo":
		if err := rd.count(p); err != nil {
			return err
		}
		rd.bus.Replacements = append(rd.bus.Replacements, Replacement{})
	case "edXMLBody/edXMLManifest/Reference":
		if err := rd.count(p); err != nil {
			return err
		}
		rd.refs = append(rd.refs, Reference{})
	case "AttachmentEncoded/Attachment", "edXMLBody/AttachmentEncoded/Attachment":
		if rd.cur != nil {
			return rd.fail(lienthong.KindInvalid, "tệp đính kèm lồng trong tệp đính kèm (nested Attachment)")
		}
		if len(rd.atts) >= rd.lim.MaxAttachments {
			return rd.fail(lienthong.KindTooLarge, "gói có quá %d tệp đính kèm (too many attachments)", rd.lim.MaxAttachments)
		}
		rd.cur = &Attachment{Index: len(rd.atts)}
		rd.curHasData = false
	case "AttachmentEncoded/Attachment/ContentTransferEncoded", "edXMLBody/AttachmentEncoded/Attachment/ContentTransferEncoded":
		return rd.attachment()
	}
	return nil
}

func (rd *reader) count(p string) error {
	rd.entries[p]++
	if rd.entries[p] > rd.lim.MaxEntries {
		return rd.fail(lienthong.KindTooLarge, "phần tử lặp lại quá %d lần (too many entries)", rd.lim.MaxEntries)
	}
	return nil
}

func (rd *reader) end(t xml.EndElement) error {
	n := len(rd.stack)
	f := rd.stack[n-1]
	if rd.sigDepth > 0 {
		if n == rd.sigDepth {
			rd.sig.Raw = bytes.Clone(rd.cr.capture)
			rd.cr.capturing, rd.cr.capture = false, nil
			rd.sigDepth = 0
		}
		rd.stack = rd.stack[:n-1]
		return nil
	}
	var err error
	if !f.skip {
		err = rd.leaf(rd.path(), string(bytes.TrimSpace(f.text)), f)
	}
	rd.stack = rd.stack[:n-1]
	return err
}

// leaf stores the text of a finished element.
func (rd *reader) leaf(p, v string, f frame) error {
	h := &rd.hdr
	const mh = "edXMLHeader/MessageHeader/"
	if rest, ok := strings.CutPrefix(p, mh); ok {
		if sub, ok := strings.CutPrefix(rest, "From/"); ok {
			setOrg(&h.From, sub, v)
			return nil
		}
		if sub, ok := strings.CutPrefix(rest, "To/"); ok && len(h.To) > 0 {
			setOrg(&h.To[len(h.To)-1], sub, v)
			return nil
		}
		if sub, ok := strings.CutPrefix(rest, "ResponseFor/"); ok {
			if len(h.ResponseFor) == 0 {
				h.ResponseFor = append(h.ResponseFor, ResponseFor{})
			}
			rf := &h.ResponseFor[len(h.ResponseFor)-1]
			switch sub {
			case "OrganId":
				rf.OrganID = v
			case "Code":
				rf.Code = v
			case "PromulgationDate":
				d, err := rd.date(v, f)
				rf.PromulgationDate = d
				return err
			case "DocumentId":
				rf.DocumentID = v
			}
			return nil
		}
		if sub, ok := strings.CutPrefix(rest, "StaffInfo/"); ok {
			setStaff(&rd.status.Staff, sub, v)
			return nil
		}
		switch rest {
		case "DocumentId":
			h.DocumentID = v
		case "Code/CodeNumber":
			h.Code.Number = v
		case "Code/CodeNotation":
			h.Code.Notation = v
		case "PromulgationInfo/Place":
			h.Promulgation.Place = v
		case "PromulgationInfo/PromulgationDate":
			d, err := rd.date(v, f)
			h.Promulgation.Date = d
			return err
		case "DocumentType/Type":
			h.DocumentType.Type = v
		case "DocumentType/TypeDetail":
			h.DocumentType.TypeDetail = v
		case "DocumentType/TypeName":
			h.DocumentType.TypeName = v
		case "Subject":
			h.Subject = v
		case "Content":
			h.Content = v
		case "SignerInfo/Competence":
			h.Signer.Competence = v
		case "SignerInfo/Position":
			h.Signer.Position = v
		case "SignerInfo/FullName":
			h.Signer.FullName = v
		case "DueDate":
			if v == "" {
				return nil
			}
			d, err := rd.date(v, f)
			h.DueDate = d
			return err
		case "ToPlaces/Place":
			if err := rd.count(p); err != nil {
				return err
			}
			h.ToPlaces = append(h.ToPlaces, v)
		case "OtherInfo/Priority":
			h.Other.Priority = v
		case "OtherInfo/SphereOfPromulgation":
			h.Other.SphereOfPromulgation = v
		case "OtherInfo/TyperNotation":
			h.Other.TyperNotation = v
		case "OtherInfo/PromulgationAmount":
			h.Other.PromulgationAmount = v
		case "OtherInfo/PageAmount":
			h.Other.PageAmount = v
		case "OtherInfo/Direction":
			h.Other.Direction = v
		case "OtherInfo/Appendixes/Appendix":
			if err := rd.count(p); err != nil {
				return err
			}
			h.Other.Appendixes = append(h.Other.Appendixes, v)
		case "SteeringType":
			h.SteeringType = v
		case "StatusCode":
			rd.isStatus = true
			rd.status.Code = StatusCode(v)
		case "Description":
			rd.status.Description = v
		case "Timestamp":
			ts, err := rd.timestamp(v, f)
			rd.status.Timestamp = ts
			return err
		}
		return nil
	}
	if sub, ok := strings.CutPrefix(p, "edXMLHeader/TraceHeaderList/TraceHeader/"); ok && len(rd.traces) > 0 {
		tr := &rd.traces[len(rd.traces)-1]
		switch sub {
		case "OrganId":
			tr.OrganID = v
		case "Timestamp":
			ts, err := rd.timestamp(v, f)
			tr.Timestamp = ts
			return err
		}
		return nil
	}
	if sub, ok := cutAny(p, "edXMLHeader/TraceHeaderList/Bussiness/", "edXMLHeader/Bussiness/"); ok {
		return rd.business(sub, v, f)
	}
	if sub, ok := strings.CutPrefix(p, "edXMLBody/edXMLManifest/Reference/"); ok && len(rd.refs) > 0 {
		ref := &rd.refs[len(rd.refs)-1]
		switch sub {
		case "ContentId":
			ref.ContentID = v
		case "ContentType":
			ref.ContentType = v
		case "Description":
			ref.Description = v
		case "AttachmentName":
			ref.AttachmentName = v
		}
		return nil
	}
	if sub, ok := cutAny(p, "AttachmentEncoded/Attachment/", "edXMLBody/AttachmentEncoded/Attachment/"); ok && rd.cur != nil {
		a := rd.cur
		switch sub {
		case "ContentId":
			a.ContentID = v
		case "AttachmentName":
			a.Name = v
		case "Description":
			a.Description = v
		case "ContentType":
			a.ContentType = v
		case "ContentTransferEncoded":
			return rd.finishAttachment(f)
		}
		return nil
	}
	if p == "AttachmentEncoded/Attachment" || p == "edXMLBody/AttachmentEncoded/Attachment" {
		if rd.cur != nil && !rd.curHasData {
			return rd.failAt(p, f.start, "tệp đính kèm không có ContentTransferEncoded (attachment without content)")
		}
		if rd.cur != nil {
			// Elements after the content (ContentId, names) complete it.
			rd.atts[len(rd.atts)-1] = *rd.cur
		}
		rd.cur = nil
	}
	return nil
}

func cutAny(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest, true
		}
	}
	return "", false
}

func (rd *reader) business(sub, v string, f frame) error {
	b := &rd.bus
	if s, ok := strings.CutPrefix(sub, "StaffInfo/"); ok {
		setStaff(&b.Staff, s, v)
		return nil
	}
	if s, ok := strings.CutPrefix(sub, "ReplacementInfoList/ReplacementInfo/"); ok && len(b.Replacements) > 0 {
		r := &b.Replacements[len(b.Replacements)-1]
		switch s {
		case "DocumentId":
			r.DocumentID = v
		case "OrganIdList/OrganId":
			if err := rd.count("ReplacementInfo/OrganIdList/OrganId"); err != nil {
				return err
			}
			r.OrganIDs = append(r.OrganIDs, v)
		}
		return nil
	}
	switch sub {
	case "DocumentId":
		b.DocumentID = v
	case "BussinessDocType":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3 {
			return rd.failAt(rd.path(), f.start, "BussinessDocType %q phải là 0 (mới), 1 (thu hồi), 2 (cập nhật) hoặc 3 (thay thế) (bad business type)", clip(v))
		}
		b.DocType = BusinessDocType(n)
	case "BussinessDocReason":
		b.Reason = v
	case "Paper":
		b.Paper = v
	case "BussinessDocumentInfo":
		b.DocumentInfo = v
	}
	return nil
}

func setOrg(o *Organization, field, v string) {
	switch field {
	case "OrganId":
		o.OrganID = v
	case "OrganizationInCharge":
		o.OrganizationInCharge = v
	case "OrganName":
		o.OrganName = v
	case "OrganAdd":
		o.OrganAdd = v
	case "Email":
		o.Email = v
	case "Telephone":
		o.Telephone = v
	case "Fax":
		o.Fax = v
	case "Website":
		o.Website = v
	}
}

func setStaff(s *StaffInfo, field, v string) {
	switch field {
	case "Department":
		s.Department = v
	case "Staff":
		s.Staff = v
	case "Email":
		s.Email = v
	case "Mobile":
		s.Mobile = v
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// date parses an edXML date, YYYY/MM/DD (the standard) or YYYY-MM-DD
// (seen in the field), into YYYY-MM-DD.
func (rd *reader) date(v string, f frame) (string, error) {
	d, err := ParseDate(v)
	if err != nil {
		return "", rd.failAt(rd.path(), f.start, "ngày %q sai; cần dạng YYYY/MM/DD (bad date)", clip(v))
	}
	return d, nil
}

// ParseDate parses an edXML date, YYYY/MM/DD as the standard writes it or
// YYYY-MM-DD as some builds do, and returns it as YYYY-MM-DD.
func ParseDate(v string) (string, error) {
	for _, layout := range []string{"2006/01/02", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", fmt.Errorf("date %q is not YYYY/MM/DD", v)
}

// Vietnam is the zone of edXML timestamps (UTC+7, no daylight saving).
var vietnam = time.FixedZone("ICT", 7*3600)

// ParseTimestamp parses an edXML timestamp, yyyy/MM/dd HH:mm:ss in
// Vietnam's time (UTC+7); it also accepts yyyy-MM-dd HH:mm:ss and RFC 3339.
func ParseTimestamp(v string) (time.Time, error) {
	for _, layout := range []string{"2006/01/02 15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, vietnam); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not yyyy/MM/dd HH:mm:ss", v)
}

func (rd *reader) timestamp(v string, f frame) (time.Time, error) {
	t, err := ParseTimestamp(v)
	if err != nil {
		return t, rd.failAt(rd.path(), f.start, "thời điểm %q sai; cần dạng yyyy/MM/dd HH:mm:ss (bad timestamp)", clip(v))
	}
	return t, nil
}

// attachment streams the content of the current attachment: it reads the
// base64 text straight from the byte source up to the next '<' (or a
// character entity other than a line break), decoding into the sink.
func (rd *reader) attachment() error {
	a := rd.cur
	if a == nil {
		return rd.fail(lienthong.KindInvalid, "ContentTransferEncoded nằm ngoài Attachment")
	}
	if rd.curHasData {
		return rd.fail(lienthong.KindInvalid, "tệp đính kèm có hai ContentTransferEncoded (two contents in one attachment)")
	}
	rd.curHasData = true
	// What the Attachment element left out so far comes from the
	// manifest (read before the attachments), so the sink sees a name.
	for j := range rd.refs {
		ref := rd.refs[j]
		if (a.ContentID != "" && ref.ContentID == a.ContentID) || (a.ContentID == "" && j == a.Index) {
			a.ContentID, a.Name = cmp(a.ContentID, ref.ContentID), cmp(a.Name, ref.AttachmentName)
			a.ContentType, a.Description = cmp(a.ContentType, ref.ContentType), cmp(a.Description, ref.Description)
			break
		}
	}
	rd.atts = append(rd.atts, *a)
	if bytes.HasSuffix(bytes.TrimSpace(rd.cr.tag), []byte("/>")) {
		// <ContentTransferEncoded/>: an empty attachment, and the bytes
		// after it are the parent's.
		rd.stream = &attStream{h: sha256.New(), w: io.Discard}
		return nil
	}
	var w io.Writer = io.Discard
	if rd.sink != nil {
		var err error
		if w, err = rd.sink(*a); err != nil {
			return fmt.Errorf("opening the file for attachment %d (%s): %w", a.Index, a.Name, err)
		}
	}
	rd.stream = &attStream{h: sha256.New(), w: w}
	src := &base64Source{cr: rd.cr}
	dec := base64.NewDecoder(base64.StdEncoding, src)
	n, err := io.Copy(rd.stream, dec)
	rd.stream.size = n
	if err != nil {
		if src.err != nil {
			if lerr := rd.limitErr(src.err); lerr != nil {
				return lerr
			}
			if errors.Is(src.err, errEntity) {
				return rd.fail(lienthong.KindInvalid, "nội dung base64 của tệp đính kèm %d chứa thực thể XML không hợp lệ (entity inside base64)", a.Index+1)
			}
			return rd.fail(lienthong.KindInvalid, "không đọc được tệp đính kèm %d: %v", a.Index+1, src.err)
		}
		if rd.stream.werr != nil {
			return fmt.Errorf("writing attachment %d (%s): %w", a.Index, a.Name, err)
		}
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return rd.fail(lienthong.KindInvalid, "nội dung base64 của tệp đính kèm %d (%s) hỏng ở ký tự thứ %d (bad base64)", a.Index+1, clip(a.Name), int64(ce)+1)
		}
		return rd.fail(lienthong.KindInvalid, "nội dung base64 của tệp đính kèm %d (%s) hỏng: thiếu ký tự cuối (truncated base64)", a.Index+1, clip(a.Name))
	}
	return nil
}

// attachmentText receives content the decoder returned as CharData (a
// CDATA section): small by the text limit, decoded in one piece.
func (rd *reader) attachmentText(t xml.CharData) error {
	if rd.stream == nil {
		return nil
	}
	clean := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, t)
	rd.stream.pending = append(rd.stream.pending, clean...)
	if len(rd.stream.pending) > rd.lim.MaxText {
		return rd.fail(lienthong.KindTooLarge, "nội dung phần tử vượt quá %d byte (element text over the size limit)", rd.lim.MaxText)
	}
	return nil
}

// finishAttachment records the size and digest of the attachment whose
// content just ended.
func (rd *reader) finishAttachment(f frame) error {
	s := rd.stream
	rd.stream = nil
	if s == nil {
		return nil
	}
	if len(s.pending) > 0 {
		if s.size > 0 {
			return rd.failAt(rd.path(), f.start, "nội dung base64 của tệp đính kèm bị chia đôi (split base64 content)")
		}
		data, err := base64.StdEncoding.DecodeString(string(s.pending))
		if err != nil {
			var ce base64.CorruptInputError
			errors.As(err, &ce)
			return rd.failAt(rd.path(), f.start, "nội dung base64 của tệp đính kèm %d hỏng ở ký tự thứ %d (bad base64)", rd.cur.Index+1, int64(ce)+1)
		}
		if _, err := s.Write(data); err != nil {
			return fmt.Errorf("writing attachment %d: %w", rd.cur.Index, err)
		}
		s.size = int64(len(data))
	}
	a := rd.cur
	a.Size = s.size
	copy(a.SHA256[:], s.h.Sum(nil))
	rd.atts[len(rd.atts)-1] = *a
	return nil
}

type attStream struct {
	h       hash.Hash
	w       io.Writer
	size    int64
	pending []byte
	werr    error // the sink's error
}

func (s *attStream) Write(p []byte) (int, error) {
	s.h.Write(p)
	n, err := s.w.Write(p)
	if err != nil {
		s.werr = err
	}
	return n, err
}

var errEntity = errors.New("entity inside base64")

// base64Source yields the base64 characters of an attachment's content
// from the byte source, dropping whitespace and line-break character
// references (&#13; &#xD; &#10; &#xA;), and stops before the '<' that
// ends the content, leaving it for the decoder.
type base64Source struct {
	cr   *countingReader
	done bool
	err  error
}

func (s *base64Source) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		b, err := s.cr.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			s.err = err
			return n, err
		}
		if b == '<' {
			_ = s.cr.r.UnreadByte()
			s.done = true
			break
		}
		s.cr.n++
		if s.cr.n > s.cr.max {
			s.cr.limErr = errTotal
			s.err = errTotal
			return n, errTotal
		}
		switch b {
		case '\n':
			s.cr.lines++
			continue
		case '\r', ' ', '\t':
			continue
		case '&':
			if err := s.charRef(); err != nil {
				s.err = err
				return n, err
			}
			continue
		}
		p[n] = b
		n++
	}
	if n == 0 && s.done {
		return 0, io.EOF
	}
	return n, nil
}

func (s *base64Source) charRef() error {
	var ref []byte
	for len(ref) < 8 {
		b, err := s.cr.r.ReadByte()
		if err != nil {
			return errEntity
		}
		s.cr.n++
		if b == ';' {
			switch string(ref) {
			case "#13", "#xD", "#xd", "#10", "#xA", "#xa", "#9", "#x9", "#32", "#x20":
				return nil
			}
			return errEntity
		}
		ref = append(ref, b)
	}
	return errEntity
}
