package appearance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/lienthong/lienthong/signing/pdf"
)

// TextLine is a line of text found on a page: its text and where it lies,
// in the page's default user space (points).
type TextLine struct {
	Text   string
	X0, X1 float64 // left and right ends of the baseline
	Y      float64 // baseline
	Size   float64 // font size
}

// Limits of text extraction, against hostile content streams.
const (
	maxContentTokens = 1 << 21
	maxTextLines     = 1 << 14
	maxStackDepth    = 64
)

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]
}

// fontInfo is what text extraction needs of a font: how long its codes
// are, their widths (thousandths of an em) and the text they stand for.
type fontInfo struct {
	codeLen int // 1 for simple fonts, 2 for Type0 fonts with Identity-H/V
	widths  map[int]float64
	missing float64
	// toUni maps codes to text (/ToUnicode); nil decodes a simple font's
	// codes as Latin-1 (WinAnsi agrees on the letters).
	toUni map[int]string
}

// maxCMapEntries bounds what a ToUnicode CMap or /W array may define.
const maxCMapEntries = 1 << 16

// decode returns the text codes b stand for and their total width.
func (f *fontInfo) decode(b []byte) (string, float64) {
	var text strings.Builder
	w := 0.0
	for i := 0; i+f.codeLen <= len(b); i += f.codeLen {
		code := int(b[i])
		if f.codeLen == 2 {
			code = code<<8 | int(b[i+1])
		}
		switch u, ok := f.toUni[code]; {
		case ok:
			text.WriteString(u)
		case f.toUni == nil && f.codeLen == 1:
			text.WriteRune(rune(code))
		default:
			text.WriteRune(unicode.ReplacementChar)
		}
		if cw, ok := f.widths[code]; ok {
			w += cw
		} else {
			w += f.missing
		}
	}
	return text.String(), w
}

// pageFonts reads the /Font resources of a page: simple fonts, and Type0
// fonts with a two-byte Identity encoding and a ToUnicode CMap.
func pageFonts(v *pdf.View, page *pdf.Dict) map[pdf.Name]*fontInfo {
	out := make(map[pdf.Name]*fontInfo)
	res, _ := v.Inherited(page, "Resources")
	rd, _ := v.Dict(res)
	fonts, _ := v.Dict(rd.Get("Font"))
	if fonts == nil {
		return out
	}
	for _, k := range fonts.Keys() {
		fd, err := v.Dict(fonts.Get(k))
		if err != nil || fd == nil {
			continue
		}
		if fi := readFont(v, fd); fi != nil {
			out[k] = fi
		}
	}
	return out
}

func readFont(v *pdf.View, fd *pdf.Dict) *fontInfo {
	fi := &fontInfo{codeLen: 1, widths: make(map[int]float64), missing: 500}
	if fd.Name("Subtype") == "Type0" {
		if enc := fd.Name("Encoding"); enc != "Identity-H" && enc != "Identity-V" {
			return nil
		}
		fi.codeLen, fi.missing = 2, 1000
		ds, _ := v.Array(fd.Get("DescendantFonts"))
		if len(ds) == 0 {
			return nil
		}
		cid, _ := v.Dict(ds[0])
		if dw, ok := pdf.Number(resolve(v, cid.Get("DW"))); ok {
			fi.missing = dw
		}
		cidWidths(v, cid.Get("W"), fi.widths)
	} else {
		first, _ := v.Resolve(fd.Get("FirstChar"), 0)
		ws, _ := v.Array(fd.Get("Widths"))
		if fc, ok := first.(int64); ok && ws != nil {
			for i, w := range ws {
				if f, ok := pdf.Number(resolve(v, w)); ok && i < 256 {
					fi.widths[int(fc)+i] = f
				}
			}
		} else if strings.HasPrefix(string(fd.Name("BaseFont")), "Helvetica") {
			for i, w := range helveticaWidths {
				fi.widths[32+i] = float64(w)
			}
		}
	}
	if o, err := v.Resolve(fd.Get("ToUnicode"), 0); err == nil {
		if st, ok := o.(*pdf.Stream); ok {
			if data, err := v.Doc.StreamData(st, v); err == nil {
				fi.toUni = parseToUnicode(data)
			}
		}
	}
	if fi.codeLen == 2 && fi.toUni == nil {
		return nil // glyph ids alone say nothing about the text
	}
	return fi
}

