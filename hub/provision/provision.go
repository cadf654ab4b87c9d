// Package provision lays out a hub directory and issues its certificates:
// the province CA (for TLS only: the hub's server certificate, agencies'
// and operators' client certificates), the hub's certificate and its
// renewal, agency and operator certificates, and, for development, a
// sample province with a certificate and key per agency. It is what
// `lthub init`, `lthub cert renew`, `lthub agency issue` and `lthub
// operator add` run. The trust store for document signatures (D/trust)
// is separate: it holds the government and licensed CAs that sign
// documents, which a production hub does not mix with its own CA.
package provision

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/registry"
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

// ClientCAs holds further CAs (PEM, one or more per file) whose
// certificates agencies may present to the hub, beside the province CA:
// e.g. a national CA that already issued agencies' certificates.
func (l Layout) ClientCAs() string { return filepath.Join(l.Dir, "clientca") }

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
	// Province, if set, makes a production hub: the directory holds only
	// the province itself, with no certificate; no agency key is made and
	// the province CA stays out of the document trust store (Agencies is
	// ignored).
	Province *Province
	// National makes a hub whose directory may hold several provinces
	// (NationalMarker); the development sample then has a second, small
	// province (SampleNeighbour) beside the first.
	National bool
}

// Province names the province of a production hub.
type Province struct {
	// Code is the level-1 group, e.g. "H53".
	Code string
	// Name is the province's name, e.g. "tỉnh Bến Tre".
	Name string
}

// agency is the province's own directory entry (its People's Committee).
func (p Province) agency() (SampleAgency, error) {
	code := "000.00.00." + p.Code
	if _, err := lienthong.ParseCode(code); err != nil {
		return SampleAgency{}, lienthong.Errorf(lienthong.KindInvalid, "mã tỉnh %q không đúng dạng XNN, vd H53 (invalid province code)", p.Code)
	}
	if p.Name == "" {
		return SampleAgency{}, lienthong.Errorf(lienthong.KindInvalid, "thiếu tên tỉnh (province name missing)")
	}
	return SampleAgency{Code: code, Name: "UBND " + p.Name, Kind: lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE}, nil
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
	caName := "Lienthong Dev Root CA " + opts.Now().Format("2006-01-02")
	caOrg := "Sở TT&TT (development)"
	switch {
	case opts.Province != nil:
		prov, err := opts.Province.agency()
		if err != nil {
			return nil, err
		}
		opts.Agencies = []SampleAgency{prov}
		caName, caOrg = "CA liên thông "+opts.Province.Name+" (TLS) "+opts.Now().Format("2006-01-02"), "Sở TT&TT "+opts.Province.Name
	case opts.Agencies == nil:
		opts.Agencies = SampleProvince()
		if opts.National {
			opts.Agencies = append(opts.Agencies, SampleNeighbour()...)
		}
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
		CommonName: caName, Organization: caOrg,
		NotBefore: notBefore, NotAfter: notAfter.Add(365 * 24 * time.Hour), KeyType: opts.KeyType,
	})
	if err != nil {
		return nil, err
	}
	if err := writePair(l.CACert(), l.CAKey(), root.Cert, root.Key, nil); err != nil {
		return nil, err
	}
	if opts.Province == nil {
		// Development: the province CA also issues the sample agencies'
		// signing certificates, so documents are checked against it.
		if err := devTrust(l, root, notBefore, notAfter); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(filepath.Join(l.Trust(), "roots"), 0o755); err != nil {
		return nil, fmt.Errorf("creating the trust store: %w", err)
	}

	hubCert, hubKey, err := issueHub(root, opts.HubHosts, notBefore, notAfter, opts.KeyType)
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
		if opts.Province != nil {
			// Production: agencies' certificates are issued or bound
			// later (lthub agency issue|bind).
			agencies = append(agencies, &lienthongv1.Agency{Code: s.Code, Name: s.Name, Kind: s.Kind, Status: lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE})
			continue
		}
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
		agencies = append(agencies, &lienthongv1.Agency{
			Code: s.Code, Name: s.Name, Kind: s.Kind,
			Status:       lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE,
			Certificates: []*lienthongv1.BoundCertificate{registry.Bound(cert)},
		})
	}
	if opts.National {
		if err := markNational(l); err != nil {
			return nil, err
		}
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

// devTrust puts the province CA and an empty CRL of it in the document
// trust store of a development hub.
func devTrust(l Layout, root *pki.Authority, notBefore, notAfter time.Time) error {
	if err := pki.WriteFile(filepath.Join(l.Trust(), "roots", "province-root.pem"), pki.CertPEM(root.Cert), 0o644); err != nil {
		return err
	}
	// The hub requires revocation information for every certificate below
	// an anchor; the development root starts with an empty CRL valid as
	// long as the certificates it issues. A national CA's CRLs replace it.
	crl, err := root.CRL(nil, notBefore, notBefore, notAfter, 1)
	if err != nil {
		return err
	}
	return pki.WriteFile(filepath.Join(l.Trust(), "crls", "province.crl"), pki.CRLPEM(crl), 0o644)
}

// issueHub issues the hub's TLS server (and receipt-signing) certificate
// for the given DNS names and IP addresses.
func issueHub(root *pki.Authority, hosts []string, notBefore, notAfter time.Time, kt pki.KeyType) (*x509.Certificate, crypto.Signer, error) {
	var dns []string
	var ips []net.IP
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, h)
		}
	}
	if len(dns)+len(ips) == 0 {
		return nil, nil, lienthong.Errorf(lienthong.KindInvalid, "chứng thư của trục cần ít nhất một tên (--hub-name) hoặc địa chỉ IP (--hub-ip) (no hub name)")
	}
	return root.Issue(pki.Request{
		CommonName: "lienthong hub", Organization: "Sở TT&TT", DNSNames: dns, IPAddresses: ips,
		NotBefore: notBefore, NotAfter: notAfter, Usage: pki.ServerAuth | pki.DocumentSigning, KeyType: kt,
	})
}

// ClientCAPool returns the CAs whose certificates the hub accepts from
// TLS clients: the province CA and every certificate in D/clientca.
func ClientCAPool(l Layout) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	files, err := filepath.Glob(filepath.Join(l.ClientCAs(), "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("listing client CAs: %w", err)
	}
	for _, f := range append([]string{l.CACert()}, files...) {
		certs, err := pki.LoadCertificates(f)
		if err != nil {
			return nil, fmt.Errorf("loading client CAs: %w", err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}
