package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub/audit"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Quarantine bucket, created on first use:
//
//	quarantine  message id → QuarantinedDocument (protobuf)
//
// A quarantined blob's file is moved out of its content address into
// blobs/damaged/<hex>-<unix nanoseconds>, kept for the operator to look at:
// an upload of the same content then stores a good copy instead of
// sharing the damaged one.
var bucketQuarantine = []byte("quarantine")

const damagedDir = "damaged"

var (
	// ErrQuarantined reports an operation on a delivery the hub
	// quarantined.
	ErrQuarantined = errors.New("document quarantined: a stored file is damaged")
	// ErrNotStored reports an acknowledgement of a delivery its recipient
	// rejected as impossible to store.
	ErrNotStored = errors.New("delivery rejected by its recipient as impossible to store")
)

// BlobDamage reports a blob whose file does not hold the bytes its
// address names: another SHA-256, another size, or no file at all.
type BlobDamage struct {
	// Ref is the blob as a document names it.
	Ref BlobRef
	// Missing says the file is gone; Actual and ActualSize are then zero.
	Missing bool
	// Actual is the SHA-256 of the file as read, ActualSize its length
	// (only up to the first byte past Ref.Size when it is longer).
	Actual     [32]byte
	ActualSize int64
}

func (d *BlobDamage) Error() string {
	if d.Missing {
		return fmt.Sprintf("blob %s is missing", d.Ref)
	}
	return fmt.Sprintf("blob %s is damaged: read %d bytes with SHA-256 %x, want %d bytes", d.Ref, d.ActualSize, d.Actual, d.Ref.Size)
}

// Quarantine is what Quarantine records about a damaged document.
type Quarantine struct {
	// Record is the admin view's entry: message id, sender, the damaged
	// file and how it was found. Its Recipients are filled in by
	// Quarantine.
	Record *lienthongv1.QuarantinedDocument
	// Blob is the damaged blob; its file is set aside after the commit.
	Blob BlobRef
	// Receipts holds, for each recipient that may still be waiting for
	// the document, the hub's QUARANTINED receipt about it (reason
	// included). Only the recipients still waiting when the transaction
	// runs are quarantined; the other receipts are dropped.
	Receipts map[string]*lienthongv1.Receipt
}

