package compliance

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// fakeSource keeps counters and registers in maps and calls back agency by
// agency, in order, as the store does.
type fakeSource struct {
	counters  map[Key]Counts
	registers map[register]Ranges
	// Errors to return instead of calling back.
	countersErr, numberingErr error
}

type register struct {
	agency string
	year   int
}

var _ Source = (*fakeSource)(nil)

func (s *fakeSource) Counters(ctx context.Context, p Period, fn func(agency string, day Day, c *Counts) error) error {
	if s.countersErr != nil {
		return s.countersErr
	}
	keys := make([]Key, 0, len(s.counters))
	for k := range s.counters {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int { return cmp.Or(cmp.Compare(a.Agency, b.Agency), cmp.Compare(a.Day, b.Day)) })
	for _, k := range keys {
		if !p.Contains(k.Day) {
			continue
		}
		c := s.counters[k]
		if err := fn(k.Agency, k.Day, &c); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSource) Numbering(ctx context.Context, first, last int, fn func(agency string, year int, r Ranges) error) error {
	if s.numberingErr != nil {
		return s.numberingErr
	}
	keys := make([]register, 0, len(s.registers))
	for k := range s.registers {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b register) int { return cmp.Or(cmp.Compare(a.agency, b.agency), cmp.Compare(a.year, b.year)) })
	for _, k := range keys {
		if k.year < first || k.year > last {
			continue
		}
		if err := fn(k.agency, k.year, slices.Clone(s.registers[k])); err != nil {
			return err
		}
	}
	return nil
}

const (
	codeProvince   = "000.00.00.H53"
	codeDepartment = "000.00.01.H53"
	codeDistrict   = "000.00.31.H53"
	codeCommune1   = "000.01.31.H53"
	codeCommune2   = "000.02.31.H53"
	codeGone       = "000.99.99.H53" // has counters, no longer in the directory
	codeNoCounters = "000.98.99.H53" // has a register only, not in the directory
)

func directory() []*lienthongv1.Agency {
	return []*lienthongv1.Agency{
		{Code: codeCommune2, Name: "UBND xã A2", Kind: lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE},
		{Code: codeProvince, Name: "UBND tỉnh", Kind: lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE},
		{Code: codeDistrict, Name: "UBND huyện A", Kind: lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT},
		{Code: codeCommune1, Name: "UBND xã A1", Kind: lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE},
		{Code: codeDepartment, Name: "Sở Nội vụ", Kind: lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT},
	}
}

// reportNow is 10:00 on 2026-03-10 in the province: deliveries due on
// 2026-03-09 or before and not finished on time are overdue.
var reportNow = time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC)

// q1 is the first quarter of 2026: data in January and March, none in
// February.
var q1 = Period{From: d20260101, To: d20260331}

