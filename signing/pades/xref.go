package pades

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sort"
)

// xrefEntry locates one object: kind 1 at an offset, kind 2 as the index-th
// object of object stream off; kind 0 is free.
type xrefEntry struct {
	kind  byte
	off   int64
	gen   int
	index int
}

// section is one cross-reference section of the /Prev chain, with the
// entries of a hybrid file's /XRefStm merged in.
type section struct {
	offset  int64 // where the xref table or stream starts
	stream  bool  // a cross-reference stream, not a table
	selfNum int   // object number of the xref stream, when stream
	entries map[int]xrefEntry
	trailer *dict
}

// document reads a PDF through an io.ReaderAt: only the cross-reference
// chain is read up front, objects are parsed when asked for.
type document struct {
	r        io.ReaderAt
	size     int64
	sections []*section // newest first, following /Prev
	cache    map[int64]object
	objStms  map[int64][]objStmEntry // keyed by the object stream's offset
	entries  int
}

type objStmEntry struct {
	num int
	obj object
}

// openDocument reads the cross-reference chain of the PDF in r.
func openDocument(r io.ReaderAt, size int64) (*document, error) {
	if size < 0 {
		return nil, errors.New("pades: negative size")
	}
	d := &document{r: r, size: size, cache: make(map[int64]object), objStms: make(map[int64][]objStmEntry)}
	head := make([]byte, min(size, 1024))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading PDF header: %w", err)
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		return nil, syntaxErrorf("no %%PDF- header")
	}
	off, err := d.startXref()
	if err != nil {
		return nil, err
	}
	seen := make(map[int64]bool)
	for off >= 0 {
		if len(d.sections) >= maxSections {
			return nil, syntaxErrorf("more than %d cross-reference sections", maxSections)
		}
		if seen[off] {
			return nil, syntaxErrorf("cross-reference chain loops at offset %d", off)
		}
		seen[off] = true
		s, err := d.readSection(off)
		if err != nil {
			return nil, err
		}
		if xs, ok := s.trailer.get("XRefStm").(int64); ok && !s.stream {
			if !seen[xs] {
				seen[xs] = true
				hs, err := d.readSection(xs)
				if err != nil {
					return nil, fmt.Errorf("hybrid cross-reference stream: %w", err)
				}
				// In a hybrid file the table wins, except where it marks
				// free an object the stream compresses.
				for n, e := range hs.entries {
					if te, ok := s.entries[n]; !ok || te.kind == 0 {
						s.entries[n] = e
					}
				}
			}
		}
		d.sections = append(d.sections, s)
		off = -1
		if p, ok := s.trailer.get("Prev").(int64); ok {
			if p < 0 || p >= size {
				return nil, syntaxErrorf("/Prev %d outside the file", p)
			}
			off = p
		}
	}
	return d, nil
}

// startXref finds the offset after the last "startxref" keyword.
func (d *document) startXref() (int64, error) {
	tail := min(d.size, 2048)
	buf := make([]byte, tail)
	if _, err := d.r.ReadAt(buf, d.size-tail); err != nil && err != io.EOF {
		return 0, fmt.Errorf("reading PDF trailer: %w", err)
	}
	i := bytes.LastIndex(buf, []byte("startxref"))
	if i < 0 {
		return 0, syntaxErrorf("no startxref")
	}
	l := newLexer(bytes.NewReader(buf[i+len("startxref"):]), 0)
	t, err := l.next()
	if err != nil || t.kind != tInt || t.i < 0 || t.i >= d.size {
		return 0, syntaxErrorf("bad startxref")
	}
	return t.i, nil
}

func (d *document) readSection(off int64) (*section, error) {
	l := newLexerAt(d.r, off, d.size)
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
	return nil, syntaxErrorf("no cross-reference section at offset %d", off)
}

func (d *document) readTable(l *lexer, off int64) (*section, error) {
	l.next()
	s := &section{offset: off, entries: make(map[int]xrefEntry)}
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
		if t.kind != tInt || c.kind != tInt || t.i < 0 || c.i < 0 || t.i+c.i > maxObjects {
			return nil, syntaxErrorf("bad cross-reference subsection at offset %d", t.pos)
		}
		d.entries += int(c.i)
		if d.entries > maxObjects {
			return nil, syntaxErrorf("too many cross-reference entries")
		}
		for i := int64(0); i < c.i; i++ {
			o, err1 := l.next()
			g, err2 := l.next()
			k, err3 := l.next()
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, err
			}
			if o.kind != tInt || g.kind != tInt || k.kind != tKeyword || (k.s != "n" && k.s != "f") {
				return nil, syntaxErrorf("bad cross-reference entry at offset %d", o.pos)
			}
			n := int(t.i + i)
			if _, dup := s.entries[n]; dup {
				continue
			}
			e := xrefEntry{kind: 0, gen: int(g.i)}
			if k.s == "n" {
				e = xrefEntry{kind: 1, off: o.i, gen: int(g.i)}
			}
			s.entries[n] = e
		}
	}
	v, err := l.object(0)
	if err != nil {
		return nil, fmt.Errorf("trailer at offset %d: %w", off, err)
	}
	tr, ok := v.(*dict)
	if !ok {
		return nil, syntaxErrorf("trailer at offset %d is not a dictionary", off)
	}
	s.trailer = tr
	return s, nil
}

