package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"
)

// maxDepth bounds the nesting of BER elements.
const maxDepth = 64

// Object identifiers used in CMS (RFC 5652), ESS (RFC 5035) and PKCS #1.
var (
	OIDData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrSigningCert   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSHA1              = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	asn1Null             = asn1.RawValue{Tag: asn1.TagNull}
	// ErrUnsupportedAlgorithm is wrapped by errors about a digest or
	// signature algorithm this package does not handle.
	ErrUnsupportedAlgorithm  = errors.New("unsupported algorithm")
	errSignerCertificateGone = errors.New("signer certificate not in the signature")
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, handled by hand
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signedDataSeq struct {
	Version          int
	DigestAlgorithms asn1.RawValue // SET OF AlgorithmIdentifier
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
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
	Values asn1.RawValue // SET OF
}

// essCertIDv2 and friends are RFC 5035's signing-certificate-v2; the hash
// algorithm is left out when it is SHA-256, its DER default.
type signingCertificateV2 struct {
	Certs []essCertIDv2
}

type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial issuerSerial
}

type essCertIDv2WithAlg struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	CertHash      []byte
	IssuerSerial  issuerSerial
}

type issuerSerial struct {
	Issuer []asn1.RawValue // GeneralNames: one directoryName [4]
	Serial *big.Int
}

// Params is what goes into a CMS signature besides the digest.
type Params struct {
	Signer          crypto.Signer
	Cert            *x509.Certificate
	Chain           []*x509.Certificate
	SigningTime     time.Time
	WithSigningTime bool // add the signingTime attribute
	WithESSv2       bool // add the signing-certificate-v2 attribute
	Hash            crypto.Hash
	// SignatureTimestamp, if set, is given the signature value and
	// returns an RFC 3161 time-stamp token over it, which goes in as the
	// unsigned attribute signatureTimeStampToken (PAdES B-T).
	SignatureTimestamp func(signature []byte) ([]byte, error)
	// ESS, if set with WithESSv2, is the certificate reference written
	// instead of Cert's SHA-256 hash, issuer and serial (another hash, or,
	// in tests, another certificate).
	ESS *ESSCertID
}

// TokenReserve is the room EstimateSize leaves for a time-stamp token: a
// token carrying its TSA's chain is 2 to 8 KiB.
const TokenReserve = 16 << 10

// OIDSignatureTimeStamp is id-aa-signatureTimeStampToken (RFC 3161
// appendix A).
var OIDSignatureTimeStamp = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}

// EstimateSize bounds the DER size of the signature Build makes, so
// the /Contents placeholder is large enough without a trial signature.
func EstimateSize(p Params) int {
	n := 1024 + 2*len(p.Cert.RawIssuer) + len(p.Cert.SerialNumber.Bytes())*2
	for _, c := range append([]*x509.Certificate{p.Cert}, p.Chain...) {
		n += len(c.Raw) + 8
	}
	switch k := p.Signer.Public().(type) {
	case *rsa.PublicKey:
		n += k.Size() + 16
	case *ecdsa.PublicKey:
		n += 2*((k.Curve.Params().BitSize+7)/8) + 16
	default:
		n += 1024
	}
	if p.SignatureTimestamp != nil {
		n += TokenReserve
	}
	return n
}

// AlgorithmsFor returns the CMS digest and signature algorithm identifiers
// for a key of type pub signing with h.
func AlgorithmsFor(pub crypto.PublicKey, h crypto.Hash) (digestAlg, sigAlg pkix.AlgorithmIdentifier, err error) {
	switch h {
	case crypto.SHA256:
		digestAlg = pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1Null}
	default:
		return digestAlg, sigAlg, fmt.Errorf("cms: digest %v: %w", h, ErrUnsupportedAlgorithm)
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1Null}
	case *ecdsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	default:
		return digestAlg, sigAlg, fmt.Errorf("cms: key type %T: %w", pub, ErrUnsupportedAlgorithm)
	}
	return digestAlg, sigAlg, nil
}