func source() *fakeSource {
	return &fakeSource{
		counters: map[Key]Counts{
			// Province: 8 electronic, 6 signed, 1 secret.
			{codeProvince, d20260115}: {Electronic: 4, Signed: 4, Received: 2, Ack: Histogram{0: 1, 2: 1}, Due: 2, OnTime: 1},
			{codeProvince, d20260305}: {Electronic: 4, Signed: 2, Secret: 1, Ack: Histogram{2: 1}, Done: Histogram{9: 2}},
			// District: due today, not overdue yet.
			{codeDistrict, d20260115}: {Electronic: 3, Signed: 3, Paper: 1},
			{codeDistrict, d20260310}: {Electronic: 1, Received: 3, Ack: Histogram{5: 3}, Due: 3, OnTime: 1},
			// Commune 1: two overdue; one due in the future.
			{codeCommune1, d20260305}: {Electronic: 3, Signed: 3, Paper: 1, Received: 2, Ack: Histogram{1: 1, 9: 1}, Done: Histogram{12: 1}, Due: 2},
			{codeCommune1, d20260320}: {Due: 1},
			// Commune 2: paper and secret only.
			{codeCommune2, d20260115}: {Paper: 2, Secret: 3},
			// Department: a day before the period must not count.
			{codeDepartment, d20251231}: {Electronic: 100, Signed: 100, Paper: 100},
			{codeDepartment, d20260305}: {Electronic: 2, Signed: 1, Secret: 2},
			// An agency that left the directory, and a day after the period.
			{codeGone, d20260305}: {Electronic: 1, Signed: 1},
			{codeGone, d20260402}: {Electronic: 5, Paper: 5},
		},
		registers: map[register]Ranges{
			{codeProvince, 2025}:   {{1, 1}, {5, 5}},
			{codeProvince, 2026}:   {{1, 3}, {6, 8}, {12, 12}},
			{codeCommune1, 2026}:   {{2, 10}},
			{codeCommune2, 2026}:   {{1, 20}},
			{codeDepartment, 2027}: {{4, 4}},
			{codeGone, 2026}:       {{3, 3}},
			{codeNoCounters, 2026}: {{5, 5}},
		},
	}
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// The expected figures, computed by hand from source().
var (
	provinceFigures = Figures{Electronic: 8, Paper: 0, Secret: 1, ElectronicRate: f64(1), Signed: 6, SignedRate: f64(0.75),
		Received: 2, Acknowledged: 3, MedianAckSeconds: i64(300), Done: 2, MedianDoneSeconds: i64(86400), Due: 2, Overdue: 1}
	departmentFigures = Figures{Electronic: 2, Secret: 2, ElectronicRate: f64(1), Signed: 1, SignedRate: f64(0.5)}
	districtFigures   = Figures{Electronic: 4, Paper: 1, ElectronicRate: f64(0.8), Signed: 3, SignedRate: f64(0.75),
		Received: 3, Acknowledged: 3, MedianAckSeconds: i64(3600), Due: 3, Overdue: 0}
	commune1Figures = Figures{Electronic: 3, Paper: 1, ElectronicRate: f64(0.75), Signed: 3, SignedRate: f64(1),
		Received: 2, Acknowledged: 2, MedianAckSeconds: i64(60), Done: 1, MedianDoneSeconds: i64(432000), Due: 3, Overdue: 2}
	commune2Figures = Figures{Paper: 2, Secret: 3, ElectronicRate: f64(0)}
	goneFigures     = Figures{Electronic: 1, ElectronicRate: f64(1), Signed: 1, SignedRate: f64(1)}
)

func wantQ1Report() *Report {
	return &Report{
		From: "2026-01-01", To: "2026-03-31", GeneratedAt: reportNow,
		Province: Figures{Electronic: 18, Paper: 4, Secret: 6, ElectronicRate: f64(18.0 / 22), Signed: 14, SignedRate: f64(14.0 / 18),
			Received: 7, Acknowledged: 8, MedianAckSeconds: i64(300), Done: 3, MedianDoneSeconds: i64(86400), Due: 8, Overdue: 3},
		Kinds: []KindRow{
			{Kind: "province", Label: "Cấp tỉnh", Agencies: 1, Figures: provinceFigures},
			{Kind: "department", Label: "Sở, ban, ngành", Agencies: 1, Figures: departmentFigures},
			{Kind: "district", Label: "Cấp huyện", Agencies: 1, Figures: districtFigures},
			{Kind: "commune", Label: "Cấp xã", Agencies: 2, Figures: Figures{Electronic: 3, Paper: 3, Secret: 3, ElectronicRate: f64(0.5),
				Signed: 3, SignedRate: f64(1), Received: 2, Acknowledged: 2, MedianAckSeconds: i64(60), Done: 1, MedianDoneSeconds: i64(432000),
				Due: 3, Overdue: 2}},
			{Kind: "unit", Label: "Đơn vị trực thuộc", Agencies: 0, Figures: Figures{}},
			{Kind: "unknown", Label: "Khác (chưa phân loại hoặc không có trong danh bạ)", Agencies: 1, Figures: goneFigures},
		},
		Agencies: []AgencyRow{
			{Code: codeProvince, Name: "UBND tỉnh", Kind: "province", Label: "Cấp tỉnh", Figures: provinceFigures,
				Gaps: []Gap{{2026, 4, 5}, {2026, 9, 11}}, PossiblyPaper: 5},
			{Code: codeDepartment, Name: "Sở Nội vụ", Kind: "department", Label: "Sở, ban, ngành", Figures: departmentFigures, Gaps: []Gap{}},
			{Code: codeDistrict, Name: "UBND huyện A", Kind: "district", Label: "Cấp huyện", Figures: districtFigures, Gaps: []Gap{}},
			{Code: codeCommune1, Name: "UBND xã A1", Kind: "commune", Label: "Cấp xã", Figures: commune1Figures,
				Gaps: []Gap{{2026, 1, 1}}, PossiblyPaper: 1},
			{Code: codeCommune2, Name: "UBND xã A2", Kind: "commune", Label: "Cấp xã", Figures: commune2Figures, Gaps: []Gap{}},
			{Code: codeGone, Name: "", Kind: "unknown", Label: "Không có trong danh bạ", Figures: goneFigures,
				Gaps: []Gap{{2026, 1, 2}}, PossiblyPaper: 2},
		},
		Months: []MonthRow{
			{Month: "2026-01", Figures: Figures{Electronic: 7, Paper: 3, Secret: 3, ElectronicRate: f64(0.7), Signed: 7, SignedRate: f64(1),
				Received: 2, Acknowledged: 2, MedianAckSeconds: i64(10), Due: 2, Overdue: 1}},
			{Month: "2026-02", Figures: Figures{}},
			{Month: "2026-03", Figures: Figures{Electronic: 11, Paper: 1, Secret: 3, ElectronicRate: f64(11.0 / 12), Signed: 7, SignedRate: f64(7.0 / 11),
				Received: 5, Acknowledged: 6, MedianAckSeconds: i64(3600), Done: 3, MedianDoneSeconds: i64(86400), Due: 6, Overdue: 2}},
		},
	}
}

// checkReport compares reports field by field through reflect.DeepEqual
// and shows the difference as JSON, where nil and zero rates differ
// (null vs 0) and so do nil and empty slices (null vs []).
func checkReport(t *testing.T, got, want *Report) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var a, b string
		if i < len(gl) {
			a = gl[i]
		}
		if i < len(wl) {
			b = wl[i]
		}
		if a != b {
			t.Errorf("reports differ at JSON line %d:\n got  %s\n want %s", i+1, a, b)
			return
		}
	}
	t.Errorf("reports differ (not in JSON: time zone or pointer identity?):\n got  %#v\n want %#v", got, want)
}

