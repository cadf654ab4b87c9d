package register

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

const (
	sender   = "000.01.31.H53"
	district = "000.00.31.H53"
	province = "000.00.00.H53"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openTest(t *testing.T) (*Register, *clock, string) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "id", "node.db")
	r, err := Open(path, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return r, c, path
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeFile writes content to a file of its own and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// signedDoc builds a signed envelope naming files with these contents.
func signedDoc(t *testing.T, env *lienthongv1.Envelope, contents ...string) (*lienthongv1.SignedEnvelope, []string) {
	t.Helper()
	var paths []string
	for i, c := range contents {
		name := "file" + string(rune('a'+i)) + ".pdf"
		paths = append(paths, writeFile(t, name, c))
		sum := sha256.Sum256([]byte(c))
		env.Files = append(env.Files, &lienthongv1.FileInfo{Name: name, MediaType: "application/pdf", Size: int64(len(c)), Sha256: sum[:]})
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	must(t, err)
	return &lienthongv1.SignedEnvelope{Envelope: raw, Signature: []byte("sig")}, paths
}

func newEnv(id, number, subject string, due string, to ...string) *lienthongv1.Envelope {
	return &lienthongv1.Envelope{MessageId: id, Sender: sender, Recipients: to, BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW,
		Number: number, Notation: "QĐ-UBND", IssueDate: "2026-11-01", DocumentType: "Quyết định", Subject: subject, DueDate: due}
}

func acceptedReceipt(id string, at time.Time, recipients ...string) (*lienthongv1.Receipt, *lienthongv1.ReceiptBody) {
	body := &lienthongv1.ReceiptBody{ReceiptId: "r-" + id, MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: recipients, Time: timestamppb.New(at), Sender: sender}
	raw, _ := proto.Marshal(body)
	return &lienthongv1.Receipt{Body: raw, Signature: []byte("hub")}, body
}

func stepBody(id, agency string, st lienthongv1.Status, at time.Time, reason string) *lienthongv1.ReceiptBody {
	return &lienthongv1.ReceiptBody{ReceiptId: "r-" + id + "-" + agency + "-" + st.Name(), MessageId: id, Status: st, Agency: agency,
		Time: timestamppb.New(at), Reason: reason, Sender: sender}
}

func outboxIDs(t *testing.T, r *Register) []string {
	t.Helper()
	list, err := r.Outbox()
	must(t, err)
	var ids []string
	for _, o := range list {
		ids = append(ids, o.MessageID+":"+string(o.State))
	}
	return ids
}

// Queue copies the files (the originals may go), Forwarded moves the
// document to the sent register and deletes the copies; Fail, Requeue and
// Drop move it through the outbox.
func TestOutboxTransitions(t *testing.T) {
	r, clk, _ := openTest(t)
	signed, paths := signedDoc(t, newEnv("m1", "12", "Kế hoạch", "", district, "commune:"+district), "%PDF one", "%PDF two")
	o, err := r.Queue(signed, paths)
	must(t, err)
	for _, p := range paths {
		must(t, os.Remove(p)) // the clerk tidies up: the outbox has copies
	}
	if o.State != Queued || o.Number != "12" || len(o.Files) != 2 || !slices.Equal(o.Recipients, []string{district, "commune:" + district}) {
		t.Fatalf("queued %+v", o)
	}
	for i, want := range []string{"%PDF one", "%PDF two"} {
		got, err := os.ReadFile(o.Files[i])
		must(t, err)
		if string(got) != want || filepath.Dir(o.Files[i]) != filepath.Join(r.OutboxDir(), "m1") {
			t.Errorf("copy %d at %s holds %q, want %q", i, o.Files[i], got, want)
		}
	}
	if !proto.Equal(o.Signed(), signed) {
		t.Error("the outbox does not keep the exact signed envelope")
	}

	// The hub is down: still queued, the attempt noted.
	must(t, r.Attempted("m1", "connection refused"))
	list, err := r.Outbox()
	must(t, err)
	if len(list) != 1 || list[0].State != Queued || list[0].Attempts != 1 || list[0].Error != "connection refused" {
		t.Fatalf("after a failed attempt: %+v", list[0])
	}

	// Refused, then put back, then accepted.
	must(t, r.Fail("m1", "PDF chưa ký [FailedPrecondition]"))
	if got := outboxIDs(t, r); !slices.Equal(got, []string{"m1:failed"}) {
		t.Fatalf("after Fail: %v", got)
	}
	must(t, r.Requeue("m1"))
	if got := outboxIDs(t, r); !slices.Equal(got, []string{"m1:queued"}) {
		t.Fatalf("after Requeue: %v", got)
	}
	at := clk.t.Add(time.Minute)
	rcpt, body := acceptedReceipt("m1", at, district, province)
	s, err := r.Forwarded(o, rcpt, body)
	must(t, err)
	if got := outboxIDs(t, r); len(got) != 0 {
		t.Errorf("outbox after Forwarded: %v", got)
	}
	if _, err := os.Stat(filepath.Join(r.OutboxDir(), "m1")); !os.IsNotExist(err) {
		t.Errorf("outbox copies still there: %v", err)
	}
	want := []Recipient{
		{Agency: province, Status: lienthongv1.Status_STATUS_ACCEPTED, Time: at, ReceiptID: "r-m1"},
		{Agency: district, Status: lienthongv1.Status_STATUS_ACCEPTED, Time: at, ReceiptID: "r-m1"},
	}
	if s.ReceiptID != "r-m1" || !s.AcceptedAt.Equal(at) || s.Subject != "Kế hoạch" || !slices.EqualFunc(s.Recipients, want, sameRecipient) {
		t.Errorf("sent entry %+v", s)
	}
	var stored lienthongv1.Receipt
	must(t, proto.Unmarshal(s.Accepted, &stored))
	if !proto.Equal(&stored, rcpt) {
		t.Error("the sent entry does not keep the accepted receipt")
	}
	// Forwarded again (another process got there first): the entry.
	again, err := r.Forwarded(&Outgoing{MessageID: "m1"}, rcpt, body)
	if err != nil || again.ReceiptID != "r-m1" {
		t.Errorf("second Forwarded = %+v, %v", again, err)
	}
	// Failing a document no longer queued changes nothing.
	must(t, r.Fail("m1", "late"))
	if got := outboxIDs(t, r); len(got) != 0 {
		t.Errorf("Fail after Forwarded re-created %v", got)
	}

	// Drop removes a document and its copies.
	signed2, paths2 := signedDoc(t, newEnv("m2", "13", "Bỏ", "", district), "x")
	_, err = r.Queue(signed2, paths2)
	must(t, err)
	must(t, r.Drop("m2"))
	if got := outboxIDs(t, r); len(got) != 0 {
		t.Errorf("outbox after Drop: %v", got)
	}
	if _, err := os.Stat(filepath.Join(r.OutboxDir(), "m2")); !os.IsNotExist(err) {
		t.Errorf("copies after Drop: %v", err)
	}
	if err := r.Drop("m2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Drop: %v, want ErrNotFound", err)
	}
}

func sameRecipient(a, b Recipient) bool {
	return a.Agency == b.Agency && a.Status == b.Status && a.Time.Equal(b.Time) && a.Reason == b.Reason && a.ReceiptID == b.ReceiptID
}

// Queuing the same id again: the same envelope is a no-op, another is
// refused while queued, and replaces a failed one.
func TestQueueSameID(t *testing.T) {
	r, _, _ := openTest(t)
	signed, paths := signedDoc(t, newEnv("m1", "1", "A", "", district), "one")
	first, err := r.Queue(signed, paths)
	must(t, err)
	again, err := r.Queue(signed, paths)
	must(t, err)
	if again.Seq != first.Seq {
		t.Errorf("re-queue of the same envelope got seq %d, had %d", again.Seq, first.Seq)
	}
	other, otherPaths := signedDoc(t, newEnv("m1", "1", "B", "", district), "two")
	if _, err := r.Queue(other, otherPaths); !errors.Is(err, ErrQueued) {
		t.Fatalf("other envelope while queued: %v, want ErrQueued", err)
	}
	got, err := os.ReadFile(first.Files[0])
	if err != nil || string(got) != "one" {
		t.Errorf("the refused queue touched the queued copy: %q, %v", got, err)
	}
	must(t, r.Fail("m1", "refused"))
	replaced, err := r.Queue(other, otherPaths)
	must(t, err)
	got, err = os.ReadFile(replaced.Files[0])
	if err != nil || string(got) != "two" || replaced.State != Queued || replaced.Subject != "B" {
		t.Errorf("replacing a failed document: %+v, file %q, %v", replaced, got, err)
	}
}

// A file that changed after hashing is refused and leaves nothing.
func TestQueueChangedFile(t *testing.T) {
	r, _, _ := openTest(t)
	signed, paths := signedDoc(t, newEnv("m1", "1", "A", "", district), "original")
	must(t, os.WriteFile(paths[0], []byte("changed!"), 0o644))
	if _, err := r.Queue(signed, paths); !errors.Is(err, ErrFileChanged) {
		t.Fatalf("Queue of a changed file: %v, want ErrFileChanged", err)
	}
	if got := outboxIDs(t, r); len(got) != 0 {
		t.Errorf("outbox %v", got)
	}
	entries, err := os.ReadDir(r.OutboxDir())
	must(t, err)
	if len(entries) != 0 {
		t.Errorf("outbox folder holds %v", entries)
	}
	if _, err := r.Queue(signed, paths[:0]); err == nil {
		t.Error("Queue with fewer files than declared succeeded")
	}
	bad, badPaths := signedDoc(t, newEnv("../x", "1", "A", "", district), "y")
	if _, err := r.Queue(bad, badPaths); err == nil {
		t.Error("Queue of message id ../x succeeded")
	}
}

// The outbox forwards oldest first.
func TestOutboxOrder(t *testing.T) {
	r, _, _ := openTest(t)
	for _, id := range []string{"c", "a", "b"} {
		signed, paths := signedDoc(t, newEnv(id, id, id, "", district), id)
		_, err := r.Queue(signed, paths)
		must(t, err)
	}
	if got := outboxIDs(t, r); !slices.Equal(got, []string{"c:queued", "a:queued", "b:queued"}) {
		t.Errorf("outbox order %v", got)
	}
}

// A redelivered document is not registered twice; a revocation marks the
// original, an update links to it.
func TestReceivedDedupAndLinks(t *testing.T) {
	r, _, _ := openTest(t)
	orig := newEnv("o1", "7", "Gốc", "2026-12-01", district)
	added, err := r.AddReceived(orig, "/in/o1")
	must(t, err)
	again, err := r.AddReceived(orig, "/elsewhere/o1")
	must(t, err)
	if !added || again {
		t.Errorf("AddReceived: first %v, redelivery %v", added, again)
	}
	list, err := r.ReceivedList(Query{})
	must(t, err)
	if len(list) != 1 || list[0].Dir != "/in/o1" || list[0].Status != lienthongv1.Status_STATUS_DELIVERED {
		t.Fatalf("received register %+v", list)
	}

	upd := newEnv("u1", "8", "Cập nhật", "", district)
	upd.BusinessType, upd.RelatedMessageId = lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE, "o1"
	rev := newEnv("v1", "9", "Thu hồi", "", district)
	rev.BusinessType, rev.RelatedMessageId = lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, "o1"
	for _, env := range []*lienthongv1.Envelope{upd, rev} {
		_, err := r.AddReceived(env, "/in/"+env.GetMessageId())
		must(t, err)
	}
	o, err := r.ReceivedDoc("o1")
	must(t, err)
	if o.RevokedBy != "v1" || !slices.Equal(o.Links, []string{"u1"}) {
		t.Errorf("original after update and revoke: revoked by %q, links %v", o.RevokedBy, o.Links)
	}
	u, err := r.ReceivedDoc("u1")
	must(t, err)
	if u.RelatedMessageID != "o1" || u.BusinessType != lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE {
		t.Errorf("update entry %+v", u)
	}
	if _, err := r.ReceivedDoc("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReceivedDoc(nope): %v", err)
	}
}

