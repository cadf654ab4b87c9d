package desk

import (
	"context"
	"errors"
	"time"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Incoming is a document received, entered in the register and written
// to its folder with InfoFile beside its files.
type Incoming struct {
	*node.Received
	// Entry is the register's entry for it.
	Entry *register.Received
	// SenderName is the sender's name in the directory ("" if unknown).
	SenderName string
}

// Notification is a step of a document this agency sent, at one of its
// recipients, recorded in the register of documents sent; or the sender's
// request to recall a document this agency received (Body.Status
// RECALL_REQUESTED), recorded in the register of documents received, Sent
// nil, AgencyName the sender's.
type Notification struct {
	Body    *lienthongv1.ReceiptBody
	Receipt *lienthongv1.Receipt
	// Sent is the register's entry, updated; nil if the document is not
	// in this node's register.
	Sent *register.Sent
	// AgencyName is the recipient's name in the directory.
	AgencyName string
}

// Undelivered is a document this agency cannot have (see node.NotStored),
// entered in the register of documents received with why.
type Undelivered struct {
	*node.NotStored
	// Status is the hub's view: rejected (the hub recorded that this node
	// cannot store it), quarantined (damaged on the hub), or accepted
	// (the hub could not be told: ReportErr says why; it will be offered
	// again).
	Status lienthongv1.Status
	Entry  *register.Received
}

// Handlers are told what Receive brings, after it is recorded. Any may be
// nil. They are called from one goroutine, in the order of the stream; an
// error stops Receive with the item unacknowledged, so the hub offers it
// again.
type Handlers struct {
	Document     func(*Incoming) error
	Notification func(*Notification) error
	Undelivered  func(*Undelivered) error
}

// Received counts what one Receive brought.
type Received struct {
	Documents, Notifications, Undelivered int
}

// Receive fetches what the hub holds for the agency: documents into the
// inbox folder (each entered in the register of documents received and
// described in InfoFile before it is acknowledged), notifications of the
// documents it sent (recorded in the register of documents sent), and
// documents it cannot have (entered with why). With wait, it keeps the
// stream open for new ones until ctx ends. Documents that could not be
// had do not make an error: they are counted in Undelivered and listed in
// the register.
func (d *Desk) Receive(ctx context.Context, wait bool, h Handlers) (Received, error) {
	var n Received
	c, err := d.client()
	if err != nil {
		return n, err
	}
	// The directory is loaded under ctx now, so that naming senders while
	// storing never waits on the hub.
	d.Name(ctx, "")
	if d.inbox == "" {
		return n, errNoInbox
	}
	opts := node.ReceiveOptions{
		Wait:     wait,
		OnStored: d.stored,
		OnNotification: func(body *lienthongv1.ReceiptBody, r *lienthongv1.Receipt) error {
			if body.GetStatus() == lienthongv1.Status_STATUS_RECALL_REQUESTED && body.GetAgency() == d.Code() {
				// The sender of a document received here asks for it back:
				// a step of the register of documents received.
				if _, err := d.reg.SetStatus(body, r); err != nil {
					return err
				}
				n.Notifications++
				if h.Notification == nil {
					return nil
				}
				return h.Notification(&Notification{Body: body, Receipt: r, AgencyName: d.Name(ctx, body.GetSender())})
			}
			sent, _, err := d.reg.RecordNotification(body)
			if err != nil {
				return err
			}
			n.Notifications++
			if h.Notification == nil {
				return nil
			}
			return h.Notification(&Notification{Body: body, Receipt: r, Sent: sent, AgencyName: d.Name(ctx, body.GetAgency())})
		},
		OnNotStored: func(ns *node.NotStored) error {
			u := &Undelivered{NotStored: ns, Status: lienthongv1.Status_STATUS_ACCEPTED}
			var rcpt *lienthongv1.Receipt
			switch {
			case ns.Quarantined != nil:
				u.Status, rcpt = lienthongv1.Status_STATUS_QUARANTINED, ns.Quarantined
			case ns.Rejected != nil:
				u.Status, rcpt = lienthongv1.Status_STATUS_REJECTED, ns.Rejected
			}
			var err error
			if u.Entry, err = d.reg.AddNotStored(ns.MessageID, ns.Sender, ns.Envelope, ns.Reason, u.Status, rcpt); err != nil {
				return err
			}
			n.Undelivered++
			if h.Undelivered == nil {
				return nil
			}
			return h.Undelivered(u)
		},
	}
	err = c.ReceiveInto(ctx, d.inbox, opts, func(r *node.Received) error {
		n.Documents++
		if h.Document == nil {
			return nil
		}
		in := &Incoming{Received: r, SenderName: d.Name(ctx, r.Envelope.GetSender())}
		if e, err := d.reg.ReceivedDoc(r.MessageID); err == nil {
			in.Entry = e
		}
		return h.Document(in)
	})
	var notStored *node.NotStoredError
	if errors.As(err, &notStored) {
		err = nil
	}
	return n, err
}

// stored enters a document in the register and writes InfoFile before it
// is acknowledged: a redelivery is acknowledged again but not registered
// twice.
func (d *Desk) stored(r *node.Received) error {
	added, err := d.reg.AddReceived(r.Envelope, r.Dir)
	if err != nil {
		return err
	}
	if !added {
		r.Duplicate = true
	}
	entry, err := d.reg.ReceivedDoc(r.MessageID)
	if err != nil {
		return err
	}
	return writeInfo(r.Dir, Describe(r, entry, d.Name(context.Background(), r.Envelope.GetSender())))
}

// RunHandlers are told what Run does. Any may be nil; they may be called
// from two goroutines at once (the outbox and the receive stream).
type RunHandlers struct {
	Handlers
	// Forwarded is given the report of each pass over the outbox.
	Forwarded func(*node.ForwardReport)
	// Reconnecting is told that the receive stream ended (err says why,
	// nil when the hub closed it) and is opened again after backoff.
	Reconnecting func(err error, backoff time.Duration)
	// Error is told of a failure of the register during a pass over the
	// outbox; the pass is tried again at the next interval.
	Error func(error)
}

// Reconnection backoff of Run's receive stream.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// Run keeps the desk working until ctx ends, as a service should: it
// forwards the outbox every interval, and keeps a waiting receive stream
// open, reconnecting with exponential backoff while the hub is away.
// Neither loop gives up before ctx ends; both have stopped when Run
// returns.
func (d *Desk) Run(ctx context.Context, interval time.Duration, h RunHandlers) error {
	if _, err := d.client(); err != nil {
		return err
	}
	if d.inbox == "" {
		return errNoInbox
	}
	if interval <= 0 {
		return errors.New("desk: Run needs a positive interval")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.forwardLoop(ctx, interval, h)
	}()
	d.receiveLoop(ctx, h)
	<-done
	return nil
}

func (d *Desk) forwardLoop(ctx context.Context, interval time.Duration, h RunHandlers) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := d.Forward(ctx, nil)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if h.Error != nil {
				h.Error(err)
			}
		case h.Forwarded != nil:
			h.Forwarded(rep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Desk) receiveLoop(ctx context.Context, h RunHandlers) {
	backoff := minBackoff
	for {
		started := d.now()
		n, err := d.Receive(ctx, true, h.Handlers)
		if ctx.Err() != nil {
			return
		}
		// A stream that lived long or brought something was a working
		// connection: the backoff starts again.
		if d.now().Sub(started) > maxBackoff || n.Documents+n.Notifications+n.Undelivered > 0 {
			backoff = minBackoff
		}
		if h.Reconnecting != nil {
			h.Reconnecting(err, backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
