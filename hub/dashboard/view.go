package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/hub/compliance"
)

// page is what every page shows around its content.
type page struct {
	Title       string
	Heading     string
	Province    string
	PeriodLabel string
	// Root is the overview, relative to this page.
	Root template.URL
	// Form is the period as asked, to fill the period picker.
	Form query
	// JSON links to the same report as JSON; empty on error pages.
	JSON      template.URL
	Generated string
}

func newPage(province, heading string, p compliance.Period, q query, root template.URL, json string, rep *compliance.Report) page {
	label := periodLabel(p)
	title := "Tình hình liên thông văn bản điện tử — " + label
	if province != "" {
		title += " — " + province
	}
	return page{
		Title: title, Heading: heading, Province: province, PeriodLabel: label, Root: root, Form: q,
		JSON:      template.URL(json),
		Generated: rep.GeneratedAt.In(compliance.Zone()).Format("15:04 02/01/2006"),
	}
}

// scoped is a set of figures with what the data-* attributes say they are
// about.
type scoped struct {
	Scope string // "province" or "agency"
	Code  string
	*compliance.Figures
}

type overviewView struct {
	page
	Cards   scoped
	Kinds   []compliance.KindRow
	Chart   chart
	Ranking []rankRow
}

type rankRow struct {
	// Rank is shared by agencies with the same rate; 0 for an agency
	// with no document in the period.
	Rank int
	Link template.URL
	*compliance.AgencyRow
}

func newOverview(province string, root template.URL, p compliance.Period, q query, rep *compliance.Report) *overviewView {
	qs := q.encode()
	return &overviewView{
		page:    newPage(province, "Tình hình liên thông văn bản điện tử", p, q, root, string(root)+"report.json?"+qs, rep),
		Cards:   scoped{Scope: "province", Figures: &rep.Province},
		Kinds:   rep.Kinds,
		Chart:   newChart(rep.Months),
		Ranking: ranking(root, rep.Agencies, qs),
	}
}

// ranking orders agencies by electronic rate, highest first, those with
// no rate last, equal rates by code.
func ranking(root template.URL, rows []compliance.AgencyRow, qs string) []rankRow {
	out := make([]rankRow, len(rows))
	for i := range rows {
		out[i] = rankRow{
			Link:      root + template.URL("agency/"+url.PathEscape(rows[i].Code)+"?"+qs),
			AgencyRow: &rows[i],
		}
	}
	slices.SortStableFunc(out, func(a, b rankRow) int {
		ra, rb := a.ElectronicRate, b.ElectronicRate
		switch {
		case ra == nil && rb != nil:
			return 1
		case ra != nil && rb == nil:
			return -1
		case ra != nil && *ra != *rb:
			if *ra > *rb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Code, b.Code)
	})
	for i := range out {
		switch r := out[i].ElectronicRate; {
		case r == nil:
		case i > 0 && out[i-1].ElectronicRate != nil && *out[i-1].ElectronicRate == *r:
			out[i].Rank = out[i-1].Rank
		default:
			out[i].Rank = i + 1
		}
	}
	return out
}

type agencyView struct {
	page
	Agency *compliance.AgencyRow
	Cards  scoped
	Chart  chart
	// Back links to the overview for the same period.
	Back template.URL
	// Gaps lists the register numbers possibly sent on paper, or "".
	Gaps string
}

func newAgency(province string, root template.URL, p compliance.Period, q query, rep *compliance.Report, code string) (*agencyView, bool) {
	i := slices.IndexFunc(rep.Agencies, func(a compliance.AgencyRow) bool { return a.Code == code })
	if i < 0 {
		return nil, false
	}
	a := &rep.Agencies[i]
	name := a.Name
	if name == "" {
		name = a.Code
	}
	v := url.Values{}
	v.Set("agency", code)
	return &agencyView{
		page:   newPage(province, name, p, q, root, string(root)+"report.json?"+q.encode()+"&"+v.Encode(), rep),
		Back:   root + template.URL("?"+q.encode()),
		Agency: a,
		Cards:  scoped{Scope: "agency", Code: a.Code, Figures: &a.Figures},
		Chart:  newChart(rep.Months),
		Gaps:   compliance.GapList(a.Gaps),
	}, true
}

type errorView struct {
	page
	Status  int
	Message string
	// Retry shows the period picker again, for a period mistyped.
	Retry bool
}

func newError(province string, root template.URL, q query, status int, msg string) *errorView {
	heading := "Yêu cầu không hợp lệ"
	switch status {
	case 404:
		heading = "Không tìm thấy"
	case 405:
		heading = "Không được phép"
	case 500:
		heading = "Lỗi của trục"
	}
	title := heading + " — Tình hình liên thông văn bản điện tử"
	if province != "" {
		title += " — " + province
	}
	return &errorView{
		page:   page{Title: title, Heading: heading, Province: province, Root: root, Form: q},
		Status: status, Message: msg, Retry: status == 400,
	}
}

