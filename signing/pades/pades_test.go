package pades_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/keypurpose"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// want is the expected outcome for one signature; problems must match
// exactly, in order (a prefix match where the entry ends in "*").
type want struct {
	field                         string
	digest, sig, chain, atTime    bool
	keyUsage, revoked             bool
	whole, modifiedAfter, covered bool
	problems                      []string
}

func good(field string) want {
	return want{field: field, digest: true, sig: true, chain: true, atTime: true, keyUsage: true, whole: true, problems: []string{}}
}

func coveredGood(field string) want {
	w := good(field)
	w.whole, w.modifiedAfter, w.covered = false, true, true
	return w
}

func checkSig(t *testing.T, i int, got pades.SignatureReport, w want) {
	t.Helper()
	type flags struct {
		Field                                   string
		Digest, Sig, Chain, AtTime, KU, Revoked bool
		Whole, ModifiedAfter, Covered           bool
	}
	g := flags{got.Field, got.DigestValid, got.SignatureValid, got.ChainTrusted, got.ValidAtSigningTime, got.KeyUsageOK, got.Revoked, got.CoversWholeDocument, got.ModifiedAfter, got.CoveredByLaterSignature}
	e := flags{w.field, w.digest, w.sig, w.chain, w.atTime, w.keyUsage, w.revoked, w.whole, w.modifiedAfter, w.covered}
	if g != e {
		t.Errorf("signature %d:\n got %+v\nwant %+v\nproblems %q", i, g, e, got.Problems)
	}
	if len(got.Problems) != len(w.problems) {
		t.Errorf("signature %d problems = %q, want %q", i, got.Problems, w.problems)
		return
	}
	for j, p := range w.problems {
		ok := got.Problems[j] == p
		if strings.HasSuffix(p, "*") {
			ok = strings.HasPrefix(got.Problems[j], strings.TrimSuffix(p, "*"))
		}
		if !ok {
			t.Errorf("signature %d problem %d = %q, want %q", i, j, got.Problems[j], p)
		}
	}
}

