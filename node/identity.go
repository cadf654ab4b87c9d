// Package node is the client library that agencies' tools are built on:
// it holds an agency's identity (certificate and key), signs and sends
// documents to the hub, receives and acknowledges incoming ones into a
// folder, and tracks receipts, checking every hub signature it is given.
//
// It speaks only the public API in proto/; it never imports the hub.
package node

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/pki"
)

// Identity is what a node needs to act as its agency: its certificate and
// key (a file or any crypto.Signer, e.g. a token) and the province root.
type Identity struct {
	Code   string
	Cert   *x509.Certificate
	Signer crypto.Signer
	// Roots holds the province root: it authenticates the hub's TLS
	// certificate and the hub's receipts.
	Roots *x509.CertPool
	// Now is the clock Prepare dates and checks documents by; nil means
	// time.Now.
	Now func() time.Time
}

// LoadIdentity reads cert.pem, key.pem and ca.pem from an agency directory
// made by `lthub init` (D/agencies/CODE).
func LoadIdentity(dir string) (*Identity, error) {
	certs, err := pki.LoadCertificates(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return nil, fmt.Errorf("loading agency identity from %s: %w", dir, err)
	}
	key, err := pki.LoadKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("loading agency identity from %s: %w", dir, err)
	}
	roots, err := pki.LoadCertificates(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("loading agency identity from %s: %w", dir, err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	return NewIdentity(certs[0], key, pool)
}

// NewIdentity builds an identity; the agency code is the certificate's
// common name.
func NewIdentity(cert *x509.Certificate, signer crypto.Signer, roots *x509.CertPool) (*Identity, error) {
	if _, err := lienthong.ParseCode(cert.Subject.CommonName); err != nil {
		return nil, fmt.Errorf("certificate %q does not name an agency: %w", cert.Subject.CommonName, err)
	}
	return &Identity{Code: cert.Subject.CommonName, Cert: cert, Signer: signer, Roots: roots}, nil
}

// tlsConfig returns the client TLS configuration for this identity.
func (id *Identity) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{id.Cert.Raw}, PrivateKey: id.Signer, Leaf: id.Cert}},
		RootCAs:      id.Roots,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}
}
