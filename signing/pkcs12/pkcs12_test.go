package pkcs12_test

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pkcs12"
	"github.com/lienthong/lienthong/signing/pki"
)

// needOpenSSL returns the openssl binary, skipping the test without it
// (failing under CI=true).
func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not found; install the Debian package openssl")
		}
		t.Skip("openssl not found; install the Debian package openssl")
	}
	return path
}

// TestOpenSSLReads checks a file Encode wrote with openssl: the MAC and
// the key's PBES2 decryption verify with the password, and what comes
// out is the same key and certificates; a wrong password is refused.
func TestOpenSSLReads(t *testing.T) {
	openssl := needOpenSSL(t)
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
		now := time.Now()
		root, err := pki.NewRoot(pki.Request{CommonName: "Test CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := root.Issue(pki.Request{CommonName: "Vận hành trục", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.ClientAuth, KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		const password = "mật khẩu 123"
		p12, err := pkcs12.Encode(key, cert, []*x509.Certificate{root.Cert}, "Vận hành trục", password)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "op.p12")
		if err := os.WriteFile(file, p12, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(openssl, "pkcs12", "-info", "-noout", "-in", file, "-passin", "pass:"+password).CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12 -info: %v\n%s", err, out)
		} else if s := string(out); !strings.Contains(s, "MAC: sha256") || !strings.Contains(s, "PBES2, PBKDF2, AES-256-CBC") {
			t.Errorf("openssl pkcs12 -info says:\n%s", s)
		}
		pemOut := filepath.Join(dir, "out.pem")
		if out, err := exec.Command(openssl, "pkcs12", "-in", file, "-passin", "pass:"+password, "-nodes", "-out", pemOut).CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12 -nodes: %v\n%s", err, out)
		}
		pair, err := tls.LoadX509KeyPair(pemOut, pemOut)
		if err != nil {
			t.Fatalf("loading what openssl decoded: %v", err)
		}
		if !pair.Leaf.Equal(cert) {
			t.Errorf("decoded leaf is %q, want %q", pair.Leaf.Subject, cert.Subject)
		}
		if ek, ok := key.(*ecdsa.PrivateKey); ok && !ek.Equal(pair.PrivateKey) {
			t.Error("decoded key differs")
		}
		certs, err := pki.LoadCertificates(pemOut)
		if err != nil || len(certs) != 2 || !certs[1].Equal(root.Cert) {
			t.Errorf("decoded certificates: %d, %v; want the leaf and the CA", len(certs), err)
		}
		if out, err := exec.Command(openssl, "pkcs12", "-info", "-noout", "-in", file, "-passin", "pass:wrong").CombinedOutput(); err == nil {
			t.Errorf("openssl accepted a wrong password:\n%s", out)
		} else if !strings.Contains(string(out), "Mac verify error") {
			t.Errorf("wrong password: openssl says %s", out)
		}
	}
}

func TestEncodeRefusesEmptyPassword(t *testing.T) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Test CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pkcs12.Encode(root.Key, root.Cert, nil, "", ""); err == nil || !strings.Contains(err.Error(), "empty password") {
		t.Fatalf("Encode with no password: %v", err)
	}
}
