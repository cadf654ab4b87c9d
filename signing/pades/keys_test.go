package pades_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/revocation"
)

// Issue 13 cases 9-12, one signature each, made with the test PKI: stale
// CRLs, TLS and CA keys as signers, signing-certificate attributes naming
// another certificate, unreadable signature dictionaries. TestKeyCases
// builds and checks them; with -update they join the attack corpus under
// testdata/attacks, listed in expected-keys.json with the CRLs each is
// checked with, which TestAttackCorpus checks.

const keyCorpus = "expected-keys.json"

// keyCase builds a document and the CRLs it is checked with.
type keyCase struct {
	file, caseNo, about string
	build               func(t *testing.T, p *testPKI) (doc []byte, crls [][]byte)
	verdict             pades.Verdict
	want                sigWant
}

func one(ind etsi.Indication, sub etsi.SubIndication) sigWant {
	return sigWant{Field: "Signature1", Indication: ind, SubIndication: sub}
}

// crlDER makes a CRL of a revoking nothing, valid from this to next.
func crlDER(t *testing.T, a *pki.Authority, this, next time.Time) []byte {
	t.Helper()
	der, err := a.CRL(nil, this, this, next, 7)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// issueFor issues a certificate of the intermediate CA for usage u.
func issueFor(t *testing.T, p *testPKI, cn string, u pki.Usage) identity {
	t.Helper()
	c, k, err := p.inter.Issue(pki.Request{CommonName: cn, NotBefore: p.now.Add(-24 * time.Hour), NotAfter: p.now.Add(365 * 24 * time.Hour), Usage: u})
	if err != nil {
		t.Fatal(err)
	}
	return identity{cert: c, key: k, chain: []*x509.Certificate{p.inter.Cert}}
}

// essOf is a signing-certificate-v2 reference to c with hash h.
func essOf(c *x509.Certificate, h crypto.Hash) *cms.ESSCertID {
	var sum []byte
	switch h {
	case crypto.SHA512:
		s := sha512.Sum512(c.Raw)
		sum = s[:]
	default:
		s := sha256.Sum256(c.Raw)
		sum = s[:]
	}
	return &cms.ESSCertID{Version: 2, Hash: h, CertHash: sum, Issuer: c.RawIssuer, Serial: c.SerialNumber}
}

// corruptContents overwrites the byte at offset off (counted from the
// first hex digit) of the signature's /Contents hex string.
func corruptContents(t *testing.T, doc []byte, fromEnd bool, b byte) []byte {
	t.Helper()
	i := bytes.LastIndex(doc, []byte("/Contents <"))
	if i < 0 {
		t.Fatal("no /Contents <")
	}
	start := i + len("/Contents <")
	end := start + bytes.IndexByte(doc[start:], '>')
	out := bytes.Clone(doc)
	if fromEnd {
		out[end-1] = b
	} else {
		out[start] = b
	}
	return out
}

var keyCases = []keyCase{
	{"c9-stale-crl.pdf", "9", "the signer's CA's only CRL expired 300 days ago", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		stale := crlDER(t, p.inter, p.now.Add(-400*24*time.Hour), p.now.Add(-300*24*time.Hour))
		return sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now)), [][]byte{stale}
	}, pades.VerdictIndeterminate, one(etsi.Indeterminate, etsi.TryLater)},
	{"ok-fresh-crl.pdf", "9", "control: the same signature with a current CRL", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		fresh := crlDER(t, p.inter, p.now.Add(-time.Hour), p.now.Add(7*24*time.Hour))
		return sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now)), [][]byte{fresh}
	}, pades.VerdictValid, one(etsi.TotalPassed, etsi.None)},
	{"c10-tls-client-key.pdf", "10", "signed with a TLS client certificate (EKU clientAuth only)", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		id := issueFor(t, p, "May tram TLS", pki.ClientAuth)
		return signUnchecked(t, sample(t, false), id.opts(pades.SubFilterCAdES, p.now)), nil
	}, pades.VerdictInvalid, one(etsi.TotalFailed, etsi.ChainConstraintsFailure)},
	{"c10-tls-server-key.pdf", "10", "signed with a TLS server certificate (EKU serverAuth only)", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		id := issueFor(t, p, "may-chu.example.vn", pki.ServerAuth)
		return signUnchecked(t, sample(t, false), id.opts(pades.SubFilterPKCS7, p.now)), nil
	}, pades.VerdictInvalid, one(etsi.TotalFailed, etsi.ChainConstraintsFailure)},
	{"c10-ca-signer.pdf", "10", "signed with the intermediate CA's own key", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		id := identity{cert: p.inter.Cert, key: p.inter.Key}
		return signUnchecked(t, sample(t, false), id.opts(pades.SubFilterCAdES, p.now)), nil
	}, pades.VerdictInvalid, one(etsi.TotalFailed, etsi.ChainConstraintsFailure)},
	{"ok-agency-tls-and-signing-key.pdf", "10", "control: an agency certificate for TLS and document signing (EKU clientAuth, emailProtection)", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		id := issueFor(t, p, "000.01.31.H53", pki.ClientAuth|pki.DocumentSigning)
		return sign(t, sample(t, false), id.opts(pades.SubFilterCAdES, p.now)), nil
	}, pades.VerdictValid, one(etsi.TotalPassed, etsi.None)},
	{"c11-ess-v2-sha512-other-cert.pdf", "11", "signing-certificate-v2 with SHA-512 naming another certificate", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		o := pades.WithESS(p.person.opts(pades.SubFilterCAdES, p.now), essOf(p.personRSA.cert, crypto.SHA512))
		return signUnchecked(t, sample(t, false), o), nil
	}, pades.VerdictIndeterminate, one(etsi.Indeterminate, etsi.NoSigningCertificateFound)},
	{"c11-ess-v2-other-serial.pdf", "11", "signing-certificate-v2 with the signer's hash but another certificate's issuer and serial", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		id := essOf(p.person.cert, crypto.SHA256)
		id.Serial = p.personRSA.cert.SerialNumber
		return signUnchecked(t, sample(t, false), pades.WithESS(p.person.opts(pades.SubFilterCAdES, p.now), id)), nil
	}, pades.VerdictIndeterminate, one(etsi.Indeterminate, etsi.NoSigningCertificateFound)},
	{"ok-ess-v2-sha512.pdf", "11", "control: signing-certificate-v2 with SHA-512 naming the signer", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		o := pades.WithESS(p.person.opts(pades.SubFilterCAdES, p.now), essOf(p.person.cert, crypto.SHA512))
		return sign(t, sample(t, false), o), nil
	}, pades.VerdictValid, one(etsi.TotalPassed, etsi.None)},
	{"c12-contents-not-hex.pdf", "12", "the signature's /Contents holds a non-hex character", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		return corruptContents(t, sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now)), false, 'Z'), nil
	}, pades.VerdictInvalid, one(etsi.TotalFailed, etsi.FormatFailure)},
	{"c12-contents-nonzero-padding.pdf", "12", "a non-zero byte in the padding after the CMS DER", func(t *testing.T, p *testPKI) ([]byte, [][]byte) {
		return corruptContents(t, sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now)), true, '7'), nil
	}, pades.VerdictInvalid, one(etsi.TotalFailed, etsi.FormatFailure)},
}