// Build returns a DER CMS SignedData (RFC 5652) with no encapsulated
// content, signed over the given message digest.
func Build(p Params, digest []byte) ([]byte, error) {
	digestAlg, sigAlg, err := AlgorithmsFor(p.Signer.Public(), p.Hash)
	if err != nil {
		return nil, err
	}
	var attrs []attribute
	add := func(oid asn1.ObjectIdentifier, v any) error {
		der, err := asn1.Marshal(v)
		if err != nil {
			return fmt.Errorf("cms: encoding attribute %v: %w", oid, err)
		}
		attrs = append(attrs, attribute{Type: oid, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: der}})
		return nil
	}
	if err := add(oidAttrContentType, OIDData); err != nil {
		return nil, err
	}
	if p.WithSigningTime {
		if err := add(oidAttrSigningTime, p.SigningTime.UTC()); err != nil {
			return nil, err
		}
	}
	if err := add(oidAttrMessageDigest, digest); err != nil {
		return nil, err
	}
	if p.WithESSv2 {
		id := p.ESS
		if id == nil {
			h := sha256.Sum256(p.Cert.Raw)
			id = &ESSCertID{Version: 2, Hash: crypto.SHA256, CertHash: h[:], Issuer: p.Cert.RawIssuer, Serial: p.Cert.SerialNumber}
		}
		is := issuerSerial{
			Issuer: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: id.Issuer}},
			Serial: id.Serial,
		}
		var v any = signingCertificateV2{Certs: []essCertIDv2{{CertHash: id.CertHash, IssuerSerial: is}}}
		if id.Hash != crypto.SHA256 {
			oid, err := OIDForHash(id.Hash)
			if err != nil {
				return nil, err
			}
			v = struct{ Certs []essCertIDv2WithAlg }{[]essCertIDv2WithAlg{{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid}, CertHash: id.CertHash, IssuerSerial: is}}}
		}
		if err := add(oidAttrSigningCertV2, v); err != nil {
			return nil, err
		}
	}
	// signedAttrs is a DER SET OF: elements sorted by their encodings.
	encoded := make([][]byte, len(attrs))
	for i, a := range attrs {
		if encoded[i], err = asn1.Marshal(a); err != nil {
			return nil, fmt.Errorf("cms: encoding attributes: %w", err)
		}
	}
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	attrSet := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(encoded, nil)}
	attrDER, err := asn1.Marshal(attrSet)
	if err != nil {
		return nil, fmt.Errorf("cms: encoding attributes: %w", err)
	}
	h := p.Hash.New()
	h.Write(attrDER)
	sig, err := p.Signer.Sign(rand.Reader, h.Sum(nil), p.Hash)
	if err != nil {
		return nil, fmt.Errorf("cms: signing: %w", err)
	}
	sid, err := asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: p.Cert.RawIssuer}, Serial: p.Cert.SerialNumber})
	if err != nil {
		return nil, fmt.Errorf("cms: encoding signer identifier: %w", err)
	}
	si := signerInfo{
		Version:            1,
		SID:                asn1.RawValue{FullBytes: sid},
		DigestAlgorithm:    digestAlg,
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrSet.Bytes},
		SignatureAlgorithm: sigAlg,
		Signature:          sig,
	}
	if p.SignatureTimestamp != nil {
		token, err := p.SignatureTimestamp(sig)
		if err != nil {
			return nil, err
		}
		attr, err := asn1.Marshal(attribute{Type: OIDSignatureTimeStamp, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: token}})
		if err != nil {
			return nil, fmt.Errorf("cms: encoding the signature timestamp: %w", err)
		}
		si.UnsignedAttrs = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: attr}
	}
	var certs []byte
	seen := make(map[string]bool)
	for _, c := range append([]*x509.Certificate{p.Cert}, p.Chain...) {
		if c == nil || seen[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		certs = append(certs, c.Raw...)
	}
	digestAlgDER, err := asn1.Marshal(digestAlg)
	if err != nil {
		return nil, fmt.Errorf("cms: encoding digest algorithm: %w", err)
	}
	sd := signedDataSeq{
		Version:          1,
		DigestAlgorithms: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: digestAlgDER},
		EncapContentInfo: encapContentInfo{EContentType: OIDData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos:      []signerInfo{si},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("cms: encoding SignedData: %w", err)
	}
	out, err := asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
	if err != nil {
		return nil, fmt.Errorf("cms: encoding ContentInfo: %w", err)
	}
	return out, nil
}