// Quarantine takes a damaged document out of delivery. In one
// group-committed transaction it stores (or, if the document was
// quarantined before, keeps) its quarantine record and, for each
// recipient in q.Receipts whose delivery is still waiting (status
// ACCEPTED), removes the queue entry, sets the status QUARANTINED,
// appends the receipt, counts the step and queues the receipt as a
// notification to both the sender and that recipient. Then it sets the
// damaged blob's file aside (blobs/damaged), unless a writer has pinned
// it or it turns out to be intact. It returns the recipients it took
// out of delivery.
func (s *Store) Quarantine(ctx context.Context, q Quarantine) ([]string, error) {
	rec := q.Record
	id := rec.GetMessageId()
	type step struct {
		recipient string
		at        time.Time
		status    lienthongv1.Status
		receiptID string
		packed    packedReceipt
	}
	var steps []step
	for _, r := range slices.Sorted(maps.Keys(q.Receipts)) {
		body := new(lienthongv1.ReceiptBody)
		if err := proto.Unmarshal(q.Receipts[r].GetBody(), body); err != nil {
			return nil, fmt.Errorf("quarantining %q: receipt for %s: %w", id, r, err)
		}
		at, err := checkReceipt(q.Receipts[r], id, lienthongv1.Status_STATUS_QUARANTINED, r)
		if err != nil {
			return nil, fmt.Errorf("quarantining %q: receipt for %s: %w", id, r, err)
		}
		packed, err := packReceipt(q.Receipts[r])
		if err != nil {
			return nil, fmt.Errorf("quarantining %q: %w", id, err)
		}
		steps = append(steps, step{recipient: r, at: at, status: body.GetStatus(), receiptID: body.GetReceiptId(), packed: packed})
	}
	var taken []string
	var sender string
	err := s.update(ctx, func(tx *bolt.Tx) error {
		taken = nil
		v := tx.Bucket(bucketDocs).Get([]byte(id))
		if v == nil {
			return reject(ErrNotFound)
		}
		doc, err := decodeDoc(nil, id, v)
		if err != nil {
			return reject(err)
		}
		sender = doc.Sender
		qb, err := tx.CreateBucketIfNotExists(bucketQuarantine)
		if err != nil {
			return err
		}
		stored := proto.Clone(rec).(*lienthongv1.QuarantinedDocument)
		if prev := qb.Get([]byte(id)); prev != nil {
			// Found again (another file, or by the scrub): the first
			// finding stays; recipients add up.
			stored = new(lienthongv1.QuarantinedDocument)
			if err := proto.Unmarshal(prev, stored); err != nil {
				return fmt.Errorf("quarantine record: %w", err)
			}
		}
		deliveries, queue, meta := tx.Bucket(bucketDeliveries), tx.Bucket(bucketQueue), tx.Bucket(bucketMeta)
		for _, st := range steps {
			dk := deliveryKey(id, st.recipient)
			dv := deliveries.Get(dk)
			if dv == nil {
				continue
			}
			d, err := decodeDelivery(dv)
			if err != nil {
				return err
			}
			if d.status != lienthongv1.Status_STATUS_ACCEPTED {
				continue // fetched, revoked or quarantined meanwhile
			}
			if err := queue.Delete(seqKey(st.recipient, d.queueSeq)); err != nil {
				return fmt.Errorf("removing queue entry: %w", err)
			}
			if err := addCounter(meta, metaPending, -1); err != nil {
				return err
			}
			if err := st.packed.storeCert(tx); err != nil {
				return err
			}
			if _, err := appendReceipt(tx, id, st.packed.raw); err != nil {
				return err
			}
			d.status, d.time = st.status, st.at
			if err := deliveries.Put(dk, d.encode()); err != nil {
				return err
			}
			if err := countStep(tx, id, st.recipient, st.status, st.at); err != nil {
				return err
			}
			if err := queueNotice(tx, doc.Sender, st.receiptID, st.packed.raw); err != nil {
				return err
			}
			if st.recipient != doc.Sender {
				if err := queueNotice(tx, st.recipient, st.receiptID, st.packed.raw); err != nil {
					return err
				}
			}
			if err := s.appendAudit(tx, audit.Entry{Time: st.at, Kind: audit.KindQuarantined, Actor: "hub", Subject: id,
				Detail: fmt.Sprintf("recipient=%s file=%s found_by=%s", st.recipient, rec.GetFileName(), rec.GetFoundBy())}); err != nil {
				return err
			}
			taken = append(taken, st.recipient)
			if !slices.Contains(stored.Recipients, st.recipient) {
				stored.Recipients = append(stored.Recipients, st.recipient)
			}
		}
		raw, err := proto.Marshal(stored)
		if err != nil {
			return fmt.Errorf("encoding quarantine record: %w", err)
		}
		return qb.Put([]byte(id), raw)
	})
	if err != nil {
		return nil, fmt.Errorf("quarantining %q: %w", id, err)
	}
	if len(taken) > 0 {
		s.notify(append([]string{sender}, taken...))
	}
	if _, err := s.SetAsideBlob(q.Blob); err != nil {
		s.log.Warn("setting a damaged blob aside", "sha256", q.Blob.String(), "err", err)
	}
	return taken, nil
}

// Quarantined returns the quarantine records, oldest finding first.
func (s *Store) Quarantined(ctx context.Context) ([]*lienthongv1.QuarantinedDocument, error) {
	var out []*lienthongv1.QuarantinedDocument
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		b := tx.Bucket(bucketQuarantine)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r := new(lienthongv1.QuarantinedDocument)
			if err := proto.Unmarshal(v, r); err != nil {
				return fmt.Errorf("quarantine record %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing quarantined documents: %w", err)
	}
	slices.SortStableFunc(out, func(a, b *lienthongv1.QuarantinedDocument) int {
		return a.GetFoundAt().AsTime().Compare(b.GetFoundAt().AsTime())
	})
	return out, nil
}

// SetAsideBlob moves a damaged blob's file out of its content address,
// into blobs/damaged, so that a later upload of the same content stores a
// good copy. It does nothing, and returns false, when the file is missing,
// when a writer has it pinned (an upload is sharing it: that document
// will be found damaged in turn), or when the file matches ref after all
// (a good copy replaced it).
func (s *Store) SetAsideBlob(ref BlobRef) (bool, error) {
	d := s.blobs
	st := d.stripe(ref.SHA256)
	st.mu.Lock()
	defer st.mu.Unlock()
	if d.closed.Load() {
		return false, ErrClosed
	}
	if st.pins[ref.SHA256] > 0 {
		return false, nil
	}
	path := d.path(ref.SHA256)
	sum, err := fileSHA256(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if sum == ref.SHA256 {
		return false, nil
	}
	dst := filepath.Join(d.root, damagedDir)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return false, fmt.Errorf("creating %s: %w", dst, err)
	}
	name := fmt.Sprintf("%s-%d", hex.EncodeToString(ref.SHA256[:]), time.Now().UnixNano())
	if err := os.Rename(path, filepath.Join(dst, name)); err != nil {
		return false, fmt.Errorf("setting damaged blob %s aside: %w", ref, err)
	}
	return true, nil
}

