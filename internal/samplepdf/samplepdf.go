// Package samplepdf writes small, valid PDF files from scratch for tests,
// benchmarks and demos: a title and a few lines of text on the first page,
// optional extra pages, optional filler to reach a target size, and either a
// classic cross-reference table or a cross-reference stream (PDF 1.5).
//
// The output opens cleanly in poppler (pdfinfo, pdftotext) and passes
// qpdf --check. Filler is streamed, so a 100 MB file costs no memory.
package samplepdf

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Options describes the PDF to write. The zero value is a valid one-page
// document with an empty title.
type Options struct {
	// Title is drawn on page 1. Vietnamese letters are transliterated to
	// ASCII (the standard Helvetica font has no glyphs for them).
	Title string
	// Lines are more text lines drawn on page 1, under the title.
	Lines []string
	// Pages is the number of pages; 0 means 1.
	Pages int
	// PadBytes, if positive, adds an uncompressed stream object of exactly
	// this many bytes of filler so the file reaches a target size.
	PadBytes int64
	// XRefStream writes a cross-reference stream (PDF 1.5) instead of a
	// classic cross-reference table.
	XRefStream bool
	// Texts are more text runs drawn where they say, e.g. a signature
	// block (position, full name) at the bottom right of a page.
	Texts []Text
}

// Text is a text run drawn at a given place in Helvetica.
type Text struct {
	Page       int     // 1-based; 0 means 1
	X, Y, Size float64 // baseline start and font size, in points
	Text       string  // transliterated like Title
}

