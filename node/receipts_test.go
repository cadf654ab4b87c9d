package node

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/receipt"
)

// testHub is a root, an intermediate valid from t0 for 36 hours and a hub
// certificate it issued, valid from t0 to hubNotAfter.
func testHub(t *testing.T, t0 time.Time, hubNotAfter time.Time) (*receipt.Issuer, *x509.CertPool) {
	t.Helper()
	root, err := pki.NewRoot(pki.Request{CommonName: "Root", NotBefore: t0, NotAfter: t0.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := root.NewIntermediate(pki.Request{CommonName: "Intermediate", NotBefore: t0, NotAfter: t0.Add(36 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := mid.Issue(pki.Request{CommonName: "hub", NotBefore: t0, NotAfter: hubNotAfter, Usage: pki.ServerAuth | pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	// A receipt carries only the hub certificate, so the intermediate is
	// trusted as given; its validity still bounds the chain.
	pool.AddCert(mid.Cert)
	return receipt.NewIssuer(key, cert, nil), pool
}

func issueAt(t *testing.T, iss *receipt.Issuer, at time.Time) *lienthongv1.Receipt {
	t.Helper()
	r, err := iss.Issue(&lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(at)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The checker accepts and refuses exactly what receipt.Verify does, for
// receipts checked after the hub certificate's chain was cached too.
func TestReceiptCheckerAgreesWithVerify(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	iss, roots := testHub(t, t0, t0.Add(24*time.Hour))
	_, otherRoots := testHub(t, t0, t0.Add(24*time.Hour))
	good := issueAt(t, iss, t0.Add(time.Hour))

	cases := map[string]struct {
		r     *lienthongv1.Receipt
		roots *x509.CertPool
	}{
		"valid":                     {good, roots},
		"valid later":               {issueAt(t, iss, t0.Add(23*time.Hour)), roots},
		"after the hub cert":        {issueAt(t, iss, t0.Add(25*time.Hour)), roots},
		"before the chain":          {issueAt(t, iss, t0.Add(-time.Minute)), roots},
		"other roots":               {good, otherRoots},
		"one byte of body":          {mutated(good, func(r *lienthongv1.Receipt) { r.Body[len(r.Body)-1] ^= 1 }), roots},
		"one byte of the signature": {mutated(good, func(r *lienthongv1.Receipt) { r.Signature[len(r.Signature)/2] ^= 1 }), roots},
		"garbage certificate":       {mutated(good, func(r *lienthongv1.Receipt) { r.Certificate = []byte("x") }), roots},
	}
	var rc receiptChecker
	// Twice: the first round fills the cache with the hub certificate, the
	// second is answered from it.
	for round := range 2 {
		for name, c := range cases {
			_, want := receipt.Verify(c.r, c.roots)
			body, got := rc.verify(c.r, c.roots)
			if (want == nil) != (got == nil) {
				t.Errorf("round %d, %s: checker says %v, receipt.Verify %v", round, name, got, want)
			}
			if got != nil && !errors.Is(got, receipt.ErrInvalid) {
				t.Errorf("round %d, %s: %v does not wrap ErrInvalid", round, name, got)
			}
			if got == nil && body.GetMessageId() != "m1" {
				t.Errorf("round %d, %s: body %v", round, name, body)
			}
		}
	}
	if n := len(rc.certs); n != 1 {
		t.Errorf("checker remembers %d certificates, want the one hub certificate", n)
	}
}

// An intermediate that expires before the hub certificate bounds the
// receipts a cached chain accepts.
func TestReceiptCheckerChecksEveryValidityPeriod(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	// The hub certificate outlives the intermediate (36 h).
	iss, roots := testHub(t, t0, t0.Add(40*time.Hour))
	var rc receiptChecker
	if _, err := rc.verify(issueAt(t, iss, t0.Add(time.Hour)), roots); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.verify(issueAt(t, iss, t0.Add(38*time.Hour)), roots); !errors.Is(err, receipt.ErrInvalid) {
		t.Errorf("receipt after the intermediate expired: %v, want ErrInvalid", err)
	}
}

func mutated(r *lienthongv1.Receipt, mutate func(*lienthongv1.Receipt)) *lienthongv1.Receipt {
	c := &lienthongv1.Receipt{Body: append([]byte(nil), r.Body...), Signature: append([]byte(nil), r.Signature...),
		Certificate: r.Certificate}
	mutate(c)
	return c
}
