// Package directory is the hub's in-memory view of the province's agencies
// (or, for a hub that opted in, of several provinces' agencies): who
// exists, of what kind, whether active, and which certificates are bound
// to them. It resolves a document's recipients, including group addresses
// such as "commune:000.00.31.H53", from the code tree.
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

// Directory is a validated snapshot of the agencies of one province, or,
// for a hub that opted in (National), of several provinces.
type Directory struct {
	national  bool
	province  string   // level-1 group of a one-province directory, e.g. "H53"
	provinces []string // level-1 groups present, sorted
	byCode    map[string]*entry
	// sorted holds every agency in code order (the dotted string), the
	// order All, Under and pages list them in.
	sorted []*lienthongv1.Agency
	// tree holds every agency in tree order (XNN, JJ, KK, LLL), where the
	// agencies below a code follow it in one run: a subtree is a range,
	// found by binary search, never a scan of the whole directory.
	tree []*entry
}

// entry is one agency with the keys its lookups need.
type entry struct {
	agency *lienthongv1.Agency
	code   lienthong.Code
	key    string // tree-order key, e.g. "H5331" + "01" + "000"
	pos    int    // index in Directory.sorted
}

// Option tunes New.
type Option func(*options)

type options struct{ national bool }

// National makes the directory hold several provinces when on is true:
// codes of every province it lists are known, documents route between
// them, and a group address expands within the code it names. Off (the
// default), a directory is one province's, and a code of another province
// is refused: the hook for federation with a national hub.
func National(on bool) Option { return func(o *options) { o.national = on } }

// New validates agencies (well-formed codes, one province unless National,
// no duplicates, a kind for each) and builds a snapshot.
func New(agencies []*lienthongv1.Agency, opts ...Option) (*Directory, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d := &Directory{
		national: o.national,
		byCode:   make(map[string]*entry, len(agencies)),
		tree:     make([]*entry, 0, len(agencies)),
	}
	entries := make([]entry, len(agencies))
	for i, a := range agencies {
		c, err := lienthong.ParseCode(a.GetCode())
		if err != nil {
			return nil, err
		}
		if d.province == "" {
			d.province = c.Province()
		} else if c.Province() != d.province && !d.national {
			return nil, lienthong.Errorf(lienthong.KindInvalid,
				"danh bạ có cơ quan của hai tỉnh %s và %s, nhưng trục chỉ phục vụ một tỉnh; trục toàn quốc cần bật chế độ liên tỉnh (directory mixes provinces %s and %s; a national hub must opt in)",
				d.province, c.Province(), d.province, c.Province())
		}
		if _, dup := d.byCode[a.GetCode()]; dup {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "agency %s listed twice", a.GetCode())
		}
		if a.GetKind() == lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "agency %s has no kind", a.GetCode())
		}
		e := &entries[i]
		*e = entry{agency: a, code: c, key: treeKey(a.GetCode())}
		d.byCode[a.GetCode()] = e
		d.tree = append(d.tree, e)
	}
	slices.SortFunc(d.tree, func(x, y *entry) int { return strings.Compare(x.agency.GetCode(), y.agency.GetCode()) })
	d.sorted = make([]*lienthongv1.Agency, len(d.tree))
	for i, e := range d.tree {
		e.pos = i
		d.sorted[i] = e.agency
	}
	slices.SortFunc(d.tree, func(x, y *entry) int { return strings.Compare(x.key, y.key) })
	for _, e := range d.tree {
		if p := e.code.Province(); len(d.provinces) == 0 || d.provinces[len(d.provinces)-1] != p {
			d.provinces = append(d.provinces, p)
		}
	}
	if d.national {
		d.province = ""
	}
	return d, nil
}

// treeKey reorders a valid dotted code LLL.KK.JJ.XNN as XNN JJ KK LLL, so
// that sorting by it puts every code right after its ancestors (a zero
// group sorts first).
func treeKey(code string) string {
	return code[10:13] + code[7:9] + code[4:6] + code[0:3]
}

// subtreePrefix is the part of c's tree key every code below it shares.
func subtreePrefix(c lienthong.Code, key string) string {
	return key[:[5]int{0, 3, 5, 7, 10}[c.Level()]]
}

// subtree returns the entries at and below e, in tree order, e first.
func (d *Directory) subtree(e *entry) []*entry {
	prefix := subtreePrefix(e.code, e.key)
	lo, _ := slices.BinarySearchFunc(d.tree, e.key, func(x *entry, k string) int { return strings.Compare(x.key, k) })
	hi := lo + sort.Search(len(d.tree)-lo, func(i int) bool { return !strings.HasPrefix(d.tree[lo+i].key, prefix) })
	return d.tree[lo:hi]
}

