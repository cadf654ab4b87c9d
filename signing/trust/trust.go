// Package trust keeps the hub's trust store: the anchors that signatures
// must chain to, the intermediate CAs that help build chains, the anchors
// of time-stamping authorities and the CRLs that revoke certificates,
// loaded from a directory and reloadable while the hub runs.
//
// The directory holds:
//   - roots/*.pem: trust anchors (CA certificates, PEM, several per file);
//     chains end here and anchors are not revocation-checked;
//   - intermediates/*.pem (optional): CA certificates between an anchor
//     and a signer; they are revocation-checked like signers;
//   - tsa/*.pem (optional): anchors for RFC 3161 timestamps, kept apart so
//     that a TSA root does not become a root for document signers;
//   - crls/*.pem or crls/*.crl (optional): CRLs, PEM or DER.
//
// A CRL is accepted only if its signature verifies against a CA
// certificate of the store; otherwise Load fails, so a forged CRL never
// silently joins the store. A stale CRL loads (verification then says
// TRY_LATER and names it), so that an operator sees what to replace.
//
// Each loaded state keeps caches of the chains verified under it and of
// the CRL signatures checked against its CAs (pades.ChainCache,
// revocation.SignatureCache), bounded, and passed on by VerifyOptions; a
// reload starts with empty ones, so nothing verified under the old store
// is reused under the new one.
//
// Older stores kept intermediates in roots/. A CA certificate there that
// is not self-signed and whose issuer is also in roots/ is therefore used
// as an intermediate, not an anchor (Snapshot.Notes says so); one whose
// issuer is absent stays an anchor, as an operator who trusts only a
// subordinate CA intends.
package trust

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/revocation"
)

// Snapshot is one immutable state of the store.
type Snapshot struct {
	// Roots holds the trust anchors: the self-signed certificates of
	// roots/ and those whose issuer is not in roots/.
	Roots *x509.CertPool
	// Anchors lists them, sorted by file name.
	Anchors []*x509.Certificate
	// Intermediates are the CA certificates of intermediates/ and those of
	// roots/ issued by another certificate of roots/.
	Intermediates []*x509.Certificate
	// Certificates lists every CA certificate of roots/ and
	// intermediates/, sorted by directory and file name.
	Certificates []*x509.Certificate
	// TSARoots holds the anchors of tsa/ for timestamps; TSACertificates
	// lists them.
	TSARoots        *x509.CertPool
	TSACertificates []*x509.Certificate
	// Notes say what Load decided about an older layout, for the log.
	Notes []string
	// CRLs lists the CRLs of crls/, sorted by file name.
	CRLs []*x509.RevocationList
	// LoadedAt is when the snapshot was read.
	LoadedAt time.Time

	// chains and crlSigs remember what verification under this state
	// found (chains built, CRL signatures checked); a reload starts
	// afresh, so a changed store is never judged by the old one.
	chains  *pades.ChainCache
	crlSigs *revocation.SignatureCache
}

