package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/tsp"
	"github.com/lienthong/lienthong/signing/tsp/tsptest"
)

// tsaFixture is a TSA root (trusted for timestamps only) and helpers to
// run TSAs whose clock stands where a test needs it.
type tsaFixture struct {
	root  *pki.Authority
	roots *x509.CertPool
}

func newTSAFixture(t testing.TB, p *testPKI) *tsaFixture {
	t.Helper()
	root, err := pki.NewRoot(pki.Request{CommonName: "Test TSA Root", NotBefore: p.now.Add(-10 * year), NotAfter: p.now.Add(10 * year)})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	return &tsaFixture{root: root, roots: roots}
}

// tsa runs a TSA of ca whose clock reads at (its certificate is valid
// then), and returns a client for it.
func (f *tsaFixture) tsa(t testing.TB, ca *pki.Authority, at time.Time, kt pki.KeyType) (*tsptest.TSA, *tsp.Client) {
	t.Helper()
	cert, key, err := ca.Issue(pki.Request{CommonName: "Test TSA " + at.Format("2006-01-02"), NotBefore: at.Add(-year), NotAfter: at.Add(5 * year), Usage: pki.TimeStamping, KeyType: kt})
	if err != nil {
		t.Fatal(err)
	}
	tsa := &tsptest.TSA{Cert: cert, Key: key, Now: func() time.Time { return at }}
	srv := tsa.Server()
	t.Cleanup(srv.Close)
	return tsa, &tsp.Client{URL: srv.URL, Timeout: 10 * time.Second}
}

func (p *testPKI) verifyOptionsTSA(f *tsaFixture) pades.VerifyOptions {
	o := p.verifyOptions()
	o.TSARoots = f.roots
	return o
}

