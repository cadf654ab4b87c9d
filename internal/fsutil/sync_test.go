package fsutil

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func newTestSync(t *testing.T) *GroupSync {
	t.Helper()
	g, err := NewGroupSync(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestGroupSyncFlushes(t *testing.T) {
	dir := t.TempDir()
	g, err := NewGroupSync(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := g.Flushes(); got != 1 {
		t.Fatalf("flushes = %d, want 1", got)
	}
	if err := g.Covers(filepath.Join(dir, "a")); err != nil {
		t.Fatalf("Covers(file in its directory) = %v", err)
	}
	if err := g.Covers("/proc/self"); !errors.Is(err, ErrOtherFileSystem) {
		t.Fatalf("Covers(/proc/self) = %v, want ErrOtherFileSystem", err)
	}
	if err := g.Covers(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrOtherFileSystem) {
		t.Fatalf("Covers(missing) = %v, want a stat error", err)
	}
}

// A caller arriving while a flush runs must wait for a flush that starts
// after it (its writes may have missed the running one), and all callers
// arriving during one flush share the next.
func TestGroupSyncWaitsForALaterFlush(t *testing.T) {
	g := newTestSync(t)
	started := make(chan int, 4)
	release := make(chan struct{})
	n := 0
	g.sync = func() error {
		n++ // only run's goroutine calls sync, one at a time
		started <- n
		<-release
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- g.Sync(context.Background()) }()
	if got := <-started; got != 1 {
		t.Fatalf("flush %d started, want 1", got)
	}
	// Three callers arrive while flush 1 runs.
	var wg sync.WaitGroup
	later := make(chan error, 3)
	for range 3 {
		wg.Go(func() { later <- g.Sync(context.Background()) })
	}
	waitQueued(t, g, 3)
	select {
	case err := <-later:
		t.Fatalf("a caller that arrived during flush 1 returned (%v) before flush 2", err)
	default:
	}
	release <- struct{}{} // end flush 1
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := <-started; got != 2 {
		t.Fatalf("flush %d started, want 2", got)
	}
	select {
	case err := <-later:
		t.Fatalf("a caller returned (%v) while its flush was running", err)
	case <-time.After(20 * time.Millisecond):
	}
	release <- struct{}{} // end flush 2
	wg.Wait()
	for range 3 {
		if err := <-later; err != nil {
			t.Fatal(err)
		}
	}
	if got := g.Flushes(); got != 2 {
		t.Fatalf("flushes = %d, want 2 (one shared by the three later callers)", got)
	}
}

// waitQueued waits until n callers wait for the next flush: only then
// may the running flush end, or a straggler would need a third.
func waitQueued(t *testing.T, g *GroupSync, n int) {
	t.Helper()
	for i := 0; ; i++ {
		g.mu.Lock()
		queued := 0
		if g.next != nil {
			queued = g.next.waiters
		}
		g.mu.Unlock()
		if queued == n {
			return
		}
		if i > 5000 {
			t.Fatalf("%d callers queued for the next flush, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupSyncError(t *testing.T) {
	g := newTestSync(t)
	boom := errors.New("I/O error")
	g.sync = func() error { return boom }
	if err := g.Sync(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Sync = %v, want %v", err, boom)
	}
	g.sync = func() error { return nil }
	if err := g.Sync(context.Background()); err != nil {
		t.Fatalf("Sync after a failed flush = %v, want nil", err)
	}
}

func TestGroupSyncCancelled(t *testing.T) {
	g := newTestSync(t)
	release := make(chan struct{})
	g.sync = func() error { <-release; return nil }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync(cancelled) = %v, want context.Canceled", err)
	}
	close(release)
	if err := g.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSyncData(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := SyncData(f); err != nil {
		t.Fatalf("SyncData = %v", err)
	}
	f.Close()
	if err := SyncData(f); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("SyncData(closed file) = %v, want os.ErrClosed", err)
	}
}
