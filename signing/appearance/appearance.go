// Package appearance builds the visible signatures of Decree 30/2020/NĐ-CP
// (annex I) as signature widget appearance streams for signing/pades:
//
//   - the leader's signature: the handwritten signature image (blue, PNG
//     with transparency), centred between the signer's position (chức vụ)
//     and full name, found on the page by the name line;
//   - the organisation's signature (the seal): the red seal image at its
//     real size, over about one third of the leader's signature image, on
//     its left, placed from the leader's widget on the same page;
//   - copies and attachments: no image, a text block at the top right of
//     the first page with the copy type, the copying agency, the number and
//     notation and the signing time (hh:mm:ss dd/mm/yyyy +07:00), in
//     Liberation Serif (Times New Roman's metrics) 10 pt, black, embedded as
//     a subset.
//
// Plan reads the document to decide where the widget goes and returns a
// pades.Appearance whose Build writes the form XObject (with the image as
// an Image XObject with an /SMask, or the text with the embedded font) in
// the signature's own incremental update, so the page content is not
// changed and verifiers see only a new signature field.
package appearance

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf"
)

// Kind is which of the decree's visible signatures to make.
type Kind string

// The kinds of visible signature.
const (
	Leader Kind = "leader" // the leader's handwritten signature image
	Seal   Kind = "seal"   // the organisation's seal image
	Copy   Kind = "copy"   // the text block of a copy or attachment
)

// ParseKind parses "leader", "seal" or "copy".
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Leader, Seal, Copy:
		return k, nil
	case "":
		return "", lienthong.Errorf(lienthong.KindInvalid, "chưa chọn kiểu chữ ký hiển thị (--appearance): dùng leader, seal hoặc copy (no appearance kind)")
	}
	return "", lienthong.Errorf(lienthong.KindInvalid, "kiểu hiển thị %q: dùng leader, seal hoặc copy (unknown appearance)", s)
}

// Rect is a rectangle on a page: its lower-left corner and size, in points.
type Rect struct{ X, Y, W, H float64 }

// ParseRect parses "x,y,w,h" (points).
func ParseRect(s string) (Rect, error) {
	f := strings.Split(s, ",")
	var v [4]float64
	bad := len(f) != 4
	for i := 0; !bad && i < 4; i++ {
		x, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
		bad = err != nil || math.IsNaN(x) || math.IsInf(x, 0)
		v[i] = x
	}
	if bad || v[2] <= 0 || v[3] <= 0 {
		return Rect{}, lienthong.Errorf(lienthong.KindInvalid, "khung %q: cần x,y,rộng,cao tính bằng point, rộng và cao dương (rectangle must be x,y,w,h in points)", s)
	}
	return Rect{v[0], v[1], v[2], v[3]}, nil
}

// Spec says which visible signature to make and where.
type Spec struct {
	Kind Kind
	// Image is the signature (Leader) or seal (Seal) image; Copy has none.
	Image *Image
	// Page is the 1-based page; 0 means: the page the anchor is on
	// (searched from the last page, where signature blocks are) for
	// Leader, the page of the last visible signature for Seal, page 1 for
	// Copy.
	Page int
	// Rect, when set, places the widget there and nothing is searched; an
	// image is fitted inside it, keeping its proportions.
	Rect *Rect
	// Anchor is the text of the signer's full-name line (Leader), matched
	// without regard to case or Vietnamese diacritics.
	Anchor string
	// Number is the number and notation (số và ký hiệu), CopyType the copy
	// type ("Sao y bản chính", "Trích sao", "Sao lục") and Agency the
	// copying agency, for Copy; CopyType and Agency are empty for an
	// attachment.
	Number, CopyType, Agency string
	// Time is the signing time shown by Copy; pass the time given to
	// pades.SignOptions.
	Time time.Time
	// Font is the text block's font (LoadFont).
	Font *Font
}

