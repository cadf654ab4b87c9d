package e2e

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/internal/samplepdf"
)

// TestEdxmlLargeAttachment sends an edXML package with one large signed
// PDF through the folder connector, a real hub and the recipient's
// export, while the heap of this process — which holds the hub and both
// nodes — stays under 64 MB: the reader decodes base64 as it streams into
// the outbox, the hub streams, the writer encodes as it streams out.
// LIENTHONG_EDXML_MB sets the PDF's size (default 8; `make edxml-large`
// runs 100).
func TestEdxmlLargeAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("large edXML transfer skipped in -short mode")
	}
	mb := 8
	if v := os.Getenv("LIENTHONG_EDXML_MB"); v != "" {
		var err error
		if mb, err = strconv.Atoi(v); err != nil || mb <= 0 {
			t.Fatalf("LIENTHONG_EDXML_MB=%q", v)
		}
	}
	dir := initHub(t)
	h := startHub(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sender, rcpt := newEdxmlNode(t, h.Addr(), dir, district), newEdxmlNode(t, h.Addr(), dir, commune)
	big, sum := writePDF(t, dir, district, "ban-do.pdf", samplepdf.Options{Title: "Ban do quy hoach", PadBytes: int64(mb) << 20})
	small, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "A"})

	// The package: the hand-written golden header, to commune only, with
	// the large PDF as its one attachment.
	hdrPath := filepath.Join(t.TempDir(), "hdr.edxml")
	must(t, os.WriteFile(hdrPath, edxmlPackage(t, dir, "new.edxml", small, small), 0o644))
	hdr, _ := readEdxml(t, hdrPath)
	p := hdr.Package
	p.Header.To = p.Header.To[:1]
	p.Attachments = []edxml.Attachment{{ContentID: "cid:1", Name: "ban-do.pdf", ContentType: "application/pdf", Description: "Bản đồ"}}
	must(t, os.MkdirAll(sender.watch.In, 0o755))
	pkg := filepath.Join(sender.watch.In, "ban-do.edxml")
	f, err := os.Create(pkg + ".tmp")
	must(t, err)
	must(t, edxml.Write(f, p, func(edxml.Attachment) (io.ReadCloser, error) { return os.Open(big) }))
	must(t, f.Close())
	must(t, os.Rename(pkg+".tmp", pkg))
	fi, err := os.Stat(pkg)
	must(t, err)

	runtime.GC()
	s := sampleHeap(2 * time.Millisecond)
	n, err := sender.watch.Scan(ctx)
	must(t, err)
	files := rcpt.receive(t)
	var got edxml.Attachment
	if len(files) == 1 {
		f, err := os.Open(files[0])
		must(t, err)
		m, err := edxml.Read(f, nil, edxml.Limits{})
		f.Close()
		must(t, err)
		got = m.Package.Attachments[0]
	}
	peak := s.Stop()

	if n != 1 || len(files) != 1 {
		t.Fatalf("scan handled %d, recipient wrote %q", n, files)
	}
	if _, err := os.Stat(filepath.Join(sender.watch.In, "sent", "ban-do.edxml")); err != nil {
		t.Errorf("package not moved to sent/: %v", err)
	}
	if h := hex.EncodeToString(got.SHA256[:]); h != sum {
		t.Errorf("exported attachment sha256 %s, want %s", h, sum)
	}
	t.Logf("edXML package of %.1f MB (PDF %d MB): peak live heap of hub + both nodes %.1f MB", float64(fi.Size())/(1<<20), mb, float64(peak)/(1<<20))
	if peak >= 64<<20 {
		t.Errorf("peak heap %.1f MB, want < 64 MB", float64(peak)/(1<<20))
	}
}
