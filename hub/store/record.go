package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Document record fields, protobuf wire format. Do not renumber.
const (
	fieldSender       protowire.Number = 1
	fieldEnvelope     protowire.Number = 2 // SignedEnvelope
	fieldEnvelopeSum  protowire.Number = 3
	fieldRecipient    protowire.Number = 4 // repeated
	fieldFile         protowire.Number = 5 // repeated: 32-byte SHA-256 then 8-byte size
	fieldAccepted     protowire.Number = 6 // Receipt
	fieldVerification protowire.Number = 7 // Verification
)

func encodeDoc(d *Document) ([]byte, error) {
	var b []byte
	appendBytes := func(n protowire.Number, v []byte) {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	appendMsg := func(n protowire.Number, m proto.Message) error {
		v, err := proto.Marshal(m)
		if err != nil {
			return fmt.Errorf("encoding document %s: %w", d.MessageID, err)
		}
		appendBytes(n, v)
		return nil
	}
	appendBytes(fieldSender, []byte(d.Sender))
	if err := appendMsg(fieldEnvelope, d.Envelope); err != nil {
		return nil, err
	}
	appendBytes(fieldEnvelopeSum, d.EnvelopeSHA256[:])
	for _, r := range d.Recipients {
		appendBytes(fieldRecipient, []byte(r))
	}
	for _, f := range d.Files {
		appendBytes(fieldFile, binary.BigEndian.AppendUint64(append([]byte(nil), f.SHA256[:]...), uint64(f.Size)))
	}
	if err := appendMsg(fieldAccepted, d.Accepted); err != nil {
		return nil, err
	}
	if d.Verification != nil {
		if err := appendMsg(fieldVerification, d.Verification); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func decodeDoc(id string, b []byte) (*Document, error) {
	d := &Document{MessageID: id, Envelope: new(lienthongv1.SignedEnvelope), Accepted: new(lienthongv1.Receipt)}
	bad := func(what string) error { return fmt.Errorf("document record %s: bad %s", id, what) }
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			return nil, bad("tag")
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, bad("field")
		}
		b = b[n:]
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
			if err := proto.Unmarshal(v, d.Accepted); err != nil {
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

func (d delivery) encode() []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b[0:], uint64(d.status))
	binary.BigEndian.PutUint64(b[8:], uint64(d.time.UnixNano()))
	binary.BigEndian.PutUint64(b[16:], d.queueSeq)
	binary.BigEndian.PutUint64(b[24:], d.deliveredSeq)
	return b
}

func decodeDelivery(b []byte) (delivery, error) {
	if len(b) != 32 {
		return delivery{}, fmt.Errorf("delivery record of %d bytes", len(b))
	}
	return delivery{
		status:       lienthongv1.Status(binary.BigEndian.Uint64(b[0:])),
		time:         time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))).UTC(),
		queueSeq:     binary.BigEndian.Uint64(b[16:]),
		deliveredSeq: binary.BigEndian.Uint64(b[24:]),
	}, nil
}
