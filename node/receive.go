package node

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/fsutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/receipt"
)

// Received is one incoming document stored in the inbox folder.
//
// The folder OUT/MESSAGE_ID holds the document's files under the names the
// sender gave, DeliveryFile and, once acknowledged, DeliveredFile. It
// appears whole or not at all: it is assembled in OUT/.partial-MESSAGE_ID
// (left behind by a crash, cleared when the document is delivered again),
// flushed to disk, then renamed, and the rename flushed before the
// acknowledgement.
type Received struct {
	MessageID    string
	Envelope     *lienthongv1.Envelope
	Accepted     *lienthongv1.Receipt
	Verification *lienthongv1.Verification
	// Dir is the document's folder: its files, DeliveryFile and
	// DeliveredFile.
	Dir string
	// Files are the paths of the files written, in envelope order.
	Files []string
	// Duplicate is true when the document was already in the inbox (a
	// redelivery after a lost ack): nothing was written again.
	Duplicate bool
	// Delivered is the hub's signed "delivered" receipt for the ack.
	Delivered *lienthongv1.Receipt

	partial string // the folder it is written in, until renamed to Dir
}

// DeliveryFile, in a received document's folder, is the delivery header
// the hub sent before the files (a serialized lienthongv1.DeliveryHeader):
// the envelope with the exact bytes the sender signed and its signature,
// the hub's signed "accepted" receipt and the outcome of the hub's
// signature checks; everything needed to prove the document offline. One
// file, not one per part, because every file written before the
// acknowledgement adds to the flush that makes the document durable;
// binary, because encoding it as JSON took a tenth of the CPU time of
// storing a document. The register and `ltnode inbox --json` hold the
// envelope's fields for reading.
const DeliveryFile = envelope.DeliveryFile

// DeliveredFile, in a received document's folder, is the hub's signed
// "delivered" receipt (a serialized lienthongv1.Receipt). It is written
// after the acknowledgement and not fsynced: the acknowledgement is what
// matters, and the hub keeps the receipt (Track returns it), so a power
// loss may leave this file missing or empty without losing anything.
const DeliveredFile = envelope.DeliveredFile

// NotStored is an incoming document this node does not have and will not
// get: the node could not store it (a file name its disk refuses or the
// node reserves, a file whose SHA-256 does not match the envelope, an
// envelope it cannot decode), or the hub found one of its stored files
// damaged and quarantined it. Nothing of it is left in the inbox folder.
type NotStored struct {
	MessageID string
	// Sender is the sending agency's code.
	Sender string
	// Envelope is nil when it could not be decoded, or when the hub's
	// notification is all the node knows of the document.
	Envelope *lienthongv1.Envelope
	// Reason says what went wrong, for the clerk (Vietnamese, with the
	// English gist).
	Reason string
	// Quarantined is the hub's signed QUARANTINED receipt when the hub
	// quarantined the document; nil when the node could not store it.
	Quarantined *lienthongv1.Receipt
	// Rejected is the hub's signed REJECTED receipt recording that this
	// node could not store the document; nil if the hub did not record
	// it (ReportErr says why), and then the hub offers it again.
	Rejected  *lienthongv1.Receipt
	ReportErr error
}

// NotStoredError is what ReceiveInto returns, once it has stored
// everything else, when some documents could not be had.
type NotStoredError struct {
	Docs []*NotStored
}

func (e *NotStoredError) Error() string {
	ids := make([]string, len(e.Docs))
	for i, d := range e.Docs {
		ids[i] = d.MessageID
	}
	return fmt.Sprintf("%d văn bản không nhận được (%d documents not stored): %s", len(e.Docs), len(e.Docs), strings.Join(ids, ", "))
}

