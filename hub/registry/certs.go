package registry

import (
	"crypto/sha256"
	"crypto/x509"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// ExpiryWarning is how long before a bound certificate expires the hub
// starts warning about it.
const ExpiryWarning = 30 * 24 * time.Hour

// bind returns old with b's certificate bound, after checking that the
// certificate names the agency and chains, for TLS client use, to a
// client CA. A rotation also limits the agency's other certificates to
// the overlap window; certificates whose window has passed are dropped.
func (r *Registry) bind(old *lienthongv1.Agency, op Op, b *Binding) (*lienthongv1.Agency, error) {
	cert, code, now := b.Cert, old.GetCode(), r.cfg.Now()
	if cert.Subject.CommonName != code {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"chứng thư mang tên (CN) %q, không phải mã cơ quan %s: trục nhận ra cơ quan qua tên trong chứng thư (certificate common name must be the agency code)",
			cert.Subject.CommonName, code)
	}
	if r.cfg.ClientCAs == nil {
		return nil, lienthong.Errorf(lienthong.KindInternal, "registry: no client CAs configured")
	}
	inter := x509.NewCertPool()
	for _, c := range b.Intermediates {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: r.cfg.ClientCAs, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err,
			"chứng thư của %s không do CA của tỉnh (D/ca) hay CA máy khách đã cấu hình (D/clientca) cấp cho kết nối TLS, hoặc đã hết hạn (certificate does not chain to a client CA)", code)
	}
	if op == OpRotate && !b.OverlapUntil.After(now) {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"hạn dùng song song %s phải sau thời điểm hiện tại (overlap must end in the future)", b.OverlapUntil.Format(time.DateTime))
	}
	sum := sha256.Sum256(cert.Raw)
	a := proto.Clone(old).(*lienthongv1.Agency)
	// Fingerprints stored before certificates carried dates become
	// BoundCertificates, so one list decides.
	for _, h := range a.GetCertificateSha256() {
		if findCert(a, h) == nil {
			a.Certificates = append(a.Certificates, &lienthongv1.BoundCertificate{Sha256: h})
		}
	}
	a.CertificateSha256 = nil
	if findCert(a, sum[:]) != nil {
		return nil, lienthong.Errorf(lienthong.KindAlreadyExists, "chứng thư này đã được gắn cho cơ quan %s (certificate already bound)", code)
	}
	kept := a.Certificates[:0]
	for _, c := range a.Certificates {
		if until := c.GetAcceptedUntil(); until != nil && !until.AsTime().After(now) {
			continue // its window is over: it is no longer accepted
		}
		if op == OpRotate && (c.GetAcceptedUntil() == nil || c.GetAcceptedUntil().AsTime().After(b.OverlapUntil)) {
			c.AcceptedUntil = timestamppb.New(b.OverlapUntil)
		}
		kept = append(kept, c)
	}
	a.Certificates = append(kept, Bound(cert))
	return a, nil
}

// Bound is cert as the directory binds it to an agency.
func Bound(cert *x509.Certificate) *lienthongv1.BoundCertificate {
	sum := sha256.Sum256(cert.Raw)
	return &lienthongv1.BoundCertificate{Sha256: sum[:], Subject: cert.Subject.String(), NotAfter: timestamppb.New(cert.NotAfter)}
}

func findCert(a *lienthongv1.Agency, sum []byte) *lienthongv1.BoundCertificate {
	for _, c := range a.GetCertificates() {
		if string(c.GetSha256()) == string(sum) {
			return c
		}
	}
	return nil
}

// Expiry is a bound certificate near or past its end.
type Expiry struct {
	Code     string
	Subject  string
	NotAfter time.Time
}

// Expiring lists the certificates bound to agencies, still accepted at
// now, that expire within the given time (or have expired).
func Expiring(agencies []*lienthongv1.Agency, now time.Time, within time.Duration) []Expiry {
	var out []Expiry
	for _, a := range agencies {
		for _, c := range a.GetCertificates() {
			if c.GetNotAfter() == nil || (c.GetAcceptedUntil() != nil && now.After(c.GetAcceptedUntil().AsTime())) {
				continue
			}
			if na := c.GetNotAfter().AsTime(); na.Sub(now) <= within {
				out = append(out, Expiry{Code: a.GetCode(), Subject: c.GetSubject(), NotAfter: na})
			}
		}
	}
	return out
}

// CertificateExpiry returns when the last of a's accepted certificates
// expires, and false when none carries a date.
func CertificateExpiry(a *lienthongv1.Agency, now time.Time) (time.Time, bool) {
	var last time.Time
	for _, c := range a.GetCertificates() {
		if c.GetNotAfter() == nil || (c.GetAcceptedUntil() != nil && now.After(c.GetAcceptedUntil().AsTime())) {
			continue
		}
		if na := c.GetNotAfter().AsTime(); na.After(last) {
			last = na
		}
	}
	return last, !last.IsZero()
}
