package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/policy"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

type verifyJSON struct {
	Verdict    string `json:"verdict"`
	Signatures []struct {
		SignerCN            string   `json:"signer_cn"`
		DigestValid         bool     `json:"digest_valid"`
		ChainTrusted        bool     `json:"chain_trusted"`
		CoversWholeDocument bool     `json:"covers_whole_document"`
		Problems            []string `json:"problems"`
	} `json:"signatures"`
}

// A clerk signs a PDF twice with ltnode sign (the leader, then the agency
// seal) and checks it with ltnode verify; a changed byte and an unreadable
// file give the documented verdicts and exit codes.
func TestLtnodeSignAndVerify(t *testing.T) {
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	in, _ := writePDF(t, dir, "", "qd.pdf", samplepdf.Options{Title: "Quyet dinh"})
	once := filepath.Join(t.TempDir(), "qd-leader.pdf")
	twice := filepath.Join(t.TempDir(), "qd-signed.pdf")
	run := func(args ...string) (int, string, string) { return ltnode(t, "", dir, commune, args...) }

	if rc, _, errs := run("sign", in, once, "--key", filepath.Join(l.Leader(commune), "key.pem"), "--cert", filepath.Join(l.Leader(commune), "cert.pem"), "--reason", "Ký duyệt"); rc != 0 {
		t.Fatalf("sign (leader) exit %d: %s", rc, errs)
	}
	if rc, _, errs := run("sign", once, twice, "--key", filepath.Join(l.Agency(commune), "key.pem"), "--cert", filepath.Join(l.Agency(commune), "cert.pem"), "--subfilter", "adbe.pkcs7.detached"); rc != 0 {
		t.Fatalf("sign (seal) exit %d: %s", rc, errs)
	}
	rc, out, errs := run("verify", twice, "--trust", l.CACert(), "--json")
	if rc != 0 {
		t.Fatalf("verify exit %d: %s %s", rc, out, errs)
	}
	v := decodeJSON[verifyJSON](t, out)
	if v.Verdict != "valid" || len(v.Signatures) != 2 || v.Signatures[0].SignerCN != "Lãnh đạo UBND xã Đông Hòa" ||
		v.Signatures[1].SignerCN != commune || !v.Signatures[1].CoversWholeDocument {
		t.Fatalf("verify = %+v", v)
	}

	data, err := os.ReadFile(twice)
	must(t, err)
	i := strings.Index(string(data), "Quyet dinh")
	data[i] ^= 0x01
	tampered := filepath.Join(t.TempDir(), "tampered.pdf")
	must(t, os.WriteFile(tampered, data, 0o644))
	rc, out, _ = run("verify", tampered, "--trust", l.CACert(), "--json")
	if v := decodeJSON[verifyJSON](t, out); rc != 1 || v.Verdict != "invalid" || v.Signatures[0].DigestValid {
		t.Errorf("tampered: exit %d, %s", rc, out)
	}
	rc, out, _ = run("verify", in, "--trust", l.CACert(), "--json")
	if v := decodeJSON[verifyJSON](t, out); rc != 1 || v.Verdict != "unsigned" {
		t.Errorf("unsigned: exit %d, %s", rc, out)
	}
	junk := filepath.Join(t.TempDir(), "junk.pdf")
	must(t, os.WriteFile(junk, []byte("not a pdf at all"), 0o644))
	rc, out, _ = run("verify", junk, "--trust", l.CACert(), "--json")
	if v := decodeJSON[verifyJSON](t, out); rc != 2 || v.Verdict != "error" {
		t.Errorf("junk: exit %d, %s", rc, out)
	}
	if rc, _, _ := run("verify", twice); rc != 2 {
		t.Errorf("verify without --trust: exit %d, want 2", rc)
	}
	rogue, err := pki.NewRoot(pki.Request{CommonName: "Other Root", NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	must(t, err)
	other := filepath.Join(t.TempDir(), "other.pem")
	must(t, os.WriteFile(other, pki.CertPEM(rogue.Cert), 0o644))
	rc, out, _ = run("verify", twice, "--trust", other, "--json")
	if v := decodeJSON[verifyJSON](t, out); rc != 1 || v.Verdict != "indeterminate" || v.Signatures[0].ChainTrusted {
		t.Errorf("other trust root: exit %d, %s", rc, out)
	}
}

// The hub verifies every PDF: a doubly signed document is accepted with
// its verdict shown to the recipient and in Track; unsigned, tampered,
// untrusted and revoked ones are refused with a message naming the
// signature and the reason, and leave nothing stored. Trust roots and
// CRLs reload without a restart.
func TestHubSignaturePolicy(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	l := provision.Layout{Dir: dir}
	c := client(t, h.Addr(), dir, commune)
	send := func(path string) (*node.SendResult, error) {
		return c.Send(ctx, node.Document{Recipients: []string{district}, Number: "9", Notation: "UBND", Subject: "Chữ ký",
			Files: []node.File{{Path: path}}}, nil)
	}
	expectRefused := func(name, path string, code codes.Code, wants ...string) {
		t.Helper()
		_, err := send(path)
		st := status.Convert(err)
		if st.Code() != code {
			t.Errorf("%s: code %v (%q), want %v", name, st.Code(), st.Message(), code)
			return
		}
		for _, w := range wants {
			if !strings.Contains(st.Message(), w) {
				t.Errorf("%s: message %q does not mention %q", name, st.Message(), w)
			}
		}
		storeIsEmpty(t, h, name)
	}

	unsigned, _ := writePDF(t, dir, "", "unsigned.pdf", samplepdf.Options{Title: "Chua ky"})
	expectRefused("unsigned", unsigned, codes.FailedPrecondition, "chưa ký số")

	signed, _ := writePDF(t, dir, commune, "signed.pdf", samplepdf.Options{Title: "Da ky"})
	data, err := os.ReadFile(signed)
	must(t, err)
	data[strings.Index(string(data), "Da ky")] ^= 0x01
	tampered := filepath.Join(t.TempDir(), "tampered.pdf")
	must(t, os.WriteFile(tampered, data, 0o644))
	expectRefused("tampered", tampered, codes.InvalidArgument, "tampered.pdf", "Signature1", commune, "digest mismatch")

	appended := filepath.Join(t.TempDir(), "appended.pdf")
	must(t, os.WriteFile(appended, appendUpdate(t, signed), 0o644))
	expectRefused("changed after signing", appended, codes.InvalidArgument, "đã bị sửa sau chữ ký", "changed after this signature")

	now := time.Now()
	rogue, err := pki.NewRoot(pki.Request{CommonName: "Rogue CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	must(t, err)
	rc, rk, err := rogue.Issue(pki.Request{CommonName: "Kẻ mạo danh", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning})
	must(t, err)
	untrusted, _ := writePDF(t, dir, "", "untrusted.pdf", samplepdf.Options{Title: "Mao danh"})
	must(t, pades.SignFile(untrusted, untrusted, pades.SignOptions{Signer: rk, Certificate: rc, Time: now}))
	expectRefused("untrusted CA", untrusted, codes.FailedPrecondition, "untrusted CA", "Rogue CA", "INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", "D/trust/roots")

	// Leader then seal: accepted, and the verdict travels with the document.
	twice, _ := writePDF(t, dir, "", "twice.pdf", samplepdf.Options{Title: "Hai chu ky"})
	lc, err := pki.LoadCertificates(filepath.Join(l.Leader(commune), "cert.pem"))
	must(t, err)
	lk, err := pki.LoadKey(filepath.Join(l.Leader(commune), "key.pem"))
	must(t, err)
	must(t, pades.SignFile(twice, twice, pades.SignOptions{Signer: lk, Certificate: lc[0], Time: now}))
	signPDF(t, dir, commune, twice)
	res, err := send(twice)
	must(t, err)
	if v := res.Verification; v.GetVerdict() != "valid" || !v.GetEnvelopeSignatureValid() || len(v.GetFiles()) != 1 ||
		strings.Join(v.GetFiles()[0].GetSigners(), "|") != "Lãnh đạo UBND xã Đông Hòa|"+commune {
		t.Errorf("verification = %v", v)
	}
	tr, err := client(t, h.Addr(), dir, district).Track(ctx, res.MessageID)
	must(t, err)
	if tr.Verification.GetVerdict() != "valid" {
		t.Errorf("Track verification = %v", tr.Verification)
	}
	var got []*node.Received
	must(t, client(t, h.Addr(), dir, district).ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
		func(r *node.Received) error { got = append(got, r); return nil }))
	if len(got) != 1 || got[0].Verification.GetVerdict() != "valid" {
		t.Fatalf("recipient got %d documents, verification %v", len(got), got)
	}

	// Revoke the leader's certificate: after a reload, the same kind of
	// document is refused without restarting the hub.
	ca, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	caKey, err := pki.LoadKey(l.CAKey())
	must(t, err)
	c3, err := pki.LoadCertificates(filepath.Join(l.Agency(commune3), "cert.pem"))
	must(t, err)
	crl, err := (&pki.Authority{Cert: ca[0], Key: caKey}).CRL([]*x509.Certificate{lc[0], c3[0]}, now.Add(-time.Minute), now.Add(-time.Minute), now.Add(24*time.Hour), 1)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(l.Trust(), "crls", "province.crl"), pki.CRLPEM(crl), 0o644))
	must(t, h.ReloadTrust())
	again, _ := writePDF(t, dir, "", "again.pdf", samplepdf.Options{Title: "Lai"})
	must(t, pades.SignFile(again, again, pades.SignOptions{Signer: lk, Certificate: lc[0], Time: time.Now()}))
	signPDF(t, dir, commune, again)
	_, err = send(again)
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "revoked") {
		t.Errorf("revoked signer after reload: %v", err)
	}
	// The same CRL shuts out an agency whose client certificate it lists.
	if _, err := client(t, h.Addr(), dir, commune3).Agencies(ctx, ""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("revoked client certificate: %v, want Unauthenticated", err)
	}
}

