package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/policy"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// clock is the hub's clock in the compliance tests: receipts, counters and
// reports all read it, so durations and days are exact.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var ict = compliance.Zone()

// complianceHub is a hub on a settable clock, accepting unsigned
// documents (flagged), with the dashboard on loopback HTTP and HTTPS ports.
type complianceHub struct {
	*runningHub
	clk *clock
}

func startComplianceHub(t *testing.T, start time.Time) *complianceHub {
	t.Helper()
	clk := &clock{t: start}
	dir := filepath.Join(t.TempDir(), "hub")
	ctx := context.Background()
	if _, err := hub.Init(ctx, dir, provision.Options{Now: clk.Now, Validity: 10 * 365 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", HTTPS: "127.0.0.1:0", Now: clk.Now,
		Unsigned: policy.FlagUnsigned, ProvinceName: "Tỉnh Thử Nghiệm"})
	return &complianceHub{runningHub: h, clk: clk}
}

// send sends one document from agency with ltnode send and returns its
// message id; signed documents are signed at the hub's time.
func (h *complianceHub) send(t *testing.T, from string, signed bool, number, notation, date, due string, to ...string) string {
	t.Helper()
	pdf, _ := writePDF(t, h.dir, "", "vb-"+number+".pdf", samplepdf.Options{Title: "Văn bản số " + number})
	if signed {
		ad := provision.Layout{Dir: h.dir}.Agency(from)
		certs, err := pki.LoadCertificates(filepath.Join(ad, "cert.pem"))
		must(t, err)
		key, err := pki.LoadKey(filepath.Join(ad, "key.pem"))
		must(t, err)
		must(t, pades.SignFile(pdf, pdf, pades.SignOptions{Signer: key, Certificate: certs[0], Reason: "Phát hành", Time: h.clk.Now()}))
	}
	args := []string{"send", "--json", "--file", pdf, "--number", number, "--notation", notation, "--date", date,
		"--subject", "Văn bản " + number + "/" + notation, "--to", strings.Join(to, ",")}
	if due != "" {
		args = append(args, "--due", due)
	}
	rc, out, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, from, args...)
	if rc != 0 {
		t.Fatalf("ltnode send %s/%s from %s: exit %d: %s", number, notation, from, rc, errOut)
	}
	return decodeJSON[struct {
		MessageID string `json:"message_id"`
	}](t, out).MessageID
}

// ltnodeOK runs ltnode as agency code and fails the test on a non-zero
// exit.
func (h *complianceHub) ltnodeOK(t *testing.T, code string, args ...string) string {
	t.Helper()
	rc, out, errOut := ltnode(t, h.Addr(), h.dir, code, args...)
	if rc != 0 {
		t.Fatalf("ltnode %s as %s: exit %d: %s", args, code, rc, errOut)
	}
	return out
}

// lthub runs lthub with args and returns its exit code, stdout, stderr.
func lthub(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return m.Run(ctx, args), out.String(), errb.String()
}

func (h *complianceHub) report(t *testing.T, args ...string) *compliance.Report {
	t.Helper()
	rc, out, errOut := lthub(t, append([]string{"report", "--dir", h.dir, "--hub", h.Addr(), "--format", "json"}, args...)...)
	if rc != 0 {
		t.Fatalf("lthub report %q: exit %d: %s", args, rc, errOut)
	}
	return decodeJSON[*compliance.Report](t, out)
}

func rate(v float64) *float64 { return &v }
func secs(v int64) *int64     { return &v }

