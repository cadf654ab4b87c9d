package browser

import (
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// need skips the test where no browser is installed.
func need(t *testing.T) {
	t.Helper()
	if _, err := Find(); err != nil {
		t.Skip("chromium not installed: apt-get install chromium")
	}
}

func page(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>thử</title></head>` +
			`<body style="background:#0a5"><p id="p" data-field="electronic_rate">93,8%</p></body></html>`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDumpDOM(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	dom, err := DumpDOM(ctx, page(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := `<p id="p" data-field="electronic_rate">93,8%</p>`; !strings.Contains(dom, want) {
		t.Errorf("DOM lacks %s:\n%s", want, dom)
	}
}

func TestScreenshot(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "page.png")
	if err := Screenshot(ctx, page(t), path, 640, 400); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 400 {
		t.Errorf("screenshot is %dx%d, want 640x400", b.Dx(), b.Dy())
	}
}

func TestCancelled(t *testing.T) {
	need(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := DumpDOM(ctx, page(t))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("DumpDOM with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestDeadline checks that a browser stuck on a page that never loads is
// killed when the context ends, helpers included.
func TestDeadline(t *testing.T) {
	need(t)
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer stuck.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := DumpDOM(ctx, stuck.URL)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DumpDOM of a page that never loads: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > waitDelay {
		t.Errorf("DumpDOM returned %v after its deadline", d)
	}
}

func TestExcerpt(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"/usr/bin/chromium: 9: [: 1: unexpected operator\n[1:2:3/4.5:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n", "empty"},
		{"[1:1:ERROR:dbus/bus.cc:1] x\nbad flag\n\nnet::ERR_CONNECTION_REFUSED\n", "bad flag | net::ERR_CONNECTION_REFUSED"},
	} {
		if got := excerpt(c.in); got != c.want {
			t.Errorf("excerpt(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
