// Package registry keeps the province's agency directory: it decides
// every change to it — an import of the whole directory from a file, an
// agency added, updated, suspended or reactivated, a TLS client
// certificate bound or rotated — validates the directory that would
// result as a whole, and stores it in one transaction, or nothing.
//
// The admin service (a running hub) and lthub's offline verbs (a stopped
// hub's store) both call Registry.Apply; they only translate requests and
// flags. Apply is the one place every directory and certificate change
// passes through.
package registry

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Storage is what the registry needs of the hub's store.
type Storage interface {
	Agencies(ctx context.Context) ([]*lienthongv1.Agency, error)
	// PutAgencies stores agencies in one transaction.
	PutAgencies(ctx context.Context, agencies []*lienthongv1.Agency) error
}

// Config wires a Registry.
type Config struct {
	Store Storage
	// Reload makes the running hub use the stored directory at once; nil
	// for a stopped hub.
	Reload func(ctx context.Context) error
	// ClientCAs are the CAs whose certificates may be bound to agencies:
	// the province CA and any client CA the IT centre configured.
	ClientCAs *x509.CertPool
	// National lets the directory hold several provinces (the hub opted
	// in: provision.Layout.National); otherwise every code must be of the
	// stored directory's province.
	National bool
	Now      func() time.Time
	Logger   *slog.Logger
}

// Registry applies changes to the directory. Its methods are safe for
// concurrent use; changes are applied one at a time.
type Registry struct {
	cfg Config
	mu  sync.Mutex
}

// New returns a Registry.
func New(cfg Config) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{cfg: cfg}
}

// Op names a kind of change.
type Op string

// The changes Apply makes.
const (
	// OpImport adds each row that is new and updates each that exists.
	OpImport Op = "import"
	// OpAdd adds rows that must all be new.
	OpAdd Op = "add"
	// OpUpdate changes rows that must all exist; a row's empty fields keep
	// their stored value.
	OpUpdate Op = "update"
	// OpBind binds Change.Bind's certificate to its agency.
	OpBind Op = "bind"
	// OpRotate binds Change.Bind's certificate and limits the agency's
	// other certificates to the overlap window.
	OpRotate Op = "rotate"
)

// Row is one agency of a change, with where it came from. Only code,
// name, kind, parent, status and contact are read; certificates change
// only through Bind.
type Row struct {
	// Line is the row's number in the operator's file (1 is a CSV file's
	// header), or 0 when there is no file.
	Line   int
	Agency *lienthongv1.Agency
}

// Binding is a certificate to bind to an agency.
type Binding struct {
	Code string
	Cert *x509.Certificate
	// Intermediates help chain Cert to a client CA.
	Intermediates []*x509.Certificate
	// OverlapUntil ends a rotation's window: the agency's other
	// certificates are accepted until then, not after.
	OverlapUntil time.Time
}

// Change is one change of the directory.
type Change struct {
	Op   Op
	Rows []Row
	Bind *Binding
	// DryRun computes and returns the Diff without storing anything.
	DryRun bool
}

// Diff is what a change does (or, for a dry run, would do).
type Diff struct {
	Added     []RowChange
	Changed   []RowChange
	Unchanged int
	// Applied is false for a dry run.
	Applied bool
	// Agencies are the added and changed agencies as stored.
	Agencies []*lienthongv1.Agency
}

// RowChange is one added or changed agency.
type RowChange struct {
	Code string
	Line int
	// Fields lists each changed field as "field: old → new".
	Fields []string
}