// ReceiveOptions tune ReceiveInto.
type ReceiveOptions struct {
	// Wait keeps the stream open for new documents until ctx ends.
	Wait bool
	// OnStored, if not nil, is called once a document is durable in its
	// folder and before it is acknowledged (e.g. to enter it in the
	// register); an error stops ReceiveInto with the document
	// unacknowledged, so the hub delivers it again.
	OnStored func(*Received) error
	// OnNotification is given each notification (a step of a document
	// this agency sent, at one of its recipients) whose hub signature
	// verifies; once it returns nil the notification is acknowledged. An
	// error stops ReceiveInto with the notification unacknowledged. When
	// nil, notifications are left with the hub, unacknowledged.
	OnNotification func(body *lienthongv1.ReceiptBody, r *lienthongv1.Receipt) error
	// OnNotStored, if not nil, is given each document this node cannot
	// have: one it could not store (reported to the hub first, so the hub
	// stops offering it), and one the hub quarantined (its notification
	// is acknowledged once OnNotStored returns nil). An error stops
	// ReceiveInto.
	OnNotStored func(*NotStored) error
	// Sync, if not nil, is the group sync that makes documents durable; it
	// must cover the inbox folder's file system. Receivers running in one
	// process share one so that their flushes are shared too. When nil,
	// ReceiveInto makes its own.
	Sync *fsutil.GroupSync
}

// ReceiveInto fetches pending documents into outDir, one folder per
// message id, checking every file against its declared size and SHA-256
// and the hub's receipt; each document is made durable (flush, rename,
// flush) before it is acknowledged. each, if not nil, is called after the
// ack. Notifications arriving between documents go to
// opts.OnNotification. With Wait, ReceiveInto returns nil when ctx ends.
//
// A document the node cannot store does not stop it: the node reports it
// to the hub (which stops offering it and tells the sender), hands it to
// opts.OnNotStored and goes on with the next; so is a document the hub
// quarantined. Without Wait, ReceiveInto then returns a *NotStoredError
// once everything else is stored.
//
// Reading the stream runs ahead of storing and acknowledging: while the
// documents read so far are flushed and acknowledged (together, one flush
// for all of them), the next ones are already being written. The
// callbacks are called from one goroutine, in the order of the stream.
func (c *Client) ReceiveInto(ctx context.Context, outDir string, opts ReceiveOptions, each func(*Received) error) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("creating inbox folder: %w", err)
	}
	gs := opts.Sync
	if gs == nil {
		var err error
		if gs, err = fsutil.NewGroupSync(outDir); err != nil {
			return err
		}
		defer gs.Close()
	} else if err := gs.Covers(outDir); err != nil {
		return fmt.Errorf("inbox folder: %w", err)
	}
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	stream, err := c.api.Receive(sctx, &lienthongv1.ReceiveRequest{Wait: opts.Wait}, grpc.ForceCodecV2(c.recv))
	if err != nil {
		return err
	}
	queue := make(chan received, receiveAhead)
	settled := make(chan error, 1)
	var notStored []*NotStored
	go func() {
		err := c.settle(ctx, queue, gs, opts, each, &notStored)
		if err != nil {
			stop(err) // ends the stream, and with it the reading below
			for range queue {
			}
		}
		settled <- err
	}()
	readErr := c.readStream(stream, outDir, queue)
	close(queue)
	settleErr := <-settled
	if opts.Wait && ctx.Err() != nil {
		return nil // what was not acknowledged is delivered again
	}
	if settleErr != nil {
		return settleErr
	}
	if readErr == nil && len(notStored) > 0 && !opts.Wait {
		return &NotStoredError{Docs: notStored}
	}
	return readErr
}

// receiveAhead is how many documents read from the stream may wait to be
// flushed and acknowledged: enough to keep the stream busy during a flush
// and the acknowledgements, few enough that little is received twice
// when the connection breaks.
const receiveAhead = 16

// received is what the reading of the stream hands over: a document
// written to its .partial folder, a notification, or a document the node
// could not store.
type received struct {
	doc       *Received
	notif     *lienthongv1.Receipt
	notStored *NotStored
}

// readStream reads documents into their .partial folders and hands them,
// and the notifications, to queue; it returns nil at the stream's end.
func (c *Client) readStream(stream lienthongv1.ExchangeService_ReceiveClient, outDir string, queue chan<- received) error {
	m := new(receiveMsg) // reused for every message of the stream
	for {
		err := stream.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Chunk {
			return errors.New("hub sent a file chunk where a document header was expected")
		}
		msg := m.Other
		if n := msg.GetNotification(); n != nil {
			queue <- received{notif: n.GetReceipt()}
			continue
		}
		hdr := msg.GetHeader()
		if hdr == nil {
			return fmt.Errorf("hub sent %T where a document header was expected", msg.GetPart())
		}
		r, bad, err := c.receiveOne(stream, m, outDir, hdr, m.Header)
		switch {
		case err != nil:
			return err
		case bad != nil:
			queue <- received{notStored: bad}
		case r != nil:
			queue <- received{doc: r}
		}
	}
}

