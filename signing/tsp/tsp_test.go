package tsp_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/tsp"
	"github.com/lienthong/lienthong/signing/tsp/tsptest"
)

type fixture struct {
	now   time.Time
	root  *pki.Authority
	inter *pki.Authority
	roots *x509.CertPool
	tsa   *tsptest.TSA
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	root, err := pki.NewRoot(pki.Request{CommonName: "Test TSA Root", NotBefore: now.Add(-5 * 365 * 24 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(pki.Request{CommonName: "Test TSA Sub CA", NotBefore: now.Add(-4 * 365 * 24 * time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := tsptest.NewTSA(inter, "Test TSA 1", now)
	if err != nil {
		t.Fatal(err)
	}
	tsa.Now = func() time.Time { return now }
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	return &fixture{now: now, root: root, inter: inter, roots: roots, tsa: tsa}
}

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func TestClientAndVerify(t *testing.T) {
	f := newFixture(t)
	srv := f.tsa.Server()
	defer srv.Close()
	c := &tsp.Client{URL: srv.URL, Timeout: 5 * time.Second}
	der, err := c.Timestamp(context.Background(), crypto.SHA256, digestOf("chữ ký"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tsp.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := tok.Verify(tsp.VerifyOptions{Roots: f.roots})
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 || chain[0] != tok.Certificate || !chain[2].Equal(f.root.Cert) {
		t.Errorf("chain of %d certificates", len(chain))
	}
	if !tok.GenTime.Equal(f.now) || tok.Accuracy != time.Second || tok.SerialNumber.Int64() != 1 || !tok.Policy.Equal(tsptest.DefaultPolicy) {
		t.Errorf("genTime %v accuracy %v serial %v policy %v", tok.GenTime, tok.Accuracy, tok.SerialNumber, tok.Policy)
	}
	if !strings.Contains(tok.TSAName, "CN=Test TSA 1") {
		t.Errorf("TSA name %q", tok.TSAName)
	}
	if err := tok.CheckData([]byte("chữ ký")); err != nil {
		t.Errorf("imprint of the right data: %v", err)
	}
	if err := tok.CheckData([]byte("chữ ký khác")); !errors.Is(err, tsp.ErrImprint) {
		t.Errorf("imprint of other data: %v, want ErrImprint", err)
	}
}

// TestVerifyRefuses: each bad token is refused with the error kind a
// verifier maps to an indication.
func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	other, err := pki.NewRoot(pki.Request{CommonName: "Rogue TSA Root", NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour * 24)})
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := tsptest.NewTSA(other, "Rogue TSA", f.now)
	if err != nil {
		t.Fatal(err)
	}
	docCert, docKey, err := f.inter.Issue(pki.Request{CommonName: "Signer, not a TSA", NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour * 24), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	notTSA := &tsptest.TSA{Cert: docCert, Key: docKey, Chain: []*x509.Certificate{f.inter.Cert}}
	nonCritical := nonCriticalTSA(t, f)
	expiredAtGen := &tsptest.TSA{Cert: f.tsa.Cert, Key: f.tsa.Key, Chain: f.tsa.Chain, Now: func() time.Time { return f.now.Add(10 * 365 * 24 * time.Hour) }}

	tests := []struct {
		name string
		tsa  *tsptest.TSA
		mut  func([]byte) []byte
		want error
	}{
		{"untrusted TSA", rogue, nil, tsp.ErrUntrusted},
		{"TSA certificate without timeStamping EKU", notTSA, nil, tsp.ErrKeyPurpose},
		{"timeStamping EKU not critical", nonCritical, nil, tsp.ErrKeyPurpose},
		{"TSA certificate expired at genTime", expiredAtGen, nil, tsp.ErrUntrusted},
		{"TSTInfo changed after signing", f.tsa, func(b []byte) []byte {
			// Flip the last byte of the serial number in the TSTInfo.
			j := indexSerial(t, b)
			b[j] ^= 1
			return b
		}, tsp.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := tt.tsa.Issue(crypto.SHA256, digestOf("x"), big.NewInt(7))
			if err != nil {
				t.Fatal(err)
			}
			if tt.mut != nil {
				der = tt.mut(der)
			}
			tok, err := tsp.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tok.Verify(tsp.VerifyOptions{Roots: f.roots}); !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// indexSerial finds the TSTInfo serial number (1, as the first token of a
// fresh TSA): the bytes 02 01 01 after the messageImprint.
func indexSerial(t *testing.T, b []byte) int {
	t.Helper()
	d := digestOf("x")
	i := strings.Index(string(b), string(d))
	if i < 0 || string(b[i+len(d):i+len(d)+3]) != "\x02\x01\x01" {
		t.Fatal("serial number not found after the imprint")
	}
	return i + len(d) + 2
}

// nonCriticalTSA issues a TSA certificate whose timeStamping EKU is not
// critical (what x509.CreateCertificate writes by default).
func nonCriticalTSA(t *testing.T, f *fixture) *tsptest.TSA {
	t.Helper()
	key, err := pki.NewKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "Non-critical TSA"},
		NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.inter.Cert, key.Public(), f.inter.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tsptest.TSA{Cert: cert, Key: key, Chain: []*x509.Certificate{f.inter.Cert}}
}

func TestClientRefuses(t *testing.T) {
	f := newFixture(t)
	wrong := &tsptest.TSA{Cert: f.tsa.Cert, Key: f.tsa.Key, Chain: f.tsa.Chain, Tamper: func(i *tsp.TSTInfo) { i.MessageImprint.HashedMessage = digestOf("other") }}
	noNonce := &tsptest.TSA{Cert: f.tsa.Cert, Key: f.tsa.Key, Chain: f.tsa.Chain, Tamper: func(i *tsp.TSTInfo) { i.Nonce = nil }}
	refusing := &tsptest.TSA{Cert: f.tsa.Cert, Key: f.tsa.Key, Refuse: true}
	tests := []struct {
		name string
		tsa  *tsptest.TSA
		want string
	}{
		{"other imprint", wrong, tsp.ErrImprint.Error()},
		{"nonce dropped", noNonce, "does not carry the request's nonce"},
		{"refused", refusing, "request refused (status 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.tsa.Server()
			defer srv.Close()
			c := &tsp.Client{URL: srv.URL}
			_, err := c.Timestamp(context.Background(), crypto.SHA256, digestOf("x"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"HTTP error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }, "answered HTTP 503"},
		{"a web page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
		}, `content type "text/html"`},
		{"garbage", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", tsp.ContentTypeReply+"; charset=binary")
			w.Write([]byte{0x30, 0x03, 0x02, 0x01})
		}, "malformed time-stamp token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := (&tsp.Client{URL: srv.URL}).Timestamp(context.Background(), crypto.SHA256, digestOf("x"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("not a TSA", func(t *testing.T) {
		c := &tsp.Client{URL: "http://127.0.0.1:1/"}
		if _, err := c.Timestamp(context.Background(), crypto.SHA256, digestOf("x")); err == nil || !strings.Contains(err.Error(), "asking http://127.0.0.1:1/") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		srv := f.tsa.Server()
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := &tsp.Client{URL: srv.URL}
		if _, err := c.Timestamp(ctx, crypto.SHA256, digestOf("x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	})
}

// TestOpenSSLInterop: `openssl ts -verify` accepts the test TSA's tokens,
// and tokens made by `openssl ts -reply` pass Verify.
func TestOpenSSLInterop(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not installed (Debian package openssl)")
		}
		t.Skip("openssl not installed (Debian package openssl)")
	}
	f := newFixture(t)
	dir := t.TempDir()
	data := []byte("văn bản đã ký")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dataPath := write("data", data)
	rootPath := write("root.pem", pki.CertPEM(f.root.Cert))
	interPath := write("inter.pem", pki.CertPEM(f.inter.Cert))
	h := sha256.Sum256(data)

	t.Run("openssl verifies ours", func(t *testing.T) {
		// openssl checks the chain at the current time.
		tsa, err := tsptest.NewTSA(f.inter, "Test TSA 2", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		der, err := tsa.Issue(crypto.SHA256, h[:], nil)
		if err != nil {
			t.Fatal(err)
		}
		tok := write("token.der", der)
		out, err := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", tok, "-data", dataPath, "-CAfile", rootPath, "-untrusted", interPath).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Fatalf("openssl ts -verify: %v\n%s", err, out)
		}
	})

	t.Run("we verify openssl's", func(t *testing.T) {
		key, err := pki.KeyPEM(f.tsa.Key)
		if err != nil {
			t.Fatal(err)
		}
		keyPath := write("tsa.key", key)
		certPath := write("tsa.pem", pki.CertPEM(f.tsa.Cert))
		write("serial", []byte("01\n"))
		conf := write("ts.cnf", []byte(`[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = `+dir+`
serial = $dir/serial
signer_digest = sha256
default_policy = 1.3.6.1.4.1.32473.1.2
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
ess_cert_id_chain = no
`))
		query := filepath.Join(dir, "q.tsq")
		if out, err := exec.Command("openssl", "ts", "-query", "-data", dataPath, "-sha256", "-cert", "-out", query).CombinedOutput(); err != nil {
			t.Fatalf("openssl ts -query: %v\n%s", err, out)
		}
		tokPath := filepath.Join(dir, "o.tst")
		if out, err := exec.Command("openssl", "ts", "-reply", "-config", conf, "-queryfile", query, "-signer", certPath, "-inkey", keyPath, "-chain", interPath, "-token_out", "-out", tokPath).CombinedOutput(); err != nil {
			t.Fatalf("openssl ts -reply: %v\n%s", err, out)
		}
		der, err := os.ReadFile(tokPath)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tsp.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tok.Verify(tsp.VerifyOptions{Roots: f.roots}); err != nil {
			t.Fatal(err)
		}
		if err := tok.CheckData(data); err != nil {
			t.Fatal(err)
		}
		if !tok.Policy.Equal([]int{1, 3, 6, 1, 4, 1, 32473, 1, 2}) || time.Since(tok.GenTime) > time.Hour {
			t.Errorf("policy %v genTime %v", tok.Policy, tok.GenTime)
		}
	})
}
