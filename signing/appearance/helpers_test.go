package appearance_test

import (
	"bytes"
	"crypto/x509"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/appearance"
	"github.com/lienthong/lienthong/signing/appearance/appearancetest"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// needTool skips (or, under CI=true, fails) when a tool is missing.
func needTool(t testing.TB, pkg string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (Debian package %s)", tool, pkg)
			}
			t.Skipf("%s not installed: apt-get install %s", tool, pkg)
		}
	}
}

// font loads Liberation Serif, skipping when fonts-liberation2 is absent.
func font(t testing.TB) *appearance.Font {
	t.Helper()
	f, err := appearance.LoadFont("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v", err)
	}
	return f
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// signer is a test PKI: a root, and the leader's and the agency's
// certificates, valid around at.
type signer struct {
	root           *pki.Authority
	leader, agency pades.SignOptions
	roots          *x509.CertPool
	at             time.Time
}

func newSigner(t testing.TB, at time.Time) *signer {
	t.Helper()
	// Valid at the signing time and now, so pdfsig and pdfcpu (which judge
	// at the current time) agree whenever the tests run.
	now := time.Now()
	from, until := at, at
	if now.Before(from) {
		from = now
	}
	if now.After(until) {
		until = now
	}
	root, err := pki.NewRoot(pki.Request{CommonName: "Test Province Root CA", NotBefore: from.Add(-48 * time.Hour), NotAfter: until.Add(365 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// A CRL on a loopback server: pdfcpu reports "validity unknown" for a
	// certificate it cannot check for revocation.
	crl, err := root.CRL(nil, now, now.Add(-time.Hour), now.Add(24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(crl) }))
	t.Cleanup(srv.Close)
	issue := func(cn string, kt pki.KeyType) pades.SignOptions {
		c, k, err := root.Issue(pki.Request{CommonName: cn, NotBefore: from.Add(-24 * time.Hour), NotAfter: until.Add(300 * 24 * time.Hour), Usage: pki.DocumentSigning, KeyType: kt,
			CRLDistributionPoints: []string{srv.URL + "/root.crl"}})
		if err != nil {
			t.Fatal(err)
		}
		return pades.SignOptions{Signer: k, Certificate: c, Time: at}
	}
	s := &signer{root: root, at: at, leader: issue("Nguyễn Văn An", pki.ECDSAP256), agency: issue("UBND tỉnh - con dấu", pki.RSA2048)}
	s.roots = x509.NewCertPool()
	s.roots.AddCert(root.Cert)
	return s
}

// sign signs in with opts and the appearance spec, returning the output.
func (s *signer) sign(t testing.TB, in []byte, opts pades.SignOptions, spec appearance.Spec) []byte {
	t.Helper()
	ap, err := appearance.Plan(bytes.NewReader(in), int64(len(in)), spec)
	if err != nil {
		t.Fatalf("Plan %s: %v", spec.Kind, err)
	}
	opts.Appearance = ap
	opts.Verify = &pades.VerifyOptions{Roots: s.roots, Now: func() time.Time { return s.at.Add(time.Minute) }}
	var out bytes.Buffer
	if err := pades.Sign(&out, bytes.NewReader(in), int64(len(in)), opts); err != nil {
		t.Fatalf("Sign %s: %v", spec.Kind, err)
	}
	return out.Bytes()
}

// verify checks our verifier's verdict: every signature TOTAL-PASSED.
func (s *signer) verify(t testing.TB, doc []byte, want int) *pades.Report {
	t.Helper()
	rep, err := pades.Verify(bytes.NewReader(doc), int64(len(doc)), pades.VerifyOptions{Roots: s.roots, Now: func() time.Time { return s.at.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != pades.VerdictValid || len(rep.Signatures) != want {
		t.Fatalf("verify: verdict %s, %d signatures (want valid, %d): %+v", rep.Verdict, len(rep.Signatures), want, rep.Signatures)
	}
	for i, sig := range rep.Signatures {
		if sig.Indication != "TOTAL-PASSED" {
			t.Errorf("signature %d: %s/%s %v", i+1, sig.Indication, sig.SubIndication, sig.Problems)
		}
	}
	return rep
}

// pdfsigCheck runs pdfsig with the root trusted and checks that every
// signature is valid and the last one covers the whole document.
func (s *signer) pdfsigCheck(t testing.TB, path string, want int) {
	t.Helper()
	needTool(t, "poppler-utils libnss3-tools", "pdfsig", "certutil")
	nss := t.TempDir()
	run(t, "certutil", "-N", "-d", "sql:"+nss, "--empty-password")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pki.CertPEM(s.root.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "certutil", "-A", "-d", "sql:"+nss, "-n", "root", "-t", "C,C,C", "-i", ca)
	out, _ := exec.Command("pdfsig", "-nssdir", "sql:"+nss, path).CombinedOutput()
	blocks := strings.Split(string(out), "Signature #")[1:]
	if len(blocks) != want {
		t.Fatalf("pdfsig found %d signatures, want %d:\n%s", len(blocks), want, out)
	}
	for i, b := range blocks {
		if !strings.Contains(b, "Signature Validation: Signature is Valid.") {
			t.Errorf("pdfsig: signature %d not valid:\n%s", i+1, b)
		}
	}
	if !strings.Contains(blocks[want-1], "Total document signed") || strings.Contains(blocks[want-1], "Not total document signed") {
		t.Errorf("pdfsig: the last signature does not cover the whole document:\n%s", blocks[want-1])
	}
}

func signatureImage(testing.TB) []byte { return appearancetest.SignaturePNG() }

func sealImage(testing.TB) []byte { return appearancetest.SealPNG() }

func decodeImage(t testing.TB, data []byte) *appearance.Image {
	t.Helper()
	im, err := appearance.DecodePNG(data)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// decree is a three-page decision whose last page has the signature
// block on the right: "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", room
// for the signature, then the name.
func decree(t testing.TB) []byte {
	t.Helper()
	b, err := samplepdf.Bytes(samplepdf.Options{
		Title: "Quyết định số 15/QĐ-UBND",
		Lines: []string{"Về việc phê duyệt kế hoạch chuyển đổi số năm 2027", "Điều 1. Phê duyệt kế hoạch kèm theo Quyết định này."},
		Pages: 3,
		Texts: []samplepdf.Text{
			{Page: 3, X: 360, Y: 320, Size: 12, Text: "TM. ỦY BAN NHÂN DÂN"},
			{Page: 3, X: 395, Y: 305, Size: 12, Text: "CHỦ TỊCH"},
			{Page: 3, X: 375, Y: 200, Size: 13, Text: "Nguyễn Văn An"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// render renders page n at 72 dpi (one pixel a point) with pdftoppm.
func render(t testing.TB, doc []byte, n int) image.Image {
	t.Helper()
	needTool(t, "poppler-utils", "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "pdftoppm", "-r", "72", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-png", "-singlefile", in, filepath.Join(dir, "page"))
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
