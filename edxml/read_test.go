package edxml_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
)

// files collects what Read decodes, by attachment index.
type files map[int]*bytes.Buffer

func (f files) sink(a edxml.Attachment) (io.Writer, error) {
	b := new(bytes.Buffer)
	f[a.Index] = b
	return b, nil
}

func readFile(t *testing.T, name string) (*edxml.Message, files) {
	t.Helper()
	fh, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	got := files{}
	msg, err := edxml.Read(fh, got.sink, edxml.Limits{})
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return msg, got
}

var ict = time.FixedZone("ICT", 7*3600)

func TestReadGoldenNew(t *testing.T) {
	msg, got := readFile(t, "new.edxml")
	if msg.Status != nil || msg.Package == nil {
		t.Fatalf("Read returned %+v, want a package", msg)
	}
	p := msg.Package
	body1, body2 := "Noi dung van ban so 1\n", "Phu luc kem theo cong van 123/UBND-VP, trang 1 den trang 3.\n"
	want := &edxml.Package{
		Namespace: edxml.Namespace,
		Header: edxml.Header{
			From: edxml.Organization{
				OrganID: "000.00.31.H53", OrganizationInCharge: "UBND tỉnh Trà Vinh", OrganName: "UBND huyện Càng Long",
				OrganAdd: "Số 1 đường 3/2, thị trấn Càng Long", Email: "vanthu@canglong.gov.vn", Telephone: "0294 3882 001",
				Fax: "0294 3882 002", Website: "canglong.travinh.gov.vn",
			},
			To: []edxml.Organization{
				{
					OrganID: "000.12.31.H53", OrganizationInCharge: "UBND huyện Càng Long", OrganName: "UBND xã An Trường",
					OrganAdd: "Ấp 1, xã An Trường", Email: "antruong@canglong.gov.vn", Telephone: "0294 3882 101",
					Fax: "0294 3882 102", Website: "antruong.canglong.gov.vn",
				},
				{OrganID: "000.13.31.H53", OrganName: "UBND xã Bình Phú"},
			},
			DocumentID:   "000.00.31.H53,2026/11/30,123/UBND-VP",
			Code:         edxml.Code{Number: "123", Notation: "UBND-VP"},
			Promulgation: edxml.Promulgation{Place: "Càng Long", Date: "2026-11-30"},
			DocumentType: edxml.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"},
			Subject:      "V/v triển khai liên thông văn bản điện tử & báo cáo",
			Content:      "Đề nghị UBND các xã triển khai trước ngày 15/12.",
			Signer:       edxml.SignerInfo{Competence: "KT. CHỦ TỊCH", Position: "Phó Chủ tịch", FullName: "Nguyễn Văn An"},
			DueDate:      "2026-12-15",
			ToPlaces:     []string{"Như trên", "Lưu: VT"},
			Other: edxml.OtherInfo{
				Priority: "1", SphereOfPromulgation: "Liên thông văn bản cấp tỉnh", TyperNotation: "NVA",
				PromulgationAmount: "5", PageAmount: "3", Direction: "false",
				Appendixes: []string{"Phụ lục I: danh sách xã", "Phụ lục II: kế hoạch"},
			},
			SteeringType: "1",
			ResponseFor: []edxml.ResponseFor{{
				OrganID: "000.00.00.H53", Code: "45/UBND-KT", PromulgationDate: "2026-11-02",
				DocumentID: "000.00.00.H53,2026/11/02,45/UBND-KT",
			}},
		},
		Traces: []edxml.Trace{
			{OrganID: "000.00.31.H53", Timestamp: time.Date(2026, 11, 30, 8, 15, 0, 0, ict)},
			{OrganID: "000.00.00.H53", Timestamp: time.Date(2026, 11, 30, 8, 15, 7, 0, ict)},
		},
		Business: edxml.Business{
			DocumentID: "000.00.31.H53,2026/11/30,123/UBND-VP", DocType: edxml.BusinessNew,
			Reason: "Văn bản điện tử mới", Paper: "0",
			Staff: edxml.StaffInfo{Department: "Văn phòng HĐND-UBND", Staff: "Trần Thị Bích", Email: "bich@canglong.gov.vn", Mobile: "0912000001"},
		},
		Signature: p.Signature, // checked below
		References: []edxml.Reference{
			{ContentID: "cid:1", ContentType: "text/plain", Description: "Văn bản chính", AttachmentName: "cong-van-123.txt"},
			{ContentID: "cid:2", ContentType: "text/plain", Description: "Phụ lục", AttachmentName: "phu-luc.txt"},
		},
		Attachments: []edxml.Attachment{
			{Index: 0, ContentID: "cid:1", Name: "cong-van-123.txt", Description: "Văn bản chính", ContentType: "text/plain",
				Size: int64(len(body1)), SHA256: sha256.Sum256([]byte(body1))},
			{Index: 1, ContentID: "cid:2", Name: "phu-luc.txt", Description: "Phụ lục", ContentType: "text/plain",
				Size: int64(len(body2)), SHA256: sha256.Sum256([]byte(body2))},
		},
	}
	for i := range p.Traces { // compare instants, not zone pointers
		if !p.Traces[i].Timestamp.Equal(want.Traces[i].Timestamp) {
			t.Errorf("trace %d at %v, want %v", i, p.Traces[i].Timestamp, want.Traces[i].Timestamp)
		}
		p.Traces[i].Timestamp = want.Traces[i].Timestamp
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("package:\n got %+v\nwant %+v", *p, *want)
	}
	// The second Attachment element names nothing but its ContentId: the
	// sink still gets the manifest's name.
	var names []string
	fh, err := os.Open("testdata/new.edxml")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := edxml.Read(fh, func(a edxml.Attachment) (io.Writer, error) {
		names = append(names, a.Name+"|"+a.ContentType)
		return io.Discard, nil
	}, edxml.Limits{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"cong-van-123.txt|text/plain", "phu-luc.txt|text/plain"}; !reflect.DeepEqual(names, want) {
		t.Errorf("sink saw %q, want %q", names, want)
	}
	if got[0].String() != body1 || got[1].String() != body2 {
		t.Errorf("attachments decoded as %q, %q", got[0], got[1])
	}
	raw, err := os.ReadFile("testdata/new.edxml")
	if err != nil {
		t.Fatal(err)
	}
	sig := p.Signature
	if sig == nil {
		t.Fatal("no Signature reported")
	}
	if !bytes.HasPrefix(sig.Raw, []byte(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`)) || !bytes.HasSuffix(sig.Raw, []byte("</Signature>")) {
		t.Errorf("Signature raw bytes %q", sig.Raw)
	}
	if !bytes.Equal(raw[sig.Offset:sig.Offset+int64(len(sig.Raw))], sig.Raw) {
		t.Errorf("Signature at offset %d does not match the file", sig.Offset)
	}
	if wantLine := 1 + bytes.Count(raw[:sig.Offset], []byte("\n")); sig.Line != wantLine {
		t.Errorf("Signature on line %d, want %d", sig.Line, wantLine)
	}
}

// golden reads testdata/new.edxml with replacements applied.
func golden(t *testing.T, repl ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/new.edxml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("golden file has no %q", repl[i])
		}
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	return []byte(s)
}

func TestReadLegacyNamespaces(t *testing.T) {
	for _, ns := range []string{edxml.LegacyGoVN, edxml.LegacyEDoc} {
		msg, err := edxml.Read(bytes.NewReader(golden(t, edxml.Namespace, ns)), nil, edxml.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", ns, err)
		}
		if p := msg.Package; !p.Legacy || p.Namespace != ns || p.Header.Subject == "" || len(p.Attachments) != 2 {
			t.Errorf("%s: legacy %v namespace %q subject %q, %d attachments", ns, p.Legacy, p.Namespace, p.Header.Subject, len(p.Attachments))
		}
	}
}

func TestReadRefusals(t *testing.T) {
	deep := strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000)
	bomb := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML>`
	cases := []struct {
		name    string
		in      []byte
		lim     edxml.Limits
		kind    lienthong.Kind
		element string
		line    int
		msg     string
	}{
		{"malformed", golden(t, "</edXML:Subject>", "</edXML:Subjec>"), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/MessageHeader/Subject", 45, "XML sai cú pháp"},
		{"wrong namespace", golden(t, edxml.Namespace, "http://example.com/other"), edxml.Limits{}, lienthong.KindInvalid,
			"edXML", 3, "không gian tên \"http://example.com/other\""},
		{"missing subject", golden(t, "<edXML:Subject>V/v triển khai liên thông văn bản điện tử &amp; báo cáo</edXML:Subject>", ""),
			edxml.Limits{}, lienthong.KindInvalid, "edXMLHeader/MessageHeader/Subject", 0, "thiếu phần tử bắt buộc <edXMLHeader/MessageHeader/Subject>"},
		{"missing sender", golden(t, "<edXML:OrganId>000.00.31.H53</edXML:OrganId>\n          <edXML:OrganizationInCharge>", "<edXML:OrganizationInCharge>"),
			edxml.Limits{}, lienthong.KindInvalid, "edXMLHeader/MessageHeader/From/OrganId", 0, "From/OrganId"},
		{"missing number", golden(t, "<edXML:CodeNumber>123</edXML:CodeNumber>", ""), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/MessageHeader/Code/CodeNumber", 0, "số văn bản"},
		{"bad date", golden(t, "<edXML:PromulgationDate>2026/11/30", "<edXML:PromulgationDate>30/11/2026"), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/MessageHeader/PromulgationInfo/PromulgationDate", 38, "ngày \"30/11/2026\" sai"},
		{"bad due date", golden(t, "2026/12/15", "2026/13/15"), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/MessageHeader/DueDate", 52, "ngày \"2026/13/15\" sai"},
		{"bad timestamp", golden(t, "2026/11/30 08:15:07", "hôm qua"), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/TraceHeaderList/TraceHeader/Timestamp", 84, "thời điểm \"hôm qua\" sai"},
		{"bad business type", golden(t, "<edXML:BussinessDocType>0", "<edXML:BussinessDocType>7"), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType", 88, "BussinessDocType \"7\""},
		{"base64 error", golden(t, "Tm9pIGR1bmcgdmFuIGJhbiBzbyAxCg==", "Tm9pIGR1bm*gdmFuIGJhbiBzbyAxCg=="), edxml.Limits{}, lienthong.KindInvalid,
			"AttachmentEncoded/Attachment/ContentTransferEncoded", 137, "hỏng ở ký tự thứ 11"},
		{"base64 truncated", golden(t, "Tm9pIGR1bmcgdmFuIGJhbiBzbyAxCg==", "Tm9pIGR1bmcgdmFuIGJhbiBzbyAxCg"), edxml.Limits{}, lienthong.KindInvalid,
			"AttachmentEncoded/Attachment/ContentTransferEncoded", 137, "tệp đính kèm 1 (cong-van-123.txt) hỏng: thiếu ký tự cuối"},
		{"entity in base64", golden(t, "&#13;", "&amp;"), edxml.Limits{}, lienthong.KindInvalid,
			"AttachmentEncoded/Attachment/ContentTransferEncoded", 141, "thực thể XML"},
		{"undefined entity", golden(t, "&amp; báo cáo", "&nbsp; báo cáo"), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/MessageHeader/Subject", 45, "XML sai cú pháp"},
		{"entity bomb", []byte(bomb), edxml.Limits{}, lienthong.KindInvalid, "(gốc)", 6, "DTD"},
		{"1000-level nesting", golden(t, "<edXML:Content>", deep+"<edXML:Content>"), edxml.Limits{}, lienthong.KindTooLarge,
			"edXMLHeader/MessageHeader/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", 46, "lồng nhau quá 32 cấp"},
		{"over the size limit", golden(t), edxml.Limits{MaxTotal: 4000}, lienthong.KindTooLarge, "", 0, "gói vượt quá 4000 byte"},
		{"text over the limit", golden(t, "Văn bản điện tử mới", strings.Repeat("x", 2000)), edxml.Limits{MaxText: 1000}, lienthong.KindTooLarge,
			"edXMLHeader/TraceHeaderList/Bussiness/BussinessDocReason", 89, "vượt quá 1000 byte"},
		{"no attachment content", golden(t, "<ContentTransferEncoded>UGh1IGx1YyBrZW0gdGhlbyBjb25nIHZhbiAxMjMv&#13;\nVUJORC1WUCwgdHJhbmcgMSBkZW4gdHJhbmcgMy4K</ContentTransferEncoded>", ""),
			edxml.Limits{}, lienthong.KindInvalid, "AttachmentEncoded/Attachment", 139, "không có ContentTransferEncoded"},
		{"unknown status code", []byte(statusXML("07", edxml.Namespace)), edxml.Limits{}, lienthong.KindInvalid,
			"edXMLHeader/MessageHeader/StatusCode", 21, "mã trạng thái \"07\""},
		{"empty", nil, edxml.Limits{}, lienthong.KindInvalid, "(gốc)", 1, "tệp rỗng"},
		{"truncated", golden(t)[:3000], edxml.Limits{}, lienthong.KindInvalid, "", 0, "XML sai cú pháp"},
		{"encoding", golden(t, `encoding="UTF-8"`, `encoding="windows-1258"`), edxml.Limits{}, lienthong.KindInvalid, "(gốc)", 1, "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := files{}
			msg, err := edxml.Read(bytes.NewReader(c.in), got.sink, c.lim)
			if err == nil {
				t.Fatalf("Read succeeded: %+v", msg)
			}
			if k := lienthong.ErrorKind(err); k != c.kind {
				t.Errorf("kind %v, want %v (%v)", k, c.kind, err)
			}
			if !strings.Contains(lienthong.ErrorMessage(err), c.msg) {
				t.Errorf("message %q, want it to contain %q", lienthong.ErrorMessage(err), c.msg)
			}
			var pos *edxml.PositionError
			if !errors.As(err, &pos) {
				t.Fatalf("no PositionError in %v", err)
			}
			if c.element != "" && pos.Element != c.element {
				t.Errorf("element %q, want %q", pos.Element, c.element)
			}
			if c.line != 0 && pos.Line != c.line {
				t.Errorf("line %d, want %d (%v)", pos.Line, c.line, err)
			}
			if !strings.Contains(lienthong.ErrorMessage(err), fmt.Sprintf("dòng %d", pos.Line)) {
				t.Errorf("message %q does not give the line", lienthong.ErrorMessage(err))
			}
		})
	}
}

// statusXML is a status message written by hand from the field list.
func statusXML(code, ns string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXMLEnvelope xmlns:edXML="` + ns + `">
  <edXML:edXMLHeader>
    <edXML:MessageHeader>
      <edXML:From>
        <edXML:OrganId>000.12.31.H53</edXML:OrganId>
        <edXML:OrganName>UBND xã An Trường</edXML:OrganName>
      </edXML:From>
      <edXML:ResponseFor>
        <edXML:OrganId>000.00.31.H53</edXML:OrganId>
        <edXML:Code>123/UBND-VP</edXML:Code>
        <edXML:PromulgationDate>2026/11/30</edXML:PromulgationDate>
        <edXML:DocumentId>000.00.31.H53,2026/11/30,123/UBND-VP</edXML:DocumentId>
      </edXML:ResponseFor>
      <edXML:StaffInfo>
        <edXML:Department>Văn phòng</edXML:Department>
        <edXML:Staff>Lê Văn Cường</edXML:Staff>
        <edXML:Email>cuong@antruong.gov.vn</edXML:Email>
        <edXML:Mobile>0912000002</edXML:Mobile>
      </edXML:StaffInfo>
      <edXML:StatusCode>` + code + `</edXML:StatusCode>
      <edXML:Description>Trạng thái ` + code + `</edXML:Description>
      <edXML:Timestamp>2026/12/01 14:30:00</edXML:Timestamp>
    </edXML:MessageHeader>
  </edXML:edXMLHeader>
  <edXML:edXMLBody/>
</edXML:edXMLEnvelope>
`
}

// TestReadTolerant reads shapes field builds write: a prefixed root with
// unprefixed children, edXMLEnvelope as the root with the attachments in
// the body, Bussiness beside TraceHeaderList, dates with dashes.
func TestReadTolerant(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="utf-8"?>
<e:edXMLEnvelope xmlns:e="http://www.e-doc.vn/Schema/">
 <edXMLHeader>
  <MessageHeader>
   <From><OrganId>000.00.31.H53</OrganId></From>
   <To><OrganId>000.01.31.H53</OrganId></To>
   <Code><CodeNumber>7</CodeNumber><CodeNotation>UBND-VP</CodeNotation></Code>
   <PromulgationInfo><PromulgationDate>2026-11-30</PromulgationDate></PromulgationInfo>
   <DocumentType><TypeName>Thông báo</TypeName></DocumentType>
   <Subject>Thông báo lịch họp</Subject>
   <Extension xmlns="http://example.com/x"><Subject>ignored</Subject></Extension>
  </MessageHeader>
  <Bussiness><BussinessDocType>0</BussinessDocType></Bussiness>
 </edXMLHeader>
 <edXMLBody>
  <edXMLManifest version="1.0"/>
  <AttachmentEncoded>
   <Attachment>
    <ContentId>cid:a</ContentId><AttachmentName>tb.txt</AttachmentName>
    <ContentTransferEncoded><![CDATA[aGk=]]></ContentTransferEncoded>
   </Attachment>
  </AttachmentEncoded>
 </edXMLBody>
</e:edXMLEnvelope>`
	got := files{}
	msg, err := edxml.Read(strings.NewReader(doc), got.sink, edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := msg.Package
	if !p.Legacy || p.Header.Subject != "Thông báo lịch họp" || p.Header.Promulgation.Date != "2026-11-30" ||
		len(p.Header.To) != 1 || len(p.Attachments) != 1 || p.Attachments[0].Name != "tb.txt" || got[0].String() != "hi" {
		t.Errorf("package %+v, attachment %q", *p, got[0])
	}
}
