package compliance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Source reads the stored counters and registers (the hub store).
type Source interface {
	// Counters calls fn for every agency-day record within p; fn does not
	// keep the pointer.
	Counters(ctx context.Context, p Period, fn func(agency string, day Day, c *Counts) error) error
	// Numbering calls fn for every agency register of a year from first
	// to last.
	Numbering(ctx context.Context, first, last int, fn func(agency string, year int, r Ranges) error) error
}

// Report is the compliance report for a period.
type Report struct {
	From        string    `json:"from"`
	To          string    `json:"to"`
	GeneratedAt time.Time `json:"generated_at"`
	// Agency is set when the report is about one agency only.
	Agency string `json:"agency,omitempty"`
	// Under is set when the report is about one agency and those below
	// it (Options.Under).
	Under    string      `json:"under,omitempty"`
	Province Figures     `json:"province"`
	Kinds    []KindRow   `json:"kinds"`
	Agencies []AgencyRow `json:"agencies"`
	// Months are the figures of each month of the period (of the one
	// agency, if Agency is set).
	Months []MonthRow `json:"months"`
}

// Figures are the compliance figures of one agency or group.
type Figures struct {
	Electronic int64 `json:"electronic"`
	Paper      int64 `json:"paper"`
	// Secret documents are excluded from the electronic rate.
	Secret int64 `json:"secret"`
	// ElectronicRate is Electronic / (Electronic + Paper); nil when both
	// are zero.
	ElectronicRate *float64 `json:"electronic_rate"`
	Signed         int64    `json:"signed"`
	// SignedRate is Signed / Electronic; nil when nothing was sent.
	SignedRate   *float64 `json:"signed_rate"`
	Received     int64    `json:"received"`
	Acknowledged int64    `json:"acknowledged"`
	// MedianAckSeconds is the upper bound of the histogram bucket holding
	// the median time from acceptance to acknowledgement (see Bounds).
	MedianAckSeconds *int64 `json:"median_ack_seconds"`
	Done             int64  `json:"done"`
	// MedianDoneSeconds likewise, from acceptance to done.
	MedianDoneSeconds *int64 `json:"median_done_seconds"`
	// Due counts deliveries due within the period; Overdue those due
	// before the report's day and not finished by their due date.
	Due     int64 `json:"due"`
	Overdue int64 `json:"overdue"`
}

// KindRow groups the agencies of one level.
type KindRow struct {
	Kind     string `json:"kind"`
	Label    string `json:"label"`
	Agencies int    `json:"agencies"`
	Figures
}

// AgencyRow is one agency's line.
type AgencyRow struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Figures
	// Gaps are numbers of the agency's yearly registers (years of the
	// period, up to the highest number seen) that no electronic document
	// and no declaration used: possibly sent on paper.
	Gaps          []Gap `json:"gaps"`
	PossiblyPaper int64 `json:"possibly_paper"`
}

// Gap is a run of missing register numbers.
type Gap struct {
	Year int    `json:"year"`
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
}

// MonthRow is one month's figures.
type MonthRow struct {
	Month string `json:"month"` // YYYY-MM
	Figures
}

// kinds lists the levels in report order, with their labels.
var kinds = []struct {
	kind  lienthongv1.AgencyKind
	name  string
	label string
}{
	{lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE, "province", "Cấp tỉnh"},
	{lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT, "department", "Sở, ban, ngành"},
	{lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT, "district", "Cấp huyện"},
	{lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE, "commune", "Cấp xã"},
	{lienthongv1.AgencyKind_AGENCY_KIND_UNIT, "unit", "Đơn vị trực thuộc"},
	{lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED, "unknown", "Khác (chưa phân loại hoặc không có trong danh bạ)"},
}

// kindOf names an agency's level; a nil agency has left the directory.
func kindOf(a *lienthongv1.Agency) (name, label string) {
	if a == nil {
		return "unknown", "Không có trong danh bạ"
	}
	for _, x := range kinds {
		if x.kind == a.GetKind() && x.kind != lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED {
			return x.name, x.label
		}
	}
	return "unknown", "Chưa phân loại"
}