// Apply validates ch against the stored directory and, unless it is a dry
// run, stores every agency it adds or changes in one transaction and
// makes the running hub use the result. A change that leaves any agency
// invalid stores nothing; its error (KindInvalid, KindNotFound,
// KindAlreadyExists, KindFailedPrecondition) names the row and field.
//
// Every change to the directory and to agencies' certificates goes
// through Apply.
func (r *Registry) Apply(ctx context.Context, ch Change) (*Diff, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stored, err := r.cfg.Store.Agencies(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the directory: %w", err)
	}
	cur := make(map[string]*lienthongv1.Agency, len(stored))
	for _, a := range stored {
		cur[a.GetCode()] = a
	}
	next, lines, err := r.merge(cur, ch)
	if err != nil {
		return nil, err
	}
	if err := validate(next, cur, lines, r.cfg.National); err != nil {
		return nil, err
	}
	diff := &Diff{}
	var put []*lienthongv1.Agency
	// In file order, so the diff reads like the file.
	for _, code := range byLine(lines) {
		a, old := next[code], cur[code]
		switch {
		case old == nil:
			diff.Added = append(diff.Added, RowChange{Code: code, Line: lines[code]})
		case proto.Equal(old, a):
			diff.Unchanged++
			continue
		default:
			diff.Changed = append(diff.Changed, RowChange{Code: code, Line: lines[code], Fields: changedFields(old, a)})
		}
		put = append(put, a)
	}
	diff.Agencies = put
	if ch.DryRun || len(put) == 0 {
		return diff, nil
	}
	// In code order, the store's key order: bbolt inserts each key into
	// its page's sorted list, so keys in file order cost a copy of that
	// list each (minutes for a national directory); in key order each is
	// an append.
	put = slices.Clone(put)
	slices.SortFunc(put, func(a, b *lienthongv1.Agency) int { return strings.Compare(a.GetCode(), b.GetCode()) })
	if err := r.cfg.Store.PutAgencies(ctx, put); err != nil {
		return nil, fmt.Errorf("storing the directory change: %w", err)
	}
	diff.Applied = true
	if r.cfg.Reload != nil {
		if err := r.cfg.Reload(ctx); err != nil {
			return nil, fmt.Errorf("the change is stored but the running hub did not reload the directory: %w", err)
		}
	}
	r.cfg.Logger.InfoContext(ctx, "directory changed", "op", string(ch.Op), "added", len(diff.Added), "changed", len(diff.Changed), "unchanged", diff.Unchanged)
	return diff, nil
}

// merge returns the directory after ch, and the codes ch touches with
// their row numbers.
func (r *Registry) merge(cur map[string]*lienthongv1.Agency, ch Change) (map[string]*lienthongv1.Agency, map[string]int, error) {
	next := make(map[string]*lienthongv1.Agency, len(cur)+len(ch.Rows))
	for k, v := range cur {
		next[k] = v
	}
	lines := make(map[string]int)
	switch ch.Op {
	case OpImport, OpAdd, OpUpdate:
		for _, row := range ch.Rows {
			code := row.Agency.GetCode()
			if _, dup := lines[code]; dup {
				return nil, nil, rowErr(lienthong.KindInvalid, row.Line, code, "code", "mã %s xuất hiện hai lần trong cùng một lần nhập (code listed twice)", code)
			}
			lines[code] = row.Line
			old, exists := cur[code]
			switch {
			case ch.Op == OpAdd && exists:
				return nil, nil, rowErr(lienthong.KindAlreadyExists, row.Line, code, "code", "cơ quan %s (%s) đã có trong danh bạ; dùng `agency update` (agency already exists)", code, old.GetName())
			case ch.Op == OpUpdate && !exists:
				return nil, nil, rowErr(lienthong.KindNotFound, row.Line, code, "code", "không có cơ quan mã %s trong danh bạ (no such agency)", code)
			}
			a := mergeRow(old, row.Agency)
			normalizeParent(a)
			next[code] = a
		}
	case OpBind, OpRotate:
		if ch.Bind == nil || ch.Bind.Cert == nil {
			return nil, nil, lienthong.Errorf(lienthong.KindInvalid, "thiếu chứng thư cần gắn (no certificate to bind)")
		}
		old, ok := cur[ch.Bind.Code]
		if !ok {
			return nil, nil, lienthong.Errorf(lienthong.KindNotFound, "không có cơ quan mã %s trong danh bạ (no such agency)", ch.Bind.Code)
		}
		a, err := r.bind(old, ch.Op, ch.Bind)
		if err != nil {
			return nil, nil, err
		}
		next[a.GetCode()] = a
		lines[a.GetCode()] = 0
	default:
		return nil, nil, lienthong.Errorf(lienthong.KindInvalid, "thay đổi danh bạ %q không rõ (unknown directory change)", ch.Op)
	}
	return next, lines, nil
}