// Notifications and Track keep each recipient's latest step; a
// redelivered or older one changes nothing.
func TestRecipientSteps(t *testing.T) {
	r, clk, _ := openTest(t)
	signed, paths := signedDoc(t, newEnv("m1", "12", "Kế hoạch", "", district, province), "x")
	_, err := r.Queue(signed, paths)
	must(t, err)
	t0 := clk.t
	_, err = r.Forwarded(&Outgoing{MessageID: "m1"}, nil, func() *lienthongv1.ReceiptBody { _, b := acceptedReceipt("m1", t0, district, province); return b }())
	must(t, err)

	steps := []struct {
		name    string
		body    *lienthongv1.ReceiptBody
		changed bool
		want    lienthongv1.Status
	}{
		{"received", stepBody("m1", district, lienthongv1.Status_STATUS_RECEIVED, t0.Add(2*time.Minute), ""), true, lienthongv1.Status_STATUS_RECEIVED},
		{"redelivered", stepBody("m1", district, lienthongv1.Status_STATUS_RECEIVED, t0.Add(2*time.Minute), ""), false, lienthongv1.Status_STATUS_RECEIVED},
		{"done", stepBody("m1", district, lienthongv1.Status_STATUS_DONE, t0.Add(5*time.Minute), ""), true, lienthongv1.Status_STATUS_DONE},
		{"older step late", stepBody("m1", district, lienthongv1.Status_STATUS_ASSIGNED, t0.Add(3*time.Minute), ""), false, lienthongv1.Status_STATUS_DONE},
	}
	for _, st := range steps {
		s, changed, err := r.RecordNotification(st.body)
		must(t, err)
		i := slices.IndexFunc(s.Recipients, func(rc Recipient) bool { return rc.Agency == district })
		if changed != st.changed || s.Recipients[i].Status != st.want {
			t.Errorf("%s: changed %v, status %v; want %v, %v", st.name, changed, s.Recipients[i].Status, st.changed, st.want)
		}
	}

	// Track reports the rejection first, the notification brings the
	// reason for the same step.
	rejectedAt := timestamppb.New(t0.Add(4 * time.Minute))
	must(t, r.RecordTrack(newEnv("m1", "12", "Kế hoạch", "", district, province), []*lienthongv1.RecipientStatus{
		{Agency: province, Status: lienthongv1.Status_STATUS_REJECTED, Time: rejectedAt},
		{Agency: district, Status: lienthongv1.Status_STATUS_DONE, Time: timestamppb.New(t0.Add(5 * time.Minute))},
	}))
	_, changed, err := r.RecordNotification(stepBody("m1", province, lienthongv1.Status_STATUS_REJECTED, rejectedAt.AsTime(), "Sai thẩm quyền"))
	must(t, err)
	s, err := r.SentDoc("m1")
	must(t, err)
	want := []Recipient{
		{Agency: province, Status: lienthongv1.Status_STATUS_REJECTED, Time: rejectedAt.AsTime(), Reason: "Sai thẩm quyền",
			ReceiptID: "r-m1-" + province + "-rejected"},
		{Agency: district, Status: lienthongv1.Status_STATUS_DONE, Time: t0.Add(5 * time.Minute), ReceiptID: "r-m1-" + district + "-done"},
	}
	if !changed || !slices.EqualFunc(s.Recipients, want, sameRecipient) {
		t.Errorf("recipients %+v (changed %v), want %+v", s.Recipients, changed, want)
	}

	// A notification about a document the register never saw is kept.
	s, _, err = r.RecordNotification(stepBody("ghost", district, lienthongv1.Status_STATUS_RECEIVED, t0, ""))
	must(t, err)
	if s.MessageID != "ghost" || len(s.Recipients) != 1 {
		t.Errorf("unknown document's notification: %+v", s)
	}
}

