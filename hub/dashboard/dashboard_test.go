package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/compliance"
)

// TestOverviewFigures checks the province page against figures computed
// by hand from the fixture.
func TestOverviewFigures(t *testing.T) {
	srv := start(t, fixtureNow)
	resp, body := srv.get(t, "/?period=2026")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s\n%s", resp.Status, body)
	}
	got := parse(t, body).Fields
	want := map[string]string{
		"province/electronic":          "58",
		"province/paper":               "6",
		"province/secret":              "3",
		"province/electronic_rate":     "90,6%", // 58/64
		"province/signed":              "55",
		"province/signed_rate":         "94,8%", // 55/58
		"province/received":            "3",
		"province/acknowledged":        "3",
		"province/median_ack_seconds":  "≤ 1 phút",
		"province/done":                "1",
		"province/median_done_seconds": "≤ 2 giờ",
		"province/due":                 "3",
		"province/overdue":             "1",

		"kind:province/electronic_rate":           "88,9%", // 16/18
		"kind:province/agencies":                  "1",
		"kind:department/electronic_rate":         "100,0%",
		"kind:district/electronic_rate":           "100,0%",
		"kind:district/secret":                    "3",
		"kind:district/overdue":                   "1",
		"kind:district/median_ack_seconds":        "≤ 1 phút",
		"kind:commune/agencies":                   "2",
		"kind:commune/electronic":                 "4",
		"kind:commune/paper":                      "4",
		"kind:commune/electronic_rate":            "50,0%",
		"kind:commune/median_done_seconds":        "≤ 2 giờ",
		"kind:unit/agencies":                      "0",
		"kind:unit/electronic_rate":               "—",
		"kind:unit/median_ack_seconds":            "—",
		"code:" + province + "/electronic":        "16",
		"code:" + province + "/paper":             "2",
		"code:" + province + "/electronic_rate":   "88,9%",
		"code:" + province + "/signed_rate":       "93,8%", // 15/16
		"code:" + department + "/name":            `Sở Tư pháp & "Nội vụ" <thử>`,
		"code:" + department + "/electronic_rate": "100,0%",
		"code:" + district + "/secret":            "3",
		"code:" + district + "/overdue":           "1",
		"code:" + commune1 + "/electronic_rate":   "50,0%",
		"code:" + commune1 + "/signed_rate":       "50,0%",
		"code:" + commune1 + "/possibly_paper":    "3",
		"code:" + commune2 + "/electronic_rate":   "—",
		"code:" + commune2 + "/signed_rate":       "—",
		"code:" + commune2 + "/label":             "Cấp xã",

		"month:2026-01/electronic_rate": "—",
		"month:2026-03/electronic_rate": "97,7%", // 43/44
		"month:2026-04/electronic_rate": "75,0%", // 15/20
		"month:2026-07/electronic_rate": "—",     // only a due date
		"month:2026-12/electronic_rate": "—",
	}
	for _, k := range sortedKeys(want) {
		if got[k] != want[k] {
			t.Errorf("%s = %q, want %q", k, got[k], want[k])
		}
	}
	months := 0
	for k := range got {
		if strings.HasPrefix(k, "month:") {
			months++
		}
	}
	if months != 12 {
		t.Errorf("chart has %d months, want 12", months)
	}
	// And every figure equals the JSON report's.
	sameFigures(t, got, expected(srv.report(t, "period=2026"), ""))
}

func TestRanking(t *testing.T) {
	srv := start(t, fixtureNow)
	_, body := srv.get(t, "/")
	// Equal rates share a rank and go by code; no rate comes last.
	want := []string{department + "#1", district + "#1", province + "#3", commune1 + "#4", commune2 + "#0"}
	if got := parse(t, body).Rows; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ranking = %v, want %v", got, want)
	}
}

