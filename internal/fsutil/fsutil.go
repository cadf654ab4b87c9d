// Package fsutil holds the file-system steps that the hub's store and the
// node's inbox and outbox share for durability: flushing one file's data
// (SyncData) and a directory (SyncDir) so that a file created or renamed
// in it survives power loss, and a group sync that makes everything
// written to one file system durable with one system call shared by
// concurrent writers.
package fsutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// SyncDir fsyncs the directory dir.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// ErrOtherFileSystem is returned when a GroupSync is asked to cover a path
// on another file system than its own: syncing its own would not make that
// path durable.
var ErrOtherFileSystem = errors.New("not on the file system the group sync flushes")

// GroupSync makes every file and directory entry written to one file
// system durable (syncfs(2) on Linux) and shares each flush among the
// writers waiting for one. A caller's writes are durable once a flush that
// started after them has completed, so callers that arrive while a flush
// runs wait together for the next one: under load one flush serves many
// documents, instead of one fsync per file and one per directory each.
//
// The price is that a flush also writes back what other programs left
// dirty on the same file system, and waits for it: its time grows with
// their writes, not with the caller's. Where few files are written per
// flush, SyncData and SyncDir on just those files cost less and vary
// less (the hub's blob store uses them); a group sync pays off when many
// writers in one process wait together on a disk of their own.
type GroupSync struct {
	dir  *os.File
	dev  uint64
	sync func() error // the flush; replaced in tests

	mu      sync.Mutex
	next    *flush // the flush the next caller waits for; nil: none yet
	running bool

	flushes atomic.Uint64

	// OnFlush, if set before the first Sync, is told of every flush: how
	// long it took and how many callers it served (the hub's metrics).
	OnFlush func(waiters int, d time.Duration)
}

// flush is one flush and the callers waiting for it.
type flush struct {
	done    chan struct{}
	err     error
	waiters int // callers waiting for it; read by tests
}

// NewGroupSync returns a GroupSync for the file system holding dir.
func NewGroupSync(dir string) (*GroupSync, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening %s for syncing: %w", dir, err)
	}
	dev, err := deviceOf(dir)
	if err != nil {
		d.Close()
		return nil, err
	}
	g := &GroupSync{dir: d, dev: dev}
	g.sync = func() error { return syncFileSystem(d) }
	return g, nil
}

// Covers reports whether path (which must exist) is on g's file system;
// an error wrapping ErrOtherFileSystem if not.
func (g *GroupSync) Covers(path string) error {
	dev, err := deviceOf(path)
	if err != nil {
		return err
	}
	if dev != g.dev {
		return fmt.Errorf("%s is %w (%s)", path, ErrOtherFileSystem, g.dir.Name())
	}
	return nil
}

// Sync returns once everything written before the call is durable, or
// when ctx ends (the flush then still runs, for the other callers).
func (g *GroupSync) Sync(ctx context.Context) error {
	g.mu.Lock()
	f := g.next
	if f == nil {
		f = &flush{done: make(chan struct{})}
		g.next = f
	}
	f.waiters++
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return fmt.Errorf("flushing the file system of %s: %w", g.dir.Name(), f.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run flushes while callers wait; a caller that arrives during a flush
// joins the next one, which starts only after that flush has ended.
func (g *GroupSync) run() {
	for {
		g.mu.Lock()
		f := g.next
		g.next = nil
		if f == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		waiters := f.waiters
		g.mu.Unlock()
		start := time.Now()
		f.err = g.sync()
		if g.OnFlush != nil {
			g.OnFlush(waiters, time.Since(start))
		}
		g.flushes.Add(1)
		close(f.done)
	}
}

// Flushes is the number of flushes done so far.
func (g *GroupSync) Flushes() uint64 { return g.flushes.Load() }

// Close releases the directory handle. Sync must not be called after.
func (g *GroupSync) Close() error { return g.dir.Close() }
