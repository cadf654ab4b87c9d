// Package store is the hub's durable storage: a bbolt database holding the
// agency directory, document records, per-recipient delivery queues,
// statuses and receipts, beside content-addressed blob files holding the
// documents' bytes.
//
// Durability: blob files are written, flushed, renamed into place and the
// rename flushed before the transaction that names them commits, and
// every write transaction is fsynced, so a document the hub has called
// "accepted" survives kill -9 and power loss. A blob's flushes are an
// fdatasync of its file and an fsync of its directory, which write back
// nothing else of the disk (blob.go, Commit).
//
// Throughput: every write (Accept, Ack, PutAgencies) goes through one
// committer goroutine that packs the writes of concurrent callers into one
// transaction, so many senders share one fsync (group commit, as etcd's
// backend does). Reads are short bbolt read transactions and run
// concurrently.
//
// Audit: every change appends its entry to the hub's audit chain (package
// audit) in the transaction that makes it; events that change nothing are
// noted and written with the next commit (audit.go). Snapshot copies the
// store while it serves, Verify reads it all back (backup.go).
//
// Callers see methods such as Accept and Ack, never a transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/internal/fsutil"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

var (
	// ErrNotFound reports that no such message, delivery or agency is
	// stored.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a message id was accepted before with a
	// different envelope.
	ErrConflict = errors.New("message id already accepted with a different envelope")
	// ErrClosed reports a call on a closed store.
	ErrClosed = errors.New("store closed")
	// ErrLocked reports that another process (or another Store in this
	// process) holds the database open.
	ErrLocked = errors.New("hub database is in use by another process (is lthub serve running?)")
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// MaxBatchDelay is a group-commit window: while writes are arriving
	// concurrently, how long the first write of a transaction waits for
	// others to join it. A lone writer (the previous transaction carried
	// one write and no other is queued) does not wait. Zero or negative,
	// the default, means no window: a write commits at once when the
	// committer is idle, and the writes that queued while a transaction
	// committed go together into the next one, so batches grow with load
	// without a fixed delay (batch.go says why).
	MaxBatchDelay time.Duration
	// MaxBatchSize caps the writes in one transaction; zero means 256.
	MaxBatchSize int
	// Logger receives warnings and maintenance notes; nil discards them.
	Logger *slog.Logger
	// MustExist makes Open fail with ErrNoStore instead of creating a
	// database (and its directory) that is not there: commands that read a
	// hub's data must not turn a mistyped directory into an empty hub.
	MustExist bool
	// CheckUpTo bounds bbolt's consistency check at Open by the size of
	// the database file: Open checks a file of at most this many bytes and
	// fails with ErrDamaged if the check finds a fault. Zero means
	// DefaultCheckUpTo; negative, no check; math.MaxInt64, always.
	CheckUpTo int64
	// Now is the clock of audit entries; nil means time.Now.
	Now func() time.Time
	// Observer, if set, is told how long blob and group commits take.
	Observer Observer
}

const (
	dbFile      = "hub.db"
	blobsDir    = "blobs"
	openTimeout = time.Second
)

// Store is the hub's storage. It is safe for concurrent use.
type Store struct {
	dir   string
	db    *bolt.DB
	obs   Observer
	log   *slog.Logger
	blobs *blobDir
	b     *batcher

	// damaged is set once a transaction met a damaged page: writes are
	// refused from then on (see recoverDamage).
	damaged atomic.Bool

	// dirty is set when something may have left an unreferenced blob
	// behind (a failed removal); Close then leaves the database marked
	// unclean so that the next Open sweeps.
	dirty atomic.Bool

	sweepCancel context.CancelFunc
	sweepDone   chan struct{}

	closeOnce sync.Once
	closeErr  error

	subMu sync.Mutex
	subs  map[string]map[chan struct{}]struct{}

	// verified records the blob files known intact (blobread.go).
	verified verifiedBlobs

	now   func() time.Time
	notes notes
}

