package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/dashboard/dashboardtest"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/browser"
	"github.com/lienthong/lienthong/signing/pki"
)

// httpsClient returns a client trusting the province root that presents
// the certificate in certDir (none if certDir is "").
func httpsClient(t *testing.T, hubDir, certDir string) *http.Client {
	t.Helper()
	roots, err := pki.LoadCertificates(provision.Layout{Dir: hubDir}.CACert())
	must(t, err)
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certDir != "" {
		cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem"))
		must(t, err)
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// TestDashboardHTTPSOperatorsOnly: over HTTPS the dashboard opens only to
// an operator certificate; health checks need none.
func TestDashboardHTTPSOperatorsOnly(t *testing.T) {
	h := startComplianceHub(t, time.Now())
	l := provision.Layout{Dir: h.dir}
	base := "https://" + h.HTTPSAddr()
	cases := []struct {
		name, certDir, path string
		code                int
		body                string
	}{
		{"operator", l.Operator(), "/", http.StatusOK, "Tình hình liên thông văn bản điện tử"},
		{"operator JSON", l.Operator(), "/report.json?period=2026", http.StatusOK, `"from": "2026-01-01"`},
		{"agency certificate", l.Agency(province), "/", http.StatusForbidden, "không có quyền xem trang tổng hợp"},
		{"no certificate", "", "/", http.StatusUnauthorized, "Cần chứng thư số vận hành trục"},
		{"health without certificate", "", "/healthz", http.StatusOK, `"status":"serving"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := httpsClient(t, h.dir, tc.certDir).Get(base + tc.path)
			must(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			must(t, err)
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.body) {
				t.Errorf("GET %s: %d %q, want %d containing %q", tc.path, resp.StatusCode, body, tc.code, tc.body)
			}
		})
	}
}

// TestDashboardInBrowser opens the dashboard of a hub holding the
// compliance scenario in headless Chromium and checks that every figure
// the browser shows is the one `lthub report --format json` gives.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := browser.Find(); err != nil {
		t.Skip("chromium not installed: apt-get install chromium (.ci/run installs it)")
	}
	h := startComplianceHub(t, time.Date(2026, 3, 2, 7, 0, 0, 0, ict))
	scenario(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	base := "http://" + h.HTTPAddr()
	for _, page := range []struct{ path, agency string }{
		{"/?period=2026-03", ""},
		{"/agency/" + commune + "?period=2026-03", commune},
		{"/agency/" + province + "?period=2026", province},
	} {
		dom, err := browser.DumpDOM(ctx, base+page.path)
		if err != nil {
			t.Fatal(err)
		}
		shown, err := dashboardtest.Parse(dom)
		if err != nil {
			t.Fatal(err)
		}
		period := strings.TrimPrefix(page.path[strings.Index(page.path, "?"):], "?period=")
		args := []string{"--period", period}
		if page.agency != "" {
			args = append(args, "--agency", page.agency)
		}
		for _, d := range dashboardtest.Diff(shown.Fields, dashboardtest.Expected(h.report(t, args...), page.agency)) {
			t.Errorf("%s: %s", page.path, d)
		}
	}
	// Spot checks against the hand-computed figures of TestComplianceReport.
	dom, err := browser.DumpDOM(ctx, base+"/?period=2026-03")
	must(t, err)
	shown, err := dashboardtest.Parse(dom)
	must(t, err)
	for k, want := range map[string]string{
		"province/electronic_rate":              "60,0%",
		"code:" + commune + "/electronic_rate":  "33,3%",
		"code:" + commune2 + "/electronic_rate": "0,0%",
		"code:" + province + "/possibly_paper":  "1",
		"kind:commune/electronic_rate":          "25,0%",
		"province/median_ack_seconds":           "≤ 30 phút",
	} {
		if shown.Fields[k] != want {
			t.Errorf("%s shown as %q, want %q", k, shown.Fields[k], want)
		}
	}
	// The ranking: by electronic rate, the district (100%) first.
	if len(shown.Rows) == 0 || !strings.HasPrefix(shown.Rows[0], district+"#1") {
		t.Errorf("ranking starts %q", shown.Rows)
	}

	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if err := browser.Screenshot(ctx, base+"/?period=2026-03", shot, 1366, 768); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(shot)
	must(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() != 1366 || b.Dy() != 768 {
		t.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
	}
	t.Logf("screenshot: %s", shot)
}
