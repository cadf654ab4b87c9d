package e2e

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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
// allocations (-benchmem) and CPU time are the whole process's. It
// reports the flushes of the blob file system per document (flushes/op)
// and the process's user+system CPU per document (cpu-ms/op), which
// other programs on a busy machine move less than the wall-clock time.
//
//	accepted: verified, made durable, stored (one recipient)
//	refused:  the same PDF with a byte of its signed content changed:
//	          verified and refused, nothing made durable
func BenchmarkHubSend(b *testing.B) {
	_, url, c, good := benchHub(b)
	id := c.Identity()
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
			chunks := benchChunks(bc.pdf)
			envelope := func() *lienthongv1.SendRequest { return benchEnvelope(b, id, "cv.pdf", bc.pdf) }
			before := scrapeMetrics(b, url).value("lienthong_flush_seconds")
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.pdf)))
			b.ResetTimer()
			cpu := processCPU(b)
			for range b.N {
				_, err := rawSend(ctx, c.API(), append([]*lienthongv1.SendRequest{envelope()}, chunks...)...)
				if status.Code(err) != bc.code {
					b.Fatalf("Send: %v, want %v", err, bc.code)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric((scrapeMetrics(b, url).value("lienthong_flush_seconds")-before)/float64(b.N), "flushes/op")
		})
	}
}

// BenchmarkHubAck measures the hub's handling of one Ack: documents sent
// as in BenchmarkHubSend (verified, so each stored record carries a real
// verification), then acknowledged one per operation by their
// recipient: the check that the delivery is the caller's, the delivered
// receipt signed, the group-committed transaction. It reports the
// process's CPU per acknowledgement (cpu-ms/op).
func BenchmarkHubAck(b *testing.B) {
	h, _, c, pdf := benchHub(b)
	ctx := context.Background()
	chunks := benchChunks(pdf)
	ids := make([]string, b.N)
	for i := range ids {
		env := benchEnvelope(b, c.Identity(), "cv.pdf", pdf)
		res, err := rawSend(ctx, c.API(), append([]*lienthongv1.SendRequest{env}, chunks...)...)
		must(b, err)
		body := new(lienthongv1.ReceiptBody)
		must(b, proto.Unmarshal(res.GetReceipt().GetBody(), body))
		ids[i] = body.GetMessageId()
	}
	recipient := client(b, h.Addr(), h.dir, district).API()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for _, id := range ids {
		if _, err := recipient.Ack(ctx, &lienthongv1.AckRequest{MessageId: id}); err != nil {
			b.Fatalf("Ack %s: %v", id, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchHub starts a hub for the benchmarks and returns it, its /metrics
// URL, a client of a commune and a PDF of about 200 KB signed by the
// commune's leader, then its seal.
func benchHub(b *testing.B) (*runningHub, string, *node.Client, []byte) {
	b.Helper()
	dir := initHub(b)
	h := startHubWith(b, hub.Config{Dir: dir, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	c := client(b, h.Addr(), dir, commune)
	path, _ := writePDF(b, dir, "", "cv.pdf", samplepdf.Options{Title: "Cong van", PadBytes: 200 << 10})
	l := provision.Layout{Dir: dir}
	lc, err := pki.LoadCertificates(filepath.Join(l.Leader(commune), "cert.pem"))
	must(b, err)
	lk, err := pki.LoadKey(filepath.Join(l.Leader(commune), "key.pem"))
	must(b, err)
	must(b, pades.SignFile(path, path, pades.SignOptions{Signer: lk, Certificate: lc[0], Time: time.Now()}))
	signPDF(b, dir, commune, path)
	pdf, err := os.ReadFile(path)
	must(b, err)
	return h, "http://" + h.MetricsAddr() + "/metrics", c, pdf
}

// benchEnvelope is a new document's envelope, signed, for one file.
func benchEnvelope(b *testing.B, id *node.Identity, name string, data []byte) *lienthongv1.SendRequest {
	sum := sha256.Sum256(data)
	return envMsg(signEnv(b, id, &lienthongv1.Envelope{
		MessageId: uuid.NewString(), Sender: commune, Recipients: []string{district},
		BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "7", Notation: "UBND-VP", Subject: "Đo",
		IssueDate: time.Now().In(lienthong.Zone()).Format(time.DateOnly),
		Urgency:   lienthongv1.Urgency_URGENCY_NORMAL, SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL,
		Files: []*lienthongv1.FileInfo{{Name: name, MediaType: "application/pdf", Size: int64(len(data)), Sha256: sum[:]}},
	}))
}

// benchChunks cuts data into file 0's chunks of the node's size.
func benchChunks(data []byte) []*lienthongv1.SendRequest {
	var chunks []*lienthongv1.SendRequest
	for i := 0; i < len(data); i += node.SendChunkSize {
		chunks = append(chunks, chunkMsg(0, data[i:min(i+node.SendChunkSize, len(data))]))
	}
	return chunks
}
