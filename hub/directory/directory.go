// Package directory is the hub's in-memory view of the province's agencies:
// who exists, of what kind, whether active, and which certificates are
// bound to them. It resolves a document's recipients, including group
// addresses such as "commune:000.00.31.H53", from the code tree.
//
// A Directory is immutable; the hub swaps in a new one when the stored
// directory changes, so lookups need no locks.
package directory

import (
	"crypto/sha256"
	"crypto/x509"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Directory is a validated snapshot of the agencies of one province.
type Directory struct {
	province string // level-1 group, e.g. "H53"
	byCode   map[string]*lienthongv1.Agency
	codes    map[string]lienthong.Code
	sorted   []string
}

// New validates agencies (well-formed codes, one province, no duplicates,
// a kind for each) and builds a snapshot.
func New(agencies []*lienthongv1.Agency) (*Directory, error) {
	d := &Directory{
		byCode: make(map[string]*lienthongv1.Agency, len(agencies)),
		codes:  make(map[string]lienthong.Code, len(agencies)),
	}
	for _, a := range agencies {
		c, err := lienthong.ParseCode(a.GetCode())
		if err != nil {
			return nil, err
		}
		if d.province == "" {
			d.province = c.Province()
		} else if c.Province() != d.province {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "directory mixes provinces %s and %s", d.province, c.Province())
		}
		if _, dup := d.byCode[a.GetCode()]; dup {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "agency %s listed twice", a.GetCode())
		}
		if a.GetKind() == lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "agency %s has no kind", a.GetCode())
		}
		d.byCode[a.GetCode()] = a
		d.codes[a.GetCode()] = c
		d.sorted = append(d.sorted, a.GetCode())
	}
	sort.Strings(d.sorted)
	return d, nil
}

// Province returns the level-1 group of the province ("H53"), or "" for an
// empty directory.
func (d *Directory) Province() string { return d.province }

// Lookup returns the agency with the given code.
func (d *Directory) Lookup(code string) (*lienthongv1.Agency, bool) {
	a, ok := d.byCode[code]
	return a, ok
}

// All returns every agency sorted by code.
func (d *Directory) All() []*lienthongv1.Agency {
	out := make([]*lienthongv1.Agency, 0, len(d.sorted))
	for _, c := range d.sorted {
		out = append(out, d.byCode[c])
	}
	return out
}

// Under returns the agency with code root and every agency below it, sorted
// by code.
func (d *Directory) Under(root string) ([]*lienthongv1.Agency, error) {
	rc, err := d.known(root)
	if err != nil {
		return nil, err
	}
	out := []*lienthongv1.Agency{d.byCode[root]}
	for _, code := range d.sorted {
		if d.codes[code].IsUnder(rc) {
			out = append(out, d.byCode[code])
		}
	}
	return out, nil
}

// known parses code and checks it is in this province and in the directory.
func (d *Directory) known(code string) (lienthong.Code, error) {
	c, err := lienthong.ParseCode(code)
	if err != nil {
		return lienthong.Code{}, err
	}
	if c.Province() != d.province {
		return lienthong.Code{}, lienthong.Errorf(lienthong.KindNotFound,
			"cơ quan %s không thuộc tỉnh %s; trục chưa liên thông liên tỉnh (agency outside the province)", code, d.province)
	}
	if _, ok := d.byCode[code]; !ok {
		return lienthong.Code{}, lienthong.Errorf(lienthong.KindNotFound,
			"không có cơ quan mã %s trong danh bạ (unknown agency)", code)
	}
	return c, nil
}

// Active returns the agency if it exists and is active: the check made for
// every sender and recipient.
func (d *Directory) Active(code string) (*lienthongv1.Agency, error) {
	if _, err := d.known(code); err != nil {
		return nil, err
	}
	a := d.byCode[code]
	if a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
		return nil, lienthong.Errorf(lienthong.KindFailedPrecondition,
			"cơ quan %s (%s) đang tạm ngừng liên thông (agency suspended)", code, a.GetName())
	}
	return a, nil
}

// kindWords lists the words used in group addresses, in kind order.
func kindWords() [6]string {
	return [6]string{"unspecified", "province", "department", "district", "commune", "unit"}
}

// ParseKind returns the agency kind named by a word such as "commune".
func ParseKind(word string) (lienthongv1.AgencyKind, bool) {
	for i, w := range kindWords() {
		if i > 0 && strings.EqualFold(w, word) {
			return lienthongv1.AgencyKind(i), true
		}
	}
	return lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED, false
}

