package revocation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Fetcher fetches the OCSP responses and CRLs a certificate names (its
// Authority Information Access OCSP URL and CRL distribution points), with
// a timeout per request, a bound per verification and a cache that keeps
// each answer until its nextUpdate. It is safe for concurrent use and
// starts no goroutines.
type Fetcher struct {
	// Client makes the requests; nil uses a client with Timeout and no
	// keep-alive.
	Client *http.Client
	// Timeout bounds one request; zero means 5 seconds.
	Timeout time.Duration
	// Bound is the most a whole verification may spend fetching (see
	// Context); zero means 10 seconds.
	Bound time.Duration
	// MaxSize is the largest response read; zero means 16 MiB.
	MaxSize int64
	// Now is the clock for the cache; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

// cached is one fetched answer; failures are remembered briefly so that a
// dead server does not cost every verification its timeout again.
type cached struct {
	body  []byte
	err   error
	until time.Time
}

// Cache limits.
const (
	maxCacheEntries = 1024
	failureTTL      = time.Minute
)

// Context returns ctx bounded by the Fetcher's per-verification bound;
// verifiers call it once per document, so fetching never holds a Send up
// for longer than Bound. A nil Fetcher returns ctx unchanged.
func (f *Fetcher) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	if f == nil {
		return ctx, func() {}
	}
	b := f.Bound
	if b <= 0 {
		b = 10 * time.Second
	}
	return context.WithTimeout(ctx, b)
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// fetch asks the certificate's OCSP responders, then its CRL distribution
// points, stopping at the first usable answer.
func (f *Fetcher) fetch(ctx context.Context, cert, issuer *x509.Certificate, at, now time.Time) []Result {
	var out []Result
	usable := func(r Result) bool { return r.Status == StatusGood || r.Status == StatusRevoked }
	for _, url := range cert.OCSPServer {
		if !httpURL(url) {
			continue
		}
		req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{})
		if err != nil {
			continue
		}
		key := fmt.Sprintf("ocsp %s %x", url, sha256.Sum256(req))
		body, err := f.get(ctx, key, url, req, func(b []byte) time.Time {
			if r, err := ocsp.ParseResponseForCert(b, cert, issuer); err == nil {
				return r.NextUpdate
			}
			return time.Time{}
		})
		if err != nil {
			out = append(out, Result{Status: StatusUnknown, Source: SourceOCSP, Origin: url,
				Problems: []string{fmt.Sprintf("OCSP responder %s did not answer: %v", url, err)}})
			continue
		}
		if r, ok := checkOCSP(body, url, cert, issuer, at, now); ok {
			out = append(out, r)
			if usable(r) {
				return out
			}
		}
	}
	for _, url := range cert.CRLDistributionPoints {
		if !httpURL(url) {
			continue
		}
		body, err := f.get(ctx, "crl "+url, url, nil, func(b []byte) time.Time {
			if l, err := parseCRL(b); err == nil {
				return l.NextUpdate
			}
			return time.Time{}
		})
		var crl *x509.RevocationList
		if err == nil {
			crl, err = parseCRL(body)
		}
		if err != nil {
			out = append(out, Result{Status: StatusUnknown, Source: SourceCRL, Origin: url,
				Problems: []string{fmt.Sprintf("CRL from %s could not be fetched: %v", url, err)}})
			continue
		}
		r := checkCRL(crl, url, nil, cert, issuer, at, now)
		out = append(out, r)
		if usable(r) {
			return out
		}
	}
	return out
}

func httpURL(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

// parseCRL reads a DER or PEM CRL.
func parseCRL(b []byte) (*x509.RevocationList, error) {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN")) {
		l, err := ParseCRLs(b)
		if err != nil {
			return nil, err
		}
		return l[0], nil
	}
	return x509.ParseRevocationList(b)
}

// get returns the body at url (a POST of post if non-nil, else a GET),
// from the cache while the answer's nextUpdate has not passed.
func (f *Fetcher) get(ctx context.Context, key, url string, post []byte, nextUpdate func([]byte) time.Time) ([]byte, error) {
	now := f.now()
	f.mu.Lock()
	if c, ok := f.cache[key]; ok && now.Before(c.until) {
		f.mu.Unlock()
		return c.body, c.err
	}
	f.mu.Unlock()

	body, err := f.do(ctx, url, post)
	c := cached{body: body, err: err, until: now.Add(failureTTL)}
	if err == nil {
		c.until = nextUpdate(body)
	}
	if ctx.Err() != nil && err != nil {
		return nil, err // our own bound ran out; not the server's fault
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cache == nil {
		f.cache = make(map[string]cached)
	}
	if len(f.cache) >= maxCacheEntries {
		for k, v := range f.cache {
			if !now.Before(v.until) {
				delete(f.cache, k)
			}
		}
		if len(f.cache) >= maxCacheEntries {
			clear(f.cache)
		}
	}
	if now.Before(c.until) {
		f.cache[key] = c
	}
	return body, err
}

func (f *Fetcher) do(ctx context.Context, url string, post []byte) ([]byte, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method, body := http.MethodGet, io.Reader(nil)
	if post != nil {
		method, body = http.MethodPost, bytes.NewReader(post)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	if post != nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	client := f.Client
	if client == nil {
		// No keep-alive: fetches are rare (answers are cached), and no
		// idle connection outlives the verification that made it.
		client = &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	limit := f.MaxSize
	if limit <= 0 {
		limit = 16 << 20
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return b, nil
}
