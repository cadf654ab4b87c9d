package appearance

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/signing/pdf"
)

func loadFont(t *testing.T) *Font {
	t.Helper()
	f, err := LoadFont("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v", err)
	}
	return f
}

// TestSubsetFont: the subset font program keeps every glyph id, the
// outlines of the glyphs used and of the components of composite ones
// (Vietnamese letters are base letter plus marks), drops every other
// outline, and is itself a valid TrueType file (checksums included).
func TestSubsetFont(t *testing.T) {
	f := loadFont(t)
	sub := f.NewSubset()
	text := "Sao y bản chính Sở Nội vụ ệ ữ 14:05:09 +07:00"
	if _, err := sub.Encode(text); err != nil {
		t.Fatal(err)
	}
	prog := sub.fontFile()
	g, err := parseSFNT(prog)
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	if g.numGlyphs != f.numGlyphs {
		t.Fatalf("subset has %d glyphs, the font %d: glyph ids must be kept", g.numGlyphs, f.numGlyphs)
	}
	if sum := checksum(prog); sum != 0xB1B0AFBA {
		t.Errorf("whole-font checksum %#x, want 0xB1B0AFBA", sum)
	}
	keep := make(map[int]bool)
	for _, k := range sub.glyphs() {
		keep[k] = true
	}
	composites := 0
	for _, r := range text {
		gid, _ := f.Glyph(r)
		s, e, _ := f.glyphRange(int(gid))
		if e-s >= 10 && int16(binary.BigEndian.Uint16(f.tables["glyf"][s:])) < 0 {
			composites++
			for _, c := range components(f, int(gid)) {
				if !keep[c] {
					t.Errorf("%q (glyph %d) is composite, its component %d is not kept", r, gid, c)
				}
			}
		}
	}
	if composites == 0 {
		t.Fatalf("no composite glyph in %q: the test does not exercise components", text)
	}
	for gid := 0; gid < f.numGlyphs; gid++ {
		s0, e0, _ := f.glyphRange(gid)
		s1, e1, _ := g.glyphRange(gid)
		switch {
		case keep[gid] && !bytes.Equal(bytes.TrimRight(g.tables["glyf"][s1:e1], "\x00"), bytes.TrimRight(f.tables["glyf"][s0:e0], "\x00")):
			t.Errorf("glyph %d: outline changed", gid)
		case !keep[gid] && e1 != s1:
			t.Errorf("glyph %d: not used but kept (%d bytes)", gid, e1-s1)
		}
	}
	if len(prog) > len(f.data)/4 {
		t.Errorf("subset is %d bytes, the font %d: not much of a subset", len(prog), len(f.data))
	}
	t.Logf("subset %d bytes (deflated %d) of a %d-byte font, %d glyphs kept", len(prog), len(deflate(prog)), len(f.data), len(keep))
}

// components lists a composite glyph's direct components.
func components(f *Font, gid int) []int {
	s, e, _ := f.glyphRange(gid)
	r := &be{b: f.tables["glyf"]}
	var out []int
	for p := s + 10; p+4 <= e; {
		flags := r.u16(p)
		out = append(out, r.u16(p+2))
		p += 4 + map[bool]int{true: 4, false: 2}[flags&1 != 0]
		switch {
		case flags&0x08 != 0:
			p += 2
		case flags&0x40 != 0:
			p += 4
		case flags&0x80 != 0:
			p += 8
		}
		if flags&0x20 == 0 {
			break
		}
	}
	return out
}

// TestEncodeAndToUnicode: text becomes 2-byte glyph ids, the ToUnicode
// CMap maps them back, and a character the font lacks is an error.
func TestEncodeAndToUnicode(t *testing.T) {
	f := loadFont(t)
	sub := f.NewSubset()
	codes, err := sub.Encode("Số")
	if err != nil {
		t.Fatal(err)
	}
	gS, _ := f.Glyph('S')
	gO, _ := f.Glyph('ố')
	if want := []byte{byte(gS >> 8), byte(gS), byte(gO >> 8), byte(gO)}; !bytes.Equal(codes, want) {
		t.Errorf("Encode = %x, want %x", codes, want)
	}
	cmap := string(sub.toUnicode([]int{int(gS), int(gO)}))
	for _, want := range []string{"<0000> <FFFF>", "2 beginbfchar"} {
		if !strings.Contains(cmap, want) {
			t.Errorf("ToUnicode lacks %q:\n%s", want, cmap)
		}
	}
	if !strings.Contains(cmap, strings.ToUpper(string([]byte("<"+hex4(int(gO))+"> <1ED1>")))) {
		t.Errorf("ToUnicode does not map glyph %d to U+1ED1 (ố):\n%s", gO, cmap)
	}
	if _, err := sub.Encode("Hà Nội 中"); err == nil || !strings.Contains(err.Error(), "không có ký tự '中'") {
		t.Errorf("a character the font lacks: %v", err)
	}
	if w := f.Width("Số: 15", 10); math.Abs(w-f.Width("So: 15", 10)) > 0.01 {
		t.Errorf("'ố' and 'o' should be as wide in a Times-metric font: %.2f", w)
	}
}

func hex4(v int) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12&15], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

