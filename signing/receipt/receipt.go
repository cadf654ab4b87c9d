// Package receipt issues and checks the hub's signed receipts: statements
// such as "message M was accepted for recipients R at time T" or "agency A
// acknowledged delivery of M". A receipt carries its body bytes, the hub's
// signature over them and the hub's certificate, so anyone holding the
// province root can verify it offline, long after the fact.
package receipt

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
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
// allow digital signatures.
func Verify(r *lienthongv1.Receipt, roots *x509.CertPool) (*lienthongv1.ReceiptBody, error) {
	cert, err := x509.ParseCertificate(r.GetCertificate())
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
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
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: body.GetTime().AsTime(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("%w: hub certificate %q: %v", ErrInvalid, cert.Subject.CommonName, err)
	}
	return body, nil
}