// SignedData is what the verifier needs from a detached CMS signature.
type SignedData struct {
	Certs         []*x509.Certificate
	Signer        *x509.Certificate // nil when not among certs
	DigestHash    crypto.Hash
	SigAlg        asn1.ObjectIdentifier
	Signature     []byte
	SignedAttrs   []byte // DER of the SET OF attributes, as signed; nil when absent
	MessageDigest []byte
	ContentType   asn1.ObjectIdentifier
	SigningTime   time.Time // zero when absent
	// ESS are the signer references of the signing-certificate (v1) and
	// signing-certificate-v2 attributes present, with whatever hash they
	// name; CheckESS compares them. ESSErr is set when one is malformed
	// or names a hash that is not supported.
	ESS          []ESSCertID
	ESSErr       error
	Encapsulated bool // eContent present: not a detached signature
	// SignatureTimestamp is the DER of the signatureTimeStampToken
	// unsigned attribute (PAdES B-T); nil if none.
	SignatureTimestamp []byte
	// EContentType and EContent are the encapsulated content's type and
	// octets (EContent nil when detached); a time-stamp token carries its
	// TSTInfo there.
	EContentType asn1.ObjectIdentifier
	EContent     []byte

	sid asn1.RawValue
}

// SignerAmong returns the certificate among certs that the signer
// identifier names, or nil: for a signer whose certificate travels apart
// from the signature (a time-stamp token's TSA certificate in a DSS).
func (p *SignedData) SignerAmong(certs []*x509.Certificate) *x509.Certificate {
	return findSigner(p.sid, certs)
}

// Parse parses a CMS ContentInfo holding SignedData with one signer.
// Trailing bytes (the zero padding of /Contents) are ignored.
func Parse(der []byte) (*SignedData, error) {
	der, err := BERToDER(der)
	if err != nil {
		return nil, fmt.Errorf("CMS encoding: %w", err)
	}
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("CMS ContentInfo: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("CMS content type %v is not SignedData", ci.ContentType)
	}
	if ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 || !ci.Content.IsCompound {
		return nil, errors.New("CMS ContentInfo content is not [0] EXPLICIT")
	}
	var sd signedDataSeq
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("CMS SignedData: %w", err)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("CMS has %d signers, want 1", len(sd.SignerInfos))
	}
	p := &SignedData{Encapsulated: len(sd.EncapContentInfo.EContent.Bytes) > 0}
	rest := sd.Certificates.Bytes
	for len(rest) > 0 {
		var raw asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, fmt.Errorf("CMS certificates: %w", err)
		}
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence {
			continue // attribute or other certificate formats
		}
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("CMS certificate: %w", err)
		}
		p.Certs = append(p.Certs, c)
	}
	si := sd.SignerInfos[0]
	p.Signature = si.Signature
	p.SigAlg = si.SignatureAlgorithm.Algorithm
	if p.DigestHash, err = HashForOID(si.DigestAlgorithm.Algorithm); err != nil {
		return nil, err
	}
	p.sid = si.SID
	p.Signer = findSigner(si.SID, p.Certs)
	p.EContentType = sd.EncapContentInfo.EContentType
	if p.Encapsulated {
		if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &p.EContent); err != nil {
			return nil, fmt.Errorf("CMS encapsulated content: %w", err)
		}
	}
	if len(si.SignedAttrs.FullBytes) > 0 {
		set := append([]byte(nil), si.SignedAttrs.FullBytes...)
		set[0] = 0x31 // [0] IMPLICIT becomes the SET OF that was signed
		p.SignedAttrs = set
		if err := p.readAttributes(si.SignedAttrs.Bytes); err != nil {
			return nil, err
		}
	}
	if err := p.readUnsignedAttributes(si.UnsignedAttrs.Bytes); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *SignedData) readAttributes(b []byte) error {
	seen := make(map[string]bool)
	for len(b) > 0 {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("CMS signed attributes: %w", err)
		}
		key := a.Type.String()
		if seen[key] {
			return fmt.Errorf("CMS signed attribute %v repeated", a.Type)
		}
		seen[key] = true
		v := a.Values.Bytes
		switch {
		case a.Type.Equal(oidAttrContentType):
			if _, err := asn1.Unmarshal(v, &p.ContentType); err != nil {
				return fmt.Errorf("CMS content-type attribute: %w", err)
			}
		case a.Type.Equal(oidAttrMessageDigest):
			if _, err := asn1.Unmarshal(v, &p.MessageDigest); err != nil {
				return fmt.Errorf("CMS message-digest attribute: %w", err)
			}
		case a.Type.Equal(oidAttrSigningTime):
			if _, err := asn1.Unmarshal(v, &p.SigningTime); err != nil {
				return fmt.Errorf("CMS signing-time attribute: %w", err)
			}
		case a.Type.Equal(oidAttrSigningCertV2):
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(v, &raw); err != nil {
				return fmt.Errorf("CMS signing-certificate-v2 attribute: %w", err)
			}
			p.addESS(2, raw.Bytes)
		case a.Type.Equal(oidAttrSigningCert):
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(v, &raw); err != nil {
				return fmt.Errorf("CMS signing-certificate attribute: %w", err)
			}
			p.addESS(1, raw.Bytes)
		}
	}
	return nil
}

