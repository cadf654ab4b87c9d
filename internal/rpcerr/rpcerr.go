// Package rpcerr turns domain errors (lienthong error kinds) into gRPC
// statuses: the one mapping every service edge of the hub uses.
package rpcerr

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/lienthong/lienthong"
)

// Status is the one place where domain error kinds become gRPC codes. An
// error without a kind is Internal and its text is not shown.
func Status(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "request cancelled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "request deadline exceeded")
	}
	kind := lienthong.ErrorKind(err)
	st := status.New(codeOf(kind), lienthong.ErrorMessage(err))
	// ResourceExhausted alone also means "over a limit", which no retry
	// cures (a file too large): the details tell a client that these pass.
	retry := func(reason string, after time.Duration) {
		if d, derr := st.WithDetails(
			&errdetails.ErrorInfo{Reason: reason, Domain: Domain},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(after)},
		); derr == nil {
			st = d
		}
	}
	switch kind {
	case lienthong.KindDiskFull:
		retry(ReasonDiskFull, DiskFullRetry)
	case lienthong.KindBusy:
		retry(ReasonBusy, BusyRetry)
	}
	return st.Err()
}

// Domain is the ErrorInfo domain of the hub's status details.
const Domain = "lienthong.gov.vn"

// ReasonDiskFull is the ErrorInfo reason of a refusal because the hub's
// disk is full.
const ReasonDiskFull = "HUB_DISK_FULL"

// ReasonBusy is the ErrorInfo reason of a refusal over a limit on
// concurrent work (an agency's streams, the uploads in flight).
const ReasonBusy = "HUB_BUSY"

// BusyRetry is the delay a busy refusal suggests: streams end in seconds.
const BusyRetry = 5 * time.Second

// DiskFullRetry is the delay a disk-full refusal suggests before a retry:
// freeing disk takes an operator.
const DiskFullRetry = time.Minute

// Retryable reports whether a status carries RetryInfo: the hub refused
// for a reason of its own (its disk is full, it is busy) and the same request may
// succeed later.
func Retryable(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

func codeOf(k lienthong.Kind) codes.Code {
	switch k {
	case lienthong.KindInvalid:
		return codes.InvalidArgument
	case lienthong.KindNotFound:
		return codes.NotFound
	case lienthong.KindPermission:
		return codes.PermissionDenied
	case lienthong.KindUnauthenticated:
		return codes.Unauthenticated
	case lienthong.KindFailedPrecondition:
		return codes.FailedPrecondition
	case lienthong.KindAlreadyExists:
		return codes.AlreadyExists
	case lienthong.KindTooLarge, lienthong.KindDiskFull, lienthong.KindBusy:
		return codes.ResourceExhausted
	case lienthong.KindUnavailable:
		return codes.Unavailable
	case lienthong.KindDeadline:
		return codes.DeadlineExceeded
	default:
		return codes.Internal
	}
}
