package compliance

import (
	"testing"
	"time"
)

// Day numbers used across the tests, counted by hand from 1970-01-01:
// 1970–2025 are 56 years with 14 leap years (1972 … 2024), so 2026-01-01
// is 56×365 + 14 = 20454; January has 31 days and February 2026 has 28.
const (
	d20240101 Day = 19723 // 20454 − 366 − 365
	d20240201 Day = 19754
	d20240229 Day = 19782
	d20251231 Day = 20453
	d20260101 Day = 20454
	d20260115 Day = 20468
	d20260201 Day = 20485
	d20260228 Day = 20512
	d20260301 Day = 20513
	d20260302 Day = 20514
	d20260303 Day = 20515
	d20260305 Day = 20517
	d20260308 Day = 20520
	d20260310 Day = 20522
	d20260311 Day = 20523
	d20260320 Day = 20532
	d20260331 Day = 20543
	d20260402 Day = 20545
	d20261231 Day = 20818
)

func TestZone(t *testing.T) {
	if _, off := time.Date(2026, 3, 1, 0, 0, 0, 0, Zone()).Zone(); off != 7*60*60 {
		t.Errorf("Zone offset = %d s, want %d", off, 7*60*60)
	}
}

func TestDayOf(t *testing.T) {
	tests := []struct {
		at   time.Time
		want Day
		str  string
	}{
		{time.Date(2026, 3, 1, 16, 59, 59, 999999999, time.UTC), d20260301, "2026-03-01"},
		{time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC), d20260302, "2026-03-02"},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), d20260301, "2026-03-01"},
		{time.Date(2026, 3, 2, 0, 0, 0, 0, Zone()), d20260302, "2026-03-02"},
		{time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC), d20260101, "2026-01-01"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, Zone()), 0, "1970-01-01"},
		{time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), -1, "1969-12-31"},
	}
	for _, tt := range tests {
		got := DayOf(tt.at)
		if got != tt.want {
			t.Errorf("DayOf(%s) = %d, want %d", tt.at.Format(time.RFC3339Nano), got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("DayOf(%s).String() = %q, want %q", tt.at.Format(time.RFC3339Nano), s, tt.str)
		}
	}
}

func TestParseDay(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Day
	}{
		{"2026-03-01", d20260301},
		{"2024-02-29", d20240229},
		{"1970-01-01", 0},
		{"2026-12-31", d20261231},
	} {
		got, err := ParseDay(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDay(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "2026-3-1", "2026-02-29", "2026-02-30", "2026-13-01", "01/03/2026", "2026-03-01 ", "2026-03-01T00:00:00Z"} {
		got, err := ParseDay(in)
		want := `ngày "` + in + `" không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)`
		if err == nil {
			t.Errorf("ParseDay(%q) = %d, want an error", in, got)
		} else if err.Error() != want {
			t.Errorf("ParseDay(%q) error = %q, want %q", in, err, want)
		}
	}
}

func TestDayParts(t *testing.T) {
	tests := []struct {
		d                Day
		y                int
		m                time.Month
		dd               int
		month, str       string
		endUTC           time.Time
		containedInMarch bool
	}{
		{d20260301, 2026, time.March, 1, "2026-03", "2026-03-01", time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC), true},
		{d20260228, 2026, time.February, 28, "2026-02", "2026-02-28", time.Date(2026, 2, 28, 17, 0, 0, 0, time.UTC), false},
		{d20240229, 2024, time.February, 29, "2024-02", "2024-02-29", time.Date(2024, 2, 29, 17, 0, 0, 0, time.UTC), false},
		{d20261231, 2026, time.December, 31, "2026-12", "2026-12-31", time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC), false},
		{d20260331, 2026, time.March, 31, "2026-03", "2026-03-31", time.Date(2026, 3, 31, 17, 0, 0, 0, time.UTC), true},
		{d20260402, 2026, time.April, 2, "2026-04", "2026-04-02", time.Date(2026, 4, 2, 17, 0, 0, 0, time.UTC), false},
	}
	march := Period{From: d20260301, To: d20260331}
	for _, tt := range tests {
		y, m, dd := tt.d.Date()
		if y != tt.y || m != tt.m || dd != tt.dd {
			t.Errorf("Day(%d).Date() = %d, %v, %d; want %d, %v, %d", tt.d, y, m, dd, tt.y, tt.m, tt.dd)
		}
		if got := tt.d.Year(); got != tt.y {
			t.Errorf("Day(%d).Year() = %d, want %d", tt.d, got, tt.y)
		}
		if got := tt.d.Month(); got != tt.month {
			t.Errorf("Day(%d).Month() = %q, want %q", tt.d, got, tt.month)
		}
		if got := tt.d.String(); got != tt.str {
			t.Errorf("Day(%d).String() = %q, want %q", tt.d, got, tt.str)
		}
		end := tt.d.End()
		if !end.Equal(tt.endUTC) {
			t.Errorf("Day(%s).End() = %s, want %s", tt.d, end, tt.endUTC)
		}
		// The last instant of the day is on it, End itself on the next.
		if got := DayOf(end.Add(-time.Nanosecond)); got != tt.d {
			t.Errorf("DayOf(%s.End() − 1ns) = %s, want %s", tt.d, got, tt.d)
		}
		if got := DayOf(end); got != tt.d+1 {
			t.Errorf("DayOf(%s.End()) = %s, want %s", tt.d, got, tt.d+1)
		}
		if got := march.Contains(tt.d); got != tt.containedInMarch {
			t.Errorf("March 2026 Contains(%s) = %v, want %v", tt.d, got, tt.containedInMarch)
		}
	}
}

