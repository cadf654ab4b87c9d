package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/revocation"
	"github.com/lienthong/lienthong/signing/tsp"
	"github.com/lienthong/lienthong/signing/tsp/tsptest"
)

// A clerk signs with a timestamp from a TSA (ltnode sign --tsa, PAdES
// B-T), adds the long-term validation data (ltnode ltv: B-LT, then with
// --tsa B-LTA), and ltnode verify --tsa-trust finds every stage valid,
// with the timestamps reported.
func TestLtnodeTimestampsAndLTV(t *testing.T) {
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	now := time.Now()
	tsaRoot, err := pki.NewRoot(pki.Request{CommonName: "TSA Root", NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour)})
	must(t, err)
	tsa, err := tsptest.NewTSA(tsaRoot, "Test TSA", now)
	must(t, err)
	srv := tsa.Server()
	defer srv.Close()
	tmp := t.TempDir()
	tsaTrust := filepath.Join(tmp, "tsa-root.pem")
	must(t, os.WriteFile(tsaTrust, pki.CertPEM(tsaRoot.Cert), 0o644))
	run := func(args ...string) (int, string, string) { return ltnode(t, "", dir, commune, args...) }

	in, _ := writePDF(t, dir, "", "qd.pdf", samplepdf.Options{Title: "Quyet dinh"})
	bt := filepath.Join(tmp, "bt.pdf")
	if rc, _, errs := run("sign", in, bt, "--key", filepath.Join(l.Leader(commune), "key.pem"), "--cert", filepath.Join(l.Leader(commune), "cert.pem"), "--tsa", srv.URL); rc != 0 {
		t.Fatalf("sign --tsa exit %d: %s", rc, errs)
	}
	blt := filepath.Join(tmp, "blt.pdf")
	if rc, out, errs := run("ltv", bt, blt, "--trust", l.CACert()); rc != 0 || !strings.Contains(out, "PAdES B-LT") {
		t.Fatalf("ltv exit %d: %s %s", rc, out, errs)
	}
	blta := filepath.Join(tmp, "blta.pdf")
	if rc, out, errs := run("ltv", blt, blta, "--trust", l.CACert(), "--tsa", srv.URL); rc != 0 || !strings.Contains(out, "PAdES B-LTA") {
		t.Fatalf("ltv --tsa exit %d: %s %s", rc, out, errs)
	}
	for _, f := range []string{bt, blt, blta} {
		rc, out, errs := run("verify", f, "--trust", l.CACert(), "--tsa-trust", tsaTrust, "--json")
		if rc != 0 || !strings.Contains(out, `"verdict": "valid"`) || !strings.Contains(out, `"timestamp": {`) {
			t.Errorf("verify %s: exit %d\n%s%s", filepath.Base(f), rc, out, errs)
		}
		if f == blta && !strings.Contains(out, `"document_timestamps": [`) {
			t.Errorf("verify B-LTA: no document timestamps\n%s", out)
		}
	}
	// Over a signature the trust roots do not vouch for, ltv refuses and
	// writes nothing.
	rogue, err := pki.NewRoot(pki.Request{CommonName: "Other Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	must(t, err)
	other := filepath.Join(tmp, "other.pem")
	must(t, os.WriteFile(other, pki.CertPEM(rogue.Cert), 0o644))
	refused := filepath.Join(tmp, "refused.pdf")
	if rc, _, errs := run("ltv", bt, refused, "--trust", other); rc != 1 || !strings.Contains(errs, "không thêm dữ liệu kiểm tra dài hạn") || !strings.Contains(errs, "NO_CERTIFICATE_CHAIN_FOUND") {
		t.Errorf("ltv over an untrusted signature: exit %d: %s", rc, errs)
	}
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("refused ltv left %s: %v", refused, err)
	}
	if got := tsa.Count(); got != 2 {
		t.Errorf("TSA issued %d tokens, want 2", got)
	}

	// A TSA that does not answer: nothing is written.
	srv.Close()
	out := filepath.Join(tmp, "none.pdf")
	if rc, _, errs := run("sign", in, out, "--key", filepath.Join(l.Leader(commune), "key.pem"), "--cert", filepath.Join(l.Leader(commune), "cert.pem"), "--tsa", srv.URL); rc == 0 || !strings.Contains(errs, "time-stamping the signature") {
		t.Errorf("sign with a dead TSA: exit %d: %s", rc, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("sign with a dead TSA left %s: %v", out, err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, ".pades-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// The hub accepts B-LT and B-LTA documents (issue 13, case 13: a DSS-only
// update or a document timestamp after the last signature is not a
// modification), with the verdict valid for the recipient.
func TestHubAcceptsLongTermSignatures(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	l := provision.Layout{Dir: dir}
	now := time.Now()
	tsaRoot, err := pki.NewRoot(pki.Request{CommonName: "TSA Root", NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour)})
	must(t, err)
	tsa, err := tsptest.NewTSA(tsaRoot, "Test TSA", now)
	must(t, err)
	srv := tsa.Server()
	defer srv.Close()
	ca, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca[0])
	c := client(t, h.Addr(), dir, commune)
	for i, level := range []string{"B-LT", "B-LTA"} {
		pdf, _ := writePDF(t, dir, commune, level+".pdf", samplepdf.Options{Title: "Dai han " + level})
		opts := pades.LTVOptions{Verify: pades.VerifyOptions{Roots: roots}}
		if level == "B-LTA" {
			opts.TSA = &tsp.Client{URL: srv.URL}
		}
		must(t, pades.LTVFile(ctx, pdf, pdf, opts))
		res, err := c.Send(ctx, node.Document{Recipients: []string{district}, Number: strconv.Itoa(20 + i), Notation: "UBND", Subject: level,
			Files: []node.File{{Path: pdf}}}, nil)
		if err != nil {
			t.Fatalf("%s refused: %v", level, err)
		}
		if v := res.Verification; v.GetVerdict() != "valid" || len(v.GetFiles()) != 1 || strings.Join(v.GetFiles()[0].GetSigners(), "|") != commune {
			t.Errorf("%s: verification = %v", level, v)
		}
	}
}

// With `lthub serve --ltv` the recipient gets, appended to each
// TOTAL-PASSED PDF, the chain and the CRL the hub's verification used
// (PAdES B-LT): the sender's bytes stay a prefix (their SHA-256 is the
// envelope's), and the document signed with a timestamp still verifies
// TOTAL-PASSED with the clock moved past the signer's expiry and no
// revocation information of the verifier's own — where the file as sent
// is INDETERMINATE (issue 17).
func TestHubLTVForRecipient(t *testing.T) {
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	ctx := context.Background()
	now := time.Now()
	tsaRoot, err := pki.NewRoot(pki.Request{CommonName: "TSA Root", NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour)})
	must(t, err)
	tsa, err := tsptest.NewTSA(tsaRoot, "Test TSA", now)
	must(t, err)
	srv := tsa.Server()
	defer srv.Close()
	must(t, os.MkdirAll(filepath.Join(l.Trust(), "tsa"), 0o755))
	must(t, os.WriteFile(filepath.Join(l.Trust(), "tsa", "test-tsa.pem"), pki.CertPEM(tsaRoot.Cert), 0o644))

	caCerts, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	caKey, err := pki.LoadKey(l.CAKey())
	must(t, err)
	ca := &pki.Authority{Cert: caCerts[0], Key: caKey}
	expires := now.Add(2 * time.Hour).Truncate(time.Second)
	cert, key, err := ca.Issue(pki.Request{CommonName: "Lãnh đạo xã (chứng thư ngắn hạn)", SerialNumber: commune, NotBefore: now.Add(-time.Hour), NotAfter: expires, Usage: pki.DocumentSigning})
	must(t, err)
	pdf, _ := writePDF(t, dir, "", "qd-ltv.pdf", samplepdf.Options{Title: "Quyet dinh LTV"})
	must(t, pades.SignFileContext(ctx, pdf, pdf, pades.SignOptions{Signer: key, Certificate: cert, Time: now, TSA: &tsp.Client{URL: srv.URL}}))
	sent, err := os.ReadFile(pdf)
	must(t, err)

	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", LTV: true})
	res, err := client(t, h.Addr(), dir, commune).Send(ctx, node.Document{Recipients: []string{district}, Number: "30", Notation: "QĐ-UBND",
		Subject: "Quyết định lưu trữ lâu dài", Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)
	if res.Verification.GetIndication() != "TOTAL-PASSED" || len(res.Verification.GetFiles()[0].GetLtvUpdate()) == 0 {
		t.Fatalf("hub verification %s, %d bytes of LTV update", res.Verification.GetIndication(), len(res.Verification.GetFiles()[0].GetLtvUpdate()))
	}
	var got []*node.Received
	must(t, client(t, h.Addr(), dir, district).ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
		func(r *node.Received) error { got = append(got, r); return nil }))
	if len(got) != 1 || len(got[0].Files) != 1 {
		t.Fatalf("received %v", got)
	}
	received, err := os.ReadFile(got[0].Files[0])
	must(t, err)
	if len(received) <= len(sent) || !bytes.Equal(received[:len(sent)], sent) {
		t.Fatalf("received %d bytes, sent %d: the sender's bytes must be a prefix", len(received), len(sent))
	}

	tsaRoots := x509.NewCertPool()
	tsaRoots.AddCert(tsaRoot.Cert)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	later := func() time.Time { return expires.Add(90 * 24 * time.Hour) }
	verifyAt := func(doc []byte) *pades.Report {
		t.Helper()
		rep, err := pades.Verify(bytes.NewReader(doc), int64(len(doc)), pades.VerifyOptions{Roots: roots, TSARoots: tsaRoots, Now: later,
			Revocation: &revocation.Checker{Now: later}})
		must(t, err)
		return rep
	}
	if rep := verifyAt(received); rep.Indication != etsi.TotalPassed || rep.Verdict != pades.VerdictValid {
		t.Errorf("received B-LT file after expiry: %s %s %+v", rep.Verdict, rep.Indication, rep.Signatures)
	}
	if rep := verifyAt(sent); rep.Indication != etsi.Indeterminate {
		t.Errorf("file as sent, after expiry, with no revocation data: %s, want INDETERMINATE", rep.Indication)
	}
}
