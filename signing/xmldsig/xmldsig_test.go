package xmldsig_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/xmldsig"
	"github.com/lienthong/lienthong/signing/xmldsig/xmldsigtest"
)

type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	root *x509.CertPool
}

// testKey is made once: RSA key generation is slow on a shared machine.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func newSigner(t *testing.T) signer {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Văn thư UBND xã"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return signer{key: key, cert: cert, root: pool}
}

const (
	rsaSHA256 = xmldsigtest.RSASHA256
	rsaSHA1   = xmldsigtest.RSASHA1
	sha256URI = xmldsigtest.SHA256
	sha1URI   = xmldsigtest.SHA1
)

// sign puts an enveloped signature where doc has <!--SIG-->; c14n is
// the method named in the signature (the document must render the same
// under it as under Exclusive C14N).
func (s signer) sign(t *testing.T, doc, sigAlg, digestAlg, c14n string, h crypto.Hash) string {
	t.Helper()
	return xmldsigtest.Sign(t, doc, s.key, s.cert, sigAlg, digestAlg, c14n, h)
}

// pkg is an edXML-like package with what canonicalization must get
// right: a default namespace, prefixes, an unused declaration, a
// redundant one, attributes out of order, entities, CDATA, Vietnamese
// text, an attachment after the envelope. (No URI is bound to two
// prefixes: Python's C14N 2.0 would rewrite one of them.)
const pkg = `<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:unused="urn:unused">
  <edXML:edXMLEnvelope>
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.31.H53</edXML:OrganId></edXML:From>
        <edXML:Subject>V/v kết nối &amp; liên thông &lt;thử&gt; <![CDATA[a < b]]></edXML:Subject>
      </edXML:MessageHeader>
      <!--SIG-->
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0" z="2" a="1"/></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded><Attachment><ContentId>cid:1</ContentId><edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">JVBERi0xLjQK</edXML:ContentTransferEncoded></Attachment></AttachmentEncoded>
  <Extra xmlns="urn:extra"><Item n="&#9;x"/></Extra>
</edXML:edXML>
`

func opener(doc string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(doc)), nil }
}

func TestVerifyValid(t *testing.T) {
	s := newSigner(t)
	for _, tc := range []struct{ name, c14n string }{
		{"exclusive", xmldsig.ExcC14N10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := s.sign(t, pkg, rsaSHA256, sha256URI, tc.c14n, crypto.SHA256)
			res, err := xmldsig.Verify(opener(doc), xmldsig.Options{Roots: s.root})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !res.Present || !res.Valid || !res.Trusted || res.Signer != "Văn thư UBND xã" ||
				res.SignatureMethod != "rsa-sha256" || res.DigestMethod != "sha256" || len(res.Problems) != 0 {
				t.Fatalf("result = %+v", res)
			}
			// Not trusted without the root, still valid.
			res, err = xmldsig.Verify(opener(doc), xmldsig.Options{Roots: x509.NewCertPool()})
			if err != nil || !res.Valid || res.Trusted || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "signer not trusted") {
				t.Fatalf("untrusted: %+v, %v", res, err)
			}
		})
	}
}

