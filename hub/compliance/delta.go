package compliance

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Key names one agency's counters for one day.
type Key struct {
	Agency string
	Day    Day
}

// NumberUse records that an agency used a number of its yearly register,
// with the notation, and how the document went.
type NumberUse struct {
	Agency   string
	Year     int
	Number   uint32
	Notation string
	Channel  Channel
}

// Channel says how a numbered document went out.
type Channel byte

// Channels; the byte values are stored.
const (
	ChannelElectronic Channel = 'E'
	ChannelPaper      Channel = 'P'
	ChannelSecret     Channel = 'S'
)

// Wins reports whether a use from s replaces a stored use from old of the
// same number and notation: the electronic copy counts, whatever order the
// events came in, so counting incrementally and rebuilding agree.
func (s Channel) Wins(old Channel) bool { return s == ChannelElectronic && old != ChannelElectronic }

// Delta is what a set of events adds to the counters and the registers.
type Delta struct {
	Counts  map[Key]*Counts
	Numbers []NumberUse
}

// NewDelta returns an empty delta.
func NewDelta() *Delta { return &Delta{Counts: make(map[Key]*Counts)} }

func (d *Delta) at(agency string, day Day) *Counts {
	k := Key{agency, day}
	c := d.Counts[k]
	if c == nil {
		c = new(Counts)
		d.Counts[k] = c
	}
	return c
}

// Doc is what the counters need of a stored document.
type Doc struct {
	Sender     string
	Recipients []string
	AcceptedAt time.Time
	Business   lienthongv1.BusinessType
	// Signed: the hub's verification verdict was "valid".
	Signed   bool
	Number   uint32 // 0 if the number is not a register number
	Notation string
	Year     int // of the issue date, else of acceptance
	Due      Day
	HasDue   bool
}

// DocOf extracts the facts of a document from its signed envelope bytes,
// accepted receipt time and verification verdict.
func DocOf(sender string, recipients []string, envelope []byte, acceptedAt time.Time, verdict string) (Doc, error) {
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(envelope, env); err != nil {
		return Doc{}, fmt.Errorf("decoding envelope: %w", err)
	}
	return EnvelopeDoc(sender, recipients, env, acceptedAt, verdict), nil
}

// EnvelopeDoc is DocOf for an envelope its caller has decoded already.
func EnvelopeDoc(sender string, recipients []string, env *lienthongv1.Envelope, acceptedAt time.Time, verdict string) Doc {
	d := Doc{
		Sender: sender, Recipients: recipients, AcceptedAt: acceptedAt,
		Business: env.GetBusinessType(), Signed: verdict == "valid",
		Notation: env.GetNotation(), Year: DayOf(acceptedAt).Year(),
	}
	if n, ok := ParseNumber(env.GetNumber()); ok {
		d.Number = n
	}
	if day, err := ParseDay(env.GetIssueDate()); err == nil {
		d.Year = day.Year()
	}
	if day, err := ParseDay(env.GetDueDate()); err == nil {
		d.Due, d.HasDue = day, true
	}
	return d
}

// counted reports whether a document is a new outgoing document: new ones
// and replacements are; a revocation or an update is about one already
// counted.
func (doc *Doc) counted() bool {
	return doc.Business == lienthongv1.BusinessType_BUSINESS_TYPE_NEW || doc.Business == lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE
}

// Accepted counts a document the hub accepted.
func (d *Delta) Accepted(doc *Doc) {
	day := DayOf(doc.AcceptedAt)
	if doc.counted() {
		c := d.at(doc.Sender, day)
		c.Electronic++
		if doc.Signed {
			c.Signed++
		}
	}
	for _, r := range doc.Recipients {
		d.at(r, day).Received++
		if doc.HasDue {
			d.at(r, doc.Due).Due++
		}
	}
	if doc.Number != 0 && doc.Business != lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE {
		d.Numbers = append(d.Numbers, NumberUse{doc.Sender, doc.Year, doc.Number, doc.Notation, ChannelElectronic})
	}
}

// Step counts a recipient's step on a document: its acknowledgement
// (DELIVERED), and the steps that finish it (DONE, REJECTED, REVOKED,
// RECALL_AGREED, QUARANTINED: the hub will never deliver it, so it is not overdue at the
// recipient; the sender is told to send it again). Other steps count
// nothing.
func (d *Delta) Step(doc *Doc, recipient string, status lienthongv1.Status, at time.Time) {
	switch status {
	case lienthongv1.Status_STATUS_DELIVERED:
		d.at(recipient, DayOf(at)).Ack.Observe(at.Sub(doc.AcceptedAt))
		return
	case lienthongv1.Status_STATUS_DONE:
		d.at(recipient, DayOf(at)).Done.Observe(at.Sub(doc.AcceptedAt))
	case lienthongv1.Status_STATUS_REJECTED, lienthongv1.Status_STATUS_REVOKED, lienthongv1.Status_STATUS_QUARANTINED,
		lienthongv1.Status_STATUS_RECALL_AGREED:
	default:
		return
	}
	if doc.HasDue && at.Before(doc.Due.End()) {
		d.at(recipient, doc.Due).OnTime++
	}
}

// Declaration is an agency's statement that it issued a document outside
// the hub: on paper, or secret (secret documents never travel over it).
// It holds no content.
type Declaration struct {
	Agency       string
	Channel      Channel // ChannelPaper or ChannelSecret
	Number       uint32
	Notation     string
	IssueDate    Day
	DocumentType string
	DeclaredAt   time.Time
}

// ErrInvalid marks a declaration a clerk must correct; the error's text
// is the correction to make.
var ErrInvalid = errors.New("invalid declaration")

type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// NewDeclaration checks a declaration's fields as a clerk typed them,
// with the rules a document sent over the hub obeys for the same fields
// (package envelope): number, notation, issue date (not after tomorrow in
// the province: a document cannot be declared long before it is issued)
// and document type.
func NewDeclaration(agency string, source Channel, number, notation, issueDate, documentType string, now time.Time) (*Declaration, error) {
	bad := func(format string, args ...any) error {
		return invalidError(fmt.Sprintf(format, args...))
	}
	if source != ChannelPaper && source != ChannelSecret {
		return nil, bad("thiếu loại khai báo: giấy (paper) hay mật (secret)")
	}
	notation, documentType = strings.TrimSpace(notation), strings.TrimSpace(documentType)
	n, err := envelope.Declaration(number, notation, issueDate, documentType, now)
	if err != nil {
		return nil, bad("%s", lienthong.ErrorMessage(err))
	}
	day, err := ParseDay(issueDate)
	if err != nil {
		return nil, bad("ngày ban hành: %v", err)
	}
	return &Declaration{
		Agency: agency, Channel: source, Number: n, Notation: notation, IssueDate: day,
		DocumentType: documentType, DeclaredAt: now,
	}, nil
}

// Declared counts a declaration.
func (d *Delta) Declared(decl *Declaration) {
	c := d.at(decl.Agency, decl.IssueDate)
	if decl.Channel == ChannelSecret {
		c.Secret++
	} else {
		c.Paper++
	}
	d.Numbers = append(d.Numbers, NumberUse{decl.Agency, decl.IssueDate.Year(), decl.Number, decl.Notation, decl.Channel})
}
