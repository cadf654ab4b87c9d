package store

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/hub/audit"
)

// The store writes the audit entry of every change it makes in the
// transaction that makes it (see package audit). Events that change
// nothing stored — a refusal, a document streamed to its recipient — are
// noted (Note): kept in a bounded buffer and written by one op that rides
// in the next group commit, so a flood of refusals costs at most
// maxNotes entries per commit and never an fsync of its own per refusal.

// maxNotes bounds the noted entries waiting for a commit; beyond it they
// are only counted, per kind, in one KindDropped entry.
const maxNotes = 1024

// notes are the noted entries waiting for the next commit.
type notes struct {
	mu      sync.Mutex
	entries []audit.Entry
	dropped map[audit.Kind]int
	queued  bool // a flush op is submitted and has not yet taken the entries
}

// appendAudit appends e to the chain within tx, with the store's clock
// when e has no time.
func (s *Store) appendAudit(tx *bolt.Tx, e audit.Entry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := audit.Append(tx, e)
	return err
}

// AppendAudit records e in its own group-committed transaction and
// returns once it is durable: for actions that change nothing else in
// the store (an operator's read, a report request). A change the store
// makes should instead append its entry in its own transaction, with
// audit.Append.
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) error {
	if err := s.update(ctx, func(tx *bolt.Tx) error { return s.appendAudit(tx, e) }); err != nil {
		return fmt.Errorf("recording audit entry: %w", err)
	}
	return nil
}

// Note records e in the audit log without waiting: it is written with the
// next group commit. Past maxNotes waiting entries, e is only counted.
// Notes made after Close are lost.
func (s *Store) Note(e audit.Entry) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	n := &s.notes
	n.mu.Lock()
	if len(n.entries) < maxNotes {
		n.entries = append(n.entries, e)
	} else {
		if n.dropped == nil {
			n.dropped = make(map[audit.Kind]int)
		}
		n.dropped[e.Kind]++
	}
	submit := !n.queued
	n.queued = true
	n.mu.Unlock()
	if !submit {
		return
	}
	// fn may run again if another op of its batch fails: it takes the
	// entries once and appends the same ones each time.
	var taken []audit.Entry
	took := false
	o := &op{done: make(chan struct{}), fn: func(tx *bolt.Tx) error {
		if !took {
			taken, took = s.takeNotes(), true
		}
		for _, e := range taken {
			if err := s.appendAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	}}
	if err := s.b.submit(o); err != nil {
		s.log.Warn("audit entries not recorded: store closed", "kind", string(e.Kind))
		return
	}
	go func() {
		<-o.done
		if o.err != nil {
			s.log.Error("recording audit entries failed", "entries", len(taken), "err", o.err)
		}
	}()
}

// takeNotes returns the waiting entries, the dropped ones as counts, and
// lets the next Note submit a new flush.
func (s *Store) takeNotes() []audit.Entry {
	n := &s.notes
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.entries
	for k, c := range n.dropped {
		out = append(out, audit.Entry{Time: s.now(), Kind: audit.KindDropped, Actor: "hub", Subject: string(k),
			Detail: fmt.Sprintf("%d sự kiện %s không ghi từng dòng vì quá nhiều cùng lúc (not recorded one by one: flood)", c, k)})
	}
	n.entries, n.dropped, n.queued = nil, nil, false
	return out
}

// SignAuditHead signs the audit chain's last entry with the hub's key and
// stores it as the head record, if it is not signed already.
func (s *Store) SignAuditHead(ctx context.Context, signer crypto.Signer, cert *x509.Certificate) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		_, err := audit.SignHead(tx, signer, cert, s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("signing the audit head: %w", err)
	}
	return nil
}

// VerifyAudit recomputes the audit chain (see audit.Verify) in one read
// transaction.
func (s *Store) VerifyAudit(ctx context.Context, opts audit.VerifyOptions) (*audit.Result, error) {
	var res *audit.Result
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		res, err = audit.Verify(ctx, tx, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verifying the audit log: %w", err)
	}
	return res, nil
}

// ExportAudit writes the audit entries of [from, to) to w as JSON Lines
// (see audit.Export) and returns how many.
func (s *Store) ExportAudit(ctx context.Context, from, to time.Time, w io.Writer) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = audit.Export(ctx, tx, from, to, w)
		return err
	})
	return n, err
}
