// Package pdftest appends incremental updates to PDF files in tests: the
// writer an attacker uses between two signatures (replace or add objects,
// free them, name any object as /Info, point /Prev anywhere, put the
// cross-reference section where it likes) and the reader to find what to
// change. It writes classic cross-reference tables whatever the base
// file uses, as many tools do.
package pdftest

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/lienthong/lienthong/signing/pdf"
)

// Doc is a parsed PDF and the objects tests usually change.
type Doc struct {
	Bytes      []byte
	Doc        *pdf.Document
	V          *pdf.View // the newest revision
	Catalog    *pdf.Dict
	CatalogRef pdf.Ref
	Page       *pdf.Dict // the first page
	PageRef    pdf.Ref
}

// Load parses b.
func Load(tb testing.TB, b []byte) *Doc {
	tb.Helper()
	d, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatalf("pdftest: %v", err)
	}
	v := d.Latest()
	cat, catRef, err := v.Catalog()
	if err != nil {
		tb.Fatalf("pdftest: %v", err)
	}
	page, pageRef, err := v.FirstPage(cat)
	if err != nil {
		tb.Fatalf("pdftest: %v", err)
	}
	return &Doc{Bytes: b, Doc: d, V: v, Catalog: cat, CatalogRef: catRef, Page: page, PageRef: pageRef}
}

// Dict returns object num as a dictionary (a stream's dictionary).
func (d *Doc) Dict(tb testing.TB, num int) *pdf.Dict {
	tb.Helper()
	o, err := d.V.Dict(pdf.Ref{Num: num})
	if err != nil || o == nil {
		tb.Fatalf("pdftest: object %d: %v", num, err)
	}
	return o
}

// Ref returns the reference under key k of dictionary x.
func Ref(tb testing.TB, x *pdf.Dict, k pdf.Name) pdf.Ref {
	tb.Helper()
	r, ok := x.Get(k).(pdf.Ref)
	if !ok {
		tb.Fatalf("pdftest: /%s is %T, not a reference", k, x.Get(k))
	}
	return r
}

// NextNum returns a free object number above every one the file uses.
func (d *Doc) NextNum() int {
	n := d.Doc.MaxObjNum() + 1
	if s, ok := d.V.Trailer().Get("Size").(int64); ok && int(s) > n {
		n = int(s)
	}
	return n
}

// StartXref returns the offset of the newest cross-reference section.
func (d *Doc) StartXref() int64 { return d.Doc.Sections[0].Offset }

// Update is an incremental update being written after a base file.
type Update struct {
	tb      testing.TB
	base    *Doc
	objs    map[int][]byte
	free    []int
	trailer map[pdf.Name]string
	prev    *int64
	pad     int
	startAt *int64 // startxref value to write instead of the new section's
	noXref  bool
	keep    map[int]int64 // entries pointing at objects already in the file
}

// Append starts an update of base.
func Append(tb testing.TB, base []byte) *Update {
	tb.Helper()
	return &Update{tb: tb, base: Load(tb, base), objs: make(map[int][]byte), trailer: make(map[pdf.Name]string), keep: make(map[int]int64)}
}

// Base returns the parsed base file.
func (u *Update) Base() *Doc { return u.base }

// Set writes object num with body, raw PDF syntax ("<< ... >>", or a
// stream made by Stream).
func (u *Update) Set(num int, body string) *Update {
	u.objs[num] = []byte(body)
	return u
}

// SetObject writes object num as obj.
func (u *Update) SetObject(num int, obj pdf.Object) *Update {
	var b bytes.Buffer
	if err := pdf.WriteObject(&b, obj); err != nil {
		u.tb.Fatalf("pdftest: %v", err)
	}
	return u.Set(num, b.String())
}

// Entry lists object num at off, an object already in the file (to
// re-declare objects of a revision the new /Prev skips).
func (u *Update) Entry(num int, off int64) *Update {
	u.keep[num] = off
	return u
}

// Free marks object num free.
func (u *Update) Free(num int) *Update {
	u.free = append(u.free, num)
	return u
}

// Trailer sets a trailer entry to raw PDF syntax ("12 0 R").
func (u *Update) Trailer(k pdf.Name, raw string) *Update {
	u.trailer[k] = raw
	return u
}

// Prev points the trailer's /Prev at off instead of the base's newest
// section.
func (u *Update) Prev(off int64) *Update {
	u.prev = &off
	return u
}

// Pad writes n bytes of comment before the objects.
func (u *Update) Pad(n int) *Update {
	u.pad = n
	return u
}

// StartXref ends the update with "startxref off" instead of pointing at
// the section it wrote; with no objects it writes no section at all.
func (u *Update) StartXref(off int64) *Update {
	u.startAt = &off
	return u
}

// OnlyStartXref ends the update after its objects with "startxref off",
// writing no cross-reference section: off names one already in the file.
func (u *Update) OnlyStartXref(off int64) *Update {
	u.noXref = true
	return u.StartXref(off)
}

// Stream returns the body of a stream object with the dictionary entries
// dict (without << >>) and data.
func Stream(dict, data string) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// Bytes returns the base file followed by the update.
func (u *Update) Bytes() []byte {
	var b bytes.Buffer
	b.Write(u.base.Bytes)
	if n := len(u.base.Bytes); n > 0 && u.base.Bytes[n-1] != '\n' {
		b.WriteByte('\n')
	}
	if u.pad > 0 {
		b.WriteByte('%')
		b.Write(bytes.Repeat([]byte{' '}, max(u.pad-2, 0)))
		b.WriteByte('\n')
	}
	entries := make(map[int]pdf.XrefEntry)
	nums := make([]int, 0, len(u.objs))
	for n := range u.objs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	maxNum := u.base.NextNum() - 1
	for _, n := range nums {
		entries[n] = pdf.XrefEntry{Kind: 1, Off: int64(b.Len())}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, u.objs[n])
		maxNum = max(maxNum, n)
	}
	if u.noXref {
		fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", *u.startAt)
		return b.Bytes()
	}
	for n, off := range u.keep {
		if _, ok := entries[n]; !ok {
			entries[n] = pdf.XrefEntry{Kind: 1, Off: off}
			nums = append(nums, n)
			maxNum = max(maxNum, n)
		}
	}
	slices.Sort(nums)
	xref := int64(b.Len())
	b.WriteString("xref\n0 1\n0000000000 65535 f \n")
	free := slices.Clone(u.free)
	slices.Sort(free)
	for _, n := range free {
		fmt.Fprintf(&b, "%d 1\n0000000000 00001 f \n", n)
		maxNum = max(maxNum, n)
	}
	for _, n := range nums {
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n \n", n, entries[n].Off)
	}
	prev := u.base.StartXref()
	if u.prev != nil {
		prev = *u.prev
	}
	tr := map[pdf.Name]string{"Size": strconv.Itoa(maxNum + 1), "Root": fmt.Sprintf("%d %d R", u.base.CatalogRef.Num, u.base.CatalogRef.Gen), "Prev": strconv.FormatInt(prev, 10)}
	if info, ok := u.base.V.Trailer().Get("Info").(pdf.Ref); ok {
		tr["Info"] = fmt.Sprintf("%d %d R", info.Num, info.Gen)
	}
	for k, v := range u.trailer {
		tr[k] = v
	}
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	b.WriteString("trailer\n<<")
	for _, k := range keys {
		if v := tr[pdf.Name(k)]; v != "" {
			fmt.Fprintf(&b, " /%s %s", k, v)
		}
	}
	b.WriteString(" >>\n")
	at := xref
	if u.startAt != nil {
		at = *u.startAt
	}
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", at)
	return b.Bytes()
}