func resolve(v *pdf.View, o pdf.Object) pdf.Object {
	o, _ = v.Resolve(o, 0)
	return o
}

// cidWidths reads a CIDFont's /W array: "c [w1 w2 ...]" and "c1 c2 w".
func cidWidths(v *pdf.View, o pdf.Object, out map[int]float64) {
	a, _ := v.Array(o)
	for i := 0; i < len(a) && len(out) < maxCMapEntries; {
		c, ok := pdf.Number(resolve(v, a[i]))
		if !ok || i+1 >= len(a) {
			return
		}
		if ws, isArr := resolve(v, a[i+1]).(pdf.Array); isArr {
			for j, w := range ws {
				if f, ok := pdf.Number(resolve(v, w)); ok && len(out) < maxCMapEntries {
					out[int(c)+j] = f
				}
			}
			i += 2
			continue
		}
		if i+2 >= len(a) {
			return
		}
		last, ok1 := pdf.Number(resolve(v, a[i+1]))
		w, ok2 := pdf.Number(resolve(v, a[i+2]))
		if !ok1 || !ok2 || last < c || last-c > maxCMapEntries {
			return
		}
		for x := int(c); x <= int(last) && len(out) < maxCMapEntries; x++ {
			out[x] = w
		}
		i += 3
	}
}

// parseToUnicode reads the bfchar and bfrange mappings of a ToUnicode CMap.
func parseToUnicode(data []byte) map[int]string {
	m := make(map[int]string)
	lex := contentLexer{b: data}
	var ops []any
	code := func(b []byte) int {
		c := 0
		for _, x := range b[:min(len(b), 4)] {
			c = c<<8 | int(x)
		}
		return c
	}
	for n := 0; n < maxContentTokens && len(m) < maxCMapEntries; n++ {
		tok, ok := lex.next()
		if !ok {
			break
		}
		op, isOp := tok.(opToken)
		if !isOp {
			if len(ops) < 3*maxCMapEntries {
				ops = append(ops, tok)
			}
			continue
		}
		switch op {
		case "endbfchar":
			for i := 0; i+1 < len(ops); i += 2 {
				src, ok1 := ops[i].([]byte)
				dst, ok2 := ops[i+1].([]byte)
				if ok1 && ok2 {
					m[code(src)] = utf16BE(dst)
				}
			}
		case "endbfrange":
			for i := 0; i+2 < len(ops); i += 3 {
				lo, ok1 := ops[i].([]byte)
				hi, ok2 := ops[i+1].([]byte)
				if !ok1 || !ok2 || code(hi) < code(lo) || code(hi)-code(lo) > maxCMapEntries {
					continue
				}
				switch dst := ops[i+2].(type) {
				case []byte:
					for c := code(lo); c <= code(hi) && len(m) < maxCMapEntries && len(dst) >= 2; c++ {
						d := append([]byte(nil), dst...)
						off := c - code(lo)
						v := int(d[len(d)-2])<<8 | int(d[len(d)-1]) + off
						d[len(d)-2], d[len(d)-1] = byte(v>>8), byte(v)
						m[c] = utf16BE(d)
					}
				case []any:
					for j, x := range dst {
						if b, ok := x.([]byte); ok && code(lo)+j <= code(hi) {
							m[code(lo)+j] = utf16BE(b)
						}
					}
				}
			}
		}
		ops = ops[:0]
	}
	return m
}

func utf16BE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

// helveticaWidths are Helvetica's widths for codes 32 to 126 (its AFM),
// for the standard font the project's PDFs use without /Widths.
var helveticaWidths = [...]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
}

