package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lienthong/lienthong/internal/fsutil"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// Received is one incoming document stored in the inbox folder.
type Received struct {
	MessageID    string
	Envelope     *lienthongv1.Envelope
	Accepted     *lienthongv1.Receipt
	Verification *lienthongv1.Verification
	// Dir is the document's folder: its files, envelope.json and the
	// receipts.
	Dir string
	// Files are the paths of the files written, in envelope order.
	Files []string
	// Duplicate is true when the document was already in the inbox (a
	// redelivery after a lost ack): nothing was written again.
	Duplicate bool
	// Delivered is the hub's signed "delivered" receipt for the ack.
	Delivered *lienthongv1.Receipt
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
}

// ReceiveInto fetches pending documents into outDir, one folder per
// message id, checking every file against its declared size and SHA-256
// and the hub's receipt; each document is made durable (fsync, rename)
// before it is acknowledged. each, if not nil, is called after the ack.
// Notifications arriving between documents go to opts.OnNotification.
// With Wait, ReceiveInto returns nil when ctx ends.
func (c *Client) ReceiveInto(ctx context.Context, outDir string, opts ReceiveOptions, each func(*Received) error) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("creating inbox folder: %w", err)
	}
	stream, err := c.api.Receive(ctx, &lienthongv1.ReceiveRequest{Wait: opts.Wait})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if opts.Wait && ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n := msg.GetNotification(); n != nil {
			if err := c.notification(ctx, n.GetReceipt(), opts.OnNotification); err != nil {
				return err
			}
			continue
		}
		hdr := msg.GetHeader()
		if hdr == nil {
			return fmt.Errorf("hub sent %T where a document header was expected", msg.GetPart())
		}
		r, err := c.receiveOne(stream, outDir, hdr)
		if err != nil {
			return err
		}
		if opts.OnStored != nil {
			if err := opts.OnStored(r); err != nil {
				return err
			}
		}
		ack, err := c.api.Ack(ctx, &lienthongv1.AckRequest{MessageId: r.MessageID})
		if err != nil {
			return fmt.Errorf("acknowledging %s: %w", r.MessageID, err)
		}
		if _, err := receipt.Verify(ack.GetReceipt(), c.id.Roots); err != nil {
			return fmt.Errorf("delivered receipt for %s: %w", r.MessageID, err)
		}
		r.Delivered = ack.GetReceipt()
		if err := writeProto(filepath.Join(r.Dir, "receipt-delivered.pb"), r.Delivered); err != nil {
			return err
		}
		if each != nil {
			if err := each(r); err != nil {
				return err
			}
		}
	}
}

// notification verifies a notification's receipt, hands it to fn and
// acknowledges it.
func (c *Client) notification(ctx context.Context, r *lienthongv1.Receipt, fn func(*lienthongv1.ReceiptBody, *lienthongv1.Receipt) error) error {
	body, err := receipt.Verify(r, c.id.Roots)
	if err != nil {
		return fmt.Errorf("hub notification: %w", err)
	}
	if fn == nil {
		return nil
	}
	if err := fn(body, r); err != nil {
		return err
	}
	if _, err := c.api.Ack(ctx, &lienthongv1.AckRequest{ReceiptId: body.GetReceiptId()}); err != nil {
		return fmt.Errorf("acknowledging notification %s about %s: %w", body.GetReceiptId(), body.GetMessageId(), err)
	}
	return nil
}

