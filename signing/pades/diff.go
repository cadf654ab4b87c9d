package pades

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/lienthong/lienthong/signing/pdf"
)

// Difference analysis: what changed between the revision a signature
// signed and the final revision, judged by how the document uses each
// object, against an explicit allow-list (the approach of pyHanko's
// difference analysis and the EU DSS validator).
//
// Both revisions are walked together from the trailer's /Root: the page
// tree, each page's content, resources and annotations, the AcroForm and
// its field tree, and every other catalog entry (names, outlines,
// OpenAction, ...). An object is judged where it is used, never by the
// type it declares, so a stream that calls itself /Metadata but is drawn
// as page content is page content, and the object the trailer names as
// /Info is judged by its other uses. Allowed after a signature, at every
// DocMDP level but 1:
//   - a new signature field (and its widget, appearance and signature
//     dictionary) whose widget is invisible or covers at most a quarter of
//     its page; an empty signature field getting its value, likewise;
//   - the AcroForm growing by such fields (/Fields, /SigFlags), and its
//     default resources /DR added where it had none;
//   - /DSS, /Extensions, the XMP /Metadata stream and the /Info
//     dictionary, which nothing draws;
//   - with DocMDP P=2 or 3: filling in existing form fields (/V, /AS, /AP)
//     that no FieldMDP lock covers;
//   - with DocMDP P=3: adding, changing or removing annotations that are
//     not widgets.
//
// With DocMDP P=1 only DSS, metadata and document timestamps may follow.
// Anything else, including an object filling a reference the signed
// revision left dangling, is a change named by object, use and reason.

// Limits of the walk, against hostile files.
const (
	maxDiffObjects = 200_000   // object pairs visited per signature
	maxDiffVisits  = 1 << 20   // object pairs visited per verification, all signatures
	maxDiffBytes   = 512 << 20 // stream bytes compared per verification
	maxChanges     = 16        // changes listed per signature
	maxWidgetShare = 0.25      // of its page a new signature widget may cover
)

// role says how the document uses an object, which decides what may
// change in it.
type role int

const (
	roleOther    role = iota // drawn or acted on: nothing may change
	roleCatalog              // the document catalog
	rolePageTree             // an intermediate page tree node
	rolePage                 // a page
	roleAcroForm             // the interactive form dictionary
	roleForm                 // a form field or widget (signature or not)
	roleAnnot                // an annotation that is not a widget
	roleSigValue             // a signature dictionary (/V of a signature field)
)

// permissions are what may change after one signature.
type permissions struct {
	docMDP    int    // 0 not certified, else the certification's /P
	certifier string // field of the certification signature
	// locks are the FieldMDP locks of this and earlier signatures.
	locks []fieldLock
}

// fieldLock is one signature's FieldMDP lock (its field's /Lock or its
// /Reference FieldMDP transform): Action All, Include or Exclude.
type fieldLock struct {
	by     string // the locking signature's field
	action pdf.Name
	fields map[string]bool
}

func (l fieldLock) covers(field string) bool {
	switch l.action {
	case "All":
		return true
	case "Include":
		return l.fields[field]
	case "Exclude":
		return !l.fields[field]
	}
	return false
}

// lockedBy returns the signature locking field, or "".
func (p *permissions) lockedBy(field string) string {
	for _, l := range p.locks {
		if l.covers(field) {
			return l.by
		}
	}
	return ""
}

// walkCtx is where in the document a pair of objects is used.
type walkCtx struct {
	role   role
	path   string    // "page 1 /Contents"
	holder string    // the indirect object holding a direct value: "12 0 obj"
	page   *pdf.Dict // the page an annotation lies on
	field  string    // parent field name, for the field tree
	ft     pdf.Name  // inherited field type
}

func (c walkCtx) sub(key pdf.Name, r role) walkCtx {
	c.role = r
	c.path += " /" + string(key)
	return c
}

// pair is one use: the value in the signed revision and in the final one.
type pair struct {
	old, new pdf.Object
	ctx      walkCtx
}

type visitKey struct {
	old, new int
	role     role
}