// Province returns the level-1 group of a one-province directory ("H53"),
// or "" for an empty or a national directory.
func (d *Directory) Province() string { return d.province }

// IsNational reports whether the directory may hold several provinces.
func (d *Directory) IsNational() bool { return d.national }

// Provinces returns the level-1 groups the directory holds, sorted.
func (d *Directory) Provinces() []string { return slices.Clone(d.provinces) }

// Len returns the number of agencies.
func (d *Directory) Len() int { return len(d.sorted) }

// Lookup returns the agency with the given code.
func (d *Directory) Lookup(code string) (*lienthongv1.Agency, bool) {
	e, ok := d.byCode[code]
	if !ok {
		return nil, false
	}
	return e.agency, true
}

// All returns every agency sorted by code.
func (d *Directory) All() []*lienthongv1.Agency { return slices.Clone(d.sorted) }

// Under returns the agency with code root and every agency below it, the
// root first, then sorted by code. It costs O(k log k) for k agencies
// below root, whatever the size of the directory.
func (d *Directory) Under(root string) ([]*lienthongv1.Agency, error) {
	if _, err := d.known(root); err != nil {
		return nil, err
	}
	sub := d.subtree(d.byCode[root])
	below := make([]int, 0, len(sub)-1)
	for _, e := range sub[1:] {
		below = append(below, e.pos)
	}
	slices.Sort(below)
	out := make([]*lienthongv1.Agency, 0, len(sub))
	out = append(out, sub[0].agency)
	for _, i := range below {
		out = append(out, d.sorted[i])
	}
	return out, nil
}

// Page is one page of a listing.
type Page struct {
	// Agencies share the directory's own list: read them, never modify.
	Agencies []*lienthongv1.Agency
	// Next is the code to pass as after for the next page; "" on the last.
	Next string
	// Total is the number of agencies the whole listing holds.
	Total int
}

// List returns up to limit agencies of the listing Under(under) (All
// when under is empty) that come after the agency with code after (""
// for the first page). A limit of zero or less means no limit.
func (d *Directory) List(under, after string, limit int) (Page, error) {
	all := d.sorted
	if under != "" {
		var err error
		if all, err = d.Under(under); err != nil {
			return Page{}, err
		}
	}
	start := 0
	if after != "" {
		i := -1
		if e, ok := d.byCode[after]; ok && under == "" {
			i = e.pos
		} else if ok {
			i = slices.Index(all, e.agency)
		}
		if i < 0 {
			return Page{}, lienthong.Errorf(lienthong.KindInvalid,
				"mã trang %q không thuộc danh sách này; bắt đầu lại từ trang đầu (page token not in this listing)", after)
		}
		start = i + 1
	}
	p := Page{Total: len(all), Agencies: all[start:]}
	if limit > 0 && len(p.Agencies) > limit {
		p.Agencies = p.Agencies[:limit]
		p.Next = p.Agencies[limit-1].GetCode()
	}
	return p, nil
}

// known parses code and checks it is in this province (any province of
// a national directory) and in the directory.
func (d *Directory) known(code string) (lienthong.Code, error) {
	c, err := lienthong.ParseCode(code)
	if err != nil {
		return lienthong.Code{}, err
	}
	if !d.national && c.Province() != d.province {
		return lienthong.Code{}, lienthong.Errorf(lienthong.KindNotFound,
			"cơ quan %s không thuộc tỉnh %s; trục chưa liên thông liên tỉnh (agency outside the province)", code, d.province)
	}
	if _, ok := d.byCode[code]; !ok {
		if d.national {
			if _, ok := slices.BinarySearch(d.provinces, c.Province()); !ok {
				return lienthong.Code{}, lienthong.Errorf(lienthong.KindNotFound,
					"không có cơ quan mã %s: tỉnh %s chưa có trong danh bạ của trục (province not in the directory)", code, c.Province())
			}
		}
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
	a := d.byCode[code].agency
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
		if _, err := d.known(root); err != nil {
			return nil, err
		}
		n := 0
		// The group's members are the run of the tree below root: a group
		// under a province expands within that province.
		for _, e := range d.subtree(d.byCode[root])[1:] {
			a, code := e.agency, e.agency.GetCode()
			if a.GetKind() != kind || code == sender {
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
	e, ok := d.byCode[code]
	if !ok {
		return nil, lienthong.Errorf(lienthong.KindPermission,
			"chứng thư số %q không gắn với cơ quan nào trong danh bạ (certificate not bound to an agency)", code)
	}
	a := e.agency
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