// receiveOne reads one document (its chunks and end marker) from the
// stream into outDir.
func (c *Client) receiveOne(stream lienthongv1.ExchangeService_ReceiveClient, outDir string, hdr *lienthongv1.DeliveryHeader) (*Received, error) {
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(hdr.GetEnvelope().GetEnvelope(), env); err != nil {
		return nil, fmt.Errorf("hub sent a malformed envelope: %w", err)
	}
	body, err := receipt.Verify(hdr.GetAccepted(), c.id.Roots)
	if err != nil {
		return nil, fmt.Errorf("accepted receipt of %s: %w", env.GetMessageId(), err)
	}
	sum := sha256.Sum256(hdr.GetEnvelope().GetEnvelope())
	if body.GetMessageId() != env.GetMessageId() || !bytes.Equal(body.GetEnvelopeSha256(), sum[:]) {
		return nil, fmt.Errorf("accepted receipt does not match the envelope of %s (%w)", env.GetMessageId(), receipt.ErrInvalid)
	}
	id := env.GetMessageId()
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return nil, fmt.Errorf("hub sent an unusable message id %q", id)
	}
	r := &Received{MessageID: id, Envelope: env, Accepted: hdr.GetAccepted(), Verification: hdr.GetVerification(),
		Dir: filepath.Join(outDir, id)}

	_, statErr := os.Stat(r.Dir)
	r.Duplicate = statErr == nil
	partial := filepath.Join(outDir, ".partial-"+id)
	if err := os.RemoveAll(partial); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", partial, err)
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", partial, err)
	}
	files := env.GetFiles()
	w := &fileSink{dir: partial, cur: -1}
	defer w.close()
	for {
		msg, err := stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("receiving %s: %w", id, err)
		}
		if end := msg.GetEnd(); end != nil {
			if end.GetMessageId() != id {
				return nil, fmt.Errorf("hub ended %s while sending %s", end.GetMessageId(), id)
			}
			break
		}
		ch := msg.GetChunk()
		if ch == nil {
			return nil, fmt.Errorf("hub sent a new header inside %s", id)
		}
		idx := int(ch.GetFileIndex())
		if idx < w.cur || idx >= len(files) {
			return nil, fmt.Errorf("hub sent file %d of %s out of order", idx, id)
		}
		if err := w.openUpTo(files, idx); err != nil {
			return nil, err
		}
		if err := w.write(ch.GetData()); err != nil {
			return nil, err
		}
	}
	if err := w.finish(files); err != nil {
		return nil, err
	}
	r.Files = w.paths
	if r.Duplicate {
		os.RemoveAll(partial)
		r.Files = nil
		for _, p := range w.paths {
			r.Files = append(r.Files, filepath.Join(r.Dir, filepath.Base(p)))
		}
		return r, nil
	}
	if err := writeProto(filepath.Join(partial, "envelope.pb"), hdr.GetEnvelope()); err != nil {
		return nil, err
	}
	if err := writeProto(filepath.Join(partial, "receipt-accepted.pb"), hdr.GetAccepted()); err != nil {
		return nil, err
	}
	js, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding envelope of %s: %w", id, err)
	}
	if err := writeSynced(filepath.Join(partial, "envelope.json"), js); err != nil {
		return nil, err
	}
	if err := os.Rename(partial, r.Dir); err != nil {
		return nil, fmt.Errorf("storing %s in the inbox: %w", id, err)
	}
	if err := fsutil.SyncDir(outDir); err != nil {
		return nil, err
	}
	for i, p := range w.paths {
		w.paths[i] = filepath.Join(r.Dir, filepath.Base(p))
	}
	r.Files = w.paths
	return r, nil
}

// fileSink writes a document's files one after another, hashing each.
type fileSink struct {
	dir   string
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
			return err
		}
		path := filepath.Join(w.dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
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
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if w.n != info.GetSize() || !bytes.Equal(w.h.Sum(nil), info.GetSha256()) {
		return fmt.Errorf("file %q arrived with %d bytes and a different SHA-256 than declared (%d bytes): not acknowledged", info.GetName(), w.n, info.GetSize())
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
	return fsutil.SyncDir(w.dir)
}

func (w *fileSink) close() {
	if w.f != nil {
		w.f.Close()
	}
}

// safeName makes a sender-chosen file name safe to create in a folder.
func safeName(name string) (string, error) {
	base := filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if base == "." || base == ".." || base == "/" || base == "" || strings.HasPrefix(base, ".partial-") ||
		base == "envelope.json" || base == "envelope.pb" || strings.HasPrefix(base, "receipt-") {
		return "", fmt.Errorf("file name %q cannot be stored", name)
	}
	return base, nil
}

func writeProto(path string, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeSynced(path, b)
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