// Bytes returns the PDF described by opts.
func Bytes(opts Options) ([]byte, error) {
	var buf bytes.Buffer
	if opts.PadBytes > 0 {
		buf.Grow(int(opts.PadBytes) + 4096)
	}
	if err := Write(&buf, opts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes the PDF described by opts to w.
func Write(w io.Writer, opts Options) error {
	if opts.Pages < 0 {
		return fmt.Errorf("samplepdf: negative page count %d", opts.Pages)
	}
	if opts.PadBytes < 0 {
		return fmt.Errorf("samplepdf: negative PadBytes %d", opts.PadBytes)
	}
	pages := opts.Pages
	if pages == 0 {
		pages = 1
	}
	pw := &writer{bw: bufio.NewWriterSize(w, 64<<10)}

	// Object numbers: 1 catalog, 2 page tree, 3 font, 4 info, then per page
	// a page and its content stream, then the filler, then (maybe) the
	// cross-reference stream.
	const catalog, pageTree, font, info = 1, 2, 3, 4
	pageObj := func(i int) int { return 5 + 2*i }
	contentObj := func(i int) int { return 6 + 2*i }
	next := 5 + 2*pages
	padObj := 0
	if opts.PadBytes > 0 {
		padObj = next
		next++
	}
	xrefObj := 0
	if opts.XRefStream {
		xrefObj = next
		next++
	}
	size := next

	version := "1.4"
	if opts.XRefStream {
		version = "1.5"
	}
	pw.printf("%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n", version)

	pw.object(catalog, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", pageObj(i))
	}
	pw.object(pageTree, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	pw.object(font, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	pw.object(info, fmt.Sprintf("<< /Title %s /Producer (lienthong samplepdf) >>", pdfString(opts.Title)))

	for i := 0; i < pages; i++ {
		res := "/Font << /F1 3 0 R >>"
		if i == 0 && padObj != 0 {
			// The filler is a form XObject the page names but never draws,
			// so the object is reachable and the document stays clean.
			res += fmt.Sprintf(" /XObject << /Pad %d 0 R >>", padObj)
		}
		pw.object(pageObj(i), fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << %s >> /Contents %d 0 R >>", res, contentObj(i)))
		var content string
		if i == 0 {
			content = firstPage(opts.Title, opts.Lines)
		} else {
			content = fmt.Sprintf("BT /F1 12 Tf 72 770 Td %s Tj ET\n", pdfString(fmt.Sprintf("Page %d of %d", i+1, pages)))
		}
		for _, t := range opts.Texts {
			if max(t.Page, 1) == i+1 {
				content += fmt.Sprintf("BT /F1 %g Tf %g %g Td %s Tj ET\n", t.Size, t.X, t.Y, pdfString(t.Text))
			}
		}
		pw.stream(contentObj(i), "", content)
	}

	if padObj != 0 {
		pw.start(padObj)
		pw.printf("<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Length %d >>\nstream\n", opts.PadBytes)
		pw.filler(opts.PadBytes)
		pw.printf("\nendstream\nendobj\n")
	}

	id := fileID(opts)
	trailer := fmt.Sprintf("/Size %d /Root %d 0 R /Info %d 0 R /ID [<%x> <%x>]", size, catalog, info, id, id)
	if opts.XRefStream {
		pw.start(xrefObj)
		xrefAt := pw.offsets[xrefObj]
		wOff := 4
		if xrefAt > 0xFFFFFFFF {
			wOff = 8
		}
		row := 1 + wOff + 2
		data := make([]byte, 0, size*row)
		for n := 0; n < size; n++ {
			var e [11]byte
			if n == 0 {
				e[0] = 0
				binary.BigEndian.PutUint16(e[1+wOff:], 0xFFFF)
			} else {
				e[0] = 1
				if wOff == 4 {
					binary.BigEndian.PutUint32(e[1:], uint32(pw.offsets[n]))
				} else {
					binary.BigEndian.PutUint64(e[1:], uint64(pw.offsets[n]))
				}
			}
			data = append(data, e[:row]...)
		}
		pw.printf("<< /Type /XRef %s /W [1 %d 2] /Length %d >>\nstream\n", trailer, wOff, len(data))
		pw.write(data)
		pw.printf("\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	} else {
		xrefAt := pw.n
		pw.printf("xref\n0 %d\n0000000000 65535 f \n", size)
		for n := 1; n < size; n++ {
			pw.printf("%010d 00000 n \n", pw.offsets[n])
		}
		pw.printf("trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n", trailer, xrefAt)
	}
	if pw.err != nil {
		return fmt.Errorf("samplepdf: %w", pw.err)
	}
	if err := pw.bw.Flush(); err != nil {
		return fmt.Errorf("samplepdf: %w", err)
	}
	return nil
}

func firstPage(title string, lines []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "BT /F1 18 Tf 72 770 Td %s Tj ET\n", pdfString(title))
	y := 740
	for _, l := range lines {
		if y < 40 {
			break
		}
		fmt.Fprintf(&b, "BT /F1 11 Tf 72 %d Td %s Tj ET\n", y, pdfString(l))
		y -= 15
	}
	return b.String()
}

func fileID(opts Options) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%d|%d|%t", opts.Title, opts.Lines, opts.Pages, opts.PadBytes, opts.XRefStream)
	if len(opts.Texts) > 0 {
		fmt.Fprintf(h, "|%v", opts.Texts)
	}
	return h.Sum(nil)[:16]
}

// writer tracks the byte offset of everything written and of each object,
// and remembers the first error so the layout code stays linear.
type writer struct {
	bw      *bufio.Writer
	n       int64
	err     error
	offsets map[int]int64
}

func (w *writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(p)
	w.n += int64(n)
	w.err = err
}

func (w *writer) printf(format string, args ...any) {
	w.write([]byte(fmt.Sprintf(format, args...)))
}

func (w *writer) start(num int) {
	if w.offsets == nil {
		w.offsets = make(map[int]int64)
	}
	w.offsets[num] = w.n
	w.printf("%d 0 obj\n", num)
}

func (w *writer) object(num int, body string) {
	w.start(num)
	w.printf("%s\nendobj\n", body)
}

func (w *writer) stream(num int, dict, content string) {
	w.start(num)
	w.printf("<< %s/Length %d >>\nstream\n%s\nendstream\nendobj\n", dict, len(content), content)
}

// filler writes n bytes of PDF comment lines: valid content for the form
// XObject that holds them.
func (w *writer) filler(n int64) {
	line := []byte("% lienthong sample filler: this form XObject is never drawn, it only makes the file larger.\n")
	chunk := bytes.Repeat(line, (32<<10)/len(line))
	for n > 0 && w.err == nil {
		c := chunk
		if int64(len(c)) > n {
			// Keep the last partial line a comment ending in a newline.
			c = append(append([]byte(nil), chunk[:n-1]...), '\n')
		}
		w.write(c)
		n -= int64(len(c))
	}
}

// pdfString returns s as a PDF literal string of printable ASCII, with
// Vietnamese letters transliterated and other runes replaced by '?'.
func pdfString(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		if r >= 0x80 {
			r = transliterate(r)
		}
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(')')
	return b.String()
}

func transliterate(r rune) rune {
	// Each base letter and the precomposed Vietnamese letters built on it.
	vietnamese := [...]struct {
		base    rune
		letters string
	}{
		{'a', "àáạảãâầấậẩẫăằắặẳẵ"},
		{'A', "ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴ"},
		{'e', "èéẹẻẽêềếệểễ"},
		{'E', "ÈÉẸẺẼÊỀẾỆỂỄ"},
		{'i', "ìíịỉĩ"},
		{'I', "ÌÍỊỈĨ"},
		{'o', "òóọỏõôồốộổỗơờớợởỡ"},
		{'O', "ÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠ"},
		{'u', "ùúụủũưừứựửữ"},
		{'U', "ÙÚỤỦŨƯỪỨỰỬỮ"},
		{'y', "ỳýỵỷỹ"},
		{'Y', "ỲÝỴỶỸ"},
		{'d', "đ"},
		{'D', "Đ"},
	}
	for _, v := range vietnamese {
		if strings.ContainsRune(v.letters, r) {
			return v.base
		}
	}
	return '?'
}
