package browser

import (
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTab drives a page as a user would: it opens it, picks a file in a
// file input, submits the form with a script's fetch, waits for the
// answer the page shows and takes a screenshot.
func TestTab(t *testing.T) {
	need(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>thử</title></head><body>
<form id="f"><input type="file" id="tep" name="tep"></form><p id="out"></p>
<script>
document.getElementById("tep").addEventListener("change", async function () {
  const r = await fetch("/up", {method: "POST", body: new FormData(document.getElementById("f"))});
  document.getElementById("out").textContent = await r.text();
});
console.log("sẵn sàng");
</script></body></html>`)
	})
	mux.HandleFunc("POST /up", func(w http.ResponseWriter, r *http.Request) {
		f, fh, err := r.FormFile("tep")
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := io.ReadAll(f)
		io.WriteString(w, fh.Filename+": "+string(b))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tab, err := NewTab(ctx, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := tab.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := tab.Eval(ctx, "document.title", &title); err != nil || title != "thử" {
		t.Fatalf("title %q (%v), want thử", title, err)
	}
	file := filepath.Join(t.TempDir(), "văn bản.txt")
	if err := os.WriteFile(file, []byte("nội dung"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tab.SetFiles(ctx, "#tep", file); err != nil {
		t.Fatal(err)
	}
	if err := tab.WaitFor(ctx, `document.getElementById("out").textContent !== ""`); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := tab.Eval(ctx, `document.getElementById("out").textContent`, &out); err != nil || out != "văn bản.txt: nội dung" {
		t.Errorf("page shows %q (%v), want the file's name and content", out, err)
	}
	if logs := tab.Logs(); len(logs) != 1 || logs[0] != "console.log: sẵn sàng" {
		t.Errorf("console: %q", logs)
	}
	shot := filepath.Join(t.TempDir(), "tab.png")
	if err := tab.Screenshot(ctx, shot); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 600 {
		t.Errorf("screenshot %dx%d, want 800x600", b.Dx(), b.Dy())
	}
	if err := tab.Eval(ctx, "nope(", nil); err == nil {
		t.Error("a syntax error evaluated without error")
	}
}
