package pades_test

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

const year = 365 * 24 * time.Hour

// supersededCRL is inter's CRL revoking cert at revokedAt with reason
// superseded (4): not a key compromise, so a signature made before
// revokedAt stays valid if something proves it was.
func supersededCRL(t *testing.T, p *testPKI, cert *x509.Certificate, revokedAt time.Time) *x509.RevocationList {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: cert.SerialNumber, RevocationTime: revokedAt, ReasonCode: 4}},
		Number:                    big.NewInt(2),
		ThisUpdate:                p.now.Add(-30 * time.Minute),
		NextUpdate:                p.now.Add(7 * 24 * time.Hour),
	}, p.inter.Cert, p.inter.Key)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// TestClaimedTimeProvesNothing is issue 13's case 8: the time a signer
// writes (/M, or the CMS signingTime) is not proof of existence, so an
// expired or revoked certificate is judged at validation time.
func TestClaimedTimeProvesNothing(t *testing.T) {
	p := newTestPKI(t)
	// Expired a year ago; /M back-dated into its validity.
	expiredAt := p.expired.cert.NotBefore.Add(p.expired.cert.NotAfter.Sub(p.expired.cert.NotBefore) / 2)
	// Revoked (superseded) an hour ago; /M two days earlier.
	superseded := issueCustom(t, p.inter, "Thay The", pki.ECDSAP256, p.now, func(c *x509.Certificate) { c.NotBefore = p.now.Add(-30 * 24 * time.Hour) })
	crl := supersededCRL(t, p, superseded.cert, p.now.Add(-time.Hour))
	opts := p.verifyOptions()
	opts.CRLs = []*x509.RevocationList{crl}

	tests := []struct {
		name string
		id   identity
		sf   pades.SubFilter
		at   time.Time
		ind  etsi.Indication
		sub  etsi.SubIndication
	}{
		{"expired, /M back-dated (CAdES)", p.expired, pades.SubFilterCAdES, expiredAt, etsi.Indeterminate, etsi.OutOfBoundsNoPOE},
		{"expired, signingTime back-dated (PKCS7)", p.expired, pades.SubFilterPKCS7, expiredAt, etsi.Indeterminate, etsi.OutOfBoundsNoPOE},
		{"revoked an hour ago, /M two days earlier", superseded, pades.SubFilterCAdES, p.now.Add(-48 * time.Hour), etsi.Indeterminate, etsi.RevokedNoPOE},
		{"revoked an hour ago, /M after the revocation", superseded, pades.SubFilterCAdES, p.now.Add(-time.Minute), etsi.TotalFailed, etsi.Revoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := sign(t, sample(t, false), tt.id.opts(tt.sf, tt.at))
			rep := verify(t, pdf, opts)
			if len(rep.Signatures) != 1 {
				t.Fatalf("%d signatures", len(rep.Signatures))
			}
			s := rep.Signatures[0]
			if s.Indication != tt.ind || s.SubIndication != tt.sub {
				t.Fatalf("indication %s %s, want %s %s; problems %q", s.Indication, s.SubIndication, tt.ind, tt.sub, s.Problems)
			}
			want := pades.VerdictInvalid
			if tt.ind == etsi.Indeterminate {
				want = pades.VerdictIndeterminate
			}
			if rep.Indication != tt.ind || rep.Verdict != want {
				t.Errorf("report: %s %s", rep.Indication, rep.Verdict)
			}
		})
	}
}
