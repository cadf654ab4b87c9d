package pdf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits that keep a hostile file from making the reader hang or exhaust
// memory. They are far above what real documents need.
const (
	MaxDepth        = 64       // nesting of arrays and dictionaries
	maxTokens       = 1 << 20  // tokens in one object
	maxStringLen    = 32 << 20 // bytes in one string
	maxNameLen      = 4096     // bytes in one name or keyword
	maxSections     = 256      // cross-reference sections in the /Prev chain
	MaxObjects      = 1 << 22  // cross-reference entries in all sections
	MaxStreamLen    = 64 << 20 // bytes of a decoded xref or object stream
	maxRefHops      = 32       // indirect references followed in a row
	maxPageTreeHops = 64       // page tree levels walked to the first page
)

// ErrSyntax marks a malformed PDF.
var ErrSyntax = errors.New("PDF syntax error")

// SyntaxErrorf returns an error wrapping ErrSyntax.
func SyntaxErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// The PDF object model: nil (null), bool, int64, Real, Name, *String,
// Array, *Dict, Ref and *Stream.
type (
	// Object is any PDF object.
	Object any
	// Real keeps a real number's text so that it is written back verbatim.
	Real string
	// Name is a name object, without the slash.
	Name string
	// Array is an array object.
	Array []Object
	// Ref is an indirect reference, "Num Gen R".
	Ref struct{ Num, Gen int }
)

// Number returns the value of an integer or real object.
func Number(o Object) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case Real:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	}
	return 0, false
}

// String is a string object with where it was in the file, which the
// verifier needs for the /Contents of a signature dictionary.
type String struct {
	Bytes    []byte
	Pos, End int64 // byte offsets of the opening and after the closing delimiter
}

// Dict keeps its keys in file order so that a rewritten dictionary reads
// like the original.
type Dict struct {
	keys []Name
	m    map[Name]Object
}

// NewDict returns an empty dictionary.
func NewDict() *Dict { return &Dict{m: make(map[Name]Object)} }

// Get returns the value of k; nil (null) when absent or d is nil.
func (d *Dict) Get(k Name) Object {
	if d == nil {
		return nil
	}
	return d.m[k]
}

// Set sets k, appending it to the key order when new.
func (d *Dict) Set(k Name, v Object) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// Clone returns a shallow copy.
func (d *Dict) Clone() *Dict {
	c := &Dict{keys: append([]Name(nil), d.keys...), m: make(map[Name]Object, len(d.m))}
	for k, v := range d.m {
		c.m[k] = v
	}
	return c
}

// Keys returns the keys in file order; the caller must not change the slice.
func (d *Dict) Keys() []Name {
	if d == nil {
		return nil
	}
	return d.keys
}

// Len returns the number of entries.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.m)
}

// Lookup returns the value of k and whether the dictionary has it.
func (d *Dict) Lookup(k Name) (Object, bool) {
	if d == nil {
		return nil, false
	}
	v, ok := d.m[k]
	return v, ok
}

// Name returns the value of k if it is a name, else "".
func (d *Dict) Name(k Name) Name {
	n, _ := d.Get(k).(Name)
	return n
}

// Stream is a stream object: its dictionary and where its raw data lies.
type Stream struct {
	Dict    *Dict
	DataOff int64 // absolute offset in the file (or object stream)
	Length  int64 // -1 when /Length could not be read
}

type tokKind int

const (
	tEOF tokKind = iota
	tInt
	tReal
	tName
	tString
	tArrayOpen
	tArrayClose
	tDictOpen
	tDictClose
	tKeyword
)

type token struct {
	kind     tokKind
	i        int64
	s        string // name, keyword or real text
	b        []byte // string bytes
	pos, end int64
}

// lexer splits PDF bytes into tokens, tracking absolute offsets.
type lexer struct {
	r      *bufio.Reader
	pos    int64
	peeked []token
	tokens int
}

func newLexer(r io.Reader, base int64) *lexer {
	return &lexer{r: bufio.NewReaderSize(r, 4096), pos: base}
}

func newLexerAt(ra io.ReaderAt, off, size int64) *lexer {
	if off < 0 || off > size {
		off = size
	}
	return newLexer(io.NewSectionReader(ra, off, size-off), off)
}

func (l *lexer) readByte() (byte, error) {
	c, err := l.r.ReadByte()
	if err == nil {
		l.pos++
	}
	return c, err
}

func (l *lexer) unreadByte() {
	if l.r.UnreadByte() == nil {
		l.pos--
	}
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isSpace(c) && !isDelim(c) }

func (l *lexer) peek() (token, error) {
	if len(l.peeked) == 0 {
		t, err := l.scan()
		if err != nil {
			return t, err
		}
		l.peeked = append(l.peeked, t)
	}
	return l.peeked[0], nil
}

// peekN returns the n-th upcoming token (0-based) without consuming it.
func (l *lexer) peekN(n int) (token, error) {
	for len(l.peeked) <= n {
		t, err := l.scan()
		if err != nil {
			return t, err
		}
		l.peeked = append(l.peeked, t)
	}
	return l.peeked[n], nil
}

