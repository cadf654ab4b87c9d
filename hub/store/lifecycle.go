package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub/audit"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Buckets of the document lifecycle, created on first use:
//
//	notices     lp(agency) seq            → receipt id (32 hex) + Receipt: the
//	                                        sender's notifications, FIFO
//	noticeids   lp(agency) receipt id     → seq
//	links       lp(original id) later id  → business type (1 byte)
var (
	bucketNotices   = []byte("notices")
	bucketNoticeIDs = []byte("noticeids")
	bucketLinks     = []byte("links")
)

// ErrRevoked reports an operation on a delivery its sender revoked.
var ErrRevoked = errors.New("document revoked by its sender")

// Link ties a document to an earlier one it revokes, updates or replaces.
type Link struct {
	Original     string
	BusinessType lienthongv1.BusinessType
	// Revoked holds, per recipient of the revocation, the hub's REVOKED
	// receipt, stored only if that recipient had not yet acknowledged the
	// original: its queue entry is removed in the same transaction, so it
	// never gets the original, only the revocation.
	Revoked map[string]*lienthongv1.Receipt
}

// linkInTx records l for the document id within Accept's transaction and
// withdraws revoked deliveries that were not yet fetched.
func linkInTx(tx *bolt.Tx, id string, l *Link) (withdrawn int, err error) {
	links, err := tx.CreateBucketIfNotExists(bucketLinks)
	if err != nil {
		return 0, err
	}
	if err := links.Put(append(lp(l.Original, len(id)), id...), []byte{byte(l.BusinessType)}); err != nil {
		return 0, fmt.Errorf("link to %s: %w", l.Original, err)
	}
	// Accept has written the document already: every error from here on
	// must spoil the transaction (a plain error), never reject(), which
	// would commit the writes made so far. Recipients in order, so the
	// receipts are stored in an order that does not depend on map order.
	deliveries := tx.Bucket(bucketDeliveries)
	for _, recipient := range slices.Sorted(maps.Keys(l.Revoked)) {
		rcpt := l.Revoked[recipient]
		dk := deliveryKey(l.Original, recipient)
		v := deliveries.Get(dk)
		if v == nil {
			continue
		}
		d, err := decodeDelivery(v)
		if err != nil {
			return 0, err
		}
		if d.status != lienthongv1.Status_STATUS_ACCEPTED {
			continue // already fetched: the revocation is all it can get
		}
		at, err := checkReceipt(rcpt, l.Original, lienthongv1.Status_STATUS_REVOKED, recipient)
		if err != nil {
			return 0, fmt.Errorf("revoked receipt for %s: %w", recipient, err)
		}
		packed, err := packReceipt(rcpt)
		if err != nil {
			return 0, fmt.Errorf("revoked receipt for %s: %w", recipient, err)
		}
		if err := packed.storeCert(tx); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketQueue).Delete(seqKey(recipient, d.queueSeq)); err != nil {
			return 0, err
		}
		if _, err := appendReceipt(tx, l.Original, packed.raw); err != nil {
			return 0, err
		}
		d.status, d.time = lienthongv1.Status_STATUS_REVOKED, at
		if err := deliveries.Put(dk, d.encode()); err != nil {
			return 0, err
		}
		if err := countStep(tx, l.Original, recipient, lienthongv1.Status_STATUS_REVOKED, at); err != nil {
			return 0, err
		}
		withdrawn++
	}
	return withdrawn, nil
}

// Links returns the ids of later messages that revoke, update or replace
// messageID, in id order.
func (s *Store) Links(ctx context.Context, messageID string) ([]string, error) {
	var out []string
	prefix := lp(messageID, 0)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		b := tx.Bucket(bucketLinks)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading links of %q: %w", messageID, err)
	}
	return out, nil
}

// TransitionCheck decides whether a recipient may move from its current
// status; it returns the refusal otherwise.
type TransitionCheck func(from lienthongv1.Status) error