// TestPeriods checks how the query picks the period, the default one
// included: the current year in the province, which starts seven hours
// before UTC's.
func TestPeriods(t *testing.T) {
	for _, c := range []struct {
		name, query string
		now         time.Time
		title       string
		electronic  string
		months      []string
	}{
		{"default", "", fixtureNow, "năm 2026", "58", nil},
		{"empty form", "period=&from=&to=", fixtureNow, "năm 2026", "58", nil},
		{"new year in the province", "", time.Date(2025, 12, 31, 18, 0, 0, 0, time.UTC), "năm 2026", "58", nil},
		{"still 2025 in the province", "", time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC), "năm 2025", "100", nil},
		{"year", "period=2025", fixtureNow, "năm 2025", "100", nil},
		{"month", "period=2026-03", fixtureNow, "tháng 3/2026", "43", []string{"2026-03"}},
		{"day", "period=2026-03-03", fixtureNow, "ngày 03/03/2026", "30", []string{"2026-03"}},
		{"from to", "from=2026-04-01&to=2026-04-30", fixtureNow, "tháng 4/2026", "15", []string{"2026-04"}},
		{"from to days", "from=2026-03-03&to=2026-04-05", fixtureNow, "từ 03/03/2026 đến 05/04/2026", "41", []string{"2026-03", "2026-04"}},
		{"across years", "from=2025-12&to=2026-01", fixtureNow, "từ 01/12/2025 đến 31/01/2026", "100", []string{"2025-12", "2026-01"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := start(t, c.now)
			resp, body := srv.get(t, "/?"+c.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s\n%s", resp.Status, body)
			}
			if !strings.Contains(body, "Kỳ báo cáo: "+c.title) {
				t.Errorf("page does not say %q", "Kỳ báo cáo: "+c.title)
			}
			s := parse(t, body)
			if got := s.Fields["province/electronic"]; got != c.electronic {
				t.Errorf("electronic = %s, want %s", got, c.electronic)
			}
			if c.months != nil {
				var got []string
				for _, k := range sortedKeys(s.Fields) {
					if m, ok := strings.CutPrefix(k, "month:"); ok {
						got = append(got, strings.TrimSuffix(m, "/electronic_rate"))
					}
				}
				if strings.Join(got, " ") != strings.Join(c.months, " ") {
					t.Errorf("months = %v, want %v", got, c.months)
				}
			}
		})
	}
}

// TestAgencyPage follows the ranking's link to each agency and back.
func TestAgencyPage(t *testing.T) {
	srv := start(t, fixtureNow)
	base, _ := url.Parse(srv.URL + "/?period=2026")
	_, body := srv.get(t, base.RequestURI())
	links := map[string]string{}
	for _, l := range parse(t, body).Links {
		u, err := base.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		if code, ok := strings.CutPrefix(u.Path, "/agency/"); ok {
			links[code] = u.RequestURI()
		}
	}
	for _, c := range []struct {
		code string
		want map[string]string
	}{
		{commune1, map[string]string{
			"electronic": "4", "paper": "4", "electronic_rate": "50,0%", "median_done_seconds": "≤ 2 giờ",
			"possibly_paper": "3", "gaps": "2026: 4–5, 9",
		}},
		{commune2, map[string]string{"electronic_rate": "—", "possibly_paper": "0", "gaps": "Không có"}},
		{district, map[string]string{"secret": "3", "overdue": "1", "due": "3", "median_ack_seconds": "≤ 1 phút"}},
	} {
		t.Run(c.code, func(t *testing.T) {
			link := links[c.code]
			if want := "/agency/" + c.code + "?period=2026"; link != want {
				t.Fatalf("ranking links to %q, want %q", link, want)
			}
			resp, body := srv.get(t, link)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s\n%s", link, resp.Status, body)
			}
			s := parse(t, body)
			for f, w := range c.want {
				if g := s.Fields["agency:"+c.code+"/"+f]; g != w {
					t.Errorf("%s = %q, want %q", f, g, w)
				}
			}
			sameFigures(t, s.Fields, expected(srv.report(t, "period=2026&agency="+c.code), c.code))
			page, _ := url.Parse(srv.URL + link)
			var back, jsonLink string
			for _, l := range s.Links {
				u, _ := page.Parse(l)
				switch u.Path {
				case "/":
					back = u.RequestURI()
				case "/report.json":
					jsonLink = u.RequestURI()
				}
			}
			if back != "/?period=2026" {
				t.Errorf("back link = %q", back)
			}
			if want := "/report.json?period=2026&agency=" + c.code; jsonLink != want {
				t.Errorf("JSON link = %q, want %q", jsonLink, want)
			}
		})
	}
	// A month's chart is the agency's own: 3/4 in March, 1/4 in April.
	_, body = srv.get(t, "/agency/"+commune1+"?period=2026")
	s := parse(t, body)
	if m3, m4 := s.Fields["month:2026-03/electronic_rate"], s.Fields["month:2026-04/electronic_rate"]; m3 != "75,0%" || m4 != "25,0%" {
		t.Errorf("commune's March, April = %s, %s; want 75,0%%, 25,0%%", m3, m4)
	}
}