// PageText extracts the lines of text a page's content stream draws: with
// simple fonts (codes read through /ToUnicode when present, else as
// Latin-1, which is what the documents this project makes need), and with
// Type0 fonts of Identity-H/V encoding that have a /ToUnicode CMap (what
// office suites write). Text in form XObjects, in other CJK encodings, or
// drawn one glyph per operator in scattered order is not found; character
// and word spacing and /Rotate are ignored.
func PageText(v *pdf.View, page *pdf.Dict) ([]TextLine, error) {
	data, err := pageContent(v, page)
	if err != nil {
		return nil, err
	}
	return textLines(data, pageFonts(v, page)), nil
}

// textLines runs a content stream's text operators.
func textLines(data []byte, fonts map[pdf.Name]*fontInfo) []TextLine {
	st := &textState{fonts: fonts, ctm: identity}
	lex := contentLexer{b: data}
	var operands []any
	for n := 0; n < maxContentTokens; n++ {
		tok, ok := lex.next()
		if !ok {
			break
		}
		op, isOp := tok.(opToken)
		if !isOp {
			if len(operands) < 64 {
				operands = append(operands, tok)
			}
			continue
		}
		if op == "BI" {
			lex.skipInlineImage()
		}
		st.do(string(op), operands)
		operands = operands[:0]
		if len(st.lines) >= maxTextLines {
			break
		}
	}
	return st.lines
}

// pageContent returns the page's decoded content (its streams joined).
func pageContent(v *pdf.View, page *pdf.Dict) ([]byte, error) {
	c, err := v.Resolve(page.Get("Contents"), 0)
	if err != nil {
		return nil, err
	}
	items := pdf.Array{page.Get("Contents")}
	if a, ok := c.(pdf.Array); ok {
		items = a
	}
	var out []byte
	for _, it := range items {
		o, err := v.Resolve(it, 0)
		if err != nil {
			return nil, err
		}
		st, ok := o.(*pdf.Stream)
		if !ok {
			continue
		}
		d, err := v.Doc.StreamData(st, v)
		if err != nil {
			return nil, err
		}
		if len(out)+len(d) > pdf.MaxStreamLen {
			return nil, fmt.Errorf("page content larger than %d bytes", pdf.MaxStreamLen)
		}
		out = append(append(out, d...), '\n')
	}
	return out, nil
}

type textState struct {
	fonts   map[pdf.Name]*fontInfo
	ctm     matrix
	stack   []matrix
	tm, tlm matrix
	font    *fontInfo
	size    float64
	leading float64
	lines   []TextLine
	joinY   bool // the last line may be continued
}

