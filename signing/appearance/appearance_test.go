package appearance_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"image"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/appearance"
	"github.com/lienthong/lienthong/signing/pdf"
	"github.com/lienthong/lienthong/signing/pdf/pdftest"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// signedAt is the signing time of the tests: 14:05:09 on 3 December 2026
// in Vietnam.
var signedAt = time.Date(2026, 12, 3, 7, 5, 9, 0, time.UTC)

// widgetRects returns the rectangles of the signature widgets with an
// area on page n, in /Annots order.
func widgetRects(t testing.TB, doc []byte, n int) [][4]float64 {
	t.Helper()
	d, err := pdf.Open(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	v := d.Latest()
	cat, _, err := v.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := v.Pages(cat)
	if err != nil {
		t.Fatal(err)
	}
	page, err := v.Dict(pages[n-1])
	if err != nil {
		t.Fatal(err)
	}
	annots, err := v.Array(page.Get("Annots"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][4]float64
	for _, a := range annots {
		w, err := v.Dict(a)
		if err != nil || w == nil || w.Name("FT") != "Sig" {
			continue
		}
		r, err := v.Array(w.Get("Rect"))
		if err != nil || len(r) != 4 {
			t.Fatalf("widget /Rect %v: %v", w.Get("Rect"), err)
		}
		var q [4]float64
		for i := range q {
			q[i], _ = pdf.Number(r[i])
		}
		if q[2] > q[0] {
			out = append(out, q)
		}
	}
	return out
}

// pageHeight is the sample PDFs' A4 page height in points (and pixels at
// 72 dpi).
const pageHeight = 842

// inside reports whether pixel (x, y) of a 72-dpi render touches r grown
// by margin points.
func inside(x, y int, r [4]float64, margin float64) bool {
	top := float64(pageHeight - y) // the pixel spans [top-1, top] in user space
	return float64(x+1) > r[0]-margin && float64(x) < r[2]+margin && top > r[1]-margin && top-1 < r[3]+margin
}

func isBlue(c [3]uint32) bool { return c[2] > 120 && c[0] < 100 && c[2] > c[1]+60 }
func isRed(c [3]uint32) bool  { return c[0] > 150 && c[1] < 90 && c[2] < 90 }

func rgb(img image.Image, x, y int) [3]uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

// diff counts the pixels that differ between before and after outside
// the rectangles (grown by one point for anti-aliasing), and the pixels
// inside each rectangle that match.
func diff(t testing.TB, before, after image.Image, rects [][4]float64, match func([3]uint32) bool) (outside int, in []int) {
	t.Helper()
	if before.Bounds() != after.Bounds() {
		t.Fatalf("render sizes differ: %v, %v", before.Bounds(), after.Bounds())
	}
	in = make([]int, len(rects))
	b := after.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			covered := false
			for i, r := range rects {
				if inside(x, y, r, 1) {
					covered = true
					if inside(x, y, r, 0) && match(rgb(after, x, y)) {
						in[i]++
					}
				}
			}
			if !covered && rgb(before, x, y) != rgb(after, x, y) {
				outside++
			}
		}
	}
	return outside, in
}

