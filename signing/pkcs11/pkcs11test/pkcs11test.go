// Package pkcs11test makes SoftHSM2 tokens for tests: a fresh token in a
// temporary directory, and keys generated inside it with certificates from
// a test PKI stored beside them, as a CA's enrolment would leave a USB
// token.
package pkcs11test

import (
	"crypto"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pkcs11"
	"github.com/lienthong/lienthong/signing/pki"
)

// Module is where Debian's softhsm2 package installs its PKCS#11 library.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token labels and PINs of the tokens SoftHSM makes.
const (
	TokenLabel = "lienthong-test"
	PIN        = "123456"
	SOPIN      = "654321"
)

// SoftHSM makes a fresh SoftHSM2 token in a temporary directory (pointing
// SOFTHSM2_CONF at it for the rest of the test) and returns its Config
// with no key label. Without softhsm2 installed the test is skipped, or
// fails when CI=true.
func SoftHSM(t testing.TB) pkcs11.Config {
	t.Helper()
	missing := ""
	if _, err := os.Stat(Module); err != nil {
		missing = Module
	} else if _, err := exec.LookPath("softhsm2-util"); err != nil {
		missing = "softhsm2-util"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: apt-get install softhsm2", missing)
		}
		t.Skipf("%s not found: apt-get install softhsm2", missing)
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
	cfg := pkcs11.Config{Module: Module, TokenLabel: TokenLabel, PIN: PIN}
	out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", cfg.TokenLabel, "--pin", cfg.PIN, "--so-pin", SOPIN).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return cfg
}

// Certified generates a key labelled label of type kt inside the token,
// has ca certify it for document signing under the common name cn, and
// stores the certificate on the token; it returns the certificate.
func Certified(t testing.TB, cfg pkcs11.Config, label string, kt pki.KeyType, ca *pki.Authority, cn string) *x509.Certificate {
	t.Helper()
	tok, err := pkcs11.OpenToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	var key crypto.Signer
	if kt == pki.RSA2048 {
		key, err = tok.GenerateRSA(label, 2048)
	} else {
		key, err = tok.GenerateECDSAP256(label)
	}
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert, err := ca.IssueFor(pki.Request{CommonName: cn, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), Usage: pki.DocumentSigning}, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.ImportCertificate(label, cert); err != nil {
		t.Fatal(err)
	}
	return cert
}