func TestYearPeriod(t *testing.T) {
	for _, tt := range []struct {
		y    int
		want Period
	}{
		{2026, Period{d20260101, d20261231}},
		{2024, Period{d20240101, d20240101 + 365}}, // leap year: 366 days
		{1970, Period{0, 364}},
	} {
		if got := YearPeriod(tt.y); got != tt.want {
			t.Errorf("YearPeriod(%d) = %+v, want %+v", tt.y, got, tt.want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		from, to string
		want     Period
	}{
		{"2026", "", Period{d20260101, d20261231}},
		{"2026-02", "", Period{d20260201, d20260228}}, // 28 days
		{"2024-02", "", Period{d20240201, d20240229}}, // 29 days
		{"2026-12", "", Period{d20261231 - 30, d20261231}},
		{"2026-03-05", "", Period{d20260305, d20260305}},
		{"2026-03-05", "2026-03-10", Period{d20260305, d20260310}},
		{"2026-03-05", "2026-03-05", Period{d20260305, d20260305}},
		{"2026-01", "2026-02", Period{d20260101, d20260228}},
		{"2026-03-05", "2026", Period{d20260305, d20261231}},
		{"2025", "2026-01-15", Period{20089, d20260115}}, // 2025-01-01 = 20454 − 365
	}
	for _, tt := range tests {
		got, err := ParsePeriod(tt.from, tt.to)
		if err != nil || got != tt.want {
			t.Errorf("ParsePeriod(%q, %q) = %+v, %v; want %+v, nil", tt.from, tt.to, got, err, tt.want)
		}
	}

	bad := func(spec string) string {
		return `kỳ "` + spec + `" không hợp lệ: dùng YYYY, YYYY-MM hoặc YYYY-MM-DD (period must be YYYY, YYYY-MM or YYYY-MM-DD)`
	}
	errs := []struct {
		from, to string
		want     string
	}{
		{"2026-13", "", bad("2026-13")},
		{"26", "", bad("26")},
		{"", "", bad("")},
		{"2026-02-30", "", bad("2026-02-30")},
		{"abcd", "", bad("abcd")},
		{"2026-3", "", bad("2026-3")},
		{"2026-03-5", "", bad("2026-03-5")},
		{"20260305", "", bad("20260305")},
		{"x", "2026", bad("x")},
		{"", "2026", bad("")},
		{"2026", "2026-00", bad("2026-00")},
		{"2026-03-10", "2026-03-05", "kỳ báo cáo kết thúc (2026-03-05) trước khi bắt đầu (2026-03-10) (period ends before it starts)"},
		{"2026", "2025", "kỳ báo cáo kết thúc (2025-12-31) trước khi bắt đầu (2026-01-01) (period ends before it starts)"},
		{"2026-03", "2026-02-28", "kỳ báo cáo kết thúc (2026-02-28) trước khi bắt đầu (2026-03-01) (period ends before it starts)"},
	}
	for _, tt := range errs {
		got, err := ParsePeriod(tt.from, tt.to)
		if err == nil {
			t.Errorf("ParsePeriod(%q, %q) = %+v, want an error", tt.from, tt.to, got)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParsePeriod(%q, %q) error = %q, want %q", tt.from, tt.to, err, tt.want)
		}
		if got != (Period{}) {
			t.Errorf("ParsePeriod(%q, %q) = %+v with an error, want the zero Period", tt.from, tt.to, got)
		}
	}
}
