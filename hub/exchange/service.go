// Package exchange is the hub's gRPC edge: the Exchange service that
// agencies' nodes call. It authenticates the caller from its client
// certificate, checks every envelope and file as it streams in, stores
// through hub/store, issues signed receipts, and maps domain errors to gRPC
// status codes in one place (status.go).
package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/quarantine"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// Storage is what the service needs of the hub's store.
type Storage interface {
	NewBlob() (*store.BlobWriter, error)
	OpenBlob(ref store.BlobRef) (*os.File, error)
	ReadBlob(ref store.BlobRef, buf []byte, fn func([]byte) error) error
	DiscardBlobs(refs []store.BlobRef)
	Accept(ctx context.Context, doc *store.Document) (*store.Document, bool, error)
	Document(ctx context.Context, messageID string) (*store.Document, error)
	// Summary is Document without the envelope, accepted receipt and
	// verification: enough to check who may act on a document.
	Summary(ctx context.Context, messageID string) (*store.Document, error)
	Pending(ctx context.Context, recipient string) ([]string, error)
	PendingAfter(ctx context.Context, recipient string, after uint64) ([]store.Queued, error)
	Ack(ctx context.Context, recipient, messageID string, delivered *lienthongv1.Receipt) (*lienthongv1.Receipt, error)
	Receipts(ctx context.Context, messageID, agency string) ([]*lienthongv1.Receipt, error)
	Statuses(ctx context.Context, messageID string) ([]*lienthongv1.RecipientStatus, error)
	Subscribe(recipient string) (<-chan struct{}, func())
	Links(ctx context.Context, messageID string) ([]string, error)
	Transition(ctx context.Context, messageID, recipient, sender string, rcpt *lienthongv1.Receipt, check store.TransitionCheck) error
	Notices(ctx context.Context, agency string) ([]store.Notice, error)
	NoticesAfter(ctx context.Context, agency string, after uint64) ([]store.Notice, error)
	AckNotice(ctx context.Context, agency, receiptID string) error
	Declare(ctx context.Context, decl *compliance.Declaration) (duplicate bool, err error)
	// Note records an audit entry for an event that changes nothing
	// stored (a refusal, a delivery), with the next commit.
	Note(e audit.Entry)
}

// DocumentVerifier checks a document's signatures once its files are
// written, before they are made durable (open reads them from their
// temporary files), so a refused document costs no flush. It returns the summary that travels with the document, or an
// error (with a lienthong kind) when policy refuses the document.
type DocumentVerifier interface {
	VerifyDocument(ctx context.Context, env *lienthongv1.Envelope, files []store.BlobRef, open func(store.BlobRef) (*os.File, error)) (*lienthongv1.Verification, error)
}

// Limits bound what one document may carry.
type Limits struct {
	MaxFiles        int
	MaxFileSize     int64
	MaxDocumentSize int64
}

// DefaultLimits allow documents of up to 20 files, 512 MiB each, 1 GiB in
// all: the hub streams, so large limits cost disk, not memory.
func DefaultLimits() Limits {
	return Limits{MaxFiles: 20, MaxFileSize: 512 << 20, MaxDocumentSize: 1 << 30}
}

// ChunkSize is the size of the file chunks the hub streams to recipients.
// gRPC takes the buffer a message is marshalled into (and, at the
// recipient, the one it is reassembled in) from size classes of 256 B,
// 4, 16 and 32 KiB and 1 MiB (google.golang.org/grpc/mem): a bigger chunk
// would hold a 1 MiB buffer per queued message. A chunk and its protobuf
// framing (under 64 bytes) fit in 32 KiB.
const ChunkSize = 32<<10 - 64

// StreamWindow and ConnWindow are the HTTP/2 flow-control windows the hub
// grants (per upload stream, per connection). With gRPC's default of
// 64 KiB, growing only as its bandwidth probes see fit, a 200 KB document
// waited for several window updates, each a round trip through two busy
// goroutines: half of a Send's time under load. 256 KiB takes a typical
// document in one go; it is also the most a stream buffers unread, so
// memory stays bounded by streams, not by attachment size.
const (
	StreamWindow = 256 << 10
	ConnWindow   = 1 << 20
)

