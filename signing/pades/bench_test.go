package pades_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
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
// megabytes per second.
func BenchmarkVerify1MBTwoSignatures(b *testing.B) {
	p := newTestPKI(b)
	doc := sign(b, sign(b, onePDF1MB(b), p.person.opts(pades.SubFilterCAdES, p.now)), p.seal.opts(pades.SubFilterCAdES, p.now))
	opts := p.verifyOptions()
	r := bytes.NewReader(doc)
	if rep := verify(b, doc, opts); rep.Verdict != pades.VerdictValid {
		b.Fatalf("verdict %s", rep.Verdict)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := pades.Verify(r, int64(len(doc)), opts)
		if err != nil || rep.Verdict != pades.VerdictValid {
			b.Fatalf("%v %s", err, rep.Verdict)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
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