// periodLabel names a period the way a report's title would: "năm 2026",
// "tháng 3/2026", "ngày 05/03/2026", else "từ … đến …".
func periodLabel(p compliance.Period) string {
	fy, fm, fd := p.From.Date()
	ty, tm, td := p.To.Date()
	_, _, nextDay := (p.To + 1).Date()
	switch {
	case p.From == p.To:
		return "ngày " + dmy(p.From)
	case fy == ty && fm == 1 && fd == 1 && tm == 12 && td == 31:
		return fmt.Sprintf("năm %d", fy)
	case fy == ty && fm == tm && fd == 1 && nextDay == 1:
		return fmt.Sprintf("tháng %d/%d", fm, fy)
	default:
		return "từ " + dmy(p.From) + " đến " + dmy(p.To)
	}
}

func dmy(d compliance.Day) string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%02d/%02d/%d", dd, m, y)
}

// rateClass colours a rate: the province's target is 100%.
func rateClass(r *float64) string {
	switch {
	case r == nil:
		return "none"
	case *r >= 1:
		return "full"
	case *r >= 0.9:
		return "near"
	default:
		return "low"
	}
}

// chart is a bar chart of the electronic rate by month, laid out here so
// that the template only draws. Coordinates are in the SVG's viewBox.
type chart struct {
	Width, Height                float64
	Left, Right, Top, Bottom     float64
	LabelY, LabelSize, ValueSize float64
	Grid                         []gridLine
	Bars                         []bar
}

type gridLine struct {
	Y     float64
	Label string
}

type bar struct {
	Month string // YYYY-MM, as in the JSON
	// Label is shown under the bar; empty where labels would crowd.
	Label string
	Class string
	Value string
	Title string
	// X is the bar's left edge, W its width, CX its centre; Y and H its
	// top and height (zero with no rate); TextY where its value goes.
	X, W, CX, Y, H, TextY float64
}

func newChart(months []compliance.MonthRow) chart {
	c := chart{Width: 1240, Height: 250, Left: 48, Right: 1232, Top: 24, Bottom: 214, LabelY: 234}
	for _, pct := range []float64{0, 50, 100} {
		c.Grid = append(c.Grid, gridLine{Y: c.Bottom - (c.Bottom-c.Top)*pct/100, Label: fmt.Sprintf("%.0f%%", pct)})
	}
	n := len(months)
	if n == 0 {
		return c
	}
	slot := (c.Right - c.Left) / float64(n)
	c.ValueSize = round(math.Min(14, slot*0.3))
	// Beyond two years a label per bar would overlap: label every k-th.
	every := (n + 23) / 24
	multiYear := months[0].Month[:4] != months[n-1].Month[:4]
	if multiYear {
		c.LabelSize = round(math.Min(13, slot*float64(every)*0.3))
	} else {
		c.LabelSize = round(math.Min(13, slot*float64(every)*0.45))
	}
	for i := range months {
		m := &months[i]
		var year, month int
		fmt.Sscanf(m.Month, "%d-%d", &year, &month)
		b := bar{Month: m.Month, Class: rateClass(m.ElectronicRate), Value: compliance.Percent(m.ElectronicRate, true)}
		b.W = slot * 0.6
		b.X = c.Left + slot*float64(i) + (slot-b.W)/2
		b.CX = b.X + b.W/2
		if i%every == 0 {
			if multiYear {
				b.Label = fmt.Sprintf("%d/%02d", month, year%100)
			} else {
				b.Label = fmt.Sprintf("T%d", month)
			}
		}
		if r := m.ElectronicRate; r != nil {
			b.H = (c.Bottom - c.Top) * math.Max(0, math.Min(1, *r))
			b.Y = c.Bottom - b.H
			b.Title = fmt.Sprintf("Tháng %d/%d: %d văn bản điện tử, %d văn bản giấy, tỷ lệ điện tử %s",
				month, year, m.Electronic, m.Paper, b.Value)
		} else {
			b.Y = c.Bottom
			b.Title = fmt.Sprintf("Tháng %d/%d: không có văn bản điện tử hay giấy", month, year)
		}
		b.TextY = b.Y - 6
		for _, v := range []*float64{&b.X, &b.W, &b.CX, &b.Y, &b.H, &b.TextY} {
			*v = round(*v)
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// round keeps SVG coordinates short: a tenth of a unit is finer than a
// pixel at any width the page is shown.
func round(x float64) float64 { return math.Round(x*10) / 10 }

// relRoot is the dashboard's root relative to path, which the links use so
// that the dashboard works under any prefix.
func relRoot(path string) template.URL {
	n := strings.Count(path, "/") - 1
	if n <= 0 {
		return "./"
	}
	return template.URL(strings.Repeat("../", n))
}

// capitalize starts a message with a capital letter, as a sentence on a
// page should; the compliance package's messages are written to follow a
// colon.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