// Layout constants, in points.
const (
	leaderMaxWidth = 160 // about 5.6 cm: a handwritten signature's width at most
	leaderDefaultH = 70  // room above the name when no position line is found
	leaderMinH     = 18  // less room than this between position and name is an error
	positionSearch = 200 // how far above the name a position line is looked for
	sealShare      = 1.0 / 3
	copyFontSize   = 10
	copyLeading    = 12
	copyPad        = 3
	copyMarginTop  = 20
	copyMarginSide = 28 // 1 cm
)

// Plan decides where spec's widget goes in the PDF read from src and
// returns the appearance to give pades.SignOptions.
func Plan(src io.ReaderAt, size int64, spec Spec) (*pades.Appearance, error) {
	switch spec.Kind {
	case Leader, Seal:
		if spec.Image == nil {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "chữ ký hiển thị %s cần ảnh PNG (--image) (an image is needed)", spec.Kind)
		}
	case Copy:
		if spec.Image != nil {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "bản sao, phụ lục không có ảnh chữ ký, chỉ có khối chữ (a copy shows no image)")
		}
		if strings.TrimSpace(spec.Number) == "" {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "bản sao, phụ lục cần số và ký hiệu (--number) (number and notation needed)")
		}
		if spec.Time.IsZero() || spec.Font == nil {
			return nil, fmt.Errorf("appearance: a copy needs Time and Font")
		}
	default:
		_, err := ParseKind(string(spec.Kind))
		return nil, err
	}
	if spec.Kind != Leader && spec.Anchor != "" {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "--anchor chỉ dùng cho chữ ký của người có thẩm quyền (leader); con dấu đặt theo chữ ký đó, bản sao ở góc trên bên phải (--anchor is for the leader only)")
	}
	if spec.Kind != Copy && spec.Number+spec.CopyType+spec.Agency != "" {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "số và ký hiệu, hình thức sao, cơ quan sao chỉ dùng cho bản sao, phụ lục (--appearance copy) (number and copy details are for copies only)")
	}
	doc, err := pdf.Open(src, size)
	if err != nil {
		return nil, fmt.Errorf("appearance: reading PDF: %w", err)
	}
	v := doc.Latest()
	catalog, _, err := v.Catalog()
	if err != nil {
		return nil, fmt.Errorf("appearance: reading PDF: %w", err)
	}
	pages, err := v.Pages(catalog)
	if err != nil {
		return nil, fmt.Errorf("appearance: reading PDF: %w", err)
	}
	if spec.Page < 0 || spec.Page > len(pages) {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "trang %d không có, tài liệu có %d trang (page out of range)", spec.Page, len(pages))
	}
	p := &planner{v: v, pages: pages, spec: spec}
	var r Rect
	switch {
	case spec.Rect != nil:
		p.page = max(spec.Page, 1)
		r = *spec.Rect
		if spec.Image != nil {
			r = fit(r, spec.Image)
		}
	case spec.Kind == Leader:
		r, err = p.leader()
	case spec.Kind == Seal:
		r, err = p.seal()
	default:
		r, err = p.copyBlock()
	}
	if err != nil {
		return nil, err
	}
	box, err := p.mediaBox(p.page)
	if err != nil {
		return nil, err
	}
	const slack = 0.5
	if r.X < box[0]-slack || r.Y < box[1]-slack || r.X+r.W > box[2]+slack || r.Y+r.H > box[3]+slack {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "khung chữ ký %.0f,%.0f,%.0f,%.0f nằm ngoài trang %d (%.0f×%.0f) (the rectangle is off the page)", r.X, r.Y, r.W, r.H, p.page, box[2]-box[0], box[3]-box[1])
	}
	ap := &pades.Appearance{Page: p.page, Rect: [4]float64{r.X, r.Y, r.X + r.W, r.Y + r.H}}
	if spec.Kind == Copy {
		lines, err := p.copyLines()
		if err != nil {
			return nil, err
		}
		ap.Build = func(objs pades.Objects) (pdf.Ref, error) { return textForm(objs, spec.Font, lines, r) }
	} else {
		ap.Build = func(objs pades.Objects) (pdf.Ref, error) { return imageForm(objs, spec.Image, r), nil }
	}
	return ap, nil
}

