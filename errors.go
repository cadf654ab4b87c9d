package lienthong

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the people and programs that handle it. The
// service edge maps each kind to one gRPC code. Do not reorder.
type Kind int

// Error kinds.
const (
	KindInternal           Kind = iota // a fault of the hub itself
	KindInvalid                        // malformed or inconsistent input
	KindNotFound                       // no such message, agency or delivery
	KindPermission                     // the caller may not do this
	KindUnauthenticated                // the caller has no valid identity
	KindFailedPrecondition             // refused by policy or state (secret document, suspended agency)
	KindAlreadyExists                  // a message id reused with other content
	KindTooLarge                       // over a configured limit
	KindUnavailable                    // shutting down or a dependency is down
	KindDeadline                       // the caller stalled past a configured deadline
	KindDiskFull                       // the hub's disk is full: nothing was stored, the same request may succeed later
	KindBusy                           // over a limit on concurrent work (streams, uploads in flight): the same request may succeed shortly
)

// Error is a domain error: a kind and a message a clerk can act on
// (Vietnamese first where a clerk reads it), wrapping an optional cause.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind with err as its cause.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorKind returns the kind of the first *Error in err's chain, or
// KindInternal when there is none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage returns the clerk-readable message of the first *Error in
// err's chain, or a generic one that hides internal details.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "lỗi nội bộ của trục (internal error)"
}