func keyOptions(t *testing.T, p *testPKI, crls [][]byte) pades.VerifyOptions {
	t.Helper()
	opts := p.verifyOptions()
	opts.CRLs = nil
	for _, der := range crls {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		opts.CRLs = append(opts.CRLs, l)
	}
	return opts
}

// TestKeyCases checks issue 13 cases 9-12 and their controls; with
// -update it writes them to the corpus.
func TestKeyCases(t *testing.T) {
	p := newTestPKI(t)
	c := corpus{Now: p.verifyOptions().Now().UTC(), Roots: "keys-roots.pem"}
	for _, kc := range keyCases {
		t.Run(strings.TrimSuffix(kc.file, ".pdf"), func(t *testing.T) {
			doc, crls := kc.build(t, p)
			rep := verify(t, doc, keyOptions(t, p, crls))
			checkReport(t, rep, kc.verdict, []sigWant{kc.want})
			e := corpusEntry{File: kc.file, Case: kc.caseNo, About: kc.about, Verdict: kc.verdict, Signatures: []sigWant{kc.want}}
			for i, der := range crls {
				name := strings.TrimSuffix(kc.file, ".pdf") + strings.Repeat("-", i) + ".crl"
				e.CRLs = append(e.CRLs, name)
				if *updateCorpus {
					if err := os.WriteFile(filepath.Join(corpusDir, name), pki.CRLPEM(der), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			c.Files = append(c.Files, e)
			if *updateCorpus {
				if err := os.WriteFile(filepath.Join(corpusDir, kc.file), doc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if !*updateCorpus {
		return
	}
	if err := os.WriteFile(filepath.Join(corpusDir, c.Roots), pki.CertPEM(p.root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpusDir, keyCorpus), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationChain: with a strict checker (the hub's), the intermediate
// CA is revocation-checked like the signer, and a revocation stated by the
// CRL shows in the report with what it rests on.
func TestRevocationChain(t *testing.T) {
	p := newTestPKI(t)
	doc := sign(t, sample(t, false), p.person.opts(pades.SubFilterCAdES, p.now))
	parse := func(der []byte) *x509.RevocationList {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	interCRL := parse(crlDER(t, p.inter, p.now.Add(-time.Hour), p.now.Add(24*time.Hour)))
	rootCRL := parse(crlDER(t, p.root, p.now.Add(-time.Hour), p.now.Add(24*time.Hour)))
	revokedInter, err := p.root.CRL([]*x509.Certificate{p.inter.Cert}, p.now.Add(-2*time.Hour), p.now.Add(-time.Hour), p.now.Add(24*time.Hour), 8)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		crls     []*x509.RevocationList
		want     sigWant
		statuses string // per certificate, signer first
		problem  string
	}{
		{"both CRLs", []*x509.RevocationList{interCRL, rootCRL}, one(etsi.TotalPassed, etsi.None), "good,good", ""},
		{"no CRL of the root for the intermediate", []*x509.RevocationList{interCRL}, one(etsi.Indeterminate, etsi.TryLater), "good,unknown",
			"revocation status of CN=Test Agency Sub CA,C=VN unknown: no CRL or OCSP response from CN=Test Province Root CA,O=UBND tinh,C=VN"},
		{"intermediate revoked before the signature", []*x509.RevocationList{interCRL, parse(revokedInter)}, one(etsi.TotalFailed, etsi.Revoked), "good,revoked",
			"CA certificate CN=Test Agency Sub CA,C=VN revoked on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := p.verifyOptions()
			opts.Revocation = &revocation.Checker{CRLs: tc.crls, Now: opts.Now}
			rep := verify(t, doc, opts)
			s := rep.Signatures[0]
			checkReport(t, rep, map[etsi.Indication]pades.Verdict{etsi.TotalPassed: pades.VerdictValid, etsi.Indeterminate: pades.VerdictIndeterminate, etsi.TotalFailed: pades.VerdictInvalid}[tc.want.Indication], []sigWant{tc.want})
			var st []string
			for _, r := range s.Revocation {
				st = append(st, string(r.Status))
			}
			if strings.Join(st, ",") != tc.statuses {
				t.Errorf("revocation statuses %q, want %s", st, tc.statuses)
			}
			if tc.problem != "" && !strings.Contains(strings.Join(s.Problems, "\n"), tc.problem) {
				t.Errorf("problems %q, want one containing %q", s.Problems, tc.problem)
			}
			if s.Revocation[0].Origin != revocation.OriginTrustStore || s.Revocation[0].NextUpdate.IsZero() {
				t.Errorf("signer's revocation result does not say what it rests on: %+v", s.Revocation[0])
			}
		})
	}
}
