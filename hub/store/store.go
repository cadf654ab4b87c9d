// Package store is the hub's durable storage: a bbolt database holding the
// directory, document records, per-recipient delivery queues, statuses and
// receipts, and content-addressed blob files holding the documents' bytes.
//
// Blob files are written and fsynced before the transaction that names
// them commits, and every write transaction is fsynced, so a document the
// hub calls "accepted" survives kill -9 and power loss. Concurrent writers
// share transactions (bbolt's Batch): many senders, one fsync.
//
// Callers see methods such as Accept and Ack, never a transaction.
package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no such message, delivery or agency.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the message id was accepted before with another envelope.
	ErrConflict = errors.New("message id already used with a different envelope")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store closed")
)

// Bucket names. Keys that combine a message id or agency code with a
// suffix use a zero byte as separator.
var (
	bucketAgencies   = []byte("agencies")   // code → Agency
	bucketDocs       = []byte("docs")       // id → docRecord
	bucketDeliveries = []byte("deliveries") // id 0 recipient → deliveryRecord
	bucketQueue      = []byte("queue")      // recipient 0 seq → id
	bucketReceipts   = []byte("receipts")   // id 0 seq → Receipt
	bucketBlobRefs   = []byte("blobrefs")   // sha256 → reference count
)

func allBuckets() [][]byte {
	return [][]byte{bucketAgencies, bucketDocs, bucketDeliveries, bucketQueue, bucketReceipts, bucketBlobRefs}
}

// Options tune a Store.
type Options struct {
	// MaxBatchDelay is the group-commit window; default 2ms.
	MaxBatchDelay time.Duration
	// MaxBatchSize caps a group commit; default 256.
	MaxBatchSize int
	// Logger; nil discards.
	Logger *slog.Logger
}

// Store is the hub's storage. It is safe for concurrent use.
type Store struct {
	dir   string
	db    *bolt.DB
	log   *slog.Logger
	blobs *blobDir

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Open opens or creates the store in dir (dir/hub.db and dir/blobs/).
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxBatchDelay == 0 {
		opts.MaxBatchDelay = 2 * time.Millisecond
	}
	if opts.MaxBatchSize == 0 {
		opts.MaxBatchSize = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating store directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "hub.db"), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("hub database %s is in use by another process (is lthub serve running?)", filepath.Join(dir, "hub.db"))
	}
	if err != nil {
		return nil, fmt.Errorf("opening hub database: %w", err)
	}
	db.MaxBatchDelay = opts.MaxBatchDelay
	db.MaxBatchSize = opts.MaxBatchSize
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets() {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating buckets: %w", err)
	}
	s := &Store{dir: dir, db: db, log: opts.Logger, subs: make(map[string]map[chan struct{}]struct{})}
	if s.blobs, err = openBlobDir(filepath.Join(dir, "blobs")); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.collectOrphans(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database. Pending batches commit first.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing hub database: %w", err)
	}
	return nil
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// batch runs fn in a group-committed write transaction. fn may run more
// than once (bbolt retries a failed batch one function at a time), so it
// must reset whatever it reports.
func (s *Store) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Batch(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// PutAgencies inserts or replaces agencies by code.
func (s *Store) PutAgencies(ctx context.Context, agencies []*lienthongv1.Agency) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAgencies)
		for _, a := range agencies {
			v, err := proto.Marshal(a)
			if err != nil {
				return fmt.Errorf("encoding agency %s: %w", a.GetCode(), err)
			}
			if err := b.Put([]byte(a.GetCode()), v); err != nil {
				return fmt.Errorf("storing agency %s: %w", a.GetCode(), err)
			}
		}
		return nil
	})
}