func TestVerifyOutcomes(t *testing.T) {
	p := newTestPKI(t)
	at := p.now
	cades, pkcs7 := pades.SubFilterCAdES, pades.SubFilterPKCS7
	tamper := func(t *testing.T, pdf []byte) []byte {
		i := bytes.Index(pdf, []byte("Cong van so 123"))
		if i < 0 {
			t.Fatal("title not found")
		}
		out := bytes.Clone(pdf)
		out[i] = 'K'
		return out
	}
	// A later revision that replaces page 1's content: what a forger does.
	rewriteContent := func(t *testing.T, pdf []byte) []byte {
		content := "BT /F1 18 Tf 72 770 Td (Cong van so 999/GIA-MAO) Tj ET"
		return appendUpdate(t, pdf, map[int]string{6: "<< /Length " + strconv.Itoa(len(content)) + " >>\nstream\n" + content + "\nendstream"})
	}
	tests := []struct {
		name    string
		build   func(t *testing.T) []byte
		opts    func() pades.VerifyOptions
		verdict pades.Verdict
		sigs    []want
	}{
		{
			name:    "one CAdES ECDSA signature, intermediate CA",
			build:   func(t *testing.T) []byte { return sign(t, sample(t, false), p.person.opts(cades, at)) },
			verdict: pades.VerdictValid,
			sigs:    []want{good("Signature1")},
		},
		{
			name:    "one PKCS7 RSA signature, xref stream",
			build:   func(t *testing.T) []byte { return sign(t, sample(t, true), p.seal.opts(pkcs7, at)) },
			verdict: pades.VerdictValid,
			sigs:    []want{good("Signature1")},
		},
		{
			name: "person then seal",
			build: func(t *testing.T) []byte {
				return sign(t, sign(t, sample(t, false), p.person.opts(cades, at)), p.seal.opts(cades, at))
			},
			verdict: pades.VerdictValid,
			sigs:    []want{coveredGood("Signature1"), good("Signature2")},
		},
		{
			name: "person then seal, xref stream, mixed subfilters",
			build: func(t *testing.T) []byte {
				return sign(t, sign(t, sample(t, true), p.personRSA.opts(pkcs7, at)), p.sealEC.opts(cades, at))
			},
			verdict: pades.VerdictValid,
			sigs:    []want{coveredGood("Signature1"), good("Signature2")},
		},
		{
			name:    "one byte changed inside the signed range",
			build:   func(t *testing.T) []byte { return tamper(t, sign(t, sample(t, false), p.person.opts(cades, at))) },
			verdict: pades.VerdictInvalid,
			sigs: []want{func() want {
				w := good("Signature1")
				w.digest = false
				w.problems = []string{"digest mismatch: the signed bytes were changed"}
				return w
			}()},
		},
		{
			name: "one byte changed under two signatures",
			build: func(t *testing.T) []byte {
				return tamper(t, sign(t, sign(t, sample(t, true), p.person.opts(cades, at)), p.seal.opts(pkcs7, at)))
			},
			verdict: pades.VerdictInvalid,
			sigs: []want{func() want {
				w := good("Signature1")
				w.digest, w.whole, w.modifiedAfter = false, false, true
				w.problems = []string{"digest mismatch: the signed bytes were changed", "document changed after this signature"}
				return w
			}(), func() want {
				w := good("Signature2")
				w.digest = false
				w.problems = []string{"digest mismatch: the signed bytes were changed"}
				return w
			}()},
		},
		{
			name: "content replaced by an incremental update after signing",
			build: func(t *testing.T) []byte {
				return rewriteContent(t, sign(t, sample(t, false), p.person.opts(cades, at)))
			},
			verdict: pades.VerdictModified,
			sigs: []want{func() want {
				w := good("Signature1")
				w.whole, w.modifiedAfter = false, true
				w.problems = []string{"document changed after this signature"}
				return w
			}()},
		},
		{
			name: "harmless-looking object appended after signing",
			build: func(t *testing.T) []byte {
				return appendUpdate(t, sign(t, sample(t, true), p.person.opts(cades, at)), map[int]string{40: "(hello)"})
			},
			verdict: pades.VerdictModified,
			sigs: []want{func() want {
				w := good("Signature1")
				w.whole, w.modifiedAfter = false, true
				w.problems = []string{"document changed after this signature"}
				return w
			}()},
		},
		{
			name: "content replaced between two signatures",
			build: func(t *testing.T) []byte {
				return signUnchecked(t, rewriteContent(t, sign(t, sample(t, false), p.person.opts(cades, at))), p.seal.opts(cades, at))
			},
			verdict: pades.VerdictModified,
			sigs: []want{func() want {
				w := good("Signature1")
				w.whole, w.modifiedAfter = false, true
				w.problems = []string{"document changed after this signature: 6 0 obj (page 1 /Contents): content stream changed"}
				return w
			}(), good("Signature2")},
		},
		{
			// A second field whose dictionary reuses the first signature's
			// /ByteRange and /Contents: every byte it "signs" is genuine,
			// but its range does not exclude its own value.
			name: "signature value copied into a new field",
			build: func(t *testing.T) []byte {
				return copySignature(t, sign(t, sample(t, false), p.person.opts(cades, at)))
			},
			verdict: pades.VerdictInvalid,
			sigs: []want{func() want {
				w := good("Signature1")
				w.whole, w.modifiedAfter = false, true
				w.problems = []string{"document changed after this signature"}
				return w
			}(), func() want {
				w := good("Copy")
				w.sig, w.whole, w.modifiedAfter = false, false, true
				w.problems = []string{"the signed byte range does not match the signature value"}
				return w
			}()},
		},
		{
			name:    "untrusted CA",
			build:   func(t *testing.T) []byte { return sign(t, sample(t, false), p.untrusted.opts(cades, at)) },
			verdict: pades.VerdictIndeterminate,
			sigs: []want{func() want {
				w := good("Signature1")
				w.chain = false
				w.problems = []string{"signed by an untrusted CA: CN=Rogue Root CA,C=VN"}
				return w
			}()},
		},
		{
			name:    "expired certificate",
			build:   func(t *testing.T) []byte { return signUnchecked(t, sample(t, false), p.expired.opts(cades, at)) },
			verdict: pades.VerdictIndeterminate,
			sigs: []want{func() want {
				w := good("Signature1")
				w.atTime = false
				w.problems = []string{"certificate expired on *"}
				return w
			}()},
		},
		{
			name:    "revoked certificate",
			build:   func(t *testing.T) []byte { return sign(t, sample(t, false), p.revoked.opts(pkcs7, at)) },
			verdict: pades.VerdictInvalid,
			sigs: []want{func() want {
				w := good("Signature1")
				w.revoked = true
				w.problems = []string{"certificate revoked on " + p.revokedAtDay}
				return w
			}()},
		},
		{
			name:    "key usage forbids signing",
			build:   func(t *testing.T) []byte { return signUnchecked(t, sample(t, false), p.noKeyUsage.opts(cades, at)) },
			verdict: pades.VerdictInvalid,
			sigs: []want{func() want {
				w := good("Signature1")
				w.keyUsage = false
				w.problems = []string{"certificate Khong Duoc Ky: key usage does not allow signing (needs digitalSignature or nonRepudiation)"}
				return w
			}()},
		},
		{
			name:    "no trust roots",
			build:   func(t *testing.T) []byte { return sign(t, sample(t, false), p.person.opts(cades, at)) },
			opts:    func() pades.VerifyOptions { return pades.VerifyOptions{} },
			verdict: pades.VerdictIndeterminate,
			sigs: []want{func() want {
				w := good("Signature1")
				w.chain = false
				w.problems = []string{"no trust roots configured"}
				return w
			}()},
		},
		{
			name:  "forged CRL is ignored",
			build: func(t *testing.T) []byte { return sign(t, sample(t, false), p.revoked.opts(cades, at)) },
			opts: func() pades.VerifyOptions {
				o := p.verifyOptions()
				o.CRLs = []*x509.RevocationList{forgedCRL(t, p)}
				return o
			},
			verdict: pades.VerdictValid,
			sigs: []want{func() want {
				w := good("Signature1")
				w.problems = []string{"CRL of CN=Test Agency Sub CA,C=VN (trust-store) ignored: signed by another key of the issuer"}
				return w
			}()},
		},
		{
			name:    "unsigned",
			build:   func(t *testing.T) []byte { return sample(t, false) },
			verdict: pades.VerdictUnsigned,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := tt.build(t)
			opts := p.verifyOptions()
			if tt.opts != nil {
				opts = tt.opts()
			}
			rep := verify(t, pdf, opts)
			if rep.Verdict != tt.verdict {
				t.Errorf("verdict = %q, want %q", rep.Verdict, tt.verdict)
			}
			if len(rep.Signatures) != len(tt.sigs) {
				t.Fatalf("%d signatures, want %d: %+v", len(rep.Signatures), len(tt.sigs), rep.Signatures)
			}
			for i, w := range tt.sigs {
				checkSig(t, i, rep.Signatures[i], w)
				if !rep.Signatures[i].SigningTime.Equal(at) {
					t.Errorf("signature %d signing time %v, want %v", i, rep.Signatures[i].SigningTime, at)
				}
			}
		})
	}
}

