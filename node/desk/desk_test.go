package desk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// The clerk's flow through the desks of two agencies: the commune sends a
// signed PDF, the district receives it (register entry, the PDF under its
// own name, thong-tin.json) and reports its steps, and the commune's
// register of documents sent follows, telling what Track tells.
func TestSendReceiveReport(t *testing.T) {
	dir := initHub(t)
	addr, _ := serveHub(t, dir, "127.0.0.1:0")
	com := agencyDesk(t, dir, addr, commune, nil)
	dis := agencyDesk(t, dir, addr, district, nil)
	pdf := writePDF(t, dir, commune, "Kế hoạch.pdf")

	res, err := com.Send(ctx(t), document(district, pdf), nil)
	must(t, err)
	if res.Queued || res.Result == nil || res.Result.Duplicate || strings.Join(res.Result.Body.GetRecipients(), ",") != district ||
		res.Result.Verification.GetIndication() != "TOTAL-PASSED" {
		t.Fatalf("Send = %+v", res)
	}
	id := res.MessageID
	assertOutbox(t, com, 0)
	sent, err := com.Register().SentDoc(id)
	must(t, err)
	if len(sent.Recipients) != 1 || sent.Recipients[0].Status != lienthongv1.Status_STATUS_ACCEPTED {
		t.Fatalf("sent register %+v", sent.Recipients)
	}

	var got []*desk.Incoming
	n, err := dis.Receive(ctx(t), false, desk.Handlers{Document: func(in *desk.Incoming) error { got = append(got, in); return nil }})
	must(t, err)
	if n != (desk.Received{Documents: 1}) || len(got) != 1 {
		t.Fatalf("Receive = %+v, %d documents", n, len(got))
	}
	in := got[0]
	if in.MessageID != id || in.SenderName != communeName || in.Entry == nil || in.Entry.Status != lienthongv1.Status_STATUS_DELIVERED {
		t.Fatalf("incoming %+v entry %+v", in, in.Entry)
	}
	if b, err := os.ReadFile(filepath.Join(in.Dir, "Kế hoạch.pdf")); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("the PDF under its own name: %v", err)
	}
	info := readInfo(t, in.Dir)
	if info.MessageID != id || info.NumberNotation != "12/QĐ-UBND" || info.Sender != (desk.Party{Code: commune, Name: communeName}) ||
		info.Subject != "Kế hoạch chuyển đổi số" || info.Urgency != "normal" || info.UrgencyLabel != "thường" ||
		info.DocumentType != "Quyết định" || len(info.Files) != 1 || info.Files[0].Name != "Kế hoạch.pdf" ||
		info.Signatures == nil || info.Signatures.Indication != "TOTAL-PASSED" || len(info.Signatures.Files) != 1 ||
		len(info.Signatures.Files[0].Signatures) != 1 || info.Signatures.Files[0].Signatures[0].Signer != commune {
		t.Errorf("thong-tin.json = %+v", info)
	}
	if _, off := info.ReceivedAt.Zone(); off != 7*3600 || !info.ReceivedAt.Equal(in.Entry.ReceivedAt) {
		t.Errorf("received_at %v, register %v", info.ReceivedAt, in.Entry.ReceivedAt)
	}

	// Info reads the file, and rebuilds it from delivery.pb in a folder
	// that has none (written before it existed).
	for _, remove := range []bool{false, true} {
		if remove {
			must(t, os.Remove(filepath.Join(in.Dir, desk.InfoFile)))
		}
		got, err := dis.Info(ctx(t), id)
		must(t, err)
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(info)
		if !bytes.Equal(a, b) {
			t.Errorf("Info (file removed: %v) =\n%s\nwant\n%s", remove, a, b)
		}
	}
	if again := readInfo(t, in.Dir); again.MessageID != id {
		t.Errorf("rebuilt %s: %+v", desk.InfoFile, again)
	}

	// The hub tells the sender of no delivery: Refresh asks it, and the
	// register then says what Track says.
	must(t, com.Refresh(ctx(t)))
	assertSentMatchesTrack(t, com, id, lienthongv1.Status_STATUS_DELIVERED)

	for _, st := range []lienthongv1.Status{lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_ASSIGNED} {
		rep, err := dis.Report(ctx(t), id, st, "")
		must(t, err)
		if rep.RecordErr != nil || rep.Entry == nil || rep.Entry.Status != st || rep.Body.GetStatus() != st || rep.Body.GetAgency() != district {
			t.Fatalf("Report %s = %+v", st.Name(), rep)
		}
	}
	var notes []*desk.Notification
	n, err = com.Receive(ctx(t), false, desk.Handlers{Notification: func(nt *desk.Notification) error { notes = append(notes, nt); return nil }})
	must(t, err)
	if n != (desk.Received{Notifications: 2}) || len(notes) != 2 || notes[1].AgencyName != districtName || notes[1].Sent == nil ||
		notes[1].Sent.Recipients[0].Status != lienthongv1.Status_STATUS_ASSIGNED {
		t.Fatalf("commune Receive = %+v, notifications %+v", n, notes)
	}
	assertSentMatchesTrack(t, com, id, lienthongv1.Status_STATUS_ASSIGNED)
}