// TestLeaderThenSeal is issue 17's done-when for the leader's signature
// and the seal: on the last page of a three-page decision, the leader signs with
// the signature image found by the name line, then the agency seals with
// the seal placed from the leader's widget. After each step both
// verifiers pass every signature, the render shows blue ink in the
// leader's rectangle and red in the seal's, which overlaps the leader's
// on the left by a third, and nothing else on the page changed.
func TestLeaderThenSeal(t *testing.T) {
	s := newSigner(t, signedAt)
	unsigned, leader, sealed := leaderAndSeal(t, s)
	s.verify(t, leader, 1)
	s.pdfsigCheck(t, writeFile(t, "leader.pdf", leader), 1)
	rep := s.verify(t, sealed, 2)
	if !rep.Signatures[0].CoveredByLaterSignature || len(rep.Signatures[0].Changes) != 0 {
		t.Errorf("leader's signature after sealing: covered=%v changes=%v", rep.Signatures[0].CoveredByLaterSignature, rep.Signatures[0].Changes)
	}
	s.pdfsigCheck(t, writeFile(t, "sealed.pdf", sealed), 2)

	if r := widgetRects(t, sealed, 1); len(r) != 0 {
		t.Errorf("page 1 has visible signature widgets %v, want none", r)
	}
	rects := widgetRects(t, sealed, 3)
	if len(rects) != 2 {
		t.Fatalf("page 3 has %d visible signature widgets, want 2", len(rects))
	}
	lr, sr := rects[0], rects[1]
	// The leader's image sits between "CHỦ TỊCH" (baseline 305) and the
	// name (baseline 200), centred on the name.
	if lr[1] < 200+10 || lr[3] > 305 {
		t.Errorf("leader's rectangle %v is not between the position and the name lines", lr)
	}
	nameCentre := 375 + float64(samplepdfWidth("Nguyen Van An"))*13/1000/2
	if c := (lr[0] + lr[2]) / 2; c < nameCentre-1 || c > nameCentre+1 {
		t.Errorf("leader's image centred at x=%.1f, the name at x=%.1f", c, nameCentre)
	}
	// The seal: 40 mm (113.4 pt) across, its right edge a third into the
	// leader's image from the left.
	if w := sr[2] - sr[0]; w < 113 || w > 114 {
		t.Errorf("seal is %.1f pt wide, want its real 40 mm = 113.4 pt", w)
	}
	overlap := (sr[2] - lr[0]) / (lr[2] - lr[0])
	if sr[0] >= lr[0] || overlap < 0.25 || overlap > 0.40 {
		t.Errorf("seal %v over leader %v: overlaps %.0f%% of its width from the left, want 25–40%%", sr, lr, 100*overlap)
	}

	before := render(t, unsigned, 3)
	afterLeader := render(t, leader, 3)
	outside, blue := diff(t, before, afterLeader, [][4]float64{lr}, isBlue)
	if outside != 0 || blue[0] < 500 {
		t.Errorf("leader: %d pixels changed outside its rectangle (want 0), %d blue pixels inside (want ≥ 500)", outside, blue[0])
	}
	// The image's transparency (its /SMask): the page shows through
	// around the strokes.
	if c, area := changedIn(before, afterLeader, lr); c > area/2 {
		t.Errorf("leader: %d of the %d pixels inside its rectangle changed: the transparent background is not transparent", c, area)
	}
	afterSeal := render(t, sealed, 3)
	outside, red := diff(t, before, afterSeal, [][4]float64{sr, lr}, isRed)
	if outside != 0 || red[0] < 500 {
		t.Errorf("seal: %d pixels changed outside the two rectangles (want 0), %d red pixels inside the seal's (want ≥ 500)", outside, red[0])
	}
	overlapRect := [4]float64{lr[0], max(lr[1], sr[1]), sr[2], min(lr[3], sr[3])}
	_, redOver := diff(t, before, afterSeal, [][4]float64{overlapRect}, isRed)
	_, blueLeft := diff(t, before, afterSeal, [][4]float64{{sr[2] + 1, lr[1], lr[2], lr[3]}}, isBlue)
	if redOver[0] < 50 || blueLeft[0] < 200 {
		t.Errorf("the seal's red over the leader's image: %d pixels (want ≥ 50); the leader's blue right of the seal: %d (want ≥ 200)", redOver[0], blueLeft[0])
	}
}

// samplepdfWidth is the Helvetica width (thousandths of an em) of ASCII s.
func samplepdfWidth(s string) int {
	w := map[rune]int{' ': 278, 'N': 722, 'g': 556, 'u': 556, 'y': 500, 'e': 556, 'n': 556, 'V': 667, 'a': 556, 'A': 667}
	n := 0
	for _, r := range s {
		n += w[r]
	}
	return n
}