// sameFigures compares figures through their JSON form, so that rates and
// medians (pointers) compare by value.
func sameFigures(t *testing.T, what string, got, want compliance.Figures) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// scenario plays a month of exchange between the province, a district
// and two of its communes, with declarations, on the hub's clock. The
// expected figures in TestComplianceReport are computed by hand from it.
func scenario(t *testing.T, h *complianceHub) (doc1, doc2 string) {
	t.Helper()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, ict)
	h.clk.Set(t0)
	doc1 = h.send(t, province, true, "1", "UBND-VP", "2026-03-02", "2026-03-05", district, commune)
	doc2 = h.send(t, province, true, "2", "UBND-VP", "2026-03-02", "", district)
	h.send(t, province, true, "4", "UBND-VP", "2026-03-02", "", district)         // number 3 never appears
	h.send(t, district, false, "1", "UBND", "2026-03-02", "", province)           // unsigned, flagged
	h.send(t, district, true, "2", "UBND", "2026-03-02", "", "commune:"+district) // its three communes
	h.send(t, commune, true, "1", "UBND", "2026-03-02", "", district)

	// The district fetches its four documents after 30 minutes, the
	// province and the first commune theirs after 3 hours; the second
	// commune never does.
	h.clk.Set(t0.Add(30 * time.Minute))
	h.ltnodeOK(t, district, "inbox", "--out", t.TempDir())
	h.clk.Set(t0.Add(3 * time.Hour))
	h.ltnodeOK(t, province, "inbox", "--out", t.TempDir())
	h.ltnodeOK(t, commune, "inbox", "--out", t.TempDir())

	// Two days later the district finishes doc1 (due 2026-03-05, on time)
	// and rejects doc2; the first commune never finishes doc1.
	h.clk.Set(t0.Add(48 * time.Hour))
	h.ltnodeOK(t, district, "status", doc1, "received")
	h.ltnodeOK(t, district, "status", doc1, "done")
	h.ltnodeOK(t, district, "status", doc2, "rejected", "--reason", "Không đúng thẩm quyền")

	h.clk.Set(t0.Add(10 * 24 * time.Hour))
	for _, d := range []struct {
		agency, kind, number, notation, date string
	}{
		{province, "paper", "5", "QĐ-UBND", "2026-03-03"},
		{province, "secret", "6", "UBND-VP", "2026-03-03"},
		{district, "secret", "3", "UBND", "2026-03-10"},
		{commune, "paper", "2", "UBND", "2026-03-05"},
		{commune, "paper", "3", "QĐ-UBND", "2026-03-06"},
		{commune2, "paper", "1", "UBND", "2026-03-02"},
		{commune2, "secret", "2", "UBND", "2026-03-02"},
	} {
		h.ltnodeOK(t, d.agency, "declare", "--kind", d.kind, "--number", d.number, "--notation", d.notation, "--date", d.date, "--type", "Quyết định")
	}

	// In April the province sends number 7.
	h.clk.Set(time.Date(2026, 4, 2, 9, 0, 0, 0, ict))
	h.send(t, province, true, "7", "UBND-VP", "2026-04-02", "", district)
	h.clk.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, ict))
	return doc1, doc2
}

