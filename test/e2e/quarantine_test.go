package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/receipt"
)

// logBuffer collects a hub's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log records with message msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// startLoggedHub serves dir with its log captured.
func startLoggedHub(t *testing.T, dir string) (*runningHub, *logBuffer) {
	t.Helper()
	logs := new(logBuffer)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	return h, logs
}

// sendPDF sends a freshly signed PDF (its own content, from title) and
// returns the message id and the PDF's SHA-256 (hex).
func sendPDF(t *testing.T, dir string, c *node.Client, from, number, title string, to ...string) (string, string) {
	t.Helper()
	pdf, sum := writePDF(t, dir, from, "vb.pdf", samplepdf.Options{Title: title, PadBytes: 20 << 10})
	res, err := c.Send(context.Background(), node.Document{Recipients: to, Number: number, Notation: "UBND-VP",
		Subject: title, Files: []node.File{{Path: pdf, Name: "vb.pdf"}}}, nil)
	must(t, err)
	return res.MessageID, sum
}

// damageBlob flips one byte in the middle of the stored blob with
// SHA-256 sum (hex), as a failing disk would.
func damageBlob(t *testing.T, dir, sum string) {
	t.Helper()
	path := filepath.Join(provision.Layout{Dir: dir}.Data(), "blobs", sum[:2], sum)
	b, err := os.ReadFile(path)
	must(t, err)
	b[len(b)/2] ^= 0x20
	must(t, os.WriteFile(path, b, 0o600))
}

// inboxEntries lists the names in an inbox folder.
func inboxEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	must(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// trackStatus returns the status of recipient in c's Track of id, and the
// reason of the last receipt about that recipient, checking every
// receipt's hub signature.
func trackStatus(t *testing.T, c *node.Client, id, recipient string) (lienthongv1.Status, string) {
	t.Helper()
	tr, err := c.Track(context.Background(), id)
	must(t, err)
	st, reason := lienthongv1.Status_STATUS_UNSPECIFIED, ""
	for _, r := range tr.Recipients {
		if r.GetAgency() == recipient {
			st = r.GetStatus()
		}
	}
	for _, r := range tr.Receipts {
		if r.Err != nil {
			t.Errorf("receipt of %s: %v", id, r.Err)
		}
		if r.Body.GetAgency() == recipient {
			reason = r.Body.GetReason()
		}
	}
	return st, reason
}

func countersAgree(t *testing.T, h *runningHub) {
	t.Helper()
	res, err := h.Store().CheckCounters(context.Background(), false)
	must(t, err)
	if len(res.Differences) > 0 {
		t.Errorf("compliance counters differ from a recount: %v", res.Differences)
	}
}

// quarantineList runs `lthub quarantine list --json` against the running
// hub.
func quarantineList(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"quarantine", "list", "--dir", dir, "--json"}); code != 0 {
		t.Fatalf("lthub quarantine list: exit %d: %s", code, errb.String())
	}
	var items []map[string]any
	if err := json.Unmarshal(out.Bytes(), &items); err != nil {
		t.Fatalf("lthub quarantine list printed %q: %v", out.String(), err)
	}
	return items
}

