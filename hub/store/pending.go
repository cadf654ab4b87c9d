package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Pending returns the ids of the messages waiting in recipient's queue
// (accepted, not yet acknowledged), oldest first.
func (s *Store) Pending(ctx context.Context, recipient string) ([]string, error) {
	q, err := s.PendingAfter(ctx, recipient, 0)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(q))
	for i, e := range q {
		ids[i] = e.MessageID
	}
	return ids, nil
}

// Queued is a message waiting in a recipient's queue.
type Queued struct {
	MessageID string
	// Seq is its place in the queue. Places only grow: a message queued
	// after a read has a greater Seq than every one that read saw.
	Seq uint64
}

// PendingAfter returns the messages waiting in recipient's queue with a
// place after after (0: all of them), oldest first. A reader that keeps
// the last Seq it handled reads only what is new, not the whole queue
// again.
func (s *Store) PendingAfter(ctx context.Context, recipient string, after uint64) ([]Queued, error) {
	var out []Queued
	prefix := lp(recipient, 0)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.Seek(seqKey(recipient, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out = append(out, Queued{MessageID: string(v), Seq: binary.BigEndian.Uint64(k[len(k)-8:])})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing pending messages of %s: %w", recipient, err)
	}
	return out, nil
}
