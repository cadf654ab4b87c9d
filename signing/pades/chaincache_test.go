package pades_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/revocation"
)

// verifyCached verifies pdf with the caches and without them, requires
// the two reports to be identical (JSON and chains), and returns the
// cached one.
func verifyCached(t *testing.T, pdf []byte, opts pades.VerifyOptions) *pades.Report {
	t.Helper()
	cached := verify(t, pdf, opts)
	fresh := opts
	fresh.Chains = nil
	if opts.Revocation != nil {
		rc := *opts.Revocation
		rc.Signatures = nil
		fresh.Revocation = &rc
	}
	want := verify(t, pdf, fresh)
	a, err := json.Marshal(cached)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("with the cache:\n%s\nwithout:\n%s", a, b)
	}
	for i := range cached.Signatures {
		c, w := cached.Signatures[i].Chain, want.Signatures[i].Chain
		if len(c) != len(w) {
			t.Fatalf("signature %d: chain of %d certificates with the cache, %d without", i, len(c), len(w))
		}
		for j := range c {
			if !bytes.Equal(c[j].Raw, w[j].Raw) {
				t.Fatalf("signature %d: chain certificate %d differs with the cache", i, j)
			}
		}
	}
	return cached
}

func wantOne(t *testing.T, rep *pades.Report, ind etsi.Indication, sub etsi.SubIndication) {
	t.Helper()
	if len(rep.Signatures) != 1 {
		t.Fatalf("%d signatures, want 1", len(rep.Signatures))
	}
	if s := rep.Signatures[0]; s.Indication != ind || s.SubIndication != sub {
		t.Fatalf("indication %s/%s, want %s/%s; problems %q", s.Indication, s.SubIndication, ind, sub, s.Problems)
	}
}

// TestChainCacheKeepsEveryCheck: a chain cached as good does not make a
// signature good. After the same chain was cached, revocation (a newer
// CRL, a DSS OCSP response), the validity window (the signer's and a CA's),
// the key purpose and the anchors are decided exactly as without the cache.
func TestChainCacheKeepsEveryCheck(t *testing.T) {
	p := newTestPKI(t)
	parse := func(der []byte, err error) *x509.RevocationList {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	rootCRL := parse(p.root.CRL(nil, p.now.Add(-time.Hour), p.now.Add(-time.Hour), p.now.Add(24*time.Hour), 3))
	interGood := parse(p.inter.CRL(nil, p.now.Add(-time.Hour), p.now.Add(-time.Hour), p.now.Add(24*time.Hour), 3))
	interRevokes := parse(p.inter.CRL([]*x509.Certificate{p.person.cert}, p.now.Add(-30*time.Minute), p.now.Add(-time.Minute), p.now.Add(24*time.Hour), 4))

	doc := sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now))
	chains := pades.NewChainCache(0)
	sigs := revocation.NewSignatureCache(0)
	at := func(now time.Time, crls ...*x509.RevocationList) pades.VerifyOptions {
		clock := func() time.Time { return now }
		return pades.VerifyOptions{Roots: p.roots, Now: clock, Chains: chains,
			Revocation: &revocation.Checker{CRLs: crls, Now: clock, Signatures: sigs}}
	}
	now := p.now.Add(time.Minute)

	first := verifyCached(t, doc, at(now, interGood, rootCRL))
	wantOne(t, first, etsi.TotalPassed, etsi.None)
	if n := chains.Len(); n != 1 {
		t.Fatalf("%d chains cached, want 1", n)
	}
	if n := sigs.Len(); n != 2 {
		t.Fatalf("%d CRL signatures cached, want 2", n)
	}
	// The cache is used: a cached chain's CA certificates are the
	// cache's own copies, the same objects each time (a chain built
	// afresh takes the intermediate from each document's CMS).
	second := verifyCached(t, doc, at(now, interGood, rootCRL))
	third := verifyCached(t, doc, at(now.Add(time.Second), interGood, rootCRL))
	if second.Signatures[0].Chain[1] != third.Signatures[0].Chain[1] {
		t.Fatal("the cached chain was not used")
	}

	t.Run("revoked by a newer CRL", func(t *testing.T) {
		wantOne(t, verifyCached(t, doc, at(now, interRevokes, rootCRL)), etsi.TotalFailed, etsi.Revoked)
	})
	t.Run("revoked by the document's OCSP response", func(t *testing.T) {
		tmpl := ocsp.Response{Status: ocsp.Revoked, SerialNumber: p.person.cert.SerialNumber,
			ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(24 * time.Hour),
			RevokedAt: p.now.Add(-30 * time.Minute), RevocationReason: ocsp.Superseded}
		der, err := ocsp.CreateResponse(p.inter.Cert, p.inter.Cert, tmpl, p.inter.Key)
		if err != nil {
			t.Fatal(err)
		}
		var withDSS bytes.Buffer
		if err := pades.AddDSS(&withDSS, bytes.NewReader(doc), int64(len(doc)), pades.DSSData{OCSPs: [][]byte{der}}); err != nil {
			t.Fatal(err)
		}
		wantOne(t, verifyCached(t, withDSS.Bytes(), at(now, interGood, rootCRL)), etsi.TotalFailed, etsi.Revoked)
	})
	t.Run("signer expired", func(t *testing.T) {
		later := p.person.cert.NotAfter.Add(time.Hour)
		wantOne(t, verifyCached(t, doc, at(later, interGood, rootCRL)), etsi.Indeterminate, etsi.OutOfBoundsNoPOE)
	})
	t.Run("signer not yet valid", func(t *testing.T) {
		earlier := p.person.cert.NotBefore.Add(-time.Hour)
		wantOne(t, verifyCached(t, doc, at(earlier, interGood, rootCRL)), etsi.Indeterminate, etsi.NotYetValid)
	})
	t.Run("CA expired before the signer", func(t *testing.T) {
		// A signer valid for 10 years under a CA valid for 5: the chain
		// cached today must not serve in year 6.
		long := pki.Request{CommonName: "Dai Han", NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.Add(10 * 365 * 24 * time.Hour), Usage: pki.DocumentSigning}
		c, k, err := p.inter.Issue(long)
		if err != nil {
			t.Fatal(err)
		}
		id := identity{cert: c, key: k, chain: []*x509.Certificate{p.inter.Cert}}
		ldoc := sign(t, sample(t, false), id.opts(pades.SubFilterCAdES, p.now))
		wantOne(t, verifyCached(t, ldoc, at(now, interGood, rootCRL)), etsi.TotalPassed, etsi.None)
		year6 := p.inter.Cert.NotAfter.Add(24 * time.Hour)
		rep := verifyCached(t, ldoc, at(year6, interGood, rootCRL))
		wantOne(t, rep, etsi.Indeterminate, etsi.OutOfBoundsNoPOE)
		if s := rep.Signatures[0]; s.ValidAtSigningTime || !containsProblem(s.Problems, "a CA certificate of the chain was not valid") {
			t.Fatalf("valid at signing time %v, problems %q", s.ValidAtSigningTime, s.Problems)
		}
	})
	t.Run("key purpose", func(t *testing.T) {
		kdoc := signUnchecked(t, sample(t, false), p.noKeyUsage.opts(pades.SubFilterCAdES, p.now))
		for range 2 {
			rep := verifyCached(t, kdoc, at(now, interGood, rootCRL))
			if s := rep.Signatures[0]; s.Indication != etsi.TotalFailed || s.KeyUsageOK {
				t.Fatalf("indication %s/%s, key usage ok %v", s.Indication, s.SubIndication, s.KeyUsageOK)
			}
		}
	})
	t.Run("other anchors", func(t *testing.T) {
		opts := at(now, interGood, rootCRL)
		opts.Roots = x509.NewCertPool()
		opts.Roots.AddCert(p.otherRoot.Cert)
		wantOne(t, verifyCached(t, doc, opts), etsi.Indeterminate, etsi.NoCertificateChainFound)
		opts.Roots = nil
		wantOne(t, verifyCached(t, doc, opts), etsi.Indeterminate, etsi.NoCertificateChainFound)
	})
	t.Run("other intermediates", func(t *testing.T) {
		// The same anchors with a list of intermediates is another trust
		// state: a new entry, the same outcome.
		opts := at(now, interGood, rootCRL)
		opts.Intermediates = []*x509.Certificate{p.inter.Cert}
		before := chains.Len()
		wantOne(t, verifyCached(t, doc, opts), etsi.TotalPassed, etsi.None)
		if chains.Len() != before+1 {
			t.Fatalf("%d chains cached, want %d", chains.Len(), before+1)
		}
	})
}

