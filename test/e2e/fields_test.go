package e2e

// Issue 12, items 1 and 6: every field a sender or recipient writes is
// checked, by the hub at Send (and ReportStatus) and by the node before it
// queues a document, with the same message; what ltnode prints cannot
// drive the clerk's terminal.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/internal/termsafe"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// fieldsStart is the hub's clock in these tests: 10:00 on 2026-03-11 in
// the province.
var fieldsStart = time.Date(2026, 3, 11, 10, 0, 0, 0, ict)

// ltnodeAt runs ltnode as agency code with its clock set to now.
func ltnodeAt(t *testing.T, now func() time.Time, addr, dir, code string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &nodecli.Main{Stdout: &out, Stderr: &errb, Now: now, Getenv: func(k string) string {
		switch k {
		case "LTNODE_HUB":
			return addr
		case "LTNODE_ID":
			return provision.Layout{Dir: dir}.Agency(code)
		}
		return ""
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc := m.Run(ctx, args)
	return rc, out.String(), errb.String()
}

// clientAt dials the hub as agency code, with the node's clock set to now.
func clientAt(t *testing.T, h *complianceHub, code string) *node.Client {
	t.Helper()
	c := client(t, h.Addr(), h.dir, code)
	c.Identity().Now = h.clk.Now
	return c
}

// withFiles returns env declaring one file per name, each holding data,
// and the messages that upload them.
func withFiles(env *lienthongv1.Envelope, data []byte, names ...string) []*lienthongv1.SendRequest {
	sum := sha256.Sum256(data)
	env.Files = nil
	var chunks []*lienthongv1.SendRequest
	for i, n := range names {
		env.Files = append(env.Files, &lienthongv1.FileInfo{Name: n, MediaType: "application/pdf", Size: int64(len(data)), Sha256: sum[:]})
		chunks = append(chunks, chunkMsg(uint32(i), data))
	}
	return chunks
}

// wantRefusal asserts err is a gRPC status with code and a message
// containing want, and returns the message.
func wantRefusal(t *testing.T, err error, code codes.Code, want string) string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code || !strings.Contains(st.Message(), want) {
		t.Errorf("got %v %q\nwant %v with %q", st.Code(), st.Message(), code, want)
	}
	return st.Message()
}

// Item 1: names that jammed a recipient's inbox are refused at Send, by
// the hub and, with the same message, by the node before queueing; the
// recipient then receives the next document as usual.
func TestPoisonFileNamesRefused(t *testing.T) {
	h := startComplianceHub(t, fieldsStart)
	ctx := context.Background()
	c := clientAt(t, h, commune)
	// A real PDF, which this hub accepts unsigned (flagged): only the
	// names can be refused.
	pdf, _ := writePDF(t, h.dir, "", "vb.pdf", samplepdf.Options{Title: "Văn bản"})
	data, err := os.ReadFile(pdf)
	must(t, err)
	today := "2026-03-11"

	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"NUL byte", []string{"quyet\x00dinh.pdf"},
			`tên tệp "quyet\x00dinh.pdf" chứa ký tự điều khiển hoặc ký tự đảo chiều U+0000 (file name contains a control or bidi character)`},
		{"300-byte name", []string{strings.Repeat("a", 296) + ".pdf"}, "dài 300 byte, tối đa 255 byte (file name too long)"},
		{"delivery.pb", []string{"delivery.pb"},
			`tên tệp "delivery.pb" trùng tên tệp ltnode tự ghi trong thư mục văn bản (delivery.pb, receipt-*.pb); hãy đổi tên (file name reserved by the node)`},
		{"the node's receipt", []string{"Receipt-Delivered.pb"}, "(file name reserved by the node)"},
		{"dot", []string{"."}, `tên tệp "." không được bắt đầu hay kết thúc bằng dấu chấm hoặc khoảng trắng`},
		{"dot dot", []string{".."}, `tên tệp ".." không được bắt đầu hay kết thúc bằng dấu chấm hoặc khoảng trắng`},
		{"x/a.txt and y/a.txt", []string{"x/a.txt", "y/a.txt"},
			`tên tệp "x/a.txt" chứa ký tự '/'; tên tệp không được có / \ : * ? " < > | (file name contains a path separator or a character Windows refuses)`},
		{"a path", []string{"../../etc/cron.d/x"}, `chứa ký tự '/'`},
		{"Windows device", []string{"NUL.pdf"}, "(file name reserved on Windows)"},
		{"same name but for case", []string{"Tờ trình.pdf", "TỜ TRÌNH.PDF"},
			`tên tệp "Tờ trình.pdf" và "TỜ TRÌNH.PDF" trùng nhau khi không phân biệt chữ hoa, chữ thường (file names differ only in case)`},
		{"right-to-left override", []string{"hoa-don\u202efdp.exe"}, "U+202E"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := goodEnvelope(commune, data, district)
			env.IssueDate = today
			chunks := withFiles(env, data, tt.files...)
			_, err := rawSend(ctx, c.API(), append([]*lienthongv1.SendRequest{envMsg(signEnv(t, c.Identity(), env))}, chunks...)...)
			hubMsg := wantRefusal(t, err, codes.InvalidArgument, tt.want)
			storeIsEmpty(t, h.runningHub, tt.name)

			// The node refuses the same document before it is queued,
			// with the hub's message.
			doc := node.Document{Recipients: []string{district}, Number: "7", Notation: "UBND-VP", Subject: "Thử"}
			for _, n := range tt.files {
				doc.Files = append(doc.Files, node.File{Path: pdf, Name: n})
			}
			_, err = c.Send(ctx, doc, nil)
			if err == nil || err.Error() != hubMsg {
				t.Errorf("node: %v\nwant the hub's message %q", err, hubMsg)
			}
			if _, ok := status.FromError(err); ok {
				t.Errorf("node: the document reached the hub: %v", err)
			}
			storeIsEmpty(t, h.runningHub, tt.name+" through the node")
		})
	}

	// ltnode send of a file named delivery.pb: refused at once, nothing
	// in the outbox.
	named := filepath.Join(t.TempDir(), "delivery.pb")
	must(t, copyFile(pdf, named))
	rc, _, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, commune, "send", "--to", district, "--file", named,
		"--number", "8", "--notation", "UBND-VP", "--subject", "Thử")
	if rc != 1 || !strings.Contains(errOut, `tên tệp "delivery.pb" trùng tên tệp ltnode tự ghi`) {
		t.Errorf("ltnode send --file delivery.pb: exit %d, %q", rc, errOut)
	}
	rc, out, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, commune, "register", "outbox", "--json")
	if rc != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("outbox after the refusal: exit %d, %s %s", rc, out, errOut)
	}
	storeIsEmpty(t, h.runningHub, "ltnode send --file delivery.pb")

	// Nothing jams the recipient: the next document arrives.
	id := h.send(t, commune, false, "9", "UBND-VP", today, "", district)
	inbox := t.TempDir()
	rc, out, errOut = ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, district, "inbox", "--out", inbox, "--json")
	if rc != 0 || strings.Count(out, `"type":"document"`) != 1 || !strings.Contains(out, id) {
		t.Fatalf("inbox of %s: exit %d\n%s%s", district, rc, out, errOut)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// Item 6: the fields Declare checked and Send did not.
func TestSendFieldsChecked(t *testing.T) {
	h := startComplianceHub(t, fieldsStart)
	ctx := context.Background()
	c := clientAt(t, h, commune)
	// A real PDF, which this hub accepts unsigned (flagged): only the
	// fields can be refused.
	pdf, _ := writePDF(t, h.dir, "", "vb.pdf", samplepdf.Options{Title: "Văn bản"})
	data, err := os.ReadFile(pdf)
	must(t, err)
	id := uuid.NewString()

	tests := []struct {
		name   string
		change func(*lienthongv1.Envelope)
		want   string
	}{
		{"1 MiB subject", func(e *lienthongv1.Envelope) { e.Subject = strings.Repeat("a", 1<<20) },
			"trích yếu (subject) dài 1048576 ký tự, tối đa 2000 (subject too long)"},
		{"100 KB notation", func(e *lienthongv1.Envelope) { e.Notation = strings.Repeat("A", 100<<10) },
			"ký hiệu văn bản dài 102400 byte, tối đa 100 (notation is limited to 100 bytes)"},
		{"number abc", func(e *lienthongv1.Envelope) { e.Number = "abc" },
			`số văn bản "abc" phải là số nguyên dương có tối đa 6 chữ số, ví dụ 45 (number must be a positive integer up to 999999)`},
		{"number -5", func(e *lienthongv1.Envelope) { e.Number = "-5" }, `số văn bản "-5" phải là số nguyên dương có tối đa 6 chữ số`},
		{"number of 20 digits", func(e *lienthongv1.Envelope) { e.Number = "12345678901234567890" },
			`số văn bản "12345678901234567890" phải là số nguyên dương có tối đa 6 chữ số`},
		{"number 999999999", func(e *lienthongv1.Envelope) { e.Number = "999999999" }, `số văn bản "999999999" phải là số nguyên dương có tối đa 6 chữ số`},
		{"issue date not-a-date", func(e *lienthongv1.Envelope) { e.IssueDate = "not-a-date" },
			`ngày ban hành: ngày "not-a-date" không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)`},
		{"issue date 9999-12-31", func(e *lienthongv1.Envelope) { e.IssueDate = "9999-12-31" }, "ngày ban hành 9999-12-31 ở tương lai (issue date is in the future)"},
		{"no issue date", func(e *lienthongv1.Envelope) { e.IssueDate = "" }, "thiếu ngày ban hành YYYY-MM-DD (issue date is required)"},
		{"urgency 99", func(e *lienthongv1.Envelope) { e.Urgency = 99 }, "độ khẩn 99 không hợp lệ: thường, khẩn, thượng khẩn hoặc hỏa tốc (urgency 99 undefined)"},
		{"security level 99", func(e *lienthongv1.Envelope) { e.SecurityLevel = 99 }, "độ mật 99 không hợp lệ"},
		{"due date yesterday", func(e *lienthongv1.Envelope) { e.IssueDate, e.DueDate = "2026-03-02", "2026-03-10" },
			"hạn xử lý 2026-03-10 đã qua, hôm nay là 2026-03-11 (due date in the past)"},
		{"due date before the issue date", func(e *lienthongv1.Envelope) { e.DueDate = "2026-03-10" }, "hạn xử lý 2026-03-10 trước ngày ban hành 2026-03-11"},
		{"subject with ANSI colour", func(e *lienthongv1.Envelope) { e.Subject = "\x1b[1;32mĐã ký hợp lệ\x1b[0m" },
			"trích yếu (subject) chứa ký tự điều khiển hoặc ký tự đảo chiều U+001B ở ký tự thứ 1; hãy gõ lại không có ký tự đó (subject contains a control or bidi character)"},
		{"signer with a right-to-left override", func(e *lienthongv1.Envelope) { e.Signer = "Nguyễn Văn\u202eA" },
			"người ký (signer) chứa ký tự điều khiển hoặc ký tự đảo chiều U+202E ở ký tự thứ 11"},
		{"document type with a bell", func(e *lienthongv1.Envelope) { e.DocumentType = "Công văn\a" }, "loại văn bản (document type) chứa ký tự điều khiển"},
		{"recipient with a control character", func(e *lienthongv1.Envelope) { e.Recipients = []string{district + "\r"} }, "nơi nhận (recipient) chứa ký tự điều khiển"},
		{"message id in upper case", func(e *lienthongv1.Envelope) { e.MessageId = strings.ToUpper(id) },
			`phải viết ở dạng chuẩn ` + id + ` (use the canonical lower-case UUID)`},
		{"message id as urn:uuid", func(e *lienthongv1.Envelope) { e.MessageId = "urn:uuid:" + id }, `phải viết ở dạng chuẩn ` + id},
		{"message id in braces", func(e *lienthongv1.Envelope) { e.MessageId = "{" + id + "}" }, `phải viết ở dạng chuẩn ` + id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := goodEnvelope(commune, data, district)
			env.IssueDate = "2026-03-11"
			tt.change(env)
			_, err := rawSend(ctx, c.API(), envMsg(signEnv(t, c.Identity(), env)), chunkMsg(0, data))
			wantRefusal(t, err, codes.InvalidArgument, tt.want)
			storeIsEmpty(t, h.runningHub, tt.name)
			_, err = c.API().Track(ctx, &lienthongv1.TrackRequest{MessageId: env.GetMessageId()})
			if code := status.Code(err); code != codes.NotFound {
				t.Errorf("Track after the refusal: %v, want NotFound", err)
			}
		})
	}

	// A declaration follows the same number rule, at the node and at the
	// hub.
	decl := &lienthongv1.DeclareRequest{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "999999999",
		Notation: "UBND-VP", IssueDate: "2026-03-11"}
	_, err = c.API().Declare(ctx, decl)
	hubMsg := wantRefusal(t, err, codes.InvalidArgument, `số văn bản "999999999" phải là số nguyên dương có tối đa 6 chữ số`)
	rc, _, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, commune, "declare", "--kind", "paper", "--number", "999999999",
		"--notation", "UBND-VP", "--date", "2026-03-11")
	if rc != 1 || errOut != "ltnode: "+hubMsg+"\n" {
		t.Errorf("ltnode declare --number 999999999: exit %d %q, want the hub's message %q", rc, errOut, hubMsg)
	}

	// Nothing counted: no number 999999999 in the register (no gaps
	// "possibly sent on paper"), no delivery due yesterday (overdue).
	rep := h.report(t, "--from", "2026-01-01", "--to", "2026-12-31")
	for _, a := range rep.Agencies {
		if a.PossiblyPaper != 0 || a.Electronic != 0 || a.Due != 0 || a.Overdue != 0 || a.Received != 0 {
			t.Errorf("report of %s after the refusals: %+v", a.Code, a)
		}
	}
	if rc, out, errOut := lthub(t, "counters", "check", "--dir", h.dir, "--hub", h.Addr()); rc != 0 {
		t.Errorf("lthub counters check: exit %d %s %s", rc, out, errOut)
	}

	// The node refuses the same fields before queueing, with the hub's
	// message: ltnode send exits 1 and the outbox stays empty.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--number", "999999999"}, `số văn bản "999999999" phải là số nguyên dương có tối đa 6 chữ số`},
		{[]string{"--date", "2026-03-02", "--due", "2026-03-10"}, "hạn xử lý 2026-03-10 đã qua, hôm nay là 2026-03-11 (due date in the past)"},
		{[]string{"--subject", "\x1b[1;32mĐã ký hợp lệ\x1b[0m"}, "trích yếu (subject) chứa ký tự điều khiển hoặc ký tự đảo chiều U+001B"},
		{[]string{"--message-id", strings.ToUpper(id)}, "phải viết ở dạng chuẩn " + id},
		{[]string{"--urgency", "flash", "--date", "9999-12-31"}, "ngày ban hành 9999-12-31 ở tương lai"},
	} {
		args := append([]string{"send", "--to", district, "--file", pdf, "--number", "12", "--notation", "UBND-VP", "--subject", "Thử"}, tt.args...)
		rc, _, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, commune, args...)
		if rc != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("ltnode send %q: exit %d %q, want exit 1 with %q", tt.args, rc, errOut, tt.want)
		}
		if strings.ContainsRune(errOut, 0x1b) {
			t.Errorf("ltnode send %q printed an escape: %q", tt.args, errOut)
		}
	}
	rc, out, _ := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, commune, "register", "outbox", "--json")
	if rc != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("outbox after the refusals: exit %d, %s", rc, out)
	}
	storeIsEmpty(t, h.runningHub, "ltnode send refusals")
}

