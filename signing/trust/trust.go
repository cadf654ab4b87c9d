// Package trust keeps the hub's trust store: the CA certificates that
// signatures must chain to and the CRLs that revoke certificates, loaded
// from a directory and reloadable while the hub runs.
//
// The directory holds roots/*.pem (CA certificates, PEM, several per file
// allowed) and crls/*.pem or crls/*.crl (CRLs, PEM or DER). A CRL is
// accepted only if its signature verifies against one of the roots or
// against a CA certificate in roots/ (intermediates may be listed there
// too); otherwise Load fails, so a forged CRL never silently joins the
// store.
package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// Snapshot is one immutable state of the store.
type Snapshot struct {
	// Roots holds the CA certificates of roots/.
	Roots *x509.CertPool
	// Certificates lists them, sorted by file name.
	Certificates []*x509.Certificate
	// CRLs lists the CRLs of crls/, sorted by file name.
	CRLs []*x509.RevocationList
	// LoadedAt is when the snapshot was read.
	LoadedAt time.Time
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

// CRLs returns the revocation lists.
func (s *Store) CRLs() []*x509.RevocationList { return s.snap.Load().CRLs }

// VerifyOptions returns options for pades.Verify using the current state.
func (s *Store) VerifyOptions() pades.VerifyOptions {
	snap := s.snap.Load()
	return pades.VerifyOptions{Roots: snap.Roots, CRLs: snap.CRLs, Now: s.now}
}

func read(dir string) (*Snapshot, error) {
	snap := &Snapshot{Roots: x509.NewCertPool()}
	rootFiles, err := listFiles(filepath.Join(dir, "roots"), ".pem")
	if err != nil {
		return nil, err
	}
	if len(rootFiles) == 0 {
		return nil, fmt.Errorf("trust: no roots/*.pem in %s", dir)
	}
	for _, f := range rootFiles {
		certs, err := pki.LoadCertificates(f)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		for _, c := range certs {
			if !c.IsCA {
				return nil, fmt.Errorf("trust: %s: %q is not a CA certificate", f, c.Subject.String())
			}
			snap.Roots.AddCert(c)
			snap.Certificates = append(snap.Certificates, c)
		}
	}
	crlFiles, err := listFiles(filepath.Join(dir, "crls"), ".pem", ".crl")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
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
			if err := checkIssuer(crl, snap.Certificates); err != nil {
				return nil, fmt.Errorf("trust: %s: %w", f, err)
			}
			snap.CRLs = append(snap.CRLs, crl)
		}
	}
	return snap, nil
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
// CRL. It does not check their signatures; pades.Verify and Load do.
func ParseCRLs(data []byte) ([]*x509.RevocationList, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		crl, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("parsing DER CRL: %w", err)
		}
		return []*x509.RevocationList{crl}, nil
	}
	var out []*x509.RevocationList
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing CRL: %w", err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CRL")
	}
	return out, nil
}

// checkIssuer requires crl to be signed by one of the CA certificates.
func checkIssuer(crl *x509.RevocationList, cas []*x509.Certificate) error {
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
			return nil
		}
	}
	return fmt.Errorf("CRL of %s is not signed by a CA in roots/", crl.Issuer.String())
}