// differ compares one signed revision with the final revision.
type differ struct {
	a       *analyzer
	oldV    *pdf.View // as signed
	newV    *pdf.View // final
	end     int64     // end of the signed bytes
	perm    *permissions
	stack   []pair
	visited map[visitKey]bool
	same    map[int]bool
	pages   int
	changes []string
	named   map[string]bool
}

// change records a forbidden change of the object holder.
func (d *differ) change(holder, path, format string, args ...any) {
	if d.named[holder] || len(d.changes) >= maxChanges {
		return
	}
	d.named[holder] = true
	d.changes = append(d.changes, fmt.Sprintf("%s (%s): %s", holder, strings.TrimSpace(path), fmt.Sprintf(format, args...)))
}

func objName(r pdf.Ref) string { return fmt.Sprintf("%d %d obj", r.Num, r.Gen) }

// unchanged reports whether object num is the same physical object, inside
// the signed bytes, in both revisions.
func (d *differ) unchanged(num int) bool {
	if s, ok := d.same[num]; ok {
		return s
	}
	s := d.locate(d.oldV, num) == d.locate(d.newV, num) && d.locate(d.oldV, num).off >= 0
	d.same[num] = s
	return s
}

type location struct {
	off   int64 // of the object, or of its object stream; -1 when absent
	index int
}

func (d *differ) locate(v *pdf.View, num int) location {
	e, ok := v.Lookup(num)
	if !ok {
		return location{off: -1}
	}
	switch e.Kind {
	case 1:
		if v == d.oldV && e.Off >= d.end {
			return location{off: -1}
		}
		return location{off: e.Off}
	case 2:
		c, ok := v.Lookup(int(e.Off))
		if !ok || c.Kind != 1 || (v == d.oldV && c.Off >= d.end) {
			return location{off: -1}
		}
		return location{off: c.Off, index: e.Index + 1}
	}
	return location{off: -1}
}

// get resolves obj in view v. In the signed revision an object lying
// after the signed bytes did not exist: it reads as null.
func (d *differ) get(v *pdf.View, obj pdf.Object) (pdf.Object, error) {
	for hops := 0; ; hops++ {
		r, ok := obj.(pdf.Ref)
		if !ok {
			return obj, nil
		}
		if hops > 32 {
			return nil, pdf.SyntaxErrorf("indirect references nested too deeply")
		}
		if d.locate(v, r.Num).off < 0 {
			return nil, nil
		}
		var err error
		if obj, err = v.Get(r.Num, 0); err != nil {
			return nil, err
		}
	}
}

func asDict(o pdf.Object) *pdf.Dict {
	switch o := o.(type) {
	case *pdf.Dict:
		return o
	case *pdf.Stream:
		return o.Dict
	}
	return nil
}

// run walks both revisions and returns the forbidden changes.
func (d *differ) run() []string {
	ot, nt := d.oldV.Trailer(), d.newV.Trailer()
	if !d.equal(ot.Get("Root"), nt.Get("Root"), 0) {
		d.change("trailer", "trailer /Root", "document catalog replaced")
		return d.changes
	}
	if ot.Get("Encrypt") == nil && nt.Get("Encrypt") != nil {
		d.change("trailer", "trailer /Encrypt", "encryption added")
	}
	d.push(pair{ot.Get("Root"), nt.Get("Root"), walkCtx{role: roleCatalog, path: "catalog", holder: "trailer"}})
	count := 0
	for len(d.stack) > 0 {
		p := d.stack[len(d.stack)-1]
		d.stack = d.stack[:len(d.stack)-1]
		count++
		d.a.visits++
		if count > maxDiffObjects {
			d.change("document", "whole document", "more than %d objects to compare", maxDiffObjects)
			break
		}
		if d.a.visits > maxDiffVisits {
			d.change("document", "whole document", "more than %d objects to compare for all signatures", maxDiffVisits)
			break
		}
		d.visit(p)
	}
	return d.changes
}

// push queues a use whose values are references (or holds direct values
// of one), once per pair of objects and role.
func (d *differ) push(p pair) {
	or, ok1 := p.old.(pdf.Ref)
	nr, ok2 := p.new.(pdf.Ref)
	k := visitKey{-1, -1, p.ctx.role}
	if ok1 {
		k.old = or.Num
	}
	if ok2 {
		k.new = nr.Num
	}
	if ok1 || ok2 {
		if d.visited[k] {
			return
		}
		d.visited[k] = true
	}
	d.stack = append(d.stack, p)
}