// KindName returns the word for an agency kind ("commune").
func KindName(k lienthongv1.AgencyKind) string {
	if w := kindWords(); int(k) >= 0 && int(k) < len(w) {
		return w[k]
	}
	return "unspecified"
}

// Resolve turns a document's recipient list (codes and "KIND:CODE" groups)
// into the sorted, de-duplicated list of agency codes that get a delivery.
// Every named or resolved agency must exist and be active; a group that
// resolves to nobody is an error; the sender never sends to itself.
func (d *Directory) Resolve(sender string, recipients []string) ([]string, error) {
	if len(recipients) == 0 {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "văn bản chưa có nơi nhận (no recipients)")
	}
	seen := make(map[string]bool)
	var out []string
	add := func(code string) error {
		if _, err := d.Active(code); err != nil {
			return err
		}
		if code == sender {
			return lienthong.Errorf(lienthong.KindInvalid, "cơ quan %s không thể gửi văn bản cho chính mình (sender among recipients)", code)
		}
		if !seen[code] {
			seen[code] = true
			out = append(out, code)
		}
		return nil
	}
	for _, r := range recipients {
		r = strings.TrimSpace(r)
		word, root, isGroup := strings.Cut(r, ":")
		if !isGroup {
			if err := add(r); err != nil {
				return nil, err
			}
			continue
		}
		kind, ok := ParseKind(word)
		if !ok {
			return nil, lienthong.Errorf(lienthong.KindInvalid,
				"nhóm nơi nhận %q: loại %q không hợp lệ; dùng province, department, district, commune hoặc unit", r, word)
		}
		rc, err := d.known(root)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, code := range d.sorted {
			a := d.byCode[code]
			if a.GetKind() != kind || !d.codes[code].IsUnder(rc) || code == sender {
				continue
			}
			// A suspended member of a group is skipped, not an error: the
			// group means "every active agency of this kind".
			if a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
				continue
			}
			if err := add(code); err != nil {
				return nil, err
			}
			n++
		}
		if n == 0 {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "nhóm nơi nhận %q không có cơ quan nào đang hoạt động (empty group)", r)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Authenticate maps a verified client certificate to its agency at time
// now: the code is the certificate's subject common name, the agency must
// be active, and, if the directory binds certificates to it, the
// certificate must be one of them and, during a rotation, still within
// its overlap window.
func (d *Directory) Authenticate(cert *x509.Certificate, now time.Time) (*lienthongv1.Agency, error) {
	code := cert.Subject.CommonName
	a, ok := d.byCode[code]
	if !ok {
		return nil, lienthong.Errorf(lienthong.KindPermission,
			"chứng thư số %q không gắn với cơ quan nào trong danh bạ (certificate not bound to an agency)", code)
	}
	if len(a.GetCertificateSha256()) > 0 || len(a.GetCertificates()) > 0 {
		sum := sha256.Sum256(cert.Raw)
		switch b := boundCertificate(a, sum[:]); {
		case b == nil && !slices.ContainsFunc(a.GetCertificateSha256(), func(h []byte) bool { return string(h) == string(sum[:]) }):
			return nil, lienthong.Errorf(lienthong.KindPermission,
				"chứng thư số này chưa được đăng ký cho cơ quan %s (certificate not bound to the agency)", code)
		case b != nil && b.GetAcceptedUntil() != nil && now.After(b.GetAcceptedUntil().AsTime()):
			return nil, lienthong.Errorf(lienthong.KindPermission,
				"chứng thư số này của cơ quan %s đã được thay bằng chứng thư mới và hết hạn dùng song song từ %s; dùng chứng thư mới (certificate rotated out)",
				code, b.GetAcceptedUntil().AsTime().Local().Format(time.DateTime))
		}
	}
	if a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
		return nil, lienthong.Errorf(lienthong.KindPermission,
			"cơ quan %s (%s) đang tạm ngừng liên thông (agency suspended)", code, a.GetName())
	}
	return a, nil
}

// boundCertificate returns the certificate of a with the given SHA-256, or
// nil.
func boundCertificate(a *lienthongv1.Agency, sum []byte) *lienthongv1.BoundCertificate {
	for _, b := range a.GetCertificates() {
		if string(b.GetSha256()) == string(sum) {
			return b
		}
	}
	return nil
}
