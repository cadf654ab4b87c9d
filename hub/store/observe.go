package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Observer is told how long the store's durable steps take, for the hub's
// metrics. Its methods are called on the writers' and the committer's
// goroutines and must not block.
type Observer interface {
	// BlobCommitted: a blob of size bytes was made durable under its
	// content address (flush, rename, flush of the rename) in d.
	BlobCommitted(size int64, d time.Duration)
	// Committed: one group commit carried writes writes, and bbolt's
	// commit (its writes and fsync) took d.
	Committed(writes int, d time.Duration)
	// Flushed: one flush of a blob commit (the fdatasync of its file or
	// the fsync of its directory) served waiters (one) and took d.
	Flushed(waiters int, d time.Duration)
}

// QueueStat is one recipient's queue: documents accepted for it and not
// yet acknowledged.
type QueueStat struct {
	Recipient string
	Pending   int
	// Oldest is when the oldest pending document was queued.
	Oldest time.Time
}

// Queues returns every non-empty recipient queue. It reads the whole
// queue bucket in one read transaction (O(pending entries)), and the
// delivery record of each recipient's first entry, the oldest (queues
// are FIFO).
func (s *Store) Queues(ctx context.Context) ([]QueueStat, error) {
	var out []QueueStat
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		deliveries := tx.Bucket(bucketDeliveries)
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n, w := binary.Uvarint(k)
			if w <= 0 || uint64(len(k)-w) < n {
				return fmt.Errorf("queue key %x is malformed", k)
			}
			recipient := k[w : w+int(n)]
			if len(out) > 0 && out[len(out)-1].Recipient == string(recipient) {
				out[len(out)-1].Pending++
				continue
			}
			q := QueueStat{Recipient: string(recipient), Pending: 1}
			if rec := deliveries.Get(deliveryKey(string(v), q.Recipient)); rec != nil {
				if d, err := decodeDelivery(rec); err == nil {
					q.Oldest = d.time
				}
			}
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the delivery queues: %w", err)
	}
	return out, nil
}

// Ready reports why the store cannot take writes (closed, or its database
// found damaged), or nil when it can.
func (s *Store) Ready() error {
	switch {
	case s.blobs.closed.Load():
		return ErrClosed
	case s.damaged.Load():
		return ErrDamaged
	}
	return nil
}
