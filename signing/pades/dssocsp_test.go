package pades_test

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/revocation"
)

// An OCSP response carried in the document's DSS is used offline: with a
// checker that requires revocation information and holds no CRL of the
// signer's issuer, the signature is TOTAL-PASSED with the DSS's response
// and INDETERMINATE/TRY_LATER without it; a DSS response saying "revoked"
// before the time the signer claims fails it.
func TestDSSOCSPUsedOffline(t *testing.T) {
	p := newTestPKI(t)
	doc := sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now))
	rootCRL, err := x509.ParseRevocationList(crlDER(t, p.root, p.now.Add(-time.Hour), p.now.Add(24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	respond := func(status int) []byte {
		t.Helper()
		tmpl := ocsp.Response{Status: status, SerialNumber: p.person.cert.SerialNumber,
			ThisUpdate: p.now.Add(-time.Hour), NextUpdate: p.now.Add(24 * time.Hour)}
		if status == ocsp.Revoked {
			tmpl.RevokedAt, tmpl.RevocationReason = p.now.Add(-30*time.Minute), ocsp.Superseded
		}
		der, err := ocsp.CreateResponse(p.inter.Cert, p.inter.Cert, tmpl, p.inter.Key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	withDSS := func(ocsps ...[]byte) []byte {
		t.Helper()
		var out bytes.Buffer
		if err := pades.AddDSS(&out, bytes.NewReader(doc), int64(len(doc)), pades.DSSData{OCSPs: ocsps}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	for _, tc := range []struct {
		name   string
		pdf    []byte
		ind    etsi.Indication
		sub    etsi.SubIndication
		source revocation.Source
	}{
		{"no DSS", doc, etsi.Indeterminate, etsi.TryLater, revocation.SourceNone},
		{"DSS with a good OCSP response", withDSS(respond(ocsp.Good)), etsi.TotalPassed, etsi.None, revocation.SourceOCSP},
		{"DSS with a revoked OCSP response", withDSS(respond(ocsp.Revoked)), etsi.TotalFailed, etsi.Revoked, revocation.SourceOCSP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := p.verifyOptions()
			opts.CRLs = nil // the intermediate's CRL would answer for the signer
			opts.Revocation = &revocation.Checker{CRLs: []*x509.RevocationList{rootCRL}, Now: opts.Now}
			rep := verify(t, tc.pdf, opts)
			if len(rep.Signatures) != 1 {
				t.Fatalf("%d signatures, want 1", len(rep.Signatures))
			}
			s := rep.Signatures[0]
			if s.Indication != tc.ind || s.SubIndication != tc.sub {
				t.Fatalf("indication %s/%s, want %s/%s; problems %q", s.Indication, s.SubIndication, tc.ind, tc.sub, s.Problems)
			}
			if len(s.Revocation) == 0 || s.Revocation[0].Source != tc.source {
				t.Fatalf("signer's revocation result %+v, want source %q", s.Revocation, tc.source)
			}
			if tc.source == revocation.SourceOCSP && s.Revocation[0].Origin != revocation.OriginDSS {
				t.Errorf("signer's revocation origin %q, want %q", s.Revocation[0].Origin, revocation.OriginDSS)
			}
		})
	}
}