// settle makes the documents from queue durable and acknowledges them, in
// batches of what has queued up, and handles the notifications between
// them in order.
func (c *Client) settle(ctx context.Context, queue <-chan received, gs *fsutil.GroupSync, opts ReceiveOptions, each func(*Received) error,
	notStored *[]*NotStored) error {
	var batch []*Received
	for {
		it, ok := <-queue
		for ok && it.doc != nil {
			batch = append(batch, it.doc)
			select {
			case it, ok = <-queue:
				continue
			default:
			}
			break
		}
		if err := c.settleBatch(ctx, batch, gs, opts, each); err != nil {
			return err
		}
		batch = batch[:0]
		if !ok {
			return nil
		}
		if it.notif != nil {
			if err := c.notification(ctx, it.notif, opts, notStored); err != nil {
				return err
			}
		}
		if it.notStored != nil {
			c.reportNotStored(ctx, it.notStored)
			*notStored = append(*notStored, it.notStored)
			if opts.OnNotStored != nil {
				if err := opts.OnNotStored(it.notStored); err != nil {
					return err
				}
			}
		}
	}
}

// maxReason bounds the reason a node reports for a document it cannot
// store; what it quotes of the sender's names is bounded too (shortName).
const maxReason = 500

// reportNotStored tells the hub that this node cannot store a document
// waiting in its queue, so the hub takes it out of the queue and records
// a rejection the sender sees. A failure (an older hub, the network) is
// kept in ReportErr: the document stays queued and is tried again on the
// next receive, still without holding up the others.
func (c *Client) reportNotStored(ctx context.Context, ns *NotStored) {
	reason := ns.Reason
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	v, err := c.reportStatus(ctx, &lienthongv1.ReportStatusRequest{
		MessageId: ns.MessageID, Status: lienthongv1.Status_STATUS_REJECTED, Reason: reason, CannotStore: true,
	})
	if err != nil {
		ns.ReportErr = err
		return
	}
	ns.Rejected = v.Receipt
}

