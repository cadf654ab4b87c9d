package pades

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pdf"
	"github.com/lienthong/lienthong/signing/pdf/pdftest"
)

// TestFieldLockCovers: the three FieldMDP actions (ISO 32000-1, table
// 233), and an unknown one that locks nothing.
func TestFieldLockCovers(t *testing.T) {
	fields := map[string]bool{"SoTien": true, "Ngay.Ky": true}
	tests := []struct {
		action pdf.Name
		field  string
		want   bool
	}{
		{"All", "Other", true},
		{"Include", "SoTien", true},
		{"Include", "Ngay.Ky", true},
		{"Include", "Other", false},
		{"Exclude", "SoTien", false},
		{"Exclude", "Other", true},
		{"Bogus", "SoTien", false},
	}
	for _, tc := range tests {
		l := fieldLock{by: "Signature1", action: tc.action, fields: fields}
		if got := l.covers(tc.field); got != tc.want {
			t.Errorf("%s covers %q = %v, want %v", tc.action, tc.field, got, tc.want)
		}
	}
	p := &permissions{locks: []fieldLock{{by: "A", action: "Include", fields: map[string]bool{"X": true}}, {by: "B", action: "All"}}}
	if got := p.lockedBy("X"); got != "A" {
		t.Errorf("lockedBy(X) = %q, want the first lock, A", got)
	}
	if got := p.lockedBy("Y"); got != "B" {
		t.Errorf("lockedBy(Y) = %q, want B", got)
	}
}

// TestWidgetShare: a new signature widget may cover a quarter of its page,
// not more; one without area is invisible and always allowed.
func TestWidgetShare(t *testing.T) {
	p := newFuzzPKI(t)
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Widget"})
	if err != nil {
		t.Fatal(err)
	}
	signed := p.sign(t, doc, 0, SubFilterCAdES)
	// The sample's page is 595 x 842.
	for _, tc := range []struct {
		rect string
		want string
	}{
		{"[0 0 0 842]", ""},
		{"[100 100 397.5 521]", ""}, // 297.5 x 421: exactly a quarter
		{"[100 100 403.5 521]", "covers 26% of the page"},
		{"[-10 -10 605 852]", "covers 100% of the page"},
	} {
		u := pdftest.Append(t, signed)
		b := u.Base()
		n := b.NextNum()
		u.Set(n, fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (W) /Rect %s /P %d 0 R >>", tc.rect, b.PageRef.Num))
		annots, _ := b.V.Array(b.Page.Get("Annots"))
		page := b.Page.Clone()
		page.Set("Annots", append(append(pdf.Array(nil), annots...), pdf.Ref{Num: n}))
		u.SetObject(b.PageRef.Num, page)
		out := u.Bytes()
		rep, err := Verify(bytes.NewReader(out), int64(len(out)), VerifyOptions{Roots: p.roots, sealing: true})
		if err != nil || len(rep.Signatures) != 1 {
			t.Fatalf("%s: %v, %d signatures", tc.rect, err, len(rep.Signatures))
		}
		got := strings.Join(rep.Signatures[0].Changes, "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("Rect %s: changes %q, want %q", tc.rect, got, tc.want)
		}
	}
}

// TestIndirectLengthChanged: a signed content stream whose /Length is an
// indirect object; shortening that object after signing hides the end of
// the content (a "hide" shadow attack) and is a change of the stream.
func TestIndirectLengthChanged(t *testing.T) {
	p := newFuzzPKI(t)
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Length"})
	if err != nil {
		t.Fatal(err)
	}
	u := pdftest.Append(t, doc)
	b := u.Base()
	c := pdftest.Ref(t, b.Page, "Contents")
	n := b.NextNum()
	data := "BT /F1 12 Tf 72 700 Td (Chi 100 dong) Tj ET 0 g 72 690 200 1 re f"
	u.Set(c.Num, fmt.Sprintf("<< /Length %d 0 R >>\nstream\n%s\nendstream", n, data))
	u.Set(n, fmt.Sprint(len(data)))
	signed := p.sign(t, u.Bytes(), 0, SubFilterCAdES)
	out := pdftest.Append(t, signed).Set(n, fmt.Sprint(len(data)-len(" 0 g 72 690 200 1 re f"))).Bytes()
	rep, err := Verify(bytes.NewReader(out), int64(len(out)), VerifyOptions{Roots: p.roots, sealing: true})
	if err != nil || len(rep.Signatures) != 1 {
		t.Fatalf("%v, %d signatures", err, len(rep.Signatures))
	}
	want := fmt.Sprintf("%d 0 obj (page 1 /Contents): content stream changed", c.Num)
	if got := rep.Signatures[0].Changes; len(got) == 0 || got[0] != want {
		t.Errorf("changes %q, want %q first", got, want)
	}
}
