package pades_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// testPKI is a province root with an intermediate CA, the signers a
// document meets (a person and the agency seal), and the bad cases.
type testPKI struct {
	now          time.Time
	root         *pki.Authority
	inter        *pki.Authority
	person       identity // ECDSA, issued by inter
	personRSA    identity // RSA, issued by inter
	seal         identity // RSA, issued by root
	sealEC       identity // ECDSA, issued by root
	expired      identity // validity ended a year ago
	revoked      identity // revoked an hour ago by inter's CRL
	noKeyUsage   identity // key usage keyEncipherment only
	untrusted    identity // issued by a root nobody trusts
	otherRoot    *pki.Authority
	interCRL     *x509.RevocationList
	interCRLPEM  []byte
	roots        *x509.CertPool
	revokedAtDay string
}

type identity struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate
}

func (id identity) opts(sf pades.SubFilter, at time.Time) pades.SignOptions {
	return pades.SignOptions{Signer: id.key, Certificate: id.cert, Chain: id.chain, SubFilter: sf, Time: at,
		Reason: "Phê duyệt văn bản", Location: "UBND tỉnh"}
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	p := &testPKI{now: now}
	valid := func(cn string, kt pki.KeyType) pki.Request {
		return pki.Request{CommonName: cn, NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), Usage: pki.DocumentSigning, KeyType: kt}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	p.root, err = pki.NewRoot(pki.Request{CommonName: "Test Province Root CA", Organization: "UBND tinh", NotBefore: now.Add(-5 * 365 * 24 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour)})
	must(err)
	p.inter, err = p.root.NewIntermediate(pki.Request{CommonName: "Test Agency Sub CA", NotBefore: now.Add(-4 * 365 * 24 * time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour)})
	must(err)
	issue := func(a *pki.Authority, req pki.Request) identity {
		t.Helper()
		c, k, err := a.Issue(req)
		must(err)
		id := identity{cert: c, key: k}
		if a != p.root && a != p.otherRoot {
			id.chain = []*x509.Certificate{a.Cert}
		}
		return id
	}
	p.person = issue(p.inter, valid("Nguyễn Văn An", pki.ECDSAP256))
	p.personRSA = issue(p.inter, valid("Trần Thị Bình", pki.RSA2048))
	p.seal = issue(p.root, valid("UBND tinh - con dau", pki.RSA2048))
	p.sealEC = issue(p.root, valid("So Noi vu - con dau", pki.ECDSAP256))
	exp := valid("Het Han", pki.ECDSAP256)
	exp.NotBefore, exp.NotAfter = now.Add(-2*365*24*time.Hour), now.Add(-365*24*time.Hour)
	p.expired = issue(p.inter, exp)
	p.revoked = issue(p.inter, valid("Bi Thu Hoi", pki.ECDSAP256))
	p.noKeyUsage = issueKeyEnciphermentOnly(t, p.inter, now)
	p.otherRoot, err = pki.NewRoot(pki.Request{CommonName: "Rogue Root CA", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)})
	must(err)
	p.untrusted = issue(p.otherRoot, valid("Mao Danh", pki.ECDSAP256))
	p.untrusted.chain = []*x509.Certificate{p.otherRoot.Cert}

	revokedAt := now.Add(-time.Hour)
	p.revokedAtDay = revokedAt.Format("2006-01-02")
	der, err := p.inter.CRL([]*x509.Certificate{p.revoked.cert}, revokedAt, now.Add(-time.Hour), now.Add(7*24*time.Hour), 1)
	must(err)
	p.interCRL, err = x509.ParseRevocationList(der)
	must(err)
	p.interCRLPEM = pki.CRLPEM(der)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root.Cert)
	return p
}

func (p *testPKI) verifyOptions() pades.VerifyOptions {
	return pades.VerifyOptions{Roots: p.roots, CRLs: []*x509.RevocationList{p.interCRL}, Now: func() time.Time { return p.now.Add(time.Minute) }}
}

// sample returns a fresh unsigned PDF.
func sample(t testing.TB, xrefStream bool) []byte {
	t.Helper()
	b, err := samplepdf.Bytes(samplepdf.Options{Title: "Cong van so 123/UBND-VP", Lines: []string{"Kinh gui: cac xa", "Noi dung: hop giao ban"}, Pages: 2, XRefStream: xrefStream})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(t testing.TB, pdf []byte, opts pades.SignOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pades.Sign(&out, bytes.NewReader(pdf), int64(len(pdf)), opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), pdf) {
		t.Fatal("Sign changed the original bytes")
	}
	return out.Bytes()
}

// signUnchecked signs without verifying the existing signatures, as an
// attacker's tool would.
func signUnchecked(t testing.TB, pdf []byte, opts pades.SignOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pades.SignUnchecked(&out, bytes.NewReader(pdf), int64(len(pdf)), opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), pdf) {
		t.Fatal("Sign changed the original bytes")
	}
	return out.Bytes()
}