// visit resolves a pair and judges it by its role.
func (d *differ) visit(p pair) {
	c := p.ctx
	nr, newIsRef := p.new.(pdf.Ref)
	or, oldIsRef := p.old.(pdf.Ref)
	switch {
	case newIsRef:
		c.holder = objName(nr)
	case oldIsRef:
		c.holder = objName(or)
	}
	identical := newIsRef && oldIsRef && nr.Num == or.Num && d.unchanged(nr.Num)
	o, oerr := d.get(d.oldV, p.old)
	if oerr != nil {
		o = nil
	}
	n, err := d.get(d.newV, p.new)
	if err != nil {
		d.change(c.holder, c.path, "cannot be read: %v", err)
		return
	}
	if identical {
		// The same bytes, signed: only what it refers to can differ; a
		// stream's indirect /Length can too.
		if st, ok := n.(*pdf.Stream); ok {
			if lr, ok := st.Dict.Get("Length").(pdf.Ref); ok && !d.unchanged(lr.Num) && c.role == roleOther {
				d.compareStreams(o, n, c)
			}
		}
	}
	switch c.role {
	case roleCatalog:
		d.catalog(asDict(o), asDict(n), c)
	case rolePageTree:
		d.pageTree(o, n, c)
	case rolePage:
		d.page(asDict(o), asDict(n), c)
	case roleAcroForm:
		d.acroForm(o, n, c)
	case roleForm:
		d.formObject(o, n, c)
	case roleAnnot:
		d.annotation(o, n, c)
	case roleSigValue:
		if o == nil && n != nil && !identical {
			return // a new signature dictionary: its own signature checks it
		}
		d.other(o, n, c)
	default:
		if isPage(o) && isPage(n) {
			return
		}
		if identical {
			d.descend(o, n, c)
			return
		}
		d.other(o, n, c)
	}
}

// other judges a use where nothing may change.
func (d *differ) other(o, n pdf.Object, c walkCtx) {
	switch {
	case o == nil && n != nil:
		d.change(c.holder, c.path, "object added where the signed revision had none")
		return
	case o != nil && n == nil:
		d.change(c.holder, c.path, "object deleted")
		return
	}
	if os, ok := o.(*pdf.Stream); ok {
		if ns, ok := n.(*pdf.Stream); ok {
			d.compareStreams(os, ns, c)
			d.compareDicts(os.Dict, ns.Dict, c, map[pdf.Name]bool{"Length": true})
			return
		}
	}
	d.compareValues(o, n, c, "")
}

// descend walks the references of an unchanged value.
func (d *differ) descend(o, n pdf.Object, c walkCtx) {
	if st, ok := n.(*pdf.Stream); ok {
		n = st.Dict
		if os, ok := o.(*pdf.Stream); ok {
			o = os.Dict
		}
	}
	d.compareValues(o, n, c, "")
}

// compareValues compares two direct values (references by number), queues
// the references for their own visit, and records a difference against
// c.holder.
func (d *differ) compareValues(o, n pdf.Object, c walkCtx, key pdf.Name) {
	if _, ok := n.(pdf.Ref); ok {
		if or, ok := o.(pdf.Ref); ok && or.Num == n.(pdf.Ref).Num {
			d.pushRef(o, n, c, key)
			return
		}
		if o == nil {
			d.change(c.holder, c.path, "reference added")
		} else {
			d.change(c.holder, c.path, "now refers to object %d", n.(pdf.Ref).Num)
		}
		return
	}
	switch nv := n.(type) {
	case *pdf.Dict:
		ov, ok := o.(*pdf.Dict)
		if !ok {
			d.change(c.holder, c.path, "changed")
			return
		}
		d.compareDicts(ov, nv, c, nil)
	case pdf.Array:
		ov, ok := o.(pdf.Array)
		if !ok || len(ov) != len(nv) {
			d.change(c.holder, c.path, "changed")
			return
		}
		for i := range nv {
			cc := c
			cc.path = fmt.Sprintf("%s[%d]", c.path, i)
			d.compareValues(ov[i], nv[i], cc, key)
		}
	default:
		if !d.equal(o, n, 0) {
			d.change(c.holder, c.path, "changed")
		}
	}
}

