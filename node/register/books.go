package register

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Relations are the later documents that concern one: a revocation, and
// updates or replacements.
type Relations struct {
	RevokedBy string   `json:"revoked_by,omitempty"`
	Links     []string `json:"links,omitempty"`
}

func (r *Relations) relations() *Relations { return r }

// Recipient is one recipient's latest step of a document sent.
type Recipient struct {
	Agency    string             `json:"agency"`
	Status    lienthongv1.Status `json:"status"`
	Time      time.Time          `json:"time"`
	Reason    string             `json:"reason,omitempty"`
	ReceiptID string             `json:"receipt_id,omitempty"`
}

// Sent is an entry of the register of documents sent (sổ văn bản đi).
type Sent struct {
	MessageID        string                   `json:"message_id"`
	BusinessType     lienthongv1.BusinessType `json:"business_type"`
	RelatedMessageID string                   `json:"related_message_id,omitempty"`
	Number           string                   `json:"number"`
	Notation         string                   `json:"notation"`
	DocumentType     string                   `json:"document_type"`
	Subject          string                   `json:"subject"`
	IssueDate        string                   `json:"issue_date"`
	DueDate          string                   `json:"due_date,omitempty"`
	// To is the recipients as addressed (codes or KIND:CODE groups).
	To []string `json:"to"`
	// Recipients are the agencies the hub resolved, each with its latest
	// step, sorted by code.
	Recipients []Recipient `json:"recipients"`
	ReceiptID  string      `json:"receipt_id"`
	// Accepted is the hub's signed "accepted" receipt (a serialized
	// lienthongv1.Receipt).
	Accepted   []byte    `json:"accepted"`
	AcceptedAt time.Time `json:"accepted_at"`
	Relations
}

// Received is an entry of the register of documents received (sổ văn bản
// đến).
type Received struct {
	MessageID        string                   `json:"message_id"`
	Sender           string                   `json:"sender"`
	BusinessType     lienthongv1.BusinessType `json:"business_type"`
	RelatedMessageID string                   `json:"related_message_id,omitempty"`
	Number           string                   `json:"number"`
	Notation         string                   `json:"notation"`
	DocumentType     string                   `json:"document_type"`
	Subject          string                   `json:"subject"`
	IssueDate        string                   `json:"issue_date"`
	DueDate          string                   `json:"due_date,omitempty"`
	Urgency          lienthongv1.Urgency      `json:"urgency"`
	// Dir is the folder the document was written to.
	Dir        string    `json:"dir"`
	ReceivedAt time.Time `json:"received_at"`
	// Status is the agency's own processing step: delivered once
	// acknowledged, then what the clerk reports.
	Status   lienthongv1.Status `json:"status"`
	StatusAt time.Time          `json:"status_at"`
	Reason   string             `json:"reason,omitempty"`
	// StatusReceipt is the hub's signed receipt for Status (a serialized
	// lienthongv1.Receipt), once reported.
	StatusReceipt []byte `json:"status_receipt,omitempty"`
	// NotStored, when set, says why the document is not in the inbox: the
	// node could not store it (Status REJECTED once the hub recorded
	// that, ACCEPTED while it has not), or the hub quarantined it (Status
	// QUARANTINED). Dir is then empty.
	NotStored string `json:"not_stored,omitempty"`
	Relations
}

// closed reports whether a step ends a recipient's work on a document:
// done, rejected (nothing more will happen there), revoked or
// quarantined (the hub will never deliver it).
func closed(s lienthongv1.Status) bool {
	switch s {
	case lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_REJECTED, lienthongv1.Status_STATUS_REVOKED,
		lienthongv1.Status_STATUS_QUARANTINED, lienthongv1.Status_STATUS_RECALL_AGREED:
		return true
	}
	return false
}

// Overdue reports whether the document's due date is before today
// (YYYY-MM-DD) while a recipient has not finished it. A revoked document
// is never overdue.
func (s *Sent) Overdue(today string) bool {
	if s.DueDate == "" || s.DueDate >= today || s.RevokedBy != "" {
		return false
	}
	return slices.ContainsFunc(s.Recipients, func(r Recipient) bool { return !closed(r.Status) })
}

// Overdue reports whether the document's due date is before today
// (YYYY-MM-DD) while the agency has not finished it.
func (r *Received) Overdue(today string) bool {
	return r.DueDate != "" && r.DueDate < today && r.RevokedBy == "" && !closed(r.Status)
}

