package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/pdf"
	"github.com/lienthong/lienthong/signing/pdf/pdftest"
	"github.com/lienthong/lienthong/signing/pki"
)

// fuzzPKI is a root and an ECDSA and an RSA signer for seeds.
type fuzzPKI struct {
	roots *x509.CertPool
	ids   []fuzzID
}

type fuzzID struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newFuzzPKI(tb testing.TB) *fuzzPKI {
	tb.Helper()
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Fuzz Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	p := &fuzzPKI{roots: x509.NewCertPool()}
	p.roots.AddCert(root.Cert)
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
		c, k, err := root.Issue(pki.Request{CommonName: "Fuzz Signer", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning, KeyType: kt})
		if err != nil {
			tb.Fatal(err)
		}
		p.ids = append(p.ids, fuzzID{c, k})
	}
	return p
}

func (p *fuzzPKI) sign(tb testing.TB, pdf []byte, i int, sf SubFilter) []byte {
	tb.Helper()
	var out bytes.Buffer
	id := p.ids[i%len(p.ids)]
	if err := Sign(&out, bytes.NewReader(pdf), int64(len(pdf)), SignOptions{Signer: id.key, Certificate: id.cert, SubFilter: sf}); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// seedPDFs are small documents covering both cross-reference forms, zero,
// one and two signatures.
func seedPDFs(tb testing.TB, p *fuzzPKI) [][]byte {
	tb.Helper()
	var seeds [][]byte
	for _, xs := range []bool{false, true} {
		doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Fuzz", XRefStream: xs})
		if err != nil {
			tb.Fatal(err)
		}
		one := p.sign(tb, doc, 0, SubFilterCAdES)
		two := p.sign(tb, one, 1, SubFilterPKCS7)
		seeds = append(seeds, doc, one, two)
	}
	seeds = append(seeds,
		[]byte("%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Root 1 0 R /Prev 9 >>\nstartxref\n9\n%%EOF\n"),
		[]byte("%PDF-1.5\n1 0 obj << /Type /XRef /W [1 2 1] /Size 2 /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> /Length 3 >>\nstream\nabc\nendstream\nendobj\nstartxref\n9\n%%EOF\n"),
	)
	return seeds
}

// FuzzLocate feeds arbitrary bytes to the cross-reference reader, the
// signature locator, the whole verifier and the signer's parser: none may
// panic or hang, and a failure must come back as an error.
func FuzzLocate(f *testing.F) {
	p := newFuzzPKI(f)
	for _, s := range seedPDFs(f, p) {
		f.Add(s)
	}
	id := p.ids[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		size := int64(len(data))
		if doc, err := pdf.Open(r, size); err == nil {
			findSignatures(doc) // errors are fine, panics are not
		}
		rep, err := Verify(r, size, VerifyOptions{Roots: p.roots})
		if rep == nil || rep.Signatures == nil {
			t.Fatalf("nil report or signatures (err %v)", err)
		}
		if (err != nil) != (rep.Verdict == VerdictError) {
			t.Fatalf("err %v with verdict %s", err, rep.Verdict)
		}
		if rep.Verdict == VerdictValid && len(rep.Signatures) == 0 {
			t.Fatal("valid without signatures")
		}
		var out bytes.Buffer
		if err := Sign(&out, r, size, SignOptions{Signer: id.key, Certificate: id.cert}); err == nil {
			if !bytes.HasPrefix(out.Bytes(), data) {
				t.Fatal("Sign changed the original bytes")
			}
		} else if out.Len() != 0 {
			t.Fatal("Sign failed after writing")
		}
	})
}

// seedCMS returns the /Contents of signatures made by Sign.
func seedCMS(tb testing.TB, p *fuzzPKI) [][]byte {
	tb.Helper()
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "CMS"})
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for i, sf := range []SubFilter{SubFilterCAdES, SubFilterPKCS7} {
		signed := p.sign(tb, doc, i, sf)
		d, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)))
		if err != nil {
			tb.Fatal(err)
		}
		found, err := findSignatures(d)
		if err != nil || len(found) != 1 {
			tb.Fatalf("%v, %d signatures", err, len(found))
		}
		c := found[0].dict.Get("Contents").(*pdf.String).Bytes
		out = append(out, bytes.TrimRight(c, "\x00"))
	}
	return out
}

// FuzzParseCMS feeds arbitrary bytes to the CMS parser (with its BER
// normalizer) and, when they parse, to signature verification.
func FuzzParseCMS(f *testing.F) {
	p := newFuzzPKI(f)
	for _, s := range seedCMS(f, p) {
		f.Add(s)
		// The same structure with an indefinite outer length (BER).
		if len(s) > 4 && s[1] == 0x82 {
			ber := append([]byte{0x30, 0x80}, s[4:]...)
			f.Add(append(ber, 0, 0))
		}
	}
	f.Add([]byte{0x30, 0x80, 0x30, 0x80, 0, 0, 0, 0})
	emptySHA256 := sha256.Sum256(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := cms.Parse(data)
		if err != nil {
			return
		}
		digest := make([]byte, 32)
		if c.Signer != nil {
			_ = c.VerifySignature(digest, crypto.SHA256)
		}
		s := &checkedSig{rep: &SignatureReport{SubFilter: string(SubFilterCAdES)}, cms: c, gapOK: true}
		if c.DigestHash.Available() {
			s.h = c.DigestHash.New()
			s.hashable = true
		}
		s.checkCMS(context.Background(), VerifyOptions{Roots: p.roots}, time.Now())
		if s.rep.DigestValid && !bytes.Equal(c.MessageDigest, emptySHA256[:]) && c.SignedAttrs != nil {
			t.Fatalf("digest of nothing accepted as %x", c.MessageDigest)
		}
	})
}