// TestParseFontRejects: what is not a TrueType outline font is refused.
func TestParseFontRejects(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":      nil,
		"CFF (OTTO)": []byte("OTTO\x00\x00"),
		"truncated":  {0, 1, 0, 0, 0, 9},
	} {
		if _, err := ParseFont(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := LoadFont("/nonexistent/font.ttf"); err == nil {
		t.Error("a missing --font file: no error")
	}
}

// TestTextLines: the text operators the extraction follows.
func TestTextLines(t *testing.T) {
	helv := &fontInfo{codeLen: 1, widths: map[int]float64{}, missing: 500}
	for i, w := range helveticaWidths {
		helv.widths[32+i] = float64(w)
	}
	fonts := map[pdf.Name]*fontInfo{"F1": helv, "F2": {codeLen: 2, widths: map[int]float64{1: 600}, missing: 1000, toUni: map[int]string{1: "Ấ", 2: "n"}}}
	content := `% a comment
/P <</MCID 0 /Alt (x\)y)>> BDC
BT /F1 10 Tf 100 700 Td (Ch\341 T\\ich) Tj ET
EMC
q 2 0 0 2 50 50 cm BT /F1 10 Tf 1 0 0 1 10 20 Tm [(Nguy) -250 (en)] TJ ET Q
BI /W 2 /H 1 /BPC 8 /CS /G ID xx EI
BT /F1 12 Tf 14 TL 72 500 Td (line one) Tj T* (line two) ' <4142> Tj ET
BT /F2 12 Tf 72 400 Td <00010002> Tj ET
`
	got := textLines([]byte(content), fonts)
	want := []TextLine{
		{Text: "Chá T\\ich", X0: 100, Y: 700, Size: 10},
		{Text: "Nguy en", X0: 70, Y: 90, Size: 20},
		{Text: "line one", X0: 72, Y: 500, Size: 12},
		{Text: "line twoAB", X0: 72, Y: 472, Size: 12}, // T*, then ' moves down again; AB continues the line
		{Text: "Ấn", X0: 72, Y: 400, Size: 12},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Text != w.Text || math.Abs(g.X0-w.X0) > 0.01 || math.Abs(g.Y-w.Y) > 0.01 || math.Abs(g.Size-w.Size) > 0.01 {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
	if w := got[2].X1 - got[2].X0; math.Abs(w-helvWidth("line one")*12/1000) > 0.01 {
		t.Errorf("width of %q = %.2f", got[2].Text, w)
	}
	if w := got[4].X1 - got[4].X0; math.Abs(w-(600+1000)*12/1000.0) > 0.01 {
		t.Errorf("width of %q = %.2f, want /W for code 1 and /DW for code 2", got[4].Text, w)
	}
}

// TestParseToUnicode: bfchar, bfrange with a start value (incremented)
// and with an array of values, and UTF-16 surrogate pairs.
func TestParseToUnicode(t *testing.T) {
	cmap := `/CIDInit /ProcSet findresource begin 12 dict begin begincmap
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0003> <0020> <0010> <1EC5> endbfchar
2 beginbfrange <0020> <0022> <0041> <0030> <0031> [<00E2> <D83DDE00>] endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end`
	got := parseToUnicode([]byte(cmap))
	want := map[int]string{3: " ", 0x10: "ễ", 0x20: "A", 0x21: "B", 0x22: "C", 0x30: "â", 0x31: "😀"}
	if len(got) != len(want) {
		t.Errorf("got %d mappings %v, want %d", len(got), got, len(want))
	}
	for c, w := range want {
		if got[c] != w {
			t.Errorf("code %#x → %q, want %q", c, got[c], w)
		}
	}
}

func helvWidth(s string) float64 {
	w := 0
	for _, c := range s {
		w += helveticaWidths[c-32]
	}
	return float64(w)
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"  Nguyễn   Văn An ": "nguyen van an",
		"ĐỖ THỊ HỒNG":        "do thi hong",
		"Trần\tThị\nBình":    "tran thi binh",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPNG: the resolution round-trips through WithDPI; oversized and
// broken images are refused before decoding.
func TestPNG(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 4, 2))); err != nil {
		t.Fatal(err)
	}
	im, err := DecodePNG(b.Bytes())
	if err != nil || im.DPI != 0 {
		t.Fatalf("no pHYs: DPI %v, %v", im.DPI, err)
	}
	withDPI, err := WithDPI(b.Bytes(), 300)
	if err != nil {
		t.Fatal(err)
	}
	im, err = DecodePNG(withDPI)
	if err != nil || math.Abs(im.DPI-300) > 0.1 {
		t.Fatalf("pHYs 300 dpi: DPI %v, %v", im.DPI, err)
	}
	if w, h, _ := im.realSize(); math.Abs(w-4*72.0/300) > 0.01 || math.Abs(h-2*72.0/300) > 0.01 {
		t.Errorf("real size %.3f×%.3f pt", w, h)
	}
	huge := append([]byte(nil), b.Bytes()...)
	binary.BigEndian.PutUint32(huge[16:], 5000)
	binary.BigEndian.PutUint32(huge[20:], 5000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	if _, err := DecodePNG(huge); err == nil || !strings.Contains(err.Error(), "quá lớn") {
		t.Errorf("5000×5000: %v", err)
	}
	if _, err := DecodePNG([]byte("GIF89a")); err == nil || !strings.Contains(err.Error(), "không phải PNG") {
		t.Errorf("a GIF: %v", err)
	}
}
