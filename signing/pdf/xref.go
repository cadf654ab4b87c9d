package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sort"
)

// XrefEntry locates one object: kind 1 at an offset, kind 2 as the index-th
// object of object stream off; kind 0 is free.
type XrefEntry struct {
	Kind  byte
	Off   int64
	Gen   int
	Index int
}

// Section is one cross-reference section of the /Prev chain, with the
// entries of a hybrid file's /XRefStm merged in.
type Section struct {
	Offset  int64 // where the xref table or stream starts
	Stream  bool  // a cross-reference stream, not a table
	SelfNum int   // object number of the xref stream, when stream
	Entries map[int]XrefEntry
	Trailer *Dict
}

// Document reads a PDF through an io.ReaderAt: only the cross-reference
// chain is read up front, objects are parsed when asked for.
type Document struct {
	R        io.ReaderAt // the whole file
	Size     int64       // of the file
	Sections []*Section  // newest first, following /Prev
	cache    map[int64]Object
	objStms  map[int64][]objStmEntry // keyed by the object stream's offset
	entries  int
	spare    *bufio.Reader // a lexer's buffer to reuse, nil while lent out
}

type objStmEntry struct {
	num int
	obj Object
}

// Open reads the cross-reference chain of the PDF in r.
func Open(r io.ReaderAt, size int64) (*Document, error) {
	if size < 0 {
		return nil, errors.New("pdf: negative size")
	}
	d := &Document{R: r, Size: size, cache: make(map[int64]Object), objStms: make(map[int64][]objStmEntry)}
	head := make([]byte, min(size, 1024))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading PDF header: %w", err)
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		return nil, SyntaxErrorf("no %%PDF- header")
	}
	off, err := d.startXref()
	if err != nil {
		return nil, err
	}
	seen := make(map[int64]bool)
	for off >= 0 {
		if len(d.Sections) >= maxSections {
			return nil, SyntaxErrorf("more than %d cross-reference sections", maxSections)
		}
		if seen[off] {
			return nil, SyntaxErrorf("cross-reference chain loops at offset %d", off)
		}
		seen[off] = true
		s, err := d.readSection(off)
		if err != nil {
			return nil, err
		}
		if xs, ok := s.Trailer.Get("XRefStm").(int64); ok && !s.Stream {
			if !seen[xs] {
				seen[xs] = true
				hs, err := d.readSection(xs)
				if err != nil {
					return nil, fmt.Errorf("hybrid cross-reference stream: %w", err)
				}
				// In a hybrid file the table wins, except where it marks
				// free an object the stream compresses.
				for n, e := range hs.Entries {
					if te, ok := s.Entries[n]; !ok || te.Kind == 0 {
						s.Entries[n] = e
					}
				}
			}
		}
		d.Sections = append(d.Sections, s)
		off = -1
		if p, ok := s.Trailer.Get("Prev").(int64); ok {
			if p < 0 || p >= size {
				return nil, SyntaxErrorf("/Prev %d outside the file", p)
			}
			off = p
		}
	}
	return d, nil
}

// startXref finds the offset after the last "startxref" keyword.
func (d *Document) startXref() (int64, error) {
	tail := min(d.Size, 2048)
	buf := make([]byte, tail)
	if _, err := d.R.ReadAt(buf, d.Size-tail); err != nil && err != io.EOF {
		return 0, fmt.Errorf("reading PDF trailer: %w", err)
	}
	i := bytes.LastIndex(buf, []byte("startxref"))
	if i < 0 {
		return 0, SyntaxErrorf("no startxref")
	}
	l := newLexer(bytes.NewReader(buf[i+len("startxref"):]), 0)
	t, err := l.next()
	if err != nil || t.kind != tInt || t.i < 0 || t.i >= d.Size {
		return 0, SyntaxErrorf("bad startxref")
	}
	return t.i, nil
}

// lexerAt returns a lexer reading the file from off, on the spare buffer
// when it is free: a verification parses dozens of objects, each with a
// lexer, one after the other.
func (d *Document) lexerAt(off int64) *lexer {
	b := d.spare
	if b == nil {
		return newLexerAt(d.R, off, d.Size)
	}
	d.spare = nil
	if off < 0 || off > d.Size {
		off = d.Size
	}
	b.Reset(io.NewSectionReader(d.R, off, d.Size-off))
	return &lexer{r: b, pos: off}
}