// fit returns the largest rectangle with im's proportions centred in r.
func fit(r Rect, im *Image) Rect {
	pw, ph := im.Size()
	a := float64(pw) / float64(ph)
	w, h := r.W, r.W/a
	if h > r.H {
		w, h = r.H*a, r.H
	}
	return Rect{r.X + (r.W-w)/2, r.Y + (r.H-h)/2, w, h}
}

type planner struct {
	v     *pdf.View
	pages []pdf.Ref
	spec  Spec
	page  int // chosen, 1-based
}

func (p *planner) pageDict(n int) (*pdf.Dict, error) {
	d, err := p.v.Dict(p.pages[n-1])
	if err != nil || d == nil {
		return nil, fmt.Errorf("appearance: page %d: %w", n, err)
	}
	return d, nil
}

func (p *planner) mediaBox(n int) ([4]float64, error) {
	d, err := p.pageDict(n)
	if err != nil {
		return [4]float64{}, err
	}
	o, err := p.v.Inherited(d, "MediaBox")
	if err != nil {
		return [4]float64{}, fmt.Errorf("appearance: page %d /MediaBox: %w", n, err)
	}
	box, ok := numbers(p.v, o)
	if !ok {
		return [4]float64{0, 0, 612, 792}, nil // ISO 32000-1 leaves no default; Letter is what readers assume
	}
	return [4]float64{min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])}, nil
}

func numbers(v *pdf.View, o pdf.Object) ([4]float64, bool) {
	var out [4]float64
	a, err := v.Array(o)
	if err != nil || len(a) != 4 {
		return out, false
	}
	for i, x := range a {
		x, _ = v.Resolve(x, 0)
		f, ok := pdf.Number(x)
		if !ok {
			return out, false
		}
		out[i] = f
	}
	return out, true
}

// candidates is the pages to search: the one asked for, or all from the
// last.
func (p *planner) candidates() []int {
	if p.spec.Page > 0 {
		return []int{p.spec.Page}
	}
	out := make([]int, 0, len(p.pages))
	for n := len(p.pages); n >= 1; n-- {
		out = append(out, n)
	}
	return out
}

// leader finds the name line and the position line above it and centres
// the signature image between them.
func (p *planner) leader() (Rect, error) {
	want := fold(p.spec.Anchor)
	if want == "" {
		return Rect{}, lienthong.Errorf(lienthong.KindInvalid, "chữ ký của người có thẩm quyền cần --anchor (dòng họ tên) hoặc --page và --rect (the leader's signature needs --anchor or --rect)")
	}
	for _, n := range p.candidates() {
		d, err := p.pageDict(n)
		if err != nil {
			return Rect{}, err
		}
		lines, err := PageText(p.v, d)
		if err != nil {
			return Rect{}, fmt.Errorf("appearance: page %d: reading text: %w", n, err)
		}
		for i := len(lines) - 1; i >= 0; i-- {
			name := lines[i]
			if !strings.Contains(fold(name.Text), want) {
				continue
			}
			p.page = n
			bottom := name.Y + 0.8*name.Size + 2
			top := bottom + leaderDefaultH
			best := math.Inf(1)
			for _, l := range lines {
				above := l.Y - name.Y
				if above > name.Size && above <= positionSearch && above < best && l.X1 >= name.X0-50 && l.X0 <= name.X1+50 {
					best = above
					top = l.Y - 0.25*l.Size - 2
				}
			}
			h := top - bottom
			if h < leaderMinH {
				return Rect{}, lienthong.Errorf(lienthong.KindInvalid, "trang %d: giữa dòng chức vụ và dòng họ tên %q chỉ còn %.0f pt, không đủ chỗ cho chữ ký (no room for the signature)", n, p.spec.Anchor, h)
			}
			cx := (name.X0 + name.X1) / 2
			return fit(Rect{cx - leaderMaxWidth/2, bottom, leaderMaxWidth, h}, p.spec.Image), nil
		}
	}
	where := "tài liệu"
	if p.spec.Page > 0 {
		where = fmt.Sprintf("trang %d", p.spec.Page)
	}
	return Rect{}, lienthong.Errorf(lienthong.KindInvalid, "không tìm thấy dòng %q trên %s (anchor text not found; only text in simple fonts is searched — use --page and --rect)", p.spec.Anchor, where)
}

