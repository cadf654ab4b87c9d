// Package rpcerr turns domain errors (lienthong error kinds) into gRPC
// statuses: the one mapping every service edge of the hub uses.
package rpcerr

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	return status.Error(codeOf(lienthong.ErrorKind(err)), lienthong.ErrorMessage(err))
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
	case lienthong.KindTooLarge:
		return codes.ResourceExhausted
	case lienthong.KindUnavailable:
		return codes.Unavailable
	case lienthong.KindDeadline:
		return codes.DeadlineExceeded
	default:
		return codes.Internal
	}
}
