package webapp

import (
	"context"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Desk is the clerk's work as the pages need it: the node library's use
// cases, which the ltnode commands call too. Nothing here is done by the
// web app itself.
type Desk interface {
	// Self is this node's agency.
	Self() Agency
	// Register is the local books (outbox, registers), for reading.
	Register() *register.Register
	// Agencies lists the province's directory.
	Agencies(ctx context.Context) ([]*lienthongv1.Agency, error)
	// Send queues doc in the outbox and forwards it (see Outcome).
	Send(ctx context.Context, doc node.Document) (*Outcome, error)
	// Report records a processing step of a received document at the hub
	// and in the register.
	Report(ctx context.Context, messageID string, st lienthongv1.Status, reason string) error
	// Forward runs one pass over the outbox.
	Forward(ctx context.Context) error
	// Retry queues a failed outbox document again; Drop removes one.
	Retry(messageID string) error
	Drop(messageID string) error
	// Track asks the hub where a sent document stands.
	Track(ctx context.Context, messageID string) (*node.Tracked, error)
	// Declare records a document that went out on paper or is secret.
	Declare(ctx context.Context, req *lienthongv1.DeclareRequest) (duplicate bool, err error)
}

// Agency is an agency as the pages name it.
type Agency struct {
	Code, Name string
}

// Outcome is what became of a document sent: accepted by the hub (Result),
// or waiting in the outbox because the hub could not be reached (Queued,
// with Unreachable saying why). A refusal is Send's error.
type Outcome struct {
	MessageID   string
	Queued      bool
	Unreachable string
	Result      *node.SendResult
}