// fill copies the envelope's fields.
func (s *Sent) fill(env *lienthongv1.Envelope) {
	s.MessageID, s.BusinessType, s.RelatedMessageID = env.GetMessageId(), env.GetBusinessType(), env.GetRelatedMessageId()
	s.Number, s.Notation, s.DocumentType, s.Subject = env.GetNumber(), env.GetNotation(), env.GetDocumentType(), env.GetSubject()
	s.IssueDate, s.DueDate, s.To = env.GetIssueDate(), env.GetDueDate(), env.GetRecipients()
}

// update records a recipient's step if it is newer than the one held: a
// later time, or the same time and a later step. A redelivered
// notification changes nothing.
func (s *Sent) update(next Recipient) bool {
	i := slices.IndexFunc(s.Recipients, func(r Recipient) bool { return r.Agency == next.Agency })
	if i < 0 {
		s.Recipients = append(s.Recipients, next)
		slices.SortFunc(s.Recipients, func(a, b Recipient) int { return cmp.Compare(a.Agency, b.Agency) })
		return true
	}
	cur := &s.Recipients[i]
	switch {
	case next.Time.After(cur.Time) || (next.Time.Equal(cur.Time) && next.Status > cur.Status):
		*cur = next
		return true
	case next.Time.Equal(cur.Time) && next.Status == cur.Status:
		// The same step heard twice (a notification and Track): keep what
		// either knew.
		changed := false
		if cur.Reason == "" && next.Reason != "" {
			cur.Reason, changed = next.Reason, true
		}
		if cur.ReceiptID == "" && next.ReceiptID != "" {
			cur.ReceiptID, changed = next.ReceiptID, true
		}
		return changed
	}
	return false
}

// linkOriginal marks the original of a revocation, update or replacement
// held in bucket, if it is there.
func linkOriginal[T any, P interface {
	*T
	relations() *Relations
}](tx *bolt.Tx, bucket []byte, env *lienthongv1.Envelope) error {
	orig := env.GetRelatedMessageId()
	if orig == "" || env.GetBusinessType() == lienthongv1.BusinessType_BUSINESS_TYPE_NEW {
		return nil
	}
	rec := P(new(T))
	found, err := get(tx, bucket, orig, rec)
	if err != nil || !found {
		return err
	}
	rel, id := rec.relations(), env.GetMessageId()
	if env.GetBusinessType() == lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE {
		rel.RevokedBy = id
	} else if !slices.Contains(rel.Links, id) {
		rel.Links = append(rel.Links, id)
	}
	return put(tx, bucket, orig, rec)
}

// AddReceived registers a document received and acknowledged, written to
// dir. It returns false, and changes nothing, when the message id is
// already registered (a redelivery). A revocation marks the original as
// revoked; an update or replacement is linked from the original.
func (r *Register) AddReceived(env *lienthongv1.Envelope, dir string) (bool, error) {
	id := env.GetMessageId()
	if id == "" {
		return false, fmt.Errorf("registering a received document without a message id")
	}
	added := false
	err := r.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketReceived).Get([]byte(id)) != nil {
			return nil
		}
		now := r.now()
		rec := &Received{
			MessageID: id, Sender: env.GetSender(), BusinessType: env.GetBusinessType(), RelatedMessageID: env.GetRelatedMessageId(),
			Number: env.GetNumber(), Notation: env.GetNotation(), DocumentType: env.GetDocumentType(), Subject: env.GetSubject(),
			IssueDate: env.GetIssueDate(), DueDate: env.GetDueDate(), Urgency: env.GetUrgency(), Dir: dir,
			ReceivedAt: now, Status: lienthongv1.Status_STATUS_DELIVERED, StatusAt: now,
		}
		if err := linkOriginal[Received](tx, bucketReceived, env); err != nil {
			return err
		}
		added = true
		return put(tx, bucketReceived, id, rec)
	})
	return added, err
}

