package edxmlconn

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// recorder is a Sender that keeps the document and a copy of its files.
type recorder struct {
	doc   node.Document
	files [][]byte
}

func (r *recorder) Send(_ context.Context, doc node.Document) (string, error) {
	r.doc = doc
	for _, f := range doc.Files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			return "", err
		}
		r.files = append(r.files, b)
	}
	return doc.MessageID, nil
}

func golden(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../edxml/testdata/new.edxml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportConverts(t *testing.T) {
	rec := &recorder{}
	c := &Connector{Code: "000.00.31.H53", Sender: rec, Work: t.TempDir()}
	imp, err := c.ImportReader(context.Background(), bytes.NewReader(golden(t)))
	if err != nil {
		t.Fatal(err)
	}
	d := rec.doc
	if imp.MessageID != edxml.MessageID("000.00.31.H53,2026/11/30,123/UBND-VP", edxml.BusinessNew, "") || d.MessageID != imp.MessageID ||
		d.Number != "123" || d.Notation != "UBND-VP" || d.Urgency != lienthongv1.Urgency_URGENCY_URGENT ||
		d.Edxml.GetFrom().GetOrganName() != "UBND huyện Càng Long" || len(d.Files) != 2 || d.Files[1].Name != "phu-luc.txt" ||
		string(rec.files[0]) != "Noi dung van ban so 1\n" {
		t.Errorf("document %+v, files %q", d, rec.files)
	}
	if left, _ := os.ReadDir(c.Work); len(left) != 0 {
		t.Errorf("work folder holds %v", left)
	}
}

func TestImportRefuses(t *testing.T) {
	status := `<edXMLEnvelope xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLHeader><MessageHeader>
<From><OrganId>000.00.31.H53</OrganId></From><ResponseFor><OrganId>a</OrganId><DocumentId>x</DocumentId></ResponseFor>
<StatusCode>03</StatusCode><Timestamp>2026/12/01 10:00:00</Timestamp></MessageHeader></edXMLHeader></edXMLEnvelope>`
	for _, c := range []struct {
		name, code string
		in         []byte
		kind       lienthong.Kind
		msg        string
	}{
		{"not this agency", "000.00.32.H53", golden(t), lienthong.KindPermission, "gói ghi nơi gửi 000.00.31.H53 nhưng nút này là của 000.00.32.H53"},
		{"a status message", "000.00.31.H53", []byte(status), lienthong.KindInvalid, "thông điệp trạng thái, không phải gói văn bản"},
		{"malformed", "000.00.31.H53", golden(t)[:4000], lienthong.KindInvalid, "XML sai cú pháp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			conn := &Connector{Code: c.code, Sender: rec, Work: t.TempDir()}
			_, err := conn.ImportReader(context.Background(), bytes.NewReader(c.in))
			if lienthong.ErrorKind(err) != c.kind || !strings.Contains(Reason(err), c.msg) {
				t.Errorf("error %v, want %v containing %q", err, c.kind, c.msg)
			}
			if rec.doc.MessageID != "" {
				t.Error("a document was sent")
			}
			if left, _ := os.ReadDir(conn.Work); len(left) != 0 {
				t.Errorf("work folder holds %v", left)
			}
		})
	}
}

func TestMoveFree(t *testing.T) {
	in, dst := t.TempDir(), t.TempDir()
	for i, want := range []string{"a.edxml", "a.1.edxml", "a.2.edxml"} {
		src := filepath.Join(in, "a.edxml")
		if err := os.WriteFile(src, []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := moveFree(src, dst, "a.edxml")
		if err != nil || got != filepath.Join(dst, want) {
			t.Errorf("move %d: %q, %v; want %s", i, got, err, want)
		}
	}
}
