package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// waitStore polls the hub's store until ok holds of its figures, for at
// most 10 s.
func waitStore(t *testing.T, h *runningHub, what string, ok func(s storeStats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := h.Store().Stats(context.Background())
		must(t, err)
		s := storeStats{Documents: st.Documents, Pending: st.Pending, Blobs: st.Blobs, TmpFiles: st.TmpFiles}
		if ok(s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store never reached %s: %+v", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type storeStats struct{ Documents, Pending, Blobs, TmpFiles int }

// stalledSend opens a Send stream, sends msgs and then nothing more, as a
// stalled or malicious node would.
func stalledSend(t *testing.T, ctx context.Context, api lienthongv1.ExchangeServiceClient, msgs ...*lienthongv1.SendRequest) lienthongv1.ExchangeService_SendClient {
	t.Helper()
	stream, err := api.Send(ctx)
	must(t, err)
	for _, m := range msgs {
		must(t, stream.Send(m))
	}
	return stream
}

// outcome waits for the hub's answer on a Send stream without closing
// the client's side (which would end the upload).
func outcome(stream lienthongv1.ExchangeService_SendClient) error {
	return stream.RecvMsg(new(lienthongv1.SendResponse))
}

// wantStatus checks err's gRPC code and that its message holds every
// substring of wants.
func wantStatus(t *testing.T, what string, err error, code codes.Code, wants ...string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Errorf("%s: %v (%q), want %v", what, st.Code(), st.Message(), code)
		return
	}
	for _, w := range wants {
		if !strings.Contains(st.Message(), w) {
			t.Errorf("%s: message %q does not mention %q", what, st.Message(), w)
		}
	}
}

// sendSigned sends a small signed PDF from c to the recipients.
func sendSigned(t *testing.T, ctx context.Context, dir string, c *node.Client, to ...string) (*node.SendResult, error) {
	t.Helper()
	code := c.Identity().Code
	pdf, _ := writePDF(t, dir, code, "cv.pdf", samplepdf.Options{Title: "Cong van"})
	return c.Send(ctx, node.Document{Recipients: to, Number: "1", Notation: "UBND-VP", Subject: "Giới hạn",
		Files: []node.File{{Path: pdf}}}, nil)
}

// An upload that stops sending (before the envelope, or after the
// envelope and part of a file) ends with DeadlineExceeded after
// --send-idle, and its temporary file is removed: nothing is stored.
func TestStalledSendEnds(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Overload: limit.Config{SendIdle: 2 * time.Second}})
	c := client(t, h.Addr(), dir, commune)
	big := bytes.Repeat([]byte("x"), 10<<20)
	tests := []struct {
		name string
		msgs []*lienthongv1.SendRequest
		tmp  int // temporary files while stalled
	}{
		{"nothing sent", nil, 0},
		{"envelope, then nothing", []*lienthongv1.SendRequest{envMsg(signEnv(t, c.Identity(), goodEnvelope(commune, big, district)))}, 1},
		{"envelope and 64 KiB of a 10 MB file, then nothing", []*lienthongv1.SendRequest{
			envMsg(signEnv(t, c.Identity(), goodEnvelope(commune, big, district))), chunkMsg(0, big[:64<<10])}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stream := stalledSend(t, ctx, c.API(), tt.msgs...)
			if tt.tmp > 0 {
				waitStore(t, h, "a temporary file", func(s storeStats) bool { return s.TmpFiles == tt.tmp })
			}
			wantStatus(t, "stalled upload", outcome(stream), codes.DeadlineExceeded, "upload stalled", "--send-idle", "phần đã nhận bị xoá")
			storeIsEmpty(t, h, tt.name)
		})
	}
	// The node's next upload goes through.
	if _, err := sendSigned(t, context.Background(), dir, c, district); err != nil {
		t.Fatalf("send after the stalled ones: %v", err)
	}
}

