package pdf_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pdf"
)

// TestOpenBothXrefForms reads a document written with a cross-reference
// table and with a stream: catalog, first page, its content stream.
func TestOpenBothXrefForms(t *testing.T) {
	for _, xs := range []bool{false, true} {
		b, err := samplepdf.Bytes(samplepdf.Options{Title: "PDF", Lines: []string{"hello"}, XRefStream: xs})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Sections) != 1 || doc.Sections[0].Stream != xs {
			t.Fatalf("xref stream %v: %d sections", xs, len(doc.Sections))
		}
		v := doc.Latest()
		cat, _, err := v.Catalog()
		if err != nil || cat.Name("Type") != "Catalog" {
			t.Fatalf("catalog %v: %v", cat, err)
		}
		page, _, err := v.FirstPage(cat)
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Resolve(page.Get("Contents"), 0)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := c.(*pdf.Stream)
		if !ok {
			t.Fatalf("contents is a %T", c)
		}
		n, err := v.RawLength(st)
		if err != nil || !bytes.Contains(b[st.DataOff:st.DataOff+n], []byte("hello")) {
			t.Errorf("content stream of %d bytes: %v", n, err)
		}
		box, _ := page.Get("MediaBox").(pdf.Array)
		if w, ok := pdf.Number(box[2]); !ok || w != 595 {
			t.Errorf("MediaBox width %v", box)
		}
	}
}

// TestWriteObjectRoundTrip writes objects and reads them back.
func TestWriteObjectRoundTrip(t *testing.T) {
	d := pdf.NewDict()
	d.Set("Type", pdf.Name("Annot"))
	d.Set("Rect", pdf.Array{int64(0), pdf.Real("1.5"), int64(10), int64(20)})
	d.Set("T", pdf.TextString("Chữ ký"))
	d.Set("P", pdf.Ref{Num: 3})
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.7\n1 0 obj\n")
	if err := pdf.WriteObject(&buf, d); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\nendobj\n")
	xref := int64(buf.Len())
	pdf.WriteXrefTable(&buf, map[int]pdf.XrefEntry{1: {Kind: 1, Off: 9}})
	buf.WriteString("trailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n")
	buf.WriteString(strconv.FormatInt(xref, 10) + "\n%%EOF\n")
	doc, err := pdf.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := doc.Latest().Dict(pdf.Ref{Num: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := got.Get("T").(*pdf.String); s == nil || pdf.DecodeText(s.Bytes) != "Chữ ký" {
		t.Errorf("/T = %v", got.Get("T"))
	}
	if got.Get("P") != (pdf.Ref{Num: 3}) || got.Name("Type") != "Annot" || len(got.Keys()) != 4 {
		t.Errorf("read back %v", got.Keys())
	}
}
