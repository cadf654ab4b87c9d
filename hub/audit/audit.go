// Package audit is the hub's tamper-evident record of what it did: an
// append-only chain of entries in the hub's bbolt database, each holding
// the SHA-256 of the one before, whose head the hub signs with its key
// from time to time and at shutdown.
//
// Entries are appended inside the same bbolt transaction as the change
// they record (Append), so the record and the change commit or vanish
// together. Verify recomputes the chain and names the first entry that
// was changed, deleted or moved; a signed head also reveals entries cut
// off the end.
//
// Bucket layout:
//
//	audit      seq (8 bytes, big-endian, from 1) → Entry (JSON)
//	audithead  "head"                            → Head (JSON)
package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Kind says what an entry records.
type Kind string

// The kinds of entry.
const (
	KindAccepted     Kind = "accepted"     // a document accepted (new, update, replace)
	KindRevocation   Kind = "revocation"   // a revocation accepted
	KindRefused      Kind = "refused"      // a request refused
	KindDelivered    Kind = "delivered"    // a document streamed to its recipient
	KindAcknowledged Kind = "acknowledged" // a recipient acknowledged a document
	KindStatus       Kind = "status"       // a processing status step
	KindQuarantined  Kind = "quarantined"  // a document taken out of delivery (damaged file)
	KindDeclared     Kind = "declared"     // a paper or secret document declared
	KindDirectory    Kind = "directory"    // an agency added or changed
	KindCertificate  Kind = "certificate"  // a certificate issued, bound, rotated or removed
	KindReport       Kind = "report"       // a compliance report requested
	KindAdmin        Kind = "admin"        // any other operator action
	KindDropped      Kind = "dropped"      // entries not recorded one by one (a flood), counted
)

var (
	bucketEntries = []byte("audit")
	bucketHead    = []byte("audithead")
	keyHead       = []byte("head")
)

// Buckets are the buckets the audit log uses, for a store that creates
// its buckets up front.
func Buckets() [][]byte { return [][]byte{bucketEntries, bucketHead} }

// Entry is one record of the chain.
type Entry struct {
	// Seq numbers entries from 1 without gaps.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Actor is who acted: an agency code, "operator <name> <cert hash>",
	// or "hub" for the hub's own steps.
	Actor string `json:"actor"`
	// Subject is what was acted on: a message id, an agency code, an RPC.
	Subject string `json:"subject,omitempty"`
	// Detail is a short description (outcome, reason, request summary).
	Detail string `json:"detail,omitempty"`
	// Prev is the previous entry's Hash (hex); empty for the first.
	Prev string `json:"prev"`
	// Hash is the SHA-256 (hex) of the fields above (see digest).
	Hash string `json:"hash"`
}

// digest is the entry's hash: SHA-256 over a length-prefixed encoding of
// every field but Hash, so no two different entries encode alike.
func (e *Entry) digest() string {
	h := sha256.New()
	var b []byte
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, s := range []string{string(e.Kind), e.Actor, e.Subject, e.Detail, e.Prev} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Append adds e at the end of the chain within tx: it sets e's Seq, Prev
// and Hash (and Time to now in UTC if zero) and returns it. The caller's
// transaction makes it durable with the change it records. Text fields
// longer than 1 KiB are cut.
func Append(tx *bolt.Tx, e Entry) (Entry, error) {
	b, err := tx.CreateBucketIfNotExists(bucketEntries)
	if err != nil {
		return Entry{}, fmt.Errorf("appending audit entry: %w", err)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	e.Actor, e.Subject, e.Detail = clip(e.Actor), clip(e.Subject), clip(e.Detail)
	e.Prev = ""
	if k, v := b.Cursor().Last(); k != nil {
		var last Entry
		if err := json.Unmarshal(v, &last); err != nil {
			return Entry{}, fmt.Errorf("appending audit entry: reading entry %d: %w", binary.BigEndian.Uint64(k), err)
		}
		e.Prev = last.Hash
		e.Seq = last.Seq + 1
	} else {
		e.Seq = 1
	}
	e.Hash = e.digest()
	v, err := json.Marshal(&e)
	if err != nil {
		return Entry{}, fmt.Errorf("encoding audit entry: %w", err)
	}
	if err := b.Put(seqKey(e.Seq), v); err != nil {
		return Entry{}, fmt.Errorf("appending audit entry: %w", err)
	}
	return e, nil
}

const maxField = 1024

func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	return s[:maxField] + "…"
}

// Head is the signed statement of the chain's last entry at a time.
type Head struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
	// Cert is the signer's certificate (DER), so that a head signed before
	// the hub's certificate was renewed still verifies.
	Cert []byte `json:"cert"`
	Sig  []byte `json:"sig"`
}

func (h *Head) signed() []byte {
	b := []byte("lienthong audit head v1\n")
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = append(b, h.Hash...)
	return binary.BigEndian.AppendUint64(b, uint64(h.Time.UnixNano()))
}