// One agency's concurrent Send and Receive streams are capped; over the
// cap a stream is refused with ResourceExhausted naming the limit, other
// agencies are not affected, and a freed slot can be used again.
func TestPerAgencyStreamCaps(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0",
		Overload: limit.Config{MaxSendsPerAgency: 2, MaxReceivesPerAgency: 1, SendIdle: time.Minute}})
	ctx := context.Background()
	c := client(t, h.Addr(), dir, commune)
	data := bytes.Repeat([]byte("y"), 1<<20)

	t.Run("Send", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		for range 2 {
			stalledSend(t, sctx, c.API(), envMsg(signEnv(t, c.Identity(), goodEnvelope(commune, data, district))))
		}
		waitStore(t, h, "two uploads in progress", func(s storeStats) bool { return s.TmpFiles == 2 })
		env := goodEnvelope(commune, data, district)
		_, err := rawSend(ctx, c.API(), envMsg(signEnv(t, c.Identity(), env)), chunkMsg(0, data))
		wantStatus(t, "third concurrent Send", err, codes.ResourceExhausted, "--max-sends-per-agency", "tối đa 2", commune)
		if _, err := c.Track(ctx, env.GetMessageId()); status.Code(err) != codes.NotFound {
			t.Errorf("Track of the refused document: %v, want NotFound", err)
		}
		// Another agency sends meanwhile.
		if _, err := sendSigned(t, ctx, dir, client(t, h.Addr(), dir, district), commune2); err != nil {
			t.Errorf("another agency's send while %s is at its cap: %v", commune, err)
		}
		cancel()
		waitStore(t, h, "the stalled uploads removed", func(s storeStats) bool { return s.TmpFiles == 0 })
		// The slots come back as the handlers return.
		sendWhenFree(t, func() error { _, err := sendSigned(t, ctx, dir, c, district); return err })
		waitStore(t, h, "two documents", func(s storeStats) bool { return s.Documents == 2 && s.TmpFiles == 0 })
	})

	t.Run("Receive", func(t *testing.T) {
		rcv := client(t, h.Addr(), dir, district)
		rctx, cancel := context.WithCancel(ctx)
		first, err := rcv.API().Receive(rctx, &lienthongv1.ReceiveRequest{Wait: true})
		must(t, err)
		// The first stream is in the hub once it delivers what is pending.
		if msg, err := first.Recv(); err != nil || msg.GetHeader() == nil {
			t.Fatalf("first Receive: %v, %v; want the pending document's header", msg, err)
		}
		second, err := rcv.API().Receive(ctx, &lienthongv1.ReceiveRequest{Wait: true})
		must(t, err)
		_, err = second.Recv()
		wantStatus(t, "second concurrent Receive", err, codes.ResourceExhausted, "--max-receives-per-agency", "tối đa 1", district)
		// Another agency receives meanwhile.
		var got int
		must(t, client(t, h.Addr(), dir, commune2).ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
			func(*node.Received) error { got++; return nil }))
		if got != 1 {
			t.Errorf("%s received %d documents, want 1", commune2, got)
		}
		cancel()
		sendWhenFree(t, func() error {
			return rcv.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, nil)
		})
	})
}

// sendWhenFree retries f while the hub refuses it for a cap that a
// finished stream is about to free (its handler returns just after the
// client sees the stream end), for at most 5 s.
func sendWhenFree(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("after the streams ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Uploads in flight may hold at most --max-upload-bytes of temporary
// files, counted by declared size: an upload that would go over is
// refused before it writes anything.
func TestUploadBudget(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0",
		Limits:   exchange.Limits{MaxFiles: 3, MaxFileSize: 1 << 20, MaxDocumentSize: 1 << 20},
		Overload: limit.Config{MaxUploadBytes: 3 << 19, SendIdle: time.Minute}})
	ctx := context.Background()
	c := client(t, h.Addr(), dir, commune)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stalledSend(t, sctx, c.API(), envMsg(signEnv(t, c.Identity(), goodEnvelope(commune, make([]byte, 1<<20), district))))
	waitStore(t, h, "one upload in progress", func(s storeStats) bool { return s.TmpFiles == 1 })

	data := bytes.Repeat([]byte("z"), 600<<10)
	env := goodEnvelope(commune, data, district)
	_, err := rawSend(ctx, c.API(), envMsg(signEnv(t, c.Identity(), env)), chunkMsg(0, data))
	wantStatus(t, "upload over the budget", err, codes.ResourceExhausted, "--max-upload-bytes", "1048576 byte đang tải lên", "614400 byte")
	waitStore(t, h, "only the stalled upload", func(s storeStats) bool { return s.TmpFiles == 1 && s.Documents == 0 })
	// A document that fits goes through (a signed PDF of a few KiB).
	if _, err := sendSigned(t, ctx, dir, client(t, h.Addr(), dir, district), commune); err != nil {
		t.Errorf("a small document beside the stalled upload: %v", err)
	}
	cancel()
	waitStore(t, h, "one document, nothing in flight", func(s storeStats) bool { return s.Documents == 1 && s.TmpFiles == 0 })
}