// Overdue: due date before today (per the register's clock) and someone
// has not finished; a revoked document never is.
func TestOverdue(t *testing.T) {
	r, clk, _ := openTest(t) // today is 2026-11-22
	at := clk.t
	sent := []struct {
		id, due string
		steps   []lienthongv1.Status // of district, province
		revoke  bool
		overdue bool
	}{
		{"s-past-open", "2026-11-21", []lienthongv1.Status{lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_RECEIVED}, false, true},
		{"s-past-accepted", "2026-01-01", nil, false, true},
		{"s-past-done", "2026-11-21", []lienthongv1.Status{lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_DONE}, false, false},
		{"s-past-rejected", "2026-11-21", []lienthongv1.Status{lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_REJECTED}, false, false},
		{"s-today", "2026-11-22", nil, false, false},
		{"s-none", "", nil, false, false},
		{"s-revoked", "2026-11-01", nil, true, false},
	}
	for _, c := range sent {
		signed, paths := signedDoc(t, newEnv(c.id, c.id, "x", c.due, district, province), c.id)
		_, err := r.Queue(signed, paths)
		must(t, err)
		_, body := acceptedReceipt(c.id, at, district, province)
		_, err = r.Forwarded(&Outgoing{MessageID: c.id}, nil, body)
		must(t, err)
		for i, st := range c.steps {
			_, _, err := r.RecordNotification(stepBody(c.id, []string{district, province}[i], st, at.Add(time.Hour), ""))
			must(t, err)
		}
		if c.revoke {
			rv := newEnv("rv-"+c.id, "r", "thu hồi", "", district)
			rv.BusinessType, rv.RelatedMessageId = lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, c.id
			signed, paths := signedDoc(t, rv, "r")
			_, err := r.Queue(signed, paths)
			must(t, err)
			_, body := acceptedReceipt("rv-"+c.id, at, district, province)
			_, err = r.Forwarded(&Outgoing{MessageID: "rv-" + c.id}, nil, body)
			must(t, err)
		}
	}
	received := []struct {
		id, due string
		status  lienthongv1.Status
		overdue bool
	}{
		{"r-past-delivered", "2026-11-21", lienthongv1.Status_STATUS_DELIVERED, true},
		{"r-past-progress", "2026-11-01", lienthongv1.Status_STATUS_IN_PROGRESS, true},
		{"r-past-done", "2026-11-21", lienthongv1.Status_STATUS_DONE, false},
		{"r-future", "2026-12-01", lienthongv1.Status_STATUS_RECEIVED, false},
		{"r-none", "", lienthongv1.Status_STATUS_RECEIVED, false},
	}
	for _, c := range received {
		_, err := r.AddReceived(newEnv(c.id, c.id, "x", c.due, district), "/in/"+c.id)
		must(t, err)
		if c.status != lienthongv1.Status_STATUS_DELIVERED {
			_, err = r.SetStatus(stepBody(c.id, district, c.status, at, ""), &lienthongv1.Receipt{})
			must(t, err)
		}
	}

	var wantSent, wantReceived []string
	for _, c := range sent {
		if c.overdue {
			wantSent = append(wantSent, c.id)
		}
	}
	for _, c := range received {
		if c.overdue {
			wantReceived = append(wantReceived, c.id)
		}
	}
	if got := sentIDs(t, r, Query{Overdue: true}); !slices.Equal(sorted(got), sorted(wantSent)) {
		t.Errorf("overdue sent %v, want %v", got, wantSent)
	}
	if got := receivedIDs(t, r, Query{Overdue: true}); !slices.Equal(sorted(got), sorted(wantReceived)) {
		t.Errorf("overdue received %v, want %v", got, wantReceived)
	}
	// A day later, what was due today is overdue too.
	clk.t = clk.t.Add(24 * time.Hour)
	if got := sentIDs(t, r, Query{Overdue: true}); !slices.Contains(got, "s-today") {
		t.Errorf("a day later, overdue sent %v lacks s-today", got)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func sentIDs(t *testing.T, r *Register, q Query) []string {
	t.Helper()
	list, err := r.SentList(q)
	must(t, err)
	var ids []string
	for _, s := range list {
		ids = append(ids, s.MessageID)
	}
	return ids
}

func receivedIDs(t *testing.T, r *Register, q Query) []string {
	t.Helper()
	list, err := r.ReceivedList(q)
	must(t, err)
	var ids []string
	for _, s := range list {
		ids = append(ids, s.MessageID)
	}
	return ids
}

// Search looks in number, notation, subject and correspondents, ignoring
// case and diacritics; every word must match.
func TestSearch(t *testing.T) {
	r, clk, _ := openTest(t)
	docs := []*lienthongv1.Envelope{
		newEnv("a", "12", "Kế hoạch chuyển đổi số năm 2027", "", district),
		newEnv("b", "13", "Báo cáo tình hình Đê điều", "", province),
		newEnv("c", "120", "Giấy mời họp", "", "commune:"+district),
	}
	docs[2].Notation = "GM-UBND"
	for i, env := range docs {
		signed, paths := signedDoc(t, env, env.GetMessageId())
		_, err := r.Queue(signed, paths)
		must(t, err)
		_, body := acceptedReceipt(env.GetMessageId(), clk.t.Add(time.Duration(i)*time.Minute), env.GetRecipients()...)
		_, err = r.Forwarded(&Outgoing{MessageID: env.GetMessageId()}, nil, body)
		must(t, err)
		rec := proto.Clone(env).(*lienthongv1.Envelope)
		rec.Sender = env.GetRecipients()[0] // the same documents, as received from the other side
		_, err = r.AddReceived(rec, "/in")
		must(t, err)
	}
	tests := []struct{ search, want string }{
		{"", "a b c"},
		{"ke hoach", "a"},
		{"KẾ HOẠCH", "a"},
		{"de dieu", "b"},
		{"12/qđ", "a"},
		{"12", "a c"},
		{"gm-ubnd", "c"},
		{"ubnd hop", "c"},
		{province, "b"},
		{"commune:", "c"},
		{"không có", ""},
	}
	for _, tt := range tests {
		got := sentIDs(t, r, Query{Search: tt.search})
		if w := strings.Fields(tt.want); !slices.Equal(got, w) {
			t.Errorf("sent search %q = %v, want %v", tt.search, got, w)
		}
	}
	// In the received register the correspondent is the sender.
	if got := receivedIDs(t, r, Query{Search: province}); !slices.Equal(got, []string{"b"}) {
		t.Errorf("received search %q = %v", province, got)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Kế hoạch":                   "ke hoach",
		"Ke\u0302\u0301 hoa\u0323ch": "ke hoach", // decomposed
		"ĐỀ ÁN Đường":                "de an duong",
		"Ủy ban nhân dân":            "uy ban nhan dan",
		"QĐ-UBND 12/2026":            "qd-ubnd 12/2026",
		"Thu\u031bo\u031b\u0323ng":   "thuong",
		"Trường Sa, Hoàng Sa – ổn ∞": "truong sa, hoang sa – on ∞",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Everything survives closing and reopening the file.
func TestReopen(t *testing.T) {
	r, clk, path := openTest(t)
	signed, paths := signedDoc(t, newEnv("q", "1", "chờ", "", district), "q")
	_, err := r.Queue(signed, paths)
	must(t, err)
	signed, paths = signedDoc(t, newEnv("f", "2", "lỗi", "", district), "f")
	_, err = r.Queue(signed, paths)
	must(t, err)
	must(t, r.Fail("f", "refused"))
	signed, paths = signedDoc(t, newEnv("s", "3", "đi", "2026-11-01", district), "s")
	_, err = r.Queue(signed, paths)
	must(t, err)
	_, body := acceptedReceipt("s", clk.t, district)
	_, err = r.Forwarded(&Outgoing{MessageID: "s"}, nil, body)
	must(t, err)
	_, _, err = r.RecordNotification(stepBody("s", district, lienthongv1.Status_STATUS_RECEIVED, clk.t.Add(time.Hour), ""))
	must(t, err)
	_, err = r.AddReceived(newEnv("in", "4", "đến", "", district), "/in/in")
	must(t, err)
	_, err = r.SetStatus(stepBody("in", sender, lienthongv1.Status_STATUS_ASSIGNED, clk.t, ""), &lienthongv1.Receipt{Body: []byte("b")})
	must(t, err)

	r2, err := Open(path, Options{Now: clk.now})
	must(t, err)
	if got := outboxIDs(t, r2); !slices.Equal(got, []string{"q:queued", "f:failed"}) {
		t.Errorf("outbox after reopen %v", got)
	}
	s, err := r2.SentDoc("s")
	must(t, err)
	if s.Recipients[0].Status != lienthongv1.Status_STATUS_RECEIVED || s.DueDate != "2026-11-01" || !s.Overdue(r2.Today()) {
		t.Errorf("sent after reopen %+v", s)
	}
	in, err := r2.ReceivedDoc("in")
	must(t, err)
	var rcpt lienthongv1.Receipt
	must(t, proto.Unmarshal(in.StatusReceipt, &rcpt))
	if in.Status != lienthongv1.Status_STATUS_ASSIGNED || in.Dir != "/in/in" || string(rcpt.GetBody()) != "b" {
		t.Errorf("received after reopen %+v", in)
	}
	// A new queue after reopening comes after the old ones.
	signed, paths = signedDoc(t, newEnv("z", "5", "sau", "", district), "z")
	_, err = r2.Queue(signed, paths)
	must(t, err)
	if got := outboxIDs(t, r2); !slices.Equal(got, []string{"q:queued", "f:failed", "z:queued"}) {
		t.Errorf("outbox order after reopen %v", got)
	}
}

// A document the node does not have is registered with why, updated as
// the hub's view changes, never overdue once the hub has closed it, and
// never replaces the entry of a document stored in the inbox.
func TestNotStored(t *testing.T) {
	r, c, _ := openTest(t)
	env := &lienthongv1.Envelope{MessageId: "m1", Sender: sender, Number: "4", Notation: "UBND", Subject: "Lạ", DueDate: "2026-11-20"}
	rec, err := r.AddNotStored("m1", sender, env, "tên tệp lạ", lienthongv1.Status_STATUS_ACCEPTED, nil)
	must(t, err)
	if rec.Number != "4" || rec.Dir != "" || rec.NotStored != "tên tệp lạ" || !rec.Overdue(r.Today()) {
		t.Errorf("not reported yet: %+v, want registered and overdue", rec)
	}
	at := c.t.Add(time.Minute)
	body, _ := proto.Marshal(&lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_REJECTED, Agency: district, Time: timestamppb.New(at)})
	rec, err = r.AddNotStored("m1", sender, nil, "tên tệp lạ", lienthongv1.Status_STATUS_REJECTED, &lienthongv1.Receipt{Body: body})
	must(t, err)
	if rec.Status != lienthongv1.Status_STATUS_REJECTED || !rec.StatusAt.Equal(at) || rec.Number != "4" || rec.Overdue(r.Today()) || rec.StatusReceipt == nil {
		t.Errorf("reported: %+v", rec)
	}
	if _, err := r.AddNotStored("", sender, nil, "x", lienthongv1.Status_STATUS_QUARANTINED, nil); err == nil {
		t.Error("an entry without a message id was accepted")
	}
	_, err = r.AddReceived(&lienthongv1.Envelope{MessageId: "m2", Sender: sender, Number: "5"}, "/in/m2")
	must(t, err)
	rec, err = r.AddNotStored("m2", sender, nil, "hỏng", lienthongv1.Status_STATUS_QUARANTINED, nil)
	must(t, err)
	if rec.Dir != "/in/m2" || rec.NotStored != "" || rec.Status != lienthongv1.Status_STATUS_DELIVERED {
		t.Errorf("a stored document's entry changed: %+v", rec)
	}
}