// release makes l's buffer the spare; l must not be used afterwards.
func (d *Document) release(l *lexer) {
	d.spare, l.r = l.r, nil
}

func (d *Document) readSection(off int64) (*Section, error) {
	l := d.lexerAt(off)
	defer d.release(l)
	t, err := l.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tKeyword && t.s == "xref" {
		return d.readTable(l, off)
	}
	if t.kind == tInt {
		return d.readXrefStream(l, off)
	}
	return nil, SyntaxErrorf("no cross-reference section at offset %d", off)
}

func (d *Document) readTable(l *lexer, off int64) (*Section, error) {
	l.next()
	s := &Section{Offset: off, Entries: make(map[int]XrefEntry)}
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tKeyword && t.s == "trailer" {
			break
		}
		c, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tInt || c.kind != tInt || t.i < 0 || c.i < 0 || t.i+c.i > MaxObjects {
			return nil, SyntaxErrorf("bad cross-reference subsection at offset %d", t.pos)
		}
		d.entries += int(c.i)
		if d.entries > MaxObjects {
			return nil, SyntaxErrorf("too many cross-reference entries")
		}
		for i := int64(0); i < c.i; i++ {
			o, err1 := l.next()
			g, err2 := l.next()
			k, err3 := l.next()
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, err
			}
			if o.kind != tInt || g.kind != tInt || k.kind != tKeyword || (k.s != "n" && k.s != "f") {
				return nil, SyntaxErrorf("bad cross-reference entry at offset %d", o.pos)
			}
			n := int(t.i + i)
			if _, dup := s.Entries[n]; dup {
				continue
			}
			e := XrefEntry{Kind: 0, Gen: int(g.i)}
			if k.s == "n" {
				e = XrefEntry{Kind: 1, Off: o.i, Gen: int(g.i)}
			}
			s.Entries[n] = e
		}
	}
	v, err := l.object(0)
	if err != nil {
		return nil, fmt.Errorf("trailer at offset %d: %w", off, err)
	}
	tr, ok := v.(*Dict)
	if !ok {
		return nil, SyntaxErrorf("trailer at offset %d is not a dictionary", off)
	}
	s.Trailer = tr
	return s, nil
}

func (d *Document) readXrefStream(l *lexer, off int64) (*Section, error) {
	num, _, v, err := l.indirectObject()
	if err != nil {
		return nil, fmt.Errorf("cross-reference stream at offset %d: %w", off, err)
	}
	st, ok := v.(*Stream)
	if !ok || st.Dict.Name("Type") != "XRef" {
		return nil, SyntaxErrorf("object at offset %d is not a cross-reference stream", off)
	}
	data, err := d.StreamData(st, nil)
	if err != nil {
		return nil, fmt.Errorf("cross-reference stream at offset %d: %w", off, err)
	}
	w, _ := st.Dict.Get("W").(Array)
	if len(w) != 3 {
		return nil, SyntaxErrorf("cross-reference stream /W is not three numbers")
	}
	var widths [3]int
	row := 0
	for i, x := range w {
		n, ok := x.(int64)
		if !ok || n < 0 || n > 8 {
			return nil, SyntaxErrorf("bad cross-reference stream /W")
		}
		widths[i] = int(n)
		row += int(n)
	}
	if row == 0 {
		return nil, SyntaxErrorf("bad cross-reference stream /W")
	}
	size, _ := st.Dict.Get("Size").(int64)
	index := Array{int64(0), size}
	if ix, ok := st.Dict.Get("Index").(Array); ok {
		index = ix
	}
	if len(index)%2 != 0 {
		return nil, SyntaxErrorf("bad cross-reference stream /Index")
	}
	s := &Section{Offset: off, Stream: true, SelfNum: num, Entries: make(map[int]XrefEntry), Trailer: st.Dict}
	field := func(b []byte) int64 {
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		first, ok1 := index[i].(int64)
		count, ok2 := index[i+1].(int64)
		if !ok1 || !ok2 || first < 0 || count < 0 || first+count > MaxObjects {
			return nil, SyntaxErrorf("bad cross-reference stream /Index")
		}
		d.entries += int(count)
		if d.entries > MaxObjects {
			return nil, SyntaxErrorf("too many cross-reference entries")
		}
		for j := int64(0); j < count; j++ {
			if pos+row > len(data) {
				return nil, SyntaxErrorf("cross-reference stream too short")
			}
			b := data[pos : pos+row]
			pos += row
			typ := int64(1)
			if widths[0] > 0 {
				typ = field(b[:widths[0]])
			}
			f2 := field(b[widths[0] : widths[0]+widths[1]])
			f3 := field(b[widths[0]+widths[1]:])
			n := int(first + j)
			if _, dup := s.Entries[n]; dup {
				continue
			}
			switch typ {
			case 0:
				s.Entries[n] = XrefEntry{Kind: 0, Gen: int(f3)}
			case 1:
				s.Entries[n] = XrefEntry{Kind: 1, Off: f2, Gen: int(f3)}
			case 2:
				s.Entries[n] = XrefEntry{Kind: 2, Off: f2, Index: int(f3)}
			default:
				// Unknown types are null references (ISO 32000-1, 7.5.8.3).
			}
		}
	}
	return s, nil
}

