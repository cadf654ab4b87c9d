package xmldsig

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// source is the decoder's byte source. encoding/xml returns an element's
// text as one token, which for a base64 attachment is the attachment:
// walk reads the text between tags itself, in chunks, through text, and
// lets the decoder see only markup. The decoder reads a ByteReader one
// byte at a time and never reads past the '>' of a tag, so the bytes
// after a tag are still here for text to take.
type source struct {
	r    *bufio.Reader
	line int
	// last and prev are the last two bytes consumed (a tag ending in
	// "/>" is an empty element: no text follows inside it).
	last, prev byte
}

func newSource(r io.Reader) *source { return &source{r: bufio.NewReaderSize(r, 64<<10), line: 1} }

func (s *source) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.prev, s.last = s.last, b
		if b == '\n' {
			s.line++
		}
	}
	return b, err
}

// Read is there for io.Reader; the decoder uses ReadByte.
func (s *source) Read(p []byte) (int, error) {
	for i := range p {
		b, err := s.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

// textChunk is the size of the pieces text hands on.
const textChunk = 32 << 10

// text reads character data up to the next '<' (left unread) or EOF,
// with XML's end-of-line handling and its five entities and character
// references decoded, and hands it to fn in pieces of about textChunk.
func (s *source) text(fn func([]byte) error) error {
	var buf []byte
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := fn(buf)
		buf = buf[:0]
		return err
	}
	for {
		next, err := s.r.Peek(1)
		if errors.Is(err, io.EOF) || (err == nil && next[0] == '<') {
			return flush()
		}
		if err != nil {
			return err
		}
		b, _ := s.ReadByte()
		switch b {
		case '\r':
			// \r\n and a lone \r both become \n.
			if n, err := s.r.Peek(1); err == nil && n[0] == '\n' {
				s.ReadByte()
			}
			buf = append(buf, '\n')
		case '&':
			r, err := s.entity()
			if err != nil {
				return err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			buf = append(buf, b)
		}
		if len(buf) >= textChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// entity reads the rest of a reference after '&'.
func (s *source) entity() (rune, error) {
	var name []byte
	for {
		b, err := s.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("unterminated entity reference &%s", name)
		}
		if b == ';' {
			break
		}
		if len(name) >= 10 {
			return 0, fmt.Errorf("entity reference &%s… too long", name)
		}
		name = append(name, b)
	}
	switch n := string(name); n {
	case "lt":
		return '<', nil
	case "gt":
		return '>', nil
	case "amp":
		return '&', nil
	case "quot":
		return '"', nil
	case "apos":
		return '\'', nil
	default:
		var v uint64
		var err error
		switch {
		case len(n) > 2 && (n[:2] == "#x" || n[:2] == "#X"):
			v, err = strconv.ParseUint(n[2:], 16, 32)
		case len(n) > 1 && n[0] == '#':
			v, err = strconv.ParseUint(n[1:], 10, 32)
		default:
			return 0, fmt.Errorf("entity &%s; not allowed (only the five predefined ones)", n)
		}
		if err != nil || !isXMLChar(rune(v)) {
			return 0, fmt.Errorf("invalid character reference &%s;", n)
		}
		return rune(v), nil
	}
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
