package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestBlobPinsUnderConcurrency has many writers upload the same few
// contents at once, some accepting documents with them and some giving
// them up, while sweeps run: a blob must end up kept exactly when a stored
// document names it, and no temporary file may be left.
func TestBlobPinsUnderConcurrency(t *testing.T) {
	const (
		workers  = 48
		variants = 6 // contents 0-2 are accepted by some workers; 3-5 never
		rounds   = 4
	)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := func(v int) []byte { return fmt.Appendf(nil, "content %d", v) }
	accepts := func(i int) bool { return i%variants < 3 && (i/variants)%2 == 0 }

	stop := make(chan struct{})
	sweeps := make(chan error, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				t.Logf("%d concurrent sweeps", n)
				sweeps <- nil
				return
			default:
			}
			if _, err := s.SweepBlobs(ctx); err != nil {
				sweeps <- err
				return
			}
			n++
		}
	}()
	docs := make([][]*Document, workers) // built here: t.Fatal is for this goroutine only
	for i := range workers {
		for r := range rounds {
			docs[i] = append(docs[i], newDoc(t, s, fmt.Sprintf("w%02d-%d", i, r), "s", []string{"A"}))
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			for _, d := range docs[i] {
				w, err := s.NewBlob()
				if err != nil {
					errs[i] = err
					return
				}
				if _, err := w.Write(content(i % variants)); err != nil {
					errs[i] = err
					return
				}
				ref, err := w.Commit(context.Background())
				if err != nil {
					errs[i] = err
					return
				}
				if !accepts(i) {
					s.DiscardBlobs([]BlobRef{ref})
					continue
				}
				d.Files = []BlobRef{ref}
				if _, dup, err := s.Accept(ctx, d); err != nil || dup {
					errs[i] = fmt.Errorf("Accept: duplicate %v, %v", dup, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-sweeps; err != nil {
		t.Errorf("SweepBlobs: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}

	check := func(when string) {
		t.Helper()
		var nDocs int
		for i := range workers {
			if !accepts(i) {
				continue
			}
			for r := range rounds {
				id := fmt.Sprintf("w%02d-%d", i, r)
				d, err := s.Document(ctx, id)
				if err != nil {
					t.Errorf("%s: %v", when, err)
					continue
				}
				nDocs++
				if got := readBlob(t, s, d.Files[0]); string(got) != string(content(i%variants)) {
					t.Errorf("%s: %s has file %q, want %q", when, id, got, content(i%variants))
				}
			}
		}
		for v := range variants {
			_, err := s.OpenBlob(BlobRef{SHA256: sha256.Sum256(content(v))})
			if v < 3 && err != nil {
				t.Errorf("%s: accepted content %d: %v", when, v, err)
			}
			if v >= 3 && !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: content %d, never accepted, is still stored (%v)", when, v, err)
			}
		}
		if want := (counts{Documents: nDocs, Pending: nDocs, Blobs: 3}); countsOf(t, s) != want {
			t.Errorf("%s: counts = %+v, want %+v", when, countsOf(t, s), want)
		}
	}
	check("before reopening")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	<-s.sweepDone
	check("after reopening")
}

// TestCloseWhileAccepting closes the store while writers are uploading and
// accepting: every write that failed says ErrClosed and stored nothing,
// every Accept that returned nil is there after reopening, blob intact,
// and the reopened store holds no blob that no document names.
func TestCloseWhileAccepting(t *testing.T) {
	const workers = 16
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		accepted = make(map[string][]byte) // id → file contents
		refused  []string                  // ids whose Accept failed
		stored   atomic.Int32
	)
	// Far more documents than are sent before Close, built here: t.Fatal is
	// for this goroutine only.
	const rounds = 64
	docs := make([][]*Document, workers)
	for i := range workers {
		for r := range rounds {
			docs[i] = append(docs[i], newDoc(t, s, fmt.Sprintf("w%02d-%04d", i, r), "s", []string{"A"}))
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			for _, d := range docs[i] {
				id := d.MessageID
				data := fmt.Appendf(nil, "file of %s", id)
				w, err := s.NewBlob()
				if err != nil {
					errs[i] = err
					return
				}
				if _, err := w.Write(data); err != nil {
					errs[i] = err
					return
				}
				ref, err := w.Commit(context.Background())
				if err != nil {
					errs[i] = err
					return
				}
				d.Files = []BlobRef{ref}
				if _, _, err := s.Accept(ctx, d); err != nil {
					mu.Lock()
					refused = append(refused, id)
					mu.Unlock()
					errs[i] = err
					return
				}
				mu.Lock()
				accepted[id] = data
				mu.Unlock()
				stored.Add(1)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); stored.Load() < 3*workers && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("worker %d stopped with %v, want ErrClosed", i, err)
		}
	}

	s = openStore(t, dir, Options{})
	<-s.sweepDone
	for id, data := range accepted {
		d, err := s.Document(ctx, id)
		if err != nil {
			t.Errorf("accepted before Close, lost: %v", err)
			continue
		}
		if got := readBlob(t, s, d.Files[0]); string(got) != string(data) {
			t.Errorf("%s: file %q, want %q", id, got, data)
		}
	}
	for _, id := range refused {
		_, err := s.Document(ctx, id)
		wantErr(t, err, ErrNotFound)
	}
	n := len(accepted)
	if want := (counts{Documents: n, Pending: n, Blobs: n}); countsOf(t, s) != want {
		t.Errorf("counts after reopening = %+v, want %+v", countsOf(t, s), want)
	}
	if got := pending(t, s, "A"); len(got) != n {
		t.Errorf("Pending(A) has %d entries, want %d", len(got), n)
	}
	t.Logf("%d accepted, %d refused at Close", n, len(refused))
}

// TestSubscriberSeesEveryAccept runs a recipient the way the hub's Receive
// does (wait for a signal, read Pending, Ack each) against concurrent
// senders: it must see every document exactly once, and a signal must
// never come before the commit it announces.
func TestSubscriberSeesEveryAccept(t *testing.T) {
	const senders, each = 8, 10
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	ch, cancel := s.Subscribe("A")
	defer cancel()
	chC, cancelC := s.Subscribe("C")
	cancelC()

	var want []string
	acks := make(map[string]*lienthongv1.Receipt) // built here: t.Fatal is for this goroutine only
	for i := range senders {
		for j := range each {
			id := fmt.Sprintf("s%d-%02d", i, j)
			want = append(want, id)
			acks[id] = deliveredReceipt(t, id, "A", t0.Add(time.Minute))
		}
	}
	got := make(chan []string, 1)
	go func() {
		var seen []string
		defer func() { got <- seen }()
		for len(seen) < senders*each {
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				return
			}
			ids, err := s.Pending(ctx, "A")
			if err != nil {
				return
			}
			for _, id := range ids {
				if _, err := s.Ack(ctx, "A", id, acks[id]); err != nil {
					return
				}
				seen = append(seen, id)
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range senders {
		docs := make([]*Document, each)
		for j := range docs {
			docs[j] = newDoc(t, s, fmt.Sprintf("s%d-%02d", i, j), "s", []string{"A", "B"})
		}
		wg.Go(func() {
			for _, d := range docs {
				if _, _, err := s.Accept(ctx, d); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := <-got
	slices.Sort(seen)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("subscriber saw %d documents %q, want each of %d once", len(seen), seen, len(want))
	}
	if p := pending(t, s, "A"); len(p) != 0 {
		t.Errorf("Pending(A) = %q after the subscriber acked everything", p)
	}
	if p := pending(t, s, "B"); len(p) != senders*each {
		t.Errorf("Pending(B) has %d entries, want %d", len(p), senders*each)
	}
	if signalled(chC) {
		t.Error("a cancelled subscription was signalled")
	}
}
