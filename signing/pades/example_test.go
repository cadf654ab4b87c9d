package pades_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

func Example() {
	// A province root and a leader's certificate (a test PKI; in
	// production these come from the national CA and a token).
	now := time.Now()
	root, _ := pki.NewRoot(pki.Request{CommonName: "Province Root CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	cert, key, _ := root.Issue(pki.Request{CommonName: "Nguyen Van An", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), Usage: pki.DocumentSigning})

	doc, _ := samplepdf.Bytes(samplepdf.Options{Title: "Cong van 123/UBND-VP"})

	// Sign: the output is the original bytes plus an incremental update.
	var signed bytes.Buffer
	err := pades.Sign(&signed, bytes.NewReader(doc), int64(len(doc)), pades.SignOptions{
		Signer:      key,
		Certificate: cert,
		SubFilter:   pades.SubFilterCAdES,
		Reason:      "Phê duyệt",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Verify against the province root only.
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	rep, err := pades.Verify(bytes.NewReader(signed.Bytes()), int64(signed.Len()), pades.VerifyOptions{Roots: roots})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Verdict)
	for _, s := range rep.Signatures {
		fmt.Println(s.Field, s.Signer, s.SubFilter, s.DigestValid, s.SignatureValid, s.ChainTrusted, s.CoversWholeDocument)
	}
	// Output:
	// valid
	// Signature1 CN=Nguyen Van An,C=VN ETSI.CAdES.detached true true true true
}