func TestComplianceReport(t *testing.T) {
	h := startComplianceHub(t, time.Date(2026, 3, 2, 7, 0, 0, 0, ict))
	scenario(t, h)

	rep := h.report(t, "--period", "2026-03")
	if rep.From != "2026-03-01" || rep.To != "2026-03-31" {
		t.Errorf("period %s – %s", rep.From, rep.To)
	}
	const (
		m30 = 30 * 60
		h4  = 4 * 3600
		d2  = 2 * 86400
	)
	want := map[string]compliance.Figures{
		// 3 sent (all signed), 1 paper, 1 secret: 3/4 electronic. Its
		// one received document acknowledged after 3 h (bucket ≤ 4 h).
		province: {Electronic: 3, Paper: 1, Secret: 1, ElectronicRate: rate(0.75), Signed: 3, SignedRate: rate(1),
			Received: 1, Acknowledged: 1, MedianAckSeconds: secs(h4)},
		// 2 sent, one unsigned; its secret declaration is excluded: 2/2.
		// Four received, acknowledged after 30 min; doc1 done after 2
		// days, before its due date.
		district: {Electronic: 2, Secret: 1, ElectronicRate: rate(1), Signed: 1, SignedRate: rate(0.5),
			Received: 4, Acknowledged: 4, MedianAckSeconds: secs(m30), Done: 1, MedianDoneSeconds: secs(d2), Due: 1},
		// 1 sent, 2 paper: 1/3. doc1 due 2026-03-05, never finished.
		commune: {Electronic: 1, Paper: 2, ElectronicRate: rate(1.0 / 3), Signed: 1, SignedRate: rate(1),
			Received: 2, Acknowledged: 2, MedianAckSeconds: secs(h4), Due: 1, Overdue: 1},
		// Nothing electronic, 1 paper, 1 secret: 0/1.
		commune2: {Paper: 1, Secret: 1, ElectronicRate: rate(0), Received: 1},
		// Only the group send reached the third commune.
		commune3:  {Received: 1},
		district2: {},
		deptNoiVu: {},
	}
	got := map[string]compliance.AgencyRow{}
	for _, a := range rep.Agencies {
		got[a.Code] = a
	}
	if len(rep.Agencies) != len(provision.SampleProvince()) {
		t.Errorf("%d agency rows, want %d", len(rep.Agencies), len(provision.SampleProvince()))
	}
	for code, w := range want {
		sameFigures(t, code, got[code].Figures, w)
	}
	wantGaps := map[string][]compliance.Gap{province: {{Year: 2026, From: 3, To: 3}}}
	for code, row := range got {
		g, _ := json.Marshal(row.Gaps)
		w, _ := json.Marshal(wantGaps[code])
		if want := wantGaps[code]; want == nil {
			w = []byte("[]")
		}
		if !bytes.Equal(g, w) {
			t.Errorf("gaps of %s: %s, want %s", code, g, w)
		}
	}
	if got[province].PossiblyPaper != 1 {
		t.Errorf("possibly paper of the province: %d, want 1", got[province].PossiblyPaper)
	}

	wantKinds := []struct {
		kind     string
		agencies int
		fig      compliance.Figures
	}{
		{"province", 1, want[province]},
		{"department", 3, compliance.Figures{}},
		{"district", 2, want[district]},
		// The communes: 1 electronic, 3 paper, 1 secret → 1/4.
		{"commune", 6, compliance.Figures{Electronic: 1, Paper: 3, Secret: 1, ElectronicRate: rate(0.25), Signed: 1, SignedRate: rate(1),
			Received: 4, Acknowledged: 2, MedianAckSeconds: secs(h4), Due: 1, Overdue: 1}},
		{"unit", 1, compliance.Figures{}},
	}
	if len(rep.Kinds) != len(wantKinds) {
		t.Fatalf("%d kind rows, want %d", len(rep.Kinds), len(wantKinds))
	}
	for i, w := range wantKinds {
		k := rep.Kinds[i]
		if k.Kind != w.kind || k.Agencies != w.agencies {
			t.Errorf("kind row %d: %s (%d agencies), want %s (%d)", i, k.Kind, k.Agencies, w.kind, w.agencies)
		}
		sameFigures(t, "kind "+w.kind, k.Figures, w.fig)
	}
	// Whole province: 6 electronic, 4 paper, 3 secret → 6/10; 5 of 6
	// signed; acknowledgements 4×30 min and 3×3 h: the median (4th of 7)
	// is in the 30-minute bucket.
	provinceWide := compliance.Figures{Electronic: 6, Paper: 4, Secret: 3, ElectronicRate: rate(0.6), Signed: 5, SignedRate: rate(5.0 / 6),
		Received: 9, Acknowledged: 7, MedianAckSeconds: secs(m30), Done: 1, MedianDoneSeconds: secs(d2), Due: 2, Overdue: 1}
	sameFigures(t, "province-wide", rep.Province, provinceWide)
	if len(rep.Months) != 1 || rep.Months[0].Month != "2026-03" {
		t.Fatalf("months %+v", rep.Months)
	}
	sameFigures(t, "March", rep.Months[0].Figures, provinceWide)

	// The year: April's document counts, and the months run to December.
	year := h.report(t, "--period", "2026")
	if len(year.Months) != 12 {
		t.Fatalf("%d months in the year report", len(year.Months))
	}
	if year.Province.Electronic != 7 || year.Months[3].Month != "2026-04" || year.Months[3].Electronic != 1 || year.Months[4].ElectronicRate != nil {
		t.Errorf("year report: province %d electronic, April %+v, May rate %v", year.Province.Electronic, year.Months[3], year.Months[4].ElectronicRate)
	}

	// One agency only, with --from/--to.
	one := h.report(t, "--from", "2026-03-01", "--to", "2026-03-31", "--agency", commune)
	if len(one.Agencies) != 1 || one.Agencies[0].Code != commune || one.Agency != commune {
		t.Fatalf("agency report rows: %+v", one.Agencies)
	}
	sameFigures(t, "agency report", one.Province, want[commune])

	// The counters agree with a recount of the stored documents.
	rc, out, errOut := lthub(t, "counters", "check", "--dir", h.dir, "--hub", h.Addr())
	if rc != 0 || !strings.Contains(out, "Bộ đếm khớp") {
		t.Errorf("counters check: exit %d: %s%s", rc, out, errOut)
	}

	// CSV and table carry the same figures.
	rc, out, errOut = lthub(t, "report", "--dir", h.dir, "--hub", h.Addr(), "--period", "2026-03", "--format", "csv")
	if rc != 0 {
		t.Fatalf("report csv: exit %d: %s", rc, errOut)
	}
	if !strings.Contains(out, "\nprovince,,Toàn tỉnh,,6,4,3,0.6,5,0.8333333333333334,9,7,1800,1,172800,2,1,0,\n") {
		t.Errorf("CSV lacks the province row:\n%s", out)
	}
	if !strings.Contains(out, "\nagency,000.00.00.H53,UBND tỉnh,province,3,1,1,0.75,3,1,1,1,14400,0,,0,0,1,2026: 3\n") {
		t.Errorf("CSV lacks the province agency row:\n%s", out)
	}
	rc, out, errOut = lthub(t, "report", "--dir", h.dir, "--hub", h.Addr(), "--period", "2026-03")
	if rc != 0 || !strings.Contains(out, "Toàn tỉnh") || !strings.Contains(out, "60.0%") || !strings.Contains(out, "1 (2026: 3)") {
		t.Errorf("table report: exit %d:\n%s%s", rc, out, errOut)
	}

	// Without --hub, lthub finds the running hub from its directory; with
	// the hub stopped, it reads the same figures from the database.
	for _, running := range []bool{true, false} {
		if !running {
			h.stop()
		}
		rc, out, errOut = lthub(t, "report", "--dir", h.dir, "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json")
		if rc != 0 {
			t.Fatalf("report (hub running: %v): exit %d: %s", running, rc, errOut)
		}
		sameFigures(t, fmt.Sprintf("province-wide, hub running: %v", running), decodeJSON[*compliance.Report](t, out).Province, provinceWide)
	}
	if _, err := os.Stat(provision.Layout{Dir: h.dir}.Serving()); !os.IsNotExist(err) {
		t.Errorf("serving.addr left after the hub stopped: %v", err)
	}
	rc, out, errOut = lthub(t, "report", "--dir", h.dir, "--offline", "--period", "2026-03", "--format", "json")
	if rc != 0 {
		t.Fatalf("offline report: exit %d: %s", rc, errOut)
	}
	offline := decodeJSON[*compliance.Report](t, out)
	sameFigures(t, "offline province-wide", offline.Province, provinceWide)
	for code, w := range want {
		for _, a := range offline.Agencies {
			if a.Code == code {
				sameFigures(t, "offline "+code, a.Figures, w)
			}
		}
	}
	if rc, out, errOut := lthub(t, "counters", "check", "--dir", h.dir, "--offline"); rc != 0 || !strings.Contains(out, "Bộ đếm khớp") {
		t.Errorf("offline counters check: exit %d: %s%s", rc, out, errOut)
	}
}

