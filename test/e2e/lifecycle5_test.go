package e2e

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// receiveIDs fetches (and acknowledges) code's pending documents and
// returns their message ids and business types.
func receiveIDs(t *testing.T, h *runningHub, code string) ([]string, []lienthongv1.BusinessType) {
	t.Helper()
	var ids []string
	var types []lienthongv1.BusinessType
	must(t, client(t, h.Addr(), h.dir, code).ReceiveInto(context.Background(), filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
		func(r *node.Received) error {
			ids = append(ids, r.MessageID)
			types = append(types, r.Envelope.GetBusinessType())
			return nil
		}))
	return ids, types
}

// notifications reads the caller's queued notifications with a raw
// Receive stream, optionally acknowledging each.
func notifications(t *testing.T, c *node.Client, ack bool) []*lienthongv1.ReceiptBody {
	t.Helper()
	ctx := context.Background()
	stream, err := c.API().Receive(ctx, &lienthongv1.ReceiveRequest{})
	must(t, err)
	var out []*lienthongv1.ReceiptBody
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		must(t, err)
		n := msg.GetNotification()
		if n == nil {
			t.Fatalf("unexpected %T in the sender's stream", msg.GetPart())
		}
		tr := node.CheckReceipt(n.GetReceipt(), c.Identity().Roots)
		must(t, tr.Err)
		out = append(out, tr.Body)
		if ack {
			_, err := c.API().Ack(ctx, &lienthongv1.AckRequest{ReceiptId: tr.Body.GetReceiptId()})
			must(t, err)
		}
	}
}

func sendDoc(t *testing.T, c *node.Client, doc node.Document) *node.SendResult {
	t.Helper()
	res, err := c.Send(context.Background(), doc, nil)
	must(t, err)
	return res
}

// The province sends one document to "every commune of district X":
// exactly those communes get it, once.
func TestGroupSendToCommunesOfDistrict(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	pdf, _ := writePDF(t, dir, province, "cv.pdf", samplepdf.Options{Title: "Gui cac xa"})
	res := sendDoc(t, client(t, h.Addr(), dir, province), node.Document{Recipients: []string{"commune:" + district},
		Number: "20", Notation: "UBND-VP", Subject: "Gửi các xã", Files: []node.File{{Path: pdf}}})
	want := []string{commune, commune2, commune3}
	if !slices.Equal(res.Body.GetRecipients(), want) {
		t.Fatalf("resolved recipients %v, want %v", res.Body.GetRecipients(), want)
	}
	for _, code := range []string{commune, commune2, commune3, "000.01.32.H53", "000.02.32.H53", district, district2, deptNoiVu} {
		ids, _ := receiveIDs(t, h, code)
		wantN := 0
		if slices.Contains(want, code) {
			wantN = 1
		}
		if len(ids) != wantN || (wantN == 1 && ids[0] != res.MessageID) {
			t.Errorf("%s received %v, want %d copy of %s", code, ids, wantN, res.MessageID)
		}
		if again, _ := receiveIDs(t, h, code); len(again) != 0 {
			t.Errorf("%s received %v again", code, again)
		}
	}
}