// Open opens or creates the store in dir: dir/hub.db (bbolt, mode 0600)
// and dir/blobs/. It fails with an error wrapping ErrLocked if another
// process holds the database for more than a second. Temporary blob files
// left by a crash are removed; if the store was not closed cleanly, blob
// files that no document references are swept in the background.
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !opts.MustExist {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating store directory: %w", err)
		}
	}
	path := filepath.Join(dir, dbFile)
	db, err := openBolt(path, opts.MustExist)
	if err != nil {
		return nil, err
	}
	if err := check(db, opts.CheckUpTo); err != nil {
		db.Close()
		return nil, err
	}
	clean, err := initSchema(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing hub database %s: %w", path, err)
	}
	blobs, err := openBlobDir(filepath.Join(dir, blobsDir))
	if err != nil {
		db.Close()
		return nil, err
	}
	// The database file and blob directories may be new: make their
	// directory entries durable before anything is stored in them.
	for _, d := range []string{filepath.Dir(filepath.Clean(dir)), dir, blobs.root} {
		if err := fsutil.SyncDir(d); err != nil {
			blobs.closeDirs()
			db.Close()
			return nil, err
		}
	}
	s := &Store{
		dir:       dir,
		db:        db,
		obs:       opts.Observer,
		log:       opts.Logger,
		blobs:     blobs,
		b:         newBatcher(db, opts.MaxBatchDelay, opts.MaxBatchSize),
		sweepDone: make(chan struct{}),
		subs:      make(map[string]map[chan struct{}]struct{}),
		now:       opts.Now,
	}
	s.b.onPanic = s.panicked
	if opts.Observer != nil {
		s.b.observe = opts.Observer.Committed
	}
	go s.b.run()
	ctx, cancel := context.WithCancel(context.Background())
	s.sweepCancel = cancel
	if clean {
		close(s.sweepDone)
	} else {
		go s.sweepInBackground(ctx)
	}
	return s, nil
}

// sweepInBackground removes blobs orphaned by an unclean shutdown: a crash
// between writing a blob and committing the document naming it.
func (s *Store) sweepInBackground(ctx context.Context) {
	defer close(s.sweepDone)
	n, err := s.SweepBlobs(ctx)
	if err != nil {
		s.dirty.Store(true) // unfinished (failed, or cut short by Close): the next Open sweeps again
	}
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("sweeping orphan blobs failed", "err", err)
	case n > 0:
		s.log.Info("removed orphan blobs left by an unclean shutdown", "count", n)
	}
}

// Close commits the writes already queued, stops the background work and
// closes the database. Later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.b.close()
		s.sweepCancel()
		<-s.sweepDone
		pinned := s.blobs.close()
		// Blobs still pinned belong to sends that will not be stored: leave
		// the database unclean so the next Open sweeps them.
		if !pinned && !s.dirty.Load() && !s.damaged.Load() {
			if err := s.db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(metaClean, []byte{1})
			}); err != nil {
				s.closeErr = fmt.Errorf("marking hub database closed cleanly: %w", err)
			}
		}
		if err := s.db.Close(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("closing hub database: %w", err)
		}
		s.blobs.closeDirs()
	})
	return s.closeErr
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.recoverDamage(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// update runs fn in a group-committed write transaction and returns once
// that transaction is durable. fn may run more than once (when another
// write in its batch fails, the batch is retried without it), so it must
// set, not accumulate, whatever it reports. fn returns reject(err) to fail
// without having written anything, which keeps the rest of the batch.
//
// If ctx ends before the committer has taken fn, update returns ctx's
// error and fn never runs; once taken, update waits for the commit.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.damaged.Load() {
		return damaged(ErrDamaged)
	}
	o := &op{fn: fn, done: make(chan struct{})}
	if err := s.b.submit(o); err != nil {
		return err
	}
	select {
	case <-o.done:
		return diskFull(o.err)
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCancelled) {
			return ctx.Err()
		}
		<-o.done
		return diskFull(o.err)
	}
}

