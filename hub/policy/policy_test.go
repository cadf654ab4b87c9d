package policy

import (
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/trust"
)

// TestRevoked: agencies' client certificates are checked by the same
// revocation code as signatures; a listed revocation locks an agency out,
// stale or missing information does not.
func TestRevoked(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	root, err := pki.NewRoot(pki.Request{CommonName: "Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	agency, _, err := root.Issue(pki.Request{CommonName: "000.01.31.H53", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.ClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	crl := func(revoked []*x509.Certificate, next time.Time) []byte {
		der, err := root.CRL(revoked, now.Add(-time.Minute), now.Add(-2*time.Hour), next, 1)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	tests := []struct {
		name string
		crl  []byte // nil: no CRL
		want bool
	}{
		{"no CRL", nil, false},
		{"fresh CRL without it", crl(nil, now.Add(time.Hour)), false},
		{"fresh CRL listing it", crl([]*x509.Certificate{agency}, now.Add(time.Hour)), true},
		{"stale CRL listing it", crl([]*x509.Certificate{agency}, now.Add(-time.Hour)), true},
		{"stale CRL without it", crl(nil, now.Add(-time.Hour)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := pki.WriteFile(filepath.Join(dir, "roots", "root.pem"), pki.CertPEM(root.Cert), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.crl != nil {
				if err := pki.WriteFile(filepath.Join(dir, "crls", "root.crl"), tc.crl, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ts, err := trust.Load(dir, trust.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			if got := Revoked(ts, agency); got != tc.want {
				t.Fatalf("Revoked = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	for in, want := range map[string]Indeterminate{"refuse": RefuseIndeterminate, "flag": FlagIndeterminate} {
		if got, err := ParseIndeterminate(in); err != nil || got != want {
			t.Errorf("ParseIndeterminate(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseIndeterminate("accept"); err == nil {
		t.Error("ParseIndeterminate accepted \"accept\"")
	}
	if NewFetcher(0) != nil {
		t.Error("fetching is on without a bound")
	}
	if f := NewFetcher(4 * time.Second); f == nil || f.Bound != 4*time.Second || f.Timeout != 2*time.Second {
		t.Errorf("NewFetcher(4s) = %+v", f)
	}
}
