package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/pdf"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
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