// diffBases are signed documents an update is appended to: cross-reference
// table, stream, and a form with an indirect AcroForm.
func diffBases(tb testing.TB, p *fuzzPKI) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, xs := range []bool{false, true} {
		doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Diff", Lines: []string{"100 dong"}, XRefStream: xs})
		if err != nil {
			tb.Fatal(err)
		}
		if xs {
			// An indirect AcroForm with a text field, before signing.
			u := pdftest.Append(tb, doc)
			b := u.Base()
			n := b.NextNum()
			u.Set(n, fmt.Sprintf("<< /Fields [%d 0 R] /DA (/F1 0 Tf 0 g) >>", n+1))
			u.Set(n+1, fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx /T (SoTien) /V (100) /Rect [72 600 272 620] /P %d 0 R >>", b.PageRef.Num))
			page := b.Page.Clone()
			page.Set("Annots", pdf.Array{pdf.Ref{Num: n + 1}})
			u.SetObject(b.PageRef.Num, page)
			cat := b.Catalog.Clone()
			cat.Set("AcroForm", pdf.Ref{Num: n})
			u.SetObject(b.CatalogRef.Num, cat)
			doc = u.Bytes()
		}
		out = append(out, p.sign(tb, doc, 0, SubFilterCAdES))
	}
	return out
}

// diffSeeds are updates appended to a base: content replaced and named
// /Info, a full-page signature widget, an object freed, /Prev re-routed,
// startxref pointing into the signed bytes, a new catalog.
func diffSeeds(tb testing.TB, base []byte) [][]byte {
	tb.Helper()
	b := pdftest.Load(tb, base)
	c := pdftest.Ref(tb, b.Page, "Contents")
	n := b.NextNum()
	tail := func(u *pdftest.Update) []byte { return u.Bytes()[len(base):] }
	page := b.Page.Clone()
	page.Set("Annots", pdf.Array{pdf.Ref{Num: n}})
	return [][]byte{
		tail(pdftest.Append(tb, base).Set(c.Num, pdftest.Stream("", "BT (999) Tj ET")).Trailer("Info", fmt.Sprintf("%d 0 R", c.Num))),
		tail(pdftest.Append(tb, base).Set(n, fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (X) /Rect [0 0 595 842] /AP << /N %d 0 R >> >>", n+1)).
			Set(n+1, pdftest.Stream("/Subtype /Form /BBox [0 0 595 842]", "0 0 595 842 re f")).SetObject(b.PageRef.Num, page)),
		tail(pdftest.Append(tb, base).Free(c.Num)),
		tail(pdftest.Append(tb, base).Set(n, "<< /Type /XObject >>").Prev(b.Doc.Sections[len(b.Doc.Sections)-1].Offset)),
		tail(pdftest.Append(tb, base).OnlyStartXref(b.Doc.Sections[len(b.Doc.Sections)-1].Offset)),
		tail(pdftest.Append(tb, base).SetObject(n, b.Catalog).Trailer("Root", fmt.Sprintf("%d 0 R", n))),
	}
}

// FuzzDifferences appends arbitrary bytes, seeded with attack updates, to
// a signed PDF and runs the difference analysis of the signature against
// them, as Sign does before sealing: it must not panic or run away, must
// give the same answer twice, and must list at most maxChanges changes.
func FuzzDifferences(f *testing.F) {
	p := newFuzzPKI(f)
	bases := diffBases(f, p)
	for i, b := range bases {
		for _, s := range diffSeeds(f, b) {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, tail []byte) {
		base := bases[int(which)%len(bases)]
		doc := append(bytes.Clone(base), tail...)
		opts := VerifyOptions{Roots: p.roots, sealing: true}
		rep, err := Verify(bytes.NewReader(doc), int64(len(doc)), opts)
		if rep == nil || (err != nil) != (rep.Verdict == VerdictError) {
			t.Fatalf("report %v, err %v", rep, err)
		}
		again, _ := Verify(bytes.NewReader(doc), int64(len(doc)), opts)
		for i, s := range rep.Signatures {
			if len(s.Changes) > maxChanges {
				t.Fatalf("%d changes", len(s.Changes))
			}
			if i >= len(again.Signatures) || !slices.Equal(s.Changes, again.Signatures[i].Changes) || s.Indication != again.Signatures[i].Indication {
				t.Fatalf("second run differs: %q, then %+v", s.Changes, again.Signatures)
			}
		}
	})
}
