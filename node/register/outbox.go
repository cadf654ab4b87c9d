package register

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/fsutil"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// State is where a document in the outbox stands.
type State string

const (
	// Queued documents wait for the hub; the next forwarding pass sends
	// them.
	Queued State = "queued"
	// Failed documents were refused by the hub (or could not be sent for a
	// reason of their own); they stay listed with the message, and are not
	// sent again until Requeue.
	Failed State = "failed"
)

// Outgoing is a document in the outbox.
type Outgoing struct {
	// Seq is the queue order: documents are forwarded oldest first, so a
	// revocation never overtakes the document it revokes.
	Seq       uint64 `json:"seq"`
	MessageID string `json:"message_id"`
	// Envelope and Signature are the exact signed envelope. Forwarding
	// sends these bytes, never a new signature, so a retry after a lost
	// answer is the same message to the hub and gets its original receipt.
	Envelope  []byte `json:"envelope"`
	Signature []byte `json:"signature"`
	// Files are the outbox copies, in envelope order.
	Files            []string                 `json:"files"`
	BusinessType     lienthongv1.BusinessType `json:"business_type"`
	RelatedMessageID string                   `json:"related_message_id,omitempty"`
	Number           string                   `json:"number"`
	Notation         string                   `json:"notation"`
	Subject          string                   `json:"subject"`
	// Recipients as addressed (codes or KIND:CODE groups).
	Recipients  []string  `json:"recipients"`
	DueDate     string    `json:"due_date,omitempty"`
	QueuedAt    time.Time `json:"queued_at"`
	State       State     `json:"state"`
	Error       string    `json:"error,omitempty"` // why it failed
	FailedAt    time.Time `json:"failed_at,omitzero"`
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`

	env *lienthongv1.Envelope // decoded Envelope, once known (Decode)
}

// Signed returns the signed envelope to upload.
func (o *Outgoing) Signed() *lienthongv1.SignedEnvelope {
	return &lienthongv1.SignedEnvelope{Envelope: o.Envelope, Signature: o.Signature}
}

// Decode returns the envelope. It is decoded once per Outgoing: the
// document Queue returns carries the envelope it was queued with, one
// that Outbox lists is decoded at its first Decode.
func (o *Outgoing) Decode() (*lienthongv1.Envelope, error) {
	if o.env != nil {
		return o.env, nil
	}
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(o.Envelope, env); err != nil {
		return nil, fmt.Errorf("outbox envelope of %s: %w", o.MessageID, err)
	}
	o.env = env
	return env, nil
}

// Queue puts a signed document in the outbox: it copies the files at
// paths (in envelope order) into the outbox folder, checking each against
// the size and SHA-256 the envelope declares, makes the copies durable,
// then records the document. The originals are not needed afterwards.
// A document whose envelope is still to be built goes in through a Draft
// instead, which hashes the files as it copies them.
//
// Queuing a message id that is already queued with the same envelope
// returns the queued document; with another envelope, ErrQueued. A failed
// document with the same id is replaced.
func (r *Register) Queue(signed *lienthongv1.SignedEnvelope, paths []string) (*Outgoing, error) {
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(signed.GetEnvelope(), env); err != nil {
		return nil, fmt.Errorf("queuing a document: malformed envelope: %w", err)
	}
	id := env.GetMessageId()
	if len(paths) != len(env.GetFiles()) {
		return nil, fmt.Errorf("queuing %s: %d files for %d declared in the envelope", id, len(paths), len(env.GetFiles()))
	}
	d, err := r.Draft(id)
	if err != nil {
		return nil, err
	}
	defer d.Discard()
	for i, p := range paths {
		if err := d.addFile(env.GetFiles()[i].GetName(), p); err != nil {
			return nil, err
		}
	}
	return d.Queue(signed, env)
}

// Draft is a document on its way into the outbox. Its files are copied
// into a folder of the outbox and hashed in the same read (Add), so that
// the envelope is built from the bytes the outbox holds, which are the
// bytes uploaded; Queue then records the signed document. The clerk's
// original files are read once. A Draft is for one goroutine; Discard
// removes what Queue did not keep.
type Draft struct {
	r       *Register
	id      string
	partial string // the folder the copies are written in
	files   []draftFile
}

// draftFile is one copy in a draft, with what was measured while copying.
// It stays open until Queue flushes it: a document its envelope's checks
// refuse costs no flush.
type draftFile struct {
	f    *os.File
	name string // its name in the folder
	size int64
	sum  []byte
}

// Draft starts putting the document with message id id in the outbox.
func (r *Register) Draft(id string) (*Draft, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.outbox, 0o700); err != nil {
		return nil, fmt.Errorf("creating the outbox folder: %w", err)
	}
	partial := filepath.Join(r.outbox, ".partial-"+id)
	if err := os.RemoveAll(partial); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", partial, err)
	}
	if err := os.Mkdir(partial, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", partial, err)
	}
	return &Draft{r: r, id: id, partial: partial}, nil
}

// Add copies what src reads into the draft as its next file, named name
// (the name the recipient sees), and returns its size and SHA-256,
// computed from the bytes copied.
func (d *Draft) Add(name string, src io.Reader) (size int64, sum []byte, err error) {
	file := fmt.Sprintf("%02d-%s", len(d.files), safeBase(name))
	out, err := os.OpenFile(filepath.Join(d.partial, file), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, nil, fmt.Errorf("copying %q into the outbox: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), src)
	if err != nil {
		out.Close()
		return 0, nil, fmt.Errorf("copying %q into the outbox: %w", name, err)
	}
	sum = h.Sum(nil)
	d.files = append(d.files, draftFile{f: out, name: file, size: n, sum: sum})
	return n, sum, nil
}

// addFile adds the file at path.
func (d *Draft) addFile(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening attachment: %w", err)
	}
	defer f.Close()
	_, _, err = d.Add(name, f)
	return err
}

// Queue records the draft as the outbox document of signed, whose
// envelope env is: its files must be the draft's, in order, with the
// sizes and SHA-256s measured while copying (else ErrFileChanged). The
// copies are made durable and put in place, then the document is
// recorded, in one transaction with the check for the same message id
// queued already (see Register.Queue). The returned document carries env.
func (d *Draft) Queue(signed *lienthongv1.SignedEnvelope, env *lienthongv1.Envelope) (*Outgoing, error) {
	id := d.id
	if env.GetMessageId() != id {
		return nil, fmt.Errorf("queuing %s: the envelope is for %s", id, env.GetMessageId())
	}
	infos := env.GetFiles()
	if len(infos) != len(d.files) {
		return nil, fmt.Errorf("queuing %s: %d files for %d declared in the envelope", id, len(d.files), len(infos))
	}
	for i, f := range d.files {
		if f.size != infos[i].GetSize() || !bytes.Equal(f.sum, infos[i].GetSha256()) {
			return nil, fmt.Errorf("%s: %q: %w", id, infos[i].GetName(), ErrFileChanged)
		}
	}
	for i := range d.files {
		f := &d.files[i]
		err := f.f.Sync()
		if cerr := f.f.Close(); err == nil {
			err = cerr
		}
		f.f = nil
		if err != nil {
			return nil, fmt.Errorf("copying %q into the outbox: %w", infos[i].GetName(), err)
		}
	}
	if err := fsutil.SyncDir(d.partial); err != nil {
		return nil, err
	}
	r := d.r
	final := filepath.Join(r.outbox, id)
	o := &Outgoing{
		MessageID: id, Envelope: signed.GetEnvelope(), Signature: signed.GetSignature(),
		BusinessType: env.GetBusinessType(), RelatedMessageID: env.GetRelatedMessageId(),
		Number: env.GetNumber(), Notation: env.GetNotation(), Subject: env.GetSubject(),
		Recipients: env.GetRecipients(), DueDate: env.GetDueDate(), QueuedAt: r.now(), State: Queued,
		env: env,
	}
	for _, f := range d.files {
		o.Files = append(o.Files, filepath.Join(final, f.name))
	}
	var prev *Outgoing
	moved := false
	err := r.update(func(tx *bolt.Tx) error {
		var cur Outgoing
		found, err := get(tx, bucketOutbox, id, &cur)
		if err != nil {
			return err
		}
		if found && cur.State == Queued {
			if bytes.Equal(cur.Envelope, signed.GetEnvelope()) {
				prev = &cur
				return nil
			}
			return fmt.Errorf("%s: %w", id, ErrQueued)
		}
		// The copies go in place before the record, inside its
		// transaction so that no other process queues the same id in
		// between: a folder present without a record (the commit failed,
		// or a crash) is harmless and cleared when the id is queued again.
		// A folder left by a failed document being replaced goes too.
		if err := os.RemoveAll(final); err != nil {
			return fmt.Errorf("clearing %s: %w", final, err)
		}
		if err := os.Rename(d.partial, final); err != nil {
			return fmt.Errorf("storing %s in the outbox: %w", id, err)
		}
		moved = true
		if err := fsutil.SyncDir(r.outbox); err != nil {
			return err
		}
		if o.Seq, err = tx.Bucket(bucketOutbox).NextSequence(); err != nil {
			return err
		}
		return put(tx, bucketOutbox, id, o)
	})
	if err != nil {
		if moved {
			os.RemoveAll(final)
		}
		return nil, err
	}
	if prev != nil {
		return prev, nil
	}
	d.files, d.partial = nil, ""
	return o, nil
}

// Discard removes the draft's copies; after a Queue that kept them it
// does nothing.
func (d *Draft) Discard() {
	for _, f := range d.files {
		if f.f != nil {
			f.f.Close()
		}
	}
	if d.partial != "" {
		os.RemoveAll(d.partial)
		d.partial = ""
	}
}

// Outbox lists the documents in the outbox, queued and failed, in queue
// order.
func (r *Register) Outbox() ([]*Outgoing, error) {
	var out []*Outgoing
	err := r.view(func(tx *bolt.Tx) error {
		return each(tx, bucketOutbox, func(o *Outgoing) error {
			out = append(out, o)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Outgoing) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, err
}

// Forwarded records that the hub accepted a queued document: it moves the
// document from the outbox to the register of documents sent, with the
// hub's "accepted" receipt (whose body the caller has verified), then
// deletes the outbox copies. A revocation marks the document it revokes;
// an update or replacement is linked from the original.
//
// o is the document as Outbox or Queue gave it; its envelope is decoded
// no more than once (Outgoing.Decode). If the document is no longer in
// the outbox (another process forwarded it first), the sent register's
// entry is returned.
func (r *Register) Forwarded(o *Outgoing, accepted *lienthongv1.Receipt, body *lienthongv1.ReceiptBody) (*Sent, error) {
	id := o.MessageID
	raw, err := proto.Marshal(accepted)
	if err != nil {
		return nil, fmt.Errorf("encoding the receipt of %s: %w", id, err)
	}
	var s Sent
	err = r.update(func(tx *bolt.Tx) error {
		var cur Outgoing
		found, err := get(tx, bucketOutbox, id, &cur)
		if err != nil {
			return err
		}
		had, err := get(tx, bucketSent, id, &s)
		if err != nil {
			return err
		}
		if !found {
			if had {
				return nil
			}
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		// The record is the caller's unless another process queued the id
		// again since (after dropping it).
		rec := o
		if !bytes.Equal(cur.Envelope, o.Envelope) {
			rec = &cur
		}
		env, err := rec.Decode()
		if err != nil {
			return err
		}
		s.fill(env)
		s.ReceiptID, s.Accepted, s.AcceptedAt = body.GetReceiptId(), raw, body.GetTime().AsTime()
		s.Envelope, s.Signature = rec.Envelope, rec.Signature
		for _, a := range body.GetRecipients() {
			s.update(Recipient{Agency: a, Status: lienthongv1.Status_STATUS_ACCEPTED, Time: s.AcceptedAt, ReceiptID: body.GetReceiptId()})
		}
		if err := linkOriginal[Sent](tx, bucketSent, env); err != nil {
			return err
		}
		if err := put(tx, bucketSent, id, &s); err != nil {
			return err
		}
		return tx.Bucket(bucketOutbox).Delete([]byte(id))
	})
	if err != nil {
		return nil, err
	}
	// The record is gone; copies left by a failure here are harmless and
	// go when the id is queued again.
	os.RemoveAll(filepath.Join(r.outbox, id))
	return &s, nil
}

// ErrNoEnvelope reports a document of the register of documents sent
// whose signed envelope the register does not hold (sent by an older
// version), so Resend cannot send it again unchanged.
var ErrNoEnvelope = errors.New("sổ không giữ phong bì đã ký của văn bản này (gửi bằng phiên bản cũ): gửi lại bằng ltnode send --message-id với cùng nội dung (no stored envelope)")

// Resend puts a document of the register of documents sent back in the
// outbox with its exact signed envelope and the files at paths, which
// must be the files it was sent with (checked against the envelope's
// SHA-256s, as Queue does). It is for a hub that no longer knows the
// document (restored from a backup older than its acceptance): the next
// forwarding pass sends it; the hub accepts it as new, or, if it still
// had it, answers with its original receipt. The recipients that got it
// before recognise its message id and do not file it twice.
func (r *Register) Resend(id string, paths []string) (*Outgoing, error) {
	s, err := r.SentDoc(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if len(s.Envelope) == 0 {
		return nil, fmt.Errorf("%s: %w", id, ErrNoEnvelope)
	}
	return r.Queue(&lienthongv1.SignedEnvelope{Envelope: s.Envelope, Signature: s.Signature}, paths)
}

// Fail marks a queued document failed with the reason (the hub's
// message). It does nothing if the document is no longer in the outbox.
func (r *Register) Fail(id, reason string) error {
	return r.update(func(tx *bolt.Tx) error {
		var o Outgoing
		found, err := get(tx, bucketOutbox, id, &o)
		if err != nil || !found {
			return err
		}
		now := r.now()
		o.State, o.Error, o.FailedAt = Failed, reason, now
		o.Attempts++
		o.LastAttempt = now
		return put(tx, bucketOutbox, id, &o)
	})
}

// Attempted records an attempt that left a document queued (the hub was
// unreachable), with the reason.
func (r *Register) Attempted(id, reason string) error {
	return r.update(func(tx *bolt.Tx) error {
		var o Outgoing
		found, err := get(tx, bucketOutbox, id, &o)
		if err != nil || !found || o.State != Queued {
			return err
		}
		o.Attempts++
		o.LastAttempt, o.Error = r.now(), reason
		return put(tx, bucketOutbox, id, &o)
	})
}

// Requeue puts a failed document back in the queue, in its old place.
func (r *Register) Requeue(id string) error {
	return r.update(func(tx *bolt.Tx) error {
		var o Outgoing
		found, err := get(tx, bucketOutbox, id, &o)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		o.State, o.Error, o.FailedAt = Queued, "", time.Time{}
		return put(tx, bucketOutbox, id, &o)
	})
}

// Drop removes a document from the outbox, with its copies.
func (r *Register) Drop(id string) error {
	err := r.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOutbox).Get([]byte(id)) == nil {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		return tx.Bucket(bucketOutbox).Delete([]byte(id))
	})
	if err != nil {
		return err
	}
	if err := checkID(id); err == nil {
		os.RemoveAll(filepath.Join(r.outbox, id))
	}
	return nil
}

// checkID refuses message ids that cannot name an outbox folder.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".partial-") {
		return fmt.Errorf("mã văn bản %q không dùng được (unusable message id)", id)
	}
	return nil
}

// safeBase is a file name safe to create in an outbox folder.
func safeBase(name string) string {
	base := filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if base == "." || base == ".." || base == "/" || base == "" {
		return "file"
	}
	return base
}
