package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// holdCommitter parks the committer inside a transaction until release is
// called, so that the writes queued meanwhile make up the next batch
// whatever the timing. The parked write commits on release.
func holdCommitter(t *testing.T, s *Store) (waitQueued func(n int), release func()) {
	t.Helper()
	entered, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	go func() {
		done <- s.update(context.Background(), func(*bolt.Tx) error {
			once.Do(func() { close(entered) })
			<-unblock
			return nil
		})
	}()
	<-entered
	waitQueued = func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			s.b.mu.Lock()
			q := len(s.b.queue)
			s.b.mu.Unlock()
			if q >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued, want %d", q, n)
			}
		}
	}
	release = func() {
		t.Helper()
		close(unblock)
		if err := <-done; err != nil {
			t.Fatalf("parked write: %v", err)
		}
	}
	return waitQueued, release
}

func TestAcceptConcurrent(t *testing.T) {
	const n = 50
	s := openStore(t, t.TempDir(), Options{})
	docs := make([]*Document, n)
	for i := range docs {
		id := fmt.Sprintf("m%02d", i)
		docs[i] = newDoc(t, s, id, "s", []string{fmt.Sprintf("R%d", i%5), "ALL"}, []byte("file of "+id))
	}
	before := stats(t, s)

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i, d := range docs {
		wg.Go(func() {
			<-start
			_, dup, err := s.Accept(context.Background(), d)
			if err == nil && dup {
				err = errors.New("reported as duplicate")
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Accept(m%02d): %v", i, err)
		}
	}

	all := pending(t, s, "ALL")
	slices.Sort(all)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	if !slices.Equal(all, want) {
		t.Errorf("Pending(ALL) = %q, want %q", all, want)
	}
	for r := range 5 {
		got := pending(t, s, fmt.Sprintf("R%d", r))
		slices.Sort(got)
		var want []string
		for i := r; i < n; i += 5 {
			want = append(want, fmt.Sprintf("m%02d", i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("Pending(R%d) = %q, want %q", r, got, want)
		}
	}
	after := stats(t, s)
	if want := (counts{Documents: n, Pending: 2 * n, Blobs: n}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
	commits, writes := after.Commits-before.Commits, after.Writes-before.Writes
	t.Logf("%d documents in %d transactions", writes, commits)
	if writes != n || commits >= n {
		t.Errorf("%d writes in %d commits; want %d writes sharing fewer transactions", writes, commits, n)
	}
}

// TestBatchIsolatesFailures puts writes that fail into one batch with good
// ones: a write that fails after writing (or panics) is rolled back alone,
// a rejected one (a conflict) does not disturb the transaction, and the
// good ones commit together.
func TestBatchIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	accept(t, s, newDoc(t, s, "taken", "original", []string{"A"}))
	before := stats(t, s)
	waitQueued, release := holdCommitter(t, s)

	good := []*Document{
		newDoc(t, s, "g1", "s", []string{"A"}, []byte("g1")),
		newDoc(t, s, "g2", "s", []string{"A"}, []byte("g2")),
	}
	conflicting := newDoc(t, s, "taken", "changed", []string{"A"}, []byte("c"))
	errBoom := errors.New("boom")
	var wg sync.WaitGroup
	var goodErrs [2]error
	var conflictErr, failErr, panicErr error
	for i, d := range good {
		wg.Go(func() { _, _, goodErrs[i] = s.Accept(ctx, d) })
	}
	wg.Go(func() { _, _, conflictErr = s.Accept(ctx, conflicting) })
	wg.Go(func() {
		failErr = s.update(ctx, func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketAgencies).Put([]byte("half-written"), []byte("x")); err != nil {
				return err
			}
			return errBoom
		})
	})
	wg.Go(func() {
		panicErr = s.update(ctx, func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketAgencies).Put([]byte("panicked"), []byte("x")); err != nil {
				return err
			}
			panic("bug")
		})
	})
	waitQueued(5)
	release()
	wg.Wait()

	for i, err := range goodErrs {
		if err != nil {
			t.Errorf("Accept(g%d) = %v", i+1, err)
		}
	}
	wantErr(t, conflictErr, ErrConflict)
	wantErr(t, failErr, errBoom)
	if panicErr == nil {
		t.Error("panicking write reported success")
	}
	as, err := s.Agencies(ctx)
	if err != nil || len(as) != 0 {
		t.Errorf("Agencies = %v, %v; the failed writes were not rolled back", as, err)
	}
	if got := pending(t, s, "A"); len(got) != 3 {
		t.Errorf("Pending(A) = %q, want taken, g1, g2", got)
	}
	after := stats(t, s)
	// Minus the parked write and its transaction:
	if c, w := after.Commits-before.Commits-1, after.Writes-before.Writes-1; c != 1 || w != 3 {
		t.Errorf("%d writes in %d commits, want the 3 surviving writes in 1", w, c)
	}
	if want := (counts{Documents: 3, Pending: 3, Blobs: 2}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
}

// TestBatchSameMessageTwice sends two different envelopes with one message
// id in one batch: exactly one is stored, the other conflicts.
func TestBatchSameMessageTwice(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	docs := []*Document{
		newDoc(t, s, "m1", "first", []string{"A"}, []byte("first")),
		newDoc(t, s, "m1", "second", []string{"A"}, []byte("second")),
	}
	waitQueued, release := holdCommitter(t, s)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, d := range docs {
		wg.Go(func() { _, _, errs[i] = s.Accept(ctx, d) })
	}
	waitQueued(2)
	release()
	wg.Wait()
	winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	if winner < 0 || !errors.Is(errs[1-winner], ErrConflict) {
		t.Fatalf("errors = %v, want one nil and one conflict", errs)
	}
	d, err := s.Document(ctx, "m1")
	if err != nil || d.EnvelopeSHA256 != docs[winner].EnvelopeSHA256 {
		t.Errorf("stored %v, %v; want the winner's envelope", d, err)
	}
	if want := (counts{Documents: 1, Pending: 1, Blobs: 1}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
	if st := stats(t, s); st.Commits != 2 || st.Writes != 3 {
		t.Errorf("%d writes in %d commits, want the parked one, then both in one", st.Writes, st.Commits)
	}
}

// TestBatchSize checks that MaxBatchSize caps a transaction and that a full
// batch does not wait for the window.
func TestBatchSize(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{MaxBatchDelay: time.Hour, MaxBatchSize: 4})
	waitQueued, release := holdCommitter(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 8 {
		d := newDoc(t, s, fmt.Sprintf("m%d", i), "s", []string{"A"})
		wg.Go(func() { _, _, errs[i] = s.Accept(ctx, d) })
	}
	waitQueued(8)
	release()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, s); st.Commits != 3 || st.Writes != 9 {
		t.Errorf("%d writes in %d commits, want the parked one, then 8 in 2", st.Writes, st.Commits)
	}
}

// TestBatchWindow checks when a write waits for company: not when it is
// alone, for MaxBatchDelay after a transaction that carried several.
func TestBatchWindow(t *testing.T) {
	const window = time.Second
	s := openStore(t, t.TempDir(), Options{MaxBatchDelay: window})
	timed := func(id string) time.Duration {
		t.Helper()
		d := newDoc(t, s, id, "s", []string{"A"})
		start := time.Now()
		accept(t, s, d)
		return time.Since(start)
	}
	if d := timed("lone"); d >= window {
		t.Errorf("a lone write took %v, want no window", d)
	}
	waitQueued, release := holdCommitter(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"c1", "c2"} {
		d := newDoc(t, s, id, "s", []string{"A"})
		wg.Go(func() { _, _, errs[i] = s.Accept(context.Background(), d) })
	}
	waitQueued(2)
	release()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if d := timed("after company"); d < window*9/10 {
		t.Errorf("the write after a batch of two took %v, want the %v window", d, window)
	}
	if d := timed("alone again"); d >= window {
		t.Errorf("a write after a batch of one took %v, want no window", d)
	}
}