// anonymousConn dials the hub without a client certificate, as a health
// probe (or a stranger) does.
func anonymousConn(t *testing.T, dir, addr string) *grpc.ClientConn {
	t.Helper()
	pool := x509.NewCertPool()
	roots, err := pki.LoadCertificates(provision.Layout{Dir: dir}.CACert())
	must(t, err)
	pool.AddCert(roots[0])
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// syncLog is a log sink safe for the hub's goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *syncLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// Connections without a client certificate are capped and closed when
// idle; agencies' connections do not count and are never refused for it.
func TestAnonymousConnectionsCapped(t *testing.T) {
	dir := initHub(t)
	var logs syncLog
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Overload: limit.Config{MaxAnonymousConns: 2, AnonymousIdle: 3 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	check := func(conn *grpc.ClientConn) error {
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	held := []*grpc.ClientConn{anonymousConn(t, dir, h.Addr()), anonymousConn(t, dir, h.Addr())}
	for i, conn := range held {
		if err := check(conn); err != nil {
			t.Fatalf("health check %d: %v", i+1, err)
		}
	}
	third := anonymousConn(t, dir, h.Addr())
	err := check(third)
	// Closed at once: gRPC would retry the connection in the background
	// and take a slot the held ones free.
	third.Close()
	wantStatus(t, "third connection without a certificate", err, codes.Unavailable)
	if !strings.Contains(logs.String(), "--max-anonymous-conns") {
		t.Errorf("the hub did not log the refusal naming the limit:\n%s", logs.String())
	}
	// Agencies are not counted.
	for _, code := range []string{commune, district, province} {
		if _, err := client(t, h.Addr(), dir, code).Agencies(ctx, ""); err != nil {
			t.Errorf("%s while strangers hold the cap: %v", code, err)
		}
	}
	// Idle, the held connections are closed by the hub (their clients
	// see them leave READY), and their slots serve new probes.
	for i, conn := range held {
		for conn.GetState() == connectivity.Ready {
			if !conn.WaitForStateChange(ctx, connectivity.Ready) {
				t.Fatalf("idle connection %d still open: %v", i+1, ctx.Err())
			}
		}
	}
	if err := check(anonymousConn(t, dir, h.Addr())); err != nil {
		t.Errorf("health check after the idle ones were closed: %v", err)
	}
}

// A Receive stream opened before its agency's certificate is revoked
// (CRL, then the reload SIGHUP does) or before its agency is suspended
// ends with Unauthenticated / PermissionDenied instead of handing over
// what reaches the inbox afterwards: a receipt for a document the agency
// sent, and (while it may still be addressed) a new document. The
// re-check interval is an hour here: the reload itself wakes the stream.
func TestAuthorityReachesOpenReceive(t *testing.T) {
	tests := []struct {
		name  string
		apply func(t *testing.T, h *runningHub)
		// addressable: others may still send to the agency.
		addressable bool
		code        codes.Code
		wants       []string
	}{
		{"certificate revoked", revokeAgency, true, codes.Unauthenticated, []string{"đã bị thu hồi", "client certificate revoked"}},
		{"agency suspended", func(t *testing.T, h *runningHub) {
			if rc, _, errOut := lthub(t, "agency", "suspend", "--dir", h.dir, district); rc != 0 {
				t.Fatalf("lthub agency suspend: exit %d: %s", rc, errOut)
			}
		}, false, codes.PermissionDenied, []string{"đang tạm ngừng liên thông", "agency suspended"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initHub(t)
			h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Overload: limit.Config{Recheck: time.Hour}})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sender := client(t, h.Addr(), dir, commune)
			first, err := sendSigned(t, ctx, dir, sender, district)
			must(t, err)
			back, err := sendSigned(t, ctx, dir, client(t, h.Addr(), dir, district), commune)
			must(t, err)
			stream, err := client(t, h.Addr(), dir, district).API().Receive(ctx, &lienthongv1.ReceiveRequest{Wait: true})
			must(t, err)
			// Read the first document through: the stream then waits.
			for {
				msg, err := stream.Recv()
				must(t, err)
				if msg.GetEnd().GetMessageId() == first.MessageID {
					break
				}
			}

			tt.apply(t, h)
			// The commune takes in the district's document: a receipt
			// for the district to be told of.
			var acked []string
			must(t, sender.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
				func(r *node.Received) error { acked = append(acked, r.MessageID); return nil }))
			if len(acked) != 1 || acked[0] != back.MessageID {
				t.Fatalf("%s acknowledged %v, want %s", commune, acked, back.MessageID)
			}
			_, err = sender.ReportStatus(ctx, back.MessageID, lienthongv1.Status_STATUS_RECEIVED, "")
			must(t, err)
			pending := 1
			if tt.addressable {
				_, err := sendSigned(t, ctx, dir, sender, district)
				must(t, err)
				pending++
			}
			msg, err := stream.Recv()
			if err == nil {
				t.Fatalf("the open stream went on delivering: a %T", msg.GetPart())
			}
			wantStatus(t, "open Receive stream", err, tt.code, tt.wants...)

			// Nothing was acknowledged by the district: its documents wait
			// in the queue, its receipt in its notifications.
			tr, err := sender.Track(ctx, first.MessageID)
			must(t, err)
			if len(tr.Recipients) != 1 || tr.Recipients[0].GetStatus() != lienthongv1.Status_STATUS_ACCEPTED {
				t.Errorf("%s: recipients %v, want %s still only accepted", first.MessageID, tr.Recipients, district)
			}
			waitStore(t, h, "the district's documents pending", func(s storeStats) bool { return s.Pending == pending })
			notices, err := h.Store().Notices(ctx, district)
			must(t, err)
			if len(notices) != 1 {
				t.Errorf("%s has %d notifications waiting, want 1", district, len(notices))
			}
		})
	}
}

