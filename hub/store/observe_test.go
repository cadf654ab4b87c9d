package store

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	blobs   []int64
	writes  []int
	waiters []int
}

func (r *recorder) BlobCommitted(size int64, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blobs = append(r.blobs, size)
}

func (r *recorder) Committed(writes int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, writes)
}

func (r *recorder) Flushed(waiters int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiters = append(r.waiters, waiters)
}

// Queues gives each waiting recipient its count and the accepted time of
// its oldest delivery; an acknowledged delivery leaves the queue. The
// observer hears of every blob (with its size) and every group commit.
func TestQueuesAndObserver(t *testing.T) {
	rec := &recorder{}
	s := openStore(t, t.TempDir(), Options{Observer: rec})
	ctx := context.Background()
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	docs := []struct {
		id         string
		recipients []string
		accepted   time.Time
	}{
		{"m1", []string{"A", "B"}, at(0)},
		{"m2", []string{"A"}, at(1)},
		{"m3", []string{"B", "C"}, at(2)},
	}
	for _, d := range docs {
		doc := newDoc(t, s, d.id, "x", d.recipients, []byte("file of "+d.id))
		doc.Accepted = receipt(t, &lienthongv1.ReceiptBody{ReceiptId: "acc-" + d.id, MessageId: d.id,
			Status: lienthongv1.Status_STATUS_ACCEPTED, Recipients: d.recipients, Time: timestamppb.New(d.accepted)})
		accept(t, s, doc)
	}
	if _, err := s.Ack(ctx, "B", "m1", deliveredReceipt(t, "m1", "B", at(3))); err != nil {
		t.Fatal(err)
	}
	got, err := s.Queues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueStat{
		{Recipient: "A", Pending: 2, Oldest: at(0)},
		{Recipient: "B", Pending: 1, Oldest: at(2)}, // m1 acknowledged
		{Recipient: "C", Pending: 1, Oldest: at(2)},
	}
	slices.SortFunc(got, func(a, b QueueStat) int { return cmp.Compare(a.Recipient, b.Recipient) })
	if !slices.EqualFunc(got, want, func(a, b QueueStat) bool {
		return a.Recipient == b.Recipient && a.Pending == b.Pending && a.Oldest.Equal(b.Oldest)
	}) {
		t.Errorf("Queues = %+v, want %+v", got, want)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.blobs) != 3 || rec.blobs[0] != int64(len("file of m1")) {
		t.Errorf("blob commits observed: %v, want 3 of %d bytes", rec.blobs, len("file of m1"))
	}
	total := 0
	for _, w := range rec.writes {
		total += w
	}
	if total != 4 { // three Accepts and one Ack
		t.Errorf("writes observed in group commits: %v (sum %d), want sum 4", rec.writes, total)
	}
	// Each blob commit waits for two flushes (before and after its rename);
	// one after another here, so each flush served one commit.
	if len(rec.waiters) != 6 || slices.ContainsFunc(rec.waiters, func(n int) bool { return n != 1 }) {
		t.Errorf("flushes observed: %v, want 6 serving one commit each", rec.waiters)
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready on an open store: %v", err)
	}
}

// Ready says why a store cannot take writes.
func TestReadyAfterClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Ready(), ErrClosed)
}
