package admin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/exchange"
)

// Auditor records every call to the admin service in the audit log: the
// method, the operator (name and certificate hash), a short summary of
// the request and the answer's code. It also puts the operator into the
// call's context (audit.WithActor), so that the changes the call makes
// are recorded as theirs.
type Auditor struct {
	// Prefix starts the admin service's full method names.
	Prefix string
	// Append records an entry durably (store.AppendAudit).
	Append func(ctx context.Context, e audit.Entry) error
	Logger *slog.Logger
}

// Unary is the unary server interceptor; it runs after authentication.
func (a *Auditor) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, a.Prefix) {
		return handler(ctx, req)
	}
	ctx = audit.WithActor(ctx, operator(ctx))
	resp, err := handler(ctx, req)
	a.record(ctx, info.FullMethod, req, err)
	return resp, err
}

// Stream is the stream server interceptor (server-streaming admin calls
// such as ExportAudit): it records the call when it ends.
func (a *Auditor) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !strings.HasPrefix(info.FullMethod, a.Prefix) {
		return handler(srv, ss)
	}
	ctx := audit.WithActor(ss.Context(), operator(ss.Context()))
	w := &actorStream{ServerStream: ss, ctx: ctx}
	err := handler(srv, w)
	a.record(ctx, info.FullMethod, w.first, err)
	return err
}

type actorStream struct {
	grpc.ServerStream
	ctx   context.Context
	first any
}

func (s *actorStream) Context() context.Context { return s.ctx }

func (s *actorStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.first == nil {
		s.first = m
	}
	return err
}

func operator(ctx context.Context) string {
	if cert, ok := exchange.CallerCertFrom(ctx); ok && cert != nil {
		return audit.OperatorActor(cert)
	}
	return "operator"
}

func (a *Auditor) record(ctx context.Context, method string, req any, err error) {
	name := method[strings.LastIndexByte(method, '/')+1:]
	kind := audit.KindAdmin
	if name == "Report" {
		kind = audit.KindReport
	}
	e := audit.Entry{Kind: kind, Actor: audit.ActorFrom(ctx), Subject: name,
		Detail: fmt.Sprintf("%s -> %s", Summary(req), status.Code(err))}
	// The call's own context may be ending (the client got its answer):
	// the record must still be written.
	if aerr := a.Append(context.WithoutCancel(ctx), e); aerr != nil && a.Logger != nil {
		a.Logger.ErrorContext(ctx, "recording an admin call in the audit log failed", "method", method, "error", aerr.Error())
	}
}

// Summary renders a request in one short line of protobuf text.
func Summary(req any) string {
	m, ok := req.(proto.Message)
	if !ok || m == nil {
		return "{}"
	}
	s := prototext.MarshalOptions{}.Format(m)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return "{" + s + "}"
}
