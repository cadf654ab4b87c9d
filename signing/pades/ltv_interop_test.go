package pades_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/tsp"
	"github.com/lienthong/lienthong/signing/tsp/tsptest"
)

// ltvCase is a B-T, B-LT or B-LTA file made by our signer and test TSA.
type ltvCase struct {
	name string
	pdf  []byte
	sigs int // signatures, document timestamps not counted
	dts  int // document timestamps
}

// ltvCases signs with certificates whose CRL distribution points (and the
// TSA's) are served on loopback, since pdfcpu calls a certificate without
// revocation information "validity unknown"; the CRLs are also the ones
// AddLTV puts into the DSS.
func ltvCases(t *testing.T, p *testPKI, f *tsaFixture) ([]ltvCase, pades.VerifyOptions) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := p.verifyOptionsTSA(f)
	opts.CRLs = nil
	for path, ca := range map[string]*pki.Authority{"/root.crl": p.root, "/inter.crl": p.inter, "/tsa.crl": f.root} {
		der, err := ca.CRL(nil, p.now, p.now.Add(-time.Hour), p.now.Add(24*time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		opts.CRLs = append(opts.CRLs, crl)
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) { w.Write(der) })
	}
	withCRL := func(path string) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.CRLDistributionPoints = []string{srv.URL + path} }
	}
	person := issueCustom(t, p.inter, "Nguyễn Văn An", pki.ECDSAP256, p.now, withCRL("/inter.crl"))
	seal := issueCustom(t, p.root, "UBND tinh - con dau", pki.RSA2048, p.now, withCRL("/root.crl"))

	tsaCert, key := issueTSACert(t, f.root, p.now, srv.URL+"/tsa.crl")
	tsa := &tsptest.TSA{Cert: tsaCert, Key: key, Now: func() time.Time { return p.now }}
	tsaSrv := tsa.Server()
	t.Cleanup(tsaSrv.Close)
	client := &tsp.Client{URL: tsaSrv.URL}

	so := func(id identity, sf pades.SubFilter) pades.SignOptions {
		o := id.opts(sf, p.now)
		o.TSA = client
		return o
	}
	bt := signCtx(t, sample(t, false), so(person, pades.SubFilterCAdES))
	btTwo := signCtx(t, bt, so(seal, pades.SubFilterCAdES))
	bb := sign(t, sign(t, sample(t, true), person.opts(pades.SubFilterCAdES, p.now)), seal.opts(pades.SubFilterPKCS7, p.now))
	lt := pades.LTVOptions{Verify: opts}
	lta := pades.LTVOptions{Verify: opts, TSA: client}
	return []ltvCase{
		{"B-T", bt, 1, 0},
		{"B-T two signatures", btTwo, 2, 0},
		{"B-LT", addLTV(t, bt, lt), 1, 0},
		{"B-LT two B-B signatures, xref stream", addLTV(t, bb, lt), 2, 0},
		{"B-LTA", addLTV(t, bt, lta), 1, 1},
		{"B-LTA two signatures", addLTV(t, btTwo, lta), 2, 1},
		{"B-LTA twice (DSS and timestamp over an earlier B-LTA)", addLTV(t, addLTV(t, btTwo, lta), lta), 2, 2},
	}, opts
}

