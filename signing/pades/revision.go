package pades

import (
	"bytes"
	"fmt"
	"github.com/lienthong/lienthong/signing/pdf"
)

// analyzer decides whether the incremental updates after a signature only
// add signatures. It compares, for every object a later cross-reference
// section lists, the object before and after that section.
//
// Allowed in an update after a signature:
//   - new objects (new objects only matter through the references old
//     objects gain, which the rules below restrict);
//   - the catalog, changed only in /AcroForm, /DSS, /Version or
//     /Extensions;
//   - the AcroForm, changed only in /Fields (grown by signature fields),
//     /SigFlags, /DR or /DA;
//   - a page, changed only in /Annots (grown by signature widgets);
//   - an array object grown only by signature fields or widgets (an
//     indirect /Fields or /Annots);
//   - an unsigned signature field that gets its value (/V, /AP);
//   - the document information dictionary and XMP metadata streams.
//
// Anything else, or deleting an object, is a modification.
type analyzer struct {
	doc     *pdf.Document
	checked map[int]error // section index -> nil if it only adds signatures
}

// coverage sets ModifiedAfter and CoveredByLaterSignature of s; every
// signature's CoversWholeDocument must be set already.
func (a *analyzer) coverage(s *checkedSig, all []*checkedSig) {
	sr := s.rep
	if s.ranges == nil {
		sr.ModifiedAfter = true
		return
	}
	sr.ModifiedAfter = !sr.CoversWholeDocument
	if !sr.ModifiedAfter || !s.gapOK {
		// A range with a wrong gap already makes the signature invalid or
		// partial; there is nothing a later revision could cover.
		return
	}
	// A later signature must cover the whole file, be intact, and every
	// section after this signature must only add signatures.
	var last *checkedSig
	for _, t := range all {
		// A signature after which only validation data (a DSS) was added
		// is as good as one covering the whole file.
		if t.rep.CoversWholeDocument || (t.gapOK && t.rep.DigestValid && t.rep.end > sr.end && a.onlyValidationData(t.rep.end)) {
			last = t
		}
	}
	reason := ""
	switch {
	case (last == nil || last == s) && a.onlyValidationData(sr.end):
		// PAdES B-LT: DSS updates after the last signature (issue 13,
		// case 13) change nothing that was signed.
	case last == nil || last == s:
		reason = "document changed after this signature"
	case !last.rep.DigestValid:
		reason = "document changed after this signature"
	default:
		later := 0
		for k, sec := range a.doc.Sections {
			if sec.Offset < sr.end {
				continue
			}
			later++
			if err := a.onlySignatures(k); err != nil {
				reason = fmt.Sprintf("document changed after this signature (%v)", err)
				break
			}
		}
		if later == 0 && reason == "" {
			reason = "document changed after this signature"
		}
	}
	if reason != "" {
		sr.problem("%s", reason)
		return
	}
	sr.CoveredByLaterSignature = true
}

// onlySignatures reports (as a non-nil error) the first change in section
// k that is not part of adding a signature.
func (a *analyzer) onlySignatures(k int) error {
	if err, ok := a.checked[k]; ok {
		return err
	}
	err := a.checkSection(k)
	a.checked[k] = err
	return err
}

