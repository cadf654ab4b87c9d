package pkcs11_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pkcs11"
	"github.com/lienthong/lienthong/signing/pkcs11/pkcs11test"
	"github.com/lienthong/lienthong/signing/pki"
)

// TestSoftHSMSignPDF generates keys inside a SoftHSM2 token, certifies them
// with the test PKI, signs a PDF through pades.Sign with the token key, and
// verifies the result.
func TestSoftHSMSignPDF(t *testing.T) {
	cfg := pkcs11test.SoftHSM(t)
	now := time.Now().UTC().Truncate(time.Second)
	root, err := pki.NewRoot(pki.Request{CommonName: "HSM Test Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pkcs11.OpenToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateECDSAP256("leader"); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateRSA("seal", 2048); err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}

	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Ky bang token"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		label string
		sf    pades.SubFilter
	}{{"leader", pades.SubFilterCAdES}, {"seal", pades.SubFilterPKCS7}} {
		c := cfg
		c.KeyLabel = k.label
		key, err := pkcs11.Open(c)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := root.IssueFor(pki.Request{CommonName: k.label, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), Usage: pki.DocumentSigning}, key.Public())
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = pades.Sign(&out, bytes.NewReader(doc), int64(len(doc)), pades.SignOptions{Signer: key, Certificate: cert, SubFilter: k.sf, Time: now})
		if cerr := key.Close(); cerr != nil {
			t.Error(cerr)
		}
		if err != nil {
			t.Fatalf("signing with %s: %v", k.label, err)
		}
		doc = out.Bytes()
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	rep, err := pades.Verify(bytes.NewReader(doc), int64(len(doc)), pades.VerifyOptions{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != pades.VerdictValid || len(rep.Signatures) != 2 {
		t.Fatalf("verdict %s, %d signatures: %+v", rep.Verdict, len(rep.Signatures), rep.Signatures)
	}
	if rep.Signatures[0].SignerCN != "leader" || rep.Signatures[1].SignerCN != "seal" {
		t.Errorf("signers %q, %q", rep.Signatures[0].SignerCN, rep.Signatures[1].SignerCN)
	}
}

func TestOpenErrors(t *testing.T) {
	cfg := pkcs11test.SoftHSM(t)
	tests := map[string]pkcs11.Config{
		"no module":     {TokenLabel: "x"},
		"bad module":    {Module: "/nonexistent/lib.so", TokenLabel: "x"},
		"unknown token": {Module: cfg.Module, TokenLabel: "nope", PIN: cfg.PIN, KeyLabel: "k"},
		"wrong PIN":     {Module: cfg.Module, TokenLabel: cfg.TokenLabel, PIN: "000000", KeyLabel: "k"},
		"unknown key":   {Module: cfg.Module, TokenLabel: cfg.TokenLabel, PIN: cfg.PIN, KeyLabel: "missing"},
		"no key label":  {Module: cfg.Module, TokenLabel: cfg.TokenLabel, PIN: cfg.PIN},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := pkcs11.Open(c)
			if err == nil {
				k.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

// TestOpenSigning: the certificate comes from the token, and each thing a
// clerk can get wrong has its own error and message (issue 17).
func TestOpenSigning(t *testing.T) {
	cfg := pkcs11test.SoftHSM(t)
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "HSM Test Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	leader := pkcs11test.Certified(t, cfg, "leader", pki.ECDSAP256, root, "Nguyễn Văn Lãnh Đạo")
	seal := pkcs11test.Certified(t, cfg, "seal", pki.RSA2048, root, "UBND tỉnh - con dấu")
	tok, err := pkcs11.OpenToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateECDSAP256("bare"); err != nil {
		t.Fatal(err)
	}
	// A certificate labelled "crossed" for another key.
	if _, err := tok.GenerateECDSAP256("crossed"); err != nil {
		t.Fatal(err)
	}
	other, _, err := root.Issue(pki.Request{CommonName: "Khác", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	// Stored with the key's id, so it pairs by id but not by public key.
	must(t, tok.ImportCertificate("crossed", other))
	must(t, tok.Close())

	for _, tc := range []struct {
		label string
		want  *x509.Certificate
	}{{"leader", leader}, {"seal", seal}} {
		c := cfg
		c.KeyLabel = tc.label
		k, err := pkcs11.OpenSigning(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.label, err)
		}
		if !k.Certificate.Equal(tc.want) {
			t.Errorf("%s: certificate %q", tc.label, k.Certificate.Subject.CommonName)
		}
		must(t, k.Close())
	}

	with := func(f func(*pkcs11.Config)) pkcs11.Config {
		c := cfg
		c.KeyLabel = "leader"
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  pkcs11.Config
		want error
		msg  string
	}{
		{"no module given", with(func(c *pkcs11.Config) { c.Module = "" }), pkcs11.ErrModule, "chưa chỉ ra thư viện"},
		{"module not found", with(func(c *pkcs11.Config) { c.Module = "/khong/co/libtoken.so" }), pkcs11.ErrModule, "không tìm thấy thư viện PKCS#11 /khong/co/libtoken.so"},
		{"not a module", with(func(c *pkcs11.Config) { c.Module = "/etc/hostname" }), pkcs11.ErrModule, "không nạp được"},
		{"token absent", with(func(c *pkcs11.Config) { c.TokenLabel = "USB-TOKEN-VNPT" }), pkcs11.ErrNoToken, `không thấy token "USB-TOKEN-VNPT", hãy cắm token vào máy (đang có: "lienthong-test")`},
		{"wrong PIN", with(func(c *pkcs11.Config) { c.PIN = "000000" }), pkcs11.ErrWrongPIN, `sai mã PIN của token "lienthong-test"`},
		{"no PIN", with(func(c *pkcs11.Config) { c.PIN = "" }), pkcs11.ErrWrongPIN, "chưa nhập mã PIN"},
		{"key not found", with(func(c *pkcs11.Config) { c.KeyLabel = "thu-ky" }), pkcs11.ErrNoKey, `không có khóa "thu-ky"`},
		{"several keys, none named", with(func(c *pkcs11.Config) { c.KeyLabel = "" }), pkcs11.ErrNoKey, "hãy chọn một bằng --key-label"},
		{"key without certificate", with(func(c *pkcs11.Config) { c.KeyLabel = "bare" }), pkcs11.ErrNoCertificate, `khóa "bare" không có chứng thư số`},
		{"certificate of another key", with(func(c *pkcs11.Config) { c.KeyLabel = "crossed" }), pkcs11.ErrCertMismatch, "không khớp với khóa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := pkcs11.OpenSigning(tc.cfg)
			if err == nil {
				k.Close()
				t.Fatal("OpenSigning succeeded")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("OpenSigning = %v\nwant %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
