// Package provision lays out a hub directory for development and
// evaluation: a province root CA, the hub's certificate, one certificate and
// key per agency of a sample province, the trust store, and the hub
// database holding the sample directory. It is what `lthub init` runs.
package provision

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// Layout names the files of a hub directory D.
type Layout struct{ Dir string }

// CACert is the province root certificate.
func (l Layout) CACert() string { return filepath.Join(l.Dir, "ca", "ca.pem") }

// CAKey is the province root key (kept beside it only in development).
func (l Layout) CAKey() string { return filepath.Join(l.Dir, "ca", "ca-key.pem") }

// HubCert is the hub's TLS and receipt-signing certificate.
func (l Layout) HubCert() string { return filepath.Join(l.Dir, "hub", "cert.pem") }

// HubKey is the hub's private key.
func (l Layout) HubKey() string { return filepath.Join(l.Dir, "hub", "key.pem") }

// Data is the store directory (bbolt file and blobs).
func (l Layout) Data() string { return filepath.Join(l.Dir, "hub", "data") }

// Serving holds the gRPC address of the hub while `lthub serve` runs, so
// that admin commands find it without being told.
func (l Layout) Serving() string { return filepath.Join(l.Dir, "hub", "serving.addr") }

// Trust is the trust store for document signatures (roots/, crls/).
func (l Layout) Trust() string { return filepath.Join(l.Dir, "trust") }

// Agency is the directory a node needs: cert.pem, key.pem, ca.pem. Its
// leader/ subdirectory holds a personal signing certificate for the
// agency's head, who signs documents before the agency seal (dev only).
func (l Layout) Agency(code string) string { return filepath.Join(l.Dir, "agencies", code) }

// Leader is the directory of the agency head's signing certificate and key.
func (l Layout) Leader(code string) string { return filepath.Join(l.Agency(code), "leader") }

// Operator is the directory of the operator identity lthub uses for
// admin calls (report, counters): cert.pem, key.pem, ca.pem.
func (l Layout) Operator() string { return filepath.Join(l.Dir, "operator") }

// Operators holds the PEM certificates the hub accepts on its admin
// service, one file each. Adding one (and sending SIGHUP) grants access;
// removing one revokes it.
func (l Layout) Operators() string { return filepath.Join(l.Dir, "operators") }

// SampleAgency is one agency of the sample province.
type SampleAgency struct {
	Code string
	Name string
	Kind lienthongv1.AgencyKind
}

// SampleProvince returns the sample directory: the provincial People's
// Committee first, then departments, a unit, districts and their communes.
func SampleProvince() []SampleAgency {
	const (
		prov = lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
		dept = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
		dist = lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
		comm = lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE
		unit = lienthongv1.AgencyKind_AGENCY_KIND_UNIT
	)
	return []SampleAgency{
		{"000.00.00.H53", "UBND tỉnh", prov},
		{"000.00.01.H53", "Sở Nội vụ", dept},
		{"000.00.02.H53", "Sở Tài chính", dept},
		{"000.00.03.H53", "Sở Thông tin và Truyền thông", dept},
		{"000.01.03.H53", "Trung tâm Công nghệ thông tin và Truyền thông", unit},
		{"000.00.31.H53", "UBND huyện Đông Sơn", dist},
		{"000.01.31.H53", "UBND xã Đông Hòa", comm},
		{"000.02.31.H53", "UBND xã Đông Khê", comm},
		{"000.03.31.H53", "UBND xã Đông Ninh", comm},
		{"000.00.32.H53", "UBND huyện Tây Sơn", dist},
		{"000.01.32.H53", "UBND xã Tây An", comm},
		{"000.02.32.H53", "UBND xã Tây Bình", comm},
		{"000.03.32.H53", "UBND xã Tây Phú", comm},
	}
}

// Options tune Init.
type Options struct {
	Now       func() time.Time
	Agencies  []SampleAgency // nil: SampleProvince()
	Validity  time.Duration  // of issued certificates; default 2 years
	HubHosts  []string       // DNS names/IPs in the hub certificate; default localhost, 127.0.0.1, ::1
	KeyType   pki.KeyType
	PutAgency func(ctx context.Context, agencies []*lienthongv1.Agency) error
}

