package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node/nodecli"
)

// outboxSendJSON is `ltnode send --json` as the outbox tests read it.
type outboxSendJSON struct {
	MessageID   string   `json:"message_id"`
	Queued      bool     `json:"queued"`
	Unreachable string   `json:"unreachable"`
	Recipients  []string `json:"recipients"`
	ReceiptID   string   `json:"receipt_id"`
}

// outboxSyncJSON is `ltnode sync --json`.
type outboxSyncJSON struct {
	Forwarded   int    `json:"forwarded"`
	Queued      int    `json:"queued"`
	Failed      int    `json:"failed"`
	Unreachable string `json:"unreachable"`
	Documents   []struct {
		MessageID  string   `json:"message_id"`
		State      string   `json:"state"`
		Recipients []string `json:"recipients"`
		ReceiptID  string   `json:"receipt_id"`
	} `json:"documents"`
}

// outboxEntryJSON is one entry of `ltnode register outbox --json`.
type outboxEntryJSON struct {
	MessageID string `json:"message_id"`
	State     string `json:"state"`
	Error     string `json:"error"`
}

// inboxLineJSON is one line of `ltnode inbox --json`: a document or a
// notification.
type inboxLineJSON struct {
	Type      string   `json:"type"`
	MessageID string   `json:"message_id"`
	Sender    string   `json:"sender"`
	Number    string   `json:"number"`
	Notation  string   `json:"notation"`
	Files     []string `json:"files"`
	Duplicate bool     `json:"duplicate"`
	// Notifications.
	Agency string `json:"agency"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	// Revocations, updates, replacements.
	BusinessType     string `json:"business_type"`
	RelatedMessageID string `json:"related_message_id"`
}

func inboxJSONLines(t *testing.T, out string) []inboxLineJSON {
	t.Helper()
	var items []inboxLineJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			items = append(items, decodeJSON[inboxLineJSON](t, l))
		}
	}
	return items
}

// freeLoopback returns a loopback address no one listens on, so a hub can
// be stopped and started again on the same address.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close())
	return addr
}

// The hub is down while a commune sends 20 documents: each send exits 0
// and says the document waits in the outbox; the clerk may delete the
// original file. Once the hub is back on the same address, one sync
// forwards all 20 and the district receives each exactly once; a second
// sync and a second inbox find nothing.
func TestOutboxWhileHubDown(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	hp := startHubProcess(t, dir, addr)
	if hp.addr != addr {
		t.Fatalf("hub serves on %s, asked for %s", hp.addr, addr)
	}
	hp.kill(t)

	pdf, sum := writePDF(t, dir, commune, "cv.pdf", samplepdf.Options{Title: "Cho truc"})
	var ids []string
	for i := range 20 {
		rc, out, errs := ltnode(t, addr, dir, commune, "send", "--to", district, "--file", pdf, "--number", fmt.Sprint(100+i),
			"--notation", "UBND", "--subject", fmt.Sprintf("Văn bản chờ số %d", i), "--json")
		if rc != 0 {
			t.Fatalf("send %d with the hub down: exit %d: %s", i, rc, errs)
		}
		res := decodeJSON[outboxSendJSON](t, out)
		if !res.Queued || res.MessageID == "" || res.ReceiptID != "" || len(res.Recipients) != 0 || res.Unreachable == "" {
			t.Fatalf("send %d with the hub down printed %+v", i, res)
		}
		ids = append(ids, res.MessageID)
	}
	// The text form says so too.
	rc, out, errs := ltnode(t, addr, dir, commune, "send", "--to", district, "--file", pdf, "--number", "120",
		"--notation", "UBND", "--subject", "Văn bản thứ 21")
	if rc != 0 || !strings.Contains(out, "đang chờ trong hộp thư đi") {
		t.Fatalf("text send with the hub down: exit %d\n%s%s", rc, out, errs)
	}
	id21 := strings.TrimSpace(strings.TrimPrefix(lineWith(out, "Mã văn bản:"), "Mã văn bản:"))
	must(t, os.Remove(pdf)) // the outbox holds copies
	ids = append(ids, id21)

	// Still down: sync forwards nothing, exits 1 and says why.
	rc, out, errs = ltnode(t, addr, dir, commune, "sync", "--json")
	res := decodeJSON[outboxSyncJSON](t, out)
	if rc != 1 || res.Forwarded != 0 || res.Queued != 21 || res.Failed != 0 || res.Unreachable == "" ||
		!strings.Contains(errs, "vẫn chờ trong hộp thư đi") {
		t.Fatalf("sync with the hub down: exit %d, %+v, stderr %q", rc, res, errs)
	}

	startHubProcess(t, dir, addr)
	rc, out, errs = ltnode(t, addr, dir, commune, "sync", "--json")
	if rc != 0 {
		t.Fatalf("sync after restart: exit %d: %s", rc, errs)
	}
	res = decodeJSON[outboxSyncJSON](t, out)
	var forwarded []string
	for _, d := range res.Documents {
		if d.State != "forwarded" || !slices.Equal(d.Recipients, []string{district}) || len(d.ReceiptID) != 32 {
			t.Errorf("synced document %+v", d)
		}
		forwarded = append(forwarded, d.MessageID)
	}
	if res.Forwarded != 21 || res.Queued != 0 || res.Failed != 0 || !slices.Equal(forwarded, ids) {
		t.Fatalf("sync after restart: %+v, want the 21 documents in the order sent", res)
	}

	inbox := filepath.Join(t.TempDir(), "inbox")
	rc, out, errs = ltnode(t, addr, dir, district, "inbox", "--out", inbox, "--json")
	if rc != 0 {
		t.Fatalf("inbox: exit %d: %s", rc, errs)
	}
	var got []string
	for _, it := range inboxJSONLines(t, out) {
		if it.Type != "document" || it.Sender != commune || it.Duplicate || len(it.Files) != 1 || fileSHA256(t, it.Files[0]) != sum {
			t.Errorf("received %+v", it)
		}
		got = append(got, it.MessageID)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Errorf("district received %d documents %v, want each of the %d sent once", len(got), got, len(want))
	}

	rc, out, errs = ltnode(t, addr, dir, commune, "sync", "--json")
	if res := decodeJSON[outboxSyncJSON](t, out); rc != 0 || res.Forwarded != 0 || res.Queued != 0 || res.Failed != 0 {
		t.Errorf("second sync: exit %d, %+v, %s", rc, res, errs)
	}
	rc, out, errs = ltnode(t, addr, dir, district, "inbox", "--out", inbox, "--json")
	if rc != 0 || strings.TrimSpace(out) != "" {
		t.Errorf("second inbox: exit %d, %q, %s", rc, out, errs)
	}
	// The sender's register holds all of them, accepted.
	rc, out, errs = ltnode(t, addr, dir, commune, "register", "sent", "--json")
	if rc != 0 {
		t.Fatalf("register sent: exit %d: %s", rc, errs)
	}
	var sent []string
	for _, s := range decodeJSON[[]registerSentJSON](t, out) {
		if len(s.Recipients) != 1 || s.Recipients[0].Agency != district || len(s.ReceiptID) != 32 {
			t.Errorf("register entry %+v", s)
		}
		sent = append(sent, s.MessageID)
	}
	if slices.Sort(sent); !slices.Equal(sent, want) {
		t.Errorf("register sent holds %v, want %v", sent, want)
	}
}

// A document the hub refuses while the outbox is forwarded stays failed
// with the hub's message, is not sent again by the next sync, and is sent
// again with --retry or dropped with --drop. A refusal at send time is
// reported at once and leaves nothing queued.
func TestOutboxRefusal(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	hp := startHubProcess(t, dir, addr)
	hp.kill(t)

	unsigned, _ := writePDF(t, dir, "", "chua-ky.pdf", samplepdf.Options{Title: "Chua ky"})
	signed, _ := writePDF(t, dir, commune, "da-ky.pdf", samplepdf.Options{Title: "Da ky"})
	send := func(file, number string) outboxSendJSON {
		t.Helper()
		rc, out, errs := ltnode(t, addr, dir, commune, "send", "--to", district, "--file", file, "--number", number,
			"--notation", "UBND", "--subject", "Thử", "--json")
		if rc != 0 {
			t.Fatalf("send %s: exit %d: %s", number, rc, errs)
		}
		return decodeJSON[outboxSendJSON](t, out)
	}
	bad, good := send(unsigned, "1"), send(signed, "2")

	startHubProcess(t, dir, addr)
	for i, want := range []struct{ forwarded, failed int }{{1, 1}, {0, 1}} {
		rc, out, errs := ltnode(t, addr, dir, commune, "sync", "--json")
		res := decodeJSON[outboxSyncJSON](t, out)
		if rc != 1 || res.Forwarded != want.forwarded || res.Failed != want.failed || res.Queued != 0 || !strings.Contains(errs, "từ chối") {
			t.Fatalf("sync %d: exit %d, %+v, stderr %q", i, rc, res, errs)
		}
		if i == 0 && (res.Documents[0].MessageID != good.MessageID || res.Documents[1].MessageID != bad.MessageID ||
			res.Documents[1].State != "failed") {
			t.Errorf("sync %d documents %+v", i, res.Documents)
		}
	}
	rc, out, _ := ltnode(t, addr, dir, commune, "register", "outbox", "--json")
	ob := decodeJSON[[]outboxEntryJSON](t, out)
	if rc != 0 || len(ob) != 1 || ob[0].MessageID != bad.MessageID || ob[0].State != "failed" || !strings.Contains(ob[0].Error, "[FailedPrecondition]") {
		t.Errorf("register outbox: exit %d, %+v", rc, ob)
	}
	// --retry sends it again (refused again); --drop removes it.
	rc, out, _ = ltnode(t, addr, dir, commune, "sync", "--retry", "--json")
	if res := decodeJSON[outboxSyncJSON](t, out); rc != 1 || res.Failed != 1 {
		t.Errorf("sync --retry: exit %d, %+v", rc, res)
	}
	if rc, _, errs := ltnode(t, addr, dir, commune, "sync", "--drop", bad.MessageID); rc != 0 {
		t.Errorf("sync --drop: exit %d: %s", rc, errs)
	}
	if rc, out, _ := ltnode(t, addr, dir, commune, "sync", "--json"); rc != 0 || decodeJSON[outboxSyncJSON](t, out).Failed != 0 {
		t.Errorf("sync after --drop: exit %d, %s", rc, out)
	}

	// With the hub up, a refusal is immediate: exit 1, nothing queued.
	rc, _, errs := ltnode(t, addr, dir, commune, "send", "--to", district, "--file", unsigned, "--number", "3",
		"--notation", "UBND", "--subject", "Thử", "--json")
	if rc != 1 || !strings.Contains(errs, "[FailedPrecondition]") {
		t.Errorf("send of an unsigned PDF: exit %d, stderr %q", rc, errs)
	}
	if rc, out, _ := ltnode(t, addr, dir, commune, "register", "outbox", "--json"); rc != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("outbox after an immediate refusal: exit %d, %s", rc, out)
	}
}

// lineWith returns the first line of out containing s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startRun runs `ltnode run --json` as code until the returned function
// is called; that function returns the exit code and the output.
func startRun(t *testing.T, addr, dir, code string) (stop func() (int, string), out *syncBuffer) {
	t.Helper()
	out = new(syncBuffer)
	var errb syncBuffer
	m := &nodecli.Main{Stdout: out, Stderr: &errb, Getenv: func(k string) string {
		switch k {
		case "LTNODE_HUB":
			return addr
		case "LTNODE_ID":
			return provision.Layout{Dir: dir}.Agency(code)
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	rc := make(chan int, 1)
	go func() {
		rc <- m.Run(ctx, []string{"run", "--out", filepath.Join(t.TempDir(), "in"), "--interval", "200ms", "--json"})
	}()
	var once sync.Once
	var code0 int
	stop = func() (int, string) {
		once.Do(func() {
			cancel()
			select {
			case code0 = <-rc:
			case <-time.After(30 * time.Second):
				t.Errorf("ltnode run as %s did not stop", code)
			}
		})
		return code0, out.String() + errb.String()
	}
	t.Cleanup(func() { stop() })
	return stop, out
}

// waitFor polls until out holds s.
func waitFor(t *testing.T, out *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %q in:\n%s", s, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ltnode run forwards what waits in the outbox once the hub is back, and
// its Receive stream reconnects after the hub went away: the recipient's
// run receives the document, the sender's run gets the status
// notification; both stop cleanly (exit 0) when cancelled.
func TestRunForwardsAndReconnects(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	hp := startHubProcess(t, dir, addr)
	stopSender, senderOut := startRun(t, addr, dir, commune)
	stopRecipient, recipientOut := startRun(t, addr, dir, district)
	time.Sleep(300 * time.Millisecond) // both streams are open
	hp.kill(t)

	pdf, _ := writePDF(t, dir, commune, "cv.pdf", samplepdf.Options{Title: "Qua run"})
	rc, out, errs := ltnode(t, addr, dir, commune, "send", "--to", district, "--file", pdf, "--number", "7",
		"--notation", "UBND", "--subject", "Gửi khi trục dừng", "--json")
	sent := decodeJSON[outboxSendJSON](t, out)
	if rc != 0 || !sent.Queued {
		t.Fatalf("send with the hub down: exit %d, %s%s", rc, out, errs)
	}
	waitFor(t, senderOut, `"type":"waiting"`)

	startHubProcess(t, dir, addr)
	waitFor(t, senderOut, `"type":"forwarded","message_id":"`+sent.MessageID+`"`)
	waitFor(t, recipientOut, `"type":"document","message_id":"`+sent.MessageID+`"`)
	if rc, out, errs := ltnode(t, addr, dir, district, "status", sent.MessageID, "received"); rc != 0 {
		t.Fatalf("status: exit %d\n%s%s", rc, out, errs)
	}
	waitFor(t, senderOut, `"type":"notification","message_id":"`+sent.MessageID+`"`)

	for who, stop := range map[string]func() (int, string){commune: stopSender, district: stopRecipient} {
		if rc, out := stop(); rc != 0 || !strings.Contains(out, `"type":"reconnecting"`) {
			t.Errorf("run as %s: exit %d, want 0 after reconnecting:\n%s", who, rc, out)
		}
	}
	if strings.Count(recipientOut.String(), `"type":"document"`) != 1 {
		t.Errorf("the recipient's run received the document more than once:\n%s", recipientOut.String())
	}
	// The sender's register has the step.
	rc, out, _ = ltnode(t, addr, dir, commune, "register", "sent", "--json")
	reg := decodeJSON[[]registerSentJSON](t, out)
	if rc != 0 || len(reg) != 1 || len(reg[0].Recipients) != 1 || reg[0].Recipients[0].Status != "received" {
		t.Errorf("register sent after run: exit %d, %+v", rc, reg)
	}
}
