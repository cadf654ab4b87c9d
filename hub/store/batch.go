package store

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An op is one caller's write, waiting for the committer.
type op struct {
	fn    func(*bolt.Tx) error
	at    time.Time    // when it was queued
	state atomic.Int32 // opQueued → opClaimed by the committer, or → opCancelled by the caller
	err   error        // set by the committer before done is closed
	done  chan struct{}
}

const (
	opQueued int32 = iota
	opClaimed
	opCancelled
)

// rejection is an op's failure that wrote nothing: the transaction goes on
// with the other ops of the batch.
type rejection struct{ err error }

func (r rejection) Error() string { return r.err.Error() }
func (r rejection) Unwrap() error { return r.err }

// reject marks err as a failure that left the transaction untouched.
func reject(err error) error { return rejection{err} }

// batcher is the single writer: it packs queued ops into one transaction
// (group commit). While a transaction commits, new ops queue and go into
// the next one, so batches grow with load by themselves: an op that finds
// the committer idle commits at once, and under load each transaction
// carries what arrived during the previous one's fsync.
//
// Optionally (Options.MaxBatchDelay > 0), when writes are concurrent (the
// last transaction carried more than one, or more than one is queued) a
// batch also waits for others to join it until that delay has passed
// since its first op was queued, or MaxBatchSize ops are waiting, or
// Close. It is off by default: under load the first op of a batch has
// usually waited out the window during the previous commit already, so
// the window only ever added its delay at modest load, where a commit is
// quick and there is little to gain (the hub's Send at 20 documents/s
// waited up to 2 ms for acknowledgements to join it).
type batcher struct {
	db    *bolt.DB
	delay time.Duration
	max   int
	last  int // ops in the last transaction; used by run only

	mu     sync.Mutex
	queue  []*op
	closed bool

	wake    chan struct{} // buffer 1: something was queued or closed
	stopped chan struct{} // closed when run returns

	commits atomic.Uint64
	writes  atomic.Uint64

	// onPanic is told of a panic in a transaction, with its stack, and
	// returns the error its ops get (see Store.panicked).
	onPanic func(p any, stack []byte) error
	// observe, if set, is told of every group commit (Options.Observer).
	observe func(writes int, d time.Duration)
	// committing, if set, sees each transaction just before it commits:
	// what a crash from then on may leave (tests).
	committing func(tx *bolt.Tx)
}

func newBatcher(db *bolt.DB, delay time.Duration, max int) *batcher {
	return &batcher{db: db, delay: delay, max: max, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *batcher) submit(o *op) error {
	o.at = time.Now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.queue = append(b.queue, o)
	b.mu.Unlock()
	b.signal()
	return nil
}

// close refuses new ops, lets run commit those queued and waits for it.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.signal()
	<-b.stopped
}

func (b *batcher) run() {
	defer close(b.stopped)
	// A fault reading a damaged page of the mmap panics (and is recovered
	// in commit) instead of killing the hub.
	debug.SetPanicOnFault(true)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		b.mu.Lock()
		n, closed := len(b.queue), b.closed
		var first time.Time
		if n > 0 {
			first = b.queue[0].at
		}
		b.mu.Unlock()
		if n == 0 {
			if closed {
				return
			}
			<-b.wake
			continue
		}
		if !closed && n < b.max && b.delay > 0 && (n > 1 || b.last > 1) {
			if wait := time.Until(first.Add(b.delay)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-b.wake:
					timer.Stop()
				}
				continue
			}
		}
		b.commit(b.take())
	}
}

// take claims up to max queued ops, dropping those their callers gave up.
func (b *batcher) take() []*op {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ops []*op
	i := 0
	for ; i < len(b.queue) && len(ops) < b.max; i++ {
		if o := b.queue[i]; o.state.CompareAndSwap(opQueued, opClaimed) {
			ops = append(ops, o)
		}
	}
	rest := copy(b.queue, b.queue[i:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	return ops
}

// commit runs ops in one transaction and commits it. An op that fails
// after writing spoils the transaction: it is rolled back, that op gets its
// error and the others run again in a new one.
func (b *batcher) commit(ops []*op) {
	finish := func(o *op) { close(o.done) }
	for len(ops) > 0 {
		tx, err := b.db.Begin(true)
		if err != nil {
			for _, o := range ops {
				o.err = fmt.Errorf("starting transaction: %w", err)
				finish(o)
			}
			return
		}
		failed := -1
		for i, o := range ops {
			o.err = b.safelyCall(o.fn, tx)
			var r rejection
			if errors.As(o.err, &r) {
				o.err = r.err
				continue
			}
			if o.err != nil {
				failed = i
				break
			}
		}
		if failed >= 0 {
			tx.Rollback()
			finish(ops[failed])
			ops = slices.Delete(ops, failed, failed+1)
			continue
		}
		if b.committing != nil {
			b.committing(tx)
		}
		start := time.Now()
		if err := b.safelyCommit(tx); err != nil {
			for _, o := range ops {
				o.err = fmt.Errorf("committing transaction: %w", err)
				finish(o)
			}
			return
		}
		if b.observe != nil {
			b.observe(len(ops), time.Since(start))
		}
		b.last = len(ops)
		b.commits.Add(1)
		b.writes.Add(uint64(len(ops)))
		for _, o := range ops {
			finish(o)
		}
		return
	}
}

// safelyCall turns a panic in fn into its error, so one bad write cannot
// take the committer, and every other writer, down with it.
func (b *batcher) safelyCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = b.panicked(p, debug.Stack())
		}
	}()
	return fn(tx)
}

// safelyCommit commits tx; a panic (bbolt rebalancing onto a damaged page)
// rolls it back and becomes the error.
func (b *batcher) safelyCommit(tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			stack := debug.Stack()
			func() {
				defer func() { recover() }() // the rollback may meet the same page
				tx.Rollback()
			}()
			err = b.panicked(p, stack)
		}
	}()
	return tx.Commit()
}

func (b *batcher) panicked(p any, stack []byte) error {
	if b.onPanic != nil {
		return b.onPanic(p, stack)
	}
	return fmt.Errorf("panic in write transaction: %v", p)
}