// Item 6: upper case, urn:uuid: and braces do not make three documents;
// every RPC finds a document by any spelling of its UUID.
func TestMessageIDOneSpelling(t *testing.T) {
	h := startComplianceHub(t, fieldsStart)
	ctx := context.Background()
	c := clientAt(t, h, commune)
	pdf, _ := writePDF(t, h.dir, "", "vb.pdf", samplepdf.Options{Title: "Văn bản"})
	data, err := os.ReadFile(pdf)
	must(t, err)
	id := uuid.NewString()
	upper := strings.ToUpper(id)

	env := goodEnvelope(commune, data, district)
	env.MessageId, env.IssueDate = id, "2026-03-11"
	if _, err := rawSend(ctx, c.API(), envMsg(signEnv(t, c.Identity(), env)), chunkMsg(0, data)); err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{upper, "urn:uuid:" + id, "{" + id + "}"} {
		env.MessageId = spelling
		_, err := rawSend(ctx, c.API(), envMsg(signEnv(t, c.Identity(), env)), chunkMsg(0, data))
		wantRefusal(t, err, codes.InvalidArgument, "phải viết ở dạng chuẩn "+id)
	}
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 1 || st.Pending != 1 || st.Blobs != 1 || st.TmpFiles != 0 {
		t.Errorf("store after one document and three spellings of its id: %+v", st)
	}

	// Track, Ack and ReportStatus take any spelling and answer with the
	// document's own id.
	tr, err := c.API().Track(ctx, &lienthongv1.TrackRequest{MessageId: "urn:uuid:" + upper})
	must(t, err)
	got := new(lienthongv1.Envelope)
	must(t, proto.Unmarshal(tr.GetEnvelope().GetEnvelope(), got))
	if got.GetMessageId() != id {
		t.Errorf("Track by urn:uuid: found %q, want %q", got.GetMessageId(), id)
	}
	_, err = c.API().Track(ctx, &lienthongv1.TrackRequest{MessageId: "../" + id})
	wantRefusal(t, err, codes.InvalidArgument, `mã văn bản (message id) "../`+id+`" phải là một UUID`)

	d := clientAt(t, h, district)
	ack, err := d.API().Ack(ctx, &lienthongv1.AckRequest{MessageId: upper})
	must(t, err)
	body := new(lienthongv1.ReceiptBody)
	must(t, proto.Unmarshal(ack.GetReceipt().GetBody(), body))
	if body.GetMessageId() != id || body.GetStatus() != lienthongv1.Status_STATUS_DELIVERED {
		t.Errorf("Ack by upper case: receipt for %q, %v", body.GetMessageId(), body.GetStatus())
	}
	if _, err := d.ReportStatus(ctx, "{"+id+"}", lienthongv1.Status_STATUS_RECEIVED, ""); err != nil {
		t.Errorf("ReportStatus in braces: %v", err)
	}
	st, err = h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 1 || st.Pending != 0 {
		t.Errorf("store after ack: %+v", st)
	}

	// A document stored before ids had to be canonical keeps its
	// spelling, and is still found by it.
	legacy := strings.ToUpper(uuid.NewString())
	w, err := h.Store().NewBlob()
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	ref, err := w.Commit(ctx)
	must(t, err)
	env.MessageId = legacy
	signed := signEnv(t, c.Identity(), env)
	sum := sha256.Sum256(signed.GetEnvelope())
	rb, err := proto.Marshal(&lienthongv1.ReceiptBody{MessageId: legacy, Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: []string{district}, EnvelopeSha256: sum[:], Sender: commune, Time: timestamppb.New(h.clk.Now())})
	must(t, err)
	_, _, err = h.Store().Accept(ctx, &store.Document{MessageID: legacy, Sender: commune, Envelope: signed, EnvelopeSHA256: sum,
		Recipients: []string{district}, Files: []store.BlobRef{ref}, Accepted: &lienthongv1.Receipt{Body: rb},
		Verification: &lienthongv1.Verification{Verdict: "unsigned"}})
	must(t, err)
	tr, err = c.API().Track(ctx, &lienthongv1.TrackRequest{MessageId: legacy})
	must(t, err)
	must(t, proto.Unmarshal(tr.GetEnvelope().GetEnvelope(), got))
	if got.GetMessageId() != legacy {
		t.Errorf("Track of a legacy id found %q", got.GetMessageId())
	}
}