// TestLTVInterop: our B-T, B-LT and B-LTA files verify TOTAL-PASSED here,
// valid in pdfsig (which cannot check an ETSI.RFC3161 timestamp and says
// so) and valid in pdfcpu, document timestamps included.
func TestLTVInterop(t *testing.T) {
	p := newTestPKI(t)
	f := newTSAFixture(t, p)
	cases, opts := ltvCases(t, p, f)
	pdfsigOK := true
	if tool, err := execLook("pdfsig", "certutil", "pk12util", "openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed: apt-get install poppler-utils libnss3-tools openssl", tool)
		}
		pdfsigOK = false
		t.Logf("pdfsig part skipped, %s not installed: apt-get install poppler-utils libnss3-tools openssl", tool)
	}
	var nss string
	if pdfsigOK {
		nss = nssDB(t, []*x509.Certificate{p.root.Cert, f.root.Cert}, nil)
	}
	api.DisableConfigDir()
	pool := x509.NewCertPool()
	pool.AddCert(p.root.Cert)
	pool.AddCert(f.root.Cert)
	saved := model.UserCertPool
	model.UserCertPool = pool
	t.Cleanup(func() { model.UserCertPool = saved })

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := verify(t, c.pdf, opts)
			if rep.Verdict != pades.VerdictValid || rep.Indication != etsi.TotalPassed || len(rep.Signatures) != c.sigs || len(rep.DocumentTimestamps) != c.dts {
				t.Fatalf("ours: %s %s, %d signatures, %d document timestamps: %+v", rep.Verdict, rep.Indication, len(rep.Signatures), len(rep.DocumentTimestamps), rep.Signatures)
			}
			for _, ts := range rep.DocumentTimestamps {
				if !ts.Valid {
					t.Errorf("our document timestamp: %+v", ts)
				}
			}
			if c.name == "B-LT" {
				// The signer's chain (3) and the TSA's (2); the CRLs of
				// the intermediate, the root and the TSA root.
				certs, crls, ocsps, err := pades.DSSCounts(c.pdf)
				if err != nil || certs != 5 || crls != 3 || ocsps != 0 {
					t.Errorf("DSS holds %d certificates, %d CRLs, %d OCSP responses (%v); want 5, 3, 0", certs, crls, ocsps, err)
				}
			}
			path := writeTemp(t, "ltv.pdf", c.pdf)

			if pdfsigOK {
				res := pdfsigVerify(t, nss, path)
				if len(res) != c.sigs+c.dts {
					t.Fatalf("pdfsig found %d signatures, want %d", len(res), c.sigs+c.dts)
				}
				for i, r := range res {
					if strings.Contains(r.text, "Signature Type: unknown") { // poppler 22.12 on ETSI.RFC3161
						if strings.Contains(r.text, "Signature is Invalid") || !strings.Contains(r.text, "Signer Certificate Common Name: Test TSA") {
							t.Errorf("pdfsig on document timestamp %d:\n%s", i+1, r.text)
						}
						continue
					}
					if !r.valid || !r.trusted {
						t.Errorf("pdfsig on signature %d: valid=%v trusted=%v\n%s", i+1, r.valid, r.trusted, r.text)
					}
				}
			}

			results, err := api.ValidateSignatures(path, true, model.NewDefaultConfiguration())
			if err != nil {
				t.Fatalf("pdfcpu: %v", err)
			}
			// pdfcpu v0.11.1 validates only the latest document timestamp
			// (its ValidateSignatures says so).
			if want := c.sigs + min(c.dts, 1); len(results) != want {
				t.Fatalf("pdfcpu found %d signatures, want %d", len(results), want)
			}
			for i, r := range results {
				if r.Status != model.SignatureStatusValid {
					t.Errorf("pdfcpu signature %d: %s (%s) %q\n%s", i+1, r.Status, r.Reason, r.Problems, r)
				}
			}
			if err := api.ValidateFile(path, model.NewDefaultConfiguration()); err != nil {
				t.Errorf("pdfcpu validate: %v", err)
			}
		})
	}
}

// issueTSACert issues a TSA certificate with a CRL distribution point,
// which pki.Request cannot express: critical EKU id-kp-timeStamping.
func issueTSACert(t *testing.T, ca *pki.Authority, now time.Time, crlURL string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := pki.NewKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "Test TSA", Country: []string{"VN"}},
		NotBefore:             now.Add(-year),
		NotAfter:              now.Add(year),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		CRLDistributionPoints: []string{crlURL},
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// execLook reports the first of tools that is not installed.
func execLook(tools ...string) (string, error) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return tool, err
		}
	}
	return "", nil
}