func TestDeclareRefusals(t *testing.T) {
	h := startComplianceHub(t, time.Date(2026, 3, 2, 7, 0, 0, 0, ict))
	h.clk.Set(time.Date(2026, 3, 2, 8, 0, 0, 0, ict))
	h.send(t, province, true, "1", "UBND-VP", "2026-03-02", "", district)
	h.ltnodeOK(t, province, "declare", "--kind", "paper", "--number", "2", "--notation", "UBND-VP", "--date", "2026-03-02")
	before := h.report(t, "--period", "2026-03")

	api := client(t, h.Addr(), h.dir, province).API()
	ctx := context.Background()
	cases := []struct {
		name string
		req  *lienthongv1.DeclareRequest
		code codes.Code
		msg  string
	}{
		{"sent electronically", &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "1", Notation: "UBND-VP", IssueDate: "2026-03-02"},
			codes.FailedPrecondition, "văn bản số 1/UBND-VP năm 2026 đã được gửi điện tử qua trục"},
		{"declared as paper before", &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET, Number: "2", Notation: "UBND-VP", IssueDate: "2026-03-02"},
			codes.AlreadyExists, "văn bản số 2/UBND-VP năm 2026 đã được khai báo với loại khác"},
		{"no kind", &lienthongv1.DeclareRequest{Number: "3", Notation: "UBND-VP", IssueDate: "2026-03-02"},
			codes.InvalidArgument, "thiếu loại khai báo"},
		{"number not an integer", &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "3a", Notation: "UBND-VP", IssueDate: "2026-03-02"},
			codes.InvalidArgument, `số văn bản "3a" phải là số nguyên dương`},
		{"no notation", &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "3", IssueDate: "2026-03-02"},
			codes.InvalidArgument, "thiếu ký hiệu văn bản"},
		{"bad date", &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "3", Notation: "UBND-VP", IssueDate: "02/03/2026"},
			codes.InvalidArgument, "không đúng dạng YYYY-MM-DD"},
		{"future date", &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "3", Notation: "UBND-VP", IssueDate: "2026-03-04"},
			codes.InvalidArgument, "ngày ban hành 2026-03-04 ở tương lai"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.Declare(ctx, tc.req)
			st := status.Convert(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("Declare: %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	// Declaring the same again is idempotent.
	resp, err := api.Declare(ctx, &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "2", Notation: "UBND-VP", IssueDate: "2026-03-02"})
	if err != nil || !resp.GetDuplicate() {
		t.Errorf("repeated declaration: %v, duplicate=%v", err, resp.GetDuplicate())
	}
	// The CLI refuses incomplete input before calling the hub.
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--kind", "electronic", "--number", "3", "--notation", "X", "--date", "2026-03-02"}, `declare cần --kind paper hoặc --kind secret (được "electronic")`},
		{[]string{"--number", "3", "--notation", "X", "--date", "2026-03-02"}, `declare cần --kind paper hoặc --kind secret (được "")`},
		{[]string{"--kind", "paper", "--notation", "X", "--date", "2026-03-02"}, "declare cần --number"},
		{[]string{"--kind", "paper", "--number", "3", "--notation", "X"}, "declare cần --date"},
	} {
		if rc, _, errOut := ltnode(t, h.Addr(), h.dir, province, append([]string{"declare"}, tc.args...)...); rc != 2 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("declare %q: exit %d: %s", tc.args, rc, errOut)
		}
	}
	// Nothing was counted by the refusals or the repeat.
	after := h.report(t, "--period", "2026-03")
	sameFigures(t, "province after refusals", after.Province, before.Province)
	if after.Province.Paper != 1 || after.Province.Electronic != 1 {
		t.Errorf("province figures %+v", after.Province)
	}
}

