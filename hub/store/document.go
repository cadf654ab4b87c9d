package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/compliance"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Document is a stored document: its signed envelope, resolved recipients,
// file references, the hub's accepted receipt and verification summary.
type Document struct {
	// MessageID is the sender's idempotency key.
	MessageID string
	// Sender is the sending agency's code.
	Sender string
	// Envelope holds the exact bytes the sender signed.
	Envelope *lienthongv1.SignedEnvelope
	// EnvelopeSHA256 is the SHA-256 of Envelope.Envelope; a re-send is a
	// duplicate if it matches, a conflict if not.
	EnvelopeSHA256 [32]byte
	// Recipients are the resolved agency codes.
	Recipients []string
	// Files are the document's files in envelope order.
	Files []BlobRef
	// Accepted is the hub-signed "accepted" receipt.
	Accepted *lienthongv1.Receipt
	// Verification is the hub's check of the document's signatures.
	Verification *lienthongv1.Verification
	// Link, for a revocation, update or replacement, names the earlier
	// message; Accept records it in the same transaction. Not returned by
	// Document (the envelope holds the same facts).
	Link *Link

	// Decoded, for Accept, is the envelope as the hub's intake decoded
	// and hashed it where it entered (envelope.Decode, which ties the
	// bytes, the envelope and the hash together): Accept then takes
	// Envelope and EnvelopeSHA256 from it (they may be left empty) and
	// the compliance facts from its fields, instead of decoding and
	// hashing the bytes again. Not returned by Document.
	Decoded *envelope.Decoded
	// AcceptedBody, for Accept, is the body Accepted carries, as its
	// issuer encoded it (receipt.Issuer.Issue fills in the body it is
	// given): Accept checks its fields instead of decoding Accepted.Body.
	// Not returned by Document.
	AcceptedBody *lienthongv1.ReceiptBody
}