// revokeAgency publishes a CRL revoking the district's client certificate
// and reloads the trust store, as SIGHUP does.
func revokeAgency(t *testing.T, h *runningHub) {
	t.Helper()
	l := provision.Layout{Dir: h.dir}
	ca, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	caKey, err := pki.LoadKey(l.CAKey())
	must(t, err)
	cert, err := pki.LoadCertificates(filepath.Join(l.Agency(district), "cert.pem"))
	must(t, err)
	now := time.Now()
	crl, err := (&pki.Authority{Cert: ca[0], Key: caKey}).CRL([]*x509.Certificate{cert[0]}, now.Add(-time.Minute), now.Add(-time.Minute), now.Add(24*time.Hour), 1)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(l.Trust(), "crls", "province.crl"), pki.CRLPEM(crl), 0o644))
	must(t, h.ReloadTrust())
}

// The dashboard's HTTP listener closes an idle keep-alive connection and
// one whose request does not arrive in time.
func TestDashboardListenerTimeouts(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0",
		Overload: limit.Config{HTTPIdleTimeout: time.Second, HTTPReadTimeout: time.Second}})
	tests := []struct {
		name string
		send string // what the client writes before going silent
		want string // what the hub answers before closing ("" for nothing)
	}{
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n", "HTTP/1.1 200 OK"},
		{"request body never finished (reading it times out)", "POST /healthz HTTP/1.1\r\nHost: hub\r\nContent-Length: 100\r\n\r\nabc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.HTTPAddr())
			must(t, err)
			defer conn.Close()
			_, err = conn.Write([]byte(tt.send))
			must(t, err)
			// The test's own bound: the hub must close well before it.
			must(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("the hub kept the connection open: %v (read %q)", err, got)
			}
			if !strings.HasPrefix(string(got), tt.want) {
				t.Errorf("the hub answered %q, want %q first", got, tt.want)
			}
		})
	}
}

// A refusal for a cap that finished streams free again (the agency's
// concurrent Sends) is not the document's fault: `ltnode send` keeps it
// in the outbox with the hub's message, and `ltnode sync` forwards it once
// the slot is free. Before, the outbox dropped it as refused.
func TestBusyRefusalStaysQueued(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0",
		Overload: limit.Config{MaxSendsPerAgency: 1, SendIdle: time.Minute}})
	ctx := context.Background()
	c := client(t, h.Addr(), dir, commune)
	data := bytes.Repeat([]byte("z"), 64<<10)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stalledSend(t, sctx, c.API(), envMsg(signEnv(t, c.Identity(), goodEnvelope(commune, data, district))))
	waitStore(t, h, "one upload in progress", func(s storeStats) bool { return s.TmpFiles == 1 })

	pdf, _ := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Ban"})
	db := filepath.Join(t.TempDir(), "node.db")
	code, out, errOut := ltnode(t, h.Addr(), dir, commune, "--db", db, "send", "--json", "--to", district,
		"--file", pdf, "--number", "31", "--notation", "UBND-VP", "--subject", "Khi trục bận")
	if code != 0 {
		t.Fatalf("ltnode send at the cap: exit %d: %s%s", code, out, errOut)
	}
	sent := decodeJSON[outboxSendJSON](t, out)
	if !sent.Queued || !strings.Contains(sent.Unreachable, "--max-sends-per-agency") || !strings.Contains(sent.Unreachable, "[ResourceExhausted]") {
		t.Fatalf("ltnode send at the cap: %+v, want queued with the hub's message", sent)
	}
	reg, err := register.Open(db, register.Options{})
	must(t, err)
	list, err := reg.Outbox()
	must(t, err)
	if len(list) != 1 || list[0].MessageID != sent.MessageID || list[0].State != register.Queued {
		t.Fatalf("outbox %+v, want %s queued", list, sent.MessageID)
	}

	cancel()
	waitStore(t, h, "the stalled upload removed", func(s storeStats) bool { return s.TmpFiles == 0 })
	sendWhenFree(t, func() error {
		code, out, errOut := ltnode(t, h.Addr(), dir, commune, "--db", db, "sync", "--json")
		if s := decodeJSON[outboxSyncJSON](t, out); code != 0 || s.Forwarded != 1 {
			return status.Errorf(codes.ResourceExhausted, "sync: exit %d %+v %s", code, s, errOut)
		}
		return nil
	})
	if _, err := c.Track(ctx, sent.MessageID); err != nil {
		t.Fatalf("Track after sync: %v", err)
	}
}