// Item 6: a 1 MiB rejection reason, or one that drives a terminal, is
// refused before it is signed into a receipt; the node refuses it first.
func TestStatusTextBounded(t *testing.T) {
	h := startComplianceHub(t, fieldsStart)
	ctx := context.Background()
	id := h.send(t, commune, false, "3", "UBND-VP", "2026-03-11", "", district)
	d := clientAt(t, h, district)
	if rc, out, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, district, "inbox", "--out", t.TempDir()); rc != 0 {
		t.Fatalf("inbox: %d %s %s", rc, out, errOut)
	}
	receipts := func() int {
		t.Helper()
		tr, err := clientAt(t, h, commune).API().Track(ctx, &lienthongv1.TrackRequest{MessageId: id})
		must(t, err)
		for _, r := range tr.GetRecipients() {
			if r.GetStatus() != lienthongv1.Status_STATUS_DELIVERED {
				t.Errorf("status of %s: %v, want still delivered", r.GetAgency(), r.GetStatus())
			}
		}
		return len(tr.GetReceipts())
	}
	before := receipts()

	for _, tt := range []struct{ reason, want string }{
		{strings.Repeat("x", 1<<20), "lý do (reason) dài 1048576 ký tự, tối đa 2000 (reason too long)"},
		{"Sai thể thức \x1b[1;32mĐã ký hợp lệ", "lý do (reason) chứa ký tự điều khiển hoặc ký tự đảo chiều U+001B ở ký tự thứ 14"},
		{"ngược\u202e chiều", "U+202E"},
	} {
		_, err := d.API().ReportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: id, Status: lienthongv1.Status_STATUS_REJECTED, Reason: tt.reason})
		hubMsg := wantRefusal(t, err, codes.InvalidArgument, tt.want)
		_, err = d.ReportStatus(ctx, id, lienthongv1.Status_STATUS_REJECTED, tt.reason)
		if err == nil || err.Error() != hubMsg {
			t.Errorf("node: %v\nwant the hub's message %q", err, hubMsg)
		}
	}
	if after := receipts(); after != before {
		t.Errorf("receipts: %d before, %d after the refusals", before, after)
	}
	// A reason on two lines is a reason.
	if _, err := d.ReportStatus(ctx, id, lienthongv1.Status_STATUS_REJECTED, "Sai thể thức:\n- thiếu chữ ký"); err != nil {
		t.Fatal(err)
	}
}

