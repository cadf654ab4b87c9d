package node

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/internal/rpcerr"
	"github.com/lienthong/lienthong/node/register"
)

// ForwardReport is the outcome of one pass over the outbox.
type ForwardReport struct {
	// Forwarded are the documents the hub accepted in this pass; they are
	// now in the register of documents sent.
	Forwarded []*SendResult
	// Refused are the documents the hub refused in this pass; they stay
	// in the outbox, failed, with the hub's message.
	Refused []Refusal
	// Queued counts the documents still waiting for the hub.
	Queued int
	// Unreachable is why the pass stopped before the end of the queue
	// (the hub is down, did not answer in time, or asked to be tried
	// again later because its disk is full), or nil.
	Unreachable error
}

// Refusal is a document the hub refused.
type Refusal struct {
	MessageID string
	Err       error
}

// Forward uploads the queued documents of reg, oldest first, each with the
// exact signed envelope and the outbox copies of its files. A document the
// hub accepts moves to the register of documents sent; one it refuses is
// marked failed and the pass goes on; when the hub is unreachable, or
// answers that the same upload may pass later (a status with RetryInfo:
// its disk is full), the pass stops and the rest stay queued. The error
// is for the register and for a hub whose TLS certificate does not verify
// (a *HubCertificateError: a configuration error that waiting will not
// fix, so the pass stops loudly and the documents stay queued); the hub's
// answers are in the report.
func (c *Client) Forward(ctx context.Context, reg *register.Register, progress Progress) (*ForwardReport, error) {
	list, err := reg.Outbox()
	if err != nil {
		return nil, err
	}
	rep := &ForwardReport{}
	for _, o := range list {
		if o.State != register.Queued {
			continue
		}
		if rep.Unreachable != nil {
			rep.Queued++
			continue
		}
		env, err := o.Decode()
		if err == nil {
			var res *SendResult
			res, err = c.Upload(ctx, &Prepared{Envelope: env, Signed: o.Signed(), Paths: o.Files}, progress)
			if err == nil {
				if _, err := reg.Forwarded(o, res.Receipt, res.Body); err != nil {
					return rep, err
				}
				rep.Forwarded = append(rep.Forwarded, res)
				continue
			}
		}
		if herr := hubCertificate(err); herr != nil {
			return rep, herr
		}
		if Unreachable(err) || rpcerr.Retryable(err) || ctx.Err() != nil {
			rep.Unreachable = err
			rep.Queued++
			if err := reg.Attempted(o.MessageID, Describe(err)); err != nil {
				return rep, err
			}
			continue
		}
		rep.Refused = append(rep.Refused, Refusal{MessageID: o.MessageID, Err: err})
		if err := reg.Fail(o.MessageID, Describe(err)); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// HubCertificateError is a hub whose TLS certificate the node could not
// verify: it does not carry the name the node called it by, was not
// issued by the CA in the node's ca.pem, or has expired. It is a
// configuration error, not an outage: documents wait until it is fixed.
type HubCertificateError struct {
	// Detail is what TLS said.
	Detail string
}

func (e *HubCertificateError) Error() string { return rpcerr.HubCertificateMessage(e.Detail) }

// hubCertificate returns a *HubCertificateError when err is the TLS
// handshake failing to verify the hub's certificate, else nil.
func hubCertificate(err error) *HubCertificateError {
	var he *HubCertificateError
	if errors.As(err, &he) {
		return he
	}
	if detail, ok := rpcerr.CertificateNotVerified(err); ok {
		return &HubCertificateError{Detail: detail}
	}
	return nil
}

// Unreachable reports whether err means the hub could not be reached or
// did not answer in time (the document may be sent again later), rather
// than an answer from the hub.
func Unreachable(err error) bool {
	if err == nil || hubCertificate(err) != nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

// Describe is err in one line: the hub's message and its gRPC code when
// it came from the hub.
func Describe(err error) string {
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s [%s]", st.Message(), st.Code())
	}
	return err.Error()
}