// A flipped byte in a stored blob: the hub finds it while streaming the
// document to its recipient, quarantines it and goes on with the next
// ones. ltnode inbox stores the two later documents, prints the damaged
// one and exits 1; Track, the notifications, the admin list, the log and
// the counters all say so, and nothing of the damaged document is stored
// or delivered.
func TestDamagedBlobQuarantinedAtDelivery(t *testing.T) {
	dir := initHub(t)
	h, logs := startLoggedHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, commune)
	bad, badSum := sendPDF(t, dir, sender, commune, "1", "Hỏng", district)
	damageBlob(t, dir, badSum)
	good1, _ := sendPDF(t, dir, sender, commune, "2", "Sau một", district)
	good2, _ := sendPDF(t, dir, sender, commune, "3", "Sau hai", district)

	out := filepath.Join(t.TempDir(), "den")
	rc, stdout, stderr := ltnode(t, h.Addr(), dir, district, "inbox", "--out", out, "--json")
	if rc != 1 || !strings.Contains(stderr, "1 văn bản không nhận được") {
		t.Fatalf("ltnode inbox: exit %d, stderr %q; want 1 and the count of documents not stored", rc, stderr)
	}
	var docs []string
	var notStored []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		item := decodeJSON[map[string]any](t, line)
		switch item["type"] {
		case "document":
			docs = append(docs, item["message_id"].(string))
		case "not_stored":
			notStored = append(notStored, item)
		}
	}
	if !slices.Equal(docs, []string{good1, good2}) {
		t.Errorf("documents stored %v, want the two after the damaged one %v", docs, []string{good1, good2})
	}
	if len(notStored) != 1 || notStored[0]["message_id"] != bad || notStored[0]["status"] != "quarantined" ||
		!strings.Contains(notStored[0]["reason"].(string), `tệp "vb.pdf" của văn bản 1/UBND-VP bị hỏng`) {
		t.Errorf("not stored: %v", notStored)
	}
	if got := inboxEntries(t, out); !slices.Equal(got, sortedStrings(good1, good2)) {
		t.Errorf("inbox holds %v, want only the two good documents", got)
	}
	rec, err := loadRegister(t, dir, district).ReceivedDoc(bad)
	must(t, err)
	if rec.Status != lienthongv1.Status_STATUS_QUARANTINED || rec.Dir != "" || !strings.Contains(rec.NotStored, "bị hỏng") {
		t.Errorf("register entry of the damaged document: %+v", rec)
	}

	// Track: the recipient's step is QUARANTINED, for the sender and for
	// the recipient; the good ones are delivered.
	for _, c := range []*node.Client{sender, client(t, h.Addr(), dir, district)} {
		if st, reason := trackStatus(t, c, bad, district); st != lienthongv1.Status_STATUS_QUARANTINED || !strings.Contains(reason, "trục đã cách ly văn bản") {
			t.Errorf("Track of the damaged document: %s (%q), want QUARANTINED", st, reason)
		}
	}
	if st, _ := trackStatus(t, sender, good2, district); st != lienthongv1.Status_STATUS_DELIVERED {
		t.Errorf("Track of a later document: %s, want DELIVERED", st)
	}
	// The sender is notified.
	var quarantined []string
	for _, b := range notifications(t, sender, true) {
		if b.GetStatus() == lienthongv1.Status_STATUS_QUARANTINED {
			quarantined = append(quarantined, b.GetMessageId()+" "+b.GetAgency())
		}
	}
	if !slices.Equal(quarantined, []string{bad + " " + district}) {
		t.Errorf("sender's quarantine notifications: %v", quarantined)
	}
	// Acknowledging it anyway is refused.
	_, err = client(t, h.Addr(), dir, district).API().Ack(ctx, &lienthongv1.AckRequest{MessageId: bad})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "đã bị trục cách ly") {
		t.Errorf("Ack of the quarantined document: %v, want FailedPrecondition", err)
	}
	// A second receive has nothing left.
	if rc, stdout, stderr := ltnode(t, h.Addr(), dir, district, "inbox", "--out", out); rc != 0 || !strings.Contains(stdout, "Đã nhận 0 văn bản") {
		t.Errorf("second ltnode inbox: exit %d, %q %q", rc, stdout, stderr)
	}

	// The operator: the admin list, the ERROR log line, the counters, the
	// store.
	items := quarantineList(t, dir)
	if len(items) != 1 || items[0]["message_id"] != bad || items[0]["found_by"] != "delivery" || items[0]["expected_sha256"] != badSum ||
		items[0]["actual_sha256"] == badSum || items[0]["file"] != "vb.pdf" || !slices.Equal(anyStrings(items[0]["recipients"]), []string{district}) {
		t.Errorf("lthub quarantine list: %v", items)
	}
	recs := logs.records(t, "document quarantined: a stored file is damaged")
	if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["message_id"] != bad || recs[0]["expected_sha256"] != badSum ||
		recs[0]["actual_sha256"] == "" || recs[0]["actual_sha256"] == badSum || recs[0]["found_by"] != "delivery" {
		t.Errorf("quarantine log records: %v", recs)
	}
	countersAgree(t, h)
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 3 || st.Pending != 0 || st.Blobs != 2 || st.Damaged != 1 || st.TmpFiles != 0 {
		t.Errorf("store: %+v, want 3 documents, none pending, 2 blobs, the damaged one set aside", st)
	}
}

