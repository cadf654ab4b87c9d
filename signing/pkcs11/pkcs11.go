// Package pkcs11 gives a crypto.Signer whose private key stays in a
// PKCS#11 token (a USB token of the national CA, an HSM, SoftHSM in tests),
// so pades.Sign and the envelope signatures work with a token exactly as
// with a key file. It wraps github.com/ThalesGroup/crypto11.
package pkcs11

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/ThalesGroup/crypto11"
)

// Config says which module, token and key to use.
type Config struct {
	// Module is the path of the PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token.
	TokenLabel string
	// PIN is the user PIN.
	PIN string
	// KeyLabel is the CKA_LABEL of the key pair (used by Open).
	KeyLabel string
}

// Token is a logged-in session pool on one token. It is safe for
// concurrent use; Close it when done.
type Token struct {
	ctx *crypto11.Context
}

// OpenToken loads the module and logs in to the token.
func OpenToken(cfg Config) (*Token, error) {
	if cfg.Module == "" || cfg.TokenLabel == "" {
		return nil, errors.New("pkcs11: Config needs Module and TokenLabel")
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: cfg.Module, TokenLabel: cfg.TokenLabel, Pin: cfg.PIN})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: opening token %q with %s: %w", cfg.TokenLabel, cfg.Module, err)
	}
	return &Token{ctx: ctx}, nil
}

// Signer finds the key pair labelled label.
func (t *Token) Signer(label string) (crypto.Signer, error) {
	if label == "" {
		return nil, errors.New("pkcs11: empty key label")
	}
	found, err := t.ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("pkcs11: finding key %q: %w", label, err)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: không có khóa %q trên token (key not found)", ErrNoKey, label)
	}
	return found[0], nil
}

// GenerateECDSAP256 creates an ECDSA P-256 key pair labelled label on the
// token; the private key never leaves it.
func (t *Token) GenerateECDSAP256(label string) (crypto.Signer, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	s, err := t.ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P256())
	if err != nil {
		return nil, fmt.Errorf("pkcs11: generating ECDSA key %q: %w", label, err)
	}
	return s, nil
}

// GenerateRSA creates an RSA key pair of the given size labelled label.
func (t *Token) GenerateRSA(label string, bits int) (crypto.Signer, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	s, err := t.ctx.GenerateRSAKeyPairWithLabel(id, []byte(label), bits)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: generating RSA key %q: %w", label, err)
	}
	return s, nil
}

// ImportCertificate stores cert on the token beside the key labelled
// label, with the key's CKA_ID so that software pairing keys with
// certificates (OpenSigning, a CA's enrolment tool) finds it.
func (t *Token) ImportCertificate(label string, cert *x509.Certificate) error {
	key, err := t.Signer(label)
	if err != nil {
		return err
	}
	id, err := t.ctx.GetAttribute(key, crypto11.CkaId)
	if err != nil {
		return fmt.Errorf("pkcs11: reading the id of key %q: %w", label, err)
	}
	if err := t.ctx.ImportCertificateWithLabel(id.Value, []byte(label), cert); err != nil {
		return fmt.Errorf("pkcs11: storing the certificate of %q: %w", label, err)
	}
	return nil
}

// Close logs out and releases the module.
func (t *Token) Close() error {
	if err := t.ctx.Close(); err != nil {
		return fmt.Errorf("pkcs11: %w", err)
	}
	return nil
}

// Key is a token key as a crypto.Signer that also owns its Token.
type Key struct {
	crypto.Signer
	token *Token
}

var (
	_ crypto.Signer = (*Key)(nil)
	_ io.Closer     = (*Key)(nil)
)

// Open opens the token of cfg and finds the key labelled cfg.KeyLabel:
// the one call a signing command needs. Close the Key when done.
func Open(cfg Config) (*Key, error) {
	t, err := OpenToken(cfg)
	if err != nil {
		return nil, err
	}
	s, err := t.Signer(cfg.KeyLabel)
	if err != nil {
		t.Close()
		return nil, err
	}
	return &Key{Signer: s, token: t}, nil
}

// Close closes the key's token.
func (k *Key) Close() error { return k.token.Close() }

func newID() ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("pkcs11: key id: %w", err)
	}
	return id, nil
}
