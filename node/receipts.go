package node

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
	"github.com/lienthong/lienthong/signing/receipt"
)

// maxHubCerts bounds the hub certificates a receiptChecker remembers. A
// hub signs with one certificate, and a renewed one replaces it; a few
// slots cover a rotation, and a full cache is emptied rather than grown.
const maxHubCerts = 8

// receiptChecker verifies hub receipts as receipt.Verify does, but builds
// the chain from a hub certificate to the roots once per certificate, not
// once per receipt: every receipt a node checks (accepted, delivered,
// notifications, status) carries the same hub certificate, and building
// the chain was half the cost of checking one. The validity periods along
// the chain, the only part of the check that depends on the receipt, are
// still checked for each receipt, at the receipt's time.
//
// The zero value is ready to use; a Client holds one.
type receiptChecker struct {
	mu    sync.Mutex
	certs map[[sha256.Size]byte]*hubCert
}

// hubCert is a hub certificate whose chains to roots have been built.
type hubCert struct {
	cert   *x509.Certificate
	roots  *x509.CertPool
	chains [][]*x509.Certificate
}

// verify checks r against roots and returns its body; its errors wrap
// receipt.ErrInvalid, as receipt.Verify's do.
func (rc *receiptChecker) verify(r *lienthongv1.Receipt, roots *x509.CertPool) (*lienthongv1.ReceiptBody, error) {
	key := sha256.Sum256(r.GetCertificate())
	hc := rc.lookup(key, roots)
	var cert *x509.Certificate
	if hc != nil {
		cert = hc.cert
	} else {
		var err error
		if cert, err = x509.ParseCertificate(r.GetCertificate()); err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", receipt.ErrInvalid, err)
		}
	}
	if err := envsig.Verify(cert, r.GetBody(), r.GetSignature()); err != nil {
		return nil, fmt.Errorf("%w: %v", receipt.ErrInvalid, err)
	}
	body := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(r.GetBody(), body); err != nil {
		return nil, fmt.Errorf("%w: body: %v", receipt.ErrInvalid, err)
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: hub certificate %q does not allow digital signatures", receipt.ErrInvalid, cert.Subject.CommonName)
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
		return nil, fmt.Errorf("%w: hub certificate %q: %v", receipt.ErrInvalid, cert.Subject.CommonName, err)
	}
	rc.store(key, &hubCert{cert: cert, roots: roots, chains: chains})
	return body, nil
}

// lookup returns the certificate remembered under key for roots, or nil.
func (rc *receiptChecker) lookup(key [sha256.Size]byte, roots *x509.CertPool) *hubCert {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if hc := rc.certs[key]; hc != nil && hc.roots == roots {
		return hc
	}
	return nil
}

func (rc *receiptChecker) store(key [sha256.Size]byte, hc *hubCert) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.certs == nil || len(rc.certs) >= maxHubCerts {
		rc.certs = make(map[[sha256.Size]byte]*hubCert)
	}
	rc.certs[key] = hc
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
