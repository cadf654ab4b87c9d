package pkcs11_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pkcs11"
	"github.com/lienthong/lienthong/signing/pki"
)

const softhsmModule = "/usr/lib/softhsm/libsofthsm2.so"

// softHSM makes a fresh SoftHSM2 token in a temporary directory and
// returns its Config (no key label yet).
func softHSM(t *testing.T) pkcs11.Config {
	t.Helper()
	if _, err := os.Stat(softhsmModule); err != nil {
		t.Skipf("%s not found: apt-get install softhsm2", softhsmModule)
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		t.Skip("softhsm2-util not found: apt-get install softhsm2")
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	cfg := pkcs11.Config{Module: softhsmModule, TokenLabel: "lienthong-test", PIN: "123456"}
	out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", cfg.TokenLabel, "--pin", cfg.PIN, "--so-pin", "654321").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return cfg
}

// TestSoftHSMSignPDF generates keys inside a SoftHSM2 token, certifies them
// with the test PKI, signs a PDF through pades.Sign with the token key, and
// verifies the result.
func TestSoftHSMSignPDF(t *testing.T) {
	cfg := softHSM(t)
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
	cfg := softHSM(t)
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
