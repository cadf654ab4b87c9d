package trust_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/trust"
)

type fixture struct {
	now      time.Time
	root     *pki.Authority
	inter    *pki.Authority
	leaf     *x509.Certificate
	leafKey  crypto.Signer
	crlDER   []byte // inter's CRL revoking leaf
	emptyDER []byte // root's CRL revoking nothing
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	f := &fixture{now: now}
	var err error
	if f.root, err = pki.NewRoot(pki.Request{CommonName: "Trust Root", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if f.inter, err = f.root.NewIntermediate(pki.Request{CommonName: "Trust Sub CA", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	leaf, key, err := f.inter.Issue(pki.Request{CommonName: "Signer", NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	f.leaf, f.leafKey = leaf, key
	if f.crlDER, err = f.inter.CRL([]*x509.Certificate{leaf}, now.Add(-time.Hour), now.Add(-time.Hour), now.Add(time.Hour), 1); err != nil {
		t.Fatal(err)
	}
	if f.emptyDER, err = f.root.CRL(nil, now, now.Add(-time.Hour), now.Add(time.Hour), 1); err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := pki.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "roots", "province.pem"), pki.CertPEM(f.root.Cert, f.inter.Cert))
	write(t, filepath.Join(dir, "roots", "README.txt"), []byte("ignored"))
	write(t, filepath.Join(dir, "crls", "inter.pem"), pki.CRLPEM(f.crlDER))
	write(t, filepath.Join(dir, "crls", "root.crl"), f.emptyDER)
	s, err := trust.Load(dir, trust.WithClock(func() time.Time { return f.now }))
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if len(snap.Certificates) != 2 || len(s.CRLs()) != 2 || !snap.LoadedAt.Equal(f.now) {
		t.Fatalf("loaded %d certificates, %d CRLs at %v", len(snap.Certificates), len(s.CRLs()), snap.LoadedAt)
	}
	if _, err := f.leaf.Verify(x509.VerifyOptions{Roots: s.Roots(), Intermediates: s.Intermediates(), CurrentTime: f.now}); err != nil {
		t.Errorf("leaf does not chain to the store's roots: %v", err)
	}
	vo := s.VerifyOptions()
	if vo.Roots != snap.Roots || len(vo.CRLs) != 2 || !vo.Now().Equal(f.now) {
		t.Errorf("VerifyOptions = %+v", vo)
	}
}

func TestLoadErrors(t *testing.T) {
	f := newFixture(t)
	other, err := pki.NewRoot(pki.Request{CommonName: "Trust Sub CA", NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.CRL(nil, f.now, f.now.Add(-time.Hour), f.now.Add(time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"no directory", nil, "no such file"},
		{"no roots", map[string][]byte{"crls/x.crl": f.emptyDER}, "no such file"},
		{"empty roots", map[string][]byte{"roots/a.txt": []byte("x")}, "no roots/*.pem"},
		{"not PEM", map[string][]byte{"roots/a.pem": []byte("junk")}, "no PEM certificate"},
		{"leaf as root", map[string][]byte{"roots/a.pem": pki.CertPEM(f.leaf)}, "is not a CA certificate"},
		{"bad CRL", map[string][]byte{"roots/a.pem": pki.CertPEM(f.root.Cert), "crls/b.crl": []byte("junk")}, "parsing DER CRL"},
		{"CRL of unknown CA", map[string][]byte{"roots/a.pem": pki.CertPEM(f.root.Cert), "crls/b.pem": pki.CRLPEM(f.crlDER)}, "not signed by a CA in roots/"},
		{"forged CRL", map[string][]byte{"roots/a.pem": pki.CertPEM(f.root.Cert, f.inter.Cert), "crls/b.crl": forged}, "not signed by a CA in roots/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "trust")
			for name, data := range tt.files {
				write(t, filepath.Join(dir, name), data)
			}
			_, err := trust.Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestReloadChangesVerdict: a CRL dropped into crls/ revokes a signer after
// Reload, without a restart; a broken directory keeps the old state.
func TestReloadChangesVerdict(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "roots", "root.pem"), pki.CertPEM(f.root.Cert))
	s, err := trust.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Reload"})
	if err != nil {
		t.Fatal(err)
	}
	var signed bytes.Buffer
	if err := pades.Sign(&signed, bytes.NewReader(doc), int64(len(doc)), pades.SignOptions{
		Signer: f.leafKey, Certificate: f.leaf, Chain: []*x509.Certificate{f.inter.Cert}, Time: f.now,
	}); err != nil {
		t.Fatal(err)
	}
	verdict := func() pades.Verdict {
		rep, err := pades.Verify(bytes.NewReader(signed.Bytes()), int64(signed.Len()), s.VerifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		return rep.Verdict
	}
	// No CRL of the sub CA: its certificates' status is unknown.
	if v := verdict(); v != pades.VerdictIndeterminate {
		t.Fatalf("before the CRL: %s", v)
	}
	write(t, filepath.Join(dir, "roots", "inter.pem"), pki.CertPEM(f.inter.Cert))
	write(t, filepath.Join(dir, "crls", "inter.crl"), f.crlDER)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if v := verdict(); v != pades.VerdictInvalid {
		t.Fatalf("after the CRL: %s", v)
	}
	before := s.Snapshot()
	write(t, filepath.Join(dir, "crls", "broken.crl"), []byte("junk"))
	if err := s.Reload(); err == nil {
		t.Fatal("Reload accepted a broken CRL")
	}
	if s.Snapshot() != before {
		t.Error("a failed Reload replaced the state")
	}
}

// TestConcurrentReload runs readers against Reload; run with -race.
func TestConcurrentReload(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "roots", "root.pem"), pki.CertPEM(f.root.Cert, f.inter.Cert))
	write(t, filepath.Join(dir, "crls", "root.crl"), f.emptyDER)
	s, err := trust.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				vo := s.VerifyOptions()
				if vo.Roots == nil || len(vo.CRLs) == 0 {
					t.Error("reader saw an empty store")
					return
				}
				if _, err := f.leaf.Verify(x509.VerifyOptions{Roots: s.Roots(), Intermediates: s.Intermediates(), CurrentTime: f.now}); err != nil {
					t.Errorf("reader: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		if err := s.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestParseCRLs(t *testing.T) {
	f := newFixture(t)
	both := append(pki.CRLPEM(f.crlDER), pki.CRLPEM(f.emptyDER)...)
	for name, tt := range map[string]struct {
		data []byte
		n    int
	}{
		"DER":         {f.crlDER, 1},
		"PEM, two":    {both, 2},
		"junk":        {[]byte("junk"), 0},
		"PEM, no CRL": {pki.CertPEM(f.root.Cert), 0},
	} {
		crls, err := trust.ParseCRLs(tt.data)
		if len(crls) != tt.n || (err != nil) != (tt.n == 0) {
			t.Errorf("%s: %d CRLs, err %v; want %d", name, len(crls), err, tt.n)
		}
	}
}

// TestLayout: anchors, intermediates and TSA anchors are kept apart, and an
// older store with intermediates in roots/ keeps working.
func TestLayout(t *testing.T) {
	f := newFixture(t)
	tsa, err := pki.NewRoot(pki.Request{CommonName: "TSA Root", NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		files         map[string][]byte
		anchors       []string
		intermediates []string
		notes         int
	}{
		{"new layout", map[string][]byte{
			"roots/root.pem": pki.CertPEM(f.root.Cert), "intermediates/sub.pem": pki.CertPEM(f.inter.Cert),
			"tsa/tsa.pem": pki.CertPEM(tsa.Cert), "crls/sub.crl": f.crlDER,
		}, []string{"Trust Root"}, []string{"Trust Sub CA"}, 0},
		{"older layout: intermediate beside its root", map[string][]byte{
			"roots/province.pem": pki.CertPEM(f.root.Cert, f.inter.Cert), "crls/sub.crl": f.crlDER,
		}, []string{"Trust Root"}, []string{"Trust Sub CA"}, 1},
		{"a subordinate CA trusted alone stays an anchor", map[string][]byte{
			"roots/sub.pem": pki.CertPEM(f.inter.Cert), "crls/sub.crl": f.crlDER,
		}, []string{"Trust Sub CA"}, nil, 0},
	}
	names := func(cs []*x509.Certificate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Subject.CommonName)
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				write(t, filepath.Join(dir, name), data)
			}
			s, err := trust.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			snap := s.Snapshot()
			if got := names(snap.Anchors); strings.Join(got, ",") != strings.Join(tc.anchors, ",") {
				t.Errorf("anchors %q, want %q", got, tc.anchors)
			}
			if got := names(snap.Intermediates); strings.Join(got, ",") != strings.Join(tc.intermediates, ",") {
				t.Errorf("intermediates %q, want %q", got, tc.intermediates)
			}
			if len(snap.Notes) != tc.notes || (tc.notes > 0 && !strings.Contains(snap.Notes[0], "move it to intermediates/")) {
				t.Errorf("notes %q", snap.Notes)
			}
			if _, err := tsa.Cert.Verify(x509.VerifyOptions{Roots: s.Roots()}); err == nil {
				t.Error("a TSA anchor is a root for document signers")
			}
			if _, ok := tc.files["tsa/tsa.pem"]; ok {
				if _, err := tsa.Cert.Verify(x509.VerifyOptions{Roots: snap.TSARoots}); err != nil {
					t.Errorf("TSA anchor missing from TSARoots: %v", err)
				}
			}
			if _, err := f.leaf.Verify(x509.VerifyOptions{Roots: s.Roots(), Intermediates: s.Intermediates(), CurrentTime: f.now}); err != nil {
				t.Errorf("leaf does not chain: %v", err)
			}
		})
	}
}

// TestReloadAfterCachedChain: the store's VerifyOptions carry caches of
// verified chains and CRL signatures, and a signer whose chain was cached
// as good is refused after a reload that revokes it, then untrusted after
// one that removes its anchor.
func TestReloadAfterCachedChain(t *testing.T) {
	f := newFixture(t)
	goodDER, err := f.inter.CRL(nil, f.now.Add(-time.Hour), f.now.Add(-time.Hour), f.now.Add(time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewRoot(pki.Request{CommonName: "Other Root", NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rootPEM := filepath.Join(dir, "roots", "root.pem")
	interPEM := filepath.Join(dir, "intermediates", "inter.pem")
	interCRL, rootCRL := filepath.Join(dir, "crls", "inter.crl"), filepath.Join(dir, "crls", "root.crl")
	write(t, rootPEM, pki.CertPEM(f.root.Cert))
	write(t, interPEM, pki.CertPEM(f.inter.Cert))
	write(t, interCRL, goodDER)
	write(t, rootCRL, f.emptyDER)
	s, err := trust.Load(dir, trust.WithClock(func() time.Time { return f.now }))
	if err != nil {
		t.Fatal(err)
	}
	if vo := s.VerifyOptions(); vo.Chains == nil || vo.Revocation.Signatures == nil {
		t.Fatal("VerifyOptions carry no caches")
	}
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Cache"})
	if err != nil {
		t.Fatal(err)
	}
	var signed bytes.Buffer
	if err := pades.Sign(&signed, bytes.NewReader(doc), int64(len(doc)), pades.SignOptions{
		Signer: f.leafKey, Certificate: f.leaf, Chain: []*x509.Certificate{f.inter.Cert}, Time: f.now,
	}); err != nil {
		t.Fatal(err)
	}
	check := func(step string, want etsi.Indication, sub etsi.SubIndication) {
		t.Helper()
		for range 2 { // the second time from the cache, if any
			rep, err := pades.Verify(bytes.NewReader(signed.Bytes()), int64(signed.Len()), s.VerifyOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Signatures) != 1 {
				t.Fatalf("%s: %d signatures", step, len(rep.Signatures))
			}
			if sr := rep.Signatures[0]; sr.Indication != want || sr.SubIndication != sub {
				t.Fatalf("%s: %s/%s, want %s/%s; problems %q", step, sr.Indication, sr.SubIndication, want, sub, sr.Problems)
			}
		}
	}
	reload := func() {
		t.Helper()
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	check("first load", etsi.TotalPassed, etsi.None)
	if n := s.VerifyOptions().Chains.Len(); n != 1 {
		t.Fatalf("%d chains cached, want 1", n)
	}

	write(t, interCRL, f.crlDER)
	reload()
	check("the CRL revokes the signer", etsi.TotalFailed, etsi.Revoked)

	write(t, interCRL, goodDER)
	reload()
	check("the CRL no longer lists it", etsi.TotalPassed, etsi.None)

	for _, p := range []string{interPEM, interCRL, rootCRL} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	write(t, rootPEM, pki.CertPEM(other.Cert))
	reload()
	if n := s.VerifyOptions().Chains.Len(); n != 0 {
		t.Fatalf("a reload kept %d cached chains", n)
	}
	check("the anchor removed", etsi.Indeterminate, etsi.NoCertificateChainFound)
}