// Quarantiner takes a document with a damaged stored file out of delivery
// (hub/quarantine) and returns the reason its recipients read.
type Quarantiner interface {
	Document(ctx context.Context, messageID string, damage *store.BlobDamage, foundBy string) (reason string, err error)
}

// Config wires a Service.
type Config struct {
	Store     Storage
	Directory *atomic.Pointer[directory.Directory]
	Receipts  *receipt.Issuer
	Limits    Limits
	// Verifier checks PDF signatures; nil records the documents as not
	// checked.
	Verifier DocumentVerifier
	Logger   *slog.Logger

	// Quarantine is called when a stored file of a document being
	// delivered turns out damaged: it takes the document out of delivery.
	// With nil, the Receive stream ends with an error instead.
	Quarantine Quarantiner

	// Stopping is closed when the hub begins a graceful shutdown; waiting
	// Receive streams then end so in-flight sends can finish.
	Stopping <-chan struct{}
	// Now is the clock for declarations and for checking the dates of
	// documents sent; nil means time.Now.
	Now func() time.Time
	// Overload holds the per-agency stream caps, the upload idle
	// deadline and budget, and the Receive re-check interval (zero
	// fields: limit.Defaults).
	Overload limit.Config
	// Authenticator re-checks the callers of long Receive streams; nil
	// checks them only when the stream opens.
	Authenticator *Authenticator
	// Observer is told of acceptances, refusals, verifications and
	// deliveries (the hub's metrics); nil tells nobody.
	Observer Observer
}

// Service implements lienthongv1.ExchangeServiceServer.
type Service struct {
	lienthongv1.UnimplementedExchangeServiceServer
	cfg   Config
	log   *slog.Logger
	guard *guard
}

var _ lienthongv1.ExchangeServiceServer = (*Service)(nil)

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Service{cfg: cfg, log: cfg.Logger, guard: newGuard(cfg.Overload, cfg.Authenticator)}
}

// Register adds the service to a gRPC server.
func (s *Service) Register(g *grpc.Server) { lienthongv1.RegisterExchangeServiceServer(g, s) }

func (s *Service) dir() *directory.Directory { return s.cfg.Directory.Load() }

// refuse logs a refusal and converts err to a gRPC status.
func (s *Service) refuse(ctx context.Context, op string, err error, attrs ...any) error {
	caller, _ := CallerFrom(ctx)
	attrs = append(attrs, "op", op, "agency", caller.GetCode(), "error", err.Error())
	if sys := SystemFrom(ctx); sys != "" {
		attrs = append(attrs, "gateway_system", sys)
	}
	gone := clientGone(ctx, err)
	s.cfg.Observer.Refused(op, lienthong.ErrorKind(err), gone)
	switch {
	case gone:
		s.log.InfoContext(ctx, "request ended by the client", attrs...)
	case lienthong.ErrorKind(err) == lienthong.KindDiskFull:
		s.log.ErrorContext(ctx, "hub disk full: free space on the data directory's disk; senders keep their documents queued", attrs...)
	case lienthong.ErrorKind(err) == lienthong.KindInternal:
		s.log.ErrorContext(ctx, "request failed", attrs...)
	default:
		s.log.WarnContext(ctx, "request refused", attrs...)
	}
	st := toStatus(err)
	if !gone {
		s.noteRefusal(ctx, op, st, attrs)
	}
	return st
}