// Options narrow a report.
type Options struct {
	// Agency, if set, reports on that agency only.
	Agency string
	// Under, if set, reports on that agency and every agency below it in
	// the code tree (one province of a national hub: 000.00.00.H31), so
	// the report costs O(that subtree) in rows, not O(the country).
	Under string
	// Now is the report's time: deliveries due before its day and not
	// finished on time are overdue.
	Now time.Time
}

// tally accumulates counters and overdue deliveries.
type tally struct {
	c       Counts
	overdue int64
}

func (t *tally) add(c *Counts, day, today Day) {
	t.c.Add(c)
	if day < today {
		t.overdue += c.Due - c.OnTime
	}
}

func (t *tally) addTally(o *tally) {
	t.c.Add(&o.c)
	t.overdue += o.overdue
}

func (t *tally) figures() Figures {
	f := Figures{
		Electronic: t.c.Electronic, Paper: t.c.Paper, Secret: t.c.Secret,
		Signed: t.c.Signed, Received: t.c.Received,
		Acknowledged: t.c.Ack.Total(), Done: t.c.Done.Total(),
		Due: t.c.Due, Overdue: t.overdue,
	}
	f.ElectronicRate = ratio(f.Electronic, f.Electronic+f.Paper)
	f.SignedRate = ratio(f.Signed, f.Electronic)
	f.MedianAckSeconds = median(&t.c.Ack)
	f.MedianDoneSeconds = median(&t.c.Done)
	return f
}

func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

func median(h *Histogram) *int64 {
	m, ok := h.Median()
	if !ok {
		return nil
	}
	s := int64(m / time.Second)
	return &s
}