// Report refuses what no recipient reports, and a refusal without a
// reason, before the hub is asked; the hub's refusals (an unknown
// document, a step back) come back with its code. None of them changes
// the register.
func TestReportRefusals(t *testing.T) {
	dir := initHub(t)
	addr, _ := serveHub(t, dir, "127.0.0.1:0")
	com := agencyDesk(t, dir, addr, commune, nil)
	dis := agencyDesk(t, dir, addr, district, nil)
	res, err := com.Send(ctx(t), document(district, writePDF(t, dir, commune, "kh.pdf")), nil)
	must(t, err)
	_, err = dis.Receive(ctx(t), false, desk.Handlers{})
	must(t, err)
	for _, st := range []lienthongv1.Status{lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_DONE} {
		_, err = dis.Report(ctx(t), res.MessageID, st, "")
		must(t, err)
	}

	for _, tt := range []struct {
		name   string
		id     string
		st     lienthongv1.Status
		reason string
		kind   lienthong.Kind // for refusals before the hub
		code   codes.Code     // for the hub's
		msg    string
	}{
		{"refusal without a reason", res.MessageID, lienthongv1.Status_STATUS_REJECTED, "  ", lienthong.KindInvalid, codes.OK, "phải nêu lý do"},
		{"not a recipient's step", res.MessageID, lienthongv1.Status_STATUS_DELIVERED, "", lienthong.KindInvalid, codes.OK, "không phải bước nơi nhận báo"},
		{"unknown document", "6f1c1b4e-0000-4000-8000-000000000000", lienthongv1.Status_STATUS_RECEIVED, "", 0, codes.NotFound, "6f1c1b4e-0000-4000-8000-000000000000"},
		{"a step back", res.MessageID, lienthongv1.Status_STATUS_RECEIVED, "", 0, codes.FailedPrecondition, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := dis.Report(ctx(t), tt.id, tt.st, tt.reason)
			if rep != nil || err == nil {
				t.Fatalf("Report = %+v, %v", rep, err)
			}
			if tt.code == codes.OK {
				if lienthong.ErrorKind(err) != tt.kind {
					t.Errorf("kind %v, want %v: %v", lienthong.ErrorKind(err), tt.kind, err)
				}
			} else if status.Code(err) != tt.code {
				t.Errorf("code %s, want %s: %v", status.Code(err), tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
			e, err := dis.Register().ReceivedDoc(res.MessageID)
			must(t, err)
			if e.Status != lienthongv1.Status_STATUS_DONE {
				t.Errorf("register status %s after a refused report", e.Status.Name())
			}
		})
	}
}

// A document the hub refuses leaves the outbox and is recorded, with the
// hub's message, among the refused; nothing of it is on the hub or in the
// register of documents sent.
func TestSendRefused(t *testing.T) {
	dir := initHub(t)
	addr, _ := serveHub(t, dir, "127.0.0.1:0")
	com := agencyDesk(t, dir, addr, commune, nil)
	for _, tt := range []struct {
		name string
		doc  node.Document
		code codes.Code
		msg  string
	}{
		{"unsigned PDF", document(district, writePDF(t, dir, "", "chua-ky.pdf")), codes.FailedPrecondition, "chưa ký số"},
		{"unknown recipient", document("000.09.99.H53", writePDF(t, dir, commune, "kh.pdf")), codes.NotFound, "000.09.99.H53"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := com.Send(ctx(t), tt.doc, nil)
			var refused *desk.RefusedError
			if res != nil || !errors.As(err, &refused) {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("refusal %s %q, want %s with %q", status.Code(err), err, tt.code, tt.msg)
			}
			assertOutbox(t, com, 0)
			list, err := com.Refused(register.Query{Search: refused.MessageID})
			must(t, err)
			if len(list) != 1 || list[0].Number != "12" || list[0].Reason != node.Describe(refused.Err) {
				t.Errorf("refused list %+v", list)
			}
			if _, err := com.Register().SentDoc(refused.MessageID); !errors.Is(err, register.ErrNotFound) {
				t.Errorf("sent register: %v", err)
			}
			if _, err := com.Track(ctx(t), refused.MessageID); status.Code(err) != codes.NotFound {
				t.Errorf("Track of a refused document: %v", err)
			}
			if entries, err := os.ReadDir(com.Register().OutboxDir()); err == nil && len(entries) != 0 {
				t.Errorf("outbox copies left: %v", entries)
			}
		})
	}
}

