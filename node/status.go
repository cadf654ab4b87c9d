package node

import (
	"context"
	"fmt"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// ReportStatus tells the hub this agency's processing step of a document
// it received: received, rejected (reason required), assigned, in progress
// or done. The hub checks the transition, notifies the sender, and returns
// its signed receipt, which ReportStatus verifies against the province
// root and the request.
func (c *Client) ReportStatus(ctx context.Context, messageID string, status lienthongv1.Status, reason string) (*lienthongv1.Receipt, error) {
	return c.reportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: messageID, Status: status, Reason: reason})
}

// reportStatus sends req and verifies the hub's receipt against it.
func (c *Client) reportStatus(ctx context.Context, req *lienthongv1.ReportStatusRequest) (*lienthongv1.Receipt, error) {
	messageID, status := req.GetMessageId(), req.GetStatus()
	resp, err := c.api.ReportStatus(ctx, req)
	if err != nil {
		return nil, err
	}
	body, err := c.receipts.verify(resp.GetReceipt(), c.id.Roots)
	if err != nil {
		return nil, fmt.Errorf("status receipt for %s: %w", messageID, err)
	}
	if body.GetMessageId() != messageID || body.GetStatus() != status || body.GetAgency() != c.id.Code {
		return nil, fmt.Errorf("status receipt for %s says %s of %s by %s (%w)", messageID,
			body.GetStatus().Name(), body.GetMessageId(), body.GetAgency(), receipt.ErrInvalid)
	}
	return resp.GetReceipt(), nil
}