// settleBatch stores the documents read (one flush for their files, then
// their renames into place and one flush for those), hands them to
// opts.OnStored, acknowledges them and hands them to each. On error the
// documents not yet acknowledged stay so; the hub delivers them again.
func (c *Client) settleBatch(ctx context.Context, batch []*Received, gs *fsutil.GroupSync, opts ReceiveOptions, each func(*Received) error) error {
	if len(batch) == 0 {
		return nil
	}
	var fresh []*Received
	for _, r := range batch {
		if !r.Duplicate {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) > 0 {
		// The files' data and names must be durable before the folders are
		// put in place: a folder present after a crash counts as received.
		if err := gs.Sync(ctx); err != nil {
			return fmt.Errorf("storing %s: %w", fresh[0].MessageID, err)
		}
		for _, r := range fresh {
			if err := os.Rename(r.partial, r.Dir); err != nil {
				return fmt.Errorf("storing %s in the inbox: %w", r.MessageID, err)
			}
		}
		if err := gs.Sync(ctx); err != nil {
			return fmt.Errorf("storing %s: %w", fresh[0].MessageID, err)
		}
	}
	stored := len(batch)
	var storedErr error
	if opts.OnStored != nil {
		for i, r := range batch {
			if storedErr = opts.OnStored(r); storedErr != nil {
				stored = i
				break
			}
		}
	}
	errs := make([]error, stored)
	var wg sync.WaitGroup
	for i, r := range batch[:stored] {
		wg.Go(func() { errs[i] = c.ack(ctx, r) })
	}
	wg.Wait()
	// Every document the hub now counts as delivered reaches each, even
	// when the ack of another in the batch failed.
	var ackErr error
	for i, r := range batch[:stored] {
		if errs[i] != nil {
			ackErr = cmp.Or(ackErr, errs[i])
			continue
		}
		if each != nil {
			if err := each(r); err != nil {
				return err
			}
		}
	}
	return cmp.Or(ackErr, storedErr)
}

// ack acknowledges a stored document and keeps the hub's receipt.
func (c *Client) ack(ctx context.Context, r *Received) error {
	ack, err := c.api.Ack(ctx, &lienthongv1.AckRequest{MessageId: r.MessageID})
	if err != nil {
		return fmt.Errorf("acknowledging %s: %w", r.MessageID, err)
	}
	if _, err := c.receipts.Verify(ack.GetReceipt(), c.id.Roots); err != nil {
		return fmt.Errorf("delivered receipt for %s: %w", r.MessageID, err)
	}
	r.Delivered = ack.GetReceipt()
	return writeDelivered(filepath.Join(r.Dir, DeliveredFile), r.Delivered)
}

// notification verifies a notification's receipt and hands it to
// opts.OnNotification, or, when it says the hub quarantined a document
// addressed to this agency, to opts.OnNotStored (and notStored); then it
// acknowledges it.
func (c *Client) notification(ctx context.Context, r *lienthongv1.Receipt, opts ReceiveOptions, notStored *[]*NotStored) error {
	body, err := c.receipts.Verify(r, c.id.Roots)
	if err != nil {
		return fmt.Errorf("hub notification: %w", err)
	}
	if body.GetStatus() == lienthongv1.Status_STATUS_QUARANTINED && body.GetAgency() == c.id.Code && body.GetSender() != c.id.Code {
		ns := &NotStored{MessageID: body.GetMessageId(), Sender: body.GetSender(), Reason: body.GetReason(), Quarantined: r}
		*notStored = append(*notStored, ns)
		if opts.OnNotStored != nil {
			if err := opts.OnNotStored(ns); err != nil {
				return err
			}
		}
	} else {
		if opts.OnNotification == nil {
			return nil
		}
		if err := opts.OnNotification(body, r); err != nil {
			return err
		}
	}
	if _, err := c.api.Ack(ctx, &lienthongv1.AckRequest{ReceiptId: body.GetReceiptId()}); err != nil {
		return fmt.Errorf("acknowledging notification %s about %s: %w", body.GetReceiptId(), body.GetMessageId(), err)
	}
	return nil
}

// receiveOne reads one document (its chunks and end marker) from the
// stream, each message into m, into its .partial folder in outDir; a
// document already in the inbox is checked and its copy dropped. A
// document the node cannot store is read to its end and dropped, and
// returned as a *NotStored; one the hub aborts (quarantined) is dropped
// and returns nothing. raw, if not nil, is hdr as the hub encoded it, to
// be stored as it came. An error means the stream cannot go on.
func (c *Client) receiveOne(stream lienthongv1.ExchangeService_ReceiveClient, m *receiveMsg, outDir string,
	hdr *lienthongv1.DeliveryHeader, raw []byte) (*Received, *NotStored, error) {
	body, err := c.receipts.Verify(hdr.GetAccepted(), c.id.Roots)
	if err != nil {
		return nil, nil, fmt.Errorf("accepted receipt of a delivered document: %w", err)
	}
	id := body.GetMessageId()
	sum := sha256.Sum256(hdr.GetEnvelope().GetEnvelope())
	if !bytes.Equal(body.GetEnvelopeSha256(), sum[:]) {
		return nil, nil, fmt.Errorf("accepted receipt does not match the envelope of %s (%w)", id, receipt.ErrInvalid)
	}
	// bad is why the document cannot be stored; the rest of it is then
	// read and dropped, so the stream goes on with the next one.
	var bad error
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(hdr.GetEnvelope().GetEnvelope(), env); err != nil {
		bad = unstorable("phong bì văn bản không đọc được (malformed envelope: %v)", err)
		env = nil
	} else if env.GetMessageId() != id {
		return nil, nil, fmt.Errorf("accepted receipt does not match the envelope of %s (%w)", env.GetMessageId(), receipt.ErrInvalid)
	}
	if bad == nil && (id == "" || strings.ContainsAny(id, "/\\\x00") || id == "." || id == "..") {
		bad = unstorable("mã văn bản %q không dùng được làm tên thư mục (unusable message id)", shortName(id))
	}
	notStored := func() *NotStored {
		return &NotStored{MessageID: id, Sender: body.GetSender(), Envelope: env, Reason: bad.Error()}
	}
	r := &Received{MessageID: id, Envelope: env, Accepted: hdr.GetAccepted(), Verification: hdr.GetVerification(),
		Dir: filepath.Join(outDir, id)}
	partial := filepath.Join(outDir, envelope.PartialPrefix+id)
	created := bad == nil // never touch a path made of an unusable id
	if created {
		_, statErr := os.Stat(r.Dir)
		r.Duplicate = statErr == nil
		if err := os.RemoveAll(partial); err != nil {
			return nil, nil, fmt.Errorf("clearing %s: %w", partial, err)
		}
		if err := os.Mkdir(partial, 0o755); err != nil {
			return nil, nil, fmt.Errorf("creating %s: %w", partial, err)
		}
	}
	files := env.GetFiles()
	w := &fileSink{dir: partial, cur: -1, ltv: ltvUpdates(files, hdr.GetVerification())}
	defer w.close()
	drop := func() error {
		w.close()
		if !created {
			return nil
		}
		if err := os.RemoveAll(partial); err != nil {
			return fmt.Errorf("removing what was received of %s: %w", id, err)
		}
		return nil
	}
	for {
		if err := stream.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, fmt.Errorf("receiving %s: %w", id, err)
		}
		idx, data := int(m.Index), m.Data
		if !m.Chunk {
			if end := m.Other.GetEnd(); end != nil {
				if end.GetMessageId() != id {
					return nil, nil, fmt.Errorf("hub ended %s while sending %s", end.GetMessageId(), id)
				}
				break
			}
			if ab := m.Other.GetAbort(); ab != nil {
				if ab.GetMessageId() != id {
					return nil, nil, fmt.Errorf("hub aborted %s while sending %s", ab.GetMessageId(), id)
				}
				// Quarantined by the hub: its notification follows.
				return nil, nil, drop()
			}
			ch := m.Other.GetChunk()
			if ch == nil {
				return nil, nil, fmt.Errorf("hub sent a new header inside %s", id)
			}
			idx, data = int(ch.GetFileIndex()), ch.GetData()
		}
		if bad != nil {
			continue
		}
		if idx < w.cur || idx >= len(files) {
			return nil, nil, fmt.Errorf("hub sent file %d of %s out of order", idx, id)
		}
		if err := w.openUpTo(files, idx); err != nil {
			if !isUnstorable(err) {
				return nil, nil, err
			}
			bad = err
			continue
		}
		if err := w.write(data); err != nil {
			return nil, nil, err
		}
	}
	if bad == nil {
		if err := w.finish(files); err != nil && !isUnstorable(err) {
			return nil, nil, err
		} else if err != nil {
			bad = err
		}
	}
	if bad != nil {
		if err := drop(); err != nil {
			return nil, nil, err
		}
		return nil, notStored(), nil
	}
	r.Files = w.paths
	if r.Duplicate {
		os.RemoveAll(partial)
		r.Files = nil
		for _, p := range w.paths {
			r.Files = append(r.Files, filepath.Join(r.Dir, filepath.Base(p)))
		}
		return r, nil, nil
	}
	if raw == nil {
		if raw, err = proto.Marshal(hdr); err != nil {
			return nil, nil, fmt.Errorf("encoding the delivery header of %s: %w", id, err)
		}
	}
	if err := os.WriteFile(filepath.Join(partial, DeliveryFile), raw, 0o644); err != nil {
		return nil, nil, fmt.Errorf("writing %s: %w", id, err)
	}
	r.partial = partial
	for i, p := range w.paths {
		w.paths[i] = filepath.Join(r.Dir, filepath.Base(p))
	}
	r.Files = w.paths
	return r, nil, nil
}