// clientGone reports whether a request failed because its client went
// away (cancelled, past its deadline, disconnected): no fault of the hub's,
// and nothing for the operator to look at.
func clientGone(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// Send implements the client-streaming upload.
func (s *Service) Send(stream lienthongv1.ExchangeService_SendServer) error {
	ctx := stream.Context()
	stream, done, err := s.guardSend(stream)
	if err != nil {
		return s.refuse(ctx, "Send", err)
	}
	defer done()
	resp, msgID, err := s.send(ctx, stream)
	if err != nil {
		return s.refuse(ctx, "Send", err, "message_id", msgID)
	}
	s.cfg.Observer.Accepted(resp.GetDuplicate(), resp.GetVerification())
	return stream.SendAndClose(resp)
}

// send is the hub's intake of one document. Each piece of work is done
// once, where the data enters, and its result passed on:
//   - the envelope is decoded and hashed once (envelope.Decode, in
//     checkEnvelope) and checked against the caller, the rules and the
//     hub's limits;
//   - a re-send of a stored document is answered before any file is read
//     (the store's Accept checks again, inside its transaction, for two
//     sends of one message racing);
//   - the files stream into temporary blob files, each hashed as it is
//     written and checked against its declaration (receiveFiles);
//   - the signatures are checked from those temporary files, and only a
//     document that passes has its files made durable (accept): a refused
//     one costs no flush;
//   - the store gets the decoded envelope, its hash and the accepted
//     receipt's body as encoded here, and decodes none of them again.
//
// It returns the message id (once known) for the refusal's log.
func (s *Service) send(ctx context.Context, stream lienthongv1.ExchangeService_SendServer) (*lienthongv1.SendResponse, string, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, "", lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated")
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil, "", lienthong.Errorf(lienthong.KindInvalid, "yêu cầu gửi không có phong bì văn bản (no envelope sent)")
	}
	if err != nil {
		return nil, "", recvError(err, "reading the envelope")
	}
	signed := first.GetEnvelope()
	if signed == nil {
		return nil, "", lienthong.Errorf(lienthong.KindInvalid, "tin nhắn đầu tiên phải là phong bì văn bản (first message must be the envelope)")
	}
	dec, original, err := s.checkEnvelope(ctx, caller, signed)
	if err != nil {
		return nil, messageID(dec), err
	}
	env, sum := dec.Envelope(), dec.SHA256()

	// A re-send of an accepted message answers at once, without the
	// files (store.Document.Resent, the rule Accept applies again in its
	// transaction for two sends of one message racing).
	if prev, err := s.cfg.Store.Document(ctx, env.GetMessageId()); err == nil {
		if prev.Resent(sum) != nil {
			return nil, env.GetMessageId(), conflict(env.GetMessageId())
		}
		return &lienthongv1.SendResponse{Receipt: prev.Accepted, Duplicate: true, Verification: prev.Verification}, env.GetMessageId(), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, env.GetMessageId(), fmt.Errorf("looking up message %s: %w", env.GetMessageId(), err)
	}

	recipients, link, err := s.route(caller.GetCode(), env, original)
	if err != nil {
		return nil, env.GetMessageId(), err
	}

	release, err := s.reserveUpload(env)
	if err != nil {
		return nil, env.GetMessageId(), err
	}
	defer release()
	up, err := s.receiveFiles(stream, env)
	if err != nil {
		return nil, env.GetMessageId(), err
	}
	doc, err := s.accept(ctx, caller.GetCode(), dec, recipients, up, link)
	if err != nil {
		return nil, env.GetMessageId(), err
	}
	s.log.InfoContext(ctx, "document accepted", "message_id", env.GetMessageId(), "sender", caller.GetCode(),
		"recipients", len(recipients), "files", len(doc.Files), "verdict", doc.Verification.GetVerdict())
	return &lienthongv1.SendResponse{Receipt: doc.Accepted, Duplicate: doc.duplicate, Verification: doc.Verification}, env.GetMessageId(), nil
}

// messageID is the message id of a decoded envelope, "" if it could not
// be decoded: what a refusal is logged with.
func messageID(dec *envelope.Decoded) string {
	if dec == nil {
		return ""
	}
	return dec.Envelope().GetMessageId()
}

type acceptedDoc struct {
	*store.Document
	duplicate bool
}