// Accept stores doc durably: it returns once an fsynced transaction, shared
// with concurrent writers, holds the document record, one delivery per
// recipient with status ACCEPTED at the accepted receipt's time, one queue
// entry per recipient, the accepted receipt as the message's first
// receipt, and a reference from the document to each of its blobs.
// Repeated recipients are stored once.
//
// If the message id is stored already, Accept stores nothing: with the
// same EnvelopeSHA256 it returns the stored document and duplicate=true,
// otherwise an error wrapping ErrConflict.
//
// doc.Accepted must be a receipt whose body is about doc.MessageID, has
// status ACCEPTED and a time; every file must be a committed blob.
//
// Accept releases the pins of doc.Files. On a duplicate or an error, blobs
// that no stored document references are deleted. If ctx ends before the
// document is taken into a transaction, Accept returns ctx's error and
// stores nothing.
func (s *Store) Accept(ctx context.Context, doc *Document) (stored *Document, duplicate bool, err error) {
	if doc == nil {
		return nil, false, errors.New("accepting document: nil document")
	}
	committed := false
	defer func() { s.release(doc.Files, !committed) }()

	rec, acceptedAt, err := s.prepare(doc)
	if err != nil {
		return nil, false, fmt.Errorf("accepting message %q: %w", doc.MessageID, err)
	}
	acc, err := packReceipt(rec.Accepted)
	if err != nil {
		return nil, false, fmt.Errorf("accepting message %q: %w", doc.MessageID, err)
	}
	docRec, err := encodeDoc(rec, acc.raw)
	if err != nil {
		return nil, false, fmt.Errorf("accepting message %q: %w", doc.MessageID, err)
	}
	facts, err := acceptedFacts(rec, doc.Decoded, acceptedAt)
	if err != nil {
		return nil, false, fmt.Errorf("accepting message %q: %w", doc.MessageID, err)
	}
	counts := compliance.NewDelta()
	counts.Accepted(&facts)
	id := []byte(rec.MessageID)
	entry := acceptEntry(rec, acceptedAt)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		stored, duplicate = nil, false
		docs := tx.Bucket(bucketDocs)
		if prev := docs.Get(id); prev != nil {
			d, err := decodeDoc(tx, rec.MessageID, prev)
			if err != nil {
				return reject(err)
			}
			if err := d.Resent(rec.EnvelopeSHA256); err != nil {
				return reject(err)
			}
			stored, duplicate = d, true
			return nil
		}
		if err := acc.storeCert(tx); err != nil {
			return err
		}
		if err := docs.Put(id, docRec); err != nil {
			return fmt.Errorf("document record: %w", err)
		}
		queue, deliveries := tx.Bucket(bucketQueue), tx.Bucket(bucketDeliveries)
		for _, r := range rec.Recipients {
			seq, err := queue.NextSequence()
			if err != nil {
				return err
			}
			if err := queue.Put(seqKey(r, seq), id); err != nil {
				return fmt.Errorf("queue entry for %s: %w", r, err)
			}
			d := delivery{status: lienthongv1.Status_STATUS_ACCEPTED, time: acceptedAt, queueSeq: seq}
			if err := deliveries.Put(deliveryKey(rec.MessageID, r), d.encode()); err != nil {
				return fmt.Errorf("delivery to %s: %w", r, err)
			}
		}
		if _, err := appendReceipt(tx, rec.MessageID, acc.raw); err != nil {
			return err
		}
		refs := tx.Bucket(bucketBlobRefs)
		for _, f := range rec.Files {
			if err := addCounter(refs, f.SHA256[:], 1); err != nil {
				return fmt.Errorf("blob reference %s: %w", f, err)
			}
		}
		withdrawn := 0
		if rec.Link != nil {
			var err error
			if withdrawn, err = linkInTx(tx, rec.MessageID, rec.Link); err != nil {
				return err
			}
		}
		if err := applyDelta(tx, counts); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := addCounter(meta, metaDocuments, 1); err != nil {
			return err
		}
		if err := addCounter(meta, metaPending, int64(len(rec.Recipients)-withdrawn)); err != nil {
			return err
		}
		if err := s.appendAudit(tx, entry); err != nil {
			return err
		}
		stored = rec
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("accepting message %q: %w", doc.MessageID, err)
	}
	if !duplicate {
		committed = true
		s.notify(rec.Recipients)
	}
	return stored, duplicate, nil
}

// Resent is the rule for a Send of a message id stored already as d: if
// its envelope hashes to sum it is a re-send of d (nil), else it reuses
// the id for other content (ErrConflict). Accept applies it in its
// transaction; a caller may apply it first to answer a re-send before
// its files arrive.
func (d *Document) Resent(sum [32]byte) error {
	if d.EnvelopeSHA256 != sum {
		return ErrConflict
	}
	return nil
}

// acceptEntry is the audit entry of accepting rec: a revocation or an
// acceptance, with what the hub found of its signatures.
func acceptEntry(rec *Document, at time.Time) audit.Entry {
	e := audit.Entry{Time: at, Kind: audit.KindAccepted, Actor: rec.Sender, Subject: rec.MessageID}
	detail := fmt.Sprintf("recipients=%d files=%d verdict=%s", len(rec.Recipients), len(rec.Files), rec.Verification.GetVerdict())
	if rec.Link != nil {
		if rec.Link.BusinessType == lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE {
			e.Kind = audit.KindRevocation
		}
		detail += fmt.Sprintf(" %s of %s", rec.Link.BusinessType, rec.Link.Original)
	}
	e.Detail = detail
	return e
}

