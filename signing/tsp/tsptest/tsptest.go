// Package tsptest runs a time-stamping authority for tests: an HTTP
// server on loopback that answers RFC 3161 requests with tokens signed by
// a key and certificate from the test PKI (signing/pki), and the same
// token issuing without HTTP. Hooks let a test make the bad tokens a
// verifier must refuse (other imprint, other time, refused requests).
package tsptest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/tsp"
)

// DefaultPolicy is the TSA policy of tokens issued here (an OID under
// the documentation arc of RFC 5612's example enterprise).
var DefaultPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 1}

// TSA issues time-stamp tokens.
type TSA struct {
	// Cert and Key sign the tokens; Chain are the CA certificates put in
	// the token beside Cert.
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
	// Now is the clock genTime comes from; nil means time.Now.
	Now func() time.Time
	// Tamper, if set, changes each TSTInfo before it is signed.
	Tamper func(*tsp.TSTInfo)
	// Refuse makes the HTTP server answer every request with status
	// rejection.
	Refuse bool

	mu     sync.Mutex
	serial int64
	count  int
}

// NewTSA issues an ECDSA time-stamping certificate from ca (critical EKU
// id-kp-timeStamping) valid around now, and returns a TSA using it.
func NewTSA(ca *pki.Authority, name string, now time.Time) (*TSA, error) {
	cert, key, err := ca.Issue(pki.Request{
		CommonName: name, Organization: "Test TSA",
		NotBefore: now.Add(-365 * 24 * time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour),
		Usage: pki.TimeStamping,
	})
	if err != nil {
		return nil, fmt.Errorf("tsptest: issuing the TSA certificate: %w", err)
	}
	t := &TSA{Cert: cert, Key: key}
	if !bytes.Equal(ca.Cert.RawSubject, ca.Cert.RawIssuer) {
		t.Chain = []*x509.Certificate{ca.Cert}
	}
	return t, nil
}

// Count is the number of tokens issued so far.
func (t *TSA) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// Server starts an HTTP server on 127.0.0.1 answering RFC 3161 requests;
// the caller closes it.
func (t *TSA) Server() *httptest.Server {
	return httptest.NewServer(t)
}

// ServeHTTP answers one application/timestamp-query POST.
func (t *TSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != tsp.ContentTypeQuery {
		http.Error(w, "want a POST of "+tsp.ContentTypeQuery, http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req tsp.Request
	if _, err := asn1.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := tsp.Response{Status: tsp.PKIStatusInfo{Status: tsp.StatusGranted}}
	if t.Refuse {
		resp.Status = tsp.PKIStatusInfo{Status: 2, StatusString: []string{"refused by the test"}}
	} else {
		h, err := cms.HashForOID(req.MessageImprint.HashAlgorithm.Algorithm)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		token, err := t.Issue(h, req.MessageImprint.HashedMessage, req.Nonce)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp.TimeStampToken = asn1.RawValue{FullBytes: token}
	}
	der, err := asn1.Marshal(resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", tsp.ContentTypeReply)
	w.Write(der)
}

// Issue returns a DER time-stamp token over digest (made with h).
func (t *TSA) Issue(h crypto.Hash, digest []byte, nonce *big.Int) ([]byte, error) {
	oid, err := tsp.OIDForHash(h)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	t.mu.Lock()
	t.serial++
	t.count++
	serial := t.serial
	t.mu.Unlock()
	info := tsp.TSTInfo{
		Version:        1,
		Policy:         DefaultPolicy,
		MessageImprint: tsp.MessageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, HashedMessage: digest},
		SerialNumber:   big.NewInt(serial),
		GenTime:        now().UTC().Truncate(time.Second),
		Accuracy:       tsp.Accuracy{Seconds: 1},
		Nonce:          nonce,
	}
	if t.Tamper != nil {
		t.Tamper(&info)
	}
	content, err := asn1.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding TSTInfo: %w", err)
	}
	return t.sign(content, info.GenTime)
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial struct {
		Issuer []asn1.RawValue
		Serial *big.Int
	}
}

// sign wraps content in a CMS SignedData (RFC 5652) with the attributes
// RFC 3161 asks for: content type TSTInfo, message digest, and
// signing-certificate-v2; and signingTime, as most TSAs add it (pdfcpu
// reads a signature timestamp's time from there, not from the TSTInfo).
func (t *TSA) sign(content []byte, at time.Time) ([]byte, error) {
	md := sha256.Sum256(content)
	certHash := sha256.Sum256(t.Cert.Raw)
	var id essCertIDv2
	id.CertHash = certHash[:]
	id.IssuerSerial.Issuer = []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: t.Cert.RawIssuer}}
	id.IssuerSerial.Serial = t.Cert.SerialNumber
	values := []struct {
		oid asn1.ObjectIdentifier
		v   any
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}, tsp.OIDTSTInfo},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}, md[:]},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}, at.UTC()},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}, struct{ Certs []essCertIDv2 }{[]essCertIDv2{id}}},
	}
	var encoded [][]byte
	for _, a := range values {
		der, err := asn1.Marshal(a.v)
		if err != nil {
			return nil, fmt.Errorf("tsptest: encoding attribute: %w", err)
		}
		e, err := asn1.Marshal(attribute{Type: a.oid, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: der}})
		if err != nil {
			return nil, fmt.Errorf("tsptest: encoding attribute: %w", err)
		}
		encoded = append(encoded, e)
	}
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	attrs := bytes.Join(encoded, nil)
	set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: attrs})
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding attributes: %w", err)
	}
	digest := sha256.Sum256(set)
	sig, err := t.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("tsptest: signing: %w", err)
	}
	sha256Alg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, Parameters: asn1.NullRawValue}
	var sigAlg pkix.AlgorithmIdentifier
	switch t.Key.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue}
	default:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}
	}
	sid, err := asn1.Marshal(struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}{asn1.RawValue{FullBytes: t.Cert.RawIssuer}, t.Cert.SerialNumber})
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding signer identifier: %w", err)
	}
	si := struct {
		Version            int
		SID                asn1.RawValue
		DigestAlgorithm    pkix.AlgorithmIdentifier
		SignedAttrs        asn1.RawValue
		SignatureAlgorithm pkix.AlgorithmIdentifier
		Signature          []byte
	}{1, asn1.RawValue{FullBytes: sid}, sha256Alg, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrs}, sigAlg, sig}
	siDER, err := asn1.Marshal(si)
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding SignerInfo: %w", err)
	}
	algDER, err := asn1.Marshal(sha256Alg)
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding digest algorithm: %w", err)
	}
	var certs []byte
	for _, c := range append([]*x509.Certificate{t.Cert}, t.Chain...) {
		certs = append(certs, c.Raw...)
	}
	sd := struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		EncapContentInfo struct {
			EContentType asn1.ObjectIdentifier
			EContent     []byte `asn1:"explicit,tag:0"`
		}
		Certificates asn1.RawValue
		SignerInfos  asn1.RawValue
	}{
		Version:          3,
		DigestAlgorithms: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: algDER},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: siDER},
	}
	sd.EncapContentInfo.EContentType = tsp.OIDTSTInfo
	sd.EncapContentInfo.EContent = content
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding SignedData: %w", err)
	}
	out, err := asn1.Marshal(struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{tsp.OIDSignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
	if err != nil {
		return nil, fmt.Errorf("tsptest: encoding ContentInfo: %w", err)
	}
	return out, nil
}
