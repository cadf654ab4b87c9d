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
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
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

// Object identifiers of RFC 3161, RFC 5652 and RFC 5035.
var (
	OIDSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDTimeStamping      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCert   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA1              = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
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

	sig signerInfo
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []rawSignerInfo `asn1:"set"`
}

type rawSignerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

// signerInfo is what Verify needs from the token's SignerInfo.
type signerInfo struct {
	sid         asn1.RawValue
	digestHash  crypto.Hash
	sigAlg      asn1.ObjectIdentifier
	signature   []byte
	signedAttrs []byte // the SET OF attributes as signed
	eContent    []byte
	msgDigest   []byte
	contentType asn1.ObjectIdentifier
	essHash     crypto.Hash // of the signing certificate attribute; 0 if absent
	essCertHash []byte
	essSerial   *big.Int // issuerSerial of the signing certificate attribute, nil if absent
}

// Parse reads a DER time-stamp token (a CMS ContentInfo holding SignedData
// whose content is a TSTInfo). Zero bytes after the token (the padding of a
// PDF's /Contents) are ignored; any other byte after it is refused.
func Parse(der []byte) (*Token, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("%w: ContentInfo: %v", ErrFormat, err)
	}
	if len(bytes.Trim(rest, "\x00")) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the token", ErrFormat, len(rest))
	}
	der = der[:len(der)-len(rest)]
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not SignedData", ErrFormat, ci.ContentType)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: SignedData: %v", ErrFormat, err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(OIDTSTInfo) {
		return nil, fmt.Errorf("%w: content type %v is not TSTInfo", ErrFormat, sd.EncapContentInfo.EContentType)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want 1", ErrFormat, len(sd.SignerInfos))
	}
	t := &Token{Raw: der}
	var info TSTInfo
	if rest, err := asn1.Unmarshal(sd.EncapContentInfo.EContent, &info); err != nil || len(rest) > 0 {
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
	if t.Hash, err = HashForOID(info.MessageImprint.HashAlgorithm.Algorithm); err != nil {
		return nil, err
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

	rest = sd.Certificates.Bytes
	for len(rest) > 0 {
		var raw asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, fmt.Errorf("%w: certificates: %v", ErrFormat, err)
		}
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence {
			continue // other certificate formats
		}
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrFormat, err)
		}
		t.Certificates = append(t.Certificates, c)
	}

	rsi := sd.SignerInfos[0]
	si := signerInfo{sid: rsi.SID, sigAlg: rsi.SignatureAlgorithm.Algorithm, signature: rsi.Signature, eContent: sd.EncapContentInfo.EContent}
	if si.digestHash, err = HashForOID(rsi.DigestAlgorithm.Algorithm); err != nil {
		return nil, err
	}
	set := append([]byte(nil), rsi.SignedAttrs.FullBytes...)
	set[0] = 0x31 // [0] IMPLICIT becomes the SET OF that was signed
	si.signedAttrs = set
	if err := si.readAttributes(rsi.SignedAttrs.Bytes); err != nil {
		return nil, err
	}
	t.sig = si
	t.Certificate = t.findSigner(t.Certificates)
	if t.TSAName == "" && t.Certificate != nil {
		t.TSAName = t.Certificate.Subject.String()
	}
	return t, nil
}

func (si *signerInfo) readAttributes(b []byte) error {
	seen := make(map[string]bool)
	for len(b) > 0 {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("%w: signed attributes: %v", ErrFormat, err)
		}
		if seen[a.Type.String()] {
			return fmt.Errorf("%w: signed attribute %v repeated", ErrFormat, a.Type)
		}
		seen[a.Type.String()] = true
		v := a.Values.Bytes
		switch {
		case a.Type.Equal(oidAttrContentType):
			_, err = asn1.Unmarshal(v, &si.contentType)
		case a.Type.Equal(oidAttrMessageDigest):
			_, err = asn1.Unmarshal(v, &si.msgDigest)
		case a.Type.Equal(oidAttrSigningCertV2):
			err = si.readESS(v, true)
		case a.Type.Equal(oidAttrSigningCert):
			if si.essHash == 0 { // v2 wins when both are present
				err = si.readESS(v, false)
			}
		}
		if err != nil {
			return fmt.Errorf("%w: signed attribute %v: %v", ErrFormat, a.Type, err)
		}
	}
	return nil
}

// readESS reads the first ESSCertID(v2) of a SigningCertificate(V2): the
// one that identifies the signer (RFC 5035, 3).
func (si *signerInfo) readESS(v []byte, v2 bool) error {
	var sc struct {
		Certs []asn1.RawValue
		Rest  asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(v, &sc); err != nil {
		return err
	}
	if len(sc.Certs) == 0 {
		return errors.New("no certificate identifier")
	}
	rest := sc.Certs[0].Bytes
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256 // the DER default
		var first asn1.RawValue
		if _, err := asn1.Unmarshal(rest, &first); err != nil {
			return err
		}
		if first.Tag == asn1.TagSequence {
			var alg pkix.AlgorithmIdentifier
			var err error
			if rest, err = asn1.Unmarshal(rest, &alg); err != nil {
				return err
			}
			if h, err = HashForOID(alg.Algorithm); err != nil {
				return err
			}
		}
	}
	var err error
	if rest, err = asn1.Unmarshal(rest, &si.essCertHash); err != nil {
		return err
	}
	si.essHash = h
	if len(rest) > 0 {
		var is struct {
			Issuer asn1.RawValue
			Serial *big.Int
		}
		if _, err := asn1.Unmarshal(rest, &is); err == nil {
			si.essSerial = is.Serial
		}
	}
	return nil
}

