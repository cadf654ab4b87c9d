// Package pki issues X.509 certificates and CRLs for a development or test
// public-key infrastructure: a root CA, the hub's certificate, one
// certificate per agency, and the odd expired or revoked one a test needs.
//
// Production deployments get their certificates from the national CA
// (Ban Cơ yếu Chính phủ) instead; nothing else in lienthong depends on this
// package, which is why it only issues and never verifies.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Usage says what an issued certificate is for; values combine with |.
type Usage uint

// Usages an issued certificate may carry.
const (
	// ServerAuth: a TLS server (the hub).
	ServerAuth Usage = 1 << iota
	// ClientAuth: a TLS client (an agency node).
	ClientAuth
	// DocumentSigning: digitalSignature and nonRepudiation, for PDF,
	// envelope and receipt signatures.
	DocumentSigning
	// CA: may issue certificates and CRLs.
	CA
	// TimeStamping: a time-stamping authority's signing certificate, with
	// the critical id-kp-timeStamping extended key usage RFC 3161 asks for.
	// It does not combine with ServerAuth or ClientAuth.
	TimeStamping
)

// KeyType selects the algorithm of a new key.
type KeyType int

// Key types. The zero value is ECDSA P-256.
const (
	ECDSAP256 KeyType = iota
	RSA2048
)

// Request describes a certificate to issue.
type Request struct {
	CommonName   string
	Organization string
	// SerialNumber is put in the subject's serialNumber attribute; agency
	// certificates carry the agency code there as well as in CommonName.
	SerialNumber string
	DNSNames     []string
	IPAddresses  []net.IP
	NotBefore    time.Time
	NotAfter     time.Time
	Usage        Usage
	KeyType      KeyType
	// ExtKeyUsage is added to the extended key usages Usage implies (e.g.
	// OCSPSigning for a delegated OCSP responder).
	ExtKeyUsage []x509.ExtKeyUsage
	// OCSPServer and CRLDistributionPoints are the URLs the certificate
	// names for revocation information.
	OCSPServer            []string
	CRLDistributionPoints []string
}

// Authority is a certificate authority: a certificate and its key.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewKey generates a private key of the given type.
func NewKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("pki: unknown key type %d", kt)
	}
}

// NewRoot creates a self-signed root CA.
func NewRoot(req Request) (*Authority, error) {
	key, err := NewKey(req.KeyType)
	if err != nil {
		return nil, fmt.Errorf("generating root key: %w", err)
	}
	req.Usage |= CA
	tmpl, err := template(req, key.Public())
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating root certificate %q: %w", req.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing root certificate: %w", err)
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// Issue creates a new key and a certificate for it signed by a.
func (a *Authority) Issue(req Request) (*x509.Certificate, crypto.Signer, error) {
	key, err := NewKey(req.KeyType)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key for %q: %w", req.CommonName, err)
	}
	cert, err := a.IssueFor(req, key.Public())
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// IssueFor signs a certificate for an existing public key, e.g. one that
// lives in a hardware token.
func (a *Authority) IssueFor(req Request, pub crypto.PublicKey) (*x509.Certificate, error) {
	tmpl, err := template(req, pub)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, pub, a.Key)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate %q: %w", req.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing issued certificate: %w", err)
	}
	return cert, nil
}

// NewIntermediate issues a subordinate CA.
func (a *Authority) NewIntermediate(req Request) (*Authority, error) {
	req.Usage |= CA
	cert, key, err := a.Issue(req)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// CRL returns a DER certificate revocation list naming the given
// certificates as revoked at revokedAt.
func (a *Authority) CRL(revoked []*x509.Certificate, revokedAt, thisUpdate, nextUpdate time.Time, number int64) ([]byte, error) {
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, c := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: revokedAt})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(number),
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
	}, a.Cert, a.Key)
	if err != nil {
		return nil, fmt.Errorf("creating CRL: %w", err)
	}
	return der, nil
}

func template(req Request, pub crypto.PublicKey) (*x509.Certificate, error) {
	if req.CommonName == "" {
		return nil, errors.New("pki: certificate request without a common name")
	}
	if req.NotBefore.IsZero() || !req.NotAfter.After(req.NotBefore) {
		return nil, fmt.Errorf("pki: certificate %q: validity %v..%v is empty", req.CommonName, req.NotBefore, req.NotAfter)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: encoding public key: %w", err)
	}
	skid := sha256.Sum256(pubDER)
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   req.CommonName,
			SerialNumber: req.SerialNumber,
			Country:      []string{"VN"},
		},
		NotBefore:    req.NotBefore,
		NotAfter:     req.NotAfter,
		DNSNames:     req.DNSNames,
		IPAddresses:  req.IPAddresses,
		SubjectKeyId: skid[:20],
	}
	if req.Organization != "" {
		t.Subject.Organization = []string{req.Organization}
	}
	if req.Usage&CA != 0 {
		t.IsCA = true
		t.BasicConstraintsValid = true
		t.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	} else {
		t.BasicConstraintsValid = true
	}
	if req.Usage&(ServerAuth|ClientAuth) != 0 {
		t.KeyUsage |= x509.KeyUsageDigitalSignature
		if _, isRSA := pub.(*rsa.PublicKey); isRSA {
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
	}
	if req.Usage&ServerAuth != 0 {
		t.ExtKeyUsage = append(t.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if req.Usage&ClientAuth != 0 {
		t.ExtKeyUsage = append(t.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	t.ExtKeyUsage = append(t.ExtKeyUsage, req.ExtKeyUsage...)
	t.OCSPServer, t.CRLDistributionPoints = req.OCSPServer, req.CRLDistributionPoints
	if req.Usage&DocumentSigning != 0 {
		t.KeyUsage |= x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		if len(t.ExtKeyUsage) > 0 {
			// Keep document signing allowed for verifiers that check EKU.
			t.ExtKeyUsage = append(t.ExtKeyUsage, x509.ExtKeyUsageEmailProtection)
		}
	}
	if req.Usage&TimeStamping != 0 {
		if req.Usage&(ServerAuth|ClientAuth) != 0 {
			return nil, fmt.Errorf("pki: certificate %q: time stamping does not combine with TLS usages", req.CommonName)
		}
		// x509.CreateCertificate marks extended key usage non-critical;
		// the extension is written by hand to mark it critical.
		eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
		if err != nil {
			return nil, fmt.Errorf("pki: encoding extended key usage: %w", err)
		}
		t.KeyUsage |= x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		t.ExtKeyUsage = nil
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku})
	}
	return t, nil
}

// CertPEM encodes certificates as PEM.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a private key as PKCS#8 PEM.
func KeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CRLPEM encodes a DER CRL as PEM.
func CRLPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// WriteFile writes data to path atomically (temporary file, fsync, rename),
// creating parent directories. Keys are written with mode 0600.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// LoadCertificates reads every CERTIFICATE block of a PEM file.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading certificates: %w", err)
	}
	return ParseCertificatesPEM(data, path)
}

// ParseCertificatesPEM parses every CERTIFICATE block in data; source names
// the data in errors.
func ParseCertificatesPEM(data []byte, source string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate in %s: %w", source, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no PEM certificate in %s", source)
	}
	return certs, nil
}

// LoadKey reads a PEM private key (PKCS#8, PKCS#1 or SEC 1).
func LoadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading private key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("no PEM block in %s", path)
	}
	var key any
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("%s: unsupported PEM block %q", path, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing private key %s: %w", path, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key of type %T cannot sign", path, key)
	}
	return s, nil
}