func nums(ops []any, n int) ([]float64, bool) {
	if len(ops) < n {
		return nil, false
	}
	out := make([]float64, n)
	for i, o := range ops[len(ops)-n:] {
		f, ok := o.(float64)
		if !ok {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

func (s *textState) do(op string, ops []any) {
	switch op {
	case "q":
		if len(s.stack) < maxStackDepth {
			s.stack = append(s.stack, s.ctm)
		}
	case "Q":
		if len(s.stack) > 0 {
			s.ctm = s.stack[len(s.stack)-1]
			s.stack = s.stack[:len(s.stack)-1]
		}
	case "cm":
		if m, ok := nums(ops, 6); ok {
			s.ctm = matrix(m).mul(s.ctm)
		}
	case "BT":
		s.tm, s.tlm = identity, identity
		s.joinY = false
	case "Tf":
		if len(ops) >= 2 {
			name, _ := ops[len(ops)-2].(pdf.Name)
			s.font = s.fonts[name]
			s.size, _ = ops[len(ops)-1].(float64)
		}
	case "TL":
		if m, ok := nums(ops, 1); ok {
			s.leading = m[0]
		}
	case "Td", "TD":
		if m, ok := nums(ops, 2); ok {
			if op == "TD" {
				s.leading = -m[1]
			}
			s.tlm = matrix{1, 0, 0, 1, m[0], m[1]}.mul(s.tlm)
			s.tm = s.tlm
		}
	case "Tm":
		if m, ok := nums(ops, 6); ok {
			s.tlm = matrix(m)
			s.tm = s.tlm
		}
	case "T*":
		s.nextLine()
	case "Tj":
		if len(ops) > 0 {
			s.show(ops[len(ops)-1])
		}
	case "'", "\"":
		s.nextLine()
		if len(ops) > 0 {
			s.show(ops[len(ops)-1])
		}
	case "TJ":
		if len(ops) > 0 {
			if a, ok := ops[len(ops)-1].([]any); ok {
				for _, e := range a {
					if f, ok := e.(float64); ok {
						s.tm = matrix{1, 0, 0, 1, -f / 1000 * s.size, 0}.mul(s.tm)
						continue
					}
					s.show(e)
				}
			}
		}
	}
}

func (s *textState) nextLine() {
	s.tlm = matrix{1, 0, 0, 1, 0, -s.leading}.mul(s.tlm)
	s.tm = s.tlm
}

// show records a string drawn at the current text position and advances
// past it.
func (s *textState) show(o any) {
	b, ok := o.([]byte)
	if !ok || s.font == nil {
		return
	}
	str, w := s.font.decode(b)
	w = w / 1000 * s.size
	text := strings.Builder{}
	text.WriteString(str)
	m := s.tm.mul(s.ctm)
	x0, y := m.apply(0, 0)
	x1, _ := m.apply(w, 0)
	size := s.size * math.Hypot(m[2], m[3])
	s.tm = matrix{1, 0, 0, 1, w, 0}.mul(s.tm)
	if n := len(s.lines); s.joinY && n > 0 && math.Abs(s.lines[n-1].Y-y) < 0.5 && x0 >= s.lines[n-1].X0 {
		l := &s.lines[n-1]
		if x0-l.X1 > 0.2*size {
			l.Text += " "
		}
		l.Text += text.String()
		l.X1 = math.Max(l.X1, x1)
		return
	}
	s.lines = append(s.lines, TextLine{Text: text.String(), X0: x0, X1: x1, Y: y, Size: size})
	s.joinY = true
}

// opToken is a content stream operator.
type opToken string

// contentLexer reads content stream tokens: numbers (float64), names
// (pdf.Name), strings ([]byte), arrays ([]any), operators (opToken);
// dictionaries are skipped (returned as nil).
type contentLexer struct {
	b     []byte
	p     int
	depth int
}

func isWhite(c byte) bool { return strings.IndexByte(" \t\r\n\f\x00", c) >= 0 }
func isDelimiter(c byte) bool {
	return strings.IndexByte("()<>[]{}/%", c) >= 0
}

func (l *contentLexer) skip() {
	for l.p < len(l.b) {
		c := l.b[l.p]
		switch {
		case isWhite(c):
			l.p++
		case c == '%':
			for l.p < len(l.b) && l.b[l.p] != '\n' && l.b[l.p] != '\r' {
				l.p++
			}
		default:
			return
		}
	}
}

func (l *contentLexer) regular() string {
	start := l.p
	for l.p < len(l.b) && !isWhite(l.b[l.p]) && !isDelimiter(l.b[l.p]) {
		l.p++
	}
	return string(l.b[start:l.p])
}

func (l *contentLexer) next() (any, bool) {
	l.skip()
	if l.p >= len(l.b) {
		return nil, false
	}
	c := l.b[l.p]
	switch {
	case c == '/':
		l.p++
		return pdf.Name(l.regular()), true
	case c == '(':
		return l.literal(), true
	case c == '<' && l.p+1 < len(l.b) && l.b[l.p+1] == '<':
		l.p += 2
		return l.dictionary(), true
	case c == '<':
		return l.hex(), true
	case c == '[':
		l.p++
		var a []any
		if l.depth >= maxStackDepth {
			return a, true
		}
		l.depth++
		defer func() { l.depth-- }()
		for {
			l.skip()
			if l.p >= len(l.b) {
				return a, true
			}
			if l.b[l.p] == ']' {
				l.p++
				return a, true
			}
			t, ok := l.next()
			if !ok {
				return a, true
			}
			if _, isOp := t.(opToken); isOp {
				continue
			}
			a = append(a, t)
		}
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		l.p++
		return nil, true
	}
	w := l.regular()
	if w == "" {
		l.p++
		return nil, true
	}
	if f, err := strconv.ParseFloat(w, 64); err == nil && (w[0] == '-' || w[0] == '+' || w[0] == '.' || (w[0] >= '0' && w[0] <= '9')) {
		return f, true
	}
	return opToken(w), true
}

// dictionary skips an inline dictionary (marked content properties).
func (l *contentLexer) dictionary() any {
	for depth := 1; l.p < len(l.b) && depth > 0; {
		switch {
		case l.b[l.p] == '(':
			l.literal()
			continue
		case l.p+1 < len(l.b) && l.b[l.p] == '<' && l.b[l.p+1] == '<':
			depth++
			l.p++
		case l.p+1 < len(l.b) && l.b[l.p] == '>' && l.b[l.p+1] == '>':
			depth--
			l.p++
		}
		l.p++
	}
	return nil
}

func (l *contentLexer) literal() []byte {
	l.p++ // (
	var out []byte
	depth := 1
	for l.p < len(l.b) {
		c := l.b[l.p]
		l.p++
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return out
			}
		case '\\':
			if l.p >= len(l.b) {
				return out
			}
			e := l.b[l.p]
			l.p++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				if e == '\r' && l.p < len(l.b) && l.b[l.p] == '\n' {
					l.p++
				}
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for i := 0; i < 2 && l.p < len(l.b) && l.b[l.p] >= '0' && l.b[l.p] <= '7'; i++ {
						v = v*8 + int(l.b[l.p]-'0')
						l.p++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func (l *contentLexer) hex() []byte {
	l.p++ // <
	var out []byte
	var hi int = -1
	for l.p < len(l.b) && l.b[l.p] != '>' {
		c := l.b[l.p]
		l.p++
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'a' && c <= 'f':
			v = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v = int(c-'A') + 10
		default:
			continue
		}
		if hi < 0 {
			hi = v
		} else {
			out = append(out, byte(hi<<4|v))
			hi = -1
		}
	}
	if hi >= 0 {
		out = append(out, byte(hi<<4))
	}
	l.p++
	return out
}

// skipInlineImage skips an inline image's dictionary and data, to "EI".
func (l *contentLexer) skipInlineImage() {
	for l.p+2 < len(l.b) {
		if l.b[l.p] == 'E' && l.b[l.p+1] == 'I' && isWhite(l.b[l.p-1]) && (l.p+2 == len(l.b) || isWhite(l.b[l.p+2])) {
			l.p += 2
			return
		}
		l.p++
	}
	l.p = len(l.b)
}

// fold makes text comparable the way a clerk means it: lower case,
// Vietnamese diacritics removed (the project's PDFs draw Vietnamese
// transliterated), runs of white space as one space.
func fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		r = unicode.ToLower(r)
		if r >= 0x80 {
			for _, v := range foldTable {
				if strings.ContainsRune(v.letters, r) {
					r = v.base
					break
				}
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

var foldTable = [...]struct {
	base    rune
	letters string
}{
	{'a', "àáạảãâầấậẩẫăằắặẳẵ"},
	{'e', "èéẹẻẽêềếệểễ"},
	{'i', "ìíịỉĩ"},
	{'o', "òóọỏõôồốộổỗơờớợởỡ"},
	{'u', "ùúụủũưừứựửữ"},
	{'y', "ỳýỵỷỹ"},
	{'d', "đ"},
}
