package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/signing/pkcs11/pkcs11test"
	"github.com/lienthong/lienthong/signing/pki"
)

// TestSignWithToken: a leader's P-256 key and the agency's RSA-2048 seal
// key live in a SoftHSM2 token whose certificates the province CA issued;
// `ltnode sign --pkcs11` signs with each (the certificate read from the
// token, the PIN from LTNODE_PIN or --pin-file) and the document goes
// through a real hub TOTAL-PASSED. A wrong PIN, a missing token and a
// missing key each say what is wrong and write no output file (issue 17).
func TestSignWithToken(t *testing.T) {
	cfg := pkcs11test.SoftHSM(t)
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	caCerts, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	caKey, err := pki.LoadKey(l.CAKey())
	must(t, err)
	ca := &pki.Authority{Cert: caCerts[0], Key: caKey}
	pkcs11test.Certified(t, cfg, "leader", pki.ECDSAP256, ca, "Nguyễn Văn Lãnh Đạo")
	pkcs11test.Certified(t, cfg, "seal", pki.RSA2048, ca, "UBND xã Tân Lập - con dấu")
	h := startHub(t, dir)
	hubAddr := h.Addr()

	work := t.TempDir()
	in, _ := writePDF(t, dir, "", "to-trinh.pdf", samplepdf.Options{Title: "To trinh ky bang token", Pages: 2})
	pinFile := filepath.Join(work, "pin")
	must(t, os.WriteFile(pinFile, []byte(cfg.PIN+"\n"), 0o600))
	ltnodeWithPIN := func(pin string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		m := &nodecli.Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			switch k {
			case "LTNODE_PIN":
				return pin
			case "LTNODE_HUB":
				return hubAddr
			case "LTNODE_ID":
				return l.Agency(commune)
			}
			return ""
		}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return m.Run(ctx, args), out.String(), errb.String()
	}
	run := func(pin string, args ...string) (int, string, string) {
		t.Helper()
		return ltnodeWithPIN(pin, append([]string{"sign"}, args...)...)
	}
	token := []string{"--pkcs11", pkcs11test.Module, "--token-label", cfg.TokenLabel}

	leader := filepath.Join(work, "leader.pdf")
	if rc, out, errs := run(cfg.PIN, append([]string{in, leader, "--key-label", "leader"}, token...)...); rc != 0 || !strings.Contains(out, "Nguyễn Văn Lãnh Đạo") {
		t.Fatalf("sign with the leader's token key: exit %d\n%s%s", rc, out, errs)
	}
	both := filepath.Join(work, "both.pdf")
	if rc, out, errs := run("", append([]string{leader, both, "--key-label", "seal", "--pin-file", pinFile}, token...)...); rc != 0 || !strings.Contains(out, "UBND xã Tân Lập - con dấu") {
		t.Fatalf("sign with the seal's token key: exit %d\n%s%s", rc, out, errs)
	}

	res, err := client(t, h.Addr(), dir, commune).Send(context.Background(), node.Document{
		Recipients: []string{district}, Number: "45", Notation: "TTr-UBND", Subject: "Tờ trình ký bằng token",
		Files: []node.File{{Path: both}},
	}, nil)
	must(t, err)
	v := res.Verification
	if v.GetIndication() != "TOTAL-PASSED" || len(v.GetFiles()) != 1 || len(v.GetFiles()[0].GetSignatures()) != 2 {
		t.Fatalf("hub verification = %v", v)
	}
	for _, s := range v.GetFiles()[0].GetSignatures() {
		if s.GetIndication() != "TOTAL-PASSED" {
			t.Errorf("signature %s: %s/%s", s.GetField(), s.GetIndication(), s.GetSubIndication())
		}
	}

	// One step for the clerk: ltnode send --pkcs11 signs the PDF with the
	// token and sends it.
	rc, out, errs := ltnodeWithPIN(cfg.PIN, "send", "--to", district, "--number", "46", "--notation", "CV-UBND", "--subject", "Công văn ký khi gửi",
		"--file", in, "--pkcs11", pkcs11test.Module, "--token-label", cfg.TokenLabel, "--key-label", "seal", "--json")
	if rc != 0 {
		t.Fatalf("send --pkcs11: exit %d\n%s%s", rc, out, errs)
	}
	sent := decodeJSON[struct {
		Signed       []string `json:"signed"`
		Verification struct {
			Indication string `json:"indication"`
		} `json:"verification"`
	}](t, out)
	if len(sent.Signed) != 1 || sent.Signed[0] != "to-trinh.pdf" || sent.Verification.Indication != "TOTAL-PASSED" {
		t.Errorf("send --pkcs11: %s", out)
	}

	failures := []struct {
		name, pin string
		args      []string
		msg       string
	}{
		{"wrong PIN", "000000", append([]string{"--key-label", "leader"}, token...), `sai mã PIN của token "lienthong-test"`},
		{"missing token", cfg.PIN, []string{"--pkcs11", pkcs11test.Module, "--token-label", "VNPT-CA", "--key-label", "leader"}, `không thấy token "VNPT-CA", hãy cắm token vào máy`},
		{"missing key", cfg.PIN, append([]string{"--key-label", "van-thu"}, token...), `không có khóa "van-thu" trên token`},
		{"module not installed", cfg.PIN, []string{"--pkcs11", "/usr/lib/khong-co/libtoken.so"}, "không tìm thấy thư viện PKCS#11 /usr/lib/khong-co/libtoken.so"},
		{"no PIN and no terminal", "", append([]string{"--key-label", "leader"}, token...), "cần mã PIN của token: đặt LTNODE_PIN, dùng --pin-file"},
		{"a flag too many", cfg.PIN, append([]string{"--key-label", "leader", "--key", "k.pem", "--cert", "c.pem"}, token...), "không dùng cùng --key/--cert"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(work, strings.ReplaceAll(tc.name, " ", "-")+".pdf")
			rc, stdout, errs := run(tc.pin, append([]string{in, out}, tc.args...)...)
			if rc == 0 || !strings.Contains(errs, tc.msg) || strings.Contains(errs, "panic") {
				t.Fatalf("exit %d, stderr %q, want the message %q", rc, errs, tc.msg)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was written (%v); stdout %q", out, err, stdout)
			}
		})
	}
	if entries, err := os.ReadDir(work); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".pades-") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	}
}
