// Package tsp reads, verifies and requests RFC 3161 time-stamp tokens:
// a time-stamping authority's (TSA's) signed statement that a digest
// existed at its genTime. A signature timestamp over a PDF signature's
// value, or a document timestamp over a PDF's bytes, is the proof of
// existence (EN 319 102-1, 5.6.2.2) that lets a verifier judge the signer's
// certificate at that time rather than at the time the signer claims.
//
// A token is trusted when its CMS signature verifies, the signing
// certificate attribute names the TSA's certificate, that certificate
// carries the extended key usage id-kp-timeStamping, marked critical and
// alone (RFC 3161, 2.3), and it chains to one of the configured TSA roots
// at genTime. Whether the token covers the right data is a separate check
// (CheckDigest), because the caller knows what was time-stamped.
package tsp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
)

// Errors a token check wraps, so that a verifier can map them to EN 319
// 102-1 sub-indications.
var (
	// ErrFormat: the token is not a well-formed RFC 3161 token.
	ErrFormat = errors.New("malformed time-stamp token")
	// ErrImprint: the token's messageImprint is not the digest of the
	// data it is said to cover.
	ErrImprint = errors.New("time-stamp token covers other data")
	// ErrSignature: the token's CMS signature does not verify, or its
	// signing certificate attribute names another certificate.
	ErrSignature = errors.New("time-stamp token signature does not verify")
	// ErrKeyPurpose: the TSA certificate is not for time stamping.
	ErrKeyPurpose = errors.New("TSA certificate is not for time stamping")
	// ErrUntrusted: the TSA certificate does not chain to a TSA root.
	ErrUntrusted = errors.New("TSA is not trusted")
	// ErrUnsupported: an algorithm the package does not implement.
	ErrUnsupported = errors.New("unsupported algorithm")
)