func (l *lexer) next() (token, error) {
	if len(l.peeked) > 0 {
		t := l.peeked[0]
		// Shift rather than reslice, so that the next peek reuses the
		// array instead of allocating one per token.
		n := copy(l.peeked, l.peeked[1:])
		l.peeked[n] = token{}
		l.peeked = l.peeked[:n]
		return t, nil
	}
	return l.scan()
}

func (l *lexer) skipSpace() error {
	for {
		c, err := l.readByte()
		if err != nil {
			return err
		}
		if c == '%' {
			for {
				c, err = l.readByte()
				if err != nil {
					return err
				}
				if c == '\n' || c == '\r' {
					break
				}
			}
			continue
		}
		if !isSpace(c) {
			l.unreadByte()
			return nil
		}
	}
}

func (l *lexer) scan() (token, error) {
	l.tokens++
	if l.tokens > maxTokens {
		return token{}, SyntaxErrorf("too many tokens")
	}
	if err := l.skipSpace(); err != nil {
		if err == io.EOF {
			return token{kind: tEOF, pos: l.pos, end: l.pos}, nil
		}
		return token{}, err
	}
	start := l.pos
	c, err := l.readByte()
	if err != nil {
		return token{}, err
	}
	t := token{pos: start}
	switch {
	case c == '[':
		t.kind = tArrayOpen
	case c == ']':
		t.kind = tArrayClose
	case c == '<':
		c2, err := l.readByte()
		if err == nil && c2 == '<' {
			t.kind = tDictOpen
			break
		}
		if err == nil {
			l.unreadByte()
		}
		b, err := l.hexString()
		if err != nil {
			return t, err
		}
		t.kind, t.b = tString, b
	case c == '>':
		c2, err := l.readByte()
		if err != nil || c2 != '>' {
			return t, SyntaxErrorf("stray '>' at offset %d", start)
		}
		t.kind = tDictClose
	case c == '(':
		b, err := l.literalString()
		if err != nil {
			return t, err
		}
		t.kind, t.b = tString, b
	case c == '/':
		s, err := l.nameToken()
		if err != nil {
			return t, err
		}
		t.kind, t.s = tName, s
	case c == ')' || c == '{' || c == '}':
		// Not used in the objects we read; treat as a one-byte keyword.
		t.kind, t.s = tKeyword, string(c)
	default:
		l.unreadByte()
		word, err := l.regular()
		if err != nil {
			return t, err
		}
		if isNumber(word) {
			if i, err := strconv.ParseInt(word, 10, 64); err == nil {
				t.kind, t.i = tInt, i
			} else {
				t.kind, t.s = tReal, word
			}
		} else {
			t.kind, t.s = tKeyword, word
		}
	}
	t.end = l.pos
	return t, nil
}

