package pades

import (
	"bytes"
	"fmt"
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
	doc     *document
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
		for k, sec := range a.doc.sections {
			if sec.offset < sr.end {
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
	sec := a.doc.sections[k]
	if k+1 >= len(a.doc.sections) {
		return fmt.Errorf("no earlier revision")
	}
	oldV := &view{d: a.doc, k: k + 1}
	newV := &view{d: a.doc, k: k}
	info := map[int]bool{}
	for _, tr := range []*dict{oldV.trailer(), newV.trailer()} {
		if r, ok := tr.get("Info").(ref); ok {
			info[r.num] = true
		}
	}
	if or, ok := oldV.trailer().get("Root").(ref); ok {
		if nr, ok := newV.trailer().get("Root").(ref); !ok || nr != or {
			return fmt.Errorf("document catalog replaced")
		}
	}
	for _, num := range sortedNums(sec.entries) {
		e := sec.entries[num]
		_, existed := oldV.lookup(num)
		if e.kind == 0 {
			if existed {
				return fmt.Errorf("object %d deleted", num)
			}
			continue
		}
		if !existed || (sec.stream && num == sec.selfNum) {
			continue
		}
		oldObj, err := oldV.get(num, 0)
		if err != nil {
			return fmt.Errorf("object %d: %w", num, err)
		}
		newObj, err := newV.get(num, 0)
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

func (a *analyzer) allowedChange(num int, oldObj, newObj object, newV *view) error {
	switch o := oldObj.(type) {
	case *dict:
		n, ok := newObj.(*dict)
		if !ok {
			return fmt.Errorf("object %d changed type", num)
		}
		switch {
		case o.name("Type") == "Catalog":
			// /Version and /Extensions: a DSS update declares PDF 1.7
			// with the ESIC extension (see declareDSSVersion).
			if !a.equalExcept(o, n, "AcroForm", "DSS", "Version", "Extensions") {
				return fmt.Errorf("document catalog changed")
			}
			if od, ok := o.get("AcroForm").(*dict); ok {
				nd, ok := n.get("AcroForm").(*dict)
				if !ok {
					return fmt.Errorf("form changed")
				}
				return a.acroFormChange(od, nd, newV)
			}
			return nil
		case o.name("Type") == "Page":
			if !a.equalExcept(o, n, "Annots") {
				return fmt.Errorf("page object %d changed", num)
			}
			return a.grownBySignatures(o.get("Annots"), n.get("Annots"), newV, "annotations of page object")
		case o.get("Fields") != nil:
			return a.acroFormChange(o, n, newV)
		case o.name("FT") == "Sig" && o.get("V") == nil:
			if !a.equalExcept(o, n, "V", "AP") {
				return fmt.Errorf("signature field object %d changed", num)
			}
			return nil
		}
		return fmt.Errorf("object %d changed", num)
	case array:
		return a.grownBySignatures(o, newObj, newV, fmt.Sprintf("array object %d", num))
	case *stream:
		if o.dict.name("Type") == "Metadata" {
			return nil
		}
		return fmt.Errorf("stream object %d changed", num)
	}
	return fmt.Errorf("object %d changed", num)
}

func (a *analyzer) acroFormChange(o, n *dict, newV *view) error {
	if !a.equalExcept(o, n, "Fields", "SigFlags", "DR", "DA") {
		return fmt.Errorf("form dictionary changed")
	}
	return a.grownBySignatures(o.get("Fields"), n.get("Fields"), newV, "form fields")
}

// grownBySignatures accepts oldV -> newV when both are the same reference
// (the array object itself is checked on its own), or arrays where every
// old element remains and every added one is a signature field or widget.
func (a *analyzer) grownBySignatures(oldV, newV object, v *view, what string) error {
	if or, ok := oldV.(ref); ok {
		if nr, ok := newV.(ref); ok && or == nr {
			return nil
		}
	}
	oldA, _ := oldV.(array)
	if oldV != nil && oldA == nil {
		if r, ok := oldV.(ref); ok {
			// An indirect array replaced by a direct one: compare contents
			// as of the previous revision.
			prev := &view{d: a.doc, k: v.k + 1}
			oldA, _ = prev.array(r)
		} else {
			return fmt.Errorf("%s changed", what)
		}
	}
	newA, err := v.array(newV)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	remaining := make(map[ref]int)
	for _, x := range newA {
		if r, ok := x.(ref); ok {
			remaining[r]++
		}
	}
	for _, x := range oldA {
		r, ok := x.(ref)
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
			return fmt.Errorf("%s gained object %d, which is not a signature", what, r.num)
		}
	}
	if len(newA) != len(oldA)+countRemaining(remaining) {
		return fmt.Errorf("%s changed", what)
	}
	return nil
}

func countRemaining(m map[ref]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// isSignatureField reports whether r is a signature field or a widget of
// one (its /FT, or its parent's, is /Sig).
func (a *analyzer) isSignatureField(r ref, v *view) bool {
	var obj object = r
	for i := 0; i < 8; i++ {
		d, err := v.dict(obj)
		if err != nil || d == nil {
			return false
		}
		if ft := d.name("FT"); ft != "" {
			return ft == "Sig"
		}
		obj = d.get("Parent")
		if obj == nil {
			return false
		}
	}
	return false
}

func (a *analyzer) equalExcept(o, n *dict, keys ...name) bool {
	skip := func(k name) bool {
		for _, s := range keys {
			if s == k {
				return true
			}
		}
		return false
	}
	count := 0
	for _, k := range o.keys {
		if skip(k) {
			continue
		}
		count++
		nv, ok := n.m[k]
		if !ok || !a.equal(o.m[k], nv, 1) {
			return false
		}
	}
	for _, k := range n.keys {
		if !skip(k) {
			count--
		}
	}
	return count == 0
}

// equal compares two direct objects; references are compared as
// references, strings by value.
func (a *analyzer) equal(x, y object, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := x.(type) {
	case *dict:
		y, ok := y.(*dict)
		if !ok || len(x.m) != len(y.m) {
			return false
		}
		for k, xv := range x.m {
			yv, ok := y.m[k]
			if !ok || !a.equal(xv, yv, depth+1) {
				return false
			}
		}
		return true
	case array:
		y, ok := y.(array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !a.equal(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case *pdfString:
		y, ok := y.(*pdfString)
		return ok && bytes.Equal(x.b, y.b)
	case *stream:
		y, ok := y.(*stream)
		if !ok || !a.equal(x.dict, y.dict, depth+1) || x.length != y.length || x.length < 0 || x.length > maxStreamLen {
			return false
		}
		if x.dataOff == y.dataOff {
			return true
		}
		bx := make([]byte, x.length)
		by := make([]byte, y.length)
		_, e1 := a.doc.r.ReadAt(bx, x.dataOff)
		_, e2 := a.doc.r.ReadAt(by, y.dataOff)
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
	for k, sec := range a.doc.sections {
		if sec.offset < end {
			continue
		}
		later++
		if k+1 >= len(a.doc.sections) {
			return false
		}
		dssChanged := false
		oldV := &view{d: a.doc, k: k + 1}
		newV := &view{d: a.doc, k: k}
		owned := dssObjects(newV)
		or, ok1 := oldV.trailer().get("Root").(ref)
		nr, ok2 := newV.trailer().get("Root").(ref)
		if !ok1 || !ok2 || or != nr {
			return false
		}
		for _, num := range sortedNums(sec.entries) {
			e := sec.entries[num]
			_, existed := oldV.lookup(num)
			if !existed && e.kind != 0 {
				continue
			}
			if e.kind == 0 || (sec.stream && num == sec.selfNum) {
				if existed {
					return false
				}
				continue
			}
			oldObj, err1 := oldV.get(num, 0)
			newObj, err2 := newV.get(num, 0)
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
			o, ok1 := oldObj.(*dict)
			n, ok2 := newObj.(*dict)
			if !ok1 || !ok2 || num != or.num || !a.equalExcept(o, n, "DSS", "Version", "Extensions") {
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
func dssObjects(v *view) map[int]bool {
	out := make(map[int]bool)
	catalog, _, err := v.catalog()
	if err != nil {
		return out
	}
	r, ok := catalog.get("DSS").(ref)
	if !ok {
		return out
	}
	out[r.num] = true
	dss, err := v.dict(r)
	if err != nil || dss == nil {
		return out
	}
	for _, k := range []name{"Certs", "CRLs", "OCSPs", "VRI"} {
		if r, ok := dss.get(k).(ref); ok {
			out[r.num] = true
		}
	}
	return out
}
