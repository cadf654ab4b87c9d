package desk

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// RequestRecall asks a recipient to give back a document this agency
// sent (edXML 13). Only the sender may ask (the hub checks it); the
// recipient's answer arrives as a notification.
func (d *Desk) RequestRecall(ctx context.Context, messageID, recipient, reason string) (*lienthongv1.ReceiptBody, error) {
	reason = strings.TrimSpace(reason)
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	v, err := c.RequestRecall(ctx, messageID, recipient, reason)
	if err != nil {
		return nil, err
	}
	if _, _, err := d.reg.RecordNotification(v.Body); err != nil {
		return v.Body, fmt.Errorf("trục đã ghi nhận nhưng không ghi được vào sổ văn bản đi (recorded by the hub, not in the register): %w", err)
	}
	return v.Body, nil
}

// AnswerRecall answers the sender's recall request of a document this
// agency received: agree (edXML 15) or refuse (16, a reason required).
// Agreeing makes the document recalled, as Decree 30/2020 art. 21 asks
// of a document its sender withdraws: the register marks it so and its
// files are deleted from the inbox folder (the register keeps the facts).
// Only the recipient answers, and only a pending request (the hub checks
// both).
func (d *Desk) AnswerRecall(ctx context.Context, messageID string, agree bool, reason string) (*Reported, error) {
	reason = strings.TrimSpace(reason)
	st := lienthongv1.Status_STATUS_RECALL_AGREED
	if !agree {
		st = lienthongv1.Status_STATUS_RECALL_REFUSED
		if reason == "" {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "từ chối thu hồi phải nêu lý do (refusing a recall needs a reason)")
		}
	}
	if err := envelope.StatusText(reason); err != nil {
		return nil, err
	}
	out, err := d.report(ctx, messageID, st, reason)
	if err != nil || out.RecordErr != nil {
		return out, err
	}
	if agree && out.Entry.Dir != "" {
		if err := os.RemoveAll(out.Entry.Dir); err != nil {
			out.RecordErr = fmt.Errorf("không xóa được văn bản đã thu hồi khỏi %s (recalled document not deleted): %w", out.Entry.Dir, err)
		}
	}
	return out, nil
}