// seal places the seal at its real size over the left third of the last
// visible signature on the page.
func (p *planner) seal() (Rect, error) {
	sw, sh, err := p.spec.Image.realSize()
	if err != nil {
		return Rect{}, err
	}
	for _, n := range p.candidates() {
		d, err := p.pageDict(n)
		if err != nil {
			return Rect{}, err
		}
		lr, ok := p.lastSignatureWidget(d)
		if !ok {
			continue
		}
		p.page = n
		lw := lr[2] - lr[0]
		right := lr[0] + sealShare*lw
		cy := (lr[1] + lr[3]) / 2
		return Rect{right - sw, cy - sh/2, sw, sh}, nil
	}
	return Rect{}, lienthong.Errorf(lienthong.KindInvalid, "không tìm thấy chữ ký hiển thị của người có thẩm quyền để đóng dấu lên (ký --appearance leader trước, hoặc chỉ --page và --rect) (no visible leader signature to place the seal over)")
}

// lastSignatureWidget returns the rectangle of the last signature widget
// with an area in the page's /Annots.
func (p *planner) lastSignatureWidget(page *pdf.Dict) ([4]float64, bool) {
	annots, err := p.v.Array(page.Get("Annots"))
	if err != nil {
		return [4]float64{}, false
	}
	var found [4]float64
	ok := false
	for i, a := range annots {
		if i >= 4096 {
			break
		}
		w, err := p.v.Dict(a)
		if err != nil || w == nil || w.Name("Subtype") != "Widget" {
			continue
		}
		ft := w.Name("FT")
		if ft == "" {
			if parent, err := p.v.Dict(w.Get("Parent")); err == nil && parent != nil {
				ft = parent.Name("FT")
			}
		}
		r, isNum := numbers(p.v, w.Get("Rect"))
		if ft != "Sig" || !isNum {
			continue
		}
		r = [4]float64{min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3])}
		if r[2]-r[0] > 0 && r[3]-r[1] > 0 {
			found, ok = r, true
		}
	}
	return found, ok
}