// prepare checks doc and returns the record to store (recipients without
// repeats) and the accepted receipt's time. What the caller decoded
// (Decoded, AcceptedBody) is compared, not decoded again.
func (s *Store) prepare(doc *Document) (*Document, time.Time, error) {
	if doc.MessageID == "" {
		return nil, time.Time{}, errors.New("no message id")
	}
	rec := *doc
	rec.Decoded, rec.AcceptedBody = nil, nil
	if d := doc.Decoded; d != nil {
		if (doc.Envelope != nil && doc.Envelope != d.Signed()) || (doc.EnvelopeSHA256 != [32]byte{} && doc.EnvelopeSHA256 != d.SHA256()) {
			return nil, time.Time{}, errors.New("the envelope or its SHA-256 is not the decoded envelope's")
		}
		rec.Envelope, rec.EnvelopeSHA256 = d.Signed(), d.SHA256()
	} else {
		if doc.Envelope == nil {
			return nil, time.Time{}, errors.New("no envelope")
		}
		if sha256.Sum256(doc.Envelope.GetEnvelope()) != doc.EnvelopeSHA256 {
			return nil, time.Time{}, errors.New("EnvelopeSHA256 is not the SHA-256 of the envelope")
		}
	}
	var at time.Time
	var err error
	if doc.AcceptedBody != nil {
		if doc.Accepted == nil {
			err = errors.New("missing")
		} else {
			at, err = checkReceiptBody(doc.AcceptedBody, doc.MessageID, lienthongv1.Status_STATUS_ACCEPTED, "")
		}
	} else {
		at, err = checkReceipt(doc.Accepted, doc.MessageID, lienthongv1.Status_STATUS_ACCEPTED, "")
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("accepted receipt: %w", err)
	}
	rec.Recipients = make([]string, 0, len(doc.Recipients))
	seen := make(map[string]bool, len(doc.Recipients))
	for _, r := range doc.Recipients {
		if r == "" {
			return nil, time.Time{}, errors.New("empty recipient code")
		}
		if !seen[r] {
			seen[r] = true
			rec.Recipients = append(rec.Recipients, r)
		}
	}
	// The files are pinned, so none can disappear between this check and
	// the commit: a document never names a blob that is not on disk.
	for _, f := range doc.Files {
		fi, err := os.Stat(s.blobs.path(f.SHA256))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, time.Time{}, fmt.Errorf("file %s is not in the blob store", f)
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("checking file %s: %w", f, err)
		}
		if fi.Size() != f.Size {
			return nil, time.Time{}, fmt.Errorf("file %s: stored blob has %d bytes, reference says %d", f, fi.Size(), f.Size)
		}
	}
	return &rec, at, nil
}

// checkReceipt decodes r's body, checks it is about messageID with status
// (and agency, if not empty), and returns its time.
func checkReceipt(r *lienthongv1.Receipt, messageID string, status lienthongv1.Status, agency string) (time.Time, error) {
	if r == nil {
		return time.Time{}, errors.New("missing")
	}
	body := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(r.GetBody(), body); err != nil {
		return time.Time{}, fmt.Errorf("decoding body: %w", err)
	}
	return checkReceiptBody(body, messageID, status, agency)
}

// checkReceiptBody checks a decoded receipt body is about messageID with
// status (and agency, if not empty), and returns its time.
func checkReceiptBody(body *lienthongv1.ReceiptBody, messageID string, status lienthongv1.Status, agency string) (time.Time, error) {
	switch {
	case body.GetMessageId() != messageID:
		return time.Time{}, fmt.Errorf("receipt is about message %q", body.GetMessageId())
	case body.GetStatus() != status:
		return time.Time{}, fmt.Errorf("receipt has status %s, want %s", body.GetStatus(), status)
	case body.GetAgency() != agency:
		return time.Time{}, fmt.Errorf("receipt is about agency %q, want %q", body.GetAgency(), agency)
	}
	if err := body.GetTime().CheckValid(); err != nil {
		return time.Time{}, fmt.Errorf("receipt time: %w", err)
	}
	// Delivery records keep times as Unix nanoseconds (years 1678-2262).
	at := body.GetTime().AsTime()
	if y := at.Year(); y < 1678 || y > 2261 {
		return time.Time{}, fmt.Errorf("receipt time %v is out of range", at)
	}
	return at, nil
}

