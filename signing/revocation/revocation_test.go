package revocation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/lienthong/lienthong/signing/pki"
)

// testPKI is a root, an intermediate and a leaf the intermediate issued.
type testPKI struct {
	now   time.Time
	root  *pki.Authority
	inter *pki.Authority
	leaf  *x509.Certificate
	other *pki.Authority // a CA with the intermediate's name and another key
}

func newPKI(t *testing.T, leafReq func(*pki.Request)) *testPKI {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	p := &testPKI{now: now}
	var err error
	valid := func(cn string) pki.Request {
		return pki.Request{CommonName: cn, NotBefore: now.Add(-365 * 24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)}
	}
	if p.root, err = pki.NewRoot(valid("Root")); err != nil {
		t.Fatal(err)
	}
	if p.inter, err = p.root.NewIntermediate(valid("Inter")); err != nil {
		t.Fatal(err)
	}
	if p.other, err = pki.NewRoot(valid("Inter")); err != nil {
		t.Fatal(err)
	}
	req := valid("Signer")
	req.Usage = pki.DocumentSigning
	if leafReq != nil {
		leafReq(&req)
	}
	if p.leaf, _, err = p.inter.Issue(req); err != nil {
		t.Fatal(err)
	}
	return p
}

// crl makes a CRL signed by ca listing entries, with extra extensions.
func (p *testPKI) crl(t *testing.T, ca *pki.Authority, this, next time.Time, entries []x509.RevocationListEntry, ext ...pkix.Extension) *x509.RevocationList {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries, Number: big.NewInt(1),
		ThisUpdate: this, NextUpdate: next, ExtraExtensions: ext,
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (p *testPKI) ocsp(t *testing.T, responder *pki.Authority, status int, this, next time.Time) []byte {
	t.Helper()
	tmpl := ocsp.Response{Status: status, SerialNumber: p.leaf.SerialNumber, ThisUpdate: this, NextUpdate: next}
	if status == ocsp.Revoked {
		tmpl.RevokedAt, tmpl.RevocationReason = this.Add(-time.Hour), ocsp.Superseded
	}
	if responder.Cert != p.inter.Cert {
		tmpl.Certificate = responder.Cert
	}
	der, err := ocsp.CreateResponse(p.inter.Cert, responder.Cert, tmpl, responder.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCheck(t *testing.T) {
	p := newPKI(t, nil)
	now := p.now
	revokedAt := now.Add(-2 * time.Hour)
	listed := []x509.RevocationListEntry{{SerialNumber: p.leaf.SerialNumber, RevocationTime: revokedAt, ReasonCode: 4}}
	compromised := []x509.RevocationListEntry{{SerialNumber: p.leaf.SerialNumber, RevocationTime: revokedAt, ReasonCode: 1}}
	onHold := []x509.RevocationListEntry{{SerialNumber: p.leaf.SerialNumber, RevocationTime: revokedAt, ReasonCode: 6}}
	fresh := func(entries []x509.RevocationListEntry, ext ...pkix.Extension) *x509.RevocationList {
		return p.crl(t, p.inter, now.Add(-time.Hour), now.Add(24*time.Hour), entries, ext...)
	}
	stale := p.crl(t, p.inter, now.Add(-400*24*time.Hour), now.Add(-300*24*time.Hour), nil)
	staleListed := p.crl(t, p.inter, now.Add(-400*24*time.Hour), now.Add(-300*24*time.Hour), listed)
	forged := p.crl(t, p.other, now.Add(-time.Hour), now.Add(24*time.Hour), nil)
	rootCRL := p.crl(t, p.root, now.Add(-time.Hour), now.Add(24*time.Hour), nil)
	future := p.crl(t, p.inter, now.Add(time.Hour), now.Add(48*time.Hour), nil)
	critical := fresh(nil, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})
	onlyCA := fresh(nil, pkix.Extension{Id: oidIssuingDistPoint, Critical: true, Value: mustMarshal(t, issuingDistributionPoint{OnlyCA: true})})
	onlyUser := fresh(nil, pkix.Extension{Id: oidIssuingDistPoint, Critical: true, Value: mustMarshal(t, issuingDistributionPoint{OnlyUser: true})})

	responder, err := p.inter.NewIntermediate(pki.Request{CommonName: "OCSP", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	delegate, key, err := p.inter.Issue(pki.Request{CommonName: "OCSP responder", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
	if err != nil {
		t.Fatal(err)
	}
	delegated := &pki.Authority{Cert: delegate, Key: key}

	tests := []struct {
		name     string
		store    []*x509.RevocationList
		ev       Evidence
		at       time.Time
		status   Status
		source   Source
		origin   string
		problem  string // a distinctive substring of a problem, if any
		revokedB bool   // RevokedBy(now - 3h): before the revocation
	}{
		{name: "fresh CRL, not listed", store: []*x509.RevocationList{fresh(nil)}, status: StatusGood, source: SourceCRL, origin: OriginTrustStore},
		{name: "fresh CRL, listed", store: []*x509.RevocationList{fresh(listed)}, status: StatusRevoked, source: SourceCRL, origin: OriginTrustStore},
		{name: "key compromise voids earlier signatures", store: []*x509.RevocationList{fresh(compromised)}, status: StatusRevoked, source: SourceCRL, revokedB: true, origin: OriginTrustStore},
		{name: "on hold", store: []*x509.RevocationList{fresh(onHold)}, status: StatusUnknown, source: SourceCRL, origin: OriginTrustStore, problem: "is on hold"},
		{name: "stale CRL", store: []*x509.RevocationList{stale}, status: StatusUnknown, source: SourceCRL, origin: OriginTrustStore, problem: "expired on " + now.Add(-300*24*time.Hour).Format(time.RFC3339)},
		{name: "stale CRL still proves a revocation", store: []*x509.RevocationList{staleListed}, status: StatusRevoked, source: SourceCRL, origin: OriginTrustStore},
		{name: "stale CRL is enough for a time before its nextUpdate", store: []*x509.RevocationList{stale}, at: now.Add(-350 * 24 * time.Hour), status: StatusGood, source: SourceCRL, origin: OriginTrustStore},
		{name: "stale and fresh: the fresh one", store: []*x509.RevocationList{stale, fresh(nil)}, status: StatusGood, source: SourceCRL, origin: OriginTrustStore},
		{name: "same name, other key", store: []*x509.RevocationList{forged}, status: StatusUnknown, source: SourceNone, problem: "signed by another key of the issuer"},
		{name: "CRL of another CA", store: []*x509.RevocationList{rootCRL}, status: StatusUnknown, source: SourceNone, problem: "no CRL or OCSP response from CN=Inter"},
		{name: "issued in the future", store: []*x509.RevocationList{future}, status: StatusUnknown, source: SourceCRL, origin: OriginTrustStore, problem: "issued in the future"},
		{name: "critical extension not understood", store: []*x509.RevocationList{critical}, status: StatusUnknown, source: SourceCRL, origin: OriginTrustStore, problem: "critical extension 1.2.3.4 is not understood"},
		{name: "CRL only for CA certificates", store: []*x509.RevocationList{onlyCA}, status: StatusUnknown, source: SourceCRL, origin: OriginTrustStore, problem: "does not cover this certificate"},
		{name: "CRL only for end entities", store: []*x509.RevocationList{onlyUser}, status: StatusGood, source: SourceCRL, origin: OriginTrustStore},
		{name: "CRL in the DSS", ev: Evidence{CRLs: []*x509.RevocationList{fresh(nil)}}, status: StatusGood, source: SourceCRL, origin: OriginDSS},
		{name: "nothing", status: StatusUnknown, source: SourceNone, problem: "no CRL or OCSP response"},
		{name: "OCSP good from the issuer", ev: Evidence{OCSP: [][]byte{p.ocsp(t, p.inter, ocsp.Good, now.Add(-time.Hour), now.Add(time.Hour))}}, status: StatusGood, source: SourceOCSP, origin: OriginDSS},
		{name: "OCSP good from a delegated responder", ev: Evidence{OCSP: [][]byte{p.ocsp(t, delegated, ocsp.Good, now.Add(-time.Hour), now.Add(time.Hour))}}, status: StatusGood, source: SourceOCSP, origin: OriginDSS},
		{name: "OCSP from a responder without OCSPSigning", ev: Evidence{OCSP: [][]byte{p.ocsp(t, responder, ocsp.Good, now.Add(-time.Hour), now.Add(time.Hour))}}, status: StatusUnknown, source: SourceNone, problem: "no id-kp-OCSPSigning"},
		{name: "OCSP revoked", ev: Evidence{OCSP: [][]byte{p.ocsp(t, p.inter, ocsp.Revoked, now.Add(-time.Hour), now.Add(time.Hour))}}, status: StatusRevoked, source: SourceOCSP, origin: OriginDSS},
		{name: "OCSP expired", ev: Evidence{OCSP: [][]byte{p.ocsp(t, p.inter, ocsp.Good, now.Add(-48*time.Hour), now.Add(-24*time.Hour))}}, status: StatusUnknown, source: SourceOCSP, origin: OriginDSS, problem: "OCSP response for CN=Signer,C=VN (dss) expired"},
		{name: "OCSP unknown", ev: Evidence{OCSP: [][]byte{p.ocsp(t, p.inter, ocsp.Unknown, now.Add(-time.Hour), now.Add(time.Hour))}}, status: StatusUnknown, source: SourceOCSP, origin: OriginDSS, problem: "does not know the certificate"},
		{name: "OCSP not parseable", ev: Evidence{OCSP: [][]byte{{0x30, 0x03, 0x0a, 0x01, 0x00}}}, status: StatusUnknown, source: SourceNone, problem: "OCSP response for CN=Signer,C=VN (dss) ignored"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{CRLs: tc.store, Now: func() time.Time { return now }}
			r := c.Check(context.Background(), p.leaf, p.inter.Cert, tc.at, tc.ev)
			if r.Status != tc.status || r.Source != tc.source || r.Origin != tc.origin {
				t.Fatalf("got status %s source %s origin %q (problems %q), want %s %s %q", r.Status, r.Source, r.Origin, r.Problems, tc.status, tc.source, tc.origin)
			}
			if r.Subject != p.leaf.Subject.String() || r.Issuer != "CN=Inter,C=VN" || r.Serial == "" {
				t.Errorf("result names %q / %q / %q", r.Subject, r.Issuer, r.Serial)
			}
			if tc.problem != "" && !strings.Contains(strings.Join(r.Problems, "\n"), tc.problem) {
				t.Errorf("problems %q, want one containing %q", r.Problems, tc.problem)
			}
			if (r.Status == StatusGood) != (len(r.Raw) > 0) && r.Status != StatusRevoked {
				t.Errorf("Raw kept %d bytes for status %s", len(r.Raw), r.Status)
			}
			if r.Status == StatusRevoked {
				if !r.RevokedBy(now) {
					t.Error("revoked, but not by now")
				}
				if got := r.RevokedBy(now.Add(-3 * time.Hour)); got != tc.revokedB {
					t.Errorf("RevokedBy(before the revocation) = %v, want %v", got, tc.revokedB)
				}
				if len(r.Raw) == 0 {
					t.Error("the revoking CRL or response is not kept")
				}
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIssuingDistributionPointURI: a CRL scoped to a distribution point
// covers only certificates naming it.
func TestIssuingDistributionPointURI(t *testing.T) {
	const dp = "http://127.0.0.1/inter.crl"
	p := newPKI(t, func(r *pki.Request) { r.CRLDistributionPoints = []string{dp} })
	// [0] DistributionPointName { [0] fullName { [6] URI } }
	uri := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(dp)}
	full := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(t, uri)}
	idp := issuingDistributionPoint{DistributionPoint: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(t, full)}}
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want Status
	}{
		{"names the point", p.leaf, StatusGood},
		{"names none", newPKI(t, nil).leaf, StatusUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crl := p.crl(t, p.inter, p.now.Add(-time.Hour), p.now.Add(time.Hour), nil, pkix.Extension{Id: oidIssuingDistPoint, Critical: true, Value: mustMarshal(t, idp)})
			issuer := p.inter.Cert
			if tc.cert != p.leaf {
				// Another PKI: check its leaf against a CRL its own issuer signed.
				q := newPKI(t, nil)
				tc.cert, issuer = q.leaf, q.inter.Cert
				crl = q.crl(t, q.inter, p.now.Add(-time.Hour), p.now.Add(time.Hour), nil, pkix.Extension{Id: oidIssuingDistPoint, Critical: true, Value: mustMarshal(t, idp)})
			}
			r := (&Checker{CRLs: []*x509.RevocationList{crl}, Now: func() time.Time { return p.now }}).Check(context.Background(), tc.cert, issuer, time.Time{}, Evidence{})
			if r.Status != tc.want {
				t.Fatalf("status %s (%q), want %s", r.Status, r.Problems, tc.want)
			}
		})
	}
}

// TestFetcher runs an OCSP responder and a CRL server on loopback.
func TestFetcher(t *testing.T) {
	var ocspHits, crlHits atomic.Int32
	var p *testPKI
	var now time.Time
	var ocspStatus atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ocsp", func(w http.ResponseWriter, r *http.Request) {
		ocspHits.Add(1)
		w.Write(p.ocsp(t, p.inter, int(ocspStatus.Load()), now.Add(-time.Minute), now.Add(time.Hour)))
	})
	mux.HandleFunc("GET /inter.crl", func(w http.ResponseWriter, r *http.Request) {
		crlHits.Add(1)
		w.Write(p.crl(t, p.inter, now.Add(-time.Minute), now.Add(time.Hour), nil).Raw)
	})
	mux.HandleFunc("GET /slow.crl", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	t.Run("OCSP, cached until nextUpdate", func(t *testing.T) {
		p = newPKI(t, func(r *pki.Request) { r.OCSPServer = []string{srv.URL + "/ocsp"} })
		now = p.now
		ocspStatus.Store(int32(ocsp.Good))
		f := &Fetcher{Now: func() time.Time { return now }}
		c := &Checker{Fetcher: f, Now: func() time.Time { return now }}
		for i := range 2 {
			r := c.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{})
			if r.Status != StatusGood || r.Source != SourceOCSP || r.Origin != srv.URL+"/ocsp" {
				t.Fatalf("check %d: %s %s %q %q", i, r.Status, r.Source, r.Origin, r.Problems)
			}
		}
		if n := ocspHits.Load(); n != 1 {
			t.Fatalf("responder asked %d times, want 1 (cached)", n)
		}
		now = now.Add(2 * time.Hour) // past nextUpdate: ask again
		if r := c.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{}); r.Status != StatusGood {
			t.Fatalf("after nextUpdate: %s %q", r.Status, r.Problems)
		}
		if n := ocspHits.Load(); n != 2 {
			t.Fatalf("responder asked %d times, want 2", n)
		}
	})
	t.Run("concurrent checks share one fetcher", func(t *testing.T) {
		p = newPKI(t, func(r *pki.Request) { r.OCSPServer = []string{srv.URL + "/ocsp"} })
		now = p.now
		c := &Checker{Fetcher: &Fetcher{Now: func() time.Time { return p.now }}, Now: func() time.Time { return p.now }}
		results := make(chan Status, 8)
		for range 8 {
			go func() { results <- c.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{}).Status }()
		}
		for range 8 {
			if st := <-results; st != StatusGood {
				t.Errorf("status %s", st)
			}
		}
	})
	t.Run("offline evidence first", func(t *testing.T) {
		p = newPKI(t, func(r *pki.Request) { r.OCSPServer = []string{srv.URL + "/ocsp"} })
		now = p.now
		before := ocspHits.Load()
		crl := p.crl(t, p.inter, now.Add(-time.Hour), now.Add(time.Hour), nil)
		c := &Checker{CRLs: []*x509.RevocationList{crl}, Fetcher: &Fetcher{}, Now: func() time.Time { return now }}
		if r := c.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{}); r.Status != StatusGood || r.Origin != OriginTrustStore {
			t.Fatalf("%s %q", r.Status, r.Origin)
		}
		if ocspHits.Load() != before {
			t.Fatal("fetched although the trust store had a fresh CRL")
		}
	})
	t.Run("CRL distribution point", func(t *testing.T) {
		p = newPKI(t, func(r *pki.Request) { r.CRLDistributionPoints = []string{srv.URL + "/inter.crl"} })
		now = p.now
		c := &Checker{Fetcher: &Fetcher{}, Now: func() time.Time { return now }}
		r := c.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{})
		if r.Status != StatusGood || r.Source != SourceCRL || r.Origin != srv.URL+"/inter.crl" || crlHits.Load() != 1 {
			t.Fatalf("%s %s %q %q, %d fetches", r.Status, r.Source, r.Origin, r.Problems, crlHits.Load())
		}
	})
	t.Run("a server that does not answer gives unknown", func(t *testing.T) {
		p = newPKI(t, func(r *pki.Request) { r.CRLDistributionPoints = []string{srv.URL + "/slow.crl"} })
		now = p.now
		f := &Fetcher{Timeout: 50 * time.Millisecond}
		c := &Checker{Fetcher: f, Now: func() time.Time { return now }}
		ctx, cancel := f.Context(context.Background())
		defer cancel()
		r := c.Check(ctx, p.leaf, p.inter.Cert, time.Time{}, Evidence{})
		if r.Status != StatusUnknown || !strings.Contains(strings.Join(r.Problems, ";"), "could not be fetched") {
			t.Fatalf("%s %q", r.Status, r.Problems)
		}
	})
	t.Run("the verification's bound stops fetching", func(t *testing.T) {
		p = newPKI(t, func(r *pki.Request) { r.OCSPServer = []string{srv.URL + "/ocsp"} })
		now = p.now
		before := ocspHits.Load()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := (&Checker{Fetcher: &Fetcher{}, Now: func() time.Time { return now }}).Check(ctx, p.leaf, p.inter.Cert, time.Time{}, Evidence{})
		if r.Status != StatusUnknown || ocspHits.Load() != before {
			t.Fatalf("%s after the bound, %d requests", r.Status, ocspHits.Load()-before)
		}
	})
}

