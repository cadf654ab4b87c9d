package receipt

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

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

// testHub is a root, an intermediate valid from t0 for 36 hours and a hub
// certificate it issued, valid from t0 to hubNotAfter.
func testHub(t *testing.T, t0 time.Time, hubNotAfter time.Time) (*Issuer, *x509.CertPool) {
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
	return NewIssuer(key, cert, nil), pool
}

func issueAt(t *testing.T, iss *Issuer, at time.Time) *lienthongv1.Receipt {
	t.Helper()
	r, err := iss.Issue(&lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(at)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A Verifier answers from the chains it remembers exactly as it answered
// when it built them: every receipt is checked twice, the second time
// with the hub certificate's chain cached.
func TestVerifierRemembersChains(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	iss, roots := testHub(t, t0, t0.Add(24*time.Hour))
	_, otherRoots := testHub(t, t0, t0.Add(24*time.Hour))
	good := issueAt(t, iss, t0.Add(time.Hour))

	cases := []struct {
		name  string
		r     *lienthongv1.Receipt
		roots *x509.CertPool
		ok    bool
	}{
		{"valid", good, roots, true},
		{"valid later", issueAt(t, iss, t0.Add(23*time.Hour)), roots, true},
		{"after the hub cert", issueAt(t, iss, t0.Add(25*time.Hour)), roots, false},
		{"before the chain", issueAt(t, iss, t0.Add(-time.Minute)), roots, false},
		{"other roots", good, otherRoots, false},
		{"one byte of body", mutated(good, func(r *lienthongv1.Receipt) { r.Body[len(r.Body)-1] ^= 1 }), roots, false},
		{"one byte of the signature", mutated(good, func(r *lienthongv1.Receipt) { r.Signature[len(r.Signature)/2] ^= 1 }), roots, false},
		{"garbage certificate", mutated(good, func(r *lienthongv1.Receipt) { r.Certificate = []byte("x") }), roots, false},
	}
	var v Verifier
	for round := range 2 {
		for _, c := range cases {
			body, err := v.Verify(c.r, c.roots)
			if (err == nil) != c.ok {
				t.Errorf("round %d, %s: Verify = %v, want ok %v", round, c.name, err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("round %d, %s: %v does not wrap ErrInvalid", round, c.name, err)
			}
			if err == nil && body.GetMessageId() != "m1" {
				t.Errorf("round %d, %s: body %v", round, c.name, body)
			}
		}
	}
	if n := len(v.certs); n != 1 {
		t.Errorf("verifier remembers %d certificates, want the one hub certificate", n)
	}
}

// An intermediate that expires before the hub certificate bounds the
// receipts a cached chain accepts.
func TestVerifierChecksEveryValidityPeriod(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	// The hub certificate outlives the intermediate (36 h).
	iss, roots := testHub(t, t0, t0.Add(40*time.Hour))
	var v Verifier
	if _, err := v.Verify(issueAt(t, iss, t0.Add(time.Hour)), roots); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(issueAt(t, iss, t0.Add(38*time.Hour)), roots); !errors.Is(err, ErrInvalid) {
		t.Errorf("receipt after the intermediate expired: %v, want ErrInvalid", err)
	}
}

func mutated(r *lienthongv1.Receipt, mutate func(*lienthongv1.Receipt)) *lienthongv1.Receipt {
	c := &lienthongv1.Receipt{Body: append([]byte(nil), r.Body...), Signature: append([]byte(nil), r.Signature...),
		Certificate: r.Certificate}
	mutate(c)
	return c
}