// StreamData returns the decoded data of a stream (xref or object stream
// only: small, bounded). v resolves an indirect /Length; nil means direct
// lengths only.
func (d *Document) StreamData(st *Stream, v *View) ([]byte, error) {
	length := st.Length
	if length < 0 {
		if r, ok := st.Dict.Get("Length").(Ref); ok && v != nil {
			if n, err := v.Resolve(r, 1); err == nil {
				if n, ok := n.(int64); ok && n >= 0 {
					length = n
				}
			}
		}
	}
	if length < 0 || length > MaxStreamLen || st.DataOff+length > d.Size {
		var err error
		length, err = d.findEndstream(st.DataOff)
		if err != nil {
			return nil, err
		}
	}
	raw := make([]byte, length)
	if _, err := d.R.ReadAt(raw, st.DataOff); err != nil {
		return nil, fmt.Errorf("reading stream: %w", err)
	}
	return DecodeStream(st.Dict, raw)
}

// RawLength returns the length of a stream's raw data as of revision v:
// its /Length, resolved in v when indirect, or, when that is unusable, the
// distance to the endstream keyword.
func (v *View) RawLength(st *Stream) (int64, error) {
	d := v.Doc
	length := int64(-1)
	switch l := st.Dict.Get("Length").(type) {
	case int64:
		length = l
	case Ref:
		if n, err := v.Resolve(l, 1); err == nil {
			if n, ok := n.(int64); ok {
				length = n
			}
		}
	}
	if length < 0 || st.DataOff+length > d.Size {
		return d.findEndstream(st.DataOff)
	}
	return length, nil
}

// findEndstream finds the data length of a stream whose /Length is unusable.
func (d *Document) findEndstream(start int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk+16)
	for off := start; off < d.Size && off-start <= MaxStreamLen; off += chunk {
		n, err := d.R.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("reading stream: %w", err)
		}
		if i := bytes.Index(buf[:n], []byte("endstream")); i >= 0 {
			end := off + int64(i)
			// Drop the end-of-line before the keyword.
			for end > start {
				var c [1]byte
				if _, err := d.R.ReadAt(c[:], end-1); err != nil || (c[0] != '\n' && c[0] != '\r') {
					break
				}
				end--
			}
			return end - start, nil
		}
	}
	return 0, SyntaxErrorf("stream without endstream")
}

// DecodeStream undoes the stream filter of sd (none or FlateDecode with
// an optional PNG predictor), bounded by MaxStreamLen.
func DecodeStream(sd *Dict, raw []byte) ([]byte, error) {
	var filters []Name
	switch f := sd.Get("Filter").(type) {
	case nil:
	case Name:
		filters = []Name{f}
	case Array:
		for _, x := range f {
			n, ok := x.(Name)
			if !ok {
				return nil, SyntaxErrorf("bad /Filter")
			}
			filters = append(filters, n)
		}
	default:
		return nil, SyntaxErrorf("bad /Filter")
	}
	if len(filters) > 1 {
		return nil, fmt.Errorf("pdf: %d chained stream filters are not supported", len(filters))
	}
	if len(filters) == 0 {
		return raw, nil
	}
	if filters[0] != "FlateDecode" && filters[0] != "Fl" {
		return nil, fmt.Errorf("pdf: stream filter /%s is not supported", filters[0])
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, SyntaxErrorf("bad Flate stream: %v", err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, MaxStreamLen+1))
	if n > MaxStreamLen {
		return nil, SyntaxErrorf("stream decodes to more than %d bytes", MaxStreamLen)
	}
	if err != nil && out.Len() == 0 {
		return nil, SyntaxErrorf("bad Flate stream: %v", err)
	}
	parms, _ := sd.Get("DecodeParms").(*Dict)
	if a, ok := sd.Get("DecodeParms").(Array); ok && len(a) == 1 {
		parms, _ = a[0].(*Dict)
	}
	return unpredict(out.Bytes(), parms)
}

