package desk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Sending is the outcome of Send for a document the hub did not refuse.
type Sending struct {
	MessageID string
	Envelope  *lienthongv1.Envelope
	// Result is the hub's answer (its verified "accepted" receipt, the
	// resolved recipients, the signature checks); nil while Queued.
	Result *node.SendResult
	// Queued is true when the hub could not be reached: the document
	// waits in the outbox and goes out with the next Forward; Unreachable
	// says why.
	Queued      bool
	Unreachable error
	// Earlier is what the same pass over the outbox did with documents
	// queued before this one.
	Earlier Earlier
}

// Earlier counts what a send's pass over the outbox did with other
// documents.
type Earlier struct {
	Forwarded int
	// Refused stay in the outbox, failed, for the clerk to retry or drop.
	Refused []node.Refusal
}

// RefusedError is Send's error when the hub refused the document: it
// was dropped from the outbox and recorded in the register's list of
// refused documents with the hub's message. Err is the hub's answer (a
// gRPC status, with the code and the clerk's message).
type RefusedError struct {
	MessageID string
	Err       error
}

func (e *RefusedError) Error() string {
	if st, ok := status.FromError(e.Err); ok {
		return st.Message()
	}
	return e.Err.Error()
}

// Unwrap returns the hub's answer.
func (e *RefusedError) Unwrap() error { return e.Err }

// GRPCStatus is the hub's status, so the gRPC code survives the wrapping.
func (e *RefusedError) GRPCStatus() *status.Status { return status.Convert(e.Err) }

// Send is the clerk's send: sign the PDFs (with the desk's signer, if
// any), prepare the document (envelope checked with the hub's rules and
// signed with the agency key), queue it in the outbox with a copy of its
// files, then forward the outbox. The outbox holds the document before the
// hub is asked, so nothing is lost if the hub is down or the answer never
// comes.
//
// The hub accepting it: the document is in the register of documents
// sent, and Sending.Result holds the receipt. The hub unreachable: the
// document stays queued (Sending.Queued). The hub refusing it: the
// document leaves the outbox, the refusal is recorded with the hub's
// reason (register.RefusedList), and the error is a *RefusedError; the
// clerk hears of it now, and nothing is left waiting.
func (d *Desk) Send(ctx context.Context, doc node.Document, progress node.Progress) (*Sending, error) {
	return d.SendSigned(ctx, doc, d.signer, progress)
}

// SendSigned is Send with the PDFs signed by signer instead of the desk's
// own (nil: none): a signer chosen for this document, e.g. a token whose
// PIN the clerk has just entered.
func (d *Desk) SendSigned(ctx context.Context, doc node.Document, signer PDFSigner, progress node.Progress) (*Sending, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	if signer != nil {
		tmp, err := os.MkdirTemp("", "ltnode-sign-")
		if err != nil {
			return nil, fmt.Errorf("preparing to sign: %w", err)
		}
		// The outbox keeps its own copies: the signed files go once
		// queued.
		defer os.RemoveAll(tmp)
		if doc.Files, err = signFiles(ctx, signer, doc.Files, tmp); err != nil {
			return nil, err
		}
	}
	var o *register.Outgoing
	rep, err := d.queueAndForward(ctx, c, progress, func() (err error) {
		o, err = c.Identity().Queue(d.reg, doc)
		return err
	})
	if err != nil {
		return nil, err
	}
	env, err := o.Decode()
	if err != nil {
		return nil, err
	}
	id := o.MessageID
	out := &Sending{MessageID: id, Envelope: env}
	for _, f := range rep.Forwarded {
		if f.MessageID == id {
			out.Result = f
		} else {
			out.Earlier.Forwarded++
		}
	}
	for _, f := range rep.Refused {
		if f.MessageID == id {
			if _, err := d.reg.Refuse(id, node.Describe(f.Err)); err != nil {
				return nil, fmt.Errorf("recording the hub's refusal of %s: %w", id, err)
			}
			return nil, &RefusedError{MessageID: id, Err: f.Err}
		}
		out.Earlier.Refused = append(out.Earlier.Refused, f)
	}
	if out.Result != nil {
		return out, nil
	}
	queued, sent, err := d.outboxState(id)
	if err != nil {
		return nil, err
	}
	switch {
	case queued != nil && queued.State == register.Failed:
		// Queued earlier under the same id and refused then.
		return nil, lienthong.Errorf(lienthong.KindFailedPrecondition, "trục đã từ chối văn bản %s: %s (document refused earlier)", id, queued.Error)
	case queued != nil:
		out.Queued, out.Unreachable = true, rep.Unreachable
	case sent != nil:
		// Another process (ltnode run, the web app) forwarded it first.
		tr := c.CheckReceipt(decodeReceipt(sent.Accepted))
		if tr.Err != nil {
			return nil, fmt.Errorf("the register's receipt for %s: %w", id, tr.Err)
		}
		out.Result = &node.SendResult{MessageID: id, Receipt: tr.Receipt, Body: tr.Body}
	default:
		return nil, fmt.Errorf("văn bản %s không còn trong hộp thư đi mà cũng không có trong sổ văn bản đi (document vanished from the outbox)", id)
	}
	return out, nil
}

