package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Bucket layout. A key made of a variable-length string and a suffix
// starts with the string's length as a uvarint (written lp(s) below), so no
// id or code can be a prefix of another's keys.
//
//	agencies    code                     → Agency (protobuf)
//	docs        message id               → document record (protowire, below)
//	deliveries  lp(message id) recipient → delivery record (32 bytes)
//	queue       lp(recipient) seq        → message id; seq is the bucket's
//	                                        sequence, 8 bytes big-endian, so
//	                                        a recipient's entries are FIFO
//	receipts    lp(message id) seq       → Receipt (protobuf), in order
//	blobrefs    SHA-256 (32 bytes)       → documents naming it (uint64)
//	meta        "version", "documents", "pending" (uint64), "clean" (1 byte)
//	audit, audithead                     → package audit's chain and signed head
var (
	bucketAgencies   = []byte("agencies")
	bucketDocs       = []byte("docs")
	bucketDeliveries = []byte("deliveries")
	bucketQueue      = []byte("queue")
	bucketReceipts   = []byte("receipts")
	bucketBlobRefs   = []byte("blobrefs")
	bucketMeta       = []byte("meta")

	metaVersion   = []byte("version")
	metaDocuments = []byte("documents")
	metaPending   = []byte("pending")
	metaClean     = []byte("clean")
)

// schemaVersion is the layout above (and in compliance.go and
// receiptrec.go). Bump it with a migration when the layout changes.
// Version 2 added the compliance buckets (migrating from 1 counts the
// stored documents); version 3 stores receipts without their certificate
// (receipts stored whole before still read as they are).
const schemaVersion = 3

func dataBuckets() [][]byte {
	return [][]byte{bucketAgencies, bucketDocs, bucketDeliveries, bucketQueue, bucketReceipts, bucketBlobRefs,
		bucketCounters, bucketNumbering, bucketNumbers, bucketDeclarations, bucketCerts}
}

// initSchema creates the buckets of a new database or checks the version of
// an existing one, reports whether it was closed cleanly, and marks it open
// (unclean) until Close.
func initSchema(db *bolt.DB) (clean bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w (%v)", ErrDamaged, p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if docs := tx.Bucket(bucketDocs); docs != nil {
				if k, _ := docs.Cursor().First(); k != nil {
					return errors.New("database holds documents but no layout version; it was written by an incompatible development build")
				}
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if err := meta.Put(metaVersion, putUint64(schemaVersion)); err != nil {
				return err
			}
			clean = true // nothing can be orphaned in a new store
		} else {
			v := getUint64(meta.Get(metaVersion))
			if v < 1 || v > schemaVersion {
				return fmt.Errorf("database layout version %d, this build reads version %d", v, schemaVersion)
			}
			clean = bytes.Equal(meta.Get(metaClean), []byte{1})
		}
		for _, name := range dataBuckets() {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		if v := getUint64(meta.Get(metaVersion)); v < schemaVersion {
			if v == 1 {
				d, err := recount(context.Background(), tx)
				if err != nil {
					return fmt.Errorf("migrating to layout version 2: counting stored documents: %w", err)
				}
				if err := applyDelta(tx, d); err != nil {
					return fmt.Errorf("migrating to layout version 2: %w", err)
				}
			}
			if err := meta.Put(metaVersion, putUint64(schemaVersion)); err != nil {
				return err
			}
		}
		return meta.Put(metaClean, []byte{0})
	})
	return clean, err
}

// lp returns s prefixed by its length, then room for a suffix.
func lp(s string, suffix int) []byte {
	k := make([]byte, 0, binary.MaxVarintLen64+len(s)+suffix)
	k = binary.AppendUvarint(k, uint64(len(s)))
	return append(k, s...)
}

func deliveryKey(messageID, recipient string) []byte {
	return append(lp(messageID, len(recipient)), recipient...)
}

func seqKey(s string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(lp(s, 8), seq)
}

func putUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getUint64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// addCounter adds delta to the uint64 counter at key.
func addCounter(b *bolt.Bucket, key []byte, delta int64) error {
	return b.Put(key, putUint64(uint64(int64(getUint64(b.Get(key)))+delta)))
}

// Document record fields, protobuf wire format. Do not renumber; a
// reader skips fields it does not know.
const (
	fieldSender       protowire.Number = 1
	fieldEnvelope     protowire.Number = 2 // SignedEnvelope
	fieldEnvelopeSum  protowire.Number = 3
	fieldRecipient    protowire.Number = 4 // repeated
	fieldFile         protowire.Number = 5 // repeated: 32-byte SHA-256, 8-byte size
	fieldAccepted     protowire.Number = 6 // Receipt
	fieldVerification protowire.Number = 7 // Verification
)