// The background scrub finds a damaged blob before anyone asks for it:
// every recipient still waiting gets QUARANTINED and a notification, the
// sender one per recipient; a later upload of the same content stores a
// good copy and is delivered.
func TestScrubQuarantinesDamagedBlob(t *testing.T) {
	dir := initHub(t)
	h, logs := startLoggedHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, commune)
	pdf, sum := writePDF(t, dir, commune, "vb.pdf", samplepdf.Options{Title: "Quét", PadBytes: 20 << 10})
	doc := node.Document{Recipients: []string{district, province}, Number: "5", Notation: "UBND-VP", Subject: "Quét", Files: []node.File{{Path: pdf}}}
	res, err := sender.Send(ctx, doc, nil)
	must(t, err)
	bad := res.MessageID
	damageBlob(t, dir, sum)

	scrubbed, err := h.Scrub(ctx)
	must(t, err)
	if scrubbed.Blobs != 1 || scrubbed.Damaged != 1 {
		t.Errorf("scrub: %+v, want 1 blob read, 1 damaged", scrubbed)
	}
	for _, r := range []string{district, province} {
		if st, _ := trackStatus(t, sender, bad, r); st != lienthongv1.Status_STATUS_QUARANTINED {
			t.Errorf("Track: %s is %s, want QUARANTINED", r, st)
		}
	}
	// The sender's clerk reads it in ltnode inbox, and its register of
	// documents sent holds it.
	rc, stdout, stderr := ltnode(t, h.Addr(), dir, commune, "inbox", "--out", t.TempDir())
	for _, r := range []string{district, province} {
		// (Sent through the library, not the outbox: the register names it by id.)
		// The recipient is named, its code beside: "gửi UBND huyện Đông Sơn (000.00.31.H53) bị hỏng".
		if line := " (" + r + ") bị hỏng trên trục và đã bị cách ly"; rc != 0 || !strings.Contains(stdout, "Văn bản "+bad+" gửi ") || !strings.Contains(stdout, line) {
			t.Errorf("sender's ltnode inbox: exit %d, %q %q; want %q", rc, stdout, stderr, line)
		}
	}
	sent, err := loadRegister(t, dir, commune).SentDoc(bad)
	must(t, err)
	var got []string
	for _, r := range sent.Recipients {
		got = append(got, r.Agency+" "+r.Status.Name())
	}
	if want := sortedStrings(district+" quarantined", province+" quarantined"); !slices.Equal(got, want) {
		t.Errorf("sender's register: %v, want %v", got, want)
	}
	if n := notifications(t, sender, false); len(n) != 0 {
		t.Errorf("%d notifications left unacknowledged", len(n))
	}
	// The same content sent again is stored afresh and delivered.
	doc.Number = "6"
	again, err := sender.Send(ctx, doc, nil)
	must(t, err)

	for _, r := range []string{district, province} {
		out := t.TempDir()
		var stored []string
		err := client(t, h.Addr(), dir, r).ReceiveInto(ctx, out, node.ReceiveOptions{}, func(d *node.Received) error {
			stored = append(stored, d.MessageID)
			return nil
		})
		var ns *node.NotStoredError
		if !errors.As(err, &ns) || len(ns.Docs) != 1 || ns.Docs[0].MessageID != bad || ns.Docs[0].Quarantined == nil {
			t.Fatalf("%s ReceiveInto = %v, want the quarantined document reported", r, err)
		}
		if !slices.Equal(stored, []string{again.MessageID}) || !slices.Equal(inboxEntries(t, out), []string{again.MessageID}) {
			t.Errorf("%s stored %v (inbox %v), want only the re-sent document", r, stored, inboxEntries(t, out))
		}
	}
	items := quarantineList(t, dir)
	if len(items) != 1 || items[0]["found_by"] != "scrub" || !slices.Equal(anyStrings(items[0]["recipients"]), sortedStrings(district, province)) {
		t.Errorf("lthub quarantine list: %v", items)
	}
	if recs := logs.records(t, "document quarantined: a stored file is damaged"); len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["found_by"] != "scrub" {
		t.Errorf("quarantine log records: %v", recs)
	}
	countersAgree(t, h)
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 2 || st.Pending != 0 || st.Blobs != 1 || st.Damaged != 1 || st.TmpFiles != 0 {
		t.Errorf("store: %+v", st)
	}
	// A second pass finds nothing more.
	if again, err := h.Scrub(ctx); err != nil || again.Damaged != 0 || again.Blobs != 1 {
		t.Errorf("second scrub: %+v, %v", again, err)
	}
	// With the hub stopped, the list is read from its database.
	h.stop()
	if items := quarantineList(t, dir); len(items) != 1 || items[0]["message_id"] != bad {
		t.Errorf("lthub quarantine list with the hub stopped: %v", items)
	}
}