func verify(t testing.TB, pdf []byte, opts pades.VerifyOptions) *pades.Report {
	t.Helper()
	rep, err := pades.Verify(bytes.NewReader(pdf), int64(len(pdf)), opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// appendUpdate appends an incremental update holding objs (number ->
// body, "N 0 obj" and "endobj" added) with a classic xref table whose
// trailer points back to the previous one.
func appendUpdate(t testing.TB, pdf []byte, objs map[int]string) []byte {
	t.Helper()
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("appendUpdate: no startxref")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	sizes := regexp.MustCompile(`/Size (\d+)`).FindAllSubmatch(pdf, -1)
	size, _ := strconv.Atoi(string(sizes[len(sizes)-1][1]))
	roots := regexp.MustCompile(`/Root (\d+ \d+ R)`).FindAllSubmatch(pdf, -1)
	root := string(roots[len(roots)-1][1])
	var b bytes.Buffer
	b.Write(pdf)
	offsets := map[int]int{}
	maxNum := 0
	var nums []int
	for n := range objs {
		nums = append(nums, n)
	}
	for i := 1; i < len(nums); i++ {
		for j := i; j > 0 && nums[j] < nums[j-1]; j-- {
			nums[j], nums[j-1] = nums[j-1], nums[j]
		}
	}
	for _, n := range nums {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, objs[n])
		maxNum = max(maxNum, n)
	}
	xref := b.Len()
	b.WriteString("xref\n0 1\n0000000000 65535 f \n")
	for _, n := range nums {
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n \n", n, offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", max(size, maxNum+1), root, prev, xref)
	return b.Bytes()
}

// nssDB makes an NSS database trusting the given CAs and, if signer is
// set, holding its key under the nickname "signer".
func nssDB(t testing.TB, trusted []*x509.Certificate, signer *identity) string {
	t.Helper()
	needTools(t, "certutil", "pk12util", "openssl")
	dir := t.TempDir()
	run(t, "certutil", "-N", "-d", "sql:"+dir, "--empty-password")
	for i, c := range trusted {
		f := writeTemp(t, "ca.pem", pki.CertPEM(c))
		run(t, "certutil", "-A", "-d", "sql:"+dir, "-n", "ca"+strconv.Itoa(i), "-t", "C,C,C", "-i", f)
	}
	if signer != nil {
		kp, err := pki.KeyPEM(signer.key)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := writeTemp(t, "k.pem", kp)
		certFile := writeTemp(t, "c.pem", pki.CertPEM(append([]*x509.Certificate{signer.cert}, signer.chain...)...))
		p12 := filepath.Join(t.TempDir(), "x.p12")
		run(t, "openssl", "pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-name", "signer", "-passout", "pass:", "-out", p12)
		run(t, "pk12util", "-i", p12, "-d", "sql:"+dir, "-W", "")
	}
	return dir
}

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: apt-get install poppler-utils libnss3-tools", tool)
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pdfsigResult is what pdfsig says about one signature.
type pdfsigResult struct {
	valid, trusted, total bool
	text                  string
}

// pdfsigVerify runs pdfsig and splits its report per signature.
func pdfsigVerify(t testing.TB, nss, path string) []pdfsigResult {
	t.Helper()
	needTools(t, "pdfsig")
	out, _ := exec.Command("pdfsig", "-nssdir", "sql:"+nss, path).CombinedOutput()
	blocks := regexp.MustCompile(`(?m)^Signature #\d+:`).Split(string(out), -1)
	var res []pdfsigResult
	for _, b := range blocks[1:] {
		res = append(res, pdfsigResult{
			valid:   strings.Contains(b, "Signature Validation: Signature is Valid."),
			trusted: strings.Contains(b, "Certificate Validation: Certificate is Trusted."),
			total:   strings.Contains(b, "  - Total document signed"),
			text:    b,
		})
	}
	return res
}

// issueKeyEnciphermentOnly makes a certificate pki cannot: one whose key
// usage forbids signing.
func issueKeyEnciphermentOnly(t testing.TB, ca *pki.Authority, now time.Time) identity {
	t.Helper()
	return issueCustom(t, ca, "Khong Duoc Ky", pki.RSA2048, now, func(c *x509.Certificate) {
		c.KeyUsage = x509.KeyUsageKeyEncipherment
	})
}

// issueCustom issues a one-year signing certificate from ca, letting edit
// change the template first (for what pki.Request cannot express).
func issueCustom(t testing.TB, ca *pki.Authority, cn string, kt pki.KeyType, now time.Time, edit func(*x509.Certificate)) identity {
	t.Helper()
	key, err := pki.NewKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Country: []string{"VN"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	id := identity{cert: c, key: key}
	if !bytes.Equal(ca.Cert.RawIssuer, ca.Cert.RawSubject) {
		id.chain = []*x509.Certificate{ca.Cert}
	}
	return id
}