func (d *document) readXrefStream(l *lexer, off int64) (*section, error) {
	num, _, v, err := l.indirectObject()
	if err != nil {
		return nil, fmt.Errorf("cross-reference stream at offset %d: %w", off, err)
	}
	st, ok := v.(*stream)
	if !ok || st.dict.name("Type") != "XRef" {
		return nil, syntaxErrorf("object at offset %d is not a cross-reference stream", off)
	}
	data, err := d.streamData(st, nil)
	if err != nil {
		return nil, fmt.Errorf("cross-reference stream at offset %d: %w", off, err)
	}
	w, _ := st.dict.get("W").(array)
	if len(w) != 3 {
		return nil, syntaxErrorf("cross-reference stream /W is not three numbers")
	}
	var widths [3]int
	row := 0
	for i, x := range w {
		n, ok := x.(int64)
		if !ok || n < 0 || n > 8 {
			return nil, syntaxErrorf("bad cross-reference stream /W")
		}
		widths[i] = int(n)
		row += int(n)
	}
	if row == 0 {
		return nil, syntaxErrorf("bad cross-reference stream /W")
	}
	size, _ := st.dict.get("Size").(int64)
	index := array{int64(0), size}
	if ix, ok := st.dict.get("Index").(array); ok {
		index = ix
	}
	if len(index)%2 != 0 {
		return nil, syntaxErrorf("bad cross-reference stream /Index")
	}
	s := &section{offset: off, stream: true, selfNum: num, entries: make(map[int]xrefEntry), trailer: st.dict}
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
		if !ok1 || !ok2 || first < 0 || count < 0 || first+count > maxObjects {
			return nil, syntaxErrorf("bad cross-reference stream /Index")
		}
		d.entries += int(count)
		if d.entries > maxObjects {
			return nil, syntaxErrorf("too many cross-reference entries")
		}
		for j := int64(0); j < count; j++ {
			if pos+row > len(data) {
				return nil, syntaxErrorf("cross-reference stream too short")
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
			if _, dup := s.entries[n]; dup {
				continue
			}
			switch typ {
			case 0:
				s.entries[n] = xrefEntry{kind: 0, gen: int(f3)}
			case 1:
				s.entries[n] = xrefEntry{kind: 1, off: f2, gen: int(f3)}
			case 2:
				s.entries[n] = xrefEntry{kind: 2, off: f2, index: int(f3)}
			default:
				// Unknown types are null references (ISO 32000-1, 7.5.8.3).
			}
		}
	}
	return s, nil
}

// streamData returns the decoded data of a stream (xref or object stream
// only: small, bounded). v resolves an indirect /Length; nil means direct
// lengths only.
func (d *document) streamData(st *stream, v *view) ([]byte, error) {
	length := st.length
	if length < 0 {
		if r, ok := st.dict.get("Length").(ref); ok && v != nil {
			if n, err := v.resolve(r, 1); err == nil {
				if n, ok := n.(int64); ok && n >= 0 {
					length = n
				}
			}
		}
	}
	if length < 0 || length > maxStreamLen || st.dataOff+length > d.size {
		var err error
		length, err = d.findEndstream(st.dataOff)
		if err != nil {
			return nil, err
		}
	}
	raw := make([]byte, length)
	if _, err := d.r.ReadAt(raw, st.dataOff); err != nil {
		return nil, fmt.Errorf("reading stream: %w", err)
	}
	return decodeStream(st.dict, raw)
}

// findEndstream finds the data length of a stream whose /Length is unusable.
func (d *document) findEndstream(start int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk+16)
	for off := start; off < d.size && off-start <= maxStreamLen; off += chunk {
		n, err := d.r.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("reading stream: %w", err)
		}
		if i := bytes.Index(buf[:n], []byte("endstream")); i >= 0 {
			end := off + int64(i)
			// Drop the end-of-line before the keyword.
			for end > start {
				var c [1]byte
				if _, err := d.r.ReadAt(c[:], end-1); err != nil || (c[0] != '\n' && c[0] != '\r') {
					break
				}
				end--
			}
			return end - start, nil
		}
	}
	return 0, syntaxErrorf("stream without endstream")
}