// namedData is one file of a document stored directly.
type namedData struct {
	name string
	data []byte
	// declared, if set, is the SHA-256 the envelope declares instead of
	// the data's.
	declared []byte
}

// acceptDirect stores a document through the store API, bypassing Send's
// checks, as an older or buggy hub might have stored it, with a real
// hub-signed accepted receipt; it returns the message id.
func acceptDirect(t *testing.T, h *runningHub, dir, sender, number string, files []namedData, to ...string) string {
	t.Helper()
	ctx := context.Background()
	l := provision.Layout{Dir: dir}
	id, err := node.LoadIdentity(l.Agency(sender))
	must(t, err)
	env := &lienthongv1.Envelope{
		MessageId: uuid.NewString(), Sender: sender, Recipients: to, BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW,
		Number: number, Notation: "UBND-VP", Subject: "Tên tệp lạ", Urgency: lienthongv1.Urgency_URGENCY_NORMAL,
	}
	var refs []store.BlobRef
	for _, f := range files {
		w, err := h.Store().NewBlob()
		must(t, err)
		_, err = w.Write(f.data)
		must(t, err)
		ref, err := w.Commit(ctx)
		must(t, err)
		refs = append(refs, ref)
		declared := f.declared
		if declared == nil {
			declared = ref.SHA256[:]
		}
		env.Files = append(env.Files, &lienthongv1.FileInfo{Name: f.name, MediaType: "application/pdf", Size: ref.Size, Sha256: declared})
	}
	signed := signEnv(t, id, env)
	sum := sha256.Sum256(signed.GetEnvelope())
	certs, err := pki.LoadCertificates(l.HubCert())
	must(t, err)
	key, err := pki.LoadKey(l.HubKey())
	must(t, err)
	rcpt, err := receipt.NewIssuer(key, certs[0], time.Now).Issue(&lienthongv1.ReceiptBody{
		MessageId: env.GetMessageId(), Status: lienthongv1.Status_STATUS_ACCEPTED, Recipients: to, EnvelopeSha256: sum[:], Sender: sender,
	})
	must(t, err)
	_, _, err = h.Store().Accept(ctx, &store.Document{MessageID: env.GetMessageId(), Sender: sender, Envelope: signed, EnvelopeSHA256: sum,
		Recipients: to, Files: refs, Accepted: rcpt, Verification: &lienthongv1.Verification{EnvelopeSignatureValid: true}})
	must(t, err)
	return env.GetMessageId()
}