// ESSCertID is the first reference of a signing-certificate attribute,
// which by RFC 2634 and RFC 5035 identifies the signer's certificate.
type ESSCertID struct {
	// Version is 1 (signing-certificate, SHA-1) or 2 (-v2, any hash).
	Version  int
	Hash     crypto.Hash
	CertHash []byte
	// Issuer (the DER of a directoryName) and Serial are the optional
	// issuerSerial; Issuer is nil when absent.
	Issuer []byte
	Serial *big.Int
}

// addESS records the first ESSCertID(v2) of a SigningCertificate(V2)
// body, or the reason it cannot be used.
func (p *SignedData) addESS(version int, body []byte) {
	id, err := parseESS(version, body)
	if err != nil {
		if p.ESSErr == nil {
			p.ESSErr = fmt.Errorf("signing-certificate%s attribute: %w", map[int]string{1: "", 2: "-v2"}[version], err)
		}
		return
	}
	p.ESS = append(p.ESS, id)
}

func parseESS(version int, body []byte) (ESSCertID, error) {
	id := ESSCertID{Version: version, Hash: crypto.SHA1}
	var certs asn1.RawValue
	if _, err := asn1.Unmarshal(body, &certs); err != nil || certs.Tag != asn1.TagSequence {
		return id, errors.New("malformed")
	}
	var ref asn1.RawValue
	if _, err := asn1.Unmarshal(certs.Bytes, &ref); err != nil || ref.Tag != asn1.TagSequence {
		return id, errors.New("names no certificate")
	}
	rest := ref.Bytes
	var first asn1.RawValue
	rest, err := asn1.Unmarshal(rest, &first)
	if err != nil {
		return id, errors.New("malformed")
	}
	if version == 2 {
		id.Hash = crypto.SHA256
		if first.Tag == asn1.TagSequence { // hashAlgorithm present
			var alg pkix.AlgorithmIdentifier
			if _, err := asn1.Unmarshal(first.FullBytes, &alg); err != nil {
				return id, errors.New("malformed hash algorithm")
			}
			if id.Hash, err = HashForOID(alg.Algorithm); err != nil {
				return id, err
			}
			if rest, err = asn1.Unmarshal(rest, &first); err != nil {
				return id, errors.New("malformed")
			}
		}
	}
	if first.Class != asn1.ClassUniversal || first.Tag != asn1.TagOctetString || len(first.Bytes) != id.Hash.Size() {
		return id, errors.New("certificate hash missing or of the wrong length")
	}
	id.CertHash = first.Bytes
	if len(rest) == 0 {
		return id, nil
	}
	var is issuerSerial
	if r, err := asn1.Unmarshal(rest, &is); err != nil || len(r) > 0 || is.Serial == nil || len(is.Issuer) != 1 {
		return id, errors.New("malformed issuerSerial")
	}
	gn := is.Issuer[0]
	if gn.Class != asn1.ClassContextSpecific || gn.Tag != 4 {
		return id, errors.New("issuerSerial names the issuer by other than a directoryName")
	}
	id.Issuer, id.Serial = gn.Bytes, is.Serial
	return id, nil
}

// HasESS reports whether the signed attributes hold a signing-certificate
// attribute (v1 or v2), usable or not.
func (p *SignedData) HasESS() bool { return len(p.ESS) > 0 || p.ESSErr != nil }