// PutAgencies inserts agencies, replacing any stored under the same code,
// and records each in the audit log as done by audit.ActorFrom(ctx).
func (s *Store) PutAgencies(ctx context.Context, agencies []*lienthongv1.Agency) error {
	if len(agencies) == 0 {
		return nil
	}
	recs := make([][]byte, len(agencies))
	for i, a := range agencies {
		if a.GetCode() == "" {
			return errors.New("storing agencies: an agency has no code")
		}
		v, err := proto.Marshal(a)
		if err != nil {
			return fmt.Errorf("encoding agency %s: %w", a.GetCode(), err)
		}
		recs[i] = v
	}
	actor := audit.ActorFrom(ctx)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAgencies)
		for i, a := range agencies {
			if err := b.Put([]byte(a.GetCode()), recs[i]); err != nil {
				return fmt.Errorf("agency %s: %w", a.GetCode(), err)
			}
			if err := s.appendAudit(tx, audit.Entry{Kind: audit.KindDirectory, Actor: actor, Subject: a.GetCode(),
				Detail: fmt.Sprintf("%s; %s; %s; parent %s", a.GetName(), a.GetKind(), a.GetStatus(), a.GetParent())}); err != nil {
				return err
			}
			// The certificates bound, each with its acceptance window, so
			// a bind or a rotation is in the chain as what it is.
			if certs := a.GetCertificates(); len(certs) > 0 {
				var parts []string
				for _, c := range certs {
					p := fmt.Sprintf("%x %s until %s", c.GetSha256()[:min(8, len(c.GetSha256()))], c.GetSubject(), c.GetNotAfter().AsTime().UTC().Format(time.DateOnly))
					if c.GetAcceptedUntil() != nil {
						p += ", accepted until " + c.GetAcceptedUntil().AsTime().UTC().Format(time.RFC3339)
					}
					parts = append(parts, p)
				}
				if err := s.appendAudit(tx, audit.Entry{Kind: audit.KindCertificate, Actor: actor, Subject: a.GetCode(),
					Detail: strings.Join(parts, "; ")}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing agencies: %w", err)
	}
	return nil
}

// Agencies returns the directory sorted by code.
func (s *Store) Agencies(ctx context.Context) ([]*lienthongv1.Agency, error) {
	var out []*lienthongv1.Agency
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketAgencies).ForEach(func(k, v []byte) error {
			a := new(lienthongv1.Agency)
			if err := proto.Unmarshal(v, a); err != nil {
				return fmt.Errorf("decoding agency %s: %w", k, err)
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing agencies: %w", err)
	}
	return out, nil
}

// Agency returns the agency stored under code, or an error wrapping
// ErrNotFound.
func (s *Store) Agency(ctx context.Context, code string) (*lienthongv1.Agency, error) {
	a := new(lienthongv1.Agency)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAgencies).Get([]byte(code))
		if v == nil {
			return ErrNotFound
		}
		return proto.Unmarshal(v, a)
	})
	if err != nil {
		return nil, fmt.Errorf("reading agency %s: %w", code, err)
	}
	return a, nil
}

// Subscribe returns a channel that is signalled after a commit adds a
// queue entry for recipient. The channel has a buffer of one and is never
// blocked on, so several commits may yield one signal: the subscriber
// should then read everything Pending. cancel releases the subscription.
func (s *Store) Subscribe(recipient string) (ch <-chan struct{}, cancel func()) {
	c := make(chan struct{}, 1)
	s.subMu.Lock()
	if s.subs[recipient] == nil {
		s.subs[recipient] = make(map[chan struct{}]struct{})
	}
	s.subs[recipient][c] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs[recipient], c)
			if len(s.subs[recipient]) == 0 {
				delete(s.subs, recipient)
			}
			s.subMu.Unlock()
		})
	}
}

func (s *Store) notify(recipients []string) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for _, r := range recipients {
		for c := range s.subs[r] {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
}

// Stats describes what a store holds and how it has been writing.
type Stats struct {
	// Documents is the number of documents stored.
	Documents int
	// Pending is the number of queue entries: (recipient, document) pairs
	// accepted and not yet acknowledged.
	Pending int
	// Blobs is the number of blob files, temporary files excluded.
	Blobs int
	// TmpFiles is the number of blob files being written (or left by a
	// crash, until the next Open).
	TmpFiles int
	// Damaged is the number of damaged blob files set aside by a
	// quarantine (blobs/damaged), kept for the operator.
	Damaged int
	// Commits is the number of write transactions committed since Open.
	Commits uint64
	// Writes is the number of write calls (Accept, Ack, PutAgencies) those
	// transactions carried; Writes/Commits is the mean batch size.
	Writes uint64
}

// Stats returns counts of documents and queue entries (kept as counters,
// so O(1)), blob and temporary files (counted on disk, so O(blobs)), and
// the committer's counters.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Commits: s.b.commits.Load(), Writes: s.b.writes.Load()}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		st.Documents = int(getUint64(meta.Get(metaDocuments)))
		st.Pending = int(getUint64(meta.Get(metaPending)))
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("reading store counters: %w", err)
	}
	if st.Blobs, st.TmpFiles, err = s.blobs.count(); err != nil {
		return Stats{}, err
	}
	if st.Damaged, err = s.blobs.countDamaged(); err != nil {
		return Stats{}, err
	}
	return st, nil
}