// TestAcceptMissing: a policy may accept an issuer that publishes nothing,
// never stale or refused information of its own.
func TestAcceptMissing(t *testing.T) {
	p := newPKI(t, nil)
	stale := p.crl(t, p.inter, p.now.Add(-48*time.Hour), p.now.Add(-24*time.Hour), nil)
	forged := p.crl(t, p.other, p.now.Add(-time.Hour), p.now.Add(time.Hour), nil)
	for _, tc := range []struct {
		name              string
		crls              []*x509.RevocationList
		missing, accepted bool
		problems          int
	}{
		{"nothing", nil, true, true, 0},
		{"only a forged CRL", []*x509.RevocationList{forged}, true, true, 1},
		{"a stale CRL of the issuer", []*x509.RevocationList{stale}, false, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{CRLs: tc.crls, AcceptMissing: true, Now: func() time.Time { return p.now }}
			r := c.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{})
			if r.Status != StatusUnknown || r.Missing != tc.missing || c.Accepted(r) != tc.accepted || len(r.Problems) != tc.problems {
				t.Fatalf("status %s missing %v accepted %v problems %q", r.Status, r.Missing, c.Accepted(r), r.Problems)
			}
			strict := &Checker{CRLs: tc.crls, Now: c.Now}
			if strict.Accepted(strict.Check(context.Background(), p.leaf, p.inter.Cert, time.Time{}, Evidence{})) {
				t.Fatal("accepted without the policy")
			}
		})
	}
}