// referenceKeys point at objects used elsewhere (a page, a parent field,
// an annotation): they are compared as references, not walked.
var referenceKeys = map[pdf.Name]bool{"P": true, "Parent": true, "Pg": true, "Obj": true, "Popup": true, "IRT": true, "CO": true, "DocMDP": true, "Data": true}

// isPage reports whether o is a page or page tree node, which only the
// page tree uses; elsewhere (destinations) it is a reference.
func isPage(o pdf.Object) bool {
	d := asDict(o)
	return d != nil && (d.Name("Type") == "Page" || d.Name("Type") == "Pages")
}

func (d *differ) pushRef(o, n pdf.Object, c walkCtx, key pdf.Name) {
	if referenceKeys[key] && c.role == roleOther {
		return
	}
	d.push(pair{o, n, c})
}

// compareDicts compares two dictionaries key by key, except the keys skip
// says another rule handles; values that are references are queued in
// the role childRole gives (roleOther by default).
func (d *differ) compareDicts(o, n *pdf.Dict, c walkCtx, skip map[pdf.Name]bool) {
	if o == nil || n == nil {
		if o != n {
			d.change(c.holder, c.path, "changed")
		}
		return
	}
	for _, k := range n.Keys() {
		if skip[k] {
			continue
		}
		if _, ok := o.Lookup(k); !ok {
			d.change(c.holder, c.path, "/%s added", k)
			continue
		}
	}
	for _, k := range o.Keys() {
		if skip[k] {
			continue
		}
		nv, ok := n.Lookup(k)
		if !ok {
			d.change(c.holder, c.path, "/%s removed", k)
			continue
		}
		cc := c.sub(k, roleOther)
		if referenceKeys[k] {
			if !d.equal(o.Get(k), nv, 0) {
				d.change(c.holder, cc.path, "changed")
			}
			continue
		}
		d.compareValues(o.Get(k), nv, cc, k)
	}
}

// compareStreams compares the raw data of two streams, a chunk at a time.
func (d *differ) compareStreams(o, n pdf.Object, c walkCtx) {
	os, ok1 := o.(*pdf.Stream)
	ns, ok2 := n.(*pdf.Stream)
	if !ok1 || !ok2 {
		d.change(c.holder, c.path, "changed")
		return
	}
	ol, err1 := d.oldV.RawLength(os)
	nl, err2 := d.newV.RawLength(ns)
	what := "stream changed"
	if strings.HasSuffix(c.path, "/Contents") || strings.Contains(c.path, "/Contents[") {
		what = "content stream changed"
	}
	if err1 != nil || err2 != nil || ol != nl || os.DataOff+ol > d.end {
		d.change(c.holder, c.path, "%s", what)
		return
	}
	if os.DataOff == ns.DataOff {
		return
	}
	if d.a.compared+ol > maxDiffBytes {
		d.change(c.holder, c.path, "more than %d bytes of streams to compare", maxDiffBytes)
		return
	}
	d.a.compared += ol
	r := d.a.doc.R
	bo := io.NewSectionReader(r, os.DataOff, ol)
	bn := io.NewSectionReader(r, ns.DataOff, nl)
	if !sameReaders(bo, bn) {
		d.change(c.holder, c.path, "%s", what)
	}
}

func sameReaders(a, b io.Reader) bool {
	var x, y [32 << 10]byte
	for {
		n1, e1 := io.ReadFull(a, x[:])
		n2, e2 := io.ReadFull(b, y[:])
		if n1 != n2 || !bytes.Equal(x[:n1], y[:n2]) {
			return false
		}
		if e1 != nil || e2 != nil {
			return (e1 == io.EOF || e1 == io.ErrUnexpectedEOF) && (e2 == io.EOF || e2 == io.ErrUnexpectedEOF)
		}
	}
}

