package compliance

import (
	"fmt"
	"time"

	"github.com/lienthong/lienthong"
)

// zone is Vietnam's time zone, in which days and months are counted.
var zone = lienthong.Zone()

// Zone returns the province's time zone (UTC+7).
func Zone() *time.Location { return zone }

// Day is a calendar day in the province's time zone, counted from
// 1970-01-01.
type Day int32

// DayOf returns the day t falls on in the province.
func DayOf(t time.Time) Day {
	y, m, d := t.In(zone).Date()
	return dayOfDate(y, m, d)
}

func dayOfDate(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("ngày %q không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)", s)
	}
	return dayOfDate(t.Date()), nil
}

// Date returns the day's date.
func (d Day) Date() (year int, month time.Month, day int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// Year returns the day's year.
func (d Day) Year() int { y, _, _ := d.Date(); return y }

// Month returns the day's month as "YYYY-MM".
func (d Day) Month() string { y, m, _ := d.Date(); return fmt.Sprintf("%04d-%02d", y, int(m)) }

// String returns YYYY-MM-DD.
func (d Day) String() string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

// End returns the first instant after the day, in the province.
func (d Day) End() time.Time {
	y, m, dd := d.Date()
	return time.Date(y, m, dd+1, 0, 0, 0, 0, zone)
}

// Period is an inclusive range of days.
type Period struct{ From, To Day }

// Contains reports whether d is within p.
func (p Period) Contains(d Day) bool { return d >= p.From && d <= p.To }

// YearPeriod returns the whole year y.
func YearPeriod(y int) Period {
	return Period{From: dayOfDate(y, time.January, 1), To: dayOfDate(y, time.December, 31)}
}

// ParsePeriod reads a period from a from and a to date (YYYY-MM-DD), or
// from a single spec: "2026" (a year), "2026-03" (a month) or "2026-03-05"
// (a day). It refuses a period that ends before it starts.
func ParsePeriod(from, to string) (Period, error) {
	if to == "" {
		return parseSpan(from)
	}
	f, err := parseSpan(from)
	if err != nil {
		return Period{}, err
	}
	t, err := parseSpan(to)
	if err != nil {
		return Period{}, err
	}
	p := Period{From: f.From, To: t.To}
	if p.To < p.From {
		return Period{}, fmt.Errorf("kỳ báo cáo kết thúc (%s) trước khi bắt đầu (%s) (period ends before it starts)", p.To, p.From)
	}
	return p, nil
}

func parseSpan(s string) (Period, error) {
	switch len(s) {
	case 4:
		t, err := time.Parse("2006", s)
		if err == nil {
			return YearPeriod(t.Year()), nil
		}
	case 7:
		t, err := time.Parse("2006-01", s)
		if err == nil {
			first := dayOfDate(t.Year(), t.Month(), 1)
			return Period{From: first, To: dayOfDate(t.Year(), t.Month()+1, 1) - 1}, nil
		}
	case 10:
		d, err := ParseDay(s)
		if err == nil {
			return Period{From: d, To: d}, nil
		}
	}
	return Period{}, fmt.Errorf("kỳ %q không hợp lệ: dùng YYYY, YYYY-MM hoặc YYYY-MM-DD (period must be YYYY, YYYY-MM or YYYY-MM-DD)", s)
}
