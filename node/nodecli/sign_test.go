package nodecli_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf/pdftest"
	"github.com/lienthong/lienthong/signing/pki"
)

// signer is a key and certificate written as PEM files.
type signer struct {
	cert         *x509.Certificate
	key          any
	keyPEM, cPEM string
	opts         pades.SignOptions
}

func newSigner(t *testing.T, dir, name string, ca *pki.Authority, now time.Time) signer {
	t.Helper()
	c, k, err := ca.Issue(pki.Request{CommonName: name, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := pki.KeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	s := signer{cert: c, key: k, keyPEM: filepath.Join(dir, name+"-key.pem"), cPEM: filepath.Join(dir, name+"-cert.pem"),
		opts: pades.SignOptions{Signer: k, Certificate: c, Time: now}}
	for path, data := range map[string][]byte{s.keyPEM: kp, s.cPEM: pki.CertPEM(c)} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestSignRefusesBrokenOrLockedDocuments: ltnode sign verifies the
// signatures a document has before adding the clerk's seal, refuses (exit
// 1, the signature and the reason on stderr, no output file) over a
// document changed after its leader signed or certified with DocMDP P=1,
// and with --trust over a signature it cannot trust.
func TestSignRefusesBrokenOrLockedDocuments(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	dir := t.TempDir()
	root, err := pki.NewRoot(pki.Request{CommonName: "Province Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewRoot(pki.Request{CommonName: "Other Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, otherPEM := filepath.Join(dir, "root.pem"), filepath.Join(dir, "other.pem")
	for path, c := range map[string]*x509.Certificate{rootPEM: root.Cert, otherPEM: other.Cert} {
		if err := os.WriteFile(path, pki.CertPEM(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	leader := newSigner(t, dir, "leader", root, now)
	seal := newSigner(t, dir, "seal", root, now)
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Quyet dinh"})
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(o pades.SignOptions, in []byte) []byte {
		var out bytes.Buffer
		if err := pades.Sign(&out, bytes.NewReader(in), int64(len(in)), o); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	signed := signWith(leader.opts, doc)
	changed := func() []byte {
		u := pdftest.Append(t, signed)
		c := pdftest.Ref(t, u.Base().Page, "Contents")
		return u.Set(c.Num, pdftest.Stream("", "BT /F1 18 Tf 72 770 Td (Chi 9.999.000.000 dong) Tj ET")).Bytes()
	}()
	certified := signWith(func() pades.SignOptions { o := leader.opts; o.DocMDP = 1; return o }(), doc)

	tests := []struct {
		name   string
		in     []byte
		trust  string
		rc     int
		stderr []string
	}{
		{"leader's signature, no roots", signed, "", 0, nil},
		{"leader's signature, trusted", signed, rootPEM, 0, nil},
		{"changed after the leader signed", changed, "", 1, []string{"từ chối ký", `"Signature1"`, "TOTAL-FAILED/SIG_CONSTRAINTS_FAILURE", "page 1 /Contents): content stream changed"}},
		{"certified with DocMDP P=1", certified, "", 1, []string{"từ chối ký", `"Signature1"`, "không cho phép thay đổi", "DocMDP P=1"}},
		{"leader not trusted by --trust", signed, otherPEM, 1, []string{"từ chối ký", `"Signature1"`, "INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wd := filepath.Join(dir, "case"+string(rune('a'+i)))
			if err := os.Mkdir(wd, 0o755); err != nil {
				t.Fatal(err)
			}
			in, out := filepath.Join(wd, "in.pdf"), filepath.Join(wd, "out.pdf")
			if err := os.WriteFile(in, tc.in, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"sign", in, out, "--key", seal.keyPEM, "--cert", seal.cPEM}
			if tc.trust != "" {
				args = append(args, "--trust", tc.trust)
			}
			var stdout, stderr bytes.Buffer
			m := &nodecli.Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
			rc := m.Run(context.Background(), args)
			if rc != tc.rc {
				t.Fatalf("exit %d, want %d: %s", rc, tc.rc, stderr.String())
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
			entries, err := os.ReadDir(wd)
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			if tc.rc != 0 {
				want = 1 // in.pdf alone: no output, no temporary file
			}
			if len(entries) != want {
				t.Errorf("%d files in the directory, want %d", len(entries), want)
			}
		})
	}
}