// Agencies returns the directory sorted by code.
func (s *Store) Agencies(ctx context.Context) ([]*lienthongv1.Agency, error) {
	var out []*lienthongv1.Agency
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAgencies).ForEach(func(k, v []byte) error {
			a := new(lienthongv1.Agency)
			if err := proto.Unmarshal(v, a); err != nil {
				return fmt.Errorf("decoding agency %s: %w", k, err)
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// Document is a stored document: its signed envelope, resolved recipients,
// file references, the hub's accepted receipt and verification summary.
type Document struct {
	MessageID      string
	Sender         string
	Envelope       *lienthongv1.SignedEnvelope
	EnvelopeSHA256 [32]byte
	Recipients     []string
	Files          []BlobRef
	Accepted       *lienthongv1.Receipt
	Verification   *lienthongv1.Verification
}

func key(a string, b []byte) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func seqKey(a string, seq uint64) []byte {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], seq)
	return key(a, n[:])
}

// Accept stores a document with one delivery and one queue entry per
// recipient, and its accepted receipt, in a group-committed, fsynced
// transaction. A message id seen before with the same envelope returns the
// stored document and duplicate=true; with another envelope, ErrConflict.
// The pins of doc.Files are released; blobs no document references are
// removed.
func (s *Store) Accept(ctx context.Context, doc *Document) (stored *Document, duplicate bool, err error) {
	defer func() { s.blobs.release(doc.Files, s.referenced) }()
	rec, err := encodeDoc(doc)
	if err != nil {
		return nil, false, err
	}
	acceptedAt, err := receiptTime(doc.Accepted)
	if err != nil {
		return nil, false, err
	}
	rcpt, err := proto.Marshal(doc.Accepted)
	if err != nil {
		return nil, false, fmt.Errorf("encoding receipt: %w", err)
	}
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		stored, duplicate = nil, false
		docs := tx.Bucket(bucketDocs)
		if prev := docs.Get([]byte(doc.MessageID)); prev != nil {
			d, err := decodeDoc(doc.MessageID, prev)
			if err != nil {
				return err
			}
			if d.EnvelopeSHA256 != doc.EnvelopeSHA256 {
				return ErrConflict
			}
			stored, duplicate = d, true
			return nil
		}
		if err := docs.Put([]byte(doc.MessageID), rec); err != nil {
			return err
		}
		queue, deliveries := tx.Bucket(bucketQueue), tx.Bucket(bucketDeliveries)
		for _, r := range doc.Recipients {
			seq, err := queue.NextSequence()
			if err != nil {
				return err
			}
			if err := queue.Put(seqKey(r, seq), []byte(doc.MessageID)); err != nil {
				return err
			}
			d := delivery{status: lienthongv1.Status_STATUS_ACCEPTED, time: acceptedAt, queueSeq: seq}
			if err := deliveries.Put(key(doc.MessageID, []byte(r)), d.encode()); err != nil {
				return err
			}
		}
		if _, err := appendReceipt(tx, doc.MessageID, rcpt); err != nil {
			return err
		}
		refs := tx.Bucket(bucketBlobRefs)
		for _, f := range doc.Files {
			n := uint64(0)
			if v := refs.Get(f.SHA256[:]); v != nil {
				n = binary.BigEndian.Uint64(v)
			}
			if err := refs.Put(f.SHA256[:], binary.BigEndian.AppendUint64(nil, n+1)); err != nil {
				return err
			}
		}
		stored = doc
		return nil
	})
	if errors.Is(err, ErrConflict) {
		return nil, false, ErrConflict
	}
	if err != nil {
		return nil, false, fmt.Errorf("storing message %s: %w", doc.MessageID, err)
	}
	if !duplicate {
		s.notify(doc.Recipients)
	}
	return stored, duplicate, nil
}

func appendReceipt(tx *bolt.Tx, id string, rcpt []byte) (uint64, error) {
	b := tx.Bucket(bucketReceipts)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	return seq, b.Put(seqKey(id, seq), rcpt)
}

func receiptTime(r *lienthongv1.Receipt) (time.Time, error) {
	body := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(r.GetBody(), body); err != nil {
		return time.Time{}, fmt.Errorf("decoding receipt body: %w", err)
	}
	return body.GetTime().AsTime(), nil
}

// Document returns a stored document.
func (s *Store) Document(ctx context.Context, messageID string) (*Document, error) {
	var d *Document
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get([]byte(messageID))
		if v == nil {
			return ErrNotFound
		}
		var err error
		d, err = decodeDoc(messageID, v)
		return err
	})
	return d, err
}

// Pending returns the message ids waiting for recipient, oldest first.
func (s *Store) Pending(ctx context.Context, recipient string) ([]string, error) {
	var ids []string
	prefix := key(recipient, nil)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			ids = append(ids, string(v))
		}
		return nil
	})
	return ids, err
}

