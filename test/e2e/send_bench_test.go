package e2e

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// BenchmarkHubSend measures the hub's handling of one Send: a real hub
// in this process on a loopback port with mutual TLS, bbolt and blob
// files on disk, the signature policy checking a PDF of about 200 KB
// signed twice (leader, then seal), as ltbench sends. The client writes
// hand-made messages (a fresh envelope signed per document, the PDF in
// the node's chunk size), so little of each operation is the client's;
// allocations (-benchmem) are the whole process's. It reports the flushes
// of the blob file system per document (flushes/op).
//
//	accepted: verified, made durable, stored (one recipient)
//	refused:  the same PDF with a byte of its signed content changed:
//	          verified and refused, nothing made durable
func BenchmarkHubSend(b *testing.B) {
	dir := initHub(b)
	h := startHubWith(b, hub.Config{Dir: dir, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	url := "http://" + h.MetricsAddr() + "/metrics"
	c := client(b, h.Addr(), dir, commune)
	id := c.Identity()

	path, _ := writePDF(b, dir, "", "cv.pdf", samplepdf.Options{Title: "Cong van", PadBytes: 200 << 10})
	l := provision.Layout{Dir: dir}
	lc, err := pki.LoadCertificates(filepath.Join(l.Leader(commune), "cert.pem"))
	must(b, err)
	lk, err := pki.LoadKey(filepath.Join(l.Leader(commune), "key.pem"))
	must(b, err)
	must(b, pades.SignFile(path, path, pades.SignOptions{Signer: lk, Certificate: lc[0], Time: time.Now()}))
	signPDF(b, dir, commune, path)
	good, err := os.ReadFile(path)
	must(b, err)
	bad := append([]byte(nil), good...)
	bad[strings.Index(string(bad), "Cong van")] ^= 0x01

	for _, bc := range []struct {
		name string
		pdf  []byte
		code codes.Code
	}{
		{"accepted", good, codes.OK},
		{"refused", bad, codes.InvalidArgument},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			sum := sha256.Sum256(bc.pdf)
			var chunks []*lienthongv1.SendRequest
			for i := 0; i < len(bc.pdf); i += node.SendChunkSize {
				chunks = append(chunks, chunkMsg(0, bc.pdf[i:min(i+node.SendChunkSize, len(bc.pdf))]))
			}
			envelope := func() *lienthongv1.SendRequest {
				return envMsg(signEnv(b, id, &lienthongv1.Envelope{
					MessageId: uuid.NewString(), Sender: commune, Recipients: []string{district},
					BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "7", Notation: "UBND-VP", Subject: "Đo",
					IssueDate: time.Now().In(lienthong.Zone()).Format(time.DateOnly),
					Urgency:   lienthongv1.Urgency_URGENCY_NORMAL, SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL,
					Files: []*lienthongv1.FileInfo{{Name: "cv.pdf", MediaType: "application/pdf", Size: int64(len(bc.pdf)), Sha256: sum[:]}},
				}))
			}
			before := scrapeMetrics(b, url).value("lienthong_flush_seconds")
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.pdf)))
			b.ResetTimer()
			for range b.N {
				_, err := rawSend(ctx, c.API(), append([]*lienthongv1.SendRequest{envelope()}, chunks...)...)
				if status.Code(err) != bc.code {
					b.Fatalf("Send: %v, want %v", err, bc.code)
				}
			}
			b.StopTimer()
			b.ReportMetric((scrapeMetrics(b, url).value("lienthong_flush_seconds")-before)/float64(b.N), "flushes/op")
		})
	}
}