func forgedCRL(t *testing.T, p *testPKI) *x509.RevocationList {
	t.Helper()
	fake := newTestPKI(t) // its intermediate has the same name, another key
	der, err := fake.inter.CRL([]*x509.Certificate{p.revoked.cert}, p.now.Add(-time.Hour), p.now.Add(-time.Hour), p.now.Add(time.Hour), 9)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func TestVerifyReportFields(t *testing.T) {
	p := newTestPKI(t)
	pdf := sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now))
	rep := verify(t, pdf, p.verifyOptions())
	s := rep.Signatures[0]
	if s.Signer != "CN=Nguyễn Văn An,C=VN" || s.SignerCN != "Nguyễn Văn An" {
		t.Errorf("signer = %q / %q", s.Signer, s.SignerCN)
	}
	if s.SubFilter != "ETSI.CAdES.detached" {
		t.Errorf("subfilter = %q", s.SubFilter)
	}
	if s.Certificate == nil || !s.Certificate.Equal(p.person.cert) {
		t.Error("Certificate is not the signer's")
	}
	if len(s.Chain) != 3 || !s.Chain[2].Equal(p.root.Cert) {
		t.Errorf("chain has %d certificates", len(s.Chain))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Verdict    string           `json:"verdict"`
		Signatures []map[string]any `json:"signatures"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range generic.Signatures[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	wantKeys := []string{"chain_trusted", "covered_by_later_signature", "covers_whole_document", "digest_valid", "field", "indication", "key_usage_ok", "modified_after", "poe_time", "problems", "revocation", "revoked", "signature_valid", "signer", "signer_cn", "signing_time", "subfilter", "valid_at_signing_time"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("JSON keys = %v\nwant %v", keys, wantKeys)
	}
	if got, want := generic.Signatures[0]["signing_time"], p.now.Format(time.RFC3339); got != want {
		t.Errorf("signing_time = %v, want %v", got, want)
	}
	if s.Indication != etsi.TotalPassed || s.SubIndication != etsi.None || rep.Indication != etsi.TotalPassed {
		t.Errorf("indication = %s/%s, report %s", s.Indication, s.SubIndication, rep.Indication)
	}
	if !bytes.Contains(b, []byte(`"problems":[]`)) || generic.Verdict != "valid" {
		t.Errorf("JSON = %s", b)
	}
}

func TestVerifyUnreadable(t *testing.T) {
	tests := map[string][]byte{
		"empty":           {},
		"not a PDF":       []byte("hello world"),
		"no startxref":    []byte("%PDF-1.4\n1 0 obj << >> endobj\n"),
		"startxref loops": []byte("%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev 9 /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"),
		"bad xref offset": []byte("%PDF-1.4\nstartxref\n3\n%%EOF\n"),
		"missing catalog": []byte("%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\nstartxref\n9\n%%EOF\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			rep, err := pades.Verify(bytes.NewReader(data), int64(len(data)), pades.VerifyOptions{})
			if err == nil {
				t.Fatalf("no error; report %+v", rep)
			}
			if rep == nil || rep.Verdict != pades.VerdictError || rep.Error == "" || rep.Signatures == nil {
				t.Errorf("report = %+v", rep)
			}
		})
	}
	if _, err := pades.VerifyFile(filepath.Join(t.TempDir(), "missing.pdf"), pades.VerifyOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VerifyFile(missing) = %v", err)
	}
}

func TestSignLayout(t *testing.T) {
	p := newTestPKI(t)
	for _, xs := range []bool{false, true} {
		src := sample(t, xs)
		out := sign(t, src, p.person.opts(pades.SubFilterCAdES, p.now))
		upd := out[len(src):]
		if got := bytes.Contains(upd, []byte("/Type /XRef")); got != xs {
			t.Errorf("xref stream input %v: update has an xref stream = %v", xs, got)
		}
		if got := bytes.Contains(upd, []byte("\nxref\n")); got == xs {
			t.Errorf("xref stream input %v: update has an xref table = %v", xs, got)
		}
		for _, s := range []string{"/Filter /Adobe.PPKLite", "/SubFilter /ETSI.CAdES.detached", "/FT /Sig", "/SigFlags 3", "/Prev "} {
			if !bytes.Contains(upd, []byte(s)) {
				t.Errorf("update lacks %q", s)
			}
		}
	}
}

func TestSignFieldNames(t *testing.T) {
	p := newTestPKI(t)
	o := p.person.opts(pades.SubFilterCAdES, p.now)
	o.FieldName = "Lãnh đạo ký"
	pdf := sign(t, sample(t, false), o)
	pdf = sign(t, pdf, p.seal.opts(pades.SubFilterCAdES, p.now))
	pdf = sign(t, pdf, p.sealEC.opts(pades.SubFilterPKCS7, p.now))
	rep := verify(t, pdf, p.verifyOptions())
	var names []string
	for _, s := range rep.Signatures {
		names = append(names, s.Field)
	}
	if want := []string{"Lãnh đạo ký", "Signature1", "Signature2"}; !reflect.DeepEqual(names, want) || rep.Verdict != pades.VerdictValid {
		t.Errorf("fields %q verdict %s, want %q valid", names, rep.Verdict, want)
	}
}

func TestSignRejects(t *testing.T) {
	p := newTestPKI(t)
	src := sample(t, false)
	tests := map[string]pades.SignOptions{
		"no signer":          {Certificate: p.person.cert},
		"no certificate":     {Signer: p.person.key},
		"key does not match": {Signer: p.seal.key, Certificate: p.person.cert},
		"unknown subfilter":  {Signer: p.person.key, Certificate: p.person.cert, SubFilter: "adbe.pkcs7.sha1"},
	}
	for name, o := range tests {
		var out bytes.Buffer
		if err := pades.Sign(&out, bytes.NewReader(src), int64(len(src)), o); err == nil || out.Len() != 0 {
			t.Errorf("%s: err=%v, wrote %d bytes", name, err, out.Len())
		}
	}
	var out bytes.Buffer
	encrypted := bytes.Replace(src, []byte("trailer\n<< /Size"), []byte("trailer\n<< /Encrypt 4 0 R /Size"), 1)
	if err := pades.Sign(&out, bytes.NewReader(encrypted), int64(len(encrypted)), p.person.opts("", p.now)); !errors.Is(err, pades.ErrEncrypted) || out.Len() != 0 {
		t.Errorf("encrypted PDF: err=%v, wrote %d bytes", err, out.Len())
	}
	junk := []byte("%PDF-1.4\nnothing here\n")
	if err := pades.Sign(&out, bytes.NewReader(junk), int64(len(junk)), p.person.opts("", p.now)); err == nil || out.Len() != 0 {
		t.Errorf("junk PDF: err=%v, wrote %d bytes", err, out.Len())
	}
}

// TestSignRefusesUnfitCertificates: a key that cannot sign documents is
// refused before anything is written (issue 17).
func TestSignRefusesUnfitCertificates(t *testing.T) {
	p := newTestPKI(t)
	src := sample(t, false)
	tls, tlsKey, err := p.inter.Issue(pki.Request{CommonName: "hub.example.gov.vn", NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.Add(time.Hour), Usage: pki.ServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts pades.SignOptions
		want error
		msg  string
	}{
		{"expired", p.expired.opts(pades.SubFilterCAdES, p.now), keypurpose.ErrNotValidNow, "expired"},
		{"not yet valid", p.person.opts(pades.SubFilterCAdES, p.person.cert.NotBefore.Add(-time.Minute)), keypurpose.ErrNotValidNow, "valid from"},
		{"CA certificate", pades.SignOptions{Signer: p.root.Key, Certificate: p.root.Cert, Time: p.now}, keypurpose.ErrCA, "CA certificate"},
		{"key encipherment only", p.noKeyUsage.opts(pades.SubFilterCAdES, p.now), keypurpose.ErrKeyUsage, "digitalSignature"},
		{"TLS server only", pades.SignOptions{Signer: tlsKey, Certificate: tls, Time: p.now}, keypurpose.ErrExtKey, "serverAuth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := pades.Sign(&out, bytes.NewReader(src), int64(len(src)), tc.opts)
			if !errors.Is(err, pades.ErrRefused) || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "không dùng để ký văn bản") {
				t.Fatalf("Sign = %v, want %v", err, tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote %d bytes", out.Len())
			}
		})
	}
}

func TestSignFileInPlace(t *testing.T) {
	p := newTestPKI(t)
	path := writeTemp(t, "doc.pdf", sample(t, false))
	for i := 0; i < 2; i++ {
		if err := pades.SignFile(path, path, p.person.opts(pades.SubFilterCAdES, p.now)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := pades.VerifyFile(path, p.verifyOptions())
	if err != nil || rep.Verdict != pades.VerdictValid || len(rep.Signatures) != 2 {
		t.Fatalf("err=%v report=%+v", err, rep)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".pades-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := pades.SignFile(filepath.Join(t.TempDir(), "nope.pdf"), path, p.person.opts("", p.now)); err == nil {
		t.Error("SignFile of a missing file succeeded")
	}
}

// TestLargeDocumentBoundedMemory signs and verifies a 100 MB PDF and checks
// that neither holds the document in memory.
func TestLargeDocumentBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	p := newTestPKI(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "big.pdf"), filepath.Join(dir, "big-signed.pdf")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := samplepdf.Write(f, samplepdf.Options{Title: "Big", PadBytes: 100 << 20, XRefStream: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := pades.SignFile(in, out, p.seal.opts(pades.SubFilterCAdES, p.now)); err != nil {
		t.Fatal(err)
	}
	if err := pades.SignFile(out, out, p.person.opts(pades.SubFilterCAdES, p.now)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	const limit = 16 << 20
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
		t.Errorf("signing 100 MB twice (each verifying first) allocated %d MB, want < %d MB", alloc>>20, limit>>20)
	} else {
		t.Logf("allocated %.1f MB in total for two signatures of 100 MB", float64(alloc)/(1<<20))
	}

	// Verification alone: the peak of live heap, sampled while it runs,
	// stays under 64 MB (the issue's bound).
	runtime.GC()
	runtime.ReadMemStats(&before)
	peak := peakHeap(t, func() {
		rep, err := pades.VerifyFile(out, p.verifyOptions())
		if err != nil || rep.Verdict != pades.VerdictValid {
			t.Errorf("err=%v verdict=%s %+v", err, rep.Verdict, rep.Signatures)
		}
	})
	runtime.ReadMemStats(&after)
	const heapLimit = 64 << 20
	if peak > heapLimit {
		t.Errorf("verifying 100 MB: peak heap %d MB, want < %d MB", peak>>20, heapLimit>>20)
	}
	t.Logf("verifying 100 MB: peak heap %.1f MB, %.1f MB allocated", float64(peak)/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
}

// peakHeap runs f and returns the largest heap in use (live and not yet
// collected objects) seen while it ran, sampled every millisecond, and
// read once more at the end.
func peakHeap(t *testing.T, f func()) uint64 {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		peak := read()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				result <- max(peak, read())
				return
			case <-tick.C:
				peak = max(peak, read())
			}
		}
	}()
	f()
	close(done)
	return <-result
}

// copySignature appends a revision with a new signature field whose value
// copies the existing signature's /ByteRange and /Contents.
func copySignature(t *testing.T, pdf []byte) []byte {
	t.Helper()
	br := regexp.MustCompile(`/ByteRange \[[^\]]*\]`).Find(pdf)
	contents := regexp.MustCompile(`/Contents <[0-9a-fA-F]+>`).Find(pdf)
	m := regexp.MustCompile(`/M <[0-9a-fA-F]+>`).Find(pdf)
	acro := regexp.MustCompile(`/AcroForm (\d+) 0 R`).FindSubmatch(pdf)
	field := regexp.MustCompile(`(\d+) 0 obj\n<</Type /Annot/Subtype /Widget/FT /Sig`).FindSubmatch(pdf)
	if br == nil || contents == nil || m == nil || acro == nil || field == nil {
		t.Fatal("copySignature: signature not found")
	}
	return appendUpdate(t, pdf, map[int]string{
		50:                           "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached " + string(br) + " " + string(contents) + " " + string(m) + " >>",
		51:                           "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Copy) /V 50 0 R /F 132 /Rect [0 0 0 0] /P 5 0 R >>",
		mustAtoi(t, string(acro[1])): "<< /Fields [" + string(field[1]) + " 0 R 51 0 R] /SigFlags 3 >>",
	})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
