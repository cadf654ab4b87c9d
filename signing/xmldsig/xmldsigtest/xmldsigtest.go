// Package xmldsigtest signs XML documents with an enveloped XMLDSig
// signature for tests, canonicalizing with Python's ElementTree (C14N
// 2.0, which renders namespaces as Exclusive C14N 1.0 does): an
// implementation independent of package xmldsig, so that a signature the
// verifier accepts is not merely one it agrees with itself about.
//
// Documents must not bind one namespace URI to two prefixes (C14N 2.0
// would rewrite one of them).
package xmldsigtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Algorithm URIs.
const (
	RSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	SHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
	SHA1      = "http://www.w3.org/2000/09/xmldsig#sha1"
	ExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

// Placeholder marks where Sign puts the Signature element.
const Placeholder = "<!--SIG-->"

// Canonicalize canonicalizes doc with Python; the test skips when
// python3 is missing (fails under CI=true).
func Canonicalize(t testing.TB, doc string) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 not found")
		}
		t.Skip("python3 not found: install the Debian package python3")
	}
	cmd := exec.Command(py, "-c", "import sys, xml.etree.ElementTree as ET; sys.stdout.buffer.write(ET.canonicalize(sys.stdin.buffer.read().decode('utf-8')).encode('utf-8'))")
	cmd.Stdin = strings.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python canonicalize: %v", err)
	}
	return out
}

// Sign replaces Placeholder in doc with an enveloped signature by key
// (whose certificate cert goes in KeyInfo) over the whole document,
// with the given signature and digest methods. c14n is the method the
// signature names (ExcC14N, or inclusive C14N for a document that
// renders the same under both); the canonicalization done is Python's.
func Sign(t testing.TB, doc string, key *rsa.PrivateKey, cert *x509.Certificate, sigAlg, digestAlg, c14n string, h crypto.Hash) string {
	t.Helper()
	if !strings.Contains(doc, Placeholder) {
		t.Fatalf("document has no %s", Placeholder)
	}
	without := strings.Replace(doc, Placeholder, "", 1)
	dh := h.New()
	dh.Write(Canonicalize(t, without))
	signedInfo := `<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` +
		`<ds:CanonicalizationMethod Algorithm="` + c14n + `"/>` +
		`<ds:SignatureMethod Algorithm="` + sigAlg + `"/>` +
		`<ds:Reference URI=""><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="` + c14n + `"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="` + digestAlg + `"/>` +
		`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(dh.Sum(nil)) + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`
	sh := h.New()
	sh.Write(Canonicalize(t, signedInfo))
	value, err := rsa.SignPKCS1v15(rand.Reader, key, h, sh.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	// SignedInfo as written declares ds itself; inside Signature the
	// declaration is redundant and canonicalization drops it either way.
	sig := `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + signedInfo +
		"<ds:SignatureValue>\n" + base64.StdEncoding.EncodeToString(value) + "\n</ds:SignatureValue>" +
		"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>" + base64.StdEncoding.EncodeToString(cert.Raw) +
		"</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
	return strings.Replace(doc, Placeholder, sig, 1)
}