// unpredict undoes a PNG predictor (the only kind cross-reference streams
// use in practice).
func unpredict(data []byte, parms *Dict) ([]byte, error) {
	pred, _ := parms.Get("Predictor").(int64)
	if pred < 10 {
		if pred > 1 {
			return nil, fmt.Errorf("pdf: TIFF predictor is not supported")
		}
		return data, nil
	}
	cols := int64(1)
	if c, ok := parms.Get("Columns").(int64); ok {
		cols = c
	}
	colors := int64(1)
	if c, ok := parms.Get("Colors").(int64); ok {
		colors = c
	}
	bpc := int64(8)
	if c, ok := parms.Get("BitsPerComponent").(int64); ok {
		bpc = c
	}
	if cols < 1 || cols > 1<<20 || colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return nil, SyntaxErrorf("bad predictor parameters")
	}
	bpp := int(max((colors*bpc+7)/8, 1))
	rowLen := int((cols*colors*bpc + 7) / 8)
	out := make([]byte, 0, len(data))
	prev := make([]byte, rowLen)
	for i := 0; i+1+rowLen <= len(data); i += 1 + rowLen {
		ft := data[i]
		row := append([]byte(nil), data[i+1:i+1+rowLen]...)
		for j := range row {
			var left, up, ul byte
			if j >= bpp {
				left = row[j-bpp]
				ul = prev[j-bpp]
			}
			up = prev[j]
			switch ft {
			case 0:
			case 1:
				row[j] += left
			case 2:
				row[j] += up
			case 3:
				row[j] += byte((int(left) + int(up)) / 2)
			case 4:
				row[j] += paeth(left, up, ul)
			default:
				return nil, SyntaxErrorf("bad PNG predictor type %d", ft)
			}
		}
		out = append(out, row...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// View resolves objects as of one revision: Doc.Sections[K:] of the chain
// (K 0 is the newest revision).
type View struct {
	Doc *Document
	K   int // index in Doc.Sections of the revision's newest section
}

// Latest returns the view of the newest revision.
func (d *Document) Latest() *View { return &View{Doc: d, K: 0} }

// Lookup returns the cross-reference entry of num as of this revision and
// whether it names an object in use.
func (v *View) Lookup(num int) (XrefEntry, bool) {
	for _, s := range v.Doc.Sections[v.K:] {
		if e, ok := s.Entries[num]; ok {
			return e, e.Kind != 0
		}
	}
	return XrefEntry{}, false
}

// Trailer returns the newest Trailer of the view that has a /Root.
func (v *View) Trailer() *Dict {
	for _, s := range v.Doc.Sections[v.K:] {
		if s.Trailer.Get("Root") != nil {
			return s.Trailer
		}
	}
	return v.Doc.Sections[v.K].Trailer
}

// Get returns object num as of this view; nil (null) for a free or missing
// object, as the PDF specification says.
func (v *View) Get(num int, hops int) (Object, error) {
	if hops > maxRefHops {
		return nil, SyntaxErrorf("indirect references nested too deeply")
	}
	e, ok := v.Lookup(num)
	if !ok {
		return nil, nil
	}
	switch e.Kind {
	case 1:
		return v.Doc.objectAt(e.Off, num, v, hops)
	case 2:
		return v.Doc.compressed(e, num, v, hops)
	}
	return nil, nil
}

func (d *Document) objectAt(off int64, num int, v *View, hops int) (Object, error) {
	if obj, ok := d.cache[off]; ok {
		return obj, nil
	}
	if off < 0 || off >= d.Size {
		return nil, SyntaxErrorf("object %d offset %d outside the file", num, off)
	}
	l := d.lexerAt(off)
	n, _, obj, err := l.indirectObject()
	d.release(l)
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", num, err)
	}
	if n != num {
		return nil, SyntaxErrorf("object %d expected at offset %d, found %d", num, off, n)
	}
	if st, ok := obj.(*Stream); ok && st.Length < 0 {
		if r, ok := st.Dict.Get("Length").(Ref); ok && r.Num != num {
			if lv, err := v.Get(r.Num, hops+1); err == nil {
				if n, ok := lv.(int64); ok && n >= 0 {
					st.Length = n
				}
			}
		}
	}
	d.cache[off] = obj
	return obj, nil
}

func (d *Document) compressed(e XrefEntry, num int, v *View, hops int) (Object, error) {
	se, ok := v.Lookup(int(e.Off))
	if !ok || se.Kind != 1 {
		return nil, SyntaxErrorf("object stream %d of object %d not found", e.Off, num)
	}
	objs, ok := d.objStms[se.Off]
	if !ok {
		sv, err := d.objectAt(se.Off, int(e.Off), v, hops+1)
		if err != nil {
			return nil, err
		}
		st, ok := sv.(*Stream)
		if !ok || st.Dict.Name("Type") != "ObjStm" {
			return nil, SyntaxErrorf("object %d is not an object stream", e.Off)
		}
		data, err := d.StreamData(st, v)
		if err != nil {
			return nil, fmt.Errorf("object stream %d: %w", e.Off, err)
		}
		objs, err = parseObjStm(st.Dict, data)
		if err != nil {
			return nil, fmt.Errorf("object stream %d: %w", e.Off, err)
		}
		d.objStms[se.Off] = objs
	}
	if e.Index < 0 || e.Index >= len(objs) || objs[e.Index].num != num {
		// Fall back to a search by number: some writers get the index wrong.
		for _, o := range objs {
			if o.num == num {
				return o.obj, nil
			}
		}
		return nil, SyntaxErrorf("object %d not in object stream %d", num, e.Off)
	}
	return objs[e.Index].obj, nil
}

func parseObjStm(sd *Dict, data []byte) ([]objStmEntry, error) {
	n, _ := sd.Get("N").(int64)
	first, _ := sd.Get("First").(int64)
	if n < 0 || n > int64(len(data))/2 || first < 0 || first > int64(len(data)) {
		return nil, SyntaxErrorf("bad /N or /First")
	}
	l := newLexer(bytes.NewReader(data), 0)
	type hdr struct{ num, off int64 }
	hs := make([]hdr, n)
	for i := range hs {
		a, err1 := l.next()
		b, err2 := l.next()
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if a.kind != tInt || b.kind != tInt || b.i < 0 || first+b.i > int64(len(data)) || a.i < 0 || a.i > MaxObjects {
			return nil, SyntaxErrorf("bad object stream header")
		}
		hs[i] = hdr{a.i, b.i}
	}
	out := make([]objStmEntry, len(hs))
	for i, h := range hs {
		l := newLexer(bytes.NewReader(data[first+h.off:]), first+h.off)
		obj, err := l.object(0)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", h.num, err)
		}
		out[i] = objStmEntry{num: int(h.num), obj: obj}
	}
	return out, nil
}

