package exchange

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"

	"google.golang.org/grpc"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/quarantine"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// This file serves front ends other than gRPC that run inside the hub
// (the HTTP gateway for e-office products, hub/gateway): they
// authenticate their own callers, then call the same use cases as the
// gRPC methods with a context from AuthorizeSystem. Refusals are the
// gRPC statuses the methods return, so the rules and messages stay here.

// AuthorizeSystem returns ctx carrying agency as the caller, for a
// front end that has authenticated one of the agency's systems (system
// names it in logs). It is the gRPC check minus the certificate: the
// agency must be in the current directory and active. envelopeSigner is
// the certificate whose key signs the envelopes this front end builds
// (the hub's own: the front end vouches for what its system sent).
func (a *Authenticator) AuthorizeSystem(ctx context.Context, agency, system string, envelopeSigner *x509.Certificate) (context.Context, error) {
	ag, err := a.authorizeAgency(agency)
	if err != nil {
		return nil, toStatus(err)
	}
	return context.WithValue(ctx, callerKey{}, caller{agency: ag, cert: envelopeSigner, system: system}), nil
}

// authorizeAgency is the check of an agency acting through a front end:
// known and active (a suspended agency loses its systems at once, as it
// loses its certificates).
func (a *Authenticator) authorizeAgency(code string) (*lienthongv1.Agency, error) {
	ag, err := a.Directory.Load().Active(code)
	if err != nil {
		return nil, lienthong.Errorf(lienthong.KindPermission, "%s", lienthong.ErrorMessage(err))
	}
	return ag, nil
}

type packageSigKey struct{}

// WithPackageSignature returns ctx carrying the check of the signed
// package a front end's document came in; Send records it, with the
// front end's system, in the document's verification, which recipients
// and Track see.
func WithPackageSignature(ctx context.Context, ps *lienthongv1.PackageSignature) context.Context {
	return context.WithValue(ctx, packageSigKey{}, ps)
}

// recordFrontEnd adds to v what a front end knows of a document: the
// system that sent it and its package's signature.
func recordFrontEnd(ctx context.Context, v *lienthongv1.Verification) {
	v.GatewaySystem = SystemFrom(ctx)
	if ps, ok := ctx.Value(packageSigKey{}).(*lienthongv1.PackageSignature); ok {
		v.PackageSignature = ps
	}
}

// SystemFrom returns the front-end system a request came through, or "".
func SystemFrom(ctx context.Context) string {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c.system
}

// SendFiles runs Send for an in-process front end: ctx comes from
// AuthorizeSystem, signed is the envelope and files[i] the content of
// its i-th file. Every check, limit, verification and the storage are
// Send's; the error is the gRPC status Send returns.
func (s *Service) SendFiles(ctx context.Context, signed *lienthongv1.SignedEnvelope, files []io.Reader) (*lienthongv1.SendResponse, error) {
	st := &localSendStream{ctx: ctx, first: signed, files: files}
	if err := s.Send(st); err != nil {
		return nil, err
	}
	return st.resp, nil
}

// localSendStream feeds Send from readers. Only Recv, SendAndClose and
// Context are called on a Send stream; the embedded nil ServerStream
// stands for the rest.
type localSendStream struct {
	grpc.ServerStream
	ctx   context.Context
	first *lienthongv1.SignedEnvelope
	files []io.Reader
	cur   int
	resp  *lienthongv1.SendResponse
}

var _ lienthongv1.ExchangeService_SendServer = (*localSendStream)(nil)

func (l *localSendStream) Context() context.Context { return l.ctx }

func (l *localSendStream) SendAndClose(r *lienthongv1.SendResponse) error {
	l.resp = r
	return nil
}

func (l *localSendStream) Recv() (*lienthongv1.SendRequest, error) {
	if f := l.first; f != nil {
		l.first = nil
		return &lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Envelope{Envelope: f}}, nil
	}
	for l.cur < len(l.files) {
		// A fresh buffer per chunk: the idle guard reads one message
		// ahead of the one being written.
		buf := make([]byte, ChunkSize)
		n, err := io.ReadFull(l.files[l.cur], buf)
		if n > 0 {
			return &lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Chunk{
				Chunk: &lienthongv1.FileChunk{FileIndex: uint32(l.cur), Data: buf[:n]},
			}}, nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			l.cur++
			continue
		}
		return nil, fmt.Errorf("reading file %d: %w", l.cur, err)
	}
	return nil, io.EOF
}