func (t *Token) findSigner(certs []*x509.Certificate) *x509.Certificate {
	sid := t.sig.sid
	if sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 {
		for _, c := range certs {
			if bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c
			}
		}
		return nil
	}
	var ias issuerAndSerial
	if _, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil || ias.Serial == nil {
		return nil
	}
	for _, c := range certs {
		if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
			return c
		}
	}
	return nil
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
	si := t.sig
	if t.Certificate == nil {
		t.Certificate = t.findSigner(opts.Certificates)
		if t.Certificate == nil {
			return nil, fmt.Errorf("%w: the TSA certificate is not in the token", ErrUntrusted)
		}
		if t.TSAName == "" {
			t.TSAName = t.Certificate.Subject.String()
		}
	}
	cert := t.Certificate
	if si.digestHash == crypto.SHA1 || t.Hash == crypto.SHA1 {
		return nil, fmt.Errorf("%w: SHA-1 is no longer accepted", ErrSignature)
	}
	if !si.contentType.Equal(OIDTSTInfo) {
		return nil, fmt.Errorf("%w: signed content type %v is not TSTInfo", ErrSignature, si.contentType)
	}
	h := si.digestHash.New()
	h.Write(si.eContent)
	if !bytes.Equal(h.Sum(nil), si.msgDigest) {
		return nil, fmt.Errorf("%w: message digest of the TSTInfo differs", ErrSignature)
	}
	h = si.digestHash.New()
	h.Write(si.signedAttrs)
	if err := verifySignature(cert.PublicKey, si.sigAlg, si.digestHash, h.Sum(nil), si.signature); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	// RFC 3161 2.4.1: the signing certificate attribute binds the TSA's
	// certificate to the token, so a second certificate for the same key
	// cannot be substituted.
	if si.essHash == 0 {
		return nil, fmt.Errorf("%w: no signing certificate attribute", ErrSignature)
	}
	if si.essHash == crypto.SHA1 && si.essCertHash != nil {
		if s := sha1.Sum(cert.Raw); !bytes.Equal(s[:], si.essCertHash) {
			return nil, fmt.Errorf("%w: signing certificate attribute names another certificate", ErrSignature)
		}
	} else {
		eh := si.essHash.New()
		eh.Write(cert.Raw)
		if !bytes.Equal(eh.Sum(nil), si.essCertHash) {
			return nil, fmt.Errorf("%w: signing certificate attribute names another certificate", ErrSignature)
		}
	}
	if si.essSerial != nil && si.essSerial.Cmp(cert.SerialNumber) != 0 {
		return nil, fmt.Errorf("%w: signing certificate attribute names another serial number", ErrSignature)
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

// HashForOID maps a digest algorithm identifier to a hash.
func HashForOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: digest %v", ErrUnsupported, oid)
}

// OIDForHash is the inverse of HashForOID.
func OIDForHash(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, nil
	case crypto.SHA384:
		return oidSHA384, nil
	case crypto.SHA512:
		return oidSHA512, nil
	}
	return nil, fmt.Errorf("%w: digest %v", ErrUnsupported, h)
}

func verifySignature(pub crypto.PublicKey, alg asn1.ObjectIdentifier, h crypto.Hash, digest, sig []byte) error {
	want := h
	switch {
	case alg.Equal(oidSHA256WithRSA), alg.Equal(oidECDSAWithSHA256):
		want = crypto.SHA256
	case alg.Equal(oidSHA384WithRSA), alg.Equal(oidECDSAWithSHA384):
		want = crypto.SHA384
	case alg.Equal(oidSHA512WithRSA), alg.Equal(oidECDSAWithSHA512):
		want = crypto.SHA512
	}
	if want != h {
		return fmt.Errorf("signature algorithm %v does not match digest %v", alg, h)
	}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		switch {
		case alg.Equal(oidRSAEncryption), alg.Equal(oidSHA256WithRSA), alg.Equal(oidSHA384WithRSA), alg.Equal(oidSHA512WithRSA):
			return rsa.VerifyPKCS1v15(pub, h, digest, sig)
		case alg.Equal(oidRSAPSS):
			return rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
	case *ecdsa.PublicKey:
		switch {
		case alg.Equal(oidECPublicKey), alg.Equal(oidECDSAWithSHA256), alg.Equal(oidECDSAWithSHA384), alg.Equal(oidECDSAWithSHA512):
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				return errors.New("ECDSA verification failure")
			}
			return nil
		}
	}
	return fmt.Errorf("%w: signature algorithm %v for a %T key", ErrUnsupported, alg, pub)
}
