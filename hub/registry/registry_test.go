package registry_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// fixture is a registry over a real store holding a small directory.
type fixture struct {
	reg    *registry.Registry
	st     *store.Store
	ca     *pki.Authority
	now    time.Time
	reload int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureScope(t, false)
}

// newFixtureScope is newFixture for a national registry (several
// provinces) when national is true.
func newFixtureScope(t *testing.T, national bool) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	ca, err := pki.NewRoot(pki.Request{CommonName: "Province CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	f := &fixture{st: st, ca: ca, now: now}
	f.reg = registry.New(registry.Config{Store: st, ClientCAs: pool, National: national, Now: func() time.Time { return f.now },
		Reload: func(context.Context) error { f.reload++; return nil }})
	rows := mustRead(t, `code,name,kind
000.00.00.H53,UBND tỉnh,province
000.00.31.H53,UBND huyện,district
000.01.31.H53,UBND xã,commune
000.00.01.H53,Sở Nội vụ,department
`)
	if _, err := f.reg.Apply(context.Background(), registry.Change{Op: registry.OpImport, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustRead(t *testing.T, csv string) []registry.Row {
	t.Helper()
	rows, err := registry.ReadCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	a, err := f.st.Agencies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(a)
}

// TestImportRefusesBadRows: each bad row is named by its line and field,
// with the error's kind, and nothing of the file is stored.
func TestImportRefusesBadRows(t *testing.T) {
	const head = "code,name,kind,parent,status,contact\n000.02.31.H53,UBND xã 2,commune,,,\n"
	cases := []struct {
		name, row string
		kind      lienthong.Kind
		want      string
	}{
		{"code format", "00.00.32.H53,X,district,,,", lienthong.KindInvalid, "dòng 3, cột code: mã định danh \"00.00.32.H53\" không đúng dạng"},
		{"other province", "000.00.32.H54,X,district,,,", lienthong.KindInvalid, "dòng 3, cột code: mã 000.00.32.H54 thuộc tỉnh H54"},
		{"parent missing", "000.01.33.H53,X,commune,,,", lienthong.KindNotFound, "dòng 3, cột parent: cơ quan cấp trên 000.00.33.H53 của 000.01.33.H53 không có trong danh bạ"},
		{"parent not higher", "000.00.33.H53,X,district,000.01.31.H53,,", lienthong.KindInvalid, "dòng 3, cột parent: cơ quan cấp trên 000.01.31.H53 (cấp 3) không ở cấp cao hơn 000.00.33.H53 (cấp 2)"},
		{"parent malformed", "000.00.33.H53,X,district,abc,,", lienthong.KindInvalid, "dòng 3, cột parent: cơ quan cấp trên \"abc\""},
		{"province with parent", "000.00.00.H53,UBND tỉnh,province,000.00.31.H53,,", lienthong.KindInvalid, "dòng 3, cột parent: 000.00.00.H53 là cấp tỉnh"},
		{"no name", "000.00.33.H53,,district,,,", lienthong.KindInvalid, "dòng 3, cột name"},
		{"no kind", "000.00.33.H53,X,,,,", lienthong.KindInvalid, "dòng 3, cột kind"},
		{"listed twice", "000.02.31.H53,Y,commune,,,", lienthong.KindInvalid, "dòng 3, cột code: mã 000.02.31.H53 xuất hiện hai lần"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.reg.Apply(context.Background(), registry.Change{Op: registry.OpImport, Rows: mustRead(t, head+tc.row+"\n")})
			if err == nil || lienthong.ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v (kind %d), want kind %d containing %q", err, lienthong.ErrorKind(err), tc.kind, tc.want)
			}
			if n := f.count(t); n != 4 {
				t.Errorf("store holds %d agencies after a refused import, want the 4 before it", n)
			}
			if f.reload != 1 {
				t.Errorf("the refused import reloaded the hub (%d reloads)", f.reload)
			}
		})
	}
}

// TestReadRefusesBadFiles: file-level mistakes name the line.
func TestReadRefusesBadFiles(t *testing.T) {
	cases := []struct{ name, csv, want string }{
		{"unknown column", "code,name,kind,email\n", "dòng 1: cột \"email\" không rõ"},
		{"missing column", "code,name\n", "dòng 1: thiếu cột \"kind\""},
		{"field count", "code,name,kind\n000.00.33.H53,X\n", "dòng 2: có 2 cột, dòng tiêu đề có 3"},
		{"unknown kind", "code,name,kind\n000.00.33.H53,X,village\n", "dòng 2, cột kind: loại \"village\" không rõ"},
		{"unknown status", "code,name,kind,status\n000.00.33.H53,X,district,closed\n", "dòng 2, cột status: trạng thái \"closed\" không rõ"},
		{"empty", "", "tệp danh bạ rỗng"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := registry.ReadCSV(strings.NewReader(tc.csv))
			if err == nil || lienthong.ErrorKind(err) != lienthong.KindInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadCSV: %v, want %q", err, tc.want)
			}
		})
	}
	rows, err := registry.ReadJSON(strings.NewReader(`[{"code":"000.00.33.H53","name":"X","kind":"district"},{"code":"000.01.33.H53","name":"Y","kind":"hamlet"}]`))
	if err == nil || !strings.Contains(err.Error(), "dòng 2, cột kind") {
		t.Errorf("ReadJSON: %v %v, want the second item named", rows, err)
	}
}

