package appearance

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"unicode/utf16"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf"
)

// FontPaths returns where LoadFont looks for the text block's font:
// Liberation Serif (SIL Open Font License 1.1, which allows embedding;
// metrically compatible with Times New Roman, with the Vietnamese letters)
// as Debian's fonts-liberation2 and fonts-liberation install it.
func FontPaths() []string {
	return []string{
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
	}
}

// ErrNoFont is returned by LoadFont when no font file is found.
var ErrNoFont = errors.New("appearance: không tìm thấy phông chữ Liberation Serif, cài gói fonts-liberation2 hoặc chỉ đường dẫn phông (font not found: install Debian package fonts-liberation2)")

// LoadFont reads and parses the TrueType font at path, or, when path is
// empty, the first of FontPaths() that exists.
func LoadFont(path string) (*Font, error) {
	paths := FontPaths()
	if path != "" {
		paths = []string{path}
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && path == "" {
			continue
		}
		if err != nil {
			return nil, lienthong.Wrap(lienthong.KindInvalid, err, "không đọc được phông chữ %s (reading the font)", p)
		}
		f, err := ParseFont(data)
		if err != nil {
			return nil, lienthong.Wrap(lienthong.KindInvalid, err, "%s không phải phông TrueType dùng được (not a usable TrueType font)", p)
		}
		return f, nil
	}
	return nil, ErrNoFont
}

// Font is a parsed TrueType font (glyf outlines): enough to measure text,
// map it to glyphs and embed a subset.
type Font struct {
	data       []byte
	tables     map[string][]byte
	unitsPerEm int
	bbox       [4]int // xMin, yMin, xMax, yMax
	ascent     int
	descent    int
	capHeight  int
	numGlyphs  int
	longLoca   bool
	advances   []uint16 // by glyph, all numGlyphs
	cmap       map[rune]uint16
	psName     string
}

// be is big-endian reading with bounds checks folded into one error.
type be struct {
	b   []byte
	bad bool
}

func (r *be) u16(off int) int {
	if off < 0 || off+2 > len(r.b) {
		r.bad = true
		return 0
	}
	return int(binary.BigEndian.Uint16(r.b[off:]))
}

func (r *be) i16(off int) int { return int(int16(r.u16(off))) }

func (r *be) u32(off int) int {
	if off < 0 || off+4 > len(r.b) {
		r.bad = true
		return 0
	}
	return int(binary.BigEndian.Uint32(r.b[off:]))
}

var errFont = errors.New("not a usable TrueType font")

// maxCmapRunes bounds the characters a cmap may map (Unicode has fewer).
const maxCmapRunes = 0x110000

// ParseFont parses a TrueType font file (not a collection, not CFF).
func ParseFont(data []byte) (*Font, error) {
	f, err := parseSFNT(data)
	if err != nil {
		return nil, err
	}
	if f.tables["cmap"] == nil {
		return nil, fmt.Errorf("%w: no \"cmap\" table", errFont)
	}
	if f.cmap, err = parseCmap(f.tables["cmap"], f.numGlyphs); err != nil {
		return nil, err
	}
	f.psName = postScriptName(f.tables["name"])
	return f, nil
}

// parseSFNT reads the table directory and the metrics: what a font
// program embedded in a PDF (no cmap needed) has.
func parseSFNT(data []byte) (*Font, error) {
	r := &be{b: data}
	if v := r.u32(0); v != 0x00010000 && v != 0x74727565 { // 1.0 or 'true'
		return nil, fmt.Errorf("%w: not a TrueType outline font", errFont)
	}
	f := &Font{data: data, tables: make(map[string][]byte)}
	n := r.u16(4)
	for i := 0; i < n; i++ {
		rec := 12 + 16*i
		tag := string(data[min(rec, len(data)):min(rec+4, len(data))])
		off, length := r.u32(rec+8), r.u32(rec+12)
		if r.bad || off+length > len(data) || off+length < off {
			return nil, fmt.Errorf("%w: table %q out of bounds", errFont, tag)
		}
		f.tables[tag] = data[off : off+length]
	}
	for _, t := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf"} {
		if f.tables[t] == nil {
			return nil, fmt.Errorf("%w: no %q table", errFont, t)
		}
	}
	head := &be{b: f.tables["head"]}
	f.unitsPerEm = head.u16(18)
	f.bbox = [4]int{head.i16(36), head.i16(38), head.i16(40), head.i16(42)}
	f.longLoca = head.i16(50) == 1
	hhea := &be{b: f.tables["hhea"]}
	f.ascent, f.descent = hhea.i16(4), hhea.i16(6)
	nh := hhea.u16(34)
	f.numGlyphs = (&be{b: f.tables["maxp"]}).u16(4)
	f.capHeight = f.ascent * 7 / 10
	if os2 := f.tables["OS/2"]; len(os2) >= 90 && (&be{b: os2}).u16(0) >= 2 {
		f.capHeight = (&be{b: os2}).i16(88)
	}
	if head.bad || hhea.bad || f.unitsPerEm == 0 || nh == 0 || nh > f.numGlyphs {
		return nil, fmt.Errorf("%w: bad head/hhea/maxp", errFont)
	}
	hmtx := &be{b: f.tables["hmtx"]}
	f.advances = make([]uint16, f.numGlyphs)
	for g := 0; g < f.numGlyphs; g++ {
		f.advances[g] = uint16(hmtx.u16(4 * min(g, nh-1)))
	}
	if hmtx.bad {
		return nil, fmt.Errorf("%w: short hmtx", errFont)
	}
	if _, _, ok := f.glyphRange(f.numGlyphs - 1); !ok {
		return nil, fmt.Errorf("%w: short loca", errFont)
	}
	return f, nil
}