func TestBuild(t *testing.T) {
	got, err := Build(context.Background(), source(), directory(), q1, Options{Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, got, wantQ1Report())
}

func TestBuildOneAgency(t *testing.T) {
	got, err := Build(context.Background(), source(), directory(), q1, Options{Agency: codeCommune1, Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, got, &Report{
		From: "2026-01-01", To: "2026-03-31", GeneratedAt: reportNow, Agency: codeCommune1,
		Province: commune1Figures,
		Kinds: []KindRow{
			{Kind: "province", Label: "Cấp tỉnh"},
			{Kind: "department", Label: "Sở, ban, ngành"},
			{Kind: "district", Label: "Cấp huyện"},
			{Kind: "commune", Label: "Cấp xã", Agencies: 1, Figures: commune1Figures},
			{Kind: "unit", Label: "Đơn vị trực thuộc"},
		},
		Agencies: []AgencyRow{
			{Code: codeCommune1, Name: "UBND xã A1", Kind: "commune", Label: "Cấp xã", Figures: commune1Figures,
				Gaps: []Gap{{2026, 1, 1}}, PossiblyPaper: 1},
		},
		Months: []MonthRow{
			{Month: "2026-01"},
			{Month: "2026-02"},
			{Month: "2026-03", Figures: commune1Figures},
		},
	})
}

// TestBuildTwoYears reads the registers of both years a period touches,
// and only those.
func TestBuildTwoYears(t *testing.T) {
	p := Period{From: d20251231 - 30, To: d20260115} // 2025-12-01 … 2026-01-15
	got, err := Build(context.Background(), source(), directory(), p, Options{Agency: codeProvince, Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	jan := Figures{Electronic: 4, ElectronicRate: f64(1), Signed: 4, SignedRate: f64(1),
		Received: 2, Acknowledged: 2, MedianAckSeconds: i64(10), Due: 2, Overdue: 1}
	checkReport(t, got, &Report{
		From: "2025-12-01", To: "2026-01-15", GeneratedAt: reportNow, Agency: codeProvince,
		Province: jan,
		Kinds: []KindRow{
			{Kind: "province", Label: "Cấp tỉnh", Agencies: 1, Figures: jan},
			{Kind: "department", Label: "Sở, ban, ngành"},
			{Kind: "district", Label: "Cấp huyện"},
			{Kind: "commune", Label: "Cấp xã"},
			{Kind: "unit", Label: "Đơn vị trực thuộc"},
		},
		Agencies: []AgencyRow{
			{Code: codeProvince, Name: "UBND tỉnh", Kind: "province", Label: "Cấp tỉnh", Figures: jan,
				Gaps: []Gap{{2025, 2, 4}, {2026, 4, 5}, {2026, 9, 11}}, PossiblyPaper: 8},
		},
		Months: []MonthRow{{Month: "2025-12"}, {Month: "2026-01", Figures: jan}},
	})
}

// TestBuildOverdue moves the report's day: what is due before it and not
// finished on time is overdue, whatever the period.
func TestBuildOverdue(t *testing.T) {
	tests := []struct {
		now      time.Time
		province int64
		district int64
		commune1 int64
	}{
		{time.Date(2026, 1, 15, 16, 59, 59, 0, time.UTC), 0, 0, 0}, // still 2026-01-15
		{time.Date(2026, 1, 15, 17, 0, 0, 0, time.UTC), 1, 0, 0},   // 2026-01-16
		{time.Date(2026, 3, 5, 17, 0, 0, 0, time.UTC), 1, 0, 2},    // 2026-03-06
		{time.Date(2026, 3, 10, 16, 59, 59, 0, time.UTC), 1, 0, 2}, // 2026-03-10
		{time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC), 1, 2, 2},   // 2026-03-11
		{time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC), 1, 2, 3},    // 2026-03-21
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 1, 2, 3},
	}
	for _, tt := range tests {
		r, err := Build(context.Background(), source(), directory(), q1, Options{Now: tt.now})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, a := range r.Agencies {
			got[a.Code] = a.Overdue
		}
		want := map[string]int64{codeProvince: tt.province, codeDepartment: 0, codeDistrict: tt.district,
			codeCommune1: tt.commune1, codeCommune2: 0, codeGone: 0}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("now %s: overdue %v, want %v", tt.now, got, want)
		}
		if total := tt.province + tt.district + tt.commune1; r.Province.Overdue != total {
			t.Errorf("now %s: province overdue %d, want %d", tt.now, r.Province.Overdue, total)
		}
		if !r.GeneratedAt.Equal(tt.now) || r.GeneratedAt.Location() != time.UTC {
			t.Errorf("GeneratedAt = %s, want %s in UTC", r.GeneratedAt, tt.now)
		}
	}
}