// A recipient reports received → assigned → done; the hub signs each step,
// the sender gets them in order, once acknowledged they are gone; illegal
// or premature steps are refused.
func TestStatusFlow(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, province)
	rcpt := client(t, h.Addr(), dir, district)
	pdf, _ := writePDF(t, dir, province, "qd.pdf", samplepdf.Options{Title: "Giao viec"})
	res := sendDoc(t, sender, node.Document{Recipients: []string{district, district2}, Number: "30", Notation: "QĐ-UBND",
		Subject: "Giao nhiệm vụ", DueDate: "2026-12-31", Files: []node.File{{Path: pdf}}})
	report := func(c *node.Client, st lienthongv1.Status, reason string) error {
		_, err := c.API().ReportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: res.MessageID, Status: st, Reason: reason})
		return err
	}

	if err := report(rcpt, lienthongv1.Status_STATUS_RECEIVED, ""); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("status before fetching: %v, want FailedPrecondition", err)
	}
	receiveIDs(t, h, district)
	for _, st := range []lienthongv1.Status{lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_ASSIGNED, lienthongv1.Status_STATUS_DONE} {
		if err := report(rcpt, st, ""); err != nil {
			t.Fatalf("report %v: %v", st, err)
		}
	}
	tests := []struct {
		name   string
		c      *node.Client
		st     lienthongv1.Status
		reason string
		code   codes.Code
	}{
		{"done → received", rcpt, lienthongv1.Status_STATUS_RECEIVED, "", codes.FailedPrecondition},
		{"done twice", rcpt, lienthongv1.Status_STATUS_DONE, "", codes.FailedPrecondition},
		{"not a recipient", client(t, h.Addr(), dir, commune), lienthongv1.Status_STATUS_RECEIVED, "", codes.NotFound},
		{"the sender itself", sender, lienthongv1.Status_STATUS_RECEIVED, "", codes.NotFound},
		{"delivered is the hub's", rcpt, lienthongv1.Status_STATUS_DELIVERED, "", codes.InvalidArgument},
		{"rejected without reason", client(t, h.Addr(), dir, district2), lienthongv1.Status_STATUS_REJECTED, " ", codes.InvalidArgument},
	}
	for _, tt := range tests {
		if err := report(tt.c, tt.st, tt.reason); status.Code(err) != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
	}
	receiveIDs(t, h, district2)
	if err := report(client(t, h.Addr(), dir, district2), lienthongv1.Status_STATUS_REJECTED, "Không thuộc thẩm quyền"); err != nil {
		t.Fatal(err)
	}

	got := notifications(t, sender, false)
	var steps []string
	for _, b := range got {
		steps = append(steps, b.GetAgency()+":"+b.GetStatus().String()+":"+b.GetReason())
	}
	want := []string{
		district + ":STATUS_RECEIVED:", district + ":STATUS_ASSIGNED:", district + ":STATUS_DONE:",
		district2 + ":STATUS_REJECTED:Không thuộc thẩm quyền",
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("sender notifications %v, want %v", steps, want)
	}
	if again := notifications(t, sender, true); len(again) != 4 {
		t.Errorf("unacknowledged notifications are redelivered: got %d, want 4", len(again))
	}
	if after := notifications(t, sender, false); len(after) != 0 {
		t.Errorf("after ack: %d notifications, want 0", len(after))
	}

	tr, err := sender.Track(ctx, res.MessageID)
	must(t, err)
	var timeline []string
	for _, r := range tr.Receipts {
		must(t, r.Err)
		if r.Body.GetAgency() == district {
			timeline = append(timeline, r.Body.GetStatus().String())
		}
	}
	if want := []string{"STATUS_DELIVERED", "STATUS_RECEIVED", "STATUS_ASSIGNED", "STATUS_DONE"}; !slices.Equal(timeline, want) {
		t.Errorf("track timeline of %s = %v, want %v", district, timeline, want)
	}
	final := map[string]lienthongv1.Status{}
	for _, r := range tr.Recipients {
		final[r.GetAgency()] = r.GetStatus()
	}
	if final[district] != lienthongv1.Status_STATUS_DONE || final[district2] != lienthongv1.Status_STATUS_REJECTED {
		t.Errorf("statuses %v", final)
	}
}

