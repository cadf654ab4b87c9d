// Package termsafe keeps text written by someone else (a subject, a file
// name, a rejection reason) from taking over the terminal it is printed
// on: no escape sequences that recolour or move the cursor, no control
// characters, no bidirectional overrides that reorder what the clerk
// reads. The same set of characters is refused in the fields a sender or
// recipient writes (package envelope), so this only matters for what was
// stored before that rule, or came from somewhere else.
package termsafe

import (
	"bytes"
	"io"
	"sync"
	"unicode/utf8"
)

// Unsafe reports whether r may change how a terminal shows what follows
// it: C0 and C1 control characters and DEL (ESC starts the sequences that
// recolour text and move the cursor; CR rewrites a line), and the
// bidirectional formatting characters (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), which reorder the text after them.
// Tab and newline are in this set too; callers that allow them say so.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Strip returns s with every escape sequence and Unsafe character except
// newline and tab removed, and invalid UTF-8 replaced by U+FFFD.
func Strip(s string) string {
	if clean(s) {
		return s
	}
	var b bytes.Buffer
	w := NewWriter(&b)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

// clean reports whether s needs no stripping: the common case, checked
// without allocating.
func clean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (Unsafe(r) && r != '\n' && r != '\t') {
			return false
		}
	}
	return true
}

// EscapeJSON returns JSON text b with every Unsafe character that
// encoding/json leaves as it is (C1 controls, DEL and the bidirectional
// formatting characters; it already escapes C0) written as a \uXXXX
// escape: the document stays the same JSON value, and a terminal shows
// it as typed.
func EscapeJSON(b []byte) []byte {
	if clean(string(b)) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r >= 0x20 && Unsafe(r) {
			out = append(out, `\u`...)
			out = append(out, "0123456789abcdef"[r>>12&0xf], "0123456789abcdef"[r>>8&0xf], "0123456789abcdef"[r>>4&0xf], "0123456789abcdef"[r&0xf])
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// Writer strips escape sequences and Unsafe characters (except newline
// and tab) from everything written through it; sequences and characters
// split across writes are recognised. Close flushes a trailing incomplete
// character (as U+FFFD). A sequence left open (ESC ] without its end)
// ends at the next newline, so one hostile field cannot swallow the rest
// of the output. A Writer may be used from several goroutines.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	state state
	tail  []byte // an incomplete UTF-8 sequence from the last write
	out   []byte
}

type state byte

const (
	text      state = iota
	escape          // after ESC
	csi             // in ESC [ ... (or C1 CSI): parameters until a final byte
	str             // in ESC ] / P / X / ^ / _ ...: until BEL or ST
	strEscape       // ESC inside a string: ESC \ ends it
)

// NewWriter returns a Writer that writes the cleaned text to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write cleans p and writes the result; it reports len(p) on success.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if len(w.tail) > 0 {
		p = append(w.tail, p...)
		w.tail = nil
	}
	w.out = w.out[:0]
	for len(p) > 0 {
		if !utf8.FullRune(p) {
			w.tail = append([]byte(nil), p...)
			break
		}
		r, size := utf8.DecodeRune(p)
		p = p[size:]
		w.rune(r)
	}
	if len(w.out) == 0 {
		return n, nil
	}
	if _, err := w.w.Write(w.out); err != nil {
		return 0, err
	}
	return n, nil
}

// WriteString is Write for a string.
func (w *Writer) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Close writes what an incomplete final character stands for.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.tail) == 0 {
		return nil
	}
	w.tail = nil
	if w.state != text {
		return nil
	}
	_, err := w.w.Write([]byte(string(utf8.RuneError)))
	return err
}

func (w *Writer) rune(r rune) {
	if r == '\n' && w.state != text {
		w.state = text
	}
	switch w.state {
	case escape:
		switch r {
		case '[':
			w.state = csi
		case ']', 'P', 'X', '^', '_':
			w.state = str
		default:
			// A two-character sequence (ESC c, ESC 7, ...): the character
			// after ESC is part of it. An intermediate byte (ESC ( B)
			// takes one more.
			if r >= 0x20 && r <= 0x2f {
				return
			}
			w.state = text
		}
		return
	case csi:
		if r >= 0x40 && r <= 0x7e || r > 0x7f || r < 0x20 && r != 0x1b {
			w.state = text
		}
		if r == 0x1b {
			w.state = escape
		}
		return
	case str:
		switch r {
		case 0x07, 0x9c:
			w.state = text
		case 0x1b:
			w.state = strEscape
		}
		return
	case strEscape:
		if r == '\\' {
			w.state = text
		} else {
			w.state = str
		}
		return
	}
	switch {
	case r == 0x1b:
		w.state = escape
	case r == 0x9b:
		w.state = csi
	case r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f:
		w.state = str
	case r == '\n' || r == '\t':
		w.out = append(w.out, byte(r))
	case Unsafe(r):
	default:
		w.out = utf8.AppendRune(w.out, r)
	}
}