// A document the node cannot store — a file name its disk or the node
// refuses, two files with the same base name, a file whose SHA-256 is not
// the declared one — that got into the hub's store anyway does not hold
// up the documents behind it: the node stores those, reports the bad one
// to the hub (which takes it out of the queue and tells the sender with a
// rejection), records it in its register, and stores nothing of it.
func TestUnstorableDocumentDoesNotBlockInbox(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, commune)
	data := func(s string) []byte { return []byte("%PDF-1.7 " + s) }
	for i, tc := range []struct {
		name   string
		files  []namedData
		reason string
	}{
		{"NUL byte", []namedData{{name: "a\x00b.pdf", data: data("nul")}}, `chứa ký tự điều khiển`},
		{"300-byte name", []namedData{{name: strings.Repeat("x", 296) + ".pdf", data: data("long")}}, "(file name too long)"},
		{"delivery.pb", []namedData{{name: "delivery.pb", data: data("pb")}}, `tên tệp "delivery.pb" không lưu được`},
		{"dot", []namedData{{name: ".", data: data("dot")}}, `tên tệp "." không lưu được`},
		{"dot dot", []namedData{{name: "..", data: data("dotdot")}}, `tên tệp ".." không lưu được`},
		{"same base name", []namedData{{name: "x/a.txt", data: data("x")}, {name: "y/a.txt", data: data("y")}}, `tên tệp "x/a.txt" không lưu được: tên tệp "x/a.txt" chứa ký tự '/'`},
		{"hash mismatch", []namedData{{name: "a.pdf", data: data("hash"), declared: make([]byte, 32)}}, "mã băm SHA-256 khác với phong bì"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := acceptDirect(t, h, dir, commune, fmt.Sprint(100+i), tc.files, district)
			good, _ := sendPDF(t, dir, sender, commune, fmt.Sprint(200+i), "Sau "+tc.name, district)

			out := t.TempDir()
			rcv := client(t, h.Addr(), dir, district)
			var stored []string
			err := rcv.ReceiveInto(ctx, out, node.ReceiveOptions{}, func(d *node.Received) error {
				stored = append(stored, d.MessageID)
				return nil
			})
			var ns *node.NotStoredError
			if !errors.As(err, &ns) || len(ns.Docs) != 1 {
				t.Fatalf("ReceiveInto = %v, want one document not stored", err)
			}
			d := ns.Docs[0]
			if d.MessageID != bad || d.Rejected == nil || d.ReportErr != nil || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("not stored: %s reason %q rejected %v report error %v; want %s with %q, reported", d.MessageID, d.Reason, d.Rejected != nil, d.ReportErr, bad, tc.reason)
			}
			if !slices.Equal(stored, []string{good}) || !slices.Equal(inboxEntries(t, out), []string{good}) {
				t.Errorf("stored %v, inbox %v; want only %s", stored, inboxEntries(t, out), good)
			}
			st, reason := trackStatus(t, sender, bad, district)
			if st != lienthongv1.Status_STATUS_REJECTED || !strings.HasPrefix(reason, exchange.CannotStorePrefix) || !strings.Contains(reason, tc.reason) {
				t.Errorf("Track: %s %q, want REJECTED with the node's reason", st, reason)
			}
			var got []string
			for _, b := range notifications(t, sender, true) {
				if b.GetMessageId() == bad {
					got = append(got, b.GetStatus().Name())
				}
			}
			if !slices.Equal(got, []string{"rejected"}) {
				t.Errorf("sender's notifications about it: %v", got)
			}
			// Nothing left: a second receive is empty.
			if err := rcv.ReceiveInto(ctx, out, node.ReceiveOptions{}, nil); err != nil {
				t.Errorf("second ReceiveInto: %v", err)
			}
			_, err = rcv.API().Ack(ctx, &lienthongv1.AckRequest{MessageId: bad})
			if status.Code(err) != codes.FailedPrecondition {
				t.Errorf("Ack after reporting it cannot be stored: %v, want FailedPrecondition", err)
			}
			countersAgree(t, h)
			s, err := h.Store().Stats(ctx)
			must(t, err)
			if s.Pending != 0 || s.TmpFiles != 0 {
				t.Errorf("store: %+v", s)
			}
		})
	}
}

