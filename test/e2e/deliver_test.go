package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// The hub hashes a stored file with SHA-256 once and then checks later
// deliveries of the unchanged file more cheaply (store.ReadBlob). A file
// damaged after it was delivered whole to one recipient is still found
// at the next recipient's delivery: that recipient gets all but the last
// chunk and an abort, never the damaged file whole, and the document is
// quarantined for it.
func TestDamagedAfterDeliveryQuarantinedAtNext(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, commune)
	pdf, sum := writePDF(t, dir, commune, "lon.pdf", samplepdf.Options{Title: "Lớn", PadBytes: 100 << 10})
	fi, err := os.Stat(pdf)
	must(t, err)
	res, err := sender.Send(ctx, node.Document{Recipients: []string{province, district}, Number: "1", Notation: "UBND-VP", Subject: "Lớn",
		Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)
	id := res.MessageID

	// The first recipient gets it whole, twice (a re-read of the file
	// the hub now knows).
	for range 2 {
		if n := receivedBytes(t, client(t, h.Addr(), dir, province), id); n != int(fi.Size()) {
			t.Fatalf("first recipient got %d bytes of %d", n, fi.Size())
		}
	}
	must(t, client(t, h.Addr(), dir, province).ReceiveInto(ctx, t.TempDir(), node.ReceiveOptions{}, nil))

	damageBlob(t, dir, sum)
	stream, err := client(t, h.Addr(), dir, district).API().Receive(ctx, &lienthongv1.ReceiveRequest{})
	must(t, err)
	var parts []string
	sent := 0
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		switch p := msg.GetPart().(type) {
		case *lienthongv1.ReceiveResponse_Header:
			parts = append(parts, "header")
		case *lienthongv1.ReceiveResponse_Chunk:
			sent += len(p.Chunk.GetData())
		case *lienthongv1.ReceiveResponse_End:
			parts = append(parts, "end")
		case *lienthongv1.ReceiveResponse_Abort:
			parts = append(parts, "abort "+p.Abort.GetMessageId())
		case *lienthongv1.ReceiveResponse_Notification:
			body := new(lienthongv1.ReceiptBody)
			must(t, proto.Unmarshal(p.Notification.GetReceipt().GetBody(), body))
			parts = append(parts, "notification "+body.GetStatus().Name())
		}
	}
	if want := []string{"header", "abort " + id, "notification quarantined"}; !slices.Equal(parts, want) {
		t.Errorf("second recipient's stream %v, want %v", parts, want)
	}
	full, last := int(fi.Size()), int(fi.Size())%exchange.ChunkSize
	if last == 0 {
		last = exchange.ChunkSize
	}
	if sent != full-last {
		t.Errorf("%d of the damaged file's %d bytes sent, want all but the last chunk (%d)", sent, full, full-last)
	}
	if st, reason := trackStatus(t, sender, id, district); st != lienthongv1.Status_STATUS_QUARANTINED || !strings.Contains(reason, "trục đã cách ly văn bản") {
		t.Errorf("Track for the second recipient: %s (%q), want QUARANTINED", st, reason)
	}
	if st, _ := trackStatus(t, sender, id, province); st != lienthongv1.Status_STATUS_DELIVERED {
		t.Errorf("Track for the first recipient: %s, want DELIVERED", st)
	}
	countersAgree(t, h)
}

// receivedBytes reads c's pending deliveries once, without acknowledging
// them, and returns how many file bytes came for message id (-1 if it
// did not end with its end marker).
func receivedBytes(t *testing.T, c *node.Client, id string) int {
	t.Helper()
	stream, err := c.API().Receive(context.Background(), &lienthongv1.ReceiveRequest{})
	must(t, err)
	n, cur, ended := 0, "", false
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		switch p := msg.GetPart().(type) {
		case *lienthongv1.ReceiveResponse_Header:
			env := new(lienthongv1.Envelope)
			must(t, proto.Unmarshal(p.Header.GetEnvelope().GetEnvelope(), env))
			cur = env.GetMessageId()
		case *lienthongv1.ReceiveResponse_Chunk:
			if cur == id {
				n += len(p.Chunk.GetData())
			}
		case *lienthongv1.ReceiveResponse_End:
			ended = ended || p.End.GetMessageId() == id
		}
	}
	if !ended {
		return -1
	}
	return n
}

// BenchmarkDeliver measures delivering through a real hub on loopback
// with mutual TLS: 16 signed documents of ~200 KB wait for one agency,
// and each iteration streams them all to it (Receive without Ack, so
// the next iteration streams them again). The reader runs in this
// process: cpu-ns/delivery is the hub's side and the reader's together,
// which is enough to compare two versions of the hub.
func BenchmarkDeliver(b *testing.B) {
	const docs = 16
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(b.TempDir(), "hub")
	if rc := (&hubcli.Main{Stdout: io.Discard, Stderr: io.Discard}).Run(ctx, []string{"init", "--sample", "--dir", dir}); rc != 0 {
		b.Fatalf("lthub init: exit %d", rc)
	}
	h, err := hub.Open(ctx, hub.Config{Dir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	dial := func(code string) *node.Client {
		id, err := node.LoadIdentity(provision.Layout{Dir: dir}.Agency(code))
		if err != nil {
			b.Fatal(err)
		}
		c, err := node.Dial(h.Addr(), id)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	sender, receiver := dial(commune), dial(district)
	ad := provision.Layout{Dir: dir}.Agency(commune)
	certs, err := pki.LoadCertificates(filepath.Join(ad, "cert.pem"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := pki.LoadKey(filepath.Join(ad, "key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for i := range docs {
		path := filepath.Join(b.TempDir(), "vb.pdf")
		f, err := os.Create(path)
		if err == nil {
			err = samplepdf.Write(f, samplepdf.Options{Title: fmt.Sprintf("Văn bản %d", i), PadBytes: 190 << 10})
			f.Close()
		}
		if err == nil {
			err = pades.SignFile(path, path, pades.SignOptions{Signer: key, Certificate: certs[0], Reason: "Phát hành", Time: time.Now()})
		}
		if err == nil {
			_, err = sender.Send(ctx, node.Document{Recipients: []string{district}, Number: fmt.Sprint(i + 1), Notation: "UBND-VP",
				Subject: "Văn bản", Files: []node.File{{Path: path, Name: "vb.pdf"}}}, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(path)
		size += fi.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		stream, err := receiver.API().Receive(ctx, &lienthongv1.ReceiveRequest{})
		if err != nil {
			b.Fatal(err)
		}
		ends := 0
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if msg.GetEnd() != nil {
				ends++
			}
		}
		if ends != docs {
			b.Fatalf("%d documents delivered, want %d", ends, docs)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*docs), "cpu-ns/delivery")
}

// cpuTime is the CPU this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