// Resolve follows indirect references until a direct object.
func (v *View) Resolve(obj Object, hops int) (Object, error) {
	for {
		r, ok := obj.(Ref)
		if !ok {
			return obj, nil
		}
		if hops > maxRefHops {
			return nil, SyntaxErrorf("indirect references nested too deeply")
		}
		var err error
		obj, err = v.Get(r.Num, hops)
		if err != nil {
			return nil, err
		}
		hops++
	}
}

// Dict resolves obj to a dictionary (a stream's dictionary for a stream);
// nil for null.
func (v *View) Dict(obj Object) (*Dict, error) {
	o, err := v.Resolve(obj, 0)
	if err != nil {
		return nil, err
	}
	switch o := o.(type) {
	case *Dict:
		return o, nil
	case *Stream:
		return o.Dict, nil
	case nil:
		return nil, nil
	}
	return nil, SyntaxErrorf("expected a dictionary, found %T", o)
}

// Array resolves obj to an array; nil for null.
func (v *View) Array(obj Object) (Array, error) {
	o, err := v.Resolve(obj, 0)
	if err != nil {
		return nil, err
	}
	switch o := o.(type) {
	case Array:
		return o, nil
	case nil:
		return nil, nil
	}
	return nil, SyntaxErrorf("expected an array, found %T", o)
}