// SignHead signs the chain's last entry with signer, whose certificate is
// cert, and stores it as the head record, unless the stored head already
// names that entry. It reports whether it signed.
func SignHead(tx *bolt.Tx, signer crypto.Signer, cert *x509.Certificate, now time.Time) (bool, error) {
	b := tx.Bucket(bucketEntries)
	if b == nil {
		return false, nil
	}
	k, v := b.Cursor().Last()
	if k == nil {
		return false, nil
	}
	var last Entry
	if err := json.Unmarshal(v, &last); err != nil {
		return false, fmt.Errorf("signing audit head: reading entry %d: %w", binary.BigEndian.Uint64(k), err)
	}
	if prev, err := readHead(tx); err != nil {
		return false, err
	} else if prev != nil && prev.Seq == last.Seq && prev.Hash == last.Hash {
		return false, nil
	}
	h := &Head{Seq: last.Seq, Hash: last.Hash, Time: now.UTC(), Cert: cert.Raw}
	sum := sha256.Sum256(h.signed())
	var err error
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		h.Sig, err = signer.Sign(rand.Reader, h.signed(), crypto.Hash(0))
	} else {
		h.Sig, err = signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		return false, fmt.Errorf("signing audit head: %w", err)
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return false, fmt.Errorf("encoding audit head: %w", err)
	}
	hb, err := tx.CreateBucketIfNotExists(bucketHead)
	if err != nil {
		return false, fmt.Errorf("storing audit head: %w", err)
	}
	if err := hb.Put(keyHead, raw); err != nil {
		return false, fmt.Errorf("storing audit head: %w", err)
	}
	return true, nil
}

func readHead(tx *bolt.Tx) (*Head, error) {
	hb := tx.Bucket(bucketHead)
	if hb == nil {
		return nil, nil
	}
	raw := hb.Get(keyHead)
	if raw == nil {
		return nil, nil
	}
	h := new(Head)
	if err := json.Unmarshal(raw, h); err != nil {
		return nil, fmt.Errorf("reading audit head: %w", err)
	}
	return h, nil
}

// check verifies h's signature with the certificate it carries.
func (h *Head) check() error {
	cert, err := x509.ParseCertificate(h.Cert)
	if err != nil {
		return fmt.Errorf("head certificate: %w", err)
	}
	msg := h.signed()
	sum := sha256.Sum256(msg)
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, sum[:], h.Sig) {
			return errors.New("head signature does not verify")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], h.Sig); err != nil {
			return errors.New("head signature does not verify")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, msg, h.Sig) {
			return errors.New("head signature does not verify")
		}
	default:
		return fmt.Errorf("head signed with an unsupported key type %T", pub)
	}
	return nil
}

// Break is the first place where the chain does not hold.
type Break struct {
	// Seq is the sequence number of the entry at fault (for a deleted
	// entry, the missing number).
	Seq uint64
	// Time and Kind are the faulty entry's, when it can be read (zero
	// for a missing entry: Problem names the one before it).
	Time time.Time
	Kind Kind
	// Problem says what is wrong, in Vietnamese with the English gist.
	Problem string
}

func (b *Break) String() string {
	at := ""
	if !b.Time.IsZero() {
		at = fmt.Sprintf(" (%s, %s)", b.Time.Format(time.RFC3339), b.Kind)
	}
	return fmt.Sprintf("bản ghi nhật ký số %d%s: %s", b.Seq, at, b.Problem)
}

// Result is what Verify found.
type Result struct {
	// Entries is the number of entries read.
	Entries uint64
	// Last is the last entry read, if any.
	Last *Entry
	// Head is the signed head, if any; Signed counts the entries it
	// covers, Unsigned those appended after it.
	Head     *Head
	Unsigned uint64
	// Broken is the first fault found; nil when the chain holds.
	Broken *Break
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Roots, if set, are the certificates a head's signer must chain to
	// (the province CA): a head signed by anyone else is a fault.
	Roots *x509.CertPool
}

