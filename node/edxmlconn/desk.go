package edxmlconn

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// ForDesk returns the connector and the folder watcher of a clerk's
// desk: packages go out through its outbox (desk.Send), status messages
// become its reports (desk.Report, desk.AnswerRecall,
// desk.RequestRecall), and the documents a status message names are found
// in its register. The work folder sits beside the outbox.
func ForDesk(d *desk.Desk, in, out string) *Watcher {
	c := &Connector{
		Code: d.Code(), Work: filepath.Join(filepath.Dir(d.Register().OutboxDir()), "edxml-work"),
		Sender: SenderFunc(func(ctx context.Context, doc node.Document) (string, error) {
			s, err := d.Send(ctx, doc, nil)
			if err != nil {
				return "", err
			}
			return s.MessageID, nil
		}),
		Reporter: deskReporter{d},
		Resolve:  func(_ context.Context, rf edxml.ResponseFor) (string, error) { return resolve(d.Register(), rf) },
	}
	return &Watcher{Conn: c, In: in, Out: out,
		Lookup: func(ctx context.Context, id string) (*lienthongv1.Envelope, error) {
			t, err := d.Track(ctx, id)
			if err != nil {
				return nil, err
			}
			return t.Envelope, nil
		}}
}

type deskReporter struct{ d *desk.Desk }

func (r deskReporter) Report(ctx context.Context, id string, step lienthongv1.Status, reason string) error {
	var err error
	switch step {
	case lienthongv1.Status_STATUS_RECALL_AGREED, lienthongv1.Status_STATUS_RECALL_REFUSED:
		_, err = r.d.AnswerRecall(ctx, id, step == lienthongv1.Status_STATUS_RECALL_AGREED, reason)
	default:
		_, err = r.d.Report(ctx, id, step, reason)
	}
	return err
}

// RequestRecall asks each recipient that fetched the document; those
// that had not are left alone (the sender revokes instead).
func (r deskReporter) RequestRecall(ctx context.Context, id, reason string) error {
	t, err := r.d.Track(ctx, id)
	if err != nil {
		return err
	}
	asked := 0
	for _, rs := range t.Recipients {
		switch rs.GetStatus() {
		case lienthongv1.Status_STATUS_ACCEPTED, lienthongv1.Status_STATUS_REJECTED, lienthongv1.Status_STATUS_REVOKED,
			lienthongv1.Status_STATUS_QUARANTINED, lienthongv1.Status_STATUS_RECALL_REQUESTED, lienthongv1.Status_STATUS_RECALL_AGREED:
			continue
		}
		if _, err := r.d.RequestRecall(ctx, id, rs.GetAgency(), reason); err != nil {
			return fmt.Errorf("asking %s to give back %s: %w", rs.GetAgency(), id, err)
		}
		asked++
	}
	if asked == 0 {
		return lienthong.Errorf(lienthong.KindFailedPrecondition,
			"không nơi nhận nào của văn bản %s có thể đề nghị thu hồi (chưa nhận về thì thu hồi bằng gói BussinessDocType 1) (no recipient to ask)", id)
	}
	return nil
}

// resolve finds the document a status message names: by the message id
// its edXML DocumentId gives (a document exchanged as edXML), else by
// sender, number/notation and issue date in the register.
func resolve(reg *register.Register, rf edxml.ResponseFor) (string, error) {
	id := edxml.MessageID(rf.DocumentID, edxml.BusinessNew, "")
	if _, err := reg.ReceivedDoc(id); err == nil {
		return id, nil
	}
	if _, err := reg.SentDoc(id); err == nil {
		return id, nil
	}
	match := func(number, notation, date string) bool {
		return rf.Code == number+"/"+notation && (rf.PromulgationDate == "" || rf.PromulgationDate == date)
	}
	recv, err := reg.ReceivedList(register.Query{Search: rf.Code})
	if err != nil {
		return "", err
	}
	for _, e := range recv {
		if e.Sender == rf.OrganID && match(e.Number, e.Notation, e.IssueDate) {
			return e.MessageID, nil
		}
	}
	sent, err := reg.SentList(register.Query{Search: rf.Code})
	if err != nil {
		return "", err
	}
	for _, e := range sent {
		if match(e.Number, e.Notation, e.IssueDate) {
			return e.MessageID, nil
		}
	}
	return "", lienthong.Errorf(lienthong.KindNotFound,
		"không tìm thấy văn bản %s (%s) trong sổ văn bản đến hoặc đi (document not in the register)", clip(rf.DocumentID), clip(rf.Code))
}