// loadRegister opens an agency's node register (node.db in its identity
// folder), as ltnode does.
func loadRegister(t *testing.T, dir, code string) *register.Register {
	t.Helper()
	reg, err := register.Open(filepath.Join(provision.Layout{Dir: dir}.Agency(code), "node.db"), register.Options{})
	must(t, err)
	return reg
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// What a node of any version sees of a damaged document: its header, the
// damaged file's chunks except the last (never a complete copy, so a node
// cannot store it even without checking), a DeliveryAbort naming it
// instead of the end marker (an older node stops on it, storing nothing),
// then the next document whole and the QUARANTINED notification.
func TestDamagedBlobNeverSentWhole(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, commune)
	pdf, badSum := writePDF(t, dir, commune, "lon.pdf", samplepdf.Options{Title: "Lớn", PadBytes: 100 << 10})
	fi, err := os.Stat(pdf)
	must(t, err)
	res, err := sender.Send(ctx, node.Document{Recipients: []string{district}, Number: "1", Notation: "UBND-VP", Subject: "Lớn",
		Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)
	bad := res.MessageID
	damageBlob(t, dir, badSum)
	good, _ := sendPDF(t, dir, sender, commune, "2", "Sau", district)

	stream, err := client(t, h.Addr(), dir, district).API().Receive(ctx, &lienthongv1.ReceiveRequest{})
	must(t, err)
	var parts []string
	got := map[string]int{}
	cur := ""
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
			parts = append(parts, "header "+cur)
		case *lienthongv1.ReceiveResponse_Chunk:
			got[cur] += len(p.Chunk.GetData())
		case *lienthongv1.ReceiveResponse_End:
			parts = append(parts, "end "+p.End.GetMessageId())
		case *lienthongv1.ReceiveResponse_Abort:
			parts = append(parts, "abort "+p.Abort.GetMessageId())
			if !strings.Contains(p.Abort.GetReason(), `tệp "lon.pdf" của văn bản 1/UBND-VP bị hỏng`) {
				t.Errorf("abort reason %q", p.Abort.GetReason())
			}
		case *lienthongv1.ReceiveResponse_Notification:
			tr := node.CheckReceipt(p.Notification.GetReceipt(), client(t, h.Addr(), dir, district).Identity().Roots)
			must(t, tr.Err)
			parts = append(parts, "notification "+tr.Body.GetStatus().Name()+" "+tr.Body.GetMessageId())
		}
	}
	want := []string{"header " + bad, "abort " + bad, "header " + good, "end " + good, "notification quarantined " + bad}
	if !slices.Equal(parts, want) {
		t.Errorf("stream:\n%s\nwant\n%s", strings.Join(parts, "\n"), strings.Join(want, "\n"))
	}
	full, last := int(fi.Size()), int(fi.Size())%exchange.ChunkSize
	if last == 0 {
		last = exchange.ChunkSize
	}
	if n := got[bad]; n != full-last || n == 0 {
		t.Errorf("%d of the damaged file's %d bytes sent, want all but the last chunk (%d)", n, full, full-last)
	}
}

// A node's "cannot store" report is accepted only as a rejection with a
// reason, for a document still waiting in the caller's own queue; every
// refusal changes nothing.
func TestCannotStoreReportRefusals(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, commune)
	waiting, _ := sendPDF(t, dir, sender, commune, "1", "Đang chờ", district)
	fetched, _ := sendPDF(t, dir, sender, commune, "2", "Đã nhận", province)
	must(t, client(t, h.Addr(), dir, province).ReceiveInto(ctx, t.TempDir(), node.ReceiveOptions{}, nil))
	report := func(c *node.Client, id string, st lienthongv1.Status, reason string) error {
		_, err := c.API().ReportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: id, Status: st, Reason: reason, CannotStore: true})
		return err
	}
	for _, tc := range []struct {
		name   string
		agency string
		id     string
		status lienthongv1.Status
		reason string
		code   codes.Code
		msg    string
	}{
		{"not a rejection", district, waiting, lienthongv1.Status_STATUS_RECEIVED, "x", codes.InvalidArgument, "phải dùng trạng thái rejected"},
		{"no reason", district, waiting, lienthongv1.Status_STATUS_REJECTED, " ", codes.InvalidArgument, "phải nêu lý do"},
		{"another agency's delivery", commune2, waiting, lienthongv1.Status_STATUS_REJECTED, "x", codes.NotFound, "không gửi đến cơ quan"},
		{"already fetched", province, fetched, lienthongv1.Status_STATUS_REJECTED, "x", codes.FailedPrecondition, "không còn chờ trong hộp thư đến"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := report(client(t, h.Addr(), dir, tc.agency), tc.id, tc.status, tc.reason)
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Errorf("ReportStatus = %v, want %s with %q", err, tc.code, tc.msg)
			}
		})
	}
	if st, _ := trackStatus(t, sender, waiting, district); st != lienthongv1.Status_STATUS_ACCEPTED {
		t.Errorf("waiting document: %s, want still ACCEPTED", st)
	}
	if st, _ := trackStatus(t, sender, fetched, province); st != lienthongv1.Status_STATUS_DELIVERED {
		t.Errorf("fetched document: %s, want still DELIVERED", st)
	}
	if s, err := h.Store().Stats(ctx); err != nil || s.Pending != 1 {
		t.Errorf("store: %+v, %v; want the waiting document still pending", s, err)
	}
	countersAgree(t, h)
}
