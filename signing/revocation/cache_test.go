package revocation

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// TestSignatureCache: only a signature that verified is remembered, and
// only the signature: a remembered CRL still says revoked, stale or good
// by its entries and dates, a CRL forged with another key is refused every
// time, and the cache stays within its bound.
func TestSignatureCache(t *testing.T) {
	p := newPKI(t, nil)
	now := p.now
	listed := []x509.RevocationListEntry{{SerialNumber: p.leaf.SerialNumber, RevocationTime: now.Add(-2 * time.Hour), ReasonCode: 4}}
	good := p.crl(t, p.inter, now.Add(-time.Hour), now.Add(time.Hour), nil)
	revoking := p.crl(t, p.inter, now.Add(-time.Hour), now.Add(time.Hour), listed)
	// Another key under the intermediate's name and key identifier: only
	// the signature tells it apart.
	impostor := *p.other
	cert := *p.other.Cert
	cert.SubjectKeyId = p.inter.Cert.SubjectKeyId
	impostor.Cert = &cert
	forged := p.crl(t, &impostor, now.Add(-time.Hour), now.Add(time.Hour), nil)
	cache := NewSignatureCache(2)
	check := func(crl *x509.RevocationList, at time.Time) Result {
		t.Helper()
		c := &Checker{CRLs: []*x509.RevocationList{crl}, Now: func() time.Time { return now }, Signatures: cache}
		return c.Check(context.Background(), p.leaf, p.inter.Cert, at, Evidence{})
	}
	steps := []struct {
		name   string
		crl    *x509.RevocationList
		at     time.Time
		status Status
		cached int
	}{
		{"good", good, now, StatusGood, 1},
		{"good again", good, now, StatusGood, 1},
		{"the same CRL, past its nextUpdate", good, now.Add(2 * time.Hour), StatusUnknown, 1},
		{"forged", forged, now, StatusUnknown, 1},
		{"forged again", forged, now, StatusUnknown, 1},
		{"revoking", revoking, now, StatusRevoked, 2},
		{"revoking again", revoking, now, StatusRevoked, 2},
		{"another good CRL (bound 2)", p.crl(t, p.inter, now.Add(-time.Hour), now.Add(time.Hour), nil), now, StatusGood, 2},
	}
	for _, st := range steps {
		r := check(st.crl, st.at)
		if r.Status != st.status {
			t.Fatalf("%s: status %s, want %s; problems %q", st.name, r.Status, st.status, r.Problems)
		}
		if n := cache.Len(); n != st.cached {
			t.Fatalf("%s: %d signatures cached, want %d", st.name, n, st.cached)
		}
	}
	if r := check(forged, now); len(r.Problems) == 0 || !strings.Contains(r.Problems[0], "bad signature") {
		t.Fatalf("forged CRL: problems %q", r.Problems)
	}
}
