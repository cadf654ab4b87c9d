package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
)

// Tracking is the outcome of Track.
type Tracking struct {
	*node.Tracked
	// RecordErr is set when the document is this agency's and the
	// register of documents sent could not take the hub's statuses.
	RecordErr error
}

// Track fetches a document's receipts (each signature checked) and each
// recipient's status from the hub. For a document this agency sent, the
// register of documents sent is brought to the same statuses, so the
// register and Track never tell two stories.
func (d *Desk) Track(ctx context.Context, messageID string) (*Tracking, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	t, err := c.Track(ctx, messageID)
	if err != nil {
		return nil, err
	}
	out := &Tracking{Tracked: t}
	if t.Envelope.GetSender() == c.Identity().Code {
		if err := d.reg.RecordTrack(t.Envelope, t.Recipients); err != nil {
			out.RecordErr = fmt.Errorf("không ghi được vào sổ văn bản đi (register not updated): %w", err)
		}
	}
	return out, nil
}

// Refresh brings the register of documents sent to the hub's statuses:
// each document some recipient has not finished is tracked, and the
// register takes what the hub says (delivered, received...; the hub
// notifies the sender of a recipient's reported steps, not of a
// delivery). It stops at the first answer that is not the hub's (the hub
// unreachable), returning it; the entries read so far are updated.
func (d *Desk) Refresh(ctx context.Context) error {
	c, err := d.client()
	if err != nil {
		return err
	}
	list, err := d.reg.SentList(register.Query{})
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range list {
		if !s.Open() {
			continue
		}
		t, err := c.Track(ctx, s.MessageID)
		if node.Unreachable(err) {
			return err
		}
		if err == nil {
			err = d.reg.RecordTrack(t.Envelope, t.Recipients)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.MessageID, err))
		}
	}
	return errors.Join(errs...)
}

// Sent lists the register of documents sent as the register holds it;
// call Refresh first for the hub's latest statuses.
func (d *Desk) Sent(q register.Query) ([]*register.Sent, error) { return d.reg.SentList(q) }

// ReceivedList lists the register of documents received.
func (d *Desk) ReceivedList(q register.Query) ([]*register.Received, error) {
	return d.reg.ReceivedList(q)
}

// Refused lists the documents the hub refused at send.
func (d *Desk) Refused(q register.Query) ([]*register.Refused, error) { return d.reg.RefusedList(q) }

// Outbox lists the outbox, filtered like the registers: an outbox
// document is overdue when its due date has passed while it waits.
func (d *Desk) Outbox(q register.Query) ([]*register.Outgoing, error) {
	list, err := d.reg.Outbox()
	if err != nil {
		return nil, err
	}
	today := d.reg.Today()
	words := strings.Fields(register.Fold(q.Search))
	var out []*register.Outgoing
	for _, o := range list {
		hay := register.Fold(strings.Join(append([]string{o.MessageID, o.Number, o.Notation, o.Number + "/" + o.Notation, o.Subject}, o.Recipients...), "\n"))
		match := true
		for _, w := range words {
			match = match && strings.Contains(hay, w)
		}
		if !match || (q.Overdue && (o.DueDate == "" || o.DueDate >= today)) {
			continue
		}
		out = append(out, o)
	}
	return out, nil
}
