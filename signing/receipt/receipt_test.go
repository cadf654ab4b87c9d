package receipt

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

func testIssuer(t *testing.T, now time.Time) (*Issuer, *x509.CertPool) {
	t.Helper()
	root, err := pki.NewRoot(pki.Request{CommonName: "Test Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.Issue(pki.Request{CommonName: "hub", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), Usage: pki.ServerAuth | pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return NewIssuer(key, cert, func() time.Time { return now }), pool
}

func TestIssueVerify(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	iss, roots := testIssuer(t, now)
	r, err := iss.Issue(&lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_ACCEPTED, Recipients: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := Verify(r, roots)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if body.GetMessageId() != "m1" || !body.GetTime().AsTime().Equal(now) || len(body.GetReceiptId()) != 32 {
		t.Errorf("body = %v", body)
	}

	otherIss, otherRoots := testIssuer(t, now)
	_ = otherIss
	for name, mutate := range map[string]func(r *lienthongv1.Receipt){
		"one byte of body":  func(r *lienthongv1.Receipt) { r.Body[len(r.Body)-1] ^= 1 },
		"one byte of sig":   func(r *lienthongv1.Receipt) { r.Signature[len(r.Signature)/2] ^= 1 },
		"truncated sig":     func(r *lienthongv1.Receipt) { r.Signature = r.Signature[:4] },
		"garbage cert":      func(r *lienthongv1.Receipt) { r.Certificate = []byte("x") },
		"wrong trust roots": func(*lienthongv1.Receipt) { roots = otherRoots },
	} {
		t.Run(name, func(t *testing.T) {
			saved := roots
			defer func() { roots = saved }()
			c := &lienthongv1.Receipt{Body: append([]byte(nil), r.Body...), Signature: append([]byte(nil), r.Signature...), Certificate: r.Certificate}
			mutate(c)
			if _, err := Verify(c, roots); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify = %v, want ErrInvalid", err)
			}
		})
	}
}