func TestAdminServiceNeedsOperator(t *testing.T) {
	h := startComplianceHub(t, time.Now())
	_, err := lienthongv1.NewAdminServiceClient(agencyConn(t, h, province)).Report(context.Background(), &lienthongv1.ReportRequest{})
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "không có quyền quản trị") {
		t.Errorf("agency calling Report: %v, want PermissionDenied", err)
	}
	// Bad periods are refused with the period's problem.
	for _, args := range [][]string{{"--period", "2026-13"}, {"--from", "2026-03-10", "--to", "2026-03-01"}} {
		rc, _, errOut := lthub(t, append([]string{"report", "--dir", h.dir, "--hub", h.Addr()}, args...)...)
		if rc == 0 || !strings.Contains(errOut, "InvalidArgument") {
			t.Errorf("report %q: exit %d: %s", args, rc, errOut)
		}
	}
	// Usage errors never reach the hub.
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--format", "xml"}, `--format "xml": dùng table, csv hoặc json`},
		{[]string{"--period", "2026", "--from", "2026-01-01", "--to", "2026-01-31"}, "dùng --period hoặc --from/--to"},
		{[]string{"--from", "2026-01-01"}, "--from và --to phải đi cùng nhau"},
	} {
		rc, _, errOut := lthub(t, append([]string{"report", "--dir", h.dir, "--hub", h.Addr()}, tc.args...)...)
		if rc != 2 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("report %q: exit %d: %s", tc.args, rc, errOut)
		}
	}
	if rc, _, errOut := lthub(t, "counters", "fix", "--dir", h.dir); rc != 2 || !strings.Contains(errOut, "counters cần check hoặc rebuild") {
		t.Errorf("counters fix: exit %d: %s", rc, errOut)
	}
	rc, _, errOut := lthub(t, "report", "--dir", h.dir, "--hub", h.Addr(), "--agency", "000.09.99.H53")
	if rc == 0 || !strings.Contains(errOut, "không có cơ quan 000.09.99.H53 trong danh bạ") || !strings.Contains(errOut, "NotFound") {
		t.Errorf("report unknown agency: exit %d: %s", rc, errOut)
	}
}

// agencyConn dials the hub with an agency's certificate, for calls the
// node library does not make.
func agencyConn(t *testing.T, h *complianceHub, code string) *grpc.ClientConn {
	t.Helper()
	ad := provision.Layout{Dir: h.dir}.Agency(code)
	cert, err := tls.LoadX509KeyPair(filepath.Join(ad, "cert.pem"), filepath.Join(ad, "key.pem"))
	must(t, err)
	roots, err := pki.LoadCertificates(filepath.Join(ad, "ca.pem"))
	must(t, err)
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	conn, err := grpc.NewClient(h.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12,
	})))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}