// Object identifiers of RFC 3161 and RFC 5652.
var (
	OIDSignedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// MessageImprint is RFC 3161's hash of the time-stamped data.
type MessageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// Accuracy is RFC 3161's bound on genTime's error.
type Accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// TSTInfo is the signed content of a time-stamp token (RFC 3161, 2.4.2).
type TSTInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint MessageImprint
	SerialNumber   *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       Accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

// Token is a parsed time-stamp token. Parse checks its structure only;
// Verify checks the signature and the TSA.
type Token struct {
	// Raw is the token's DER (a CMS ContentInfo).
	Raw []byte
	// GenTime is when the TSA says the digest existed.
	GenTime time.Time
	// Accuracy is the TSA's bound on GenTime's error (zero if unstated).
	Accuracy time.Duration
	// Policy is the TSA policy the token was issued under.
	Policy asn1.ObjectIdentifier
	// SerialNumber is the TSA's serial number for the token.
	SerialNumber *big.Int
	// Nonce is the requester's nonce, nil if none.
	Nonce *big.Int
	// Hash and HashedMessage are the messageImprint.
	Hash          crypto.Hash
	HashedMessage []byte
	// TSAName is the TSA's name: the tsa field if it is a directory name,
	// else the signing certificate's subject; empty before Verify when the
	// token names none.
	TSAName string
	// Certificate is the TSA's signing certificate, nil if the token does
	// not carry it.
	Certificate *x509.Certificate
	// Certificates are all certificates the token carries.
	Certificates []*x509.Certificate

	sd *cms.SignedData
}

// Parse reads a time-stamp token (a CMS ContentInfo holding SignedData
// whose content is a TSTInfo), BER or DER; bytes after it (the zero
// padding of a PDF's /Contents) are ignored. Raw is the token's DER.
func Parse(der []byte) (*Token, error) {
	raw, err := cms.BERToDER(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	sd, err := cms.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if !sd.EContentType.Equal(OIDTSTInfo) || sd.EContent == nil {
		return nil, fmt.Errorf("%w: content type %v is not TSTInfo", ErrFormat, sd.EContentType)
	}
	t := &Token{Raw: raw, sd: sd, Certificates: sd.Certs, Certificate: sd.Signer}
	var info TSTInfo
	if rest, err := asn1.Unmarshal(sd.EContent, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: TSTInfo: %v", ErrFormat, err)
	}
	if info.Version != 1 || info.SerialNumber == nil {
		return nil, fmt.Errorf("%w: TSTInfo version %d", ErrFormat, info.Version)
	}
	t.GenTime = info.GenTime.UTC()
	t.Accuracy = time.Duration(info.Accuracy.Seconds)*time.Second + time.Duration(info.Accuracy.Millis)*time.Millisecond + time.Duration(info.Accuracy.Micros)*time.Microsecond
	t.Policy = info.Policy
	t.SerialNumber = info.SerialNumber
	t.Nonce = info.Nonce
	if t.Hash, err = cms.HashForOID(info.MessageImprint.HashAlgorithm.Algorithm); err != nil {
		return nil, fmt.Errorf("%w: messageImprint: %v", ErrUnsupported, err)
	}
	t.HashedMessage = info.MessageImprint.HashedMessage
	if len(t.HashedMessage) != t.Hash.Size() {
		return nil, fmt.Errorf("%w: messageImprint of %d bytes for %v", ErrFormat, len(t.HashedMessage), t.Hash)
	}
	if len(info.TSA.Bytes) > 0 {
		var gn asn1.RawValue
		if _, err := asn1.Unmarshal(info.TSA.Bytes, &gn); err == nil && gn.Class == asn1.ClassContextSpecific && gn.Tag == 4 {
			var rdn pkix.RDNSequence
			if _, err := asn1.Unmarshal(gn.Bytes, &rdn); err == nil {
				var n pkix.Name
				n.FillFromRDNSequence(&rdn)
				t.TSAName = n.String()
			}
		}
	}
	if t.TSAName == "" && t.Certificate != nil {
		t.TSAName = t.Certificate.Subject.String()
	}
	return t, nil
}

// VerifyOptions says which TSAs are trusted.
type VerifyOptions struct {
	// Roots are the TSA trust anchors; nil trusts no TSA.
	Roots *x509.CertPool
	// Intermediates are extra CA certificates for building the chain,
	// besides those the token carries.
	Intermediates []*x509.Certificate
	// Certificates are candidates for the TSA certificate when the token
	// does not carry it (e.g. from a PDF's DSS).
	Certificates []*x509.Certificate
}

// Verify checks the token's signature, its signing certificate attribute,
// the TSA certificate's key purpose and its chain to opts.Roots at
// GenTime. It returns the chain, TSA certificate first. Errors wrap
// ErrSignature, ErrKeyPurpose or ErrUntrusted.
func (t *Token) Verify(opts VerifyOptions) ([]*x509.Certificate, error) {
	sd := t.sd
	if t.Certificate == nil {
		t.Certificate = sd.SignerAmong(opts.Certificates)
		if t.Certificate == nil {
			return nil, fmt.Errorf("%w: the TSA certificate is not in the token", ErrUntrusted)
		}
		sd.Signer = t.Certificate
		if t.TSAName == "" {
			t.TSAName = t.Certificate.Subject.String()
		}
	}
	cert := t.Certificate
	if sd.DigestHash == crypto.SHA1 || t.Hash == crypto.SHA1 {
		return nil, fmt.Errorf("%w: SHA-1 is no longer accepted", ErrSignature)
	}
	if sd.SignedAttrs == nil || !sd.ContentType.Equal(OIDTSTInfo) {
		return nil, fmt.Errorf("%w: signed content type %v is not TSTInfo", ErrSignature, sd.ContentType)
	}
	h := sd.DigestHash.New()
	h.Write(sd.EContent)
	if !bytes.Equal(h.Sum(nil), sd.MessageDigest) {
		return nil, fmt.Errorf("%w: message digest of the TSTInfo differs", ErrSignature)
	}
	h = sd.DigestHash.New()
	h.Write(sd.SignedAttrs)
	if err := sd.VerifySignature(h.Sum(nil), sd.DigestHash); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	// RFC 3161 2.4.1: the signing certificate attribute binds the TSA's
	// certificate to the token, so a second certificate for the same key
	// cannot be substituted.
	if !sd.HasESS() {
		return nil, fmt.Errorf("%w: no signing certificate attribute", ErrSignature)
	}
	if err := sd.CheckESS(cert); errors.Is(err, cms.ErrUnsupportedAlgorithm) {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	} else if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if err := CheckKeyPurpose(cert); err != nil {
		return nil, err
	}
	if opts.Roots == nil {
		return nil, fmt.Errorf("%w: no TSA roots configured", ErrUntrusted)
	}
	inter := x509.NewCertPool()
	for _, c := range append(append([]*x509.Certificate(nil), t.Certificates...), opts.Intermediates...) {
		if c != cert {
			inter.AddCert(c)
		}
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   t.GenTime,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUntrusted, cert.Subject.String(), err)
	}
	return chains[0], nil
}

// CheckKeyPurpose requires what RFC 3161 2.3 requires of a TSA
// certificate: an extended key usage extension, marked critical, holding
// id-kp-timeStamping only.
func CheckKeyPurpose(cert *x509.Certificate) error {
	for _, e := range cert.Extensions {
		if !e.Id.Equal(oidExtKeyUsage) {
			continue
		}
		if !e.Critical {
			return fmt.Errorf("%w: %s: extended key usage is not critical", ErrKeyPurpose, cert.Subject.String())
		}
		if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(cert.UnknownExtKeyUsage) > 0 {
			return fmt.Errorf("%w: %s: extended key usage is not id-kp-timeStamping alone", ErrKeyPurpose, cert.Subject.String())
		}
		return nil
	}
	return fmt.Errorf("%w: %s: no extended key usage", ErrKeyPurpose, cert.Subject.String())
}

// CheckDigest reports (wrapping ErrImprint) whether the token's
// messageImprint differs from digest, computed with h.
func (t *Token) CheckDigest(h crypto.Hash, digest []byte) error {
	if h != t.Hash || !bytes.Equal(digest, t.HashedMessage) {
		return ErrImprint
	}
	return nil
}

// CheckData reports (wrapping ErrImprint) whether the token's
// messageImprint is not the digest of data.
func (t *Token) CheckData(data []byte) error {
	h := t.Hash.New()
	h.Write(data)
	return t.CheckDigest(t.Hash, h.Sum(nil))
}

// OIDForHash returns the digest algorithm identifier of h; SHA-1, which
// a time-stamp no longer proves anything with, is refused.
func OIDForHash(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	if h == crypto.SHA1 {
		return nil, fmt.Errorf("%w: digest %v", ErrUnsupported, h)
	}
	oid, err := cms.OIDForHash(h)
	if err != nil {
		return nil, fmt.Errorf("%w: digest %v", ErrUnsupported, h)
	}
	return oid, nil
}
