package exchange

import (
	"time"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Observer is told what the service does, for the hub's metrics
// (hub/metrics). Its methods are called on the request's goroutine and
// must not block.
type Observer interface {
	// Accepted: a Send succeeded; duplicate when it was a re-send of a
	// document already stored, v the document's verification.
	Accepted(duplicate bool, v *lienthongv1.Verification)
	// Refused: a call of op (Send, Receive, Ack, ...) ended with an error
	// of kind, or because its client went away.
	Refused(op string, kind lienthong.Kind, clientGone bool)
	// Verified: checking a document's signatures took d; err is policy's
	// refusal, or nil.
	Verified(d time.Duration, v *lienthongv1.Verification, err error)
	// Delivered: a document was streamed whole to a recipient (not one
	// aborted because a stored file was damaged).
	Delivered()
	// Acknowledged: a recipient acknowledged a delivery.
	Acknowledged()
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Accepted(bool, *lienthongv1.Verification)                 {}
func (nopObserver) Refused(string, lienthong.Kind, bool)                     {}
func (nopObserver) Verified(time.Duration, *lienthongv1.Verification, error) {}
func (nopObserver) Delivered()                                               {}
func (nopObserver) Acknowledged()                                            {}