// equal compares two direct objects; references are compared by number.
func (d *differ) equal(x, y pdf.Object, depth int) bool {
	if depth > pdf.MaxDepth {
		return false
	}
	switch x := x.(type) {
	case *pdf.Dict:
		y, ok := y.(*pdf.Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.Keys() {
			yv, ok := y.Lookup(k)
			if !ok || !d.equal(x.Get(k), yv, depth+1) {
				return false
			}
		}
		return true
	case pdf.Array:
		y, ok := y.(pdf.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !d.equal(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case *pdf.String:
		y, ok := y.(*pdf.String)
		return ok && bytes.Equal(x.Bytes, y.Bytes)
	case *pdf.Stream:
		return false
	case nil:
		return y == nil
	default:
		return x == y
	}
}

// catalog: only /AcroForm (judged as a form), /DSS, /Extensions and
// /Metadata may change.
func (d *differ) catalog(o, n *pdf.Dict, c walkCtx) {
	if n == nil {
		d.change(c.holder, c.path, "catalog missing")
		return
	}
	if o == nil {
		d.change(c.holder, c.path, "catalog missing in the signed revision")
		return
	}
	skip := map[pdf.Name]bool{"AcroForm": true, "DSS": true, "Extensions": true, "Metadata": true, "Pages": true}
	d.compareDicts(o, n, c, skip)
	d.push(pair{o.Get("Pages"), n.Get("Pages"), c.sub("Pages", rolePageTree)})
	if !d.equal(o.Get("Pages"), n.Get("Pages"), 0) {
		d.change(c.holder, c.path+" /Pages", "page tree replaced")
	}
	ac := c.sub("AcroForm", roleAcroForm)
	ac.path = "AcroForm"
	if _, ok := n.Get("AcroForm").(pdf.Ref); !ok {
		// An inline form is judged as part of the catalog.
		d.acroForm(o.Get("AcroForm"), n.Get("AcroForm"), ac)
		return
	}
	d.push(pair{o.Get("AcroForm"), n.Get("AcroForm"), ac})
}

// pageTree: nothing may change in a node; its kids are pages or nodes.
func (d *differ) pageTree(o, n pdf.Object, c walkCtx) {
	od, nd := asDict(o), asDict(n)
	if nd == nil || od == nil {
		d.other(o, n, c)
		return
	}
	d.compareDicts(od, nd, c, map[pdf.Name]bool{"Kids": true, "Parent": true})
	ok, err := d.get(d.oldV, od.Get("Kids"))
	nk, err2 := d.get(d.newV, nd.Get("Kids"))
	oka, _ := ok.(pdf.Array)
	nka, _ := nk.(pdf.Array)
	if err != nil || err2 != nil || !d.equal(oka, nka, 0) {
		d.change(c.holder, c.path+" /Kids", "pages added, removed or reordered")
		return
	}
	// Kids in reverse, so that pages are visited (and numbered) in order.
	for i := len(nka) - 1; i >= 0; i-- {
		kid, _ := d.get(d.newV, nka[i])
		kd := asDict(kid)
		r := rolePage
		if kd != nil && (kd.Name("Type") == "Pages" || kd.Get("Kids") != nil) {
			r = rolePageTree
		}
		cc := c
		cc.role = r
		cc.path = "page tree"
		d.push(pair{oka[i], nka[i], cc})
	}
}

// page: only /Annots may change, judged annotation by annotation.
func (d *differ) page(o, n *pdf.Dict, c walkCtx) {
	d.pages++
	c.path = fmt.Sprintf("page %d", d.pages)
	if o == nil || n == nil {
		d.other(o, n, c)
		return
	}
	d.compareDicts(o, n, c, map[pdf.Name]bool{"Annots": true, "Parent": true})
	c.page = n
	ac := c.sub("Annots", roleOther)
	oa, err1 := d.get(d.oldV, o.Get("Annots"))
	na, err2 := d.get(d.newV, n.Get("Annots"))
	if err2 != nil {
		d.change(c.holder, ac.path, "cannot be read: %v", err2)
		return
	}
	if err1 != nil {
		oa = nil
	}
	if r, ok := n.Get("Annots").(pdf.Ref); ok {
		ac.holder = objName(r)
	}
	oldA, _ := oa.(pdf.Array)
	newA, _ := na.(pdf.Array)
	d.members(oldA, newA, ac, d.annotRole)
}

// annotRole is the role of an annotation: widgets are form objects.
func (d *differ) annotRole(n pdf.Object) role {
	nd, _ := d.get(d.newV, n)
	if dd := asDict(nd); dd != nil && dd.Name("Subtype") == "Widget" {
		return roleForm
	}
	return roleAnnot
}

// members compares an array of references by membership: entries kept are
// queued as pairs, added ones as new objects, and removed ones must be
// allowed to go (annotations at DocMDP P=3).
func (d *differ) members(oldA, newA pdf.Array, c walkCtx, roleOf func(pdf.Object) role) {
	kept := make(map[pdf.Ref]bool)
	for _, x := range newA {
		if r, ok := x.(pdf.Ref); ok {
			kept[r] = true
		}
	}
	had := make(map[pdf.Ref]bool)
	for _, x := range oldA {
		r, ok := x.(pdf.Ref)
		if !ok {
			continue
		}
		had[r] = true
		if !kept[r] {
			od, _ := d.get(d.oldV, r)
			isAnnot := asDict(od) != nil && asDict(od).Name("Subtype") != "Widget" && asDict(od).Get("FT") == nil
			if !(isAnnot && d.perm.docMDP == 3) {
				d.change(c.holder, c.path, "object %d removed", r.Num)
			}
		}
	}
	var od, nd []pdf.Object // direct entries must stay as they were
	for _, x := range oldA {
		if _, ok := x.(pdf.Ref); !ok {
			od = append(od, x)
		}
	}
	for _, x := range newA {
		if _, ok := x.(pdf.Ref); !ok {
			nd = append(nd, x)
		}
	}
	if !d.equal(pdf.Array(od), pdf.Array(nd), 0) {
		d.change(c.holder, c.path, "direct entries changed")
	}
	for i := len(newA) - 1; i >= 0; i-- {
		r, ok := newA[i].(pdf.Ref)
		if !ok {
			continue
		}
		cc := c
		cc.role = roleOf(r)
		if had[r] {
			d.push(pair{r, r, cc})
		} else {
			d.push(pair{nil, r, cc})
		}
	}
}

// acroForm: /Fields may grow by signature fields, /SigFlags may change;
// the rest (/NeedAppearances, /DA, /DR, /XFA, ...) may not.
func (d *differ) acroForm(o, n pdf.Object, c walkCtx) {
	od, nd := asDict(o), asDict(n)
	if nd == nil {
		if od != nil {
			d.change(c.holder, c.path, "form removed")
		}
		return
	}
	if od == nil {
		od = pdf.NewDict()
	}
	skip := map[pdf.Name]bool{"Fields": true, "SigFlags": true}
	if od.Get("DR") == nil {
		// Signers add default resources (fonts) for their appearance.
		skip["DR"] = true
	}
	d.compareDicts(od, nd, c, skip)
	fc := c.sub("Fields", roleForm)
	if r, ok := nd.Get("Fields").(pdf.Ref); ok {
		fc.holder = objName(r)
	}
	of, err1 := d.get(d.oldV, od.Get("Fields"))
	nf, err2 := d.get(d.newV, nd.Get("Fields"))
	if err2 != nil {
		d.change(fc.holder, fc.path, "cannot be read: %v", err2)
		return
	}
	if err1 != nil {
		of = nil
	}
	oa, _ := of.(pdf.Array)
	na, _ := nf.(pdf.Array)
	fc.field, fc.ft = "", ""
	d.members(oa, na, fc, func(pdf.Object) role { return roleForm })
}

// fieldInfo is what the field tree says about a field or widget.
type fieldInfo struct {
	name   string
	ft     pdf.Name
	widget bool
	field  bool // has /T or /FT: a field, maybe merged with its widget
}

// describe names a form object from its parent chain in view v.
func (d *differ) describe(v *pdf.View, obj *pdf.Dict) fieldInfo {
	fi := fieldInfo{widget: obj.Name("Subtype") == "Widget", field: obj.Get("T") != nil || obj.Get("FT") != nil}
	var parts []string
	cur := obj
	for i := 0; cur != nil && i < 32; i++ {
		if t, ok := cur.Get("T").(*pdf.String); ok {
			parts = append([]string{pdf.DecodeText(t.Bytes)}, parts...)
		}
		if fi.ft == "" {
			fi.ft = cur.Name("FT")
		}
		p, err := d.get(v, cur.Get("Parent"))
		if err != nil {
			break
		}
		cur = asDict(p)
	}
	fi.name = strings.Join(parts, ".")
	return fi
}

// formObject judges a form field and/or widget annotation.
func (d *differ) formObject(o, n pdf.Object, c walkCtx) {
	od, nd := asDict(o), asDict(n)
	if nd == nil {
		if od != nil {
			d.change(c.holder, c.path, "form field deleted")
		}
		return
	}
	fi := d.describe(d.newV, nd)
	what := "form field " + quoteField(fi.name)
	if fi.ft == "Sig" {
		what = "signature field " + quoteField(fi.name)
	}
	c.path = strings.TrimSpace(c.path + " " + what)
	if od == nil {
		d.newFormObject(nd, fi, c)
		return
	}
	ofi := d.describe(d.oldV, od)
	if ofi.ft != fi.ft {
		d.change(c.holder, c.path, "field type changed from %s to %s", ofi.ft, fi.ft)
		return
	}
	allowed := map[pdf.Name]bool{"Kids": true, "Parent": true, "P": true}
	var refusal string
	changed := func(k pdf.Name) bool { return !d.equal(od.Get(k), nd.Get(k), 0) }
	switch {
	case fi.ft == "Sig":
		if od.Get("V") == nil && nd.Get("V") != nil {
			// An empty signature field being signed.
			allowed["V"], allowed["AP"], allowed["AS"] = true, true, true
			if d.perm.docMDP == 1 && !d.isDocTimeStamp(nd.Get("V")) {
				refusal = d.p1()
			}
		}
		if changed("AP") && allowed["AP"] && fi.widget {
			if r := d.widgetTooLarge(nd, c); r != "" {
				refusal = r
			}
		}
	case changed("V") || changed("AS") || changed("AP"):
		allowed["V"], allowed["AS"], allowed["AP"] = true, true, true
		switch {
		case d.perm.docMDP == 0:
			refusal = "filled in; form filling needs a certification that allows it (DocMDP P=2 or 3)"
		case d.perm.docMDP == 1:
			refusal = d.p1()
		default:
			if by := d.perm.lockedBy(fi.name); by != "" {
				refusal = fmt.Sprintf("filled in, but signature %s locks it (FieldMDP)", quoteField(by))
			}
		}
	}
	for _, k := range nd.Keys() {
		if !allowed[k] && changed(k) {
			refusal = fmt.Sprintf("/%s changed", k)
			break
		}
	}
	for _, k := range od.Keys() {
		if _, ok := nd.Lookup(k); !ok && !allowed[k] {
			refusal = fmt.Sprintf("/%s removed", k)
			break
		}
	}
	if refusal != "" {
		d.change(c.holder, c.path, "%s", refusal)
	}
	// Follow what it refers to: kids, the signature value, appearances.
	if !changed("Kids") {
		ok, _ := d.get(d.oldV, od.Get("Kids"))
		nk, _ := d.get(d.newV, nd.Get("Kids"))
		oka, _ := ok.(pdf.Array)
		nka, _ := nk.(pdf.Array)
		kc := c
		kc.path = c.path + " /Kids"
		d.members(oka, nka, kc, func(pdf.Object) role { return roleForm })
	} else {
		d.change(c.holder, c.path, "/Kids changed")
	}
	if fi.ft == "Sig" && od.Get("V") != nil {
		d.push(pair{od.Get("V"), nd.Get("V"), c.sub("V", roleSigValue)})
	}
	if refusal != "" || !changed("AP") {
		// An appearance that did not change must not change under it.
		d.compareValues(od.Get("AP"), nd.Get("AP"), c.sub("AP", roleOther), "AP")
	}
	for _, k := range []pdf.Name{"MK", "Lock", "SV", "A", "AA", "DR"} {
		if nd.Get(k) != nil && !allowed[k] {
			d.compareValues(od.Get(k), nd.Get(k), c.sub(k, roleOther), k)
		}
	}
}

// newFormObject judges a form object the signed revision did not have:
// only signature fields and their widgets may be added.
func (d *differ) newFormObject(nd *pdf.Dict, fi fieldInfo, c walkCtx) {
	if fi.ft != "Sig" {
		d.change(c.holder, c.path, "added")
		return
	}
	if d.perm.docMDP == 1 && !d.isDocTimeStamp(nd.Get("V")) {
		d.change(c.holder, c.path, "added; %s", d.p1())
		return
	}
	if fi.widget {
		if r := d.widgetTooLarge(nd, c); r != "" {
			d.change(c.holder, c.path, "added, %s", r)
			return
		}
	}
	// New widgets among its kids.
	k, _ := d.get(d.newV, nd.Get("Kids"))
	ka, _ := k.(pdf.Array)
	kc := c
	kc.path = c.path + " /Kids"
	d.members(nil, ka, kc, func(pdf.Object) role { return roleForm })
}

func quoteField(name string) string { return "\"" + name + "\"" }

func (d *differ) p1() string {
	return fmt.Sprintf("the certification by signature %s (DocMDP P=1) allows no changes", quoteField(d.perm.certifier))
}

// isDocTimeStamp reports whether v is a document timestamp dictionary.
func (d *differ) isDocTimeStamp(v pdf.Object) bool {
	o, err := d.get(d.newV, v)
	dd := asDict(o)
	return err == nil && dd != nil && dd.Name("Type") == "DocTimeStamp"
}

// widgetTooLarge says why a signature widget's rectangle is not allowed:
// it must be invisible (no area) or cover at most maxWidgetShare of its
// page.
func (d *differ) widgetTooLarge(w *pdf.Dict, c walkCtx) string {
	rect := d.numbers(d.newV, w.Get("Rect"), 4)
	if rect == nil {
		return "" // no rectangle: not shown
	}
	wArea := abs(rect[2]-rect[0]) * abs(rect[3]-rect[1])
	if wArea == 0 {
		return ""
	}
	page := c.page
	if page == nil {
		p, _ := d.get(d.newV, w.Get("P"))
		page = asDict(p)
	}
	box := []float64{0, 0, 612, 792}
	for i, cur := 0, page; cur != nil && i < 32; i++ {
		if b := d.numbers(d.newV, cur.Get("MediaBox"), 4); b != nil {
			box = b
			break
		}
		p, _ := d.get(d.newV, cur.Get("Parent"))
		cur = asDict(p)
	}
	pArea := abs(box[2]-box[0]) * abs(box[3]-box[1])
	if pArea == 0 || wArea > maxWidgetShare*pArea {
		share := 100.0
		if pArea > 0 {
			share = min(100*wArea/pArea, 100)
		}
		return fmt.Sprintf("its widget covers %.0f%% of the page", share)
	}
	return ""
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// numbers reads an array of n numbers.
func (d *differ) numbers(v *pdf.View, obj pdf.Object, n int) []float64 {
	o, err := d.get(v, obj)
	a, ok := o.(pdf.Array)
	if err != nil || !ok || len(a) != n {
		return nil
	}
	out := make([]float64, n)
	for i, x := range a {
		x, _ = d.get(v, x)
		f, ok := pdf.Number(x)
		if !ok {
			return nil
		}
		out[i] = f
	}
	return out
}

// annotation: an annotation that is not a widget may be added, changed
// or removed only under DocMDP P=3.
func (d *differ) annotation(o, n pdf.Object, c walkCtx) {
	od, nd := asDict(o), asDict(n)
	if nd == nil {
		d.other(o, n, c)
		return
	}
	sub := "annotation"
	if s := nd.Name("Subtype"); s != "" {
		sub = "/" + string(s) + " annotation"
	}
	c.path = strings.TrimSpace(c.path + " " + sub)
	if d.perm.docMDP == 3 {
		return
	}
	if od == nil {
		d.change(c.holder, c.path, "added; annotations need a certification that allows them (DocMDP P=3)")
		return
	}
	d.compareDicts(od, nd, c, map[pdf.Name]bool{"P": true, "Parent": true, "Popup": true, "IRT": true})
}
