package pades_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf"
)

// box is an appearance drawing a filled rectangle on the given page.
func box(page int, rect [4]float64) *pades.Appearance {
	return &pades.Appearance{Page: page, Rect: rect, Build: func(objs pades.Objects) (pdf.Ref, error) {
		d := pdf.NewDict()
		d.Set("Type", pdf.Name("XObject"))
		d.Set("Subtype", pdf.Name("Form"))
		d.Set("BBox", pdf.Array{int64(0), int64(0), pdf.Num(rect[2] - rect[0]), pdf.Num(rect[3] - rect[1])})
		return objs.AddStream(d, []byte("0 0 1 rg 0 0 10 10 re f\n")), nil
	}}
}

// TestVisibleWidget: a visible signature on page 2 (widget with /Rect and
// /AP in the signature's own update), then an invisible one: both pass,
// the first is covered by the second with no change named; each bad
// placement is refused before anything is written.
func TestVisibleWidget(t *testing.T) {
	p := newTestPKI(t)
	doc := sample(t, true)
	o := p.person.opts(pades.SubFilterCAdES, p.now)
	o.Appearance = box(2, [4]float64{300, 100, 460, 180})
	one := sign(t, doc, o)
	two := sign(t, one, p.seal.opts(pades.SubFilterCAdES, p.now))
	rep := verify(t, two, p.verifyOptions())
	if rep.Verdict != pades.VerdictValid || len(rep.Signatures) != 2 || !rep.Signatures[0].CoveredByLaterSignature {
		t.Fatalf("verdict %s: %+v", rep.Verdict, rep.Signatures)
	}
	for i, s := range rep.Signatures {
		if s.Indication != etsi.TotalPassed {
			t.Errorf("signature %d: %s %v", i+1, s.Indication, s.Problems)
		}
	}
	if !bytes.Contains(one, []byte("/Rect [300 100 460 180]")) || !bytes.Contains(one, []byte("/AP <</N ")) {
		t.Errorf("the widget lacks its /Rect or /AP")
	}
	d, err := pdf.Open(bytes.NewReader(one), int64(len(one)))
	if err != nil {
		t.Fatal(err)
	}
	v := d.Latest()
	cat, _, _ := v.Catalog()
	pages, err := v.Pages(cat)
	if err != nil || len(pages) != 2 {
		t.Fatalf("pages %v: %v", pages, err)
	}
	for i, pr := range pages {
		pg, _ := v.Dict(pr)
		annots, _ := v.Array(pg.Get("Annots"))
		if want := map[int]int{0: 0, 1: 1}[i]; len(annots) != want {
			t.Errorf("page %d has %d annotations, want %d", i+1, len(annots), want)
		}
	}

	buildErr := errors.New("no image")
	tests := []struct {
		name string
		ap   *pades.Appearance
		want string
	}{
		{"page out of range", box(3, [4]float64{10, 10, 50, 50}), "trang 3 không có, tài liệu có 2 trang"},
		{"empty rectangle", box(1, [4]float64{50, 50, 10, 60}), "khung chữ ký"},
		{"over a quarter of the page", box(1, [4]float64{0, 0, 595, 300}), "chiếm 36% trang, tối đa 25%"},
		{"appearance fails", &pades.Appearance{Rect: [4]float64{10, 10, 50, 50}, Build: func(pades.Objects) (pdf.Ref, error) { return pdf.Ref{}, buildErr }}, "no image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := p.person.opts(pades.SubFilterCAdES, p.now)
			o.Appearance = tc.ap
			var out bytes.Buffer
			err := pades.Sign(&out, bytes.NewReader(doc), int64(len(doc)), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written after a refusal", out.Len())
			}
		})
	}
}
