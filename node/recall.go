package node

import (
	"context"
	"fmt"

	"github.com/lienthong/lienthong/envelope"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// RequestRecall asks recipient, through the hub, to give back a document
// this agency sent and the recipient already fetched (edXML status 13).
// The recipient answers with RECALL_AGREED or RECALL_REFUSED through
// ReportStatus; the answer comes back as a notification. It returns the
// hub's receipt, verified against the province root and the request.
func (c *Client) RequestRecall(ctx context.Context, messageID, recipient, reason string) (*Verified, error) {
	if err := envelope.StatusText(reason); err != nil {
		return nil, err
	}
	resp, err := c.api.ReportStatus(ctx, &lienthongv1.ReportStatusRequest{
		MessageId: messageID, Status: lienthongv1.Status_STATUS_RECALL_REQUESTED, Reason: reason, Recipient: recipient,
	})
	if err != nil {
		return nil, err
	}
	body, err := c.receipts.Verify(resp.GetReceipt(), c.id.Roots)
	if err != nil {
		return nil, fmt.Errorf("recall receipt for %s: %w", messageID, err)
	}
	if !sameID(body.GetMessageId(), messageID) || body.GetStatus() != lienthongv1.Status_STATUS_RECALL_REQUESTED ||
		body.GetAgency() != recipient || body.GetSender() != c.id.Code {
		return nil, fmt.Errorf("recall receipt for %s says %s of %s at %s from %s (%w)", messageID,
			body.GetStatus().Name(), body.GetMessageId(), body.GetAgency(), body.GetSender(), receipt.ErrInvalid)
	}
	return &Verified{Receipt: resp.GetReceipt(), Body: body}, nil
}
