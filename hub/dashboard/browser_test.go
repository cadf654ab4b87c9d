package dashboard_test

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/browser"
)

// TestInBrowser renders the dashboard in headless Chromium and checks that
// what the browser shows is what the JSON report says, figure by figure.
func TestInBrowser(t *testing.T) {
	if _, err := browser.Find(); err != nil {
		t.Skip("chromium not installed: apt-get install chromium")
	}
	srv := start(t, fixtureNow)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	for _, c := range []struct{ path, query, agency string }{
		{"/", "period=2026", ""},
		{"/agency/" + commune1, "period=2026", commune1},
	} {
		dom, err := browser.DumpDOM(ctx, srv.URL+c.path+"?"+c.query)
		if err != nil {
			t.Fatal(err)
		}
		q := c.query
		if c.agency != "" {
			q += "&agency=" + c.agency
		}
		sameFigures(t, parse(t, dom).Fields, expected(srv.report(t, q), c.agency))
	}

	// A laptop screen.
	const w, h = 1366, 768
	path := filepath.Join(t.TempDir(), "dashboard.png")
	if err := browser.Screenshot(ctx, srv.URL+"/?period=2026", path, w, h); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		t.Fatalf("screenshot is empty (%v)", err)
	}
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
}