// TestVerifyInclusive checks C14N 1.0 on a document where it renders as
// Exclusive C14N does (every namespace declared where it is used), so
// that the independent canonicalizer can make the signature.
func TestVerifyInclusive(t *testing.T) {
	s := newSigner(t)
	doc := `<r a="1"><e:x xmlns:e="urn:e" e:b="2">t</e:x><!--SIG--></r>`
	signed := s.sign(t, doc, rsaSHA256, sha256URI, xmldsig.C14N10, crypto.SHA256)
	res, err := xmldsig.Verify(opener(signed), xmldsig.Options{})
	if err != nil || !res.Valid {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
}

func TestVerifyRefusals(t *testing.T) {
	s := newSigner(t)
	good := s.sign(t, pkg, rsaSHA256, sha256URI, xmldsig.ExcC14N10, crypto.SHA256)
	legacy := s.sign(t, pkg, rsaSHA1, sha1URI, xmldsig.ExcC14N10, crypto.SHA1)
	for _, tc := range []struct {
		name string
		doc  string
		opts xmldsig.Options
		kind lienthong.Kind
		want string
	}{
		{"tampered text", strings.Replace(good, "kết nối", "kết  nối", 1), xmldsig.Options{}, lienthong.KindInvalid, "package digest mismatch"},
		{"tampered attachment", strings.Replace(good, "JVBERi0xLjQK", "JVBERi0xLjUK", 1), xmldsig.Options{}, lienthong.KindInvalid, "package digest mismatch"},
		{"tampered signature value", strings.Replace(good, "<ds:SignatureValue>\n", "<ds:SignatureValue>\nAAAA", 1), xmldsig.Options{}, lienthong.KindInvalid, "signature value invalid"},
		{"sha1 refused", legacy, xmldsig.Options{}, lienthong.KindFailedPrecondition, "--gateway-allow-sha1"},
		{"dtd", `<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>`, xmldsig.Options{}, lienthong.KindInvalid, "DTD not allowed"},
		{"malformed", `<r><a></r>`, xmldsig.Options{}, lienthong.KindInvalid, "malformed XML"},
		{"too deep", strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300), xmldsig.Options{}, lienthong.KindInvalid, "nesting too deep"},
		{"two references", strings.Replace(good, "</ds:Reference>", `</ds:Reference><ds:Reference URI="#x"/>`, 1), xmldsig.Options{}, lienthong.KindInvalid, "one enveloped reference expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := xmldsig.Verify(opener(tc.doc), tc.opts)
			if err == nil {
				t.Fatalf("Verify accepted: %+v", res)
			}
			if k := lienthong.ErrorKind(err); k != tc.kind || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v (kind %d), want kind %d containing %q", err, k, tc.kind, tc.want)
			}
		})
	}
	// The legacy flag accepts SHA-1.
	res, err := xmldsig.Verify(opener(legacy), xmldsig.Options{AllowSHA1: true})
	if err != nil || !res.Valid || res.SignatureMethod != "rsa-sha1" {
		t.Fatalf("legacy with AllowSHA1 = %+v, %v", res, err)
	}
}

func TestVerifyUnsigned(t *testing.T) {
	unsigned := strings.Replace(pkg, "<!--SIG-->", "", 1)
	// The national SDK's sample starts with stray text before the XML
	// declaration; outside the document element it is no part of it.
	for _, doc := range []string{unsigned, "1212" + unsigned} {
		res, err := xmldsig.Verify(opener(doc), xmldsig.Options{})
		if err != nil || res.Present || res.Valid {
			t.Fatalf("unsigned %.10q… = %+v, %v", doc, res, err)
		}
	}
}

// TestNationalSampleQuirk: the national axis sample's Signature has no
// xmlns and sits in the edXML default namespace; it is still found, and
// the quirk named.
func TestNationalSampleQuirk(t *testing.T) {
	s := newSigner(t)
	signed := s.sign(t, pkg, rsaSHA256, sha256URI, xmldsig.ExcC14N10, crypto.SHA256)
	// Rewrite the signature into the default namespace: the signed
	// bytes change, so the signature no longer verifies, but it is
	// recognised as one (and refused as broken, not ignored).
	quirky := strings.NewReplacer("<ds:", "<", "</ds:", "</", ` xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, "").Replace(signed)
	_, err := xmldsig.Verify(opener(quirky), xmldsig.Options{})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("signature value invalid")) {
		t.Fatalf("quirky signature: %v", err)
	}
}

// TestVerifyLongText: text longer than the pieces the reader hands on,
// with line ends and character references across their boundaries, as
// .NET builds write base64 (&#13; before each newline, CRLF on disk).
func TestVerifyLongText(t *testing.T) {
	s := newSigner(t)
	var b strings.Builder
	for i := 0; b.Len() < 300<<10; i++ {
		b.WriteString("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4")
		switch i % 3 {
		case 0:
			b.WriteString("&#13;\r\n")
		case 1:
			b.WriteString("\r\n")
		default:
			b.WriteString("&amp;&lt;\n")
		}
	}
	doc := strings.Replace(pkg, "JVBERi0xLjQK", b.String(), 1)
	signed := s.sign(t, doc, rsaSHA256, sha256URI, xmldsig.ExcC14N10, crypto.SHA256)
	res, err := xmldsig.Verify(opener(signed), xmldsig.Options{})
	if err != nil || !res.Valid {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	tampered := strings.Replace(signed, "&#13;\r\n", "\r\n", 1)
	if _, err := xmldsig.Verify(opener(tampered), xmldsig.Options{}); err == nil || !strings.Contains(err.Error(), "package digest mismatch") {
		t.Fatalf("tampered line end: %v", err)
	}
}