// TestDryRunAndDiff: a dry run reports what an import would do and
// stores nothing; applied, the same import stores exactly that and a
// second one changes nothing.
func TestDryRunAndDiff(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rows := mustRead(t, `code,name,kind,parent,status,contact
000.00.31.H53,UBND huyện Đông Sơn,district,000.00.00.H53,active,
000.02.31.H53,UBND xã 2,commune,,suspended,vanthu@x
000.01.31.H53,UBND xã,commune,,,
`)
	diff, err := f.reg.Apply(ctx, registry.Change{Op: registry.OpImport, Rows: rows, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff.Applied || len(diff.Added) != 1 || diff.Added[0].Code != "000.02.31.H53" || diff.Added[0].Line != 3 ||
		len(diff.Changed) != 1 || diff.Unchanged != 1 {
		t.Fatalf("dry run diff %+v", diff)
	}
	if got := diff.Changed[0]; got.Code != "000.00.31.H53" || got.Line != 2 || len(got.Fields) != 1 || got.Fields[0] != `name: "UBND huyện" → "UBND huyện Đông Sơn"` {
		t.Errorf("changed row %+v", got)
	}
	if n := f.count(t); n != 4 || f.reload != 1 {
		t.Fatalf("dry run stored something: %d agencies, %d reloads", n, f.reload)
	}
	if diff, err = f.reg.Apply(ctx, registry.Change{Op: registry.OpImport, Rows: rows}); err != nil || !diff.Applied {
		t.Fatalf("apply: %+v %v", diff, err)
	}
	if n := f.count(t); n != 5 || f.reload != 2 {
		t.Errorf("after the import: %d agencies, %d reloads", n, f.reload)
	}
	a, err := f.reg.Agency(ctx, "000.02.31.H53")
	if err != nil || a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED || a.GetContact() != "vanthu@x" {
		t.Errorf("imported agency %v %v", a, err)
	}
	if diff, err = f.reg.Apply(ctx, registry.Change{Op: registry.OpImport, Rows: rows}); err != nil || len(diff.Added)+len(diff.Changed) != 0 || diff.Unchanged != 3 || diff.Applied {
		t.Errorf("second import: %+v %v", diff, err)
	}
	// add refuses an existing code; update an unknown one.
	if _, err := f.reg.Apply(ctx, registry.Change{Op: registry.OpAdd, Rows: rows[:1]}); lienthong.ErrorKind(err) != lienthong.KindAlreadyExists {
		t.Errorf("add of an existing agency: %v", err)
	}
	unknown := []registry.Row{{Agency: &lienthongv1.Agency{Code: "000.00.39.H53", Name: "X"}}}
	if _, err := f.reg.Apply(ctx, registry.Change{Op: registry.OpUpdate, Rows: unknown}); lienthong.ErrorKind(err) != lienthong.KindNotFound ||
		!strings.Contains(err.Error(), "không có cơ quan mã 000.00.39.H53") {
		t.Errorf("update of an unknown agency: %v", err)
	}
}

func (f *fixture) issue(t *testing.T, ca *pki.Authority, cn string) *x509.Certificate {
	t.Helper()
	c, _, err := ca.Issue(pki.Request{CommonName: cn, NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(20 * 24 * time.Hour), Usage: pki.ClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBindAndRotate: a certificate binds only to the agency it names and
// only from a client CA; a rotation keeps the old one accepted until the
// end of the overlap, then only the new one; expiry shows within 30 days.
func TestBindAndRotate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const code = "000.01.31.H53"
	old := f.issue(t, f.ca, code)
	bind := func(op registry.Op, c *x509.Certificate, until time.Time) error {
		_, err := f.reg.Apply(ctx, registry.Change{Op: op, Bind: &registry.Binding{Code: code, Cert: c, OverlapUntil: until}})
		return err
	}
	other, err := pki.NewRoot(pki.Request{CommonName: "Other CA", NotBefore: f.now.Add(-time.Hour), NotAfter: f.now.Add(time.Hour * 24 * 365)})
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		op   registry.Op
		cert *x509.Certificate
		at   time.Time
		want string
	}{
		{"other agency's name", registry.OpBind, f.issue(t, f.ca, "000.02.31.H53"), time.Time{}, "không phải mã cơ quan 000.01.31.H53"},
		{"unknown CA", registry.OpBind, f.issue(t, other, code), time.Time{}, "không do CA của tỉnh"},
		{"overlap in the past", registry.OpRotate, f.issue(t, f.ca, code), f.now.Add(-time.Minute), "phải sau thời điểm hiện tại"},
	}
	for _, r := range refusals {
		if err := bind(r.op, r.cert, r.at); err == nil || lienthong.ErrorKind(err) != lienthong.KindInvalid || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: %v, want %q", r.name, err, r.want)
		}
	}
	if err := bind(registry.OpBind, old, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := bind(registry.OpBind, old, time.Time{}); lienthong.ErrorKind(err) != lienthong.KindAlreadyExists {
		t.Errorf("binding the same certificate twice: %v", err)
	}
	next := f.issue(t, f.ca, code)
	until := f.now.Add(48 * time.Hour)
	if err := bind(registry.OpRotate, next, until); err != nil {
		t.Fatal(err)
	}
	agencies, err := f.st.Agencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(agencies)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		at   time.Time
		ok   bool
	}{
		{"old during overlap", old, until, true},
		{"new during overlap", next, until, true},
		{"old after overlap", old, until.Add(time.Second), false},
		{"new after overlap", next, until.Add(time.Second), true},
	} {
		_, err := dir.Authenticate(tc.cert, tc.at)
		if (err == nil) != tc.ok || (!tc.ok && !strings.Contains(err.Error(), "đã được thay bằng chứng thư mới")) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	exp := registry.Expiring(agencies, f.now, registry.ExpiryWarning)
	if len(exp) != 2 || exp[0].Code != code {
		t.Errorf("expiring within 30 days: %+v, want both certificates of %s (20 days left)", exp, code)
	}
	if exp := registry.Expiring(agencies, until.Add(time.Second), registry.ExpiryWarning); len(exp) != 1 {
		t.Errorf("after the overlap only the new certificate is worth a warning: %+v", exp)
	}
}

// A national registry imports another province's agencies, whose parents
// must lead to that province's own People's Committee; nothing of a
// refused file is stored.
func TestNationalImport(t *testing.T) {
	const head = "code,name,kind,parent,status,contact\n"
	cases := []struct {
		name, rows string
		kind       lienthong.Kind
		want       string // "" for accepted
		count      int
	}{
		{"another province", "000.00.00.H54,UBND tỉnh B,province,,,\n000.00.31.H54,UBND huyện B,district,,,\n", 0, "", 6},
		{"its province missing", "000.00.31.H55,UBND huyện C,district,,,\n", lienthong.KindNotFound,
			"dòng 2, cột parent: cơ quan cấp trên 000.00.00.H55 của 000.00.31.H55 không có trong danh bạ", 4},
		{"parent in another province", "000.00.00.H54,UBND tỉnh B,province,,,\n000.00.32.H54,UBND huyện B,district,000.00.00.H53,,\n", lienthong.KindInvalid,
			"dòng 3, cột parent: cơ quan cấp trên 000.00.00.H53 của 000.00.32.H54 thuộc tỉnh khác (H53)", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureScope(t, true)
			_, err := f.reg.Apply(context.Background(), registry.Change{Op: registry.OpImport, Rows: mustRead(t, head+tc.rows)})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("import: %v", err)
			case tc.want != "" && (err == nil || lienthong.ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("import: %v (kind %d), want kind %d containing %q", err, lienthong.ErrorKind(err), tc.kind, tc.want)
			}
			if n := f.count(t); n != tc.count {
				t.Errorf("store holds %d agencies, want %d", n, tc.count)
			}
		})
	}
}