// CheckESS compares the signing-certificate attributes with cert: the
// hash each names, and issuer and serial number where given. It returns
// nil when there is no such attribute; whether one is required is the
// caller's rule.
func (p *SignedData) CheckESS(cert *x509.Certificate) error {
	if p.ESSErr != nil {
		return p.ESSErr
	}
	for _, id := range p.ESS {
		if !id.Hash.Available() {
			return fmt.Errorf("signing-certificate attribute: hash %v: %w", id.Hash, ErrUnsupportedAlgorithm)
		}
		h := id.Hash.New()
		h.Write(cert.Raw)
		if !bytes.Equal(h.Sum(nil), id.CertHash) {
			return fmt.Errorf("signing-certificate attribute (v%d, %v) names another certificate than the signer's", id.Version, id.Hash)
		}
		if id.Issuer != nil && (id.Serial.Cmp(cert.SerialNumber) != 0 || !bytes.Equal(id.Issuer, cert.RawIssuer)) {
			return fmt.Errorf("signing-certificate attribute (v%d) names another issuer and serial number than the signer's", id.Version)
		}
	}
	return nil
}

// OIDForHash returns the digest algorithm identifier of h, the inverse
// of HashForOID.
func OIDForHash(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA1:
		return oidSHA1, nil
	case crypto.SHA256:
		return oidSHA256, nil
	case crypto.SHA384:
		return oidSHA384, nil
	case crypto.SHA512:
		return oidSHA512, nil
	}
	return nil, fmt.Errorf("cms: digest %v: %w", h, ErrUnsupportedAlgorithm)
}

func findSigner(sid asn1.RawValue, certs []*x509.Certificate) *x509.Certificate {
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
	return 0, fmt.Errorf("digest algorithm %v: %w", oid, ErrUnsupportedAlgorithm)
}