// mergeRow returns old with the non-empty fields of row, or row as a new
// agency (active unless it says otherwise) when old is nil.
func mergeRow(old, row *lienthongv1.Agency) *lienthongv1.Agency {
	if old == nil {
		a := &lienthongv1.Agency{Code: row.GetCode(), Name: row.GetName(), Kind: row.GetKind(), Status: row.GetStatus(),
			Parent: row.GetParent(), Contact: row.GetContact()}
		if a.Status == lienthongv1.AgencyStatus_AGENCY_STATUS_UNSPECIFIED {
			a.Status = lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE
		}
		return a
	}
	a := proto.Clone(old).(*lienthongv1.Agency)
	if row.GetName() != "" {
		a.Name = row.GetName()
	}
	if row.GetKind() != lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED {
		a.Kind = row.GetKind()
	}
	if row.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_UNSPECIFIED {
		a.Status = row.GetStatus()
	}
	if row.GetParent() != "" {
		a.Parent = row.GetParent()
	}
	if row.GetContact() != "" {
		a.Contact = row.GetContact()
	}
	return a
}

// SetStatus suspends or reactivates one agency.
func (r *Registry) SetStatus(ctx context.Context, code string, st lienthongv1.AgencyStatus) (*lienthongv1.Agency, error) {
	if st != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE && st != lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "trạng thái %s không hợp lệ: dùng ACTIVE hoặc SUSPENDED", st)
	}
	if _, err := r.Apply(ctx, Change{Op: OpUpdate, Rows: []Row{{Agency: &lienthongv1.Agency{Code: code, Status: st}}}}); err != nil {
		return nil, err
	}
	return r.Agency(ctx, code)
}

// Agency returns the stored agency with the given code.
func (r *Registry) Agency(ctx context.Context, code string) (*lienthongv1.Agency, error) {
	agencies, err := r.cfg.Store.Agencies(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the directory: %w", err)
	}
	for _, a := range agencies {
		if a.GetCode() == code {
			return a, nil
		}
	}
	return nil, lienthong.Errorf(lienthong.KindNotFound, "không có cơ quan mã %s trong danh bạ (no such agency)", code)
}

// changedFields lists the fields that differ between old and a.
func changedFields(old, a *lienthongv1.Agency) []string {
	var out []string
	add := func(field, o, n string) {
		if o != n {
			out = append(out, fmt.Sprintf("%s: %s → %s", field, quote(o), quote(n)))
		}
	}
	add("name", old.GetName(), a.GetName())
	add("kind", KindWord(old.GetKind()), KindWord(a.GetKind()))
	add("parent", old.GetParent(), a.GetParent())
	add("status", StatusWord(old.GetStatus()), StatusWord(a.GetStatus()))
	add("contact", old.GetContact(), a.GetContact())
	if !slices.EqualFunc(old.GetCertificates(), a.GetCertificates(), func(x, y *lienthongv1.BoundCertificate) bool { return proto.Equal(x, y) }) ||
		len(old.GetCertificateSha256()) != len(a.GetCertificateSha256()) {
		out = append(out, fmt.Sprintf("certificates: %d → %d", countCerts(old), countCerts(a)))
	}
	return out
}

func countCerts(a *lienthongv1.Agency) int {
	return len(a.GetCertificates()) + len(a.GetCertificateSha256())
}

func quote(s string) string {
	if s == "" {
		return `""`
	}
	return fmt.Sprintf("%q", s)
}