// outboxState finds a document in the outbox or, once forwarded, in the
// register of documents sent.
func (d *Desk) outboxState(id string) (*register.Outgoing, *register.Sent, error) {
	list, err := d.reg.Outbox()
	if err != nil {
		return nil, nil, err
	}
	for _, o := range list {
		if o.MessageID == id {
			return o, nil, nil
		}
	}
	sent, err := d.reg.SentDoc(id)
	if errors.Is(err, register.ErrNotFound) {
		return nil, nil, nil
	}
	return nil, sent, err
}

// decodeReceipt decodes a receipt the register stored; a damaged one
// comes out empty and fails verification.
func decodeReceipt(raw []byte) *lienthongv1.Receipt {
	r := new(lienthongv1.Receipt)
	if proto.Unmarshal(raw, r) != nil {
		return new(lienthongv1.Receipt)
	}
	return r
}

// Forward runs one pass over the outbox (see node.Client.Forward): the
// queued documents go to the hub, oldest first; refused ones stay, failed,
// with the hub's message.
func (d *Desk) Forward(ctx context.Context, progress node.Progress) (*node.ForwardReport, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	return d.forward(ctx, c, progress)
}

// forward runs one pass over the outbox, after any other of this desk's.
func (d *Desk) forward(ctx context.Context, c *node.Client, progress node.Progress) (*node.ForwardReport, error) {
	d.forwarding.Lock()
	defer d.forwarding.Unlock()
	return c.Forward(ctx, d.reg, progress)
}

// queueAndForward runs queue (which puts a document in the outbox), then
// one pass over the outbox, in one turn of this desk's passes: a pass of
// Run's loop in between would send the document and keep the hub's
// answer from the clerk who sent it.
func (d *Desk) queueAndForward(ctx context.Context, c *node.Client, progress node.Progress, queue func() error) (*node.ForwardReport, error) {
	d.forwarding.Lock()
	defer d.forwarding.Unlock()
	if err := queue(); err != nil {
		return nil, err
	}
	return c.Forward(ctx, d.reg, progress)
}

// Retry puts a document the hub refused back in the queue; the next
// Forward sends it again. An empty id retries every failed document.
func (d *Desk) Retry(id string) error {
	if id != "" {
		return d.reg.Requeue(id)
	}
	list, err := d.reg.Outbox()
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.State == register.Failed {
			if err := d.reg.Requeue(o.MessageID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Drop removes a document from the outbox: it will not be sent.
func (d *Desk) Drop(id string) error { return d.reg.Drop(id) }

// ParseUrgency reads an urgency as a clerk types it: normal, urgent,
// very-urgent, flash, or the Vietnamese words.
func ParseUrgency(s string) (lienthongv1.Urgency, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "normal", "thuong", "thường", "":
		return lienthongv1.Urgency_URGENCY_NORMAL, nil
	case "urgent", "khan", "khẩn":
		return lienthongv1.Urgency_URGENCY_URGENT, nil
	case "very-urgent", "thuong-khan", "thượng khẩn":
		return lienthongv1.Urgency_URGENCY_VERY_URGENT, nil
	case "flash", "hoa-toc", "hỏa tốc":
		return lienthongv1.Urgency_URGENCY_FLASH, nil
	}
	return 0, lienthong.Errorf(lienthong.KindInvalid, "độ khẩn %q không hợp lệ: normal, urgent, very-urgent, flash (unknown urgency)", s)
}

// UrgencyName is an urgency's name on the command line and in JSON.
func UrgencyName(u lienthongv1.Urgency) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(u.String(), "URGENCY_")), "_", "-")
}

// UrgencyLabel is an urgency as a clerk reads it.
func UrgencyLabel(u lienthongv1.Urgency) string {
	switch u {
	case lienthongv1.Urgency_URGENCY_NORMAL, lienthongv1.Urgency_URGENCY_UNSPECIFIED:
		return "thường"
	case lienthongv1.Urgency_URGENCY_URGENT:
		return "khẩn"
	case lienthongv1.Urgency_URGENCY_VERY_URGENT:
		return "thượng khẩn"
	case lienthongv1.Urgency_URGENCY_FLASH:
		return "hỏa tốc"
	}
	return UrgencyName(u)
}

// Resend sends a document of the sent register again, unchanged (the same
// message id and signed envelope), with its files, which must be the ones
// sent: for a hub restored from a backup taken before it accepted the
// document. A hub that still has it answers with its original receipt
// (Result.Duplicate).
func (d *Desk) Resend(ctx context.Context, id string, files []string, progress node.Progress) (*Sending, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	rep, err := d.queueAndForward(ctx, c, progress, func() error {
		_, err := d.reg.Resend(id, files)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &Sending{MessageID: id}
	for _, f := range rep.Refused {
		if f.MessageID == id {
			if err := d.reg.Drop(id); err != nil {
				return nil, err
			}
			return nil, &RefusedError{MessageID: id, Err: f.Err}
		}
		out.Earlier.Refused = append(out.Earlier.Refused, f)
	}
	for _, f := range rep.Forwarded {
		if f.MessageID == id {
			out.Result = f
		} else {
			out.Earlier.Forwarded++
		}
	}
	if out.Result == nil {
		out.Queued, out.Unreachable = true, rep.Unreachable
	}
	return out, nil
}
