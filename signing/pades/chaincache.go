package pades

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// DefaultChainCacheSize bounds a ChainCache made with size 0: a province's
// signers (two per agency) with room to spare, at about 200 bytes an
// entry (the CA certificates are shared between entries).
const DefaultChainCacheSize = 8192

// ChainCache remembers the certificate chains Verify has built and
// verified, so that the hundredth document of a signer does not build and
// check its chain again (on the hub, chain building was a third of a
// document's verification). It caches only the chain: the signature, key
// purpose, validity at the proof-of-existence time and revocation are
// decided for every document as before, and revocation walks the cached
// chain.
//
// An entry is keyed by the signer certificate's DER hash, the other
// candidate certificates (the CMS's and the DSS's, by hash), and the
// identity of VerifyOptions.Roots and Intermediates; it is used only for
// a validation time in the window for which x509 verification gives the
// same outcome (no candidate certificate's validity begins or ends in
// it). Roots and Intermediates must therefore not be modified while a
// cache is in use with them: a new trust state gets a new cache, as
// signing/trust does on every load.
//
// A ChainCache is safe for concurrent use; nil caches nothing.
type ChainCache struct {
	mu      sync.RWMutex
	max     int
	entries map[chainKey]chainEntry
	// cas interns the CA certificates of cached chains, cloned so that an
	// entry does not keep a document's CMS buffer alive.
	cas map[[sha256.Size]byte]*x509.Certificate
}

// NewChainCache returns a cache of at most size chains (0:
// DefaultChainCacheSize). When full, an arbitrary entry makes room.
func NewChainCache(size int) *ChainCache {
	if size <= 0 {
		size = DefaultChainCacheSize
	}
	return &ChainCache{max: size, entries: make(map[chainKey]chainEntry), cas: make(map[[sha256.Size]byte]*x509.Certificate)}
}

// Len returns the number of cached chains.
func (c *ChainCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

type chainKey struct {
	leaf   [sha256.Size]byte // the signer certificate's DER
	extra  [sha256.Size]byte // the DER of the other candidates, in order
	roots  *x509.CertPool
	inter  *x509.Certificate // first of VerifyOptions.Intermediates: the slice's identity
	ninter int
}

type chainEntry struct {
	cas []*x509.Certificate // the chain above the signer, up to the anchor
	// Verification gives this chain at any time in [from, until].
	from, until time.Time
}

// chainLookup identifies a signer's chain question for a ChainCache.
type chainLookup struct {
	key chainKey
	ok  bool
}

// lookupKey computes the key of leaf's chain with the candidates extra
// (CMS and DSS certificates, leaf excluded) under opts.
func (c *ChainCache) lookupKey(opts *VerifyOptions, leaf *x509.Certificate, extra []*x509.Certificate) chainLookup {
	if c == nil || opts.Roots == nil {
		return chainLookup{}
	}
	k := chainKey{leaf: sha256.Sum256(leaf.Raw), roots: opts.Roots, ninter: len(opts.Intermediates)}
	if len(opts.Intermediates) > 0 {
		k.inter = opts.Intermediates[0]
	}
	h := sha256.New()
	var n [4]byte
	for _, e := range extra {
		// Length-prefixed, so that two lists never hash alike.
		l := len(e.Raw)
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		h.Write(n[:])
		h.Write(e.Raw)
	}
	h.Sum(k.extra[:0])
	return chainLookup{key: k, ok: true}
}

// get returns the cached chain for at, signer first, or nil.
func (c *ChainCache) get(l chainLookup, leaf *x509.Certificate, at time.Time) []*x509.Certificate {
	if !l.ok {
		return nil
	}
	c.mu.RLock()
	e, ok := c.entries[l.key]
	c.mu.RUnlock()
	if !ok || at.Before(e.from) || at.After(e.until) {
		return nil
	}
	chain := make([]*x509.Certificate, 0, 1+len(e.cas))
	return append(append(chain, leaf), e.cas...)
}

// put records chain, verified at at with the candidates cands (leaf
// excluded; Intermediates and the CMS's and DSS's certificates).
func (c *ChainCache) put(l chainLookup, chain []*x509.Certificate, cands [][]*x509.Certificate, at time.Time) {
	if !l.ok || len(chain) == 0 {
		return
	}
	e := chainEntry{until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}
	// The outcome of x509 verification depends on the time only through
	// which candidates are valid then: keep to the window where none of
	// them changes.
	narrow := func(x *x509.Certificate) {
		switch {
		case at.Before(x.NotBefore):
			e.until = minTime(e.until, x.NotBefore.Add(-time.Nanosecond))
		case at.After(x.NotAfter):
			e.from = maxTime(e.from, x.NotAfter.Add(time.Nanosecond))
		default:
			e.from, e.until = maxTime(e.from, x.NotBefore), minTime(e.until, x.NotAfter)
		}
	}
	for _, x := range chain {
		narrow(x)
	}
	for _, cs := range cands {
		for _, x := range cs {
			narrow(x)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range chain[1:] {
		e.cas = append(e.cas, c.intern(x))
	}
	if _, ok := c.entries[l.key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[l.key] = e
}

// intern returns the cache's own copy of the CA certificate x.
func (c *ChainCache) intern(x *x509.Certificate) *x509.Certificate {
	h := sha256.Sum256(x.Raw)
	if y, ok := c.cas[h]; ok {
		return y
	}
	y, err := x509.ParseCertificate(append([]byte(nil), x.Raw...))
	if err != nil {
		y = x // cannot happen: x was parsed from these bytes
	}
	if len(c.cas) >= c.max {
		// Entries keep their own pointers; only sharing is lost.
		clear(c.cas)
	}
	c.cas[h] = y
	return y
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