// parseCmap reads the Unicode mapping: a (3,10) format 12 subtable, else
// a (3,1) or (0,x) format 4 one.
func parseCmap(t []byte, numGlyphs int) (map[rune]uint16, error) {
	r := &be{b: t}
	var off4, off12 int
	for i := 0; i < r.u16(2); i++ {
		rec := 4 + 8*i
		pid, eid, off := r.u16(rec), r.u16(rec+2), r.u32(rec+4)
		switch f := r.u16(off); {
		case f == 12 && (pid == 3 && eid == 10 || pid == 0):
			off12 = off
		case f == 4 && (pid == 3 && eid == 1 || pid == 0):
			off4 = off
		}
	}
	m := make(map[rune]uint16)
	add := func(c rune, g int) {
		if g > 0 && g < numGlyphs {
			m[c] = uint16(g)
		}
	}
	switch {
	case off12 > 0:
		n := r.u32(off12 + 12)
		for i := 0; i < n && !r.bad; i++ {
			g := off12 + 16 + 12*i
			start, end, gid := r.u32(g), r.u32(g+4), r.u32(g+8)
			if end-start > 0x10FFFF {
				break
			}
			for c := start; c <= end && len(m) < maxCmapRunes; c++ {
				add(rune(c), gid+c-start)
			}
		}
	case off4 > 0:
		segs := r.u16(off4+6) / 2
		ends, starts := off4+14, off4+16+2*segs
		deltas, ranges := starts+2*segs, starts+4*segs
		for s := 0; s < segs && !r.bad; s++ {
			start, end := r.u16(starts+2*s), r.u16(ends+2*s)
			delta, ro := r.u16(deltas+2*s), r.u16(ranges+2*s)
			for c := start; c <= end && c != 0xFFFF; c++ {
				g := 0
				if ro == 0 {
					g = (c + delta) & 0xFFFF
				} else if g = r.u16(ranges + 2*s + ro + 2*(c-start)); g != 0 {
					g = (g + delta) & 0xFFFF
				}
				add(rune(c), g)
			}
		}
	default:
		return nil, fmt.Errorf("%w: no Unicode cmap", errFont)
	}
	if r.bad {
		return nil, fmt.Errorf("%w: truncated cmap", errFont)
	}
	return m, nil
}

// postScriptName reads name ID 6 (Windows UTF-16 or Macintosh Roman).
func postScriptName(t []byte) string {
	r := &be{b: t}
	strOff := r.u16(4)
	for i := 0; i < r.u16(2) && !r.bad; i++ {
		rec := 6 + 12*i
		pid, nid, length, off := r.u16(rec), r.u16(rec+6), r.u16(rec+8), r.u16(rec+10)
		start := strOff + off
		if nid != 6 || start+length > len(t) {
			continue
		}
		s := t[start : start+length]
		if pid == 3 || pid == 0 {
			u := make([]uint16, len(s)/2)
			for j := range u {
				u[j] = binary.BigEndian.Uint16(s[2*j:])
			}
			return string(utf16.Decode(u))
		}
		return string(s)
	}
	return "Font"
}

// glyphRange is where glyph g's outline lies in glyf.
func (f *Font) glyphRange(g int) (start, end int, ok bool) {
	r := &be{b: f.tables["loca"]}
	if f.longLoca {
		start, end = r.u32(4*g), r.u32(4*g+4)
	} else {
		start, end = 2*r.u16(2*g), 2*r.u16(2*g+2)
	}
	return start, end, !r.bad && start <= end && end <= len(f.tables["glyf"])
}