// unstorableError says why a document cannot be stored, for the clerk;
// the node reports it to the hub and goes on with the next document.
type unstorableError struct{ reason string }

func (e *unstorableError) Error() string { return e.reason }

func unstorable(format string, args ...any) error {
	return &unstorableError{fmt.Sprintf(format, args...)}
}

func isUnstorable(err error) bool {
	var u *unstorableError
	return errors.As(err, &u)
}

// nameRefused reports whether creating a file failed because of its name
// (too long, a byte the file system refuses, a name taken by another file
// of the document), not because of the disk: a full or read-only disk
// must stop the receive, to be tried again, not reject the document.
func nameRefused(err error) bool {
	for _, e := range []error{syscall.ENAMETOOLONG, syscall.EINVAL, syscall.EILSEQ, syscall.EEXIST, syscall.EISDIR, syscall.ENOTDIR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// shortName bounds what a reason quotes of a sender's name.
func shortName(name string) string {
	const max = 80
	if len(name) <= max {
		return name
	}
	return strings.ToValidUTF8(name[:max], "") + "…"
}

// fileSink writes a document's files one after another, hashing each.
type fileSink struct {
	dir string
	// ltv holds, per file, the hub's B-LT update to append (lthub serve
	// --ltv), or nil.
	ltv   [][]byte
	cur   int // index of the file being written; -1 before the first
	f     *os.File
	h     hash.Hash
	n     int64
	paths []string
}

// openUpTo closes the current file and opens the following ones up to
// index idx; files with no chunks are empty.
func (w *fileSink) openUpTo(files []*lienthongv1.FileInfo, idx int) error {
	for w.cur < idx {
		if w.f != nil {
			if err := w.closeCurrent(files[w.cur]); err != nil {
				return err
			}
		}
		w.cur++
		name, err := safeName(files[w.cur].GetName())
		if err != nil {
			return unstorable("tên tệp %q không lưu được: %v", shortName(files[w.cur].GetName()), errors.Unwrap(err))
		}
		path := filepath.Join(w.dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil && nameRefused(err) {
			return unstorable("máy không tạo được tệp %q: %v (the file system refuses the name)", shortName(files[w.cur].GetName()), errors.Unwrap(err))
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
		w.f, w.h, w.n = f, sha256.New(), 0
		w.paths = append(w.paths, path)
	}
	return nil
}

func (w *fileSink) write(p []byte) error {
	w.n += int64(len(p))
	w.h.Write(p)
	if _, err := w.f.Write(p); err != nil {
		return fmt.Errorf("writing %s: %w", w.f.Name(), err)
	}
	return nil
}

func (w *fileSink) closeCurrent(info *lienthongv1.FileInfo) error {
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if w.n != info.GetSize() || !bytes.Equal(w.h.Sum(nil), info.GetSha256()) {
		return unstorable("tệp %q nhận được %d byte, mã băm SHA-256 khác với phong bì (khai %d byte); không lưu (file arrived with a different SHA-256 than declared)",
			shortName(info.GetName()), w.n, info.GetSize())
	}
	if w.cur < len(w.ltv) && len(w.ltv[w.cur]) > 0 {
		return appendLTV(f.Name(), w.n, w.ltv[w.cur])
	}
	return nil
}

// ltvUpdates lines up the hub's B-LT updates with the envelope's files
// (the hub verifies the files in envelope order).
func ltvUpdates(files []*lienthongv1.FileInfo, v *lienthongv1.Verification) [][]byte {
	fv := v.GetFiles()
	if len(fv) != len(files) {
		return nil
	}
	var out [][]byte
	for i, f := range fv {
		if f.GetName() != files[i].GetName() || len(f.GetLtvUpdate()) == 0 {
			continue
		}
		if out == nil {
			out = make([][]byte, len(files))
		}
		out[i] = f.GetLtvUpdate()
	}
	return out
}

// appendLTV appends the hub's B-LT update to the received PDF at path,
// whose size bytes the envelope's hash has just vouched for. The update is
// appended only if the document with it still verifies with its
// signatures intact and no change but validation data: the hub is trusted
// to route, not to edit what the sender signed. A refused update leaves
// the file as the sender made it.
func appendLTV(path string, size int64, upd []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("adding validation data to %s: %w", path, err)
	}
	defer f.Close()
	if pades.CheckValidationUpdate(f, size, upd) != nil {
		return nil
	}
	if _, err := f.WriteAt(upd, size); err != nil {
		if terr := f.Truncate(size); terr != nil {
			return fmt.Errorf("adding validation data to %s: %w (and truncating it back: %v)", path, err, terr)
		}
		return nil
	}
	return nil
}

func (w *fileSink) finish(files []*lienthongv1.FileInfo) error {
	if err := w.openUpTo(files, len(files)-1); err != nil {
		return err
	}
	if w.f != nil {
		if err := w.closeCurrent(files[w.cur]); err != nil {
			return err
		}
	}
	return nil
}

func (w *fileSink) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// safeName checks a sender-chosen file name with the rule the hub applies
// at Send (envelope.FileName: no path, no control character, none of the
// names the node writes itself); a document accepted before that rule may
// carry a name that breaks it.
func safeName(name string) (string, error) {
	if err := envelope.FileName(name); err != nil {
		return "", fmt.Errorf("file name %q cannot be stored: %w", name, err)
	}
	return name, nil
}

// writeDelivered writes the delivered receipt without fsync (see
// DeliveredFile).
func writeDelivered(path string, r *lienthongv1.Receipt) error {
	b, err := proto.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