// TestCopyBlock is issue 17's done-when for copies and attachments: the
// agency signs an attachment as a copy; the text block at the top right
// of page 1 reads back with pdftotext, Vietnamese diacritics and the
// signing time in +07:00 included, in an embedded Liberation Serif subset;
// nothing outside the block changed, and both verifiers pass.
func TestCopyBlock(t *testing.T) {
	s := newSigner(t, signedAt)
	unsigned, signed := copyDoc(t, s)
	s.verify(t, signed, 1)
	path := writeFile(t, "copy.pdf", signed)
	s.pdfsigCheck(t, path, 1)

	rects := widgetRects(t, signed, 1)
	if len(rects) != 1 {
		t.Fatalf("%d visible widgets, want 1", len(rects))
	}
	r := rects[0]
	if r[2] < 595-40 || r[3] < pageHeight-40 {
		t.Errorf("copy block %v is not at the top right of the page", r)
	}

	needTool(t, "poppler-utils", "pdftotext", "pdffonts")
	text := run(t, "pdftotext", "-f", "1", "-l", "1", "-layout", path, "-")
	for _, want := range []string{"Sao y bản chính", "Sở Nội vụ tỉnh Thái Nguyên", "Số: 15/SY-SNV", "14:05:09 03/12/2026 +07:00"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not read %q:\n%s", want, text)
		}
	}
	fonts := run(t, "pdffonts", path)
	if !regexp.MustCompile(`[A-Z]{6}\+LiberationSerif\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes`).MatchString(fonts) {
		t.Errorf("pdffonts: want an embedded LiberationSerif subset with ToUnicode:\n%s", fonts)
	}

	before, after := render(t, unsigned, 1), render(t, signed, 1)
	isInk := func(c [3]uint32) bool { return c[0] < 100 && c[1] < 100 && c[2] < 100 }
	outside, ink := diff(t, before, after, [][4]float64{r}, isInk)
	if outside != 0 || ink[0] < 100 {
		t.Errorf("copy block: %d pixels changed outside it (want 0), %d black pixels inside (want ≥ 100)", outside, ink[0])
	}
}

// leaderAndSeal signs the decree as the leader, then seals it.
func leaderAndSeal(t testing.TB, s *signer) (unsigned, leader, sealed []byte) {
	t.Helper()
	unsigned = decree(t)
	leader = s.sign(t, unsigned, s.leader, appearance.Spec{Kind: appearance.Leader, Image: decodeImage(t, signatureImage(t)), Anchor: "Nguyễn Văn An"})
	sealed = s.sign(t, leader, s.agency, appearance.Spec{Kind: appearance.Seal, Image: decodeImage(t, sealImage(t))})
	return unsigned, leader, sealed
}

// copyDoc signs an attachment as a certified copy.
func copyDoc(t testing.TB, s *signer) (unsigned, signed []byte) {
	t.Helper()
	f := font(t)
	unsigned, err := samplepdf.Bytes(samplepdf.Options{Title: "Phụ lục: Danh sách đơn vị", Lines: []string{"1. Sở Nội vụ", "2. Sở Tài chính"}, Pages: 2, XRefStream: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := appearance.Spec{Kind: appearance.Copy, Number: "15/SY-SNV", CopyType: "Sao y bản chính", Agency: "Sở Nội vụ tỉnh Thái Nguyên", Time: signedAt, Font: f}
	return unsigned, s.sign(t, unsigned, s.agency, spec)
}

// TestPdfcpuAcceptsVisibleSignatures: pdfcpu's structural validation
// accepts the widgets, appearance streams, images and font, and its
// signature validator finds each signature valid.
func TestPdfcpuAcceptsVisibleSignatures(t *testing.T) {
	s := newSigner(t, signedAt)
	_, _, sealed := leaderAndSeal(t, s)
	_, copied := copyDoc(t, s)
	api.DisableConfigDir()
	pool := x509.NewCertPool()
	pool.AddCert(s.root.Cert)
	saved := model.UserCertPool
	model.UserCertPool = pool // pdfcpu keeps its trust anchors in a package variable
	t.Cleanup(func() { model.UserCertPool = saved })
	for name, doc := range map[string][]byte{"leader and seal": sealed, "copy": copied} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, "signed.pdf", doc)
			conf := model.NewDefaultConfiguration()
			if err := api.ValidateFile(path, conf); err != nil {
				t.Errorf("pdfcpu validate: %v", err)
			}
			results, err := api.ValidateSignatures(path, true, conf)
			if err != nil {
				t.Fatalf("pdfcpu: %v", err)
			}
			for i, r := range results {
				if r.Status != model.SignatureStatusValid {
					t.Errorf("pdfcpu signature %d: %s (%s) %q", i+1, r.Status, r.Reason, r.Problems)
				}
			}
		})
	}
}