// accept verifies the uploaded files from their temporary files, makes
// them durable, issues the accepted receipt and commits. A document the
// verifier refuses costs no flush: its files are dropped unwritten. The
// store gets the envelope and the receipt body as they were decoded and
// encoded here, and decodes neither again. The files are released on
// every path that does not store them.
func (s *Service) accept(ctx context.Context, sender string, dec *envelope.Decoded, recipients []string,
	up *upload, link *store.Link) (acceptedDoc, error) {
	env, sum := dec.Envelope(), dec.SHA256()
	verification := &lienthongv1.Verification{EnvelopeSignatureValid: true}
	if s.cfg.Verifier != nil {
		start := time.Now()
		v, err := s.cfg.Verifier.VerifyDocument(ctx, env, up.refs, up.open)
		s.cfg.Observer.Verified(time.Since(start), v, err)
		if err != nil {
			up.abort()
			return acceptedDoc{}, err
		}
		v.EnvelopeSignatureValid = true
		verification = v
	}
	recordFrontEnd(ctx, verification)
	refs, err := up.commit(ctx, s.cfg.Store)
	if err != nil {
		return acceptedDoc{}, err
	}
	body := &lienthongv1.ReceiptBody{
		MessageId: env.GetMessageId(), Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: recipients, EnvelopeSha256: sum[:], Sender: sender,
	}
	rcpt, err := s.cfg.Receipts.Issue(body)
	if err != nil {
		s.cfg.Store.DiscardBlobs(refs)
		return acceptedDoc{}, err
	}
	stored, dup, err := s.cfg.Store.Accept(ctx, &store.Document{
		MessageID: env.GetMessageId(), Sender: sender, Decoded: dec,
		Recipients: recipients, Files: refs, Accepted: rcpt, AcceptedBody: body, Verification: verification, Link: link,
	})
	if errors.Is(err, store.ErrConflict) {
		return acceptedDoc{}, conflict(env.GetMessageId())
	}
	if err != nil {
		return acceptedDoc{}, fmt.Errorf("storing message %s: %w", env.GetMessageId(), err)
	}
	return acceptedDoc{Document: stored, duplicate: dup}, nil
}

func conflict(id string) error {
	return lienthong.Errorf(lienthong.KindAlreadyExists,
		"mã văn bản %s đã được dùng cho một văn bản khác; gửi lại phải giữ nguyên nội dung, văn bản mới phải có mã mới (message id reused with different content)", id)
}

// upload is a document's files written to temporary blob files, each
// checked against the envelope's size and SHA-256, not yet durable.
type upload struct {
	files   []*lienthongv1.FileInfo
	writers []*store.BlobWriter
	refs    []store.BlobRef // refs[i] is what writers[i] holds
}

// open opens the written file ref for reading: the verifier reads the
// files before they are made durable.
func (u *upload) open(ref store.BlobRef) (*os.File, error) {
	for i, r := range u.refs {
		if r == ref {
			return u.writers[i].OpenWritten()
		}
	}
	return nil, fmt.Errorf("opening file %s: %w", ref, store.ErrNotFound)
}

// abort removes the temporary files.
func (u *upload) abort() {
	for _, w := range u.writers {
		w.Abort()
	}
}

// commit makes the files durable (store.BlobWriter.Commit) and returns
// their references, in envelope order. On error nothing it wrote remains.
func (u *upload) commit(ctx context.Context, st Storage) ([]store.BlobRef, error) {
	refs := make([]store.BlobRef, 0, len(u.writers))
	for i, w := range u.writers {
		ref, err := w.Commit(ctx)
		if err != nil {
			for _, rest := range u.writers[i+1:] {
				rest.Abort()
			}
			st.DiscardBlobs(refs)
			return nil, fmt.Errorf("storing file %q: %w", u.files[i].GetName(), err)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// receiveFiles streams the files into temporary blob files, checking
// each against its declared size and SHA-256. On error nothing it wrote
// remains.
func (s *Service) receiveFiles(stream lienthongv1.ExchangeService_SendServer, env *lienthongv1.Envelope) (_ *upload, err error) {
	files := env.GetFiles()
	up := &upload{files: files}
	var w *store.BlobWriter
	defer func() {
		if err != nil {
			if w != nil {
				w.Abort()
			}
			up.abort()
		}
	}()
	// finish closes file i: size and hash must match the declaration.
	finish := func(i int) error {
		f := files[i]
		if w.Size() != f.GetSize() {
			return lienthong.Errorf(lienthong.KindInvalid, "tệp %q: nhận được %d byte, phong bì khai %d byte (size mismatch)", f.GetName(), w.Size(), f.GetSize())
		}
		sum := w.Sum()
		if string(sum[:]) != string(f.GetSha256()) {
			return lienthong.Errorf(lienthong.KindInvalid, "tệp %q: mã băm SHA-256 không khớp với phong bì, tệp đã bị thay đổi hoặc hỏng khi truyền (hash mismatch)", f.GetName())
		}
		up.writers = append(up.writers, w)
		up.refs = append(up.refs, store.BlobRef{SHA256: sum, Size: w.Size()})
		w = nil
		return nil
	}
	cur := 0
	if w, err = s.cfg.Store.NewBlob(); err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, recvError(err, "receiving files")
		}
		ch := msg.GetChunk()
		if ch == nil {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "sau phong bì chỉ được gửi nội dung tệp (envelope sent twice)")
		}
		idx := int(ch.GetFileIndex())
		if idx < cur || idx >= len(files) {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "nội dung tệp gửi sai thứ tự: đang nhận tệp %d, được tệp %d (chunks out of order)", cur, idx)
		}
		for cur < idx {
			if err := finish(cur); err != nil {
				return nil, err
			}
			cur++
			if w, err = s.cfg.Store.NewBlob(); err != nil {
				return nil, fmt.Errorf("creating blob: %w", err)
			}
		}
		if w.Size()+int64(len(ch.GetData())) > files[cur].GetSize() {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "tệp %q dài hơn %d byte đã khai (size mismatch)", files[cur].GetName(), files[cur].GetSize())
		}
		if _, err := w.Write(ch.GetData()); err != nil {
			return nil, fmt.Errorf("writing file %q: %w", files[cur].GetName(), err)
		}
	}
	// Files never sent (empty files may have no chunk) are closed here.
	for ; cur < len(files); cur++ {
		if w == nil {
			if w, err = s.cfg.Store.NewBlob(); err != nil {
				return nil, fmt.Errorf("creating blob: %w", err)
			}
		}
		if err := finish(cur); err != nil {
			return nil, err
		}
	}
	return up, nil
}