// VerifySignature checks the CMS signature value against the signer's key.
// signed is the digest of what was signed (the signed attributes, or the
// content when there are none).
func (p *SignedData) VerifySignature(signed []byte, h crypto.Hash) error {
	if p.Signer == nil {
		return errSignerCertificateGone
	}
	sigHash := h
	switch {
	case p.SigAlg.Equal(oidSHA256WithRSA), p.SigAlg.Equal(oidECDSAWithSHA256):
		sigHash = crypto.SHA256
	case p.SigAlg.Equal(oidSHA384WithRSA), p.SigAlg.Equal(oidECDSAWithSHA384):
		sigHash = crypto.SHA384
	case p.SigAlg.Equal(oidSHA512WithRSA), p.SigAlg.Equal(oidECDSAWithSHA512):
		sigHash = crypto.SHA512
	case p.SigAlg.Equal(oidSHA1WithRSA):
		sigHash = crypto.SHA1
	}
	if sigHash != h {
		return fmt.Errorf("signature algorithm %v does not match digest %v", p.SigAlg, h)
	}
	switch pub := p.Signer.PublicKey.(type) {
	case *rsa.PublicKey:
		switch {
		case p.SigAlg.Equal(oidRSAEncryption), p.SigAlg.Equal(oidSHA256WithRSA), p.SigAlg.Equal(oidSHA384WithRSA), p.SigAlg.Equal(oidSHA512WithRSA), p.SigAlg.Equal(oidSHA1WithRSA):
			return rsa.VerifyPKCS1v15(pub, h, signed, p.Signature)
		case p.SigAlg.Equal(oidRSAPSS):
			return rsa.VerifyPSS(pub, h, signed, p.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
	case *ecdsa.PublicKey:
		switch {
		case p.SigAlg.Equal(oidECPublicKey), p.SigAlg.Equal(oidECDSAWithSHA256), p.SigAlg.Equal(oidECDSAWithSHA384), p.SigAlg.Equal(oidECDSAWithSHA512):
			if !ecdsa.VerifyASN1(pub, signed, p.Signature) {
				return errors.New("ECDSA verification failure")
			}
			return nil
		}
	case ed25519.PublicKey:
		return fmt.Errorf("Ed25519 signature: %w", ErrUnsupportedAlgorithm)
	}
	return fmt.Errorf("signature algorithm %v for a %T key: %w", p.SigAlg, p.Signer.PublicKey, ErrUnsupportedAlgorithm)
}

// BERToDER rewrites indefinite lengths as definite ones, which is all that
// stands between most BER-encoded CMS blobs and encoding/asn1. Input that
// is already DER comes back unchanged (without the trailing padding).
func BERToDER(b []byte) ([]byte, error) {
	out, _, err := berElement(b, 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckPadding requires every byte after the first BER element of b (a
// PDF signature's /Contents) to be zero: the placeholder's padding, never
// data a parser could skip over to hide something.
func CheckPadding(b []byte) error {
	_, n, err := berElement(b, 0)
	if err != nil {
		return fmt.Errorf("CMS encoding: %w", err)
	}
	for i, c := range b[n:] {
		if c != 0 {
			return fmt.Errorf("byte %d after the %d-byte signature is %#02x, not zero padding", n+i, n, c)
		}
	}
	return nil
}

// berElement converts the element at the start of b, returning its DER and
// the number of input bytes it took.
func berElement(b []byte, depth int) ([]byte, int, error) {
	if depth > maxDepth {
		return nil, 0, errors.New("ASN.1 nested too deeply")
	}
	if len(b) < 2 {
		return nil, 0, errors.New("truncated ASN.1")
	}
	i := 1
	if b[0]&0x1f == 0x1f { // high tag number
		for {
			if i >= len(b) || i > 6 {
				return nil, 0, errors.New("bad ASN.1 tag")
			}
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	tag := b[:i]
	if i >= len(b) {
		return nil, 0, errors.New("truncated ASN.1")
	}
	lb := b[i]
	i++
	constructed := b[0]&0x20 != 0
	if lb == 0x80 {
		if !constructed {
			return nil, 0, errors.New("indefinite length on a primitive ASN.1 value")
		}
		var body []byte
		for {
			if i+1 < len(b) && b[i] == 0 && b[i+1] == 0 {
				i += 2
				break
			}
			if i >= len(b) {
				return nil, 0, errors.New("truncated ASN.1")
			}
			child, n, err := berElement(b[i:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			body = append(body, child...)
			i += n
		}
		return appendTLV(tag, body), i, nil
	}
	length := 0
	if lb&0x80 == 0 {
		length = int(lb)
	} else {
		nb := int(lb & 0x7f)
		if nb > 4 || i+nb > len(b) {
			return nil, 0, errors.New("bad ASN.1 length")
		}
		for _, c := range b[i : i+nb] {
			length = length<<8 | int(c)
		}
		i += nb
	}
	if length < 0 || i+length > len(b) {
		return nil, 0, errors.New("truncated ASN.1")
	}
	content := b[i : i+length]
	end := i + length
	if !constructed || !containsIndefinite(content, depth+1) {
		return appendTLV(tag, content), end, nil
	}
	var body []byte
	for j := 0; j < len(content); {
		child, n, err := berElement(content[j:], depth+1)
		if err != nil {
			return nil, 0, err
		}
		body = append(body, child...)
		j += n
	}
	return appendTLV(tag, body), end, nil
}

// containsIndefinite reports whether any element nested in b uses an
// indefinite length, so definite-length input is copied, not rebuilt.
func containsIndefinite(b []byte, depth int) bool {
	if depth > maxDepth {
		return true // let berElement report the depth
	}
	for j := 0; j < len(b); {
		i := j + 1
		if b[j]&0x1f == 0x1f {
			for i < len(b) && b[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if i >= len(b) {
			return false
		}
		constructed := b[j]&0x20 != 0
		lb := b[i]
		i++
		if lb == 0x80 {
			return true
		}
		length := 0
		if lb&0x80 != 0 {
			nb := int(lb & 0x7f)
			if nb > 4 || i+nb > len(b) {
				return false
			}
			for _, c := range b[i : i+nb] {
				length = length<<8 | int(c)
			}
			i += nb
		} else {
			length = int(lb)
		}
		if length < 0 || i+length > len(b) {
			return false
		}
		if constructed && containsIndefinite(b[i:i+length], depth+1) {
			return true
		}
		j = i + length
	}
	return false
}

func appendTLV(tag, content []byte) []byte {
	out := append([]byte(nil), tag...)
	n := len(content)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		out = append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}

// readUnsignedAttributes keeps the signature timestamp token, if any.
func (p *SignedData) readUnsignedAttributes(b []byte) error {
	for len(b) > 0 {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("CMS unsigned attributes: %w", err)
		}
		if !a.Type.Equal(OIDSignatureTimeStamp) {
			continue
		}
		if p.SignatureTimestamp != nil {
			return errors.New("CMS has more than one signature timestamp")
		}
		var tok asn1.RawValue
		if _, err := asn1.Unmarshal(a.Values.Bytes, &tok); err != nil {
			return fmt.Errorf("CMS signature timestamp attribute: %w", err)
		}
		p.SignatureTimestamp = tok.FullBytes
	}
	return nil
}