func isNumber(w string) bool {
	if w == "" {
		return false
	}
	digits, dots := 0, 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		case (c == '+' || c == '-') && i == 0:
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func (l *lexer) regular() (string, error) {
	var b []byte
	for {
		c, err := l.readByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if !isRegular(c) {
			l.unreadByte()
			break
		}
		if len(b) >= maxNameLen {
			return "", SyntaxErrorf("token too long at offset %d", l.pos)
		}
		b = append(b, c)
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) nameToken() (string, error) {
	w, err := l.regular()
	if err != nil {
		return "", err
	}
	if !bytes.ContainsRune([]byte(w), '#') {
		return w, nil
	}
	var b []byte
	for i := 0; i < len(w); i++ {
		if w[i] == '#' && i+2 < len(w) {
			h, ok1 := unhex(w[i+1])
			lo, ok2 := unhex(w[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, w[i])
	}
	return string(b), nil
}

func (l *lexer) hexString() ([]byte, error) {
	var b []byte
	var hi byte
	half := false
	for {
		// A buffer's worth at a time: signature values are tens of
		// kilobytes of hex digits.
		chunk, err := l.r.ReadSlice('>')
		start := l.pos
		l.pos += int64(len(chunk))
		if err != nil && err != bufio.ErrBufferFull {
			return nil, SyntaxErrorf("unterminated hex string")
		}
		done := err == nil
		if done {
			chunk = chunk[:len(chunk)-1]
		}
		for i, c := range chunk {
			if isSpace(c) {
				continue
			}
			v, ok := unhex(c)
			if !ok {
				return nil, SyntaxErrorf("bad character %q in hex string at offset %d", c, start+int64(i))
			}
			if half {
				b = append(b, hi<<4|v)
				if len(b) > maxStringLen {
					return nil, SyntaxErrorf("string too long")
				}
			} else {
				hi = v
			}
			half = !half
		}
		if done {
			break
		}
	}
	if half {
		b = append(b, hi<<4)
	}
	return b, nil
}

func (l *lexer) literalString() ([]byte, error) {
	var b []byte
	depth := 1
	for {
		c, err := l.readByte()
		if err != nil {
			return nil, SyntaxErrorf("unterminated string")
		}
		if len(b) > maxStringLen {
			return nil, SyntaxErrorf("string too long")
		}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return b, nil
			}
		case '\\':
			c, err = l.readByte()
			if err != nil {
				return nil, SyntaxErrorf("unterminated string")
			}
			switch c {
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
			case '\r':
				if c2, err := l.readByte(); err == nil && c2 != '\n' {
					l.unreadByte()
				}
				continue
			case '\n':
				continue
			default:
				if c >= '0' && c <= '7' {
					v := c - '0'
					for i := 0; i < 2; i++ {
						c2, err := l.readByte()
						if err != nil {
							break
						}
						if c2 < '0' || c2 > '7' {
							l.unreadByte()
							break
						}
						v = v<<3 | (c2 - '0')
					}
					c = v
				}
			}
		case '\r':
			// An end of line inside a string reads as a single '\n'.
			if c2, err := l.readByte(); err == nil && c2 != '\n' {
				l.unreadByte()
			}
			c = '\n'
		}
		b = append(b, c)
	}
}

// object parses one object. Indirect references are returned as ref, not
// followed.
func (l *lexer) object(depth int) (Object, error) {
	if depth > MaxDepth {
		return nil, SyntaxErrorf("objects nested too deeply")
	}
	t, err := l.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tEOF:
		return nil, SyntaxErrorf("unexpected end of file")
	case tInt:
		// An integer may start "num gen R".
		t1, err := l.peekN(0)
		if err != nil {
			return nil, err
		}
		if t1.kind == tInt {
			t2, err := l.peekN(1)
			if err != nil {
				return nil, err
			}
			if t2.kind == tKeyword && t2.s == "R" {
				l.next()
				l.next()
				if t.i < 0 || t.i > MaxObjects || t1.i < 0 || t1.i > 65535 {
					return nil, SyntaxErrorf("bad reference %d %d R", t.i, t1.i)
				}
				return Ref{int(t.i), int(t1.i)}, nil
			}
		}
		return t.i, nil
	case tReal:
		return Real(t.s), nil
	case tName:
		return Name(t.s), nil
	case tString:
		return &String{Bytes: t.b, Pos: t.pos, End: t.end}, nil
	case tArrayOpen:
		var a Array
		for {
			p, err := l.peek()
			if err != nil {
				return nil, err
			}
			if p.kind == tArrayClose {
				l.next()
				return a, nil
			}
			if p.kind == tEOF {
				return nil, SyntaxErrorf("unterminated array")
			}
			v, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case tDictOpen:
		d := NewDict()
		for {
			k, err := l.next()
			if err != nil {
				return nil, err
			}
			if k.kind == tDictClose {
				return d, nil
			}
			if k.kind != tName {
				return nil, SyntaxErrorf("dictionary key is not a name at offset %d", k.pos)
			}
			p, err := l.peek()
			if err != nil {
				return nil, err
			}
			if p.kind == tDictClose {
				// A key without a value: be lenient, it reads as null.
				continue
			}
			v, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			if v != nil {
				d.Set(Name(k.s), v)
			}
		}
	case tKeyword:
		switch t.s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return nil, SyntaxErrorf("unexpected %q at offset %d", t.s, t.pos)
	}
	return nil, SyntaxErrorf("unexpected token at offset %d", t.pos)
}

// indirectObject parses "num gen obj ... endobj" at the lexer's position
// and returns the number, generation and object; a stream is returned with
// its data offset and the /Length given in its dictionary (maybe a ref,
// resolved by the caller).
func (l *lexer) indirectObject() (int, int, Object, error) {
	tn, err := l.next()
	if err != nil {
		return 0, 0, nil, err
	}
	tg, err := l.next()
	if err != nil {
		return 0, 0, nil, err
	}
	to, err := l.next()
	if err != nil {
		return 0, 0, nil, err
	}
	if tn.kind != tInt || tg.kind != tInt || to.kind != tKeyword || to.s != "obj" {
		return 0, 0, nil, SyntaxErrorf("no object header at offset %d", tn.pos)
	}
	if tn.i < 0 || tn.i > MaxObjects || tg.i < 0 || tg.i > 65535 {
		return 0, 0, nil, SyntaxErrorf("bad object number %d %d at offset %d", tn.i, tg.i, tn.pos)
	}
	v, err := l.object(0)
	if err != nil {
		return 0, 0, nil, err
	}
	if d, ok := v.(*Dict); ok {
		p, err := l.peek()
		if err != nil {
			return 0, 0, nil, err
		}
		if p.kind == tKeyword && p.s == "stream" {
			l.next()
			// The keyword is followed by CRLF or LF (a lone CR is tolerated).
			c, err := l.readByte()
			if err == nil && c == '\r' {
				if c, err = l.readByte(); err == nil && c != '\n' {
					l.unreadByte()
				}
			} else if err == nil && c != '\n' {
				l.unreadByte()
			}
			s := &Stream{Dict: d, DataOff: l.pos, Length: -1}
			if n, ok := d.Get("Length").(int64); ok && n >= 0 {
				s.Length = n
			}
			return int(tn.i), int(tg.i), s, nil
		}
	}
	return int(tn.i), int(tg.i), v, nil
}