func TestErrors(t *testing.T) {
	srv := start(t, fixtureNow)
	for _, c := range []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/?period=2026-13", 400, "Kỳ \"2026-13\" không hợp lệ"},
		{"GET", "/?period=26", 400, "không hợp lệ"},
		{"GET", "/?from=2026-03-01", 400, "Cần nhập cả «Từ ngày» và «Đến ngày»"},
		{"GET", "/?period=2026&from=2026-01-01&to=2026-02-01", 400, "Chỉ chọn kỳ theo một cách"},
		{"GET", "/?from=2026-05-01&to=2026-04-01", 400, "Kỳ báo cáo kết thúc (2026-04-01) trước khi bắt đầu (2026-05-01)"},
		{"GET", "/?from=2000&to=2026", 400, "dài quá 10 năm"},
		{"GET", "/agency/" + commune1 + "?period=x", 400, "không hợp lệ"},
		{"GET", "/agency/" + unknown, 404, `Không tìm thấy cơ quan có mã định danh "` + unknown + `"`},
		{"GET", "/nope", 404, "Không có trang này"},
		{"GET", "/agency/", 404, "Không có trang này"},
		{"POST", "/", 405, "chỉ để xem"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if msg := parse(t, string(b)).Fields["error"]; !strings.Contains(msg, c.message) {
				t.Errorf("message %q does not say %q", msg, c.message)
			}
		})
	}
	if logs := srv.logs.String(); logs != "" {
		t.Errorf("client errors were logged:\n%s", logs)
	}
}

func TestJSON(t *testing.T) {
	srv := start(t, fixtureNow)
	rep := srv.report(t, "period=2026-03")
	if rep.From != "2026-03-01" || rep.To != "2026-03-31" || rep.Province.Electronic != 43 {
		t.Errorf("report for March: from %s to %s, %d electronic", rep.From, rep.To, rep.Province.Electronic)
	}
	if rep := srv.report(t, "period=2026&agency="+commune1); rep.Agency != commune1 || len(rep.Agencies) != 1 || rep.Agencies[0].PossiblyPaper != 3 {
		t.Errorf("report for %s: %+v", commune1, rep)
	}
	for _, c := range []struct {
		query   string
		status  int
		message string
	}{
		{"period=bad", 400, "không hợp lệ"},
		{"agency=" + unknown, 404, "Không tìm thấy cơ quan"},
	} {
		resp, body := srv.get(t, "/report.json?"+c.query)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Errorf("%s: %v: %s", c.query, err, body)
		}
		if resp.StatusCode != c.status || !strings.Contains(e.Error, c.message) {
			t.Errorf("%s: %d %q, want %d and %q", c.query, resp.StatusCode, e.Error, c.status, c.message)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.query, ct)
		}
	}
}

// TestInternalError checks that a failing store makes a 500 that says
// little to the clerk and everything to the log.
func TestInternalError(t *testing.T) {
	srv := startWith(t, fixtureNow, func(context.Context, compliance.Period, string) (*compliance.Report, error) {
		return nil, errors.New("reading counters: disk on fire")
	})
	for _, path := range []string{"/", "/agency/" + commune1, "/report.json"} {
		resp, body := srv.get(t, path)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: status %d, want 500", path, resp.StatusCode)
		}
		if !strings.Contains(body, "Không lập được báo cáo") || strings.Contains(body, "disk on fire") {
			t.Errorf("%s: body %q", path, body)
		}
	}
	if logs := srv.logs.String(); strings.Count(logs, "disk on fire") != 3 {
		t.Errorf("log:\n%s", logs)
	}
}

func TestHeaders(t *testing.T) {
	srv := start(t, fixtureNow)
	for _, c := range []struct{ path, contentType string }{
		{"/", "text/html; charset=utf-8"},
		{"/agency/" + commune1, "text/html; charset=utf-8"},
		{"/report.json", "application/json; charset=utf-8"},
		{"/?period=bad", "text/html; charset=utf-8"},
		{"/nope", "text/html; charset=utf-8"},
	} {
		resp, body := srv.get(t, c.path)
		for h, want := range map[string]string{
			"Content-Type":            c.contentType,
			"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", c.path, h, got, want)
			}
		}
		// Nothing is fetched from elsewhere and nothing runs.
		for _, bad := range []string{"<script", "http://", "https://", "@import", "url("} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: page contains %q", c.path, bad)
			}
		}
	}
}
