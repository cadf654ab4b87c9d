package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
)

// The hub checks a document's signatures before it makes its files
// durable: a document it refuses for its signatures costs no flush and
// no blob commit, and leaves no blob, temporary file or record. The
// refusal's code and message are those the signature policy gives. An
// accepted document, for contrast, moves both counters.
func TestRefusedSignatureCostsNoFlush(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	url := "http://" + h.MetricsAddr() + "/metrics"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client(t, h.Addr(), dir, commune)

	signed, _ := writePDF(t, dir, commune, "signed.pdf", samplepdf.Options{Title: "Da ky"})
	data, err := os.ReadFile(signed)
	must(t, err)
	data[strings.Index(string(data), "Da ky")] ^= 0x01
	tampered := filepath.Join(t.TempDir(), "tampered.pdf")
	must(t, os.WriteFile(tampered, data, 0o644))
	appended := filepath.Join(t.TempDir(), "appended.pdf")
	must(t, os.WriteFile(appended, appendUpdate(t, signed), 0o644))
	unsigned, _ := writePDF(t, dir, "", "unsigned.pdf", samplepdf.Options{Title: "Chua ky"})
	good, _ := writePDF(t, dir, commune, "good.pdf", samplepdf.Options{Title: "Hop le"})

	tests := []struct {
		name  string
		files []string
		code  codes.Code
		want  []string
	}{
		{"tampered", []string{tampered}, codes.InvalidArgument, []string{"tampered.pdf", "digest mismatch"}},
		{"changed after signing", []string{appended}, codes.InvalidArgument, []string{"appended.pdf", "đã bị sửa sau chữ ký"}},
		{"unsigned", []string{unsigned}, codes.FailedPrecondition, []string{"chưa ký số", "unsigned document refused"}},
		// The good first file is not made durable either.
		{"good file, then a tampered one", []string{good, tampered}, codes.InvalidArgument, []string{"tampered.pdf", "digest mismatch"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := scrapeMetrics(t, url)
			files := make([]node.File, len(tt.files))
			for j, f := range tt.files {
				files[j] = node.File{Path: f}
			}
			_, err := c.Send(ctx, node.Document{Recipients: []string{district}, Number: "1" + string(rune('0'+i)), Notation: "UBND",
				Subject: "Chữ ký hỏng", Files: files}, nil)
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code %v (%q), want %v", st.Code(), st.Message(), tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q does not mention %q", st.Message(), w)
				}
			}
			storeIsEmpty(t, h, tt.name)
			after := scrapeMetrics(t, url)
			for _, name := range []string{"lienthong_flush_seconds", "lienthong_blob_commit_seconds"} {
				if d := after.value(name) - before.value(name); d != 0 {
					t.Errorf("%s moved by %v for a refused document, want 0", name, d)
				}
			}
			if d := after.value("lienthong_verifications_total", "outcome", "refused") - before.value("lienthong_verifications_total", "outcome", "refused"); d != 1 {
				t.Errorf("refused verifications moved by %v, want 1", d)
			}
		})
	}

	before := scrapeMetrics(t, url)
	res, err := c.Send(ctx, node.Document{Recipients: []string{district}, Number: "20", Notation: "UBND", Subject: "Hợp lệ",
		Files: []node.File{{Path: good}}}, nil)
	must(t, err)
	if res.Verification.GetVerdict() != "valid" {
		t.Errorf("verdict %q, want valid", res.Verification.GetVerdict())
	}
	after := scrapeMetrics(t, url)
	if d := after.value("lienthong_blob_commit_seconds") - before.value("lienthong_blob_commit_seconds"); d != 1 {
		t.Errorf("blob commits moved by %v for an accepted document, want 1", d)
	}
	if d := after.value("lienthong_flush_seconds") - before.value("lienthong_flush_seconds"); d < 1 {
		t.Errorf("flushes moved by %v for an accepted document, want at least 1", d)
	}
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 1 || st.Blobs != 1 || st.TmpFiles != 0 {
		t.Errorf("after the accepted document the store holds %+v, want 1 document, 1 blob, no temporary file", st)
	}
}