// Store is a trust store read from a directory. It is safe for concurrent
// use: readers see either the old or the new snapshot, never a mix.
type Store struct {
	dir  string
	now  func() time.Time
	snap atomic.Pointer[Snapshot]
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for LoadedAt and for VerifyOptions.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Load reads the trust store in dir.
func Load(dir string, opts ...Option) (*Store, error) {
	s := &Store{dir: dir, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the directory again and, if it is valid, swaps the new
// state in atomically. On error the previous state stays in use.
func (s *Store) Reload() error {
	snap, err := read(s.dir)
	if err != nil {
		return err
	}
	snap.LoadedAt = s.now()
	s.snap.Store(snap)
	return nil
}

// Snapshot returns the current state; it never changes once returned.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// Roots returns the trust anchors.
func (s *Store) Roots() *x509.CertPool { return s.snap.Load().Roots }

// Intermediates returns a pool of the intermediate CA certificates.
func (s *Store) Intermediates() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range s.snap.Load().Intermediates {
		pool.AddCert(c)
	}
	return pool
}

// CRLs returns the revocation lists.
func (s *Store) CRLs() []*x509.RevocationList { return s.snap.Load().CRLs }

// VerifyOptions returns options for pades.Verify using the current state:
// its anchors, intermediates and a revocation checker over its CRLs that
// requires revocation information for every certificate below an anchor,
// with the state's caches of verified chains and CRL signatures.
func (s *Store) VerifyOptions() pades.VerifyOptions {
	snap := s.snap.Load()
	return pades.VerifyOptions{
		Roots: snap.Roots, Intermediates: snap.Intermediates, CRLs: snap.CRLs, TSARoots: snap.TSARoots, Now: s.now,
		Revocation: &revocation.Checker{CRLs: snap.CRLs, Now: s.now, Signatures: snap.crlSigs},
		Chains:     snap.chains,
	}
}

// Now returns the store's clock's time.
func (s *Store) Now() time.Time { return s.now() }

func read(dir string) (*Snapshot, error) {
	snap := &Snapshot{
		Roots: x509.NewCertPool(), TSARoots: x509.NewCertPool(),
		chains: pades.NewChainCache(0), crlSigs: revocation.NewSignatureCache(0),
	}
	roots, rootFiles, err := loadCAs(filepath.Join(dir, "roots"), true)
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("trust: no roots/*.pem in %s", dir)
	}
	inters, _, err := loadCAs(filepath.Join(dir, "intermediates"), false)
	if err != nil {
		return nil, err
	}
	tsas, _, err := loadCAs(filepath.Join(dir, "tsa"), false)
	if err != nil {
		return nil, err
	}
	for i, c := range roots {
		if issuer := issuerIn(c, roots); issuer != nil {
			snap.Intermediates = append(snap.Intermediates, c)
			snap.Notes = append(snap.Notes, fmt.Sprintf("%s: %q is issued by %q, also in roots/; used as an intermediate (move it to intermediates/)", rootFiles[i], c.Subject.String(), issuer.Subject.String()))
			continue
		}
		snap.Roots.AddCert(c)
		snap.Anchors = append(snap.Anchors, c)
	}
	snap.Intermediates = append(snap.Intermediates, inters...)
	snap.Certificates = append(append(snap.Certificates, roots...), inters...)
	for _, c := range tsas {
		snap.TSARoots.AddCert(c)
		snap.TSACertificates = append(snap.TSACertificates, c)
	}
	crlFiles, err := listFiles(filepath.Join(dir, "crls"), ".pem", ".crl")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	cas := append(slices.Clone(snap.Certificates), tsas...)
	for _, f := range crlFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		crls, err := ParseCRLs(data)
		if err != nil {
			return nil, fmt.Errorf("trust: %s: %w", f, err)
		}
		for _, crl := range crls {
			if err := checkIssuer(crl, cas); err != nil {
				return nil, fmt.Errorf("trust: %s: %w", f, err)
			}
			snap.CRLs = append(snap.CRLs, crl)
		}
	}
	return snap, nil
}

// loadCAs reads the CA certificates of the PEM files in dir, with the file
// each came from. A missing directory is empty unless required.
func loadCAs(dir string, required bool) ([]*x509.Certificate, []string, error) {
	files, err := listFiles(dir, ".pem")
	if errors.Is(err, os.ErrNotExist) && !required {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var certs []*x509.Certificate
	var from []string
	for _, f := range files {
		cs, err := pki.LoadCertificates(f)
		if err != nil {
			return nil, nil, fmt.Errorf("trust: %w", err)
		}
		for _, c := range cs {
			if !c.IsCA {
				return nil, nil, fmt.Errorf("trust: %s: %q is not a CA certificate", f, c.Subject.String())
			}
			certs = append(certs, c)
			from = append(from, f)
		}
	}
	return certs, from, nil
}

// issuerIn returns the certificate of cas, other than c, that signed c.
func issuerIn(c *x509.Certificate, cas []*x509.Certificate) *x509.Certificate {
	if bytes.Equal(c.RawIssuer, c.RawSubject) {
		return nil
	}
	for _, ca := range cas {
		if ca != c && bytes.Equal(ca.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// listFiles returns the files in dir ending in one of exts, sorted.
func listFiles(dir string, exts ...string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		for _, ext := range exts {
			if strings.EqualFold(filepath.Ext(e.Name()), ext) {
				out = append(out, filepath.Join(dir, e.Name()))
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ParseCRLs reads the CRLs in data: PEM "X509 CRL" blocks, or one DER
// CRL; see revocation.ParseCRLs.
func ParseCRLs(data []byte) ([]*x509.RevocationList, error) { return revocation.ParseCRLs(data) }

// checkIssuer requires crl to be signed by one of the CA certificates.
func checkIssuer(crl *x509.RevocationList, cas []*x509.Certificate) error {
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
			return nil
		}
	}
	return fmt.Errorf("CRL of %s is not signed by a CA in roots/, intermediates/ or tsa/", crl.Issuer.String())
}