// acceptedFacts is what the counters need of rec, accepted at at: from
// the envelope the caller decoded (decoded), else from rec's bytes.
func acceptedFacts(rec *Document, decoded *envelope.Decoded, at time.Time) (compliance.Doc, error) {
	verdict := rec.Verification.GetVerdict()
	if decoded != nil {
		return compliance.EnvelopeDoc(rec.Sender, rec.Recipients, decoded.Envelope(), at, verdict), nil
	}
	f, err := compliance.DocOf(rec.Sender, rec.Recipients, rec.Envelope.GetEnvelope(), at, verdict)
	if err != nil {
		return compliance.Doc{}, fmt.Errorf("message %q: %w", rec.MessageID, err)
	}
	return f, nil
}

func appendReceipt(tx *bolt.Tx, messageID string, rcpt []byte) (uint64, error) {
	b := tx.Bucket(bucketReceipts)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := b.Put(seqKey(messageID, seq), rcpt); err != nil {
		return 0, fmt.Errorf("receipt: %w", err)
	}
	return seq, nil
}

// Document returns the stored document messageID, or an error wrapping
// ErrNotFound.
func (s *Store) Document(ctx context.Context, messageID string) (*Document, error) {
	var d *Document
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get([]byte(messageID))
		if v == nil {
			return ErrNotFound
		}
		var err error
		d, err = decodeDoc(tx, messageID, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading message %q: %w", messageID, err)
	}
	return d, nil
}

// Summary returns the stored document messageID without its envelope,
// accepted receipt and verification (Envelope, Accepted and Verification
// are nil): its id, sender, envelope hash, recipients and files, enough
// to check who may act on it, for a fraction of Document's decoding. An
// unknown message is an error wrapping ErrNotFound.
func (s *Store) Summary(ctx context.Context, messageID string) (*Document, error) {
	var d *Document
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get([]byte(messageID))
		if v == nil {
			return ErrNotFound
		}
		var err error
		d, err = decodeRecord(tx, messageID, v, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading message %q: %w", messageID, err)
	}
	return d, nil
}

