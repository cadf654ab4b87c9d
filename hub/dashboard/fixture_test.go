package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/dashboard"
	"github.com/lienthong/lienthong/hub/dashboard/dashboardtest"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// fakeSource is an in-memory compliance.Source: counters per agency and
// day, registers per agency and year.
type fakeSource struct {
	counts    map[string]map[compliance.Day]compliance.Counts
	numbering map[string]map[int]compliance.Ranges
}

var _ compliance.Source = (*fakeSource)(nil)

func (s *fakeSource) Counters(ctx context.Context, p compliance.Period, fn func(string, compliance.Day, *compliance.Counts) error) error {
	for _, agency := range sortedKeys(s.counts) {
		for _, day := range sortedKeys(s.counts[agency]) {
			if !p.Contains(day) {
				continue
			}
			c := s.counts[agency][day]
			if err := fn(agency, day, &c); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

func (s *fakeSource) Numbering(ctx context.Context, first, last int, fn func(string, int, compliance.Ranges) error) error {
	for _, agency := range sortedKeys(s.numbering) {
		for _, year := range sortedKeys(s.numbering[agency]) {
			if year < first || year > last {
				continue
			}
			if err := fn(agency, year, s.numbering[agency][year]); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

func sortedKeys[K interface{ ~int | ~int32 | ~string }, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Agencies of the fixture.
const (
	province   = "000.00.00.H53"
	department = "000.00.05.H53"
	district   = "000.00.31.H53"
	commune1   = "000.12.31.H53"
	commune2   = "000.13.31.H53"
	unknown    = "000.99.99.H53"
)

var directory = []*lienthongv1.Agency{
	{Code: province, Name: "UBND tỉnh", Kind: lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE},
	// A name with markup characters: the page must show it as text.
	{Code: department, Name: `Sở Tư pháp & "Nội vụ" <thử>`, Kind: lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT},
	{Code: district, Name: "UBND huyện Châu Thành", Kind: lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT},
	{Code: commune1, Name: "UBND xã An Hóa", Kind: lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE},
	{Code: commune2, Name: "UBND xã Tam Phước", Kind: lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE},
}

// fixtureNow is mid-June 2026 in the province.
var fixtureNow = time.Date(2026, 6, 15, 10, 0, 0, 0, compliance.Zone())

func day(t *testing.T, s string) compliance.Day {
	t.Helper()
	d, err := compliance.ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hist(ds ...time.Duration) compliance.Histogram {
	var h compliance.Histogram
	for _, d := range ds {
		h.Observe(d)
	}
	return h
}

// newSource returns the fixture's counters; the expected figures in the
// tests are computed by hand from these.
func newSource(t *testing.T) *fakeSource {
	t.Helper()
	s := &fakeSource{
		counts:    make(map[string]map[compliance.Day]compliance.Counts),
		numbering: make(map[string]map[int]compliance.Ranges),
	}
	add := func(agency, d string, c compliance.Counts) {
		if s.counts[agency] == nil {
			s.counts[agency] = make(map[compliance.Day]compliance.Counts)
		}
		s.counts[agency][day(t, d)] = c
	}
	// The province: 16 electronic (15 signed), 2 paper: 88.9%, signed 93.75%.
	add(province, "2026-03-02", compliance.Counts{Electronic: 10, Signed: 9})
	add(province, "2026-04-10", compliance.Counts{Electronic: 6, Signed: 6, Paper: 2})
	// Outside 2026: counts only for 2025.
	add(province, "2025-12-31", compliance.Counts{Electronic: 100, Signed: 100})
	// The district: 30 electronic, all signed, 3 secret; acknowledgements
	// after 5 s, 45 s and 3 min (median bucket ≤ 1 min); two deliveries
	// due 5 March, one late; one due in July, not yet overdue.
	add(district, "2026-03-03", compliance.Counts{Electronic: 30, Signed: 30, Secret: 3, Received: 3,
		Ack: hist(5*time.Second, 45*time.Second, 3*time.Minute)})
	add(district, "2026-03-05", compliance.Counts{Due: 2, OnTime: 1})
	add(district, "2026-07-01", compliance.Counts{Due: 1})
	// Commune 1: 3+1 electronic, 1+3 paper: 50%; 2 signed; done after 90 min.
	add(commune1, "2026-03-04", compliance.Counts{Electronic: 3, Signed: 2, Paper: 1})
	add(commune1, "2026-04-20", compliance.Counts{Electronic: 1, Paper: 3, Done: hist(90 * time.Minute)})
	// The department: 8 electronic, all signed: 100%, as the district.
	add(department, "2026-04-02", compliance.Counts{Electronic: 8, Signed: 8})
	// Commune 2 sent nothing.

	// Commune 1 used numbers 1–3, 6–8 and 10 of its 2026 register.
	s.numbering[commune1] = map[int]compliance.Ranges{2026: {{Lo: 1, Hi: 3}, {Lo: 6, Hi: 8}, {Lo: 10, Hi: 10}}}
	s.numbering[province] = map[int]compliance.Ranges{2025: {{Lo: 1, Hi: 1}, {Lo: 5, Hi: 5}}}
	return s
}

// syncBuffer is a log destination the handler and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a dashboard over the fixture on a loopback port.
type server struct {
	*httptest.Server
	logs *syncBuffer
}

// startWith serves the dashboard with the given report function.
func startWith(t *testing.T, now time.Time, report func(context.Context, compliance.Period, string) (*compliance.Report, error)) *server {
	t.Helper()
	logs := new(syncBuffer)
	h := dashboard.New(dashboard.Config{
		Report:       report,
		Now:          func() time.Time { return now },
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
		ProvinceName: "Tỉnh Bến Tre",
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{Server: srv, logs: logs}
}

// start serves the dashboard over the fixture through compliance.Build.
func start(t *testing.T, now time.Time) *server {
	t.Helper()
	src := newSource(t)
	return startWith(t, now, func(ctx context.Context, p compliance.Period, agency string) (*compliance.Report, error) {
		return compliance.Build(ctx, src, directory, p, compliance.Options{Agency: agency, Now: now})
	})
}

// get fetches path from the server.
func (s *server) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := s.Client().Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// report fetches /report.json with the query q.
func (s *server) report(t *testing.T, q string) *compliance.Report {
	t.Helper()
	resp, body := s.get(t, "/report.json?"+q)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /report.json?%s: %s\n%s", q, resp.Status, body)
	}
	var rep compliance.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("GET /report.json?%s: %v", q, err)
	}
	return &rep
}

// shown is what a page displays (see dashboardtest.Shown).
type shown = dashboardtest.Shown

// parse reads the figures a page shows.
func parse(t *testing.T, page string) *shown {
	t.Helper()
	s, err := dashboardtest.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// expected lists what a page must show for a report.
func expected(rep *compliance.Report, agency string) map[string]string {
	return dashboardtest.Expected(rep, agency)
}

// sameFigures checks that a page shows exactly the figures of a report.
func sameFigures(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, d := range dashboardtest.Diff(got, want) {
		t.Error(d)
	}
}