// With the hub unreachable, Send queues the document and says why; it
// goes out with the next Forward once the hub is back on its address.
func TestSendUnreachable(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	com := agencyDesk(t, dir, addr, commune, nil)
	res, err := com.Send(ctx(t), document(district, writePDF(t, dir, commune, "kh.pdf")), nil)
	must(t, err)
	if !res.Queued || res.Result != nil || !node.Unreachable(res.Unreachable) {
		t.Fatalf("Send = %+v", res)
	}
	list := assertOutbox(t, com, 1)
	if list[0].MessageID != res.MessageID || list[0].State != register.Queued || list[0].Attempts != 1 || list[0].Error == "" {
		t.Errorf("outbox %+v", list[0])
	}
	if refused, err := com.Refused(register.Query{}); err != nil || len(refused) != 0 {
		t.Errorf("refused %+v, %v", refused, err)
	}

	serveHub(t, dir, addr)
	// The connection tries again after its backoff: Forward is called
	// until the hub answers, as Run's loop does.
	c := ctx(t)
	rep, err := com.Forward(c, nil)
	for err == nil && rep.Unreachable != nil && c.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		rep, err = com.Forward(c, nil)
	}
	must(t, err)
	if len(rep.Forwarded) != 1 || rep.Forwarded[0].MessageID != res.MessageID || rep.Queued != 0 || rep.Unreachable != nil {
		t.Fatalf("Forward = %+v", rep)
	}
	assertOutbox(t, com, 0)
	if _, err := com.Register().SentDoc(res.MessageID); err != nil {
		t.Errorf("sent register: %v", err)
	}
}

// With a signer, each PDF is signed before it is queued: an unsigned PDF
// goes out signed, under its own name, and the clerk's file is left as it
// was. A signer's failure stops the send with nothing queued.
func TestSendSigns(t *testing.T) {
	dir := initHub(t)
	addr, _ := serveHub(t, dir, "127.0.0.1:0")
	pdf := writePDF(t, dir, "", "to-trinh.pdf")
	before, err := os.ReadFile(pdf)
	must(t, err)

	com := agencyDesk(t, dir, addr, commune, agencySigner(t, dir, commune))
	res, err := com.Send(ctx(t), document(district, pdf), nil)
	must(t, err)
	v := res.Result.Verification
	if v.GetIndication() != "TOTAL-PASSED" || len(v.GetFiles()) != 1 || v.GetFiles()[0].GetName() != "to-trinh.pdf" ||
		len(v.GetFiles()[0].GetSignatures()) != 1 || v.GetFiles()[0].GetSignatures()[0].GetSigner() != commune {
		t.Errorf("verification %+v", v)
	}
	if after, err := os.ReadFile(pdf); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the clerk's file changed (%v)", err)
	}

	broken := agencyDesk(t, dir, addr, commune, failingSigner{})
	if _, err := broken.Send(ctx(t), document(district, pdf), nil); err == nil || !strings.Contains(err.Error(), "token removed") {
		t.Fatalf("Send with a failing signer: %v", err)
	}
	assertOutbox(t, broken, 0)

	// A signer for one document, on a desk without one.
	plain := agencyDesk(t, dir, addr, commune, nil)
	res, err = plain.SendSigned(ctx(t), document(district, pdf), agencySigner(t, dir, commune), nil)
	must(t, err)
	if res.Result.Verification.GetIndication() != "TOTAL-PASSED" {
		t.Errorf("SendSigned verification %+v", res.Result.Verification)
	}
	if _, err := plain.SendSigned(ctx(t), document(district, pdf), failingSigner{}, nil); err == nil || !strings.Contains(err.Error(), "token removed") {
		t.Errorf("SendSigned with a failing signer: %v", err)
	}
	assertOutbox(t, plain, 0)
}

