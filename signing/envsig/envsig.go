// Package envsig signs and verifies byte strings that are not PDFs: a
// document's serialized envelope (signed by the sending agency) and the
// hub's receipts. The signature covers the SHA-256 of the exact bytes, so
// no canonical form is needed: whoever verifies keeps the bytes as signed.
package envsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrBadSignature reports a signature that does not match the bytes and key.
var ErrBadSignature = errors.New("signature does not match")

// Sign signs the SHA-256 of data: ECDSA ASN.1 or RSA PKCS#1 v1.5. Any
// crypto.Signer works, a PKCS#11 token included.
func Sign(signer crypto.Signer, data []byte) ([]byte, error) {
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		return signer.Sign(rand.Reader, data, crypto.Hash(0))
	}
	digest := sha256.Sum256(data)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// Verify checks sig over data with the public key of cert. It checks only
// the signature: whether cert is trusted is the caller's decision.
func Verify(cert *x509.Certificate, data, sig []byte) error {
	digest := sha256.Sum256(data)
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			return ErrBadSignature
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			return ErrBadSignature
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, data, sig) {
			return ErrBadSignature
		}
	default:
		return fmt.Errorf("unsupported public key %T", pub)
	}
	return nil
}
