package pades

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/lienthong/lienthong/signing/pdf"
)

// analyzer decides, for each signature that does not cover the whole
// file, whether what was appended after it is allowed (see differ): the
// final revision's cross-reference chain must pass through the signed
// revision's section at its signed offset, every later section must start
// after the signed bytes, and the difference between the two revisions,
// walked by use, must be on the allow-list.
type analyzer struct {
	doc      *pdf.Document
	sigs     []*checkedSig // in file order
	compared int64         // stream bytes compared, for maxDiffBytes
	visits   int           // object pairs visited, for maxDiffVisits
	sealing  bool          // a signature over the whole file is about to follow
}

// coverage sets ModifiedAfter, CoveredByLaterSignature and Changes of s;
// every signature's CoversWholeDocument must be set already.
func (a *analyzer) coverage(s *checkedSig) {
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
	// A later, intact signature must cover the whole file (or be about to).
	var last *checkedSig
	for _, t := range a.sigs {
		if t.rep.CoversWholeDocument {
			last = t
		}
	}
	if !a.sealing && (last == nil || last == s || !last.rep.DigestValid) {
		sr.problem("document changed after this signature")
		return
	}
	sr.Changes = a.changesAfter(s)
	if len(sr.Changes) > 0 {
		more := ""
		if len(sr.Changes) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(sr.Changes)-1)
		}
		sr.problem("document changed after this signature: %s%s", sr.Changes[0], more)
		return
	}
	sr.CoveredByLaterSignature = true
}

// changesAfter lists the forbidden changes between the revision s signed
// and the final one.
func (a *analyzer) changesAfter(s *checkedSig) []string {
	k, err := a.signedSection(s.rep.end)
	if err != nil {
		return []string{err.Error()}
	}
	if k == 0 {
		return []string{fmt.Sprintf("bytes %d to %d: appended after the signature without a cross-reference section", s.rep.end, a.doc.Size)}
	}
	d := &differ{
		a:       a,
		oldV:    &pdf.View{Doc: a.doc, K: k},
		newV:    a.doc.Latest(),
		end:     s.rep.end,
		perm:    a.permissions(s),
		visited: make(map[visitKey]bool),
		same:    make(map[int]bool),
		named:   make(map[string]bool),
	}
	return d.run()
}

// signedSection returns the index, in the final chain, of the
// cross-reference section the signed bytes end with (the startxref before
// end). Every section newer than it must start at or after end.
func (a *analyzer) signedSection(end int64) (int, error) {
	n := min(end, 1024)
	buf := make([]byte, n)
	if _, err := a.doc.R.ReadAt(buf, end-n); err != nil && err != io.EOF {
		return 0, fmt.Errorf("cross-reference chain: reading the signed revision: %w", err)
	}
	i := bytes.LastIndex(buf, []byte("startxref"))
	if i < 0 {
		return 0, fmt.Errorf("cross-reference chain: the signed bytes do not end with startxref")
	}
	f := bytes.Fields(buf[i+len("startxref"):])
	var x int64 = -1
	if len(f) > 0 {
		if v, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
			x = v
		}
	}
	for k, sec := range a.doc.Sections {
		if sec.Offset != x {
			continue
		}
		for j := 0; j < k; j++ {
			if off := a.doc.Sections[j].Offset; off < end {
				return 0, fmt.Errorf("cross-reference section at offset %d: lies inside the signed bytes (a hidden update)", off)
			}
		}
		return k, nil
	}
	return 0, fmt.Errorf("cross-reference chain: skips the signed revision's section at offset %d (/Prev re-routed)", x)
}

// permissions collects the DocMDP level and FieldMDP locks that apply to
// changes after s: those of s and of every signature before it.
func (a *analyzer) permissions(s *checkedSig) *permissions {
	p := &permissions{}
	v := a.doc.Latest()
	for _, t := range a.sigs {
		if t.rep.end > s.rep.end {
			break
		}
		if lvl := docMDP(v, t.found.dict); lvl > 0 && p.docMDP == 0 {
			p.docMDP, p.certifier = lvl, t.rep.Field
		}
		p.locks = append(p.locks, fieldLocks(v, t)...)
	}
	return p
}

// transforms returns the signature references (/Reference) of a
// signature dictionary with the given /TransformMethod.
func transforms(v *pdf.View, sig *pdf.Dict, method pdf.Name) []*pdf.Dict {
	refs, err := v.Array(sig.Get("Reference"))
	if err != nil {
		return nil
	}
	var out []*pdf.Dict
	for i, r := range refs {
		if i >= 8 {
			break
		}
		d, err := v.Dict(r)
		if err != nil || d == nil || d.Name("TransformMethod") != method {
			continue
		}
		params, err := v.Dict(d.Get("TransformParams"))
		if err != nil || params == nil {
			params = pdf.NewDict()
		}
		out = append(out, params)
	}
	return out
}

// docMDP returns the /P of a certification signature's DocMDP transform
// (2 when absent, as ISO 32000-1 12.8.2.2 says), or 0.
func docMDP(v *pdf.View, sig *pdf.Dict) int {
	ts := transforms(v, sig, "DocMDP")
	if len(ts) == 0 {
		return 0
	}
	p, ok := ts[0].Get("P").(int64)
	switch {
	case !ok:
		return 2
	case p < 1 || p > 3:
		return 1 // an unknown level: the strictest
	}
	return int(p)
}

// fieldLocks returns the FieldMDP locks of signature t: its field's /Lock
// and its FieldMDP transforms.
func fieldLocks(v *pdf.View, t *checkedSig) []fieldLock {
	var params []*pdf.Dict
	if t.found.fieldDict != nil {
		if l, err := v.Dict(t.found.fieldDict.Get("Lock")); err == nil && l != nil {
			params = append(params, l)
		}
	}
	params = append(params, transforms(v, t.found.dict, "FieldMDP")...)
	var out []fieldLock
	for _, p := range params {
		l := fieldLock{by: t.rep.Field, action: p.Name("Action"), fields: make(map[string]bool)}
		fs, _ := v.Array(p.Get("Fields"))
		for i, f := range fs {
			if i >= maxFieldNodes {
				break
			}
			if s, ok := f.(*pdf.String); ok {
				l.fields[pdf.DecodeText(s.Bytes)] = true
			}
		}
		out = append(out, l)
	}
	return out
}