func signCtx(t testing.TB, pdf []byte, opts pades.SignOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pades.SignContext(context.Background(), &out, bytes.NewReader(pdf), int64(len(pdf)), opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

func addLTV(t testing.TB, pdf []byte, opts pades.LTVOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pades.AddLTV(context.Background(), &out, bytes.NewReader(pdf), int64(len(pdf)), opts); err != nil {
		t.Fatalf("AddLTV: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), pdf) {
		t.Fatal("AddLTV changed the original bytes")
	}
	return out.Bytes()
}

func wantIndication(t *testing.T, s pades.SignatureReport, ind etsi.Indication, sub etsi.SubIndication) {
	t.Helper()
	if s.Indication != ind || s.SubIndication != sub {
		t.Fatalf("signature %q: %s %s, want %s %s; problems %q", s.Field, s.Indication, s.SubIndication, ind, sub, s.Problems)
	}
}

// TestSignatureTimestamp: PAdES B-T. A trusted signature timestamp is the
// proof of existence the certificate is judged at (issue 13, case 8).
func TestSignatureTimestamp(t *testing.T) {
	p := newTestPKI(t)
	f := newTSAFixture(t, p)
	expiredAt := p.expired.cert.NotBefore.Add(p.expired.cert.NotAfter.Sub(p.expired.cert.NotBefore) / 2)
	superseded := issueCustom(t, p.inter, "Thay The", pki.ECDSAP256, p.now, func(c *x509.Certificate) { c.NotBefore = p.now.Add(-30 * 24 * time.Hour) })
	revokedAt := p.now.Add(-time.Hour)
	opts := p.verifyOptionsTSA(f)
	opts.CRLs = []*x509.RevocationList{supersededCRL(t, p, superseded.cert, revokedAt)}

	tests := []struct {
		name    string
		id      identity
		signed  time.Time // the claimed time
		tsaTime time.Time // the TSA's clock
		ind     etsi.Indication
		sub     etsi.SubIndication
	}{
		{"valid certificate", p.person, p.now, p.now, etsi.TotalPassed, etsi.None},
		{"expired since, timestamp from when it was valid", p.expired, expiredAt, expiredAt, etsi.TotalPassed, etsi.None},
		{"expired, timestamp after expiry", p.expired, expiredAt, p.now, etsi.Indeterminate, etsi.OutOfBoundsNoPOE},
		{"revoked since, timestamp before the revocation", superseded, p.now.Add(-48 * time.Hour), revokedAt.Add(-time.Hour), etsi.TotalPassed, etsi.None},
		{"revoked, timestamp after the revocation, /M before", superseded, p.now.Add(-48 * time.Hour), p.now, etsi.Indeterminate, etsi.RevokedNoPOE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, client := f.tsa(t, f.root, tt.tsaTime, pki.ECDSAP256)
			so := tt.id.opts(pades.SubFilterCAdES, tt.signed)
			so.TSA = client
			pdf := signCtx(t, sample(t, false), so)
			rep := verify(t, pdf, opts)
			s := rep.Signatures[0]
			wantIndication(t, s, tt.ind, tt.sub)
			if s.Timestamp == nil || !s.Timestamp.Valid || !s.Timestamp.GenTime.Equal(tt.tsaTime) || s.Timestamp.Indication != etsi.TotalPassed {
				t.Fatalf("timestamp report %+v", s.Timestamp)
			}
			if !s.POETime.Equal(tt.tsaTime) {
				t.Errorf("POETime %v, want the timestamp's %v", s.POETime, tt.tsaTime)
			}
			if !strings.HasPrefix(s.Timestamp.TSA, "CN=Test TSA") {
				t.Errorf("TSA %q", s.Timestamp.TSA)
			}
		})
	}
}

// recorder keeps the tokens a TSA hands out.
type recorder struct {
	pades.Timestamper
	mu     sync.Mutex
	tokens [][]byte
}

func (r *recorder) Timestamp(ctx context.Context, h crypto.Hash, d []byte) ([]byte, error) {
	tok, err := r.Timestamper.Timestamp(ctx, h, d)
	r.mu.Lock()
	r.tokens = append(r.tokens, tok)
	r.mu.Unlock()
	return tok, err
}

// TestSignatureTimestampRefused: a timestamp that is not proof of existence
// leaves the certificate judged at validation time; the timestamp report
// says why. The signer is expired, so the outcome shows which time was
// used.
func TestSignatureTimestampRefused(t *testing.T) {
	p := newTestPKI(t)
	f := newTSAFixture(t, p)
	expiredAt := p.expired.cert.NotBefore.Add(p.expired.cert.NotAfter.Sub(p.expired.cert.NotBefore) / 2)
	opts := p.verifyOptionsTSA(f)

	// An RSA TSA makes tokens of one length, so one can replace another.
	_, rsaClient := f.tsa(t, f.root, expiredAt, pki.RSA2048)
	swapped := func(t *testing.T) []byte {
		rec := &recorder{Timestamper: rsaClient}
		so := p.expired.opts(pades.SubFilterCAdES, expiredAt)
		so.TSA = rec
		one := signCtx(t, sample(t, false), so)
		signCtx(t, sample(t, true), so)
		a, b := hex.EncodeToString(rec.tokens[0]), hex.EncodeToString(rec.tokens[1])
		if len(a) != len(b) || !bytes.Contains(one, []byte(a)) {
			t.Fatalf("tokens of %d and %d hex digits", len(a), len(b))
		}
		return bytes.Replace(one, []byte(a), []byte(b), 1)
	}
	signWith := func(client *tsp.Client) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			so := p.expired.opts(pades.SubFilterCAdES, expiredAt)
			so.TSA = client
			return signCtx(t, sample(t, false), so)
		}
	}
	_, rogue := f.tsa(t, p.otherRoot, expiredAt, pki.ECDSAP256)
	// A document-signing certificate of the TSA root: trusted, but not
	// for time stamping.
	docCert, docKey, err := f.root.Issue(pki.Request{CommonName: "Not a TSA", NotBefore: expiredAt.Add(-year), NotAfter: p.now.Add(year), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	notTSA := &tsptest.TSA{Cert: docCert, Key: docKey, Now: func() time.Time { return expiredAt }}
	srv := notTSA.Server()
	defer srv.Close()

	tests := []struct {
		name  string
		build func(t *testing.T) []byte
		opts  pades.VerifyOptions
		tsSub etsi.SubIndication
		tsInd etsi.Indication
		prob  string
	}{
		{"token of another signature (wrong imprint)", swapped, opts, etsi.HashFailure, etsi.TotalFailed, "covers another signature value"},
		{"untrusted TSA", signWith(rogue), opts, etsi.NoCertificateChainFound, etsi.Indeterminate, "TSA is not trusted"},
		{"TSA certificate without timeStamping EKU", signWith(&tsp.Client{URL: srv.URL}), opts, etsi.ChainConstraintsFailure, etsi.Indeterminate, "not for time stamping"},
		{"no TSA roots configured", signWith(rsaClient), p.verifyOptions(), etsi.NoCertificateChainFound, etsi.Indeterminate, "no TSA roots configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := verify(t, tt.build(t), tt.opts)
			s := rep.Signatures[0]
			wantIndication(t, s, etsi.Indeterminate, etsi.OutOfBoundsNoPOE)
			ts := s.Timestamp
			if ts == nil || ts.Valid || ts.Indication != tt.tsInd || ts.SubIndication != tt.tsSub {
				t.Fatalf("timestamp report %+v", ts)
			}
			if !strings.Contains(strings.Join(ts.Problems, "; "), tt.prob) {
				t.Errorf("timestamp problems %q, want %q", ts.Problems, tt.prob)
			}
			if s.POETime.Before(p.now) {
				t.Errorf("POETime %v is not the validation time", s.POETime)
			}
		})
	}
}

// TestLongTermValidation: B-LT (a DSS update after the last signature) and
// B-LTA (a document timestamp after it) verify TOTAL-PASSED (issue 13,
// case 13), and the DSS's CRLs are used offline.
func TestLongTermValidation(t *testing.T) {
	p := newTestPKI(t)
	f := newTSAFixture(t, p)
	_, client := f.tsa(t, f.root, p.now, pki.ECDSAP256)
	opts := p.verifyOptionsTSA(f)
	ltvOpts := pades.LTVOptions{Verify: opts}
	two := sign(t, sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now)), p.seal.opts(pades.SubFilterPKCS7, p.now))

	bLT := addLTV(t, two, ltvOpts)
	ltvOpts.TSA = client
	bLTA := addLTV(t, two, ltvOpts)
	bLTAstream := addLTV(t, sign(t, sample(t, true), p.personRSA.opts(pades.SubFilterCAdES, p.now)), ltvOpts)
	for name, pdf := range map[string][]byte{"B-LT": bLT, "B-LTA": bLTA, "B-LTA xref stream": bLTAstream} {
		t.Run(name, func(t *testing.T) {
			rep := verify(t, pdf, opts)
			if rep.Verdict != pades.VerdictValid || rep.Indication != etsi.TotalPassed {
				t.Fatalf("verdict %s %s: %+v", rep.Verdict, rep.Indication, rep.Signatures)
			}
			for _, s := range rep.Signatures {
				wantIndication(t, s, etsi.TotalPassed, etsi.None)
				if len(s.Problems) != 0 {
					t.Errorf("problems %q", s.Problems)
				}
			}
			wantTS := 0
			if strings.HasPrefix(name, "B-LTA") {
				wantTS = 1
			}
			if len(rep.DocumentTimestamps) != wantTS {
				t.Fatalf("%d document timestamps", len(rep.DocumentTimestamps))
			}
			for _, ts := range rep.DocumentTimestamps {
				if !ts.Valid || !ts.CoversWholeDocument || ts.Indication != etsi.TotalPassed || ts.Field != "Timestamp1" || !ts.GenTime.Equal(p.now) {
					t.Errorf("document timestamp %+v", ts)
				}
			}
			// The DSS carries the CRLs: with none configured, revocation
			// is still checked offline.
			noCRL := opts
			noCRL.CRLs = nil
			if rep := verify(t, pdf, noCRL); rep.Verdict != pades.VerdictValid {
				t.Errorf("without configured CRLs: %s", rep.Verdict)
			}
		})
	}

	t.Run("an untrusted document timestamp takes nothing away", func(t *testing.T) {
		noTSA := opts
		noTSA.TSARoots = nil
		rep := verify(t, bLTA, noTSA)
		if rep.Verdict != pades.VerdictValid || rep.Indication != etsi.TotalPassed || len(rep.DocumentTimestamps) != 1 {
			t.Fatalf("verdict %s %s, %d document timestamps", rep.Verdict, rep.Indication, len(rep.DocumentTimestamps))
		}
		ts := rep.DocumentTimestamps[0]
		if ts.Valid || ts.Indication != etsi.Indeterminate || ts.SubIndication != etsi.NoCertificateChainFound || !strings.Contains(strings.Join(ts.Problems, ";"), "no TSA roots configured") {
			t.Errorf("document timestamp %+v", ts)
		}
	})

	t.Run("document timestamp proves existence for the signatures before it", func(t *testing.T) {
		// Signed and time-stamped while valid; judged now, when expired.
		expiredAt := p.expired.cert.NotBefore.Add(p.expired.cert.NotAfter.Sub(p.expired.cert.NotBefore) / 2)
		_, old := f.tsa(t, f.root, expiredAt, pki.ECDSAP256)
		signed := sign(t, sample(t, false), p.expired.opts(pades.SubFilterCAdES, expiredAt))
		var out bytes.Buffer
		if err := pades.AddDocumentTimestamp(context.Background(), &out, bytes.NewReader(signed), int64(len(signed)), pades.DocTimestampOptions{TSA: old}); err != nil {
			t.Fatal(err)
		}
		rep := verify(t, out.Bytes(), opts)
		wantIndication(t, rep.Signatures[0], etsi.TotalPassed, etsi.None)
		if !rep.Signatures[0].POETime.Equal(expiredAt) {
			t.Errorf("POETime %v", rep.Signatures[0].POETime)
		}
	})

	t.Run("the DSS's CRL revokes", func(t *testing.T) {
		signed := sign(t, sample(t, false), p.revoked.opts(pades.SubFilterCAdES, p.now.Add(-2*time.Hour)))
		var out bytes.Buffer
		crl := p.interCRL.Raw
		if err := pades.AddDSS(&out, bytes.NewReader(signed), int64(len(signed)), pades.DSSData{Certs: []*x509.Certificate{p.inter.Cert}, CRLs: [][]byte{crl}}); err != nil {
			t.Fatal(err)
		}
		noCRL := opts
		noCRL.CRLs = nil
		if rep := verify(t, signed, noCRL); rep.Signatures[0].Revoked {
			t.Fatal("revoked without any CRL")
		}
		rep := verify(t, out.Bytes(), noCRL)
		wantIndication(t, rep.Signatures[0], etsi.Indeterminate, etsi.RevokedNoPOE)
	})

	t.Run("a document timestamp over changed bytes", func(t *testing.T) {
		tampered := bytes.Clone(bLTA)
		tampered[indexOf(tampered, "Cong van so 123")] = 'K'
		rep := verify(t, tampered, opts)
		if len(rep.DocumentTimestamps) != 1 {
			t.Fatalf("%d document timestamps", len(rep.DocumentTimestamps))
		}
		ts := rep.DocumentTimestamps[0]
		if ts.Valid || ts.Indication != etsi.TotalFailed || ts.SubIndication != etsi.HashFailure || rep.Indication != etsi.TotalFailed {
			t.Fatalf("tampered document timestamp %+v, report %s", ts, rep.Indication)
		}
	})

	t.Run("AddLTV refuses a doubtful signature", func(t *testing.T) {
		doubtful := sign(t, sample(t, false), p.untrusted.opts(pades.SubFilterCAdES, p.now))
		var out bytes.Buffer
		err := pades.AddLTV(context.Background(), &out, bytes.NewReader(doubtful), int64(len(doubtful)), pades.LTVOptions{Verify: opts})
		if !errors.Is(err, pades.ErrRefused) || !strings.Contains(err.Error(), "INDETERMINATE NO_CERTIFICATE_CHAIN_FOUND") || out.Len() != 0 {
			t.Fatalf("err %v, %d bytes written", err, out.Len())
		}
	})
}