// Init creates a new hub directory under dir and returns the agencies it
// created, the province first. It refuses a directory that already holds a
// CA. PutAgency stores the directory (the hub store's PutAgencies).
func Init(ctx context.Context, dir string, opts Options) ([]*lienthongv1.Agency, error) {
	l := Layout{Dir: dir}
	if _, err := os.Stat(l.CACert()); err == nil {
		return nil, fmt.Errorf("%s already holds a hub (found %s); choose an empty directory", dir, l.CACert())
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Agencies == nil {
		opts.Agencies = SampleProvince()
	}
	if opts.Validity == 0 {
		opts.Validity = 2 * 365 * 24 * time.Hour
	}
	if opts.HubHosts == nil {
		opts.HubHosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if opts.PutAgency == nil {
		return nil, fmt.Errorf("provision: no store to put the directory in")
	}
	notBefore := opts.Now().Add(-time.Hour).Truncate(time.Second)
	notAfter := notBefore.Add(opts.Validity)

	root, err := pki.NewRoot(pki.Request{
		CommonName: "Lienthong Dev Root CA " + opts.Now().Format("2006-01-02"), Organization: "Sở TT&TT (development)",
		NotBefore: notBefore, NotAfter: notAfter.Add(365 * 24 * time.Hour), KeyType: opts.KeyType,
	})
	if err != nil {
		return nil, err
	}
	if err := writePair(l.CACert(), l.CAKey(), root.Cert, root.Key, nil); err != nil {
		return nil, err
	}
	if err := pki.WriteFile(filepath.Join(l.Trust(), "roots", "province-root.pem"), pki.CertPEM(root.Cert), 0o644); err != nil {
		return nil, err
	}
	// The hub requires revocation information for every certificate below
	// an anchor; the development root starts with an empty CRL valid as
	// long as the certificates it issues. A national CA's CRLs replace it.
	crl, err := root.CRL(nil, notBefore, notBefore, notAfter, 1)
	if err != nil {
		return nil, err
	}
	if err := pki.WriteFile(filepath.Join(l.Trust(), "crls", "province.crl"), pki.CRLPEM(crl), 0o644); err != nil {
		return nil, err
	}

	var dns []string
	var ips []net.IP
	for _, h := range opts.HubHosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, h)
		}
	}
	hubCert, hubKey, err := root.Issue(pki.Request{
		CommonName: "lienthong hub", Organization: "Sở TT&TT", DNSNames: dns, IPAddresses: ips,
		NotBefore: notBefore, NotAfter: notAfter, Usage: pki.ServerAuth | pki.DocumentSigning, KeyType: opts.KeyType,
	})
	if err != nil {
		return nil, err
	}
	if err := writePair(l.HubCert(), l.HubKey(), hubCert, hubKey, nil); err != nil {
		return nil, err
	}

	opCert, opKey, err := root.Issue(pki.Request{
		CommonName: "Trung tâm CNTT-TT (vận hành trục)", Organization: "Sở TT&TT",
		NotBefore: notBefore, NotAfter: notAfter, Usage: pki.ClientAuth, KeyType: opts.KeyType,
	})
	if err != nil {
		return nil, err
	}
	if err := writePair(filepath.Join(l.Operator(), "cert.pem"), filepath.Join(l.Operator(), "key.pem"), opCert, opKey, root.Cert); err != nil {
		return nil, err
	}
	if err := pki.WriteFile(filepath.Join(l.Operators(), "it-centre.pem"), pki.CertPEM(opCert), 0o644); err != nil {
		return nil, err
	}

	agencies := make([]*lienthongv1.Agency, 0, len(opts.Agencies))
	for _, s := range opts.Agencies {
		cert, key, err := root.Issue(pki.Request{
			CommonName: s.Code, SerialNumber: s.Code, Organization: s.Name,
			NotBefore: notBefore, NotAfter: notAfter, Usage: pki.ClientAuth | pki.DocumentSigning, KeyType: opts.KeyType,
		})
		if err != nil {
			return nil, err
		}
		ad := l.Agency(s.Code)
		if err := writePair(filepath.Join(ad, "cert.pem"), filepath.Join(ad, "key.pem"), cert, key, root.Cert); err != nil {
			return nil, err
		}
		leaderCert, leaderKey, err := root.Issue(pki.Request{
			CommonName: "Lãnh đạo " + s.Name, Organization: s.Name,
			NotBefore: notBefore, NotAfter: notAfter, Usage: pki.DocumentSigning, KeyType: opts.KeyType,
		})
		if err != nil {
			return nil, err
		}
		ld := l.Leader(s.Code)
		if err := writePair(filepath.Join(ld, "cert.pem"), filepath.Join(ld, "key.pem"), leaderCert, leaderKey, nil); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(cert.Raw)
		agencies = append(agencies, &lienthongv1.Agency{
			Code: s.Code, Name: s.Name, Kind: s.Kind,
			Status:            lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE,
			CertificateSha256: [][]byte{sum[:]},
		})
	}
	if err := opts.PutAgency(ctx, agencies); err != nil {
		return nil, fmt.Errorf("storing the directory: %w", err)
	}
	return agencies, nil
}

// writePair writes a certificate and its key, and ca.pem beside them when
// ca is given.
func writePair(certPath, keyPath string, cert *x509.Certificate, key crypto.Signer, ca *x509.Certificate) error {
	if err := pki.WriteFile(certPath, pki.CertPEM(cert), 0o644); err != nil {
		return err
	}
	keyPEM, err := pki.KeyPEM(key)
	if err != nil {
		return err
	}
	if err := pki.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	if ca != nil {
		return pki.WriteFile(filepath.Join(filepath.Dir(certPath), "ca.pem"), pki.CertPEM(ca), 0o644)
	}
	return nil
}
