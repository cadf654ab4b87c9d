package exchange

import (
	"context"
	"fmt"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub/audit"
)

// noteRefusal records a refused request in the audit log: who, which
// call, about which message, and the answer (code and message). It does
// not wait for the disk (see store.Note).
func (s *Service) noteRefusal(ctx context.Context, op string, err error, attrs []any) {
	if s.cfg.Store == nil { // a service wired without a store (unit tests of its checks)
		return
	}
	e := audit.Entry{Kind: audit.KindRefused, Actor: "unknown"}
	if c, ok := CallerFrom(ctx); ok && c.GetCode() != "" {
		e.Actor = c.GetCode()
	} else if cert, ok := CallerCertFrom(ctx); ok {
		e.Actor = "certificate " + cert.Subject.CommonName
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i] == "message_id" {
			e.Subject = fmt.Sprint(attrs[i+1])
		}
	}
	st := status.Convert(err)
	e.Detail = fmt.Sprintf("%s: %s: %s", op, st.Code(), st.Message())
	s.cfg.Store.Note(e)
}

// NoteAuthRefusal returns an Authenticator.Refused that records a call
// refused for its certificate with note (store.Note): who (the
// certificate's name, or the peer's address when it had none), which
// method, and the answer.
func NoteAuthRefusal(note func(audit.Entry)) func(ctx context.Context, method string, err error) {
	return func(ctx context.Context, method string, err error) {
		e := audit.Entry{Kind: audit.KindRefused, Actor: "unknown", Subject: method}
		if p, ok := peer.FromContext(ctx); ok {
			e.Actor = "peer " + p.Addr.String()
			if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
				e.Actor = "certificate " + ti.State.PeerCertificates[0].Subject.CommonName
			}
		}
		st := status.Convert(err)
		e.Detail = fmt.Sprintf("%s: %s", st.Code(), st.Message())
		note(e)
	}
}