// AddNotStored registers a document addressed to this agency that it
// does not have: reason says why, status and rcpt (nil if none) are the
// hub's view of it (REJECTED once the hub recorded that the node could not
// store it, QUARANTINED when the hub quarantined it, ACCEPTED while the
// hub has recorded nothing). env may be nil. An entry for a document
// stored in the inbox is left as it is.
func (r *Register) AddNotStored(id, sender string, env *lienthongv1.Envelope, reason string, status lienthongv1.Status, rcpt *lienthongv1.Receipt) (*Received, error) {
	if id == "" {
		return nil, fmt.Errorf("registering a document not stored without a message id")
	}
	var raw []byte
	at := r.now()
	if rcpt != nil {
		var err error
		if raw, err = proto.Marshal(rcpt); err != nil {
			return nil, fmt.Errorf("encoding the receipt of %s: %w", id, err)
		}
		body := new(lienthongv1.ReceiptBody)
		if proto.Unmarshal(rcpt.GetBody(), body) == nil && body.GetTime() != nil {
			at = body.GetTime().AsTime()
		}
	}
	var rec Received
	err := r.update(func(tx *bolt.Tx) error {
		found, err := get(tx, bucketReceived, id, &rec)
		if err != nil {
			return err
		}
		if found && rec.Dir != "" {
			return nil
		}
		if !found {
			rec = Received{MessageID: id, Sender: sender, ReceivedAt: r.now()}
		}
		if env != nil {
			rec.BusinessType, rec.RelatedMessageID = env.GetBusinessType(), env.GetRelatedMessageId()
			rec.Number, rec.Notation, rec.DocumentType, rec.Subject = env.GetNumber(), env.GetNotation(), env.GetDocumentType(), env.GetSubject()
			rec.IssueDate, rec.DueDate, rec.Urgency = env.GetIssueDate(), env.GetDueDate(), env.GetUrgency()
		}
		rec.NotStored, rec.Status, rec.StatusAt, rec.StatusReceipt = reason, status, at, raw
		return put(tx, bucketReceived, id, &rec)
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// SetStatus records the agency's own processing step of a document it
// received, from the hub's signed receipt (whose body the caller has
// verified). A document missing from the register is added with what the
// receipt says.
func (r *Register) SetStatus(body *lienthongv1.ReceiptBody, rcpt *lienthongv1.Receipt) (*Received, error) {
	raw, err := proto.Marshal(rcpt)
	if err != nil {
		return nil, fmt.Errorf("encoding the receipt of %s: %w", body.GetMessageId(), err)
	}
	var rec Received
	err = r.update(func(tx *bolt.Tx) error {
		found, err := get(tx, bucketReceived, body.GetMessageId(), &rec)
		if err != nil {
			return err
		}
		if !found {
			rec = Received{MessageID: body.GetMessageId(), Sender: body.GetSender(), ReceivedAt: r.now()}
		}
		rec.Status, rec.StatusAt, rec.Reason, rec.StatusReceipt = body.GetStatus(), body.GetTime().AsTime(), body.GetReason(), raw
		return put(tx, bucketReceived, rec.MessageID, &rec)
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// RecordNotification records a recipient's step of a document sent, from
// a notification (a receipt whose body the caller has verified). It
// returns the entry and whether it changed; a document missing from the
// register gets an entry holding what the receipt says.
func (r *Register) RecordNotification(body *lienthongv1.ReceiptBody) (*Sent, bool, error) {
	var s Sent
	changed := false
	err := r.update(func(tx *bolt.Tx) error {
		found, err := get(tx, bucketSent, body.GetMessageId(), &s)
		if err != nil {
			return err
		}
		if !found {
			s = Sent{MessageID: body.GetMessageId()}
		}
		changed = s.update(Recipient{Agency: body.GetAgency(), Status: body.GetStatus(), Time: body.GetTime().AsTime(),
			Reason: body.GetReason(), ReceiptID: body.GetReceiptId()})
		if !changed && found {
			return nil
		}
		return put(tx, bucketSent, s.MessageID, &s)
	})
	if err != nil {
		return nil, false, err
	}
	return &s, changed, nil
}

// RecordTrack records the recipients' steps of a document this agency
// sent, as the hub's Track reports them; an entry missing from the
// register is made from the envelope.
func (r *Register) RecordTrack(env *lienthongv1.Envelope, steps []*lienthongv1.RecipientStatus) error {
	return r.update(func(tx *bolt.Tx) error {
		var s Sent
		found, err := get(tx, bucketSent, env.GetMessageId(), &s)
		if err != nil {
			return err
		}
		if !found || s.Number == "" {
			s.fill(env)
		}
		for _, st := range steps {
			s.update(Recipient{Agency: st.GetAgency(), Status: st.GetStatus(), Time: st.GetTime().AsTime()})
		}
		return put(tx, bucketSent, s.MessageID, &s)
	})
}

// SentDoc returns the entry of a document sent, or ErrNotFound.
func (r *Register) SentDoc(id string) (*Sent, error) {
	return lookup[Sent](r, bucketSent, id)
}

// ReceivedDoc returns the entry of a document received, or ErrNotFound.
func (r *Register) ReceivedDoc(id string) (*Received, error) {
	return lookup[Received](r, bucketReceived, id)
}

func lookup[T any](r *Register, bucket []byte, id string) (*T, error) {
	v := new(T)
	var found bool
	err := r.view(func(tx *bolt.Tx) (err error) {
		found, err = get(tx, bucket, id, v)
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Query selects register entries.
type Query struct {
	// Search keeps entries where every word appears in the number,
	// notation ("12/QĐ-UBND"), subject, message id or the code of a
	// correspondent (sender, recipient). Case and Vietnamese diacritics
	// are ignored: "ke hoach" finds "Kế hoạch".
	Search string
	// Overdue keeps entries past their due date and not finished (see
	// Sent.Overdue, Received.Overdue).
	Overdue bool
}

// Today is the date the register's clock reads in the province's time
// zone (Vietnam, UTC+7), as YYYY-MM-DD: due dates are dates there, whatever
// the machine's zone.
func (r *Register) Today() string { return r.now().In(lienthong.Zone()).Format(time.DateOnly) }

// SentList lists the register of documents sent, oldest first.
func (r *Register) SentList(q Query) ([]*Sent, error) {
	today, words := r.Today(), strings.Fields(Fold(q.Search))
	var out []*Sent
	err := r.view(func(tx *bolt.Tx) error {
		return each(tx, bucketSent, func(s *Sent) error {
			hay := append([]string{s.MessageID, s.Number, s.Notation, s.Number + "/" + s.Notation, s.Subject}, s.To...)
			for _, rc := range s.Recipients {
				hay = append(hay, rc.Agency)
			}
			if matches(words, hay) && (!q.Overdue || s.Overdue(today)) {
				out = append(out, s)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Sent) int {
		return cmp.Or(a.AcceptedAt.Compare(b.AcceptedAt), cmp.Compare(a.MessageID, b.MessageID))
	})
	return out, err
}

// ReceivedList lists the register of documents received, oldest first.
func (r *Register) ReceivedList(q Query) ([]*Received, error) {
	today, words := r.Today(), strings.Fields(Fold(q.Search))
	var out []*Received
	err := r.view(func(tx *bolt.Tx) error {
		return each(tx, bucketReceived, func(rec *Received) error {
			hay := []string{rec.MessageID, rec.Number, rec.Notation, rec.Number + "/" + rec.Notation, rec.Subject, rec.Sender}
			if matches(words, hay) && (!q.Overdue || rec.Overdue(today)) {
				out = append(out, rec)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Received) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(a.MessageID, b.MessageID))
	})
	return out, err
}

// matches reports whether every (folded) word occurs in one of the fields.
func matches(words, fields []string) bool {
	for _, w := range words {
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.Contains(Fold(f), w) }) {
			return false
		}
	}
	return true
}

// vietnameseFolds maps precomposed Vietnamese letters to their base.
var vietnameseFolds = [...]struct {
	base     rune
	variants string
}{
	{'a', "àáảãạăằắẳẵặâầấẩẫậ"},
	{'d', "đ"},
	{'e', "èéẻẽẹêềếểễệ"},
	{'i', "ìíỉĩị"},
	{'o', "òóỏõọôồốổỗộơờớởỡợ"},
	{'u', "ùúủũụưừứửữự"},
	{'y', "ỳýỷỹỵ"},
}

// Fold lowers s and strips Vietnamese diacritics, precomposed or as
// combining marks, so that searches match however a clerk types.
func Fold(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c < 0x80 {
			b.WriteRune(c)
			continue
		}
		if unicode.Is(unicode.Mn, c) {
			continue
		}
		for _, f := range vietnameseFolds {
			if strings.ContainsRune(f.variants, c) {
				c = f.base
				break
			}
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Open reports whether a recipient may still take a step on the document:
// it is not revoked and some recipient has not finished it.
func (s *Sent) Open() bool {
	return s.RevokedBy == "" && slices.ContainsFunc(s.Recipients, func(r Recipient) bool { return !closed(r.Status) })
}