// Build computes the report for period p over the directory's agencies
// (and any agency with counters that has left the directory).
func Build(ctx context.Context, src Source, agencies []*lienthongv1.Agency, p Period, opts Options) (*Report, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if p.To < p.From {
		return nil, fmt.Errorf("building report: period ends (%s) before it starts (%s)", p.To, p.From)
	}
	today := DayOf(opts.Now)
	byCode := make(map[string]*lienthongv1.Agency, len(agencies))
	for _, a := range agencies {
		byCode[a.GetCode()] = a
	}
	if opts.Agency != "" && byCode[opts.Agency] == nil {
		return nil, fmt.Errorf("building report: %w: agency %s", ErrUnknownAgency, opts.Agency)
	}
	if opts.Under != "" && byCode[opts.Under] == nil {
		return nil, fmt.Errorf("building report: %w: agency %s", ErrUnknownAgency, opts.Under)
	}
	want := func(code string) bool { return opts.Agency == "" || code == opts.Agency }
	if opts.Under != "" {
		want = within(opts.Under, want)
	}

	perAgency := make(map[string]*tally)
	// Months keyed as year*12+month, not as text: this runs per record.
	perMonth := make(map[int]*tally)
	err := src.Counters(ctx, p, func(agency string, day Day, c *Counts) error {
		if !want(agency) {
			return nil
		}
		t := perAgency[agency]
		if t == nil {
			t = new(tally)
			perAgency[agency] = t
		}
		t.add(c, day, today)
		m := perMonth[monthKey(day)]
		if m == nil {
			m = new(tally)
			perMonth[monthKey(day)] = m
		}
		m.add(c, day, today)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("building report: reading counters: %w", err)
	}
	gaps := make(map[string][]Gap)
	missing := make(map[string]int64)
	err = src.Numbering(ctx, p.From.Year(), p.To.Year(), func(agency string, year int, r Ranges) error {
		if !want(agency) {
			return nil
		}
		yearGaps := r.Gaps()
		for _, g := range yearGaps {
			gaps[agency] = append(gaps[agency], Gap{Year: year, From: g.Lo, To: g.Hi})
		}
		missing[agency] += Missing(yearGaps)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("building report: reading registers: %w", err)
	}

	codes := reportCodes(agencies, byCode, perAgency, want)
	rep := &Report{
		From: p.From.String(), To: p.To.String(), GeneratedAt: opts.Now.UTC(), Agency: opts.Agency, Under: opts.Under,
		Agencies: make([]AgencyRow, 0, len(codes)), // "agencies": [] in JSON, never null
	}
	perKind := make(map[string]*tally)
	kindAgencies := make(map[string]int)
	var province tally
	for _, code := range codes {
		t := perAgency[code]
		if t == nil {
			t = new(tally)
		}
		a := byCode[code]
		kind, label := kindOf(a)
		row := AgencyRow{Code: code, Name: a.GetName(), Kind: kind, Label: label, Figures: t.figures(), Gaps: gaps[code],
			PossiblyPaper: missing[code]}
		if row.Gaps == nil {
			row.Gaps = []Gap{}
		}
		rep.Agencies = append(rep.Agencies, row)
		if perKind[kind] == nil {
			perKind[kind] = new(tally)
		}
		perKind[kind].addTally(t)
		kindAgencies[kind]++
		province.addTally(t)
	}
	rep.Province = province.figures()
	for _, k := range kinds {
		t := perKind[k.name]
		if t == nil {
			if k.kind == lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED {
				continue // no agency outside the directory
			}
			t = new(tally)
		}
		rep.Kinds = append(rep.Kinds, KindRow{Kind: k.name, Label: k.label, Agencies: kindAgencies[k.name], Figures: t.figures()})
	}
	for m := p.From; m <= p.To; m = nextMonth(m) {
		t := perMonth[monthKey(m)]
		if t == nil {
			t = new(tally)
		}
		rep.Months = append(rep.Months, MonthRow{Month: m.Month(), Figures: t.figures()})
	}
	return rep, nil
}

// reportCodes returns the codes of the report's rows, sorted: every
// agency of the directory that want accepts and every agency with
// counters that has left it. The directory's agencies come sorted
// (Directory.All), so only the few that left it are sorted and merged:
// a national directory is over a hundred thousand codes.
func reportCodes(agencies []*lienthongv1.Agency, byCode map[string]*lienthongv1.Agency, perAgency map[string]*tally, want func(string) bool) []string {
	codes := make([]string, 0, len(byCode)+len(perAgency))
	for _, a := range agencies {
		if want(a.GetCode()) {
			codes = append(codes, a.GetCode())
		}
	}
	if !slices.IsSorted(codes) {
		slices.Sort(codes)
	}
	codes = slices.Compact(codes)
	var gone []string
	for code := range perAgency {
		if byCode[code] == nil {
			gone = append(gone, code)
		}
	}
	if len(gone) == 0 {
		return codes
	}
	slices.Sort(gone)
	merged := make([]string, 0, len(codes)+len(gone))
	for len(codes) > 0 && len(gone) > 0 {
		if codes[0] < gone[0] {
			merged, codes = append(merged, codes[0]), codes[1:]
		} else {
			merged, gone = append(merged, gone[0]), gone[1:]
		}
	}
	return append(append(merged, codes...), gone...)
}

// within narrows want to root and the codes below it; it remembers each
// code's answer, since counters name the same agency day after day.
func within(root string, want func(string) bool) func(string) bool {
	rc, err := lienthong.ParseCode(root)
	seen := make(map[string]bool)
	return func(code string) bool {
		in, ok := seen[code]
		if !ok {
			c, cerr := lienthong.ParseCode(code)
			in = err == nil && (code == root || (cerr == nil && c.IsUnder(rc))) && want(code)
			seen[code] = in
		}
		return in
	}
}

// ErrUnknownAgency reports a report asked for an agency not in the
// directory.
var ErrUnknownAgency = fmt.Errorf("agency not in the directory")

func monthKey(d Day) int {
	y, m, _ := d.Date()
	return y*12 + int(m)
}

func nextMonth(d Day) Day {
	y, m, _ := d.Date()
	return dayOfDate(y, m+1, 1)
}
