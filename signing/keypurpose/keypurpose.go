// Package keypurpose decides whether a certificate may sign documents: it
// must be an end-entity certificate (not a CA), its key usage, if stated,
// must include digitalSignature or nonRepudiation, and its extended key
// usage, if stated, must allow document signing. A TLS key (EKU
// serverAuth or clientAuth alone) therefore cannot sign a document, and
// neither can a CA's key.
package keypurpose

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Extended key usages, beyond Go's named ones, that allow signing
// documents.
var (
	// OIDDocumentSigning is id-kp-documentSigning (RFC 9336).
	OIDDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	// OIDAdobeAuthenticDocuments is Adobe's Authentic Documents Trust EKU.
	OIDAdobeAuthenticDocuments = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 5}
	// OIDMicrosoftDocumentSigning is Microsoft's szOID_KP_DOCUMENT_SIGNING.
	OIDMicrosoftDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 12}
)

// Errors CheckSigner wraps, so callers can tell the cases apart.
var (
	ErrCA       = errors.New("a CA certificate cannot sign documents")
	ErrKeyUsage = errors.New("key usage does not allow signing (needs digitalSignature or nonRepudiation)")
	ErrExtKey   = errors.New("extended key usage does not allow signing documents")
	// ErrNotValidNow: signing outside the certificate's validity period.
	ErrNotValidNow = errors.New("the certificate is not valid at the signing time")
	// ErrWeakKey: Vietnam's signature rules ask for RSA of at least 2048
	// bits or ECDSA of at least 256 bits.
	ErrWeakKey = errors.New("the key is too weak (needs RSA >= 2048 or ECDSA >= 256 bits)")
)

// CheckForSigning returns nil if cert may make a new document signature at
// time at: CheckSigner's rules, the validity period, and the key strength
// the 2025 circular under Decree 23/2025 asks for. Verification does not
// use it: an old signature is judged at its proven time, not now.
func CheckForSigning(cert *x509.Certificate, at time.Time) error {
	if err := CheckSigner(cert); err != nil {
		return err
	}
	switch {
	case at.Before(cert.NotBefore):
		return fmt.Errorf("%s: %w (valid from %s)", cert.Subject.CommonName, ErrNotValidNow, cert.NotBefore.UTC().Format(time.RFC3339))
	case at.After(cert.NotAfter):
		return fmt.Errorf("%s: %w (expired %s)", cert.Subject.CommonName, ErrNotValidNow, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%s: %w (RSA %d)", cert.Subject.CommonName, ErrWeakKey, k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return fmt.Errorf("%s: %w (ECDSA %d)", cert.Subject.CommonName, ErrWeakKey, k.Curve.Params().BitSize)
		}
	}
	return nil
}

// CheckSigner returns nil if cert may sign documents, else an error
// wrapping ErrCA, ErrKeyUsage or ErrExtKey.
func CheckSigner(cert *x509.Certificate) error {
	if cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign != 0 {
		return fmt.Errorf("%s: %w", cert.Subject.CommonName, ErrCA)
	}
	if ku := cert.KeyUsage; ku != 0 && ku&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return fmt.Errorf("%s: %w", cert.Subject.CommonName, ErrKeyUsage)
	}
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return nil
	}
	if slices.ContainsFunc(cert.ExtKeyUsage, func(u x509.ExtKeyUsage) bool {
		return u == x509.ExtKeyUsageAny || u == x509.ExtKeyUsageEmailProtection
	}) {
		return nil
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		if oid.Equal(OIDDocumentSigning) || oid.Equal(OIDAdobeAuthenticDocuments) || oid.Equal(OIDMicrosoftDocumentSigning) {
			return nil
		}
	}
	return fmt.Errorf("%s: %w (%s)", cert.Subject.CommonName, ErrExtKey, describe(cert))
}

// describe names the extended key usages cert states.
func describe(cert *x509.Certificate) string {
	names := map[x509.ExtKeyUsage]string{
		x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth",
		x509.ExtKeyUsageCodeSigning: "codeSigning", x509.ExtKeyUsageTimeStamping: "timeStamping",
		x509.ExtKeyUsageOCSPSigning: "OCSPSigning",
	}
	var out []string
	for _, u := range cert.ExtKeyUsage {
		if n, ok := names[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprint(int(u)))
		}
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return "EKU " + strings.Join(out, ", ")
}
