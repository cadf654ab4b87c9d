package pades_test

import (
	"bytes"
	"crypto/x509"
	"io"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/revocation"
)

// onePDF1MB returns a ~1 MB document.
func onePDF1MB(b *testing.B) []byte {
	b.Helper()
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Bench", Lines: []string{"1 MB"}, PadBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkVerify1MBTwoSignatures verifies a ~1 MB PDF signed by a person
// (ECDSA, intermediate CA) and a seal (RSA), reporting documents and
// megabytes per second and CPU time per document. Chains are cached, as on the hub.
func BenchmarkVerify1MBTwoSignatures(b *testing.B) {
	p := newTestPKI(b)
	doc := sign(b, sign(b, onePDF1MB(b), p.person.opts(pades.SubFilterCAdES, p.now)), p.seal.opts(pades.SubFilterCAdES, p.now))
	opts := p.verifyOptions()
	opts.Chains = pades.NewChainCache(0) // as the hub's trust store has
	if rep := verify(b, doc, opts); rep.Verdict != pades.VerdictValid {
		b.Fatalf("verdict %s", rep.Verdict)
	}
	benchVerify(b, doc, opts)
}

// BenchmarkSign1MB signs a ~1 MB PDF with an ECDSA key.
func BenchmarkSign1MB(b *testing.B) {
	p := newTestPKI(b)
	doc := onePDF1MB(b)
	opts := p.person.opts(pades.SubFilterCAdES, p.now)
	r := bytes.NewReader(doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := pades.Sign(io.Discard, r, int64(len(doc)), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkVerify200KBHub verifies a ~200 KB PDF signed by a person (ECDSA,
// intermediate CA) and a seal (ECDSA, root) with the options the hub uses:
// a revocation checker over the trust store's CRLs that requires
// information for every certificate below the anchor, and the trust
// store's caches of chains and CRL signatures.
func BenchmarkVerify200KBHub(b *testing.B) {
	p := newTestPKI(b)
	plain, err := samplepdf.Bytes(samplepdf.Options{Title: "Bench", Lines: []string{"200 KB"}, PadBytes: 200 << 10})
	if err != nil {
		b.Fatal(err)
	}
	doc := sign(b, sign(b, plain, p.person.opts(pades.SubFilterCAdES, p.now)), p.sealEC.opts(pades.SubFilterCAdES, p.now))
	opts := p.verifyOptions()
	rootDER, err := p.root.CRL(nil, p.now.Add(-time.Hour), p.now.Add(-time.Hour), p.now.Add(24*time.Hour), 7)
	if err != nil {
		b.Fatal(err)
	}
	rootCRL, err := x509.ParseRevocationList(rootDER)
	if err != nil {
		b.Fatal(err)
	}
	opts.Revocation = &revocation.Checker{CRLs: []*x509.RevocationList{p.interCRL, rootCRL}, Now: opts.Now, Signatures: revocation.NewSignatureCache(0)}
	opts.Chains = pades.NewChainCache(0)
	opts.CRLs = opts.Revocation.CRLs
	if rep := verify(b, doc, opts); rep.Verdict != pades.VerdictValid {
		b.Fatalf("verdict %s", rep.Verdict)
	}
	benchVerify(b, doc, opts)
}

// benchVerify verifies doc b.N times, reporting documents per second and
// the process's CPU time per document (user and system: on a shared
// machine the steadier figure).
func benchVerify(b *testing.B, doc []byte, opts pades.VerifyOptions) {
	r := bytes.NewReader(doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		rep, err := pades.Verify(r, int64(len(doc)), opts)
		if err != nil || rep.Verdict != pades.VerdictValid {
			b.Fatalf("%v %s", err, rep.Verdict)
		}
	}
	cpu = processCPU() - cpu
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