// Glyph returns the glyph for c, and whether the font has one.
func (f *Font) Glyph(c rune) (uint16, bool) {
	g, ok := f.cmap[c]
	return g, ok
}

// Width returns the advance width of s at size (points), unkerned.
func (f *Font) Width(s string, size float64) float64 {
	w := 0
	for _, c := range s {
		g, _ := f.Glyph(c)
		w += int(f.advances[g])
	}
	return float64(w) * size / float64(f.unitsPerEm)
}

// Subset is the part of a font a text block uses, ready to embed.
type Subset struct {
	f     *Font
	runes map[uint16]rune // glyph → the character it shows
}

// NewSubset starts an empty subset of f.
func (f *Font) NewSubset() *Subset { return &Subset{f: f, runes: make(map[uint16]rune)} }

// Encode returns s as the 2-byte glyph codes of an Identity-H font and
// records its glyphs in the subset. A character the font lacks is an
// error, not a silent .notdef box.
func (s *Subset) Encode(text string) ([]byte, error) {
	out := make([]byte, 0, 2*len(text))
	for _, c := range text {
		g, ok := s.f.Glyph(c)
		if !ok {
			return nil, fmt.Errorf("appearance: phông %s không có ký tự %q (U+%04X) (font lacks the character)", s.f.psName, c, c)
		}
		if _, seen := s.runes[g]; !seen {
			s.runes[g] = c
		}
		out = binary.BigEndian.AppendUint16(out, g)
	}
	return out, nil
}

// glyphs returns the subset's glyphs with the components of composite
// glyphs, and .notdef, in increasing order.
func (s *Subset) glyphs() []int {
	keep := map[int]bool{0: true}
	var todo []int
	for g := range s.runes {
		todo = append(todo, int(g))
	}
	glyf := &be{b: s.f.tables["glyf"]}
	for len(todo) > 0 && len(keep) <= s.f.numGlyphs {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if keep[g] {
			continue
		}
		keep[g] = true
		start, end, ok := s.f.glyphRange(g)
		if !ok || end-start < 10 || glyf.i16(start) >= 0 {
			continue // empty or simple glyph
		}
		// A composite glyph: walk its component records (OpenType glyf,
		// "Composite glyph description").
		const words, scale, more, xyScale, twoByTwo = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080
		p := start + 10
		for p+4 <= end {
			flags, comp := glyf.u16(p), glyf.u16(p+2)
			if comp < s.f.numGlyphs && !keep[comp] {
				todo = append(todo, comp)
			}
			p += 4
			if flags&words != 0 {
				p += 4
			} else {
				p += 2
			}
			switch {
			case flags&scale != 0:
				p += 2
			case flags&xyScale != 0:
				p += 4
			case flags&twoByTwo != 0:
				p += 8
			}
			if flags&more == 0 {
				break
			}
		}
	}
	out := make([]int, 0, len(keep))
	for g := range keep {
		out = append(out, g)
	}
	sort.Ints(out)
	return out
}

