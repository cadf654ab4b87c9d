package node

import (
	"context"
	"fmt"

	"github.com/lienthong/lienthong/envelope"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// Verified is a hub receipt whose signature has been verified against the
// province root, with its body: the caller has no need to check it again.
type Verified struct {
	Receipt *lienthongv1.Receipt
	Body    *lienthongv1.ReceiptBody
}

// ReportStatus tells the hub this agency's processing step of a document
// it received: received, rejected (reason required), assigned, in progress
// or done. The hub checks the transition, notifies the sender, and returns
// its signed receipt, which ReportStatus verifies against the province
// root and the request.
func (c *Client) ReportStatus(ctx context.Context, messageID string, status lienthongv1.Status, reason string) (*Verified, error) {
	if err := envelope.StatusText(reason); err != nil {
		return nil, err
	}
	return c.reportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: messageID, Status: status, Reason: reason})
}

// reportStatus sends req and verifies the hub's receipt against it.
func (c *Client) reportStatus(ctx context.Context, req *lienthongv1.ReportStatusRequest) (*Verified, error) {
	messageID, status := req.GetMessageId(), req.GetStatus()
	resp, err := c.api.ReportStatus(ctx, req)
	if err != nil {
		return nil, err
	}
	body, err := c.receipts.Verify(resp.GetReceipt(), c.id.Roots)
	if err != nil {
		return nil, fmt.Errorf("status receipt for %s: %w", messageID, err)
	}
	// The hub finds a document by any spelling of its UUID and answers
	// with the document's own.
	if !sameID(body.GetMessageId(), messageID) || body.GetStatus() != status || body.GetAgency() != c.id.Code {
		return nil, fmt.Errorf("status receipt for %s says %s of %s by %s (%w)", messageID,
			body.GetStatus().Name(), body.GetMessageId(), body.GetAgency(), receipt.ErrInvalid)
	}
	return &Verified{Receipt: resp.GetReceipt(), Body: body}, nil
}

// sameID reports whether two message ids name the same document.
func sameID(a, b string) bool {
	if a == b {
		return true
	}
	ca, ok1 := envelope.Canonical(a)
	cb, ok2 := envelope.Canonical(b)
	return ok1 && ok2 && ca == cb
}