func (a *analyzer) checkSection(k int) error {
	sec := a.doc.Sections[k]
	if k+1 >= len(a.doc.Sections) {
		return fmt.Errorf("no earlier revision")
	}
	oldV := &pdf.View{Doc: a.doc, K: k + 1}
	newV := &pdf.View{Doc: a.doc, K: k}
	info := map[int]bool{}
	for _, tr := range []*pdf.Dict{oldV.Trailer(), newV.Trailer()} {
		if r, ok := tr.Get("Info").(pdf.Ref); ok {
			info[r.Num] = true
		}
	}
	if or, ok := oldV.Trailer().Get("Root").(pdf.Ref); ok {
		if nr, ok := newV.Trailer().Get("Root").(pdf.Ref); !ok || nr != or {
			return fmt.Errorf("document catalog replaced")
		}
	}
	for _, num := range pdf.SortedNums(sec.Entries) {
		e := sec.Entries[num]
		_, existed := oldV.Lookup(num)
		if e.Kind == 0 {
			if existed {
				return fmt.Errorf("object %d deleted", num)
			}
			continue
		}
		if !existed || (sec.Stream && num == sec.SelfNum) {
			continue
		}
		oldObj, err := oldV.Get(num, 0)
		if err != nil {
			return fmt.Errorf("object %d: %w", num, err)
		}
		newObj, err := newV.Get(num, 0)
		if err != nil {
			return fmt.Errorf("object %d: %w", num, err)
		}
		if a.equal(oldObj, newObj, 0) {
			continue
		}
		if info[num] {
			continue
		}
		if err := a.allowedChange(num, oldObj, newObj, newV); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) allowedChange(num int, oldObj, newObj pdf.Object, newV *pdf.View) error {
	switch o := oldObj.(type) {
	case *pdf.Dict:
		n, ok := newObj.(*pdf.Dict)
		if !ok {
			return fmt.Errorf("object %d changed type", num)
		}
		switch {
		case o.Name("Type") == "Catalog":
			// /Version and /Extensions: a DSS update declares PDF 1.7
			// with the ESIC extension (see declareDSSVersion).
			if !a.equalExcept(o, n, "AcroForm", "DSS", "Version", "Extensions") {
				return fmt.Errorf("document catalog changed")
			}
			if od, ok := o.Get("AcroForm").(*pdf.Dict); ok {
				nd, ok := n.Get("AcroForm").(*pdf.Dict)
				if !ok {
					return fmt.Errorf("form changed")
				}
				return a.acroFormChange(od, nd, newV)
			}
			return nil
		case o.Name("Type") == "Page":
			if !a.equalExcept(o, n, "Annots") {
				return fmt.Errorf("page object %d changed", num)
			}
			return a.grownBySignatures(o.Get("Annots"), n.Get("Annots"), newV, "annotations of page object")
		case o.Get("Fields") != nil:
			return a.acroFormChange(o, n, newV)
		case o.Name("FT") == "Sig" && o.Get("V") == nil:
			if !a.equalExcept(o, n, "V", "AP") {
				return fmt.Errorf("signature field object %d changed", num)
			}
			return nil
		}
		return fmt.Errorf("object %d changed", num)
	case pdf.Array:
		return a.grownBySignatures(o, newObj, newV, fmt.Sprintf("array object %d", num))
	case *pdf.Stream:
		if o.Dict.Name("Type") == "Metadata" {
			return nil
		}
		return fmt.Errorf("stream object %d changed", num)
	}
	return fmt.Errorf("object %d changed", num)
}

func (a *analyzer) acroFormChange(o, n *pdf.Dict, newV *pdf.View) error {
	if !a.equalExcept(o, n, "Fields", "SigFlags", "DR", "DA") {
		return fmt.Errorf("form dictionary changed")
	}
	return a.grownBySignatures(o.Get("Fields"), n.Get("Fields"), newV, "form fields")
}

// grownBySignatures accepts oldV -> newV when both are the same reference
// (the array object itself is checked on its own), or arrays where every
// old element remains and every added one is a signature field or widget.
func (a *analyzer) grownBySignatures(oldV, newV pdf.Object, v *pdf.View, what string) error {
	if or, ok := oldV.(pdf.Ref); ok {
		if nr, ok := newV.(pdf.Ref); ok && or == nr {
			return nil
		}
	}
	oldA, _ := oldV.(pdf.Array)
	if oldV != nil && oldA == nil {
		if r, ok := oldV.(pdf.Ref); ok {
			// An indirect array replaced by a direct one: compare contents
			// as of the previous revision.
			prev := &pdf.View{Doc: a.doc, K: v.K + 1}
			oldA, _ = prev.Array(r)
		} else {
			return fmt.Errorf("%s changed", what)
		}
	}
	newA, err := v.Array(newV)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	remaining := make(map[pdf.Ref]int)
	for _, x := range newA {
		if r, ok := x.(pdf.Ref); ok {
			remaining[r]++
		}
	}
	for _, x := range oldA {
		r, ok := x.(pdf.Ref)
		if !ok {
			return fmt.Errorf("%s changed", what)
		}
		if remaining[r] == 0 {
			return fmt.Errorf("%s lost an entry", what)
		}
		remaining[r]--
	}
	for r, n := range remaining {
		if n == 0 {
			continue
		}
		if !a.isSignatureField(r, v) {
			return fmt.Errorf("%s gained object %d, which is not a signature", what, r.Num)
		}
	}
	if len(newA) != len(oldA)+countRemaining(remaining) {
		return fmt.Errorf("%s changed", what)
	}
	return nil
}

func countRemaining(m map[pdf.Ref]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// isSignatureField reports whether r is a signature field or a widget of
// one (its /FT, or its parent's, is /Sig).
func (a *analyzer) isSignatureField(r pdf.Ref, v *pdf.View) bool {
	var obj pdf.Object = r
	for i := 0; i < 8; i++ {
		d, err := v.Dict(obj)
		if err != nil || d == nil {
			return false
		}
		if ft := d.Name("FT"); ft != "" {
			return ft == "Sig"
		}
		obj = d.Get("Parent")
		if obj == nil {
			return false
		}
	}
	return false
}

func (a *analyzer) equalExcept(o, n *pdf.Dict, keys ...pdf.Name) bool {
	skip := func(k pdf.Name) bool {
		for _, s := range keys {
			if s == k {
				return true
			}
		}
		return false
	}
	count := 0
	for _, k := range o.Keys() {
		if skip(k) {
			continue
		}
		count++
		nv, ok := n.Lookup(k)
		if !ok || !a.equal(o.Get(k), nv, 1) {
			return false
		}
	}
	for _, k := range n.Keys() {
		if !skip(k) {
			count--
		}
	}
	return count == 0
}

// equal compares two direct objects; references are compared as
// references, strings by value.
func (a *analyzer) equal(x, y pdf.Object, depth int) bool {
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
			xv := x.Get(k)
			yv, ok := y.Lookup(k)
			if !ok || !a.equal(xv, yv, depth+1) {
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
			if !a.equal(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case *pdf.String:
		y, ok := y.(*pdf.String)
		return ok && bytes.Equal(x.Bytes, y.Bytes)
	case *pdf.Stream:
		y, ok := y.(*pdf.Stream)
		if !ok || !a.equal(x.Dict, y.Dict, depth+1) || x.Length != y.Length || x.Length < 0 || x.Length > pdf.MaxStreamLen {
			return false
		}
		if x.DataOff == y.DataOff {
			return true
		}
		bx := make([]byte, x.Length)
		by := make([]byte, y.Length)
		_, e1 := a.doc.R.ReadAt(bx, x.DataOff)
		_, e2 := a.doc.R.ReadAt(by, y.DataOff)
		return e1 == nil && e2 == nil && bytes.Equal(bx, by)
	case nil:
		return y == nil
	default:
		return x == y
	}
}

// onlyValidationData reports whether every section after end only adds
// validation data: the catalog changed in /DSS (and /Version, /Extensions)
// alone, and new objects.
func (a *analyzer) onlyValidationData(end int64) bool {
	later := 0
	for k, sec := range a.doc.Sections {
		if sec.Offset < end {
			continue
		}
		later++
		if k+1 >= len(a.doc.Sections) {
			return false
		}
		dssChanged := false
		oldV := &pdf.View{Doc: a.doc, K: k + 1}
		newV := &pdf.View{Doc: a.doc, K: k}
		owned := dssObjects(newV)
		or, ok1 := oldV.Trailer().Get("Root").(pdf.Ref)
		nr, ok2 := newV.Trailer().Get("Root").(pdf.Ref)
		if !ok1 || !ok2 || or != nr {
			return false
		}
		for _, num := range pdf.SortedNums(sec.Entries) {
			e := sec.Entries[num]
			_, existed := oldV.Lookup(num)
			if !existed && e.Kind != 0 {
				continue
			}
			if e.Kind == 0 || (sec.Stream && num == sec.SelfNum) {
				if existed {
					return false
				}
				continue
			}
			oldObj, err1 := oldV.Get(num, 0)
			newObj, err2 := newV.Get(num, 0)
			if err1 != nil || err2 != nil {
				return false
			}
			if a.equal(oldObj, newObj, 0) {
				continue
			}
			if owned[num] { // the DSS itself, updated in place
				dssChanged = true
				continue
			}
			o, ok1 := oldObj.(*pdf.Dict)
			n, ok2 := newObj.(*pdf.Dict)
			if !ok1 || !ok2 || num != or.Num || !a.equalExcept(o, n, "DSS", "Version", "Extensions") {
				return false
			}
			dssChanged = true
		}
		// New objects count only as part of a DSS update.
		if !dssChanged {
			return false
		}
	}
	return later > 0
}

// dssObjects returns the numbers of the objects that make up v's DSS
// dictionary: the dictionary, its indirect arrays and its VRI dictionary.
func dssObjects(v *pdf.View) map[int]bool {
	out := make(map[int]bool)
	catalog, _, err := v.Catalog()
	if err != nil {
		return out
	}
	r, ok := catalog.Get("DSS").(pdf.Ref)
	if !ok {
		return out
	}
	out[r.Num] = true
	dss, err := v.Dict(r)
	if err != nil || dss == nil {
		return out
	}
	for _, k := range []pdf.Name{"Certs", "CRLs", "OCSPs", "VRI"} {
		if r, ok := dss.Get(k).(pdf.Ref); ok {
			out[r.Num] = true
		}
	}
	return out
}