// Ack records that recipient has stored messageID: in one group-committed
// transaction it removes the queue entry, sets the delivery's status to
// DELIVERED at the receipt's time and appends delivered to the message's
// receipts. delivered must be a receipt about messageID and recipient with
// status DELIVERED.
//
// Ack returns an error wrapping ErrNotFound if messageID was never
// addressed to recipient, ErrRevoked, ErrQuarantined or ErrNotStored if
// the delivery ended before it was acknowledged. If the delivery was acknowledged before, Ack
// stores nothing and returns the receipt stored by the first Ack.
func (s *Store) Ack(ctx context.Context, recipient, messageID string, delivered *lienthongv1.Receipt) (*lienthongv1.Receipt, error) {
	at, err := checkReceipt(delivered, messageID, lienthongv1.Status_STATUS_DELIVERED, recipient)
	if err != nil {
		return nil, fmt.Errorf("acknowledging %q for %s: delivered receipt: %w", messageID, recipient, err)
	}
	packed, err := packReceipt(delivered)
	if err != nil {
		return nil, fmt.Errorf("acknowledging %q for %s: %w", messageID, recipient, err)
	}
	dk := deliveryKey(messageID, recipient)
	var out *lienthongv1.Receipt
	err = s.update(ctx, func(tx *bolt.Tx) error {
		out = nil
		deliveries := tx.Bucket(bucketDeliveries)
		v := deliveries.Get(dk)
		if v == nil {
			return reject(ErrNotFound)
		}
		d, err := decodeDelivery(v)
		if err != nil {
			return reject(err)
		}
		if d.deliveredSeq != 0 {
			prev := tx.Bucket(bucketReceipts).Get(seqKey(messageID, d.deliveredSeq))
			if prev == nil {
				return reject(fmt.Errorf("delivered receipt %d is missing", d.deliveredSeq))
			}
			out = new(lienthongv1.Receipt)
			if err := unpackReceipt(tx, prev, out); err != nil {
				return reject(fmt.Errorf("delivered receipt: %w", err))
			}
			return nil
		}
		switch d.status {
		case lienthongv1.Status_STATUS_REVOKED:
			return reject(ErrRevoked)
		case lienthongv1.Status_STATUS_QUARANTINED:
			return reject(ErrQuarantined)
		case lienthongv1.Status_STATUS_ACCEPTED:
		default: // rejected as impossible to store, without an ack
			return reject(ErrNotStored)
		}
		acceptedAt := d.time
		if err := tx.Bucket(bucketQueue).Delete(seqKey(recipient, d.queueSeq)); err != nil {
			return fmt.Errorf("removing queue entry: %w", err)
		}
		if err := packed.storeCert(tx); err != nil {
			return err
		}
		seq, err := appendReceipt(tx, messageID, packed.raw)
		if err != nil {
			return err
		}
		d.status, d.time, d.deliveredSeq = lienthongv1.Status_STATUS_DELIVERED, at, seq
		if err := deliveries.Put(dk, d.encode()); err != nil {
			return fmt.Errorf("delivery: %w", err)
		}
		if err := addCounter(tx.Bucket(bucketMeta), metaPending, -1); err != nil {
			return err
		}
		// An acknowledgement counts the time since acceptance
		// (compliance.Delta.Step), which the delivery, ACCEPTED until
		// now, holds: the document record is not decoded again.
		counts := compliance.NewDelta()
		counts.Step(&compliance.Doc{AcceptedAt: acceptedAt}, recipient, lienthongv1.Status_STATUS_DELIVERED, at)
		if err := applyDelta(tx, counts); err != nil {
			return err
		}
		if err := s.appendAudit(tx, audit.Entry{Time: at, Kind: audit.KindAcknowledged, Actor: recipient, Subject: messageID}); err != nil {
			return err
		}
		out = delivered
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acknowledging %q for %s: %w", messageID, recipient, err)
	}
	return out, nil
}

// Receipts returns the receipts of messageID in the order stored. If agency
// is not empty, only the accepted receipt (the first) and those whose
// body's agency is agency. An unknown message is an error wrapping
// ErrNotFound.
func (s *Store) Receipts(ctx context.Context, messageID, agency string) ([]*lienthongv1.Receipt, error) {
	var out []*lienthongv1.Receipt
	prefix := lp(messageID, 0)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		if tx.Bucket(bucketDocs).Get([]byte(messageID)) == nil {
			return ErrNotFound
		}
		c := tx.Bucket(bucketReceipts).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r := new(lienthongv1.Receipt)
			if err := unpackReceipt(tx, v, r); err != nil {
				return err
			}
			if agency != "" && len(out) > 0 {
				body := new(lienthongv1.ReceiptBody)
				if err := proto.Unmarshal(r.GetBody(), body); err != nil {
					return fmt.Errorf("decoding receipt body: %w", err)
				}
				if body.GetAgency() != agency {
					continue
				}
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading receipts of %q: %w", messageID, err)
	}
	return out, nil
}

// Statuses returns the current status of each recipient of messageID,
// sorted by agency code. An unknown message is an error wrapping
// ErrNotFound.
func (s *Store) Statuses(ctx context.Context, messageID string) ([]*lienthongv1.RecipientStatus, error) {
	var out []*lienthongv1.RecipientStatus
	prefix := lp(messageID, 0)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		if tx.Bucket(bucketDocs).Get([]byte(messageID)) == nil {
			return ErrNotFound
		}
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d, err := decodeDelivery(v)
			if err != nil {
				return err
			}
			out = append(out, &lienthongv1.RecipientStatus{
				Agency: string(k[len(prefix):]),
				Status: d.status,
				Time:   timestamppb.New(d.time),
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading statuses of %q: %w", messageID, err)
	}
	return out, nil
}
