package register

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Refused is a document the hub refused when it was sent, and dropped
// from the outbox: the clerk corrects it and sends a new one. The record
// keeps what was sent and why it was refused.
type Refused struct {
	MessageID  string    `json:"message_id"`
	Number     string    `json:"number"`
	Notation   string    `json:"notation"`
	Subject    string    `json:"subject"`
	Recipients []string  `json:"recipients"`
	DueDate    string    `json:"due_date,omitempty"`
	QueuedAt   time.Time `json:"queued_at"`
	RefusedAt  time.Time `json:"refused_at"`
	// Reason is the hub's message.
	Reason string `json:"reason"`
}

// Refuse drops a document from the outbox, with its copies, and records
// in the list of refused documents that the hub refused it, and why.
func (r *Register) Refuse(id, reason string) (*Refused, error) {
	var ref Refused
	err := r.update(func(tx *bolt.Tx) error {
		var o Outgoing
		found, err := get(tx, bucketOutbox, id, &o)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		ref = Refused{MessageID: o.MessageID, Number: o.Number, Notation: o.Notation, Subject: o.Subject,
			Recipients: o.Recipients, DueDate: o.DueDate, QueuedAt: o.QueuedAt, RefusedAt: r.now(), Reason: reason}
		if err := put(tx, bucketRefused, id, &ref); err != nil {
			return err
		}
		return tx.Bucket(bucketOutbox).Delete([]byte(id))
	})
	if err != nil {
		return nil, err
	}
	if checkID(id) == nil {
		os.RemoveAll(filepath.Join(r.outbox, id))
	}
	return &ref, nil
}

// RefusedList lists the documents the hub refused at send, oldest first,
// filtered by q.Search like the registers.
func (r *Register) RefusedList(q Query) ([]*Refused, error) {
	words := strings.Fields(Fold(q.Search))
	var out []*Refused
	err := r.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRefused) == nil { // a register from before the list
			return nil
		}
		return each(tx, bucketRefused, func(f *Refused) error {
			hay := append([]string{f.MessageID, f.Number, f.Notation, f.Number + "/" + f.Notation, f.Subject, f.Reason}, f.Recipients...)
			if matches(words, hay) {
				out = append(out, f)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Refused) int {
		return cmp.Or(a.RefusedAt.Compare(b.RefusedAt), cmp.Compare(a.MessageID, b.MessageID))
	})
	return out, err
}