// TestAnchorInType0Font: the name line drawn the way office suites draw
// text (a Type0 Identity-H font with a ToUnicode CMap; here the Liberation
// Serif subset a copy block embeds, put on the page by an update) is found
// by --anchor and the signature centred on it.
func TestAnchorInType0Font(t *testing.T) {
	f := font(t)
	s := newSigner(t, signedAt)
	_, copied := copyDoc(t, s)
	base := pdftest.Load(t, copied)
	v := base.V
	annots, err := v.Array(base.Page.Get("Annots"))
	if err != nil || len(annots) != 1 {
		t.Fatalf("annots %v: %v", annots, err)
	}
	w, _ := v.Dict(annots[0])
	ap, _ := v.Dict(w.Get("AP"))
	form, _ := v.Dict(ap.Get("N"))
	res, _ := v.Dict(form.Get("Resources"))
	fonts, _ := v.Dict(res.Get("Font"))
	fontRef, ok := fonts.Get("F1").(pdf.Ref)
	if !ok {
		t.Fatalf("no /F1 font reference in the copy block: %v", fonts.Get("F1"))
	}
	// The subset has the glyphs of the copy block's lines; draw with those.
	hex := func(text string) string {
		var b strings.Builder
		for _, r := range text {
			g, ok := f.Glyph(r)
			if !ok {
				t.Fatalf("no glyph for %q", r)
			}
			fmt.Fprintf(&b, "%04X", g)
		}
		return "<" + b.String() + ">"
	}
	position, name := "Sở Nội vụ", "Sao y bản chính" // position line, then the "name" line below it
	content := fmt.Sprintf("BT /F9 12 Tf 380 300 Td %s Tj ET\nBT /F9 13 Tf 370 200 Td %s Tj ET\n", hex(position), hex(name))
	u := pdftest.Append(t, copied)
	contentNum := base.NextNum()
	page := base.Page.Clone()
	fd := pdf.NewDict()
	fd.Set("F9", fontRef)
	rd := pdf.NewDict()
	rd.Set("Font", fd)
	page.Set("Resources", rd)
	page.Set("Contents", pdf.Ref{Num: contentNum})
	doc := u.SetObject(base.PageRef.Num, page).Set(contentNum, pdftest.Stream("", content)).Bytes()

	lines, err := appearance.PageText(pdftest.Load(t, doc).V, pdftest.Load(t, doc).Page)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Text != position || lines[1].Text != name {
		t.Fatalf("PageText = %+v, want %q and %q", lines, position, name)
	}
	if want := 370 + f.Width(name, 13); math.Abs(lines[1].X1-want) > 0.1 {
		t.Errorf("name line ends at x=%.2f, want %.2f (the font's /W widths)", lines[1].X1, want)
	}
	plan, err := appearance.Plan(bytes.NewReader(doc), int64(len(doc)), appearance.Spec{Kind: appearance.Leader, Image: decodeImage(t, signatureImage(t)), Anchor: "SAO Y BAN CHINH"})
	if err != nil {
		t.Fatal(err)
	}
	r := plan.Rect
	if c := (r[0] + r[2]) / 2; math.Abs(c-(370+f.Width(name, 13)/2)) > 0.1 || r[1] < 200 || r[3] > 300 || plan.Page != 1 {
		t.Errorf("planned %v on page %d: not centred on the name between the two lines", r, plan.Page)
	}
}

// changedIn counts the pixels wholly inside r that differ, and the pixels
// wholly inside r.
func changedIn(before, after image.Image, r [4]float64) (changed, area int) {
	b := after.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			top := float64(pageHeight - y)
			if float64(x) >= r[0] && float64(x+1) <= r[2] && top-1 >= r[1] && top <= r[3] {
				area++
				if rgb(before, x, y) != rgb(after, x, y) {
					changed++
				}
			}
		}
	}
	return changed, area
}