type failingSigner struct{}

func (failingSigner) SignPDF(context.Context, string, string) error {
	return errors.New("token removed")
}

// Names come from the hub's directory, and from the register's copy when
// the hub is away.
func TestNamesFromCachedDirectory(t *testing.T) {
	dir := initHub(t)
	addr, stop := serveHub(t, dir, "127.0.0.1:0")
	online := agencyDesk(t, dir, addr, commune, nil)
	if got := online.Named(ctx(t), district); got != districtName+" ("+district+")" {
		t.Fatalf("Named = %q", got)
	}
	stop()
	offline, err := desk.New(desk.Config{Register: online.Register()})
	must(t, err)
	for code, want := range map[string]string{district: districtName, "commune:" + district: districtName, "000.09.99.H53": ""} {
		if got := offline.Name(ctx(t), code); got != want {
			t.Errorf("offline Name(%s) = %q, want %q", code, got, want)
		}
	}
	if _, err := offline.Send(ctx(t), document(district), nil); !errors.Is(err, desk.ErrOffline) {
		t.Errorf("offline Send: %v", err)
	}
}

func assertOutbox(t *testing.T, d *desk.Desk, n int) []*register.Outgoing {
	t.Helper()
	list, err := d.Outbox(register.Query{})
	must(t, err)
	if len(list) != n {
		t.Fatalf("outbox holds %d documents, want %d: %+v", len(list), n, list)
	}
	return list
}

// assertSentMatchesTrack checks that the register of documents sent
// holds, for the one recipient, the status Track gives, and that it is
// want.
func assertSentMatchesTrack(t *testing.T, d *desk.Desk, id string, want lienthongv1.Status) {
	t.Helper()
	tr, err := d.Track(ctx(t), id)
	must(t, err)
	sent, err := d.Register().SentDoc(id)
	must(t, err)
	if len(tr.Recipients) != 1 || len(sent.Recipients) != 1 || tr.Recipients[0].GetStatus() != want ||
		sent.Recipients[0].Status != want || !sent.Recipients[0].Time.Equal(tr.Recipients[0].GetTime().AsTime()) {
		t.Errorf("Track %v, register %+v, want both %s", tr.Recipients, sent.Recipients, want.Name())
	}
}

func readInfo(t *testing.T, dir string) desk.DocInfo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, desk.InfoFile))
	must(t, err)
	var info desk.DocInfo
	must(t, json.Unmarshal(b, &info))
	return info
}

// Declare checks the hub's rules before asking it, and the hub tells a
// declaration it already holds.
func TestDeclare(t *testing.T) {
	dir := initHub(t)
	addr, _ := serveHub(t, dir, "127.0.0.1:0")
	com := agencyDesk(t, dir, addr, commune, nil)
	paper := desk.Declaration{Kind: lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, Number: "45", Notation: "QĐ-UBND",
		IssueDate: "2026-03-02", DocumentType: "Quyết định"}
	for i, want := range []bool{false, true} {
		dup, err := com.Declare(ctx(t), paper)
		must(t, err)
		if dup != want {
			t.Errorf("declaration %d: duplicate %v, want %v", i, dup, want)
		}
	}
	for _, tt := range []struct {
		name string
		decl desk.Declaration
		msg  string
	}{
		{"no kind", desk.Declaration{Number: "1", Notation: "UBND", IssueDate: "2026-03-02"}, "paper hoặc secret"},
		{"bad date", desk.Declaration{Kind: paper.Kind, Number: "1", Notation: "UBND", IssueDate: "02/03/2026"}, "02/03/2026"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := com.Declare(ctx(t), tt.decl)
			if lienthong.ErrorKind(err) != lienthong.KindInvalid || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Declare: %v (kind %v), want invalid with %q", err, lienthong.ErrorKind(err), tt.msg)
			}
		})
	}
	if k, err := desk.ParseDeclarationKind("Secret"); err != nil || k != lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET {
		t.Errorf("ParseDeclarationKind = %v, %v", k, err)
	}
}