// Catalog returns the document catalog and its reference.
func (v *View) Catalog() (*Dict, Ref, error) {
	r, ok := v.Trailer().Get("Root").(Ref)
	if !ok {
		return nil, Ref{}, SyntaxErrorf("trailer has no /Root reference")
	}
	c, err := v.Dict(r)
	if err != nil {
		return nil, r, fmt.Errorf("catalog: %w", err)
	}
	if c == nil {
		return nil, r, SyntaxErrorf("catalog object %d missing", r.Num)
	}
	return c, r, nil
}

// FirstPage walks the page tree down its first kids to the first page.
func (v *View) FirstPage(catalog *Dict) (*Dict, Ref, error) {
	node := catalog.Get("Pages")
	for i := 0; i < maxPageTreeHops; i++ {
		r, ok := node.(Ref)
		if !ok {
			return nil, Ref{}, SyntaxErrorf("page tree node is not an indirect object")
		}
		d, err := v.Dict(r)
		if err != nil {
			return nil, Ref{}, fmt.Errorf("page tree: %w", err)
		}
		if d == nil {
			return nil, Ref{}, SyntaxErrorf("page tree node %d missing", r.Num)
		}
		if d.Name("Type") == "Page" || d.Get("Kids") == nil {
			return d, r, nil
		}
		kids, err := v.Array(d.Get("Kids"))
		if err != nil || len(kids) == 0 {
			return nil, Ref{}, SyntaxErrorf("page tree node %d has no kids", r.Num)
		}
		node = kids[0]
	}
	return nil, Ref{}, SyntaxErrorf("page tree too deep")
}

// MaxObjNum returns the highest object number any section mentions.
func (d *Document) MaxObjNum() int {
	m := 0
	for _, s := range d.Sections {
		for n := range s.Entries {
			m = max(m, n)
		}
		m = max(m, s.SelfNum)
	}
	return m
}

// SortedNums returns the object numbers of m in increasing order.
func SortedNums(m map[int]XrefEntry) []int {
	out := make([]int, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// maxPages bounds the pages Pages lists, against hostile page trees.
const maxPages = 1 << 16

// Pages lists the document's pages in order, walking the page tree from
// the catalog's /Pages (at most maxPageTreeHops levels deep, at most
// maxPages pages, each node visited once).
func (v *View) Pages(catalog *Dict) ([]Ref, error) {
	var out []Ref
	seen := make(map[int]bool)
	var walk func(node Object, depth int) error
	walk = func(node Object, depth int) error {
		if depth > maxPageTreeHops {
			return SyntaxErrorf("page tree too deep")
		}
		r, ok := node.(Ref)
		if !ok {
			return SyntaxErrorf("page tree node is not an indirect object")
		}
		if seen[r.Num] {
			return SyntaxErrorf("page tree node %d appears twice", r.Num)
		}
		seen[r.Num] = true
		d, err := v.Dict(r)
		if err != nil {
			return fmt.Errorf("page tree: %w", err)
		}
		if d == nil {
			return SyntaxErrorf("page tree node %d missing", r.Num)
		}
		if d.Name("Type") == "Page" || d.Get("Kids") == nil {
			if len(out) >= maxPages {
				return SyntaxErrorf("more than %d pages", maxPages)
			}
			out = append(out, r)
			return nil
		}
		kids, err := v.Array(d.Get("Kids"))
		if err != nil {
			return fmt.Errorf("page tree node %d: %w", r.Num, err)
		}
		for _, k := range kids {
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(catalog.Get("Pages"), 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Inherited returns a page attribute that may be inherited from the page
// tree (/MediaBox, /Resources, /Rotate, /CropBox): the page's own value or
// the nearest ancestor's, resolved; nil when none has it.
func (v *View) Inherited(page *Dict, key Name) (Object, error) {
	cur := page
	for i := 0; cur != nil && i < maxPageTreeHops; i++ {
		if x := cur.Get(key); x != nil {
			return v.Resolve(x, 0)
		}
		p, err := v.Dict(cur.Get("Parent"))
		if err != nil {
			return nil, err
		}
		cur = p
	}
	return nil, nil
}