func TestBuildEmpty(t *testing.T) {
	p := Period{From: d20260305, To: d20260305}
	got, err := Build(context.Background(), &fakeSource{}, nil, p, Options{Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, got, &Report{
		From: "2026-03-05", To: "2026-03-05", GeneratedAt: reportNow,
		Kinds: []KindRow{
			{Kind: "province", Label: "Cấp tỉnh"},
			{Kind: "department", Label: "Sở, ban, ngành"},
			{Kind: "district", Label: "Cấp huyện"},
			{Kind: "commune", Label: "Cấp xã"},
			{Kind: "unit", Label: "Đơn vị trực thuộc"},
		},
		Agencies: []AgencyRow{},
		Months:   []MonthRow{{Month: "2026-03"}},
	})
}

func TestBuildNowDefaultsToTheClock(t *testing.T) {
	before := time.Now()
	r, err := Build(context.Background(), &fakeSource{}, directory(), q1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.GeneratedAt.Before(before.Add(-time.Second)) || r.GeneratedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("GeneratedAt = %s, want about %s", r.GeneratedAt, before)
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Build(ctx, source(), directory(), Period{From: d20260310, To: d20260305}, Options{Now: reportNow}); err == nil ||
		err.Error() != "building report: period ends (2026-03-05) before it starts (2026-03-10)" {
		t.Errorf("to < from: error = %v", err)
	}
	for _, code := range []string{codeGone, "000.77.31.H53"} {
		r, err := Build(ctx, source(), directory(), q1, Options{Agency: code, Now: reportNow})
		if !errors.Is(err, ErrUnknownAgency) {
			t.Errorf("agency %s: Build = %v, %v; want ErrUnknownAgency", code, r, err)
		} else if want := "building report: agency not in the directory: agency " + code; err.Error() != want {
			t.Errorf("agency %s: error %q, want %q", code, err, want)
		}
	}
	boom := errors.New("disk on fire")
	src := source()
	src.countersErr = boom
	if _, err := Build(ctx, src, directory(), q1, Options{Now: reportNow}); !errors.Is(err, boom) ||
		!strings.HasPrefix(err.Error(), "building report: reading counters: ") {
		t.Errorf("counters failing: error = %v", err)
	}
	src = source()
	src.numberingErr = boom
	if _, err := Build(ctx, src, directory(), q1, Options{Now: reportNow}); !errors.Is(err, boom) ||
		!strings.HasPrefix(err.Error(), "building report: reading registers: ") {
		t.Errorf("registers failing: error = %v", err)
	}
}

// TestBuildKindOutsideTheList puts directory agencies of no known kind
// with those that left the directory.
func TestBuildKindOutsideTheList(t *testing.T) {
	dir := []*lienthongv1.Agency{
		{Code: "A", Name: "future kind", Kind: lienthongv1.AgencyKind(99)},
		{Code: "B", Name: "no kind"},
	}
	src := &fakeSource{counters: map[Key]Counts{{"A", d20260305}: {Paper: 1}}}
	r, err := Build(context.Background(), src, dir, q1, Options{Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Agencies) != 2 || r.Agencies[0].Kind != "unknown" || r.Agencies[1].Kind != "unknown" ||
		r.Agencies[0].Label != "Chưa phân loại" || r.Agencies[1].Label != "Chưa phân loại" || r.Agencies[0].Paper != 1 {
		t.Errorf("agencies: %+v", r.Agencies)
	}
	last := r.Kinds[len(r.Kinds)-1]
	if len(r.Kinds) != 6 || last.Kind != "unknown" || last.Agencies != 2 || last.Paper != 1 || *last.ElectronicRate != 0 {
		t.Errorf("kinds: %+v", r.Kinds)
	}
}

// TestBuildUnder reports on a district and its communes only: rows,
// totals and registers of the subtree, nothing of the province, the
// department or an agency gone from elsewhere in the tree.
func TestBuildUnder(t *testing.T) {
	got, err := Build(context.Background(), source(), directory(), q1, Options{Under: codeDistrict, Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, a := range got.Agencies {
		codes = append(codes, a.Code)
	}
	if want := []string{codeDistrict, codeCommune1, codeCommune2}; !slices.Equal(codes, want) {
		t.Errorf("rows %v, want %v", codes, want)
	}
	if got.Under != codeDistrict || got.Province.Electronic != 7 || got.Province.Paper != 4 || got.Province.Secret != 3 {
		t.Errorf("under %q: electronic %d, paper %d, secret %d; want %s, 7, 4, 3", got.Under, got.Province.Electronic, got.Province.Paper, got.Province.Secret, codeDistrict)
	}
	if _, err := Build(context.Background(), source(), directory(), q1, Options{Under: "000.00.39.H53", Now: reportNow}); !errors.Is(err, ErrUnknownAgency) {
		t.Errorf("under an unknown code: %v, want ErrUnknownAgency", err)
	}
}