// recvError maps a stream receive error: a cancelled client is not the
// hub's fault.
func recvError(err error, doing string) error {
	if errors.Is(err, context.Canceled) {
		return lienthong.Wrap(lienthong.KindUnavailable, err, "%s: client went away", doing)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// Receive streams pending deliveries, then waits for new ones if asked.
func (s *Service) Receive(req *lienthongv1.ReceiveRequest, stream lienthongv1.ExchangeService_ReceiveServer) error {
	ctx := stream.Context()
	caller, ok := CallerFrom(ctx)
	if !ok {
		return toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	if err := ownInbox(caller.GetCode(), req.GetAgency()); err != nil {
		return s.refuse(ctx, "Receive", err)
	}
	release, err := s.guardReceive(caller.GetCode())
	if err != nil {
		return s.refuse(ctx, "Receive", err)
	}
	defer release()
	notify, cancel := s.cfg.Store.Subscribe(caller.GetCode())
	defer cancel()
	// The places in the queues already handled on this stream: each wake
	// reads only what was queued since, not the whole queue again.
	var lastDoc, lastNotice uint64
	buf := make([]byte, ChunkSize)
	for {
		queued, err := s.cfg.Store.PendingAfter(ctx, caller.GetCode(), lastDoc)
		if err != nil {
			return s.refuse(ctx, "Receive", fmt.Errorf("listing pending deliveries: %w", err))
		}
		for _, q := range queued {
			if err := s.recheck(ctx); err != nil {
				return s.refuse(ctx, "Receive", err)
			}
			if err := s.deliver(ctx, stream, q.MessageID, buf); err != nil {
				return s.refuse(ctx, "Receive", err, "message_id", q.MessageID)
			}
			lastDoc = q.Seq
		}
		notices, err := s.cfg.Store.NoticesAfter(ctx, caller.GetCode(), lastNotice)
		if err != nil {
			return s.refuse(ctx, "Receive", fmt.Errorf("listing notifications: %w", err))
		}
		for _, n := range notices {
			if err := stream.Send(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Notification{
				Notification: &lienthongv1.Notification{Receipt: n.Receipt},
			}}); err != nil {
				return s.refuse(ctx, "Receive", fmt.Errorf("sending notification: %w", err))
			}
			lastNotice = n.Seq
		}
		if !req.GetWait() {
			return nil
		}
		if more, err := s.awaitDelivery(ctx, notify); !more {
			return err
		}
	}
}

// deliver streams one document: header, files, end marker. Every file is
// checked against its SHA-256 as it is read (store.ReadBlob), and its
// last chunk is sent only once it matched. A damaged file is quarantined:
// the recipient gets a DeliveryAbort instead of the end marker (a node of
// any version discards the document, having no complete file), and the
// stream goes on with the next document.
func (s *Service) deliver(ctx context.Context, stream lienthongv1.ExchangeService_ReceiveServer, id string, buf []byte) error {
	doc, err := s.cfg.Store.Document(ctx, id)
	if err != nil {
		return fmt.Errorf("loading message %s: %w", id, err)
	}
	if err := stream.Send(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Header{Header: &lienthongv1.DeliveryHeader{
		Envelope: doc.Envelope, Accepted: doc.Accepted, Verification: doc.Verification,
	}}}); err != nil {
		return fmt.Errorf("sending header of %s: %w", id, err)
	}
	for i, ref := range doc.Files {
		err := s.streamBlob(stream, uint32(i), ref, buf)
		var damage *store.BlobDamage
		if errors.As(err, &damage) && s.cfg.Quarantine != nil {
			reason, qerr := s.cfg.Quarantine.Document(ctx, id, damage, quarantine.FoundByDelivery)
			if qerr != nil {
				return fmt.Errorf("quarantining %s (file %d damaged: %v): %w", id, i, err, qerr)
			}
			return stream.Send(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Abort{
				Abort: &lienthongv1.DeliveryAbort{MessageId: id, Reason: reason},
			}})
		}
		if err != nil {
			return fmt.Errorf("sending file %d of %s: %w", i, id, err)
		}
	}
	if err := stream.Send(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_End{End: &lienthongv1.DeliveryEnd{MessageId: id}}}); err != nil {
		return err
	}
	caller, _ := CallerFrom(ctx)
	s.cfg.Store.Note(audit.Entry{Kind: audit.KindDelivered, Actor: "hub", Subject: id, Detail: "to=" + caller.GetCode()})
	s.cfg.Observer.Delivered()
	return nil
}

