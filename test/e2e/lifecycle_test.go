package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/pki"
)

// Re-sending the same message id with the same content returns the
// original receipt; with other content it is refused.
func TestIdempotentSend(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	c := client(t, h.Addr(), dir, commune)
	pdf, _ := writePDF(t, dir, commune, "a.pdf", samplepdf.Options{Title: "A"})
	doc := node.Document{MessageID: "8a1c3c0e-4a8e-4d54-9a61-3f0f3bb1f0aa", Recipients: []string{district}, Number: "3",
		Notation: "UBND", Subject: "Một lần", IssueDate: "2026-11-22", Files: []node.File{{Path: pdf}}}
	first, err := c.Send(ctx, doc, nil)
	must(t, err)
	again, err := c.Send(ctx, doc, nil)
	must(t, err)
	if first.Duplicate || !again.Duplicate || !proto.Equal(first.Receipt, again.Receipt) {
		t.Errorf("re-send: duplicate %v/%v, same receipt %v", first.Duplicate, again.Duplicate, proto.Equal(first.Receipt, again.Receipt))
	}
	doc.Subject = "Nội dung khác"
	if _, err := c.Send(ctx, doc, nil); status.Code(err) != codes.AlreadyExists {
		t.Errorf("conflicting re-send: %v, want AlreadyExists", err)
	}
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 1 || st.Pending != 1 || st.Blobs != 1 {
		t.Errorf("store after re-sends: %+v", st)
	}
}

// A graceful stop lets a send already streaming finish and be accepted,
// ends waiting Receive streams with Unavailable, and then refuses new
// connections.
func TestGracefulShutdown(t *testing.T) {
	dir := initHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.Open(ctx, hub.Config{Dir: dir, Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0"})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx) }()

	// Health: the gRPC health service answers without a client
	// certificate; /healthz answers over HTTP.
	pool := x509.NewCertPool()
	roots, err := pki.LoadCertificates(provision.Layout{Dir: dir}.CACert())
	must(t, err)
	pool.AddCert(roots[0])
	conn, err := grpc.NewClient(h.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})))
	must(t, err)
	defer conn.Close()
	hr, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "lienthong.v1.ExchangeService"})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", hr, err)
	}
	resp, err := http.Get("http://" + h.HTTPAddr() + "/healthz")
	must(t, err)
	var hz map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&hz))
	resp.Body.Close()
	if hz["status"] != "serving" || hz["agencies"] != float64(len(provision.SampleProvince())) {
		t.Errorf("/healthz = %v", hz)
	}

	bg := context.Background()
	waiting := client(t, h.Addr(), dir, province)
	recvErr := make(chan error, 1)
	go func() {
		recvErr <- waiting.ReceiveInto(bg, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{Wait: true}, nil)
	}()

	c := client(t, h.Addr(), dir, commune)
	pdf, _ := writePDF(t, dir, commune, "a.pdf", samplepdf.Options{Title: "In flight", PadBytes: 512 << 10})
	p, err := c.Identity().Prepare(node.Document{Recipients: []string{district}, Number: "4", Notation: "UBND", Subject: "Đang gửi",
		Files: []node.File{{Path: pdf}}})
	must(t, err)
	data, err := os.ReadFile(pdf)
	must(t, err)
	stream, err := c.API().Send(bg)
	must(t, err)
	must(t, stream.Send(envMsg(p.Signed)))
	half := len(data) / 2
	must(t, stream.Send(chunkMsg(0, data[:half])))
	time.Sleep(50 * time.Millisecond) // the hub is reading this stream

	cancel() // graceful stop begins
	select {
	case err := <-recvErr:
		if status.Code(err) != codes.Unavailable {
			t.Errorf("waiting Receive ended with %v, want Unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting Receive did not end on shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("hub stopped (%v) before the in-flight send finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	must(t, stream.Send(chunkMsg(0, data[half:])))
	res, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("in-flight send after stop began: %v", err)
	}
	if len(res.GetReceipt().GetBody()) == 0 {
		t.Fatal("no receipt")
	}
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not stop after the in-flight send")
	}
	if _, err := client(t, h.Addr(), dir, commune).Agencies(bg, ""); status.Code(err) != codes.Unavailable {
		t.Errorf("after stop: %v, want Unavailable", err)
	}

	// The document accepted during shutdown is there after a restart.
	h2 := startHub(t, dir)
	var got []string
	must(t, client(t, h2.Addr(), dir, district).ReceiveInto(bg, filepath.Join(t.TempDir(), "in2"), node.ReceiveOptions{},
		func(r *node.Received) error {
			got = append(got, r.MessageID)
			if b, _ := os.ReadFile(r.Files[0]); !bytes.Equal(b, data) {
				t.Errorf("file differs")
			}
			return nil
		}))
	if len(got) != 1 || got[0] != p.Envelope.GetMessageId() {
		t.Errorf("after restart got %v, want %s", got, p.Envelope.GetMessageId())
	}
}