func decodeStream(sd *dict, raw []byte) ([]byte, error) {
	var filters []name
	switch f := sd.get("Filter").(type) {
	case nil:
	case name:
		filters = []name{f}
	case array:
		for _, x := range f {
			n, ok := x.(name)
			if !ok {
				return nil, syntaxErrorf("bad /Filter")
			}
			filters = append(filters, n)
		}
	default:
		return nil, syntaxErrorf("bad /Filter")
	}
	if len(filters) > 1 {
		return nil, fmt.Errorf("pades: %d chained stream filters are not supported", len(filters))
	}
	if len(filters) == 0 {
		return raw, nil
	}
	if filters[0] != "FlateDecode" && filters[0] != "Fl" {
		return nil, fmt.Errorf("pades: stream filter /%s is not supported", filters[0])
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, syntaxErrorf("bad Flate stream: %v", err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, maxStreamLen+1))
	if n > maxStreamLen {
		return nil, syntaxErrorf("stream decodes to more than %d bytes", maxStreamLen)
	}
	if err != nil && out.Len() == 0 {
		return nil, syntaxErrorf("bad Flate stream: %v", err)
	}
	parms, _ := sd.get("DecodeParms").(*dict)
	if a, ok := sd.get("DecodeParms").(array); ok && len(a) == 1 {
		parms, _ = a[0].(*dict)
	}
	return unpredict(out.Bytes(), parms)
}

// unpredict undoes a PNG predictor (the only kind cross-reference streams
// use in practice).
func unpredict(data []byte, parms *dict) ([]byte, error) {
	pred, _ := parms.get("Predictor").(int64)
	if pred < 10 {
		if pred > 1 {
			return nil, fmt.Errorf("pades: TIFF predictor is not supported")
		}
		return data, nil
	}
	cols := int64(1)
	if c, ok := parms.get("Columns").(int64); ok {
		cols = c
	}
	colors := int64(1)
	if c, ok := parms.get("Colors").(int64); ok {
		colors = c
	}
	bpc := int64(8)
	if c, ok := parms.get("BitsPerComponent").(int64); ok {
		bpc = c
	}
	if cols < 1 || cols > 1<<20 || colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return nil, syntaxErrorf("bad predictor parameters")
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
				return nil, syntaxErrorf("bad PNG predictor type %d", ft)
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

// view resolves objects as of one revision: sections[k:] of the chain.
type view struct {
	d *document
	k int
}

func (d *document) latest() *view { return &view{d: d, k: 0} }

func (v *view) lookup(num int) (xrefEntry, bool) {
	for _, s := range v.d.sections[v.k:] {
		if e, ok := s.entries[num]; ok {
			return e, e.kind != 0
		}
	}
	return xrefEntry{}, false
}

// trailer returns the newest trailer of the view that has a /Root.
func (v *view) trailer() *dict {
	for _, s := range v.d.sections[v.k:] {
		if s.trailer.get("Root") != nil {
			return s.trailer
		}
	}
	return v.d.sections[v.k].trailer
}

// get returns object num as of this view; nil (null) for a free or missing
// object, as the PDF specification says.
func (v *view) get(num int, hops int) (object, error) {
	if hops > maxRefHops {
		return nil, syntaxErrorf("indirect references nested too deeply")
	}
	e, ok := v.lookup(num)
	if !ok {
		return nil, nil
	}
	switch e.kind {
	case 1:
		return v.d.objectAt(e.off, num, v, hops)
	case 2:
		return v.d.compressed(e, num, v, hops)
	}
	return nil, nil
}

func (d *document) objectAt(off int64, num int, v *view, hops int) (object, error) {
	if obj, ok := d.cache[off]; ok {
		return obj, nil
	}
	if off < 0 || off >= d.size {
		return nil, syntaxErrorf("object %d offset %d outside the file", num, off)
	}
	l := newLexerAt(d.r, off, d.size)
	n, _, obj, err := l.indirectObject()
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", num, err)
	}
	if n != num {
		return nil, syntaxErrorf("object %d expected at offset %d, found %d", num, off, n)
	}
	if st, ok := obj.(*stream); ok && st.length < 0 {
		if r, ok := st.dict.get("Length").(ref); ok && r.num != num {
			if lv, err := v.get(r.num, hops+1); err == nil {
				if n, ok := lv.(int64); ok && n >= 0 {
					st.length = n
				}
			}
		}
	}
	d.cache[off] = obj
	return obj, nil
}