// encodeDoc encodes d with accepted, its accepted receipt as stored
// (packReceipt), into a buffer of the record's exact size.
func encodeDoc(d *Document, accepted []byte) ([]byte, error) {
	env, err := proto.Marshal(d.Envelope)
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %w", err)
	}
	var ver []byte
	if d.Verification != nil {
		if ver, err = proto.Marshal(d.Verification); err != nil {
			return nil, fmt.Errorf("encoding verification: %w", err)
		}
	}
	const fileLen = 32 + 8
	size := func(n protowire.Number, l int) int { return protowire.SizeTag(n) + protowire.SizeBytes(l) }
	n := size(fieldSender, len(d.Sender)) + size(fieldEnvelope, len(env)) + size(fieldEnvelopeSum, len(d.EnvelopeSHA256)) +
		len(d.Files)*size(fieldFile, fileLen) + size(fieldAccepted, len(accepted))
	for _, r := range d.Recipients {
		n += size(fieldRecipient, len(r))
	}
	if d.Verification != nil {
		n += size(fieldVerification, len(ver))
	}
	b := make([]byte, 0, n)
	appendBytes := func(n protowire.Number, v []byte) {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	appendBytes(fieldSender, []byte(d.Sender))
	appendBytes(fieldEnvelope, env)
	appendBytes(fieldEnvelopeSum, d.EnvelopeSHA256[:])
	for _, r := range d.Recipients {
		appendBytes(fieldRecipient, []byte(r))
	}
	var file [fileLen]byte
	for _, f := range d.Files {
		copy(file[:], f.SHA256[:])
		binary.BigEndian.PutUint64(file[32:], uint64(f.Size))
		appendBytes(fieldFile, file[:])
	}
	appendBytes(fieldAccepted, accepted)
	if d.Verification != nil {
		appendBytes(fieldVerification, ver)
	}
	return b, nil
}

// decodeDoc decodes a document record. It copies everything it keeps, so
// b may be memory owned by a transaction. With tx, the accepted receipt
// gets its certificate back; without, it has none (enough for its body).
func decodeDoc(tx *bolt.Tx, id string, b []byte) (*Document, error) {
	return decodeRecord(tx, id, b, true)
}

// decodeRecord is decodeDoc; without whole it skips the envelope, the
// accepted receipt and the verification (Envelope, Accepted and
// Verification stay nil), the costly parts to decode.
func decodeRecord(tx *bolt.Tx, id string, b []byte, whole bool) (*Document, error) {
	d := &Document{MessageID: id}
	if whole {
		d.Envelope, d.Accepted = new(lienthongv1.SignedEnvelope), new(lienthongv1.Receipt)
	}
	bad := func(what string) error { return fmt.Errorf("document record %s: bad %s", id, what) }
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, bad("tag")
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, bad("field")
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, bad("field")
		}
		b = b[n:]
		if !whole && (num == fieldEnvelope || num == fieldAccepted || num == fieldVerification) {
			continue
		}
		switch num {
		case fieldSender:
			d.Sender = string(v)
		case fieldEnvelope:
			if err := proto.Unmarshal(v, d.Envelope); err != nil {
				return nil, bad("envelope")
			}
		case fieldEnvelopeSum:
			if len(v) != 32 {
				return nil, bad("envelope hash")
			}
			copy(d.EnvelopeSHA256[:], v)
		case fieldRecipient:
			d.Recipients = append(d.Recipients, string(v))
		case fieldFile:
			if len(v) != 40 {
				return nil, bad("file reference")
			}
			var f BlobRef
			copy(f.SHA256[:], v[:32])
			f.Size = int64(binary.BigEndian.Uint64(v[32:]))
			d.Files = append(d.Files, f)
		case fieldAccepted:
			if tx != nil {
				if err := unpackReceipt(tx, v, d.Accepted); err != nil {
					return nil, bad("receipt")
				}
			} else if err := proto.Unmarshal(v, d.Accepted); err != nil {
				return nil, bad("receipt")
			}
		case fieldVerification:
			d.Verification = new(lienthongv1.Verification)
			if err := proto.Unmarshal(v, d.Verification); err != nil {
				return nil, bad("verification")
			}
		}
	}
	return d, nil
}

// delivery is one recipient's state for one message.
type delivery struct {
	status       lienthongv1.Status
	time         time.Time
	queueSeq     uint64 // key of its queue entry
	deliveredSeq uint64 // key of the delivered receipt; 0 until acked
}

const deliveryLen = 32

func (d delivery) encode() []byte {
	b := make([]byte, deliveryLen)
	binary.BigEndian.PutUint64(b[0:], uint64(d.status))
	binary.BigEndian.PutUint64(b[8:], uint64(d.time.UnixNano()))
	binary.BigEndian.PutUint64(b[16:], d.queueSeq)
	binary.BigEndian.PutUint64(b[24:], d.deliveredSeq)
	return b
}

func decodeDelivery(b []byte) (delivery, error) {
	if len(b) != deliveryLen {
		return delivery{}, fmt.Errorf("delivery record of %d bytes, want %d", len(b), deliveryLen)
	}
	return delivery{
		status:       lienthongv1.Status(binary.BigEndian.Uint64(b[0:])),
		time:         time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))).UTC(),
		queueSeq:     binary.BigEndian.Uint64(b[16:]),
		deliveredSeq: binary.BigEndian.Uint64(b[24:]),
	}, nil
}