// A revocation before fetch means the recipient never gets the original,
// only the revocation; one that had fetched it gets the revocation too.
// Only the sender may revoke. A replacement is linked in Track.
func TestRevokeAndReplace(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := client(t, h.Addr(), dir, deptNoiVu)
	pdf, _ := writePDF(t, dir, deptNoiVu, "cv.pdf", samplepdf.Options{Title: "Nham"})
	orig := sendDoc(t, sender, node.Document{Recipients: []string{district, province}, Number: "40", Notation: "SNV",
		Subject: "Gửi nhầm", Files: []node.File{{Path: pdf}}})
	if ids, _ := receiveIDs(t, h, province); !slices.Equal(ids, []string{orig.MessageID}) {
		t.Fatalf("province got %v", ids)
	}

	other, _ := writePDF(t, dir, district, "x.pdf", samplepdf.Options{Title: "x"})
	_, err := client(t, h.Addr(), dir, district).Send(ctx, node.Document{BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE,
		RelatedMessageID: orig.MessageID, Number: "1", Notation: "X", Subject: "thu hồi hộ", Files: []node.File{{Path: other}}}, nil)
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("revoke by another agency: %v, want PermissionDenied", err)
	}
	_, err = sender.Send(ctx, node.Document{BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, RelatedMessageID: orig.MessageID,
		Recipients: []string{commune}, Number: "41", Notation: "SNV", Subject: "thu hồi", Files: []node.File{{Path: pdf}}}, nil)
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("revoke to a stranger of the original: %v, want InvalidArgument", err)
	}

	rv, _ := writePDF(t, dir, deptNoiVu, "thu-hoi.pdf", samplepdf.Options{Title: "Thu hoi"})
	revoke := sendDoc(t, sender, node.Document{BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, RelatedMessageID: orig.MessageID,
		Number: "41", Notation: "SNV", Subject: "Thu hồi văn bản 40/SNV", Files: []node.File{{Path: rv}}})
	if want := []string{province, district}; !slices.Equal(revoke.Body.GetRecipients(), want) {
		t.Errorf("revocation recipients %v, want the original's %v", revoke.Body.GetRecipients(), want)
	}
	ids, types := receiveIDs(t, h, district)
	if !slices.Equal(ids, []string{revoke.MessageID}) || types[0] != lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE {
		t.Errorf("district (had not fetched) got %v %v, want only the revocation %s", ids, types, revoke.MessageID)
	}
	if ids, _ := receiveIDs(t, h, province); !slices.Equal(ids, []string{revoke.MessageID}) {
		t.Errorf("province (had fetched) got %v, want the revocation", ids)
	}
	tr, err := sender.Track(ctx, orig.MessageID)
	must(t, err)
	st := map[string]lienthongv1.Status{}
	for _, r := range tr.Recipients {
		st[r.GetAgency()] = r.GetStatus()
	}
	if st[district] != lienthongv1.Status_STATUS_REVOKED || st[province] != lienthongv1.Status_STATUS_DELIVERED {
		t.Errorf("original statuses after revoke: %v", st)
	}
	if !slices.Equal(links(t, sender, orig.MessageID), []string{revoke.MessageID}) {
		t.Errorf("original links %v, want %s", links(t, sender, orig.MessageID), revoke.MessageID)
	}
	for _, r := range tr.Receipts {
		must(t, r.Err)
	}

	// Replace: old and new are linked both ways in Track.
	v1, _ := writePDF(t, dir, deptNoiVu, "v1.pdf", samplepdf.Options{Title: "Ban 1"})
	first := sendDoc(t, sender, node.Document{Recipients: []string{district}, Number: "50", Notation: "SNV", Subject: "Bản 1", Files: []node.File{{Path: v1}}})
	v2, _ := writePDF(t, dir, deptNoiVu, "v2.pdf", samplepdf.Options{Title: "Ban 2"})
	second := sendDoc(t, sender, node.Document{BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE, RelatedMessageID: first.MessageID,
		Number: "51", Notation: "SNV", Subject: "Bản 2 thay bản 1", Files: []node.File{{Path: v2}}})
	nw, err := sender.Track(ctx, second.MessageID)
	must(t, err)
	if !slices.Equal(links(t, sender, first.MessageID), []string{second.MessageID}) || nw.Envelope.GetRelatedMessageId() != first.MessageID ||
		nw.Envelope.GetBusinessType() != lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE {
		t.Errorf("replace links: old→%v, new→%q", links(t, sender, first.MessageID), nw.Envelope.GetRelatedMessageId())
	}
	// A replacement does not withdraw the original: the recipient gets both.
	if ids, _ := receiveIDs(t, h, district); !slices.Equal(ids, []string{first.MessageID, second.MessageID}) {
		t.Errorf("district got %v, want both versions", ids)
	}
}

// links returns the ids of messages that revoke, update or replace id.
func links(t *testing.T, c *node.Client, id string) []string {
	t.Helper()
	tr, err := c.API().Track(context.Background(), &lienthongv1.TrackRequest{MessageId: id})
	must(t, err)
	return tr.GetRelatedMessageIds()
}