// ownInbox is the one check of whose inbox a caller reads: its own
// (requested empty means its own).
func ownInbox(caller, requested string) error {
	if requested != "" && requested != caller {
		return lienthong.Errorf(lienthong.KindPermission,
			"cơ quan %s không được đọc hộp thư đến của %s (may read only its own inbox)", caller, clip(requested))
	}
	return nil
}

// Inbox returns the documents waiting for the caller (accepted by the
// hub, not yet acknowledged), oldest first: what Receive would deliver.
// agency, if not empty, names the inbox asked for, which must be the
// caller's, as for Receive.
func (s *Service) Inbox(ctx context.Context, agency string) ([]*store.Document, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	if err := ownInbox(caller.GetCode(), agency); err != nil {
		return nil, s.refuse(ctx, "Inbox", err)
	}
	ids, err := s.cfg.Store.Pending(ctx, caller.GetCode())
	if err != nil {
		return nil, s.refuse(ctx, "Inbox", fmt.Errorf("listing pending deliveries: %w", err))
	}
	docs := make([]*store.Document, 0, len(ids))
	for _, id := range ids {
		doc, err := s.cfg.Store.Document(ctx, id)
		if err != nil {
			return nil, s.refuse(ctx, "Inbox", fmt.Errorf("loading message %s: %w", id, err))
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// Delivery returns a document addressed to the caller, for a front end
// that hands out its files itself (ReadFile).
func (s *Service) Delivery(ctx context.Context, id string) (*store.Document, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	doc, err := s.addressedTo(ctx, id, caller.GetCode(), s.cfg.Store.Document)
	if err != nil {
		return nil, s.refuse(ctx, "Delivery", err)
	}
	return doc, nil
}

// addressedTo loads the document id with load (as findDocument) if code
// is one of its recipients: the one check of "this delivery is yours".
func (s *Service) addressedTo(ctx context.Context, id, code string, load func(context.Context, string) (*store.Document, error)) (*store.Document, error) {
	doc, err := s.findDocument(ctx, id, load)
	if err == nil && !slices.Contains(doc.Recipients, code) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, lienthong.Errorf(lienthong.KindNotFound, "văn bản %s không gửi đến cơ quan %s (no such delivery)", clip(id), code)
	}
	if err != nil {
		return nil, fmt.Errorf("loading message %s: %w", clip(id), err)
	}
	return doc, nil
}

// ReadFile streams file i of doc to fn in pieces of up to len(buf),
// each checked against the file's SHA-256 as it is read (the last piece
// only once the whole file matched). A damaged file quarantines the
// document, as a delivery over gRPC does, and the error says so.
func (s *Service) ReadFile(ctx context.Context, doc *store.Document, i int, buf []byte, fn func([]byte) error) error {
	if i < 0 || i >= len(doc.Files) {
		return fmt.Errorf("message %s has no file %d", doc.MessageID, i)
	}
	err := s.cfg.Store.ReadBlob(doc.Files[i], buf, fn)
	var damage *store.BlobDamage
	if errors.As(err, &damage) && s.cfg.Quarantine != nil {
		reason, qerr := s.cfg.Quarantine.Document(ctx, doc.MessageID, damage, quarantine.FoundByDelivery)
		if qerr != nil {
			return fmt.Errorf("quarantining %s (file %d damaged: %v): %w", doc.MessageID, i, err, qerr)
		}
		return lienthong.Errorf(lienthong.KindFailedPrecondition, "%s", reason)
	}
	return err
}

// Notices returns the caller's unacknowledged status notifications
// (receipts of its recipients' steps), oldest first; Ack with the
// receipt id acknowledges one.
func (s *Service) Notices(ctx context.Context) ([]store.Notice, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	n, err := s.cfg.Store.Notices(ctx, caller.GetCode())
	if err != nil {
		return nil, s.refuse(ctx, "Notices", fmt.Errorf("listing notifications: %w", err))
	}
	return n, nil
}
