package revocation

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
)

// DefaultSignatureCacheSize bounds a SignatureCache made with size 0.
const DefaultSignatureCacheSize = 1024

// SignatureCache remembers which of a trust store's CRLs were found
// signed by which issuer certificate, so that a CRL's signature is checked
// once per issuer instead of once per certificate per document. Only the
// signature is remembered — a pure fact about the CRL's bytes and the
// issuer's — never a status: freshness, scope and the entries are read
// for every check. Entries are keyed by the CRL object (the trust store's
// own, never modified) and the issuer's DER hash.
//
// A SignatureCache is safe for concurrent use; nil caches nothing.
type SignatureCache struct {
	mu  sync.RWMutex
	max int
	ok  map[sigKey]struct{}
}

type sigKey struct {
	crl    *x509.RevocationList
	issuer [sha256.Size]byte
}

// NewSignatureCache returns a cache of at most size verified signatures
// (0: DefaultSignatureCacheSize).
func NewSignatureCache(size int) *SignatureCache {
	if size <= 0 {
		size = DefaultSignatureCacheSize
	}
	return &SignatureCache{max: size, ok: make(map[sigKey]struct{})}
}

// Len returns the number of remembered signatures.
func (c *SignatureCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ok)
}

// checkCRLSignature is crl.CheckSignatureFrom(issuer), remembered when it
// succeeds.
func (c *SignatureCache) checkCRLSignature(crl *x509.RevocationList, issuer *x509.Certificate) error {
	if c == nil {
		return crl.CheckSignatureFrom(issuer)
	}
	k := sigKey{crl: crl, issuer: sha256.Sum256(issuer.Raw)}
	c.mu.RLock()
	_, ok := c.ok[k]
	c.mu.RUnlock()
	if ok {
		return nil
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ok) >= c.max {
		for k := range c.ok {
			delete(c.ok, k)
			break
		}
	}
	c.ok[k] = struct{}{}
	return nil
}
