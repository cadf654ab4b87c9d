package pades_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/tsp"
	"github.com/lienthong/lienthong/signing/tsp/tsptest"
)

// The files about time (issue 13, cases 8 and 13) join the attack corpus
// in testdata/attacks under their own list, expected-time.json, with the
// TSA roots and CRLs they are judged with; TestAttackCorpus checks them
// as stored. TestTimeFiles builds them with a fresh PKI and TSA and checks
// each; with -update it rewrites them.
const timeList = "expected-time.json"

// timeEntry is a corpus entry that also counts valid document timestamps
// (checked when the files are built).
type timeEntry struct {
	corpusEntry
	DocumentTimestamps int `json:"document_timestamps,omitempty"`
}

// checkTimeEntry checks rep against e.
func checkTimeEntry(t *testing.T, rep *pades.Report, e timeEntry) {
	t.Helper()
	checkReport(t, rep, e.Verdict, e.Signatures)
	valid := 0
	for _, ts := range rep.DocumentTimestamps {
		if ts.Valid {
			valid++
		}
	}
	if valid != e.DocumentTimestamps {
		t.Errorf("%d valid document timestamps, want %d", valid, e.DocumentTimestamps)
	}
}

// TestTimeFiles builds the files of testdata/time with a fresh PKI and
// TSA and checks each; with -update it rewrites testdata/time.
func TestTimeFiles(t *testing.T) {
	p := newTestPKI(t)
	f := newTSAFixture(t, p)
	c := corpus{Now: p.now.Add(time.Minute).UTC(), Roots: "time-roots.pem", TSARoots: "time-tsa-roots.pem", CRLs: "time-crls.pem"}
	files := map[string][]byte{
		c.Roots:    pki.CertPEM(p.root.Cert),
		c.TSARoots: pki.CertPEM(f.root.Cert),
	}
	expiredAt := p.expired.cert.NotBefore.Add(p.expired.cert.NotAfter.Sub(p.expired.cert.NotBefore) / 2)
	superseded := issueCustom(t, p.inter, "Thay The", pki.ECDSAP256, p.now, func(c *x509.Certificate) { c.NotBefore = p.now.Add(-30 * 24 * time.Hour) })
	revokedAt := p.now.Add(-time.Hour)
	interCRL := supersededCRL(t, p, superseded.cert, revokedAt)
	rootDER, err := p.root.CRL(nil, p.now, p.now.Add(-time.Hour), p.now.Add(30*24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	files[c.CRLs] = append(pki.CRLPEM(interCRL.Raw), pki.CRLPEM(rootDER)...)
	opts := p.verifyOptionsTSA(f)
	rootCRL, err := x509.ParseRevocationList(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	opts.CRLs = []*x509.RevocationList{interCRL, rootCRL}

	_, tsaNow := f.tsa(t, f.root, p.now, pki.ECDSAP256)
	_, tsaExpiredAt := f.tsa(t, f.root, expiredAt, pki.ECDSAP256)
	_, tsaBeforeRevocation := f.tsa(t, f.root, revokedAt.Add(-time.Hour), pki.ECDSAP256)
	_, rogue := f.tsa(t, p.otherRoot, expiredAt, pki.ECDSAP256)
	docCert, docKey, err := f.root.Issue(pki.Request{CommonName: "Not a TSA", NotBefore: expiredAt.Add(-year), NotAfter: p.now.Add(year), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	notTSA := &tsptest.TSA{Cert: docCert, Key: docKey, Now: func() time.Time { return expiredAt }}
	srv := notTSA.Server()
	defer srv.Close()
	withTSA := func(o pades.SignOptions, tsa pades.Timestamper) pades.SignOptions {
		o.TSA = tsa
		return o
	}
	two := sign(t, sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now)), p.seal.opts(pades.SubFilterPKCS7, p.now))
	bt := signCtx(t, sample(t, false), withTSA(p.person.opts(pades.SubFilterCAdES, p.now), tsaNow))
	add := func(name string, pdf []byte, e timeEntry) {
		e.File = "time-" + name
		files[e.File] = pdf
		t.Run(strings.TrimSuffix(name, ".pdf"), func(t *testing.T) {
			checkTimeEntry(t, verify(t, pdf, opts), e)
		})
		c.Files = append(c.Files, e.corpusEntry)
	}
	// valid: every signature (Signature1, Signature2, ...) TOTAL-PASSED.
	valid := func(caseNo string, sigs, dts int, about string) timeEntry {
		e := timeEntry{corpusEntry: corpusEntry{Case: caseNo, About: about, Verdict: pades.VerdictValid}, DocumentTimestamps: dts}
		for i := 1; i <= sigs; i++ {
			e.Signatures = append(e.Signatures, sigWant{Field: fmt.Sprintf("Signature%d", i), Indication: etsi.TotalPassed})
		}
		return e
	}
	noPOE := func(sub etsi.SubIndication, about string) timeEntry {
		return timeEntry{corpusEntry: corpusEntry{Case: "8", About: about, Verdict: pades.VerdictIndeterminate,
			Signatures: []sigWant{{Field: "Signature1", Indication: etsi.Indeterminate, SubIndication: sub}}}}
	}
	add("b-t.pdf", bt, valid("benign", 1, 0, "PAdES B-T: signature timestamp from a trusted TSA"))
	add("b-lt-two-signatures.pdf", addLTV(t, two, pades.LTVOptions{Verify: opts}), valid("13", 2, 0, "PAdES B-LT: a DSS-only update after the last of two signatures"))
	add("b-lt-after-b-t.pdf", addLTV(t, bt, pades.LTVOptions{Verify: opts}), valid("13", 1, 0, "PAdES B-LT over B-T"))
	add("b-lta.pdf", addLTV(t, two, pades.LTVOptions{Verify: opts, TSA: tsaNow}), valid("13", 2, 1, "PAdES B-LTA: DSS, then a document timestamp"))
	add("case8-expired-backdated.pdf", sign(t, sample(t, false), p.expired.opts(pades.SubFilterCAdES, expiredAt)),
		noPOE(etsi.OutOfBoundsNoPOE, "certificate expired a year ago, /M back-dated into its validity"))
	add("case8-expired-backdated-pkcs7.pdf", sign(t, sample(t, false), p.expired.opts(pades.SubFilterPKCS7, expiredAt)),
		noPOE(etsi.OutOfBoundsNoPOE, "certificate expired a year ago, signingTime back-dated into its validity"))
	add("case8-revoked-backdated.pdf", sign(t, sample(t, false), superseded.opts(pades.SubFilterCAdES, p.now.Add(-48*time.Hour))),
		noPOE(etsi.RevokedNoPOE, "revoked (superseded) an hour ago, /M two days earlier"))
	add("case8-revoked-timestamp-after.pdf", signCtx(t, sample(t, false), withTSA(superseded.opts(pades.SubFilterCAdES, p.now.Add(-48*time.Hour)), tsaNow)),
		noPOE(etsi.RevokedNoPOE, "revoked an hour ago, /M two days earlier, signature timestamp after the revocation"))
	add("case8-revoked-timestamp-before.pdf", signCtx(t, sample(t, false), withTSA(superseded.opts(pades.SubFilterCAdES, p.now.Add(-48*time.Hour)), tsaBeforeRevocation)),
		valid("8", 1, 0, "revoked an hour ago, signature timestamp two hours ago: proof of existence before the revocation"))
	add("case8-expired-timestamp-when-valid.pdf", signCtx(t, sample(t, false), withTSA(p.expired.opts(pades.SubFilterCAdES, expiredAt), tsaExpiredAt)),
		valid("8", 1, 0, "expired a year ago, signature timestamp from when it was valid"))
	add("ts-untrusted-tsa.pdf", signCtx(t, sample(t, false), withTSA(p.expired.opts(pades.SubFilterCAdES, expiredAt), rogue)),
		noPOE(etsi.OutOfBoundsNoPOE, "expired certificate, signature timestamp from a TSA nobody trusts"))
	add("ts-not-timestamping-eku.pdf", signCtx(t, sample(t, false), withTSA(p.expired.opts(pades.SubFilterCAdES, expiredAt), &tsp.Client{URL: srv.URL})),
		noPOE(etsi.OutOfBoundsNoPOE, "expired certificate, signature timestamp by a certificate without id-kp-timeStamping"))

	if !*updateCorpus {
		return
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(corpusDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpusDir, timeList), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
