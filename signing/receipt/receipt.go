// Package receipt issues and checks the hub's signed receipts: statements
// such as "message M was accepted for recipients R at time T" or "agency A
// acknowledged delivery of M". A receipt carries its body bytes, the hub's
// signature over them and the hub's certificate, so anyone holding the
// province root can verify it offline, long after the fact.
package receipt

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
)

// ErrInvalid reports a receipt that does not verify.
var ErrInvalid = errors.New("receipt does not verify")

// Issuer signs receipts with the hub's key.
type Issuer struct {
	key  crypto.Signer
	cert *x509.Certificate
	now  func() time.Time
}

// NewIssuer returns an Issuer signing with key, whose certificate is cert.
// now may be nil for time.Now.
func NewIssuer(key crypto.Signer, cert *x509.Certificate, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{key: key, cert: cert, now: now}
}

// Issue fills in the receipt id and time (when unset), serializes body and
// signs it.
func (i *Issuer) Issue(body *lienthongv1.ReceiptBody) (*lienthongv1.Receipt, error) {
	if body.ReceiptId == "" {
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, fmt.Errorf("receipt id: %w", err)
		}
		body.ReceiptId = hex.EncodeToString(id[:])
	}
	if body.Time == nil {
		body.Time = timestamppb.New(i.now())
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding receipt: %w", err)
	}
	sig, err := envsig.Sign(i.key, raw)
	if err != nil {
		return nil, fmt.Errorf("signing receipt: %w", err)
	}
	return &lienthongv1.Receipt{Body: raw, Signature: sig, Certificate: i.cert.Raw}, nil
}

// Verify checks that r was signed by a certificate chaining to roots and
// valid at the receipt's time, and returns its body. The certificate must
// allow digital signatures. It builds the chain afresh; a party checking
// many receipts keeps a Verifier.
func Verify(r *lienthongv1.Receipt, roots *x509.CertPool) (*lienthongv1.ReceiptBody, error) {
	return new(Verifier).Verify(r, roots)
}

// maxHubCerts bounds the hub certificates a Verifier remembers. A hub
// signs with one certificate, and a renewed one replaces it; a few slots
// cover a rotation, and a full cache is emptied rather than grown.
const maxHubCerts = 8

// Verifier checks receipts as Verify does, but builds the chain from a hub
// certificate to the roots once per certificate, not once per receipt:
// every receipt a node checks (accepted, delivered, notifications,
// status) carries the same hub certificate, and building the chain was
// half the cost of checking one. The validity periods along the chain,
// the only part of the check that depends on the receipt, are still
// checked for each receipt, at the receipt's time.
//
// The zero value is ready to use; it is safe for concurrent use.
type Verifier struct {
	mu    sync.Mutex
	certs map[[sha256.Size]byte]*hubCert
}

// hubCert is a hub certificate whose chains to roots have been built.
type hubCert struct {
	cert   *x509.Certificate
	roots  *x509.CertPool
	chains [][]*x509.Certificate
}

// Verify checks r against roots (see the function Verify) and returns its
// body; its errors wrap ErrInvalid.
func (v *Verifier) Verify(r *lienthongv1.Receipt, roots *x509.CertPool) (*lienthongv1.ReceiptBody, error) {
	key := sha256.Sum256(r.GetCertificate())
	hc := v.lookup(key, roots)
	var cert *x509.Certificate
	if hc != nil {
		cert = hc.cert
	} else {
		var err error
		if cert, err = x509.ParseCertificate(r.GetCertificate()); err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
		}
	}
	if err := envsig.Verify(cert, r.GetBody(), r.GetSignature()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	body := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(r.GetBody(), body); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: hub certificate %q does not allow digital signatures", ErrInvalid, cert.Subject.CommonName)
	}
	at := body.GetTime().AsTime()
	if hc != nil && hc.validAt(at) {
		return body, nil
	}
	// First sight of this certificate, or a receipt time outside the
	// chains built before: the full check, whose error says what is wrong.
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: at,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: hub certificate %q: %v", ErrInvalid, cert.Subject.CommonName, err)
	}
	v.store(key, &hubCert{cert: cert, roots: roots, chains: chains})
	return body, nil
}

// lookup returns the certificate remembered under key for roots, or nil.
func (v *Verifier) lookup(key [sha256.Size]byte, roots *x509.CertPool) *hubCert {
	v.mu.Lock()
	defer v.mu.Unlock()
	if hc := v.certs[key]; hc != nil && hc.roots == roots {
		return hc
	}
	return nil
}

func (v *Verifier) store(key [sha256.Size]byte, hc *hubCert) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.certs == nil || len(v.certs) >= maxHubCerts {
		v.certs = make(map[[sha256.Size]byte]*hubCert)
	}
	v.certs[key] = hc
}

// validAt reports whether every certificate of one of the chains is
// within its validity period at t. Everything else x509 checks along a
// chain (signatures, constraints) does not depend on t.
func (hc *hubCert) validAt(t time.Time) bool {
	for _, chain := range hc.chains {
		ok := true
		for _, c := range chain {
			if t.Before(c.NotBefore) || t.After(c.NotAfter) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
