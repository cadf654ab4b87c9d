package compliance

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// smallReport is a report for March 2026 with one district and one commune:
// a 0.9375 rate, a zero rate, nil rates and medians, gaps in two years.
func smallReport() *Report {
	district := Figures{Electronic: 15, Paper: 1, Secret: 2, ElectronicRate: f64(0.9375), Signed: 12, SignedRate: f64(0.8)}
	commune := Figures{Paper: 2, ElectronicRate: f64(0), Received: 9, Acknowledged: 9, MedianAckSeconds: i64(300),
		Done: 4, MedianDoneSeconds: i64(86400), Due: 6, Overdue: 1}
	province := Figures{Electronic: 15, Paper: 3, Secret: 2, ElectronicRate: f64(15.0 / 18), Signed: 12, SignedRate: f64(0.8),
		Received: 9, Acknowledged: 9, MedianAckSeconds: i64(300), Done: 4, MedianDoneSeconds: i64(86400), Due: 6, Overdue: 1}
	return &Report{
		From: "2026-03-01", To: "2026-03-31", GeneratedAt: time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC),
		Province: province,
		Kinds: []KindRow{
			{Kind: "district", Label: "Cấp huyện", Agencies: 1, Figures: district},
			{Kind: "commune", Label: "Cấp xã", Agencies: 1, Figures: commune},
		},
		Agencies: []AgencyRow{
			{Code: "000.00.31.H53", Name: "UBND huyện A", Kind: "district", Label: "Cấp huyện", Figures: district,
				Gaps: []Gap{{2025, 7, 7}, {2026, 4, 5}, {2026, 9, 11}}, PossiblyPaper: 6},
			{Code: "000.01.31.H53", Name: "UBND xã A1", Kind: "commune", Label: "Cấp xã", Figures: commune, Gaps: []Gap{}},
		},
		Months: []MonthRow{{Month: "2026-03", Figures: province}},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, smallReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", b.Bytes())
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, smallReport()); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"scope,code,name,kind,electronic,paper,secret,electronic_rate,signed,signed_rate,received,acknowledged,median_ack_seconds,done,median_done_seconds,due,overdue,possibly_paper,gaps",
		"province,,Toàn tỉnh,,15,3,2,0.8333333333333334,12,0.8,9,9,300,4,86400,6,1,0,",
		"kind,,Cấp huyện,district,15,1,2,0.9375,12,0.8,0,0,,0,,0,0,0,",
		"kind,,Cấp xã,commune,0,2,0,0,0,,9,9,300,4,86400,6,1,0,",
		`agency,000.00.31.H53,UBND huyện A,district,15,1,2,0.9375,12,0.8,0,0,,0,,0,0,6,"2025: 7; 2026: 4–5, 9–11"`,
		"agency,000.01.31.H53,UBND xã A1,commune,0,2,0,0,0,,9,9,300,4,86400,6,1,0,",
		"month,2026-03,,,15,3,2,0.8333333333333334,12,0.8,9,9,300,4,86400,6,1,0,",
		"",
	}, "\n")
	if got := b.String(); got != want {
		t.Errorf("WriteCSV:\n got\n%s\n want\n%s", got, want)
	}
}