func (d *document) compressed(e xrefEntry, num int, v *view, hops int) (object, error) {
	se, ok := v.lookup(int(e.off))
	if !ok || se.kind != 1 {
		return nil, syntaxErrorf("object stream %d of object %d not found", e.off, num)
	}
	objs, ok := d.objStms[se.off]
	if !ok {
		sv, err := d.objectAt(se.off, int(e.off), v, hops+1)
		if err != nil {
			return nil, err
		}
		st, ok := sv.(*stream)
		if !ok || st.dict.name("Type") != "ObjStm" {
			return nil, syntaxErrorf("object %d is not an object stream", e.off)
		}
		data, err := d.streamData(st, v)
		if err != nil {
			return nil, fmt.Errorf("object stream %d: %w", e.off, err)
		}
		objs, err = parseObjStm(st.dict, data)
		if err != nil {
			return nil, fmt.Errorf("object stream %d: %w", e.off, err)
		}
		d.objStms[se.off] = objs
	}
	if e.index < 0 || e.index >= len(objs) || objs[e.index].num != num {
		// Fall back to a search by number: some writers get the index wrong.
		for _, o := range objs {
			if o.num == num {
				return o.obj, nil
			}
		}
		return nil, syntaxErrorf("object %d not in object stream %d", num, e.off)
	}
	return objs[e.index].obj, nil
}

func parseObjStm(sd *dict, data []byte) ([]objStmEntry, error) {
	n, _ := sd.get("N").(int64)
	first, _ := sd.get("First").(int64)
	if n < 0 || n > int64(len(data))/2 || first < 0 || first > int64(len(data)) {
		return nil, syntaxErrorf("bad /N or /First")
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
		if a.kind != tInt || b.kind != tInt || b.i < 0 || first+b.i > int64(len(data)) || a.i < 0 || a.i > maxObjects {
			return nil, syntaxErrorf("bad object stream header")
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

// resolve follows indirect references until a direct object.
func (v *view) resolve(obj object, hops int) (object, error) {
	for {
		r, ok := obj.(ref)
		if !ok {
			return obj, nil
		}
		if hops > maxRefHops {
			return nil, syntaxErrorf("indirect references nested too deeply")
		}
		var err error
		obj, err = v.get(r.num, hops)
		if err != nil {
			return nil, err
		}
		hops++
	}
}

func (v *view) dict(obj object) (*dict, error) {
	o, err := v.resolve(obj, 0)
	if err != nil {
		return nil, err
	}
	switch o := o.(type) {
	case *dict:
		return o, nil
	case *stream:
		return o.dict, nil
	case nil:
		return nil, nil
	}
	return nil, syntaxErrorf("expected a dictionary, found %T", o)
}

func (v *view) array(obj object) (array, error) {
	o, err := v.resolve(obj, 0)
	if err != nil {
		return nil, err
	}
	switch o := o.(type) {
	case array:
		return o, nil
	case nil:
		return nil, nil
	}
	return nil, syntaxErrorf("expected an array, found %T", o)
}

func (v *view) catalog() (*dict, ref, error) {
	r, ok := v.trailer().get("Root").(ref)
	if !ok {
		return nil, ref{}, syntaxErrorf("trailer has no /Root reference")
	}
	c, err := v.dict(r)
	if err != nil {
		return nil, r, fmt.Errorf("catalog: %w", err)
	}
	if c == nil {
		return nil, r, syntaxErrorf("catalog object %d missing", r.num)
	}
	return c, r, nil
}

// firstPage walks the page tree down its first kids to the first page.
func (v *view) firstPage(catalog *dict) (*dict, ref, error) {
	node := catalog.get("Pages")
	for i := 0; i < maxPageTreeHops; i++ {
		r, ok := node.(ref)
		if !ok {
			return nil, ref{}, syntaxErrorf("page tree node is not an indirect object")
		}
		d, err := v.dict(r)
		if err != nil {
			return nil, ref{}, fmt.Errorf("page tree: %w", err)
		}
		if d == nil {
			return nil, ref{}, syntaxErrorf("page tree node %d missing", r.num)
		}
		if d.name("Type") == "Page" || d.get("Kids") == nil {
			return d, r, nil
		}
		kids, err := v.array(d.get("Kids"))
		if err != nil || len(kids) == 0 {
			return nil, ref{}, syntaxErrorf("page tree node %d has no kids", r.num)
		}
		node = kids[0]
	}
	return nil, ref{}, syntaxErrorf("page tree too deep")
}

// maxObjNum returns the highest object number any section mentions.
func (d *document) maxObjNum() int {
	m := 0
	for _, s := range d.sections {
		for n := range s.entries {
			m = max(m, n)
		}
		m = max(m, s.selfNum)
	}
	return m
}

// sortedNums returns the object numbers of m in increasing order.
func sortedNums(m map[int]xrefEntry) []int {
	out := make([]int, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}
