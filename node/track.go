package node

import (
	"context"
	"crypto/x509"
	"fmt"

	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// TrackedReceipt is a receipt with the outcome of checking its signature.
type TrackedReceipt struct {
	Receipt *lienthongv1.Receipt
	// Body is the decoded content; set even when the signature fails, if
	// the bytes decode.
	Body *lienthongv1.ReceiptBody
	// Err is nil when the hub's signature verifies against the province root.
	Err error
}

// Tracked is where a message stands.
type Tracked struct {
	Envelope     *lienthongv1.Envelope
	Receipts     []TrackedReceipt
	Recipients   []*lienthongv1.RecipientStatus
	Verification *lienthongv1.Verification
}

// Track fetches a message's receipts and per-recipient status, and checks
// every receipt's signature.
func (c *Client) Track(ctx context.Context, messageID string) (*Tracked, error) {
	resp, err := c.api.Track(ctx, &lienthongv1.TrackRequest{MessageId: messageID})
	if err != nil {
		return nil, err
	}
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(resp.GetEnvelope().GetEnvelope(), env); err != nil {
		return nil, fmt.Errorf("hub sent a malformed envelope for %s: %w", messageID, err)
	}
	t := &Tracked{Envelope: env, Recipients: resp.GetRecipients(), Verification: resp.GetVerification()}
	for _, r := range resp.GetReceipts() {
		t.Receipts = append(t.Receipts, c.CheckReceipt(r))
	}
	return t, nil
}

// CheckReceipt verifies one receipt, keeping its body readable even when
// the signature fails.
func CheckReceipt(r *lienthongv1.Receipt, roots *x509.CertPool) TrackedReceipt {
	tr := TrackedReceipt{Receipt: r}
	tr.Body, tr.Err = receipt.Verify(r, roots)
	return readable(tr)
}

// CheckReceipt is the function CheckReceipt against the client's roots,
// with the hub certificate chains the client has built already.
func (c *Client) CheckReceipt(r *lienthongv1.Receipt) TrackedReceipt {
	tr := TrackedReceipt{Receipt: r}
	tr.Body, tr.Err = c.receipts.Verify(r, c.id.Roots)
	return readable(tr)
}

// readable fills in the body of a receipt whose signature failed, if its
// bytes decode.
func readable(tr TrackedReceipt) TrackedReceipt {
	if tr.Err != nil {
		body := new(lienthongv1.ReceiptBody)
		if proto.Unmarshal(tr.Receipt.GetBody(), body) == nil {
			tr.Body = body
		}
	}
	return tr
}