// Transition moves recipient's delivery of messageID to the status of
// rcpt (a hub-signed receipt about that recipient), if check allows it
// from the current status; it appends the receipt and queues it as a
// notification for sender, all in one group-committed transaction. A
// step from ACCEPTED (a node that cannot store the document rejecting
// it) also takes the delivery out of the recipient's queue: a delivery is
// queued exactly while its status is ACCEPTED. An unknown delivery is
// ErrNotFound; check's error is returned as is.
func (s *Store) Transition(ctx context.Context, messageID, recipient, sender string, rcpt *lienthongv1.Receipt, check TransitionCheck) error {
	body := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(rcpt.GetBody(), body); err != nil {
		return fmt.Errorf("decoding status receipt: %w", err)
	}
	at, err := checkReceipt(rcpt, messageID, body.GetStatus(), recipient)
	if err != nil {
		return fmt.Errorf("status receipt: %w", err)
	}
	packed, err := packReceipt(rcpt)
	if err != nil {
		return fmt.Errorf("status receipt: %w", err)
	}
	dk := deliveryKey(messageID, recipient)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		deliveries := tx.Bucket(bucketDeliveries)
		v := deliveries.Get(dk)
		if v == nil {
			return reject(ErrNotFound)
		}
		d, err := decodeDelivery(v)
		if err != nil {
			return reject(err)
		}
		if err := check(d.status); err != nil {
			return reject(err)
		}
		d0 := d.status
		if d.status == lienthongv1.Status_STATUS_ACCEPTED {
			if err := tx.Bucket(bucketQueue).Delete(seqKey(recipient, d.queueSeq)); err != nil {
				return fmt.Errorf("removing queue entry: %w", err)
			}
			if err := addCounter(tx.Bucket(bucketMeta), metaPending, -1); err != nil {
				return err
			}
		}
		if err := packed.storeCert(tx); err != nil {
			return err
		}
		if _, err := appendReceipt(tx, messageID, packed.raw); err != nil {
			return err
		}
		d.status, d.time = body.GetStatus(), at
		if err := deliveries.Put(dk, d.encode()); err != nil {
			return err
		}
		if err := countStep(tx, messageID, recipient, body.GetStatus(), at); err != nil {
			return err
		}
		if err := s.appendAudit(tx, audit.Entry{Time: at, Kind: audit.KindStatus, Actor: recipient, Subject: messageID,
			Detail: fmt.Sprintf("%s -> %s %s", d0, body.GetStatus(), body.GetReason())}); err != nil {
			return err
		}
		return queueNotice(tx, sender, body.GetReceiptId(), packed.raw)
	})
	if err != nil {
		return fmt.Errorf("recording %s of %q at %s: %w", body.GetStatus(), messageID, recipient, err)
	}
	s.notify([]string{sender})
	return nil
}

func queueNotice(tx *bolt.Tx, agency, receiptID string, raw []byte) error {
	notices, err := tx.CreateBucketIfNotExists(bucketNotices)
	if err != nil {
		return err
	}
	ids, err := tx.CreateBucketIfNotExists(bucketNoticeIDs)
	if err != nil {
		return err
	}
	seq, err := notices.NextSequence()
	if err != nil {
		return err
	}
	val := append(append(make([]byte, 0, 1+len(receiptID)+len(raw)), byte(len(receiptID))), receiptID...)
	if err := notices.Put(seqKey(agency, seq), append(val, raw...)); err != nil {
		return fmt.Errorf("notification for %s: %w", agency, err)
	}
	return ids.Put(append(lp(agency, len(receiptID)), receiptID...), putUint64(seq))
}

// Notice is a queued notification: a receipt the agency has not yet
// acknowledged.
type Notice struct {
	ReceiptID string
	Receipt   *lienthongv1.Receipt
	// Seq is its place in the agency's notifications; places only grow.
	Seq uint64
}

// Notices returns agency's unacknowledged notifications, oldest first.
func (s *Store) Notices(ctx context.Context, agency string) ([]Notice, error) {
	return s.NoticesAfter(ctx, agency, 0)
}

// NoticesAfter returns agency's unacknowledged notifications with a place
// after after (0: all of them), oldest first.
func (s *Store) NoticesAfter(ctx context.Context, agency string, after uint64) ([]Notice, error) {
	var out []Notice
	prefix := lp(agency, 0)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		b := tx.Bucket(bucketNotices)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(agency, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) < 1 || len(v) < 1+int(v[0]) {
				return fmt.Errorf("notification record of %d bytes", len(v))
			}
			n := Notice{ReceiptID: string(v[1 : 1+v[0]]), Receipt: new(lienthongv1.Receipt), Seq: binary.BigEndian.Uint64(k[len(k)-8:])}
			if err := unpackReceipt(tx, v[1+v[0]:], n.Receipt); err != nil {
				return fmt.Errorf("notification: %w", err)
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing notifications of %s: %w", agency, err)
	}
	return out, nil
}

// AckNotice removes a notification from agency's queue. Acknowledging one
// that is not queued (already acknowledged) does nothing.
func (s *Store) AckNotice(ctx context.Context, agency, receiptID string) error {
	key := append(lp(agency, len(receiptID)), receiptID...)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketNoticeIDs)
		if ids == nil {
			return nil
		}
		v := ids.Get(key)
		if v == nil {
			return nil
		}
		if err := tx.Bucket(bucketNotices).Delete(seqKey(agency, getUint64(v))); err != nil {
			return err
		}
		return ids.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("acknowledging notification %s for %s: %w", receiptID, agency, err)
	}
	return nil
}