// fontFile returns the subset font program: every glyph id kept (so the
// CIDs of an Identity CIDToGIDMap stay the font's glyph ids), the outlines
// of the glyphs not used dropped (empty), and only the tables a PDF
// TrueType font program needs (ISO 32000-1, 9.9): cvt, fpgm, glyf, head,
// hhea, hmtx, loca, maxp, prep.
func (s *Subset) fontFile() []byte {
	f := s.f
	glyfIn := f.tables["glyf"]
	var glyf []byte
	loca := make([]byte, 0, 4*(f.numGlyphs+1))
	used := s.glyphs()
	ui := 0
	for g := 0; g < f.numGlyphs; g++ {
		loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
		if ui < len(used) && used[ui] == g {
			ui++
			if start, end, ok := f.glyphRange(g); ok {
				glyf = append(glyf, glyfIn[start:end]...)
				for len(glyf)%4 != 0 {
					glyf = append(glyf, 0)
				}
			}
		}
	}
	loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
	head := append([]byte(nil), f.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // indexToLocFormat: long
	tables := map[string][]byte{"glyf": glyf, "head": head, "hhea": f.tables["hhea"], "hmtx": f.tables["hmtx"], "loca": loca, "maxp": f.tables["maxp"]}
	for _, t := range []string{"cvt ", "fpgm", "prep"} {
		if f.tables[t] != nil {
			tables[t] = f.tables[t]
		}
	}
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es := int(math.Floor(math.Log2(float64(n))))
	sr := (1 << es) * 16
	var out bytes.Buffer
	out.Write([]byte{0, 1, 0, 0})
	for _, v := range []int{n, sr, es, n*16 - sr} {
		out.Write(binary.BigEndian.AppendUint16(nil, uint16(v)))
	}
	off := 12 + 16*n
	headAt := 0
	for _, t := range tags {
		d := tables[t]
		out.WriteString(t)
		out.Write(binary.BigEndian.AppendUint32(nil, checksum(d)))
		out.Write(binary.BigEndian.AppendUint32(nil, uint32(off)))
		out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(d))))
		if t == "head" {
			headAt = off
		}
		off += (len(d) + 3) &^ 3
	}
	for _, t := range tags {
		out.Write(tables[t])
		for out.Len()%4 != 0 {
			out.WriteByte(0)
		}
	}
	b := out.Bytes()
	binary.BigEndian.PutUint32(b[headAt+8:], 0xB1B0AFBA-checksum(b))
	return b
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// Embed adds the subset font to the update: a Type0 font with Identity-H
// encoding over a CIDFontType2 whose CIDs are glyph ids, the subset
// program as FontFile2, its widths, and a ToUnicode CMap so that text
// extraction reads the Vietnamese letters back.
func (s *Subset) Embed(objs pades.Objects) (pdf.Ref, error) {
	f := s.f
	program := s.fontFile()
	ff := pdf.NewDict()
	ff.Set("Length1", int64(len(program)))
	ff.Set("Filter", pdf.Name("FlateDecode"))
	ffRef := objs.AddStream(ff, deflate(program))

	gids := make([]int, 0, len(s.runes))
	for g := range s.runes {
		gids = append(gids, int(g))
	}
	sort.Ints(gids)
	h := sha256.New()
	for _, g := range gids {
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(g)))
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	name := pdf.Name(string(tag) + "+" + f.psName)
	scale := func(v int) int64 { return int64(math.Round(float64(v) * 1000 / float64(f.unitsPerEm))) }

	fd := pdf.NewDict()
	fd.Set("Type", pdf.Name("FontDescriptor"))
	fd.Set("FontName", name)
	fd.Set("Flags", int64(34)) // Serif, Nonsymbolic
	fd.Set("FontBBox", pdf.Array{scale(f.bbox[0]), scale(f.bbox[1]), scale(f.bbox[2]), scale(f.bbox[3])})
	fd.Set("ItalicAngle", int64(0))
	fd.Set("Ascent", scale(f.ascent))
	fd.Set("Descent", scale(f.descent))
	fd.Set("CapHeight", scale(f.capHeight))
	fd.Set("StemV", int64(80))
	fd.Set("FontFile2", ffRef)
	fdRef := objs.Add(fd)

	var w pdf.Array
	for _, g := range gids {
		w = append(w, int64(g), pdf.Array{scale(int(f.advances[g]))})
	}
	csi := pdf.NewDict()
	csi.Set("Registry", pdf.TextString("Adobe"))
	csi.Set("Ordering", pdf.TextString("Identity"))
	csi.Set("Supplement", int64(0))
	cid := pdf.NewDict()
	cid.Set("Type", pdf.Name("Font"))
	cid.Set("Subtype", pdf.Name("CIDFontType2"))
	cid.Set("BaseFont", name)
	cid.Set("CIDSystemInfo", csi)
	cid.Set("FontDescriptor", fdRef)
	cid.Set("DW", scale(int(f.advances[0])))
	cid.Set("W", w)
	cid.Set("CIDToGIDMap", pdf.Name("Identity"))
	cidRef := objs.Add(cid)

	tu := pdf.NewDict()
	tu.Set("Filter", pdf.Name("FlateDecode"))
	tuRef := objs.AddStream(tu, deflate(s.toUnicode(gids)))

	font := pdf.NewDict()
	font.Set("Type", pdf.Name("Font"))
	font.Set("Subtype", pdf.Name("Type0"))
	font.Set("BaseFont", name)
	font.Set("Encoding", pdf.Name("Identity-H"))
	font.Set("DescendantFonts", pdf.Array{cidRef})
	font.Set("ToUnicode", tuRef)
	return objs.Add(font), nil
}

// toUnicode is the CMap mapping each used glyph code to its character.
func (s *Subset) toUnicode(gids []int) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		chunk := gids[i:min(i+100, len(gids))]
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X> <", g)
			for _, u := range utf16.Encode([]rune{s.runes[uint16(g)]}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	w, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	w.Write(b)
	w.Close()
	return out.Bytes()
}