// copyLines are the text block's lines, in order.
func (p *planner) copyLines() ([]string, error) {
	s := p.spec
	var lines []string
	for _, l := range []string{s.CopyType, s.Agency} {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	num := strings.TrimSpace(s.Number)
	if f := fold(num); !strings.HasPrefix(f, "so:") && !strings.HasPrefix(f, "so ") {
		num = "Số: " + num
	}
	lines = append(lines, num, FormatTime(s.Time))
	for _, l := range lines {
		if _, err := s.Font.NewSubset().Encode(l); err != nil {
			return nil, lienthong.Wrap(lienthong.KindInvalid, err, "khối chữ bản sao")
		}
	}
	return lines, nil
}

// FormatTime is the signing time as the decree shows it: hh:mm:ss
// dd/mm/yyyy and the Vietnam time zone in ISO 8601 form (+07:00).
func FormatTime(t time.Time) string {
	return t.In(lienthong.Zone()).Format("15:04:05 02/01/2006 -07:00")
}

// copyBlock sizes the text block and puts it at the top right of the page.
func (p *planner) copyBlock() (Rect, error) {
	p.page = max(p.spec.Page, 1)
	lines, err := p.copyLines()
	if err != nil {
		return Rect{}, err
	}
	w := 0.0
	for _, l := range lines {
		w = max(w, p.spec.Font.Width(l, copyFontSize))
	}
	w += 2 * copyPad
	h := float64(len(lines))*copyLeading + 2*copyPad
	box, err := p.mediaBox(p.page)
	if err != nil {
		return Rect{}, err
	}
	return Rect{box[2] - copyMarginSide - w, box[3] - copyMarginTop - h, w, h}, nil
}

// imageForm adds the form XObject drawing im over the whole of r.
func imageForm(objs pades.Objects, im *Image, r Rect) pdf.Ref {
	img := im.embed(objs)
	xo := pdf.NewDict()
	xo.Set("Im1", img)
	res := pdf.NewDict()
	res.Set("XObject", xo)
	content := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im1 Do Q\n", pdf.Num(r.W), pdf.Num(r.H))
	return objs.AddStream(form(r, res), []byte(content))
}

// textForm adds the form XObject drawing lines in black at copyFontSize.
func textForm(objs pades.Objects, f *Font, lines []string, r Rect) (pdf.Ref, error) {
	sub := f.NewSubset()
	var b strings.Builder
	b.WriteString("BT 0 g /F1 10 Tf\n")
	y := r.H - copyPad - float64(f.ascent)*copyFontSize/float64(f.unitsPerEm)
	for _, l := range lines {
		codes, err := sub.Encode(l)
		if err != nil {
			return pdf.Ref{}, err
		}
		fmt.Fprintf(&b, "1 0 0 1 %d %s Tm <%X> Tj\n", copyPad, pdf.Num(y), codes)
		y -= copyLeading
	}
	b.WriteString("ET\n")
	font, err := sub.Embed(objs)
	if err != nil {
		return pdf.Ref{}, err
	}
	fonts := pdf.NewDict()
	fonts.Set("F1", font)
	res := pdf.NewDict()
	res.Set("Font", fonts)
	return objs.AddStream(form(r, res), []byte(b.String())), nil
}

func form(r Rect, res *pdf.Dict) *pdf.Dict {
	d := pdf.NewDict()
	d.Set("Type", pdf.Name("XObject"))
	d.Set("Subtype", pdf.Name("Form"))
	d.Set("BBox", pdf.Array{int64(0), int64(0), pdf.Num(r.W), pdf.Num(r.H)})
	d.Set("Resources", res)
	return d
}

// Request is a visible signature as a clerk asks for it (ltnode sign's
// flags, a web form): files by path, the rectangle as text.
type Request struct {
	Kind      string // leader, seal or copy
	ImagePath string // the PNG signature or seal image
	Page      int    // 0: found (see Spec.Page)
	Rect      string // "x,y,w,h" in points; empty: placed as the decree says
	Anchor    string // the full-name line (leader)
	Number    string // number and notation (copy)
	CopyType  string // copy type (copy; empty for an attachment)
	Agency    string // copying agency (copy)
	FontPath  string // the text block's TrueType font; empty: LoadFont's default
}

// PlanFile reads what req names and plans its appearance on the PDF at
// path, signed at at.
func PlanFile(path string, req Request, at time.Time) (*pades.Appearance, error) {
	kind, err := ParseKind(req.Kind)
	if err != nil {
		return nil, err
	}
	spec := Spec{Kind: kind, Page: req.Page, Anchor: req.Anchor, Number: req.Number, CopyType: req.CopyType, Agency: req.Agency, Time: at}
	if req.Rect != "" {
		r, err := ParseRect(req.Rect)
		if err != nil {
			return nil, err
		}
		spec.Rect = &r
	}
	if req.ImagePath != "" {
		data, err := os.ReadFile(req.ImagePath)
		if err != nil {
			return nil, lienthong.Wrap(lienthong.KindInvalid, err, "đọc ảnh %s", req.ImagePath)
		}
		if spec.Image, err = DecodePNG(data); err != nil {
			return nil, err
		}
	}
	if kind == Copy {
		if spec.Font, err = LoadFont(req.FontPath); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("appearance: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("appearance: %w", err)
	}
	return Plan(f, st.Size(), spec)
}