// Ack records that recipient stored messageID: the queue entry goes, the
// delivery becomes DELIVERED and the receipt is appended. A repeated Ack
// returns the first receipt and stores nothing.
func (s *Store) Ack(ctx context.Context, recipient, messageID string, delivered *lienthongv1.Receipt) (*lienthongv1.Receipt, error) {
	at, err := receiptTime(delivered)
	if err != nil {
		return nil, err
	}
	raw, err := proto.Marshal(delivered)
	if err != nil {
		return nil, fmt.Errorf("encoding receipt: %w", err)
	}
	var out *lienthongv1.Receipt
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		out = nil
		deliveries := tx.Bucket(bucketDeliveries)
		dk := key(messageID, []byte(recipient))
		v := deliveries.Get(dk)
		if v == nil {
			return ErrNotFound
		}
		d, err := decodeDelivery(v)
		if err != nil {
			return err
		}
		if d.deliveredSeq != 0 {
			prev := tx.Bucket(bucketReceipts).Get(seqKey(messageID, d.deliveredSeq))
			out = new(lienthongv1.Receipt)
			return proto.Unmarshal(prev, out)
		}
		if err := tx.Bucket(bucketQueue).Delete(seqKey(recipient, d.queueSeq)); err != nil {
			return err
		}
		seq, err := appendReceipt(tx, messageID, raw)
		if err != nil {
			return err
		}
		d.status, d.time, d.deliveredSeq = lienthongv1.Status_STATUS_DELIVERED, at, seq
		out = delivered
		return deliveries.Put(dk, d.encode())
	})
	if err != nil {
		return nil, fmt.Errorf("recording delivery of %s to %s: %w", messageID, recipient, err)
	}
	return out, nil
}

// Receipts returns a message's receipts in the order stored; with agency
// set, only the accepted receipt and those about that agency.
func (s *Store) Receipts(ctx context.Context, messageID, agency string) ([]*lienthongv1.Receipt, error) {
	var out []*lienthongv1.Receipt
	prefix := key(messageID, nil)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketReceipts).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r := new(lienthongv1.Receipt)
			if err := proto.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decoding receipt of %s: %w", messageID, err)
			}
			if agency != "" {
				body := new(lienthongv1.ReceiptBody)
				if err := proto.Unmarshal(r.GetBody(), body); err != nil {
					return fmt.Errorf("decoding receipt of %s: %w", messageID, err)
				}
				if body.GetStatus() != lienthongv1.Status_STATUS_ACCEPTED && body.GetAgency() != agency {
					continue
				}
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Statuses returns each recipient's current status, sorted by code.
func (s *Store) Statuses(ctx context.Context, messageID string) ([]*lienthongv1.RecipientStatus, error) {
	var out []*lienthongv1.RecipientStatus
	prefix := key(messageID, nil)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d, err := decodeDelivery(v)
			if err != nil {
				return err
			}
			out = append(out, &lienthongv1.RecipientStatus{Agency: string(k[len(prefix):]), Status: d.status, Time: timestamppb.New(d.time)})
		}
		return nil
	})
	return out, err
}

// Subscribe returns a channel signalled (never blocking the writer) after
// a commit adds a queue entry for recipient; cancel releases it.
func (s *Store) Subscribe(recipient string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs[recipient] == nil {
		s.subs[recipient] = make(map[chan struct{}]struct{})
	}
	s.subs[recipient][ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs[recipient], ch)
		if len(s.subs[recipient]) == 0 {
			delete(s.subs, recipient)
		}
		s.mu.Unlock()
	}
}

func (s *Store) notify(recipients []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recipients {
		for ch := range s.subs[r] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Stats counts what the store holds.
type Stats struct {
	Documents int
	Pending   int
	Blobs     int
	TmpFiles  int
}

// Stats returns counts of documents, queue entries, blob files and
// temporary files.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.view(ctx, func(tx *bolt.Tx) error {
		st.Documents = tx.Bucket(bucketDocs).Stats().KeyN
		st.Pending = tx.Bucket(bucketQueue).Stats().KeyN
		return nil
	})
	if err != nil {
		return st, err
	}
	st.Blobs, st.TmpFiles, err = s.blobs.count()
	return st, err
}

// referenced reports whether any stored document names the blob.
func (s *Store) referenced(sum [32]byte) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketBlobRefs).Get(sum[:]) != nil
		return nil
	})
	return ok, err
}

// DiscardBlobs releases blobs written for a document that will not be
// stored, removing those no stored document references and no other
// writer holds.
func (s *Store) DiscardBlobs(refs []BlobRef) { s.blobs.release(refs, s.referenced) }

// collectOrphans removes temporary files and blobs left by a crash between
// writing a blob and committing the document that names it.
func (s *Store) collectOrphans() error {
	removed, err := s.blobs.collect(s.referenced)
	if err != nil {
		return fmt.Errorf("collecting orphan blobs: %w", err)
	}
	if removed > 0 {
		s.log.Info("removed blobs of documents never accepted", "count", removed)
	}
	return nil
}