func containsProblem(problems []string, sub string) bool {
	for _, p := range problems {
		if bytes.Contains([]byte(p), []byte(sub)) {
			return true
		}
	}
	return false
}

// TestChainCacheBounded: a cache of two chains never holds more, and a
// signer whose chain was evicted still verifies.
func TestChainCacheBounded(t *testing.T) {
	p := newTestPKI(t)
	chains := pades.NewChainCache(2)
	opts := p.verifyOptions()
	opts.Chains = chains
	base := sample(t, false)
	for round := range 2 {
		for _, id := range []identity{p.person, p.personRSA, p.seal, p.sealEC} {
			rep := verifyCached(t, sign(t, base, id.opts(pades.SubFilterCAdES, p.now)), opts)
			if rep.Verdict != pades.VerdictValid {
				t.Fatalf("round %d, %s: verdict %s", round, id.cert.Subject.CommonName, rep.Verdict)
			}
			if n := chains.Len(); n > 2 {
				t.Fatalf("%d chains cached, bound 2", n)
			}
		}
	}
	if n := chains.Len(); n != 2 {
		t.Fatalf("%d chains cached, want 2", n)
	}
}

// TestChainCacheConcurrent verifies documents of four signers from four
// goroutines through one small cache (run with -race): every report is
// the one the cache-less verification gives.
func TestChainCacheConcurrent(t *testing.T) {
	p := newTestPKI(t)
	opts := p.verifyOptions()
	opts.Chains = pades.NewChainCache(2)
	base := sample(t, false)
	var docs [][]byte
	for _, id := range []identity{p.person, p.personRSA, p.seal, p.sealEC} {
		docs = append(docs, sign(t, base, id.opts(pades.SubFilterCAdES, p.now)))
	}
	errs := make(chan error, len(docs))
	for w := range docs {
		go func() {
			for i := range 8 {
				doc := docs[(w+i)%len(docs)]
				rep, err := pades.Verify(bytes.NewReader(doc), int64(len(doc)), opts)
				if err == nil && (rep.Verdict != pades.VerdictValid || len(rep.Signatures[0].Chain) < 2) {
					err = fmt.Errorf("verdict %s, chain of %d", rep.Verdict, len(rep.Signatures[0].Chain))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range docs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := opts.Chains.Len(); n > 2 {
		t.Fatalf("%d chains cached, bound 2", n)
	}
}