func (s *Service) streamBlob(stream lienthongv1.ExchangeService_ReceiveServer, index uint32, ref store.BlobRef, buf []byte) error {
	// gRPC serializes the message before Send returns (no stats handler
	// holds it), so buf and the message can be reused for the next chunk.
	chunk := &lienthongv1.FileChunk{FileIndex: index}
	msg := &lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Chunk{Chunk: chunk}}
	return s.cfg.Store.ReadBlob(ref, buf, func(p []byte) error {
		chunk.Data = p
		return stream.Send(msg)
	})
}

// Ack records that the caller stored a delivered document.
func (s *Service) Ack(ctx context.Context, req *lienthongv1.AckRequest) (*lienthongv1.AckResponse, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	if rid := req.GetReceiptId(); rid != "" {
		if err := s.cfg.Store.AckNotice(ctx, caller.GetCode(), rid); err != nil {
			return nil, s.refuse(ctx, "Ack", err)
		}
		return &lienthongv1.AckResponse{}, nil
	}
	doc, err := s.addressedTo(ctx, req.GetMessageId(), caller.GetCode(), s.cfg.Store.Summary)
	if err != nil {
		return nil, s.refuse(ctx, "Ack", err)
	}
	id := doc.MessageID
	rcpt, err := s.cfg.Receipts.Issue(&lienthongv1.ReceiptBody{
		MessageId: id, Status: lienthongv1.Status_STATUS_DELIVERED, Agency: caller.GetCode(),
		EnvelopeSha256: doc.EnvelopeSHA256[:], Sender: doc.Sender,
	})
	if err != nil {
		return nil, s.refuse(ctx, "Ack", err)
	}
	stored, err := s.cfg.Store.Ack(ctx, caller.GetCode(), id, rcpt)
	switch {
	case errors.Is(err, store.ErrRevoked):
		return nil, s.refuse(ctx, "Ack", lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s đã bị nơi gửi thu hồi (document revoked)", id))
	case errors.Is(err, store.ErrQuarantined):
		return nil, s.refuse(ctx, "Ack", lienthong.Errorf(lienthong.KindFailedPrecondition,
			"văn bản %s đã bị trục cách ly vì tệp lưu trên trục bị hỏng; nơi gửi sẽ gửi lại (document quarantined)", id))
	case errors.Is(err, store.ErrNotStored):
		return nil, s.refuse(ctx, "Ack", lienthong.Errorf(lienthong.KindFailedPrecondition,
			"văn bản %s đã được báo là không lưu được (document reported as impossible to store)", id))
	}
	if err != nil {
		return nil, s.refuse(ctx, "Ack", fmt.Errorf("recording delivery of %s: %w", id, err))
	}
	s.cfg.Observer.Acknowledged()
	return &lienthongv1.AckResponse{Receipt: stored}, nil
}

// Track shows a message's receipts and timeline to its sender (everything)
// and to its recipients (their own part).
func (s *Service) Track(ctx context.Context, req *lienthongv1.TrackRequest) (*lienthongv1.TrackResponse, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	id := req.GetMessageId()
	doc, err := s.findDocument(ctx, id, s.cfg.Store.Document)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.refuse(ctx, "Track", lienthong.Errorf(lienthong.KindNotFound, "không có văn bản mã %s trên trục (message not found)", id))
	}
	if err != nil {
		return nil, s.refuse(ctx, "Track", fmt.Errorf("loading message %s: %w", id, err))
	}
	id = doc.MessageID
	filter := ""
	if caller.GetCode() != doc.Sender {
		if !slices.Contains(doc.Recipients, caller.GetCode()) {
			return nil, s.refuse(ctx, "Track", lienthong.Errorf(lienthong.KindPermission,
				"cơ quan %s không phải nơi gửi hay nơi nhận văn bản %s (not a party to the message)", caller.GetCode(), id))
		}
		filter = caller.GetCode()
	}
	receipts, err := s.cfg.Store.Receipts(ctx, id, filter)
	if err != nil {
		return nil, s.refuse(ctx, "Track", fmt.Errorf("loading receipts of %s: %w", id, err))
	}
	statuses, err := s.cfg.Store.Statuses(ctx, id)
	if err != nil {
		return nil, s.refuse(ctx, "Track", fmt.Errorf("loading statuses of %s: %w", id, err))
	}
	if filter != "" {
		statuses = slices.DeleteFunc(statuses, func(st *lienthongv1.RecipientStatus) bool { return st.GetAgency() != filter })
	}
	links, err := s.cfg.Store.Links(ctx, id)
	if err != nil {
		return nil, s.refuse(ctx, "Track", err)
	}
	return &lienthongv1.TrackResponse{Envelope: doc.Envelope, Receipts: receipts, Recipients: statuses,
		Verification: doc.Verification, RelatedMessageIds: links}, nil
}

