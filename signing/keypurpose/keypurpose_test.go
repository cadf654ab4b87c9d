package keypurpose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pki"
)

func TestCheckSigner(t *testing.T) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(t *testing.T, u pki.Usage, eku ...x509.ExtKeyUsage) *x509.Certificate {
		t.Helper()
		c, _, err := root.Issue(pki.Request{CommonName: "Leaf", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: u, ExtKeyUsage: eku})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	withUnknown := func(c *x509.Certificate, oid asn1.ObjectIdentifier) *x509.Certificate {
		cp := *c
		cp.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		cp.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oid}
		return &cp
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		want error
	}{
		{"document signing", issue(t, pki.DocumentSigning), nil},
		{"agency: TLS client and document signing", issue(t, pki.ClientAuth|pki.DocumentSigning), nil},
		{"no key usage at all", &x509.Certificate{}, nil},
		{"TLS client only", issue(t, pki.ClientAuth), ErrExtKey},
		{"TLS server only", issue(t, pki.ServerAuth), ErrExtKey},
		{"anyExtendedKeyUsage", issue(t, pki.DocumentSigning, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageAny), nil},
		{"id-kp-documentSigning", withUnknown(issue(t, pki.DocumentSigning), OIDDocumentSigning), nil},
		{"Adobe", withUnknown(issue(t, pki.DocumentSigning), OIDAdobeAuthenticDocuments), nil},
		{"Microsoft", withUnknown(issue(t, pki.DocumentSigning), OIDMicrosoftDocumentSigning), nil},
		{"another EKU", withUnknown(issue(t, pki.DocumentSigning), asn1.ObjectIdentifier{1, 2, 3}), ErrExtKey},
		{"CA certificate", root.Cert, ErrCA},
		{"key encipherment only", &x509.Certificate{KeyUsage: x509.KeyUsageKeyEncipherment}, ErrKeyUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSigner(tc.cert)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckSigner = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCheckForSigning(t *testing.T) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Root", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _, err := root.Issue(pki.Request{CommonName: "Leaf", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning, KeyType: pki.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	tls, _, err := root.Issue(pki.Request{CommonName: "TLS", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.ServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakCert, err := root.IssueFor(pki.Request{CommonName: "Weak", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning}, weak.Public())
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224Cert, err := root.IssueFor(pki.Request{CommonName: "P224", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning}, p224.Public())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		at   time.Time
		want error
	}{
		{"valid RSA-2048", leaf, now, nil},
		{"expired", leaf, now.Add(2 * time.Hour), ErrNotValidNow},
		{"not yet valid", leaf, now.Add(-2 * time.Hour), ErrNotValidNow},
		{"CA", root.Cert, now, ErrCA},
		{"TLS only", tls, now, ErrExtKey},
		{"key encipherment only", &x509.Certificate{KeyUsage: x509.KeyUsageKeyEncipherment}, now, ErrKeyUsage},
		{"RSA-1024", weakCert, now, ErrWeakKey},
		{"ECDSA P-224", p224Cert, now, ErrWeakKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckForSigning(tc.cert, tc.at)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckForSigning = %v, want %v", err, tc.want)
			}
		})
	}
}