func fileSHA256(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// BlobUsers returns the ids of the stored documents naming the blob with
// SHA-256 sum, in id order. It reads every document record: a scrub
// calls it only for a damaged blob.
func (s *Store) BlobUsers(ctx context.Context, sum [32]byte) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketDocs).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if names, err := recordNamesBlob(v, sum); err != nil {
				return fmt.Errorf("document record %s: %w", k, err)
			} else if names {
				out = append(out, string(k))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding the documents naming blob %x: %w", sum, err)
	}
	return out, nil
}

// recordNamesBlob reports whether a document record has a file reference
// to sum, reading only the record's top-level fields.
func recordNamesBlob(b []byte, sum [32]byte) (bool, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false, errors.New("bad tag")
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false, errors.New("bad field")
		}
		if num == fieldFile && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			if len(v) == 40 && bytes.Equal(v[:32], sum[:]) {
				return true, nil
			}
		}
		b = b[n:]
	}
	return false, nil
}

// ScrubOptions tune a scrub.
type ScrubOptions struct {
	// Rate bounds the bytes read per second; 0 means no bound.
	Rate int64
	// Found is called for each blob that does not match its address; an
	// error stops the scrub.
	Found func(ctx context.Context, d *BlobDamage) error
}

// ScrubResult counts what a scrub read.
type ScrubResult struct {
	// Blobs is the number of blob files checked, damaged ones included.
	Blobs int
	// Bytes is the number of bytes read (but for damaged blobs' last
	// chunks).
	Bytes int64
	// Damaged is the number of blobs that did not match their address.
	Damaged int
}

// Scrub reads every blob file, checking that its SHA-256 is the one its
// name says, at most opts.Rate bytes per second, and gives the damaged
// ones to opts.Found. Blobs removed while it runs are skipped. It hashes
// every file, even one recorded as verified, and records the intact ones
// afresh for ReadBlob (blobread.go).
func (s *Store) Scrub(ctx context.Context, opts ScrubOptions) (ScrubResult, error) {
	var res ScrubResult
	d := s.blobs
	shards, err := d.shards()
	if err != nil {
		return res, fmt.Errorf("scrubbing blobs: %w", err)
	}
	buf := make([]byte, 256<<10)
	start := time.Now()
	// pace sleeps until reading res.Bytes at opts.Rate would be due.
	pace := func() error {
		if opts.Rate <= 0 {
			return ctx.Err()
		}
		due := start.Add(time.Duration(float64(res.Bytes) / float64(opts.Rate) * float64(time.Second)))
		wait := time.Until(due)
		if wait <= 0 {
			return ctx.Err()
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	for _, sh := range shards {
		names, err := readNames(filepath.Join(d.root, sh))
		if err != nil {
			return res, fmt.Errorf("scrubbing blobs: %w", err)
		}
		slices.Sort(names)
		for _, n := range names {
			b, err := hex.DecodeString(n)
			if err != nil || len(b) != 32 || n[:2] != sh {
				continue
			}
			fi, err := os.Stat(filepath.Join(d.root, sh, n))
			if err != nil {
				continue // removed meanwhile
			}
			ref := BlobRef{SHA256: [32]byte(b), Size: fi.Size()}
			err = s.readBlob(ref, buf, true, func(p []byte) error {
				res.Bytes += int64(len(p))
				return pace()
			})
			var dmg *BlobDamage
			switch {
			case errors.As(err, &dmg) && dmg.Missing:
				continue
			case errors.As(err, &dmg):
				res.Damaged++
				if opts.Found != nil {
					if err := opts.Found(ctx, dmg); err != nil {
						return res, err
					}
				}
			case err != nil:
				return res, fmt.Errorf("scrubbing blobs: %w", err)
			}
			res.Blobs++
			if err := pace(); err != nil {
				return res, fmt.Errorf("scrubbing blobs: %w", err)
			}
		}
	}
	return res, nil
}

// countDamaged returns the number of files set aside in blobs/damaged.
func (d *blobDir) countDamaged() (int, error) {
	names, err := readNames(filepath.Join(d.root, damagedDir))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("counting damaged blobs: %w", err)
	}
	return len(names), nil
}
