package provision

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/pkcs12"
	"github.com/lienthong/lienthong/signing/pki"
)

// Authority loads the province CA of the hub directory: it issues the
// hub's, agencies' and operators' TLS certificates.
func (l Layout) Authority() (*pki.Authority, error) {
	certs, err := pki.LoadCertificates(l.CACert())
	if err != nil {
		return nil, fmt.Errorf("loading the province CA: %w", err)
	}
	key, err := pki.LoadKey(l.CAKey())
	if err != nil {
		return nil, fmt.Errorf("loading the province CA key (%s): %w", l.CAKey(), err)
	}
	return &pki.Authority{Cert: certs[0], Key: key}, nil
}

// IssueOptions tune the certificates the province CA issues after Init.
type IssueOptions struct {
	Now func() time.Time
	// Validity of the certificate; default 2 years.
	Validity time.Duration
	KeyType  pki.KeyType
}

func (o IssueOptions) window() (time.Time, time.Time) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	v := o.Validity
	if v == 0 {
		v = 2 * 365 * 24 * time.Hour
	}
	nb := now().Add(-time.Hour).Truncate(time.Second)
	return nb, nb.Add(v)
}

// Issued is a new key and its certificate from the province CA.
type Issued struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CA is the province CA certificate: a node's ca.pem, with which it
	// checks the hub's certificate.
	CA *x509.Certificate
}

// IssueAgency issues a TLS client (and document-signing) certificate for
// the agency code, named name, from the province CA. It binds nothing:
// the registry does that.
func (l Layout) IssueAgency(code, name string, o IssueOptions) (*Issued, error) {
	if _, err := lienthong.ParseCode(code); err != nil {
		return nil, err
	}
	ca, err := l.Authority()
	if err != nil {
		return nil, err
	}
	nb, na := o.window()
	cert, key, err := ca.Issue(pki.Request{CommonName: code, SerialNumber: code, Organization: name,
		NotBefore: nb, NotAfter: na, Usage: pki.ClientAuth | pki.DocumentSigning, KeyType: o.KeyType})
	if err != nil {
		return nil, fmt.Errorf("issuing the certificate of %s: %w", code, err)
	}
	return &Issued{Cert: cert, Key: key, CA: ca.Cert}, nil
}

// IssueOperator issues a TLS client certificate for an operator of the
// hub's admin service and HTTPS dashboard.
func (l Layout) IssueOperator(name string, o IssueOptions) (*Issued, error) {
	ca, err := l.Authority()
	if err != nil {
		return nil, err
	}
	nb, na := o.window()
	cert, key, err := ca.Issue(pki.Request{CommonName: name, Organization: "Sở TT&TT",
		NotBefore: nb, NotAfter: na, Usage: pki.ClientAuth, KeyType: o.KeyType})
	if err != nil {
		return nil, fmt.Errorf("issuing the operator certificate %q: %w", name, err)
	}
	return &Issued{Cert: cert, Key: key, CA: ca.Cert}, nil
}

// WriteIdentity writes what a node (or an operator's lthub) needs into
// dir: cert.pem, key.pem (0600) and ca.pem.
func WriteIdentity(dir string, id *Issued) error {
	return writePair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), id.Cert, id.Key, id.CA)
}

// WritePKCS12 writes id as a PKCS#12 file protected by password, for a
// browser or an operating system's certificate store.
func WritePKCS12(path string, id *Issued, friendlyName, password string) error {
	p12, err := pkcs12.Encode(id.Key, id.Cert, []*x509.Certificate{id.CA}, friendlyName, password)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return pki.WriteFile(path, p12, 0o600)
}

// LoadIdentity reads an identity directory WriteIdentity wrote.
func LoadIdentity(dir string) (*Issued, error) {
	certs, err := pki.LoadCertificates(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return nil, err
	}
	key, err := pki.LoadKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, err
	}
	ca, err := pki.LoadCertificates(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, err
	}
	return &Issued{Cert: certs[0], Key: key, CA: ca[0]}, nil
}

// AddOperator lets cert call the admin service and open the HTTPS
// dashboard, as operator name (a file in D/operators). A running hub
// sees it after SIGHUP.
func (l Layout) AddOperator(name string, cert *x509.Certificate) error {
	path, err := l.operatorFile(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return lienthong.Errorf(lienthong.KindAlreadyExists, "đã có người vận hành %q (%s); chọn tên khác hoặc xóa trước (operator exists)", name, path)
	}
	return pki.WriteFile(path, pki.CertPEM(cert), 0o644)
}

// RemoveOperator revokes operator name's access (after SIGHUP on a
// running hub).
func (l Layout) RemoveOperator(name string) error {
	path, err := l.operatorFile(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); os.IsNotExist(err) {
		return lienthong.Errorf(lienthong.KindNotFound, "không có người vận hành %q trong %s (no such operator)", name, l.Operators())
	} else if err != nil {
		return fmt.Errorf("removing operator %q: %w", name, err)
	}
	return nil
}

func (l Layout) operatorFile(name string) (string, error) {
	if name == "" || name != filepath.Base(name) || name[0] == '.' {
		return "", lienthong.Errorf(lienthong.KindInvalid, "tên người vận hành %q không hợp lệ: dùng chữ, số, dấu gạch (invalid operator name)", name)
	}
	return filepath.Join(l.Operators(), name+".pem"), nil
}

// RenewHub issues the hub a new TLS certificate and key from the province
// CA, for hosts (DNS names and IP addresses) or, when hosts is empty, the
// names of the current one. Agencies' certificates are untouched: they
// trust the CA, not the hub's certificate. The hub uses it from its next
// start. It returns the new certificate.
func (l Layout) RenewHub(hosts []string, o IssueOptions) (*x509.Certificate, error) {
	if len(hosts) == 0 {
		certs, err := pki.LoadCertificates(l.HubCert())
		if err != nil {
			return nil, fmt.Errorf("reading the hub certificate: %w", err)
		}
		hosts = CertHosts(certs[0])
	}
	ca, err := l.Authority()
	if err != nil {
		return nil, err
	}
	nb, na := o.window()
	cert, key, err := issueHub(ca, hosts, nb, na, o.KeyType)
	if err != nil {
		return nil, err
	}
	if err := writePair(l.HubCert(), l.HubKey(), cert, key, nil); err != nil {
		return nil, err
	}
	return cert, nil
}

// CertHosts lists the DNS names and IP addresses of a server certificate.
func CertHosts(c *x509.Certificate) []string {
	hosts := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	return hosts
}

// HubHosts builds the hub certificate's names from --hub-name and
// --hub-ip values, with localhost and the loopback addresses when asked.
func HubHosts(names, ips []string, localhost bool) ([]string, error) {
	var hosts []string
	for _, ip := range ips {
		if net.ParseIP(ip) == nil {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "--hub-ip %q không phải địa chỉ IP (not an IP address)", ip)
		}
		hosts = append(hosts, ip)
	}
	for _, n := range names {
		if n == "" || net.ParseIP(n) != nil {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "--hub-name %q: cần một tên miền, địa chỉ IP dùng --hub-ip (not a DNS name)", n)
		}
		hosts = append(hosts, n)
	}
	if localhost {
		hosts = append(hosts, "localhost", "127.0.0.1", "::1")
	}
	slices.Sort(hosts)
	return slices.Compact(hosts), nil
}
