package samplepdf_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		opts samplepdf.Options
	}{
		{"minimal", samplepdf.Options{}},
		{"title and lines", samplepdf.Options{Title: "Công văn số 123/UBND-VP", Lines: []string{"Kính gửi: (các xã)", `back\slash`}}},
		{"three pages", samplepdf.Options{Title: "T", Pages: 3}},
		{"padded", samplepdf.Options{Title: "T", PadBytes: 100_003}},
		{"padded one byte", samplepdf.Options{Title: "T", PadBytes: 1}},
		{"xref stream", samplepdf.Options{Title: "Xref stream", Pages: 2, XRefStream: true}},
		{"xref stream padded", samplepdf.Options{Title: "T", PadBytes: 1 << 20, XRefStream: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := samplepdf.Bytes(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("%PDF-1.")) || !bytes.HasSuffix(data, []byte("%%EOF\n")) {
				t.Fatalf("not framed as a PDF: %q...%q", data[:10], data[len(data)-10:])
			}
			if int64(len(data)) < tt.opts.PadBytes {
				t.Errorf("size %d < PadBytes %d", len(data), tt.opts.PadBytes)
			}
			if tt.opts.XRefStream != bytes.Contains(data, []byte("/Type /XRef")) {
				t.Errorf("XRefStream=%v but output disagrees", tt.opts.XRefStream)
			}
			var streamed bytes.Buffer
			if err := samplepdf.Write(&streamed, tt.opts); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(streamed.Bytes(), data) {
				t.Error("Write and Bytes disagree")
			}
			checkWithTools(t, data, tt.opts)
		})
	}
}

func TestWriteRejectsNegative(t *testing.T) {
	for _, o := range []samplepdf.Options{{Pages: -1}, {PadBytes: -1}} {
		if err := samplepdf.Write(io.Discard, o); err == nil {
			t.Errorf("Write(%+v) succeeded", o)
		}
	}
}

// checkWithTools runs qpdf --check, pdfinfo and pdftotext when installed.
func checkWithTools(t *testing.T, data []byte, opts samplepdf.Options) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.pdf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("qpdf"); err == nil {
		out, err := exec.Command("qpdf", "--check", path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors found") {
			t.Errorf("qpdf --check: %v\n%s", err, out)
		}
	} else {
		t.Log("qpdf not installed; skipping qpdf --check (apt-get install qpdf)")
	}
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Log("poppler-utils not installed; skipping pdfinfo/pdftotext")
		return
	}
	out, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Syntax Error") {
		t.Errorf("pdfinfo: %v\n%s", err, out)
	}
	pages := opts.Pages
	if pages == 0 {
		pages = 1
	}
	if want := "Pages:"; !strings.Contains(string(out), want) || !strings.Contains(string(out), " "+strconv.Itoa(pages)+"\n") {
		t.Errorf("pdfinfo does not report %d pages:\n%s", pages, out)
	}
	text, err := exec.Command("pdftotext", path, "-").CombinedOutput()
	if err != nil || strings.Contains(string(text), "Syntax Error") {
		t.Errorf("pdftotext: %v\n%s", err, text)
	}
	if opts.Title == "Công văn số 123/UBND-VP" && !strings.Contains(string(text), "Cong van so 123/UBND-VP") {
		t.Errorf("pdftotext lacks the transliterated title:\n%s", text)
	}
	if len(opts.Lines) > 1 && !strings.Contains(string(text), opts.Lines[1]) {
		t.Errorf("pdftotext lacks line %q:\n%s", opts.Lines[1], text)
	}
}

func ExampleBytes() {
	data, err := samplepdf.Bytes(samplepdf.Options{Title: "Quyết định", XRefStream: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data[:8]))
	// Output: %PDF-1.5
}
