package envelope

import (
	"crypto/sha256"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Decoded is a signed envelope decoded and hashed once, where it entered:
// the signed bytes, the envelope they encode and their SHA-256 always
// belong together, because only Decode makes one. Steps after the entry
// (the hub's checks, its store) take a Decoded instead of decoding or
// hashing the bytes again.
type Decoded struct {
	signed *lienthongv1.SignedEnvelope
	env    *lienthongv1.Envelope
	sum    [32]byte
}

// Decode decodes signed's envelope and hashes its bytes. An empty or
// malformed envelope is a lienthong.KindInvalid error; the envelope is
// not otherwise checked (Check does that).
func Decode(signed *lienthongv1.SignedEnvelope) (*Decoded, error) {
	raw := signed.GetEnvelope()
	if len(raw) == 0 {
		return nil, invalid("phong bì văn bản rỗng (empty envelope)")
	}
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(raw, env); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err, "không đọc được phong bì văn bản (malformed envelope)")
	}
	return &Decoded{signed: signed, env: env, sum: sha256.Sum256(raw)}, nil
}

// Signed returns the envelope as the sender signed it. Callers must not
// change it.
func (d *Decoded) Signed() *lienthongv1.SignedEnvelope { return d.signed }

// Envelope returns the decoded envelope. Callers must not change it.
func (d *Decoded) Envelope() *lienthongv1.Envelope { return d.env }

// SHA256 returns the SHA-256 of the signed envelope bytes: what a
// receipt names, and what tells a re-send from a conflicting one.
func (d *Decoded) SHA256() [32]byte { return d.sum }