// Item 6: a document registered before the rules (the register keeps
// what was received then) cannot drive the clerk's terminal: ltnode
// strips escape sequences and bidi overrides from the text it prints,
// and its JSON holds the same value with them escaped.
func TestLtnodePrintsNoControlSequences(t *testing.T) {
	h := startComplianceHub(t, fieldsStart)
	hostile := "\x1b[2K\r\x1b[1;32m✓ Đã ký hợp lệ\x1b[0m \u202egnol\u202c\u009b31m\x07"
	reg, err := register.Open(filepath.Join(provision.Layout{Dir: h.dir}.Agency(district), "node.db"), register.Options{Now: h.clk.Now})
	must(t, err)
	env := &lienthongv1.Envelope{MessageId: uuid.NewString(), Sender: commune, Recipients: []string{district},
		BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "5", Notation: "UBND\x1b]0;title\x07-VP",
		IssueDate: "2026-03-11", Subject: hostile, Signer: hostile}
	if _, err := reg.AddReceived(env, t.TempDir()); err != nil {
		t.Fatal(err)
	}

	rc, out, errOut := ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, district, "register", "received")
	if rc != 0 {
		t.Fatalf("register received: exit %d %s", rc, errOut)
	}
	if !strings.Contains(out, "✓ Đã ký hợp lệ gnol") || !strings.Contains(out, "UBND-VP") {
		t.Errorf("register received does not show the subject's text:\n%s", out)
	}
	for _, r := range out + errOut {
		if termsafe.Unsafe(r) && r != '\n' && r != '\t' {
			t.Fatalf("register received printed U+%04X:\n%q", r, out)
		}
	}

	rc, out, _ = ltnodeAt(t, h.clk.Now, h.Addr(), h.dir, district, "register", "received", "--json")
	if rc != 0 {
		t.Fatalf("register received --json: exit %d", rc)
	}
	for _, r := range out {
		if termsafe.Unsafe(r) && r != '\n' {
			t.Fatalf("register received --json printed U+%04X:\n%q", r, out)
		}
	}
	var items []struct {
		Subject string `json:"subject"`
	}
	must(t, json.Unmarshal([]byte(out), &items))
	if len(items) != 1 || items[0].Subject != hostile {
		t.Errorf("register received --json: %q, want the subject as stored", items)
	}
}