func TestWriteTable(t *testing.T) {
	for _, agency := range []string{"", "000.00.31.H53"} {
		r := smallReport()
		r.Agency = agency
		var b bytes.Buffer
		if err := WriteTable(&b, r); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		title := "Báo cáo liên thông văn bản điện tử, 2026-03-01 – 2026-03-31"
		if agency != "" {
			title = "Báo cáo liên thông văn bản điện tử — 000.00.31.H53, 2026-03-01 – 2026-03-31"
		}
		want := [][]string{
			{title},
			{},
			strings.Fields("Mã Tên Điện tử Giấy Mật Tỷ lệ điện tử Có chữ ký hợp lệ Trung vị nhận Trung vị hoàn thành Quá hạn Số có thể gửi giấy"),
			{"Toàn", "tỉnh", "15", "3", "2", "83.3%", "80.0%", "≤", "5", "phút", "≤", "1", "ngày", "1"},
			{"Cấp", "huyện", "(1)", "15", "1", "2", "93.8%", "80.0%", "—", "—", "0"},
			{"Cấp", "xã", "(1)", "0", "2", "0", "0.0%", "—", "≤", "5", "phút", "≤", "1", "ngày", "1"},
			{"000.00.31.H53", "UBND", "huyện", "A", "15", "1", "2", "93.8%", "80.0%", "—", "—", "0", "6", "(2025:", "7;", "2026:", "4–5,", "9–11)"},
			{"000.01.31.H53", "UBND", "xã", "A1", "0", "2", "0", "0.0%", "—", "≤", "5", "phút", "≤", "1", "ngày", "1"},
		}
		if len(lines) != len(want) {
			t.Fatalf("WriteTable wrote %d lines, want %d:\n%s", len(lines), len(want), b.String())
		}
		if lines[0] != title {
			t.Errorf("title %q, want %q", lines[0], title)
		}
		for i := 1; i < len(want); i++ {
			if got := strings.Fields(lines[i]); strings.Join(got, "|") != strings.Join(want[i], "|") {
				t.Errorf("line %d cells\n got  %q\n want %q", i+1, got, want[i])
			}
		}
		// Columns are aligned: every line of the table is as wide.
		width := utf8.RuneCountInString(lines[2])
		for i := 3; i < len(lines); i++ {
			if w := utf8.RuneCountInString(lines[i]); w != width {
				t.Errorf("line %d is %d characters wide, the header %d:\n%s", i+1, w, width, b.String())
			}
		}
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrors(t *testing.T) {
	for name, write := range map[string]func() error{
		"writing JSON report: ":  func() error { return WriteJSON(failingWriter{}, smallReport()) },
		"writing CSV report: ":   func() error { return WriteCSV(failingWriter{}, smallReport()) },
		"writing report table: ": func() error { return WriteTable(failingWriter{}, smallReport()) },
	} {
		if err := write(); !errors.Is(err, errWrite) || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("%s…: error = %v", name, err)
		}
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		r            *float64
		point, comma string
	}{
		{nil, "—", "—"},
		{f64(0.9375), "93.8%", "93,8%"},
		{f64(0), "0.0%", "0,0%"},
		{f64(1), "100.0%", "100,0%"},
		{f64(0.5), "50.0%", "50,0%"},
		{f64(2.0 / 3), "66.7%", "66,7%"},
		{f64(0.8), "80.0%", "80,0%"},
		{f64(0.0004), "0.0%", "0,0%"},
		{f64(0.9994), "99.9%", "99,9%"},
		// One paper document in 30,000 must not read as 100%.
		{f64(29999.0 / 30000), "99.9%", "99,9%"},
		{f64(0.99951), "99.9%", "99,9%"},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.r != nil {
			name = strconv.FormatFloat(*tt.r, 'g', -1, 64)
		}
		if got := Percent(tt.r, false); got != tt.point {
			t.Errorf("Percent(%s, false) = %q, want %q", name, got, tt.point)
		}
		if got := Percent(tt.r, true); got != tt.comma {
			t.Errorf("Percent(%s, true) = %q, want %q", name, got, tt.comma)
		}
	}
}

func TestAtMost(t *testing.T) {
	tests := []struct {
		s    *int64
		want string
	}{
		{nil, "—"},
		{i64(0), "≤ 0 giây"},
		{i64(10), "≤ 10 giây"},
		{i64(59), "≤ 59 giây"},
		{i64(60), "≤ 1 phút"},
		{i64(61), "≤ 2 phút"}, // rounded up: still an upper bound
		{i64(3599), "≤ 60 phút"},
		{i64(3600), "≤ 1 giờ"},
		{i64(3601), "≤ 2 giờ"},
		{i64(86399), "≤ 24 giờ"},
		{i64(86400), "≤ 1 ngày"},
		{i64(86401), "≤ 2 ngày"},
	}
	for _, tt := range tests {
		if got := AtMost(tt.s); got != tt.want {
			t.Errorf("AtMost(%v) = %q, want %q", *tt.s, got, tt.want)
		}
	}
	// Every bucket bound reads as a whole number of its unit.
	want := []string{
		"≤ 10 giây", "≤ 1 phút", "≤ 5 phút", "≤ 15 phút", "≤ 30 phút",
		"≤ 1 giờ", "≤ 2 giờ", "≤ 4 giờ", "≤ 8 giờ",
		"≤ 1 ngày", "≤ 2 ngày", "≤ 3 ngày", "≤ 5 ngày", "≤ 7 ngày", "≤ 10 ngày", "≤ 15 ngày", "≤ 30 ngày", "≤ 60 ngày", "≤ 365 ngày",
	}
	for i, b := range Bounds() {
		if got := AtMost(i64(int64(b / time.Second))); got != want[i] {
			t.Errorf("AtMost(bound %d = %v) = %q, want %q", i, b, got, want[i])
		}
	}
}

func TestGapList(t *testing.T) {
	tests := []struct {
		gaps []Gap
		want string
	}{
		{nil, ""},
		{[]Gap{}, ""},
		{[]Gap{{2026, 12, 12}}, "2026: 12"},
		{[]Gap{{2026, 12, 14}, {2026, 20, 20}}, "2026: 12–14, 20"},
		{[]Gap{{2025, 2, 4}, {2026, 4, 5}, {2026, 9, 11}, {2026, 20, 20}}, "2025: 2–4; 2026: 4–5, 9–11, 20"},
		{[]Gap{{2025, 7, 7}, {2026, 1, 1}}, "2025: 7; 2026: 1"},
	}
	for _, tt := range tests {
		if got := GapList(tt.gaps); got != tt.want {
			t.Errorf("GapList(%v) = %q, want %q", tt.gaps, got, tt.want)
		}
	}
}
