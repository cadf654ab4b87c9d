package compliance

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Percent formats a rate as a percentage with one decimal, "93.8%", or
// "—" when there is no rate. Vietnamese text uses a decimal comma. A rate
// below 1 shows at most "99.9%": "100%" is the province's target.
func Percent(r *float64, decimalComma bool) string {
	if r == nil {
		return "—"
	}
	s := strconv.FormatFloat(*r*100, 'f', 1, 64)
	if s == "100.0" && *r < 1 {
		// 99.96% must not read as the province's target reached.
		s = "99.9"
	}
	s += "%"
	if decimalComma {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// AtMost formats a median bucket bound as "≤ 2 giờ", or "—". A duration
// that is not a whole number of its unit is rounded up, so that the text
// stays an upper bound.
func AtMost(seconds *int64) string {
	if seconds == nil {
		return "—"
	}
	d := time.Duration(*seconds) * time.Second
	ceil := func(unit time.Duration) int64 { return int64((d + unit - 1) / unit) }
	switch {
	case d < time.Minute:
		return fmt.Sprintf("≤ %d giây", ceil(time.Second))
	case d < time.Hour:
		return fmt.Sprintf("≤ %d phút", ceil(time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("≤ %d giờ", ceil(time.Hour))
	default:
		return fmt.Sprintf("≤ %d ngày", ceil(24*time.Hour))
	}
}

// GapList formats gaps as "2026: 12–14, 20".
func GapList(gaps []Gap) string {
	var b strings.Builder
	year := 0
	for _, g := range gaps {
		if g.Year != year {
			if year != 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%d: ", g.Year)
			year = g.Year
		} else {
			b.WriteString(", ")
		}
		b.WriteString(Range{g.From, g.To}.String())
	}
	return b.String()
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing JSON report: %w", err)
	}
	return nil
}

// WriteTable writes the report as aligned text: the province, each level,
// then each agency.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	title := "Báo cáo liên thông văn bản điện tử"
	if r.Agency != "" {
		title += " — " + r.Agency
	}
	fmt.Fprintf(tw, "%s, %s – %s\n\n", title, r.From, r.To)
	fmt.Fprintln(tw, "Mã\tTên\tĐiện tử\tGiấy\tMật\tTỷ lệ điện tử\tCó chữ ký hợp lệ\tTrung vị nhận\tTrung vị hoàn thành\tQuá hạn\tSố có thể gửi giấy\t")
	line := func(code, name string, f *Figures, possiblyPaper string) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", code, name, f.Electronic, f.Paper, f.Secret,
			Percent(f.ElectronicRate, false), Percent(f.SignedRate, false), AtMost(f.MedianAckSeconds), AtMost(f.MedianDoneSeconds), f.Overdue, possiblyPaper)
	}
	line("", "Toàn tỉnh", &r.Province, "")
	for i := range r.Kinds {
		k := &r.Kinds[i]
		line("", fmt.Sprintf("%s (%d)", k.Label, k.Agencies), &k.Figures, "")
	}
	for i := range r.Agencies {
		a := &r.Agencies[i]
		pp := ""
		if a.PossiblyPaper > 0 {
			pp = fmt.Sprintf("%d (%s)", a.PossiblyPaper, GapList(a.Gaps))
		}
		line(a.Code, a.Name, &a.Figures, pp)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing report table: %w", err)
	}
	return nil
}

// WriteCSV writes one row per group: the province, each level, each
// agency, each month. Rates are fractions (0.9375), durations seconds.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"scope", "code", "name", "kind", "electronic", "paper", "secret", "electronic_rate",
		"signed", "signed_rate", "received", "acknowledged", "median_ack_seconds", "done", "median_done_seconds",
		"due", "overdue", "possibly_paper", "gaps"})
	row := func(scope, code, name, kind string, f *Figures, pp int64, gaps string) {
		cw.Write([]string{scope, code, name, kind, itoa(f.Electronic), itoa(f.Paper), itoa(f.Secret), ftoa(f.ElectronicRate),
			itoa(f.Signed), ftoa(f.SignedRate), itoa(f.Received), itoa(f.Acknowledged), ptoa(f.MedianAckSeconds),
			itoa(f.Done), ptoa(f.MedianDoneSeconds), itoa(f.Due), itoa(f.Overdue), itoa(pp), gaps})
	}
	row("province", "", "Toàn tỉnh", "", &r.Province, 0, "")
	for i := range r.Kinds {
		k := &r.Kinds[i]
		row("kind", "", k.Label, k.Kind, &k.Figures, 0, "")
	}
	for i := range r.Agencies {
		a := &r.Agencies[i]
		row("agency", a.Code, a.Name, a.Kind, &a.Figures, a.PossiblyPaper, GapList(a.Gaps))
	}
	for i := range r.Months {
		m := &r.Months[i]
		row("month", m.Month, "", "", &m.Figures, 0, "")
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing CSV report: %w", err)
	}
	return nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func ftoa(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func ptoa(v *int64) string {
	if v == nil {
		return ""
	}
	return itoa(*v)
}