// MaxAgenciesPage is the most agencies one ListAgencies response holds:
// about 70 bytes each (7.7 MB for 110,000), so a page stays far below
// gRPC's 4 MiB default message size, while a province's directory
// (hundreds to a few thousand agencies) still comes in one response.
const MaxAgenciesPage = 5000

// ListAgencies returns the directory, or the part below one code, a page
// at a time (page_size, at most MaxAgenciesPage; next_page_token).
func (s *Service) ListAgencies(ctx context.Context, req *lienthongv1.ListAgenciesRequest) (*lienthongv1.ListAgenciesResponse, error) {
	if _, ok := CallerFrom(ctx); !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, s.refuse(ctx, "ListAgencies", lienthong.Errorf(lienthong.KindInvalid,
			"page_size %d: phải là 0 hoặc số dương (page size must not be negative)", size))
	case size == 0 || size > MaxAgenciesPage:
		size = MaxAgenciesPage
	}
	page, err := s.dir().List(req.GetUnder(), req.GetPageToken(), size)
	if err != nil {
		return nil, s.refuse(ctx, "ListAgencies", err)
	}
	out := make([]*lienthongv1.Agency, len(page.Agencies))
	for i, a := range page.Agencies {
		// Certificate fingerprints are the operator's business.
		out[i] = &lienthongv1.Agency{Code: a.GetCode(), Name: a.GetName(), Kind: a.GetKind(), Status: a.GetStatus()}
	}
	return &lienthongv1.ListAgenciesResponse{Agencies: out, NextPageToken: page.Next, Total: int32(page.Total)}, nil
}
