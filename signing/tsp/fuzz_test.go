package tsp_test

import (
	"crypto"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/tsp"
	"github.com/lienthong/lienthong/signing/tsp/tsptest"
)

// FuzzParseToken: no input makes Parse, Verify or CheckData panic or
// hang, and a token that verifies was signed by the fuzzing TSA.
func FuzzParseToken(f *testing.F) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Fuzz TSA Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	tsa, err := tsptest.NewTSA(root, "Fuzz TSA", now)
	if err != nil {
		f.Fatal(err)
	}
	tsa.Now = func() time.Time { return now }
	for _, n := range []int64{0, 1} {
		var nonce *big.Int
		if n > 0 {
			nonce = big.NewInt(n)
		}
		tok, err := tsa.Issue(crypto.SHA256, digestOf("seed"), nonce)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := tsp.Parse(data)
		if err != nil {
			return
		}
		_ = tok.CheckData(data)
		if _, err := tok.Verify(tsp.VerifyOptions{Roots: roots, Certificates: []*x509.Certificate{tsa.Cert}}); err == nil && !tok.Certificate.Equal(tsa.Cert) {
			t.Fatalf("a token verified with certificate %s", tok.Certificate.Subject)
		}
	})
}