// With --unsigned flag the hub accepts an unsigned PDF and says so.
func TestHubFlagsUnsigned(t *testing.T) {
	dir := initHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.Open(ctx, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Unsigned: policy.FlagUnsigned})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	pdf, _ := writePDF(t, dir, "", "unsigned.pdf", samplepdf.Options{Title: "Chua ky"})
	rc, out, errs := ltnode(t, h.Addr(), dir, commune, "send", "--to", district, "--file", pdf, "--number", "1",
		"--notation", "UBND", "--subject", "x", "--json")
	if rc != 0 {
		t.Fatalf("send exit %d: %s", rc, errs)
	}
	var res struct {
		Verification struct {
			Verdict string `json:"verdict"`
		} `json:"verification"`
	}
	must(t, json.Unmarshal([]byte(out), &res))
	if res.Verification.Verdict != "unsigned" {
		t.Errorf("verdict %q, want unsigned: %s", res.Verification.Verdict, out)
	}
}

// appendUpdate returns the PDF with an incremental update after its last
// signature that adds an object: a change no signature covers.
func appendUpdate(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	prev := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(data)
	roots := regexp.MustCompile(`/Root (\d+ \d+ R)`).FindAllSubmatch(data, -1)
	if prev == nil || len(roots) == 0 {
		t.Fatalf("%s: no startxref or /Root", path)
	}
	obj := "99 0 obj\n(appended after signing)\nendobj\n"
	xref := len(data) + len(obj)
	tail := fmt.Sprintf("%sxref\n99 1\n%010d 00000 n \ntrailer\n<< /Size 100 /Root %s /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		obj, len(data), roots[len(roots)-1][1], prev[1], xref)
	return append(data, tail...)
}