// Verify recomputes the chain in tx from the first entry, stopping at the
// first fault, and checks the signed head against it.
func Verify(ctx context.Context, tx *bolt.Tx, opts VerifyOptions) (*Result, error) {
	res := new(Result)
	head, err := readHead(tx)
	if err != nil {
		res.Broken = &Break{Problem: "bản ghi đầu chuỗi đã ký không đọc được (signed head unreadable): " + err.Error()}
		return res, nil
	}
	res.Head = head
	var prev *Entry
	if b := tx.Bucket(bucketEntries); b != nil {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if res.Entries%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if brk := checkEntry(prev, k, v); brk != nil {
				res.Broken = brk
				return res, nil
			}
			e := new(Entry)
			json.Unmarshal(v, e) // checkEntry decoded it
			prev = e
			res.Entries++
		}
	}
	res.Last = prev
	if head == nil {
		res.Unsigned = res.Entries
		return res, nil
	}
	if err := head.check(); err != nil {
		res.Broken = &Break{Seq: head.Seq, Time: head.Time, Problem: "chữ ký đầu chuỗi không hợp lệ (signed head invalid): " + err.Error()}
		return res, nil
	}
	if opts.Roots != nil {
		cert, _ := x509.ParseCertificate(head.Cert) // head.check parsed it
		if _, err := cert.Verify(x509.VerifyOptions{Roots: opts.Roots, CurrentTime: head.Time, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			res.Broken = &Break{Seq: head.Seq, Time: head.Time, Problem: "đầu chuỗi được ký bằng chứng thư không thuộc trục (head signed by a foreign certificate): " + err.Error()}
			return res, nil
		}
	}
	if prev == nil || prev.Seq < head.Seq {
		last := uint64(0)
		if prev != nil {
			last = prev.Seq
		}
		res.Broken = &Break{Seq: last + 1, Time: head.Time, Problem: fmt.Sprintf(
			"các bản ghi từ số %d đến %d đã bị xóa khỏi cuối chuỗi, đầu chuỗi đã ký lúc %s ghi đến số %d (entries removed from the end)",
			last+1, head.Seq, head.Time.Format(time.RFC3339), head.Seq)}
		return res, nil
	}
	v := tx.Bucket(bucketEntries).Get(seqKey(head.Seq))
	var at Entry
	if err := json.Unmarshal(v, &at); err != nil || at.Hash != head.Hash {
		res.Broken = &Break{Seq: head.Seq, Time: at.Time, Kind: at.Kind, Problem: "khác với đầu chuỗi đã ký (does not match the signed head)"}
		return res, nil
	}
	res.Unsigned = prev.Seq - head.Seq
	return res, nil
}

// checkEntry checks the entry stored under key k with value v against
// the entry before it (nil for the first).
func checkEntry(prev *Entry, k, v []byte) *Break {
	want := uint64(1)
	if prev != nil {
		want = prev.Seq + 1
	}
	if len(k) != 8 {
		return &Break{Seq: want, Problem: fmt.Sprintf("khóa %x không phải số thứ tự (bad key)", k)}
	}
	seq := binary.BigEndian.Uint64(k)
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return &Break{Seq: seq, Problem: fmt.Sprintf("không đọc được, nội dung đã bị sửa (entry unreadable, altered): %v", err)}
	}
	switch {
	case seq > want:
		after := "đầu chuỗi"
		if prev != nil {
			after = fmt.Sprintf("bản ghi số %d (%s, %s)", prev.Seq, prev.Time.Format(time.RFC3339), prev.Kind)
		}
		return &Break{Seq: want, Problem: fmt.Sprintf("bị xóa: sau %s là bản ghi số %d (entry deleted)", after, seq)}
	case e.Seq != seq:
		return &Break{Seq: seq, Time: e.Time, Kind: e.Kind, Problem: fmt.Sprintf("ở vị trí số %d lại là bản ghi số %d: thứ tự đã bị đổi (entries reordered)", seq, e.Seq)}
	case e.digest() != e.Hash:
		return &Break{Seq: seq, Time: e.Time, Kind: e.Kind, Problem: "nội dung đã bị sửa, mã băm không khớp (entry altered: hash mismatch)"}
	case prev != nil && e.Prev != prev.Hash, prev == nil && e.Prev != "":
		return &Break{Seq: seq, Time: e.Time, Kind: e.Kind, Problem: fmt.Sprintf(
			"không nối với bản ghi số %d: mã băm bản ghi trước không khớp, một trong hai đã bị sửa (link to the previous entry broken)", seq-1)}
	}
	return nil
}

// Export writes the entries whose time is in [from, to) as JSON Lines,
// oldest first; a zero from or to leaves that end open. It returns the
// number written.
func Export(ctx context.Context, tx *bolt.Tx, from, to time.Time, w io.Writer) (int, error) {
	b := tx.Bucket(bucketEntries)
	if b == nil {
		return 0, nil
	}
	n := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return n, fmt.Errorf("exporting audit log: entry %x: %w", k, err)
		}
		if (!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
			continue
		}
		if _, err := w.Write(append(bytes.Clone(v), '\n')); err != nil {
			return n, fmt.Errorf("exporting audit log: %w", err)
		}
		n++
	}
	return n, nil
}

type actorKey struct{}

// WithActor returns ctx carrying the identity of who acts, for the
// entries written on its behalf.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor ctx carries, or "hub".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "hub"
}

// OperatorActor names an operator by certificate: its common name and the
// start of the SHA-256 of the certificate.
func OperatorActor(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return fmt.Sprintf("operator %s sha256:%x", cert.Subject.CommonName, sum[:8])
}
