package edxml

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// steps maps the status codes of QCVN 102:2016 onto the hub's status steps.
var steps = [...]struct {
	code StatusCode
	step lienthongv1.Status
}{
	{CodeArrived, lienthongv1.Status_STATUS_DELIVERED},
	{CodeRefused, lienthongv1.Status_STATUS_REJECTED},
	{CodeAccepted, lienthongv1.Status_STATUS_RECEIVED},
	{CodeAssigned, lienthongv1.Status_STATUS_ASSIGNED},
	{CodeInProgress, lienthongv1.Status_STATUS_IN_PROGRESS},
	{CodeDone, lienthongv1.Status_STATUS_DONE},
	{CodeRecallRequest, lienthongv1.Status_STATUS_RECALL_REQUESTED},
	{CodeRecallAgreed, lienthongv1.Status_STATUS_RECALL_AGREED},
	{CodeRecallRefused, lienthongv1.Status_STATUS_RECALL_REFUSED},
}

// Step returns the hub's status step of the code.
func (c StatusCode) Step() (lienthongv1.Status, error) {
	for _, s := range steps {
		if s.code == c {
			return s.step, nil
		}
	}
	return 0, lienthong.Errorf(lienthong.KindInvalid,
		"mã trạng thái %q không có trong QCVN 102:2016; dùng 01, 02, 03, 04, 05, 06, 13, 15 hoặc 16 (unknown status code)", clip(string(c)))
}

// CodeOf returns the edXML status code of a hub status step; false for
// the steps edXML has no code for (accepted by the hub, revoked,
// quarantined).
func CodeOf(s lienthongv1.Status) (StatusCode, bool) {
	for _, st := range steps {
		if st.step == s {
			return st.code, true
		}
	}
	return "", false
}

// BusinessType returns the hub's business type of t.
func (t BusinessDocType) BusinessType() lienthongv1.BusinessType {
	return lienthongv1.BusinessType(int32(t) + 1)
}

// DocTypeOf returns the edXML business type of a hub business type.
func DocTypeOf(bt lienthongv1.BusinessType) BusinessDocType {
	if bt == lienthongv1.BusinessType_BUSINESS_TYPE_UNSPECIFIED {
		return BusinessNew
	}
	return BusinessDocType(int32(bt) - 1)
}

// idSpace is the UUID namespace of message ids derived from edXML
// document ids (a fixed random UUID: changing it would change every id).
var idSpace = uuid.MustParse("6f6a7e0e-5c1b-4f5e-9a55-0b8b8f0c1d02")

// MessageID derives the hub's message id of a package. edXML names a
// document by its DocumentId (OrganId,YYYY/MM/DD,number/notation), not by
// a message id, and a revocation, update or replacement names the earlier
// document the same way; deriving the id from the DocumentId (a UUID v5)
// lets any edge — the node's folder connector, the hub's gateway — find
// the original without a lookup, and makes sending the same package twice
// idempotent. A new document's id is that of its DocumentId; a later
// package's id also covers its business type and contentKey (e.g. the
// SHA-256 of the package), so that two updates of one document differ.
func MessageID(documentID string, t BusinessDocType, contentKey string) string {
	name := strings.TrimSpace(documentID)
	if t != BusinessNew {
		name = fmt.Sprintf("%s|%d|%s", name, t, contentKey)
	}
	return uuid.NewSHA1(idSpace, []byte(name)).String()
}

// MessageID is the hub message id of the package (see the function
// MessageID): by its DocumentId or, for a package without one, by the
// DocumentId its sender, date and number/notation make. contentKey is as
// for MessageID (the package's SHA-256, hex).
func (p *Package) MessageID(contentKey string) string {
	docID := p.Header.DocumentID
	if docID == "" {
		docID = DocumentID(p.Header.From.OrganID, p.Header.Promulgation.Date, p.Header.Code.Number, p.Header.Code.Notation)
	}
	return MessageID(docID, p.Business.DocType, contentKey)
}

// DocumentID returns the edXML DocumentId of a document:
// OrganId,YYYY/MM/DD,number/notation.
func DocumentID(sender, issueDate, number, notation string) string {
	return fmt.Sprintf("%s,%s,%s/%s", sender, strings.ReplaceAll(issueDate, "-", "/"), number, notation)
}

// priorities maps OtherInfo/Priority onto the hub's urgency: 0 thường,
// 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ (which the hub has
// not, so it is hỏa tốc and the written value is kept in EdxmlHeader).
func urgencyOf(priority string) lienthongv1.Urgency {
	switch strings.TrimSpace(priority) {
	case "1":
		return lienthongv1.Urgency_URGENCY_URGENT
	case "2":
		return lienthongv1.Urgency_URGENCY_VERY_URGENT
	case "3", "4":
		return lienthongv1.Urgency_URGENCY_FLASH
	}
	return lienthongv1.Urgency_URGENCY_NORMAL
}

func priorityOf(u lienthongv1.Urgency) string {
	switch u {
	case lienthongv1.Urgency_URGENCY_URGENT:
		return "1"
	case lienthongv1.Urgency_URGENCY_VERY_URGENT:
		return "2"
	case lienthongv1.Urgency_URGENCY_FLASH:
		return "3"
	}
	return "0"
}

// Envelope returns the hub's envelope of p with the given message id:
// every field the Envelope has a home for goes there, the rest into its
// EdxmlHeader. For a revocation, update or replacement, related returns
// the message id of the earlier document from its edXML DocumentId (nil:
// MessageID of a new document). The envelope still has to pass
// envelope.Check, which the caller's send path applies.
func (p *Package) Envelope(messageID string, related func(documentID string) (string, error)) (*lienthongv1.Envelope, error) {
	h, b := &p.Header, &p.Business
	env := &lienthongv1.Envelope{
		MessageId:     messageID,
		Sender:        h.From.OrganID,
		BusinessType:  b.DocType.BusinessType(),
		Number:        h.Code.Number,
		Notation:      h.Code.Notation,
		IssueDate:     h.Promulgation.Date,
		DocumentType:  h.DocumentType.TypeName,
		Subject:       h.Subject,
		Signer:        h.Signer.FullName,
		Urgency:       urgencyOf(h.Other.Priority),
		SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL,
		DueDate:       h.DueDate,
	}
	if env.DocumentType == "" {
		env.DocumentType = h.DocumentType.Type
	}
	for _, to := range h.To {
		env.Recipients = append(env.Recipients, to.OrganID)
	}
	if b.DocType != BusinessNew {
		if related == nil {
			related = func(id string) (string, error) { return MessageID(id, BusinessNew, ""), nil }
		}
		id, err := related(b.DocumentID)
		if err != nil {
			return nil, fmt.Errorf("finding the document %s that the package %s: %w", b.DocumentID, b.DocType.verb(), err)
		}
		env.RelatedMessageId = id
	}
	x := &lienthongv1.EdxmlHeader{
		From:                 orgPB(h.From),
		DocumentId:           h.DocumentID,
		PromulgationPlace:    h.Promulgation.Place,
		Type:                 h.DocumentType.Type,
		TypeDetail:           h.DocumentType.TypeDetail,
		Content:              h.Content,
		SignerCompetence:     h.Signer.Competence,
		SignerPosition:       h.Signer.Position,
		ToPlaces:             h.ToPlaces,
		Priority:             h.Other.Priority,
		SphereOfPromulgation: h.Other.SphereOfPromulgation,
		TyperNotation:        h.Other.TyperNotation,
		PromulgationAmount:   h.Other.PromulgationAmount,
		PageAmount:           h.Other.PageAmount,
		Direction:            h.Other.Direction,
		Appendixes:           h.Other.Appendixes,
		SteeringType:         h.SteeringType,
		BusinessDocumentId:   b.DocumentID,
		BusinessReason:       b.Reason,
		Paper:                b.Paper,
		Staff:                staffPB(b.Staff),
		BusinessDocumentInfo: b.DocumentInfo,
	}
	for _, to := range h.To {
		x.To = append(x.To, orgPB(to))
	}
	for _, r := range h.ResponseFor {
		x.ResponseFor = append(x.ResponseFor, &lienthongv1.EdxmlResponseFor{
			OrganId: r.OrganID, Code: r.Code, PromulgationDate: r.PromulgationDate, DocumentId: r.DocumentID,
		})
	}
	for _, r := range b.Replacements {
		x.Replacements = append(x.Replacements, &lienthongv1.EdxmlReplacement{DocumentId: r.DocumentID, OrganIds: r.OrganIDs})
	}
	for _, a := range p.Attachments {
		env.Files = append(env.Files, &lienthongv1.FileInfo{
			Name: a.Name, MediaType: mediaType(a), Size: a.Size, Sha256: a.SHA256[:],
		})
		x.Files = append(x.Files, &lienthongv1.EdxmlFile{ContentId: a.ContentID, Description: a.Description})
	}
	env.Edxml = x
	return env, nil
}

func (t BusinessDocType) verb() string {
	switch t {
	case BusinessRevoke:
		return "revokes"
	case BusinessUpdate:
		return "updates"
	case BusinessReplace:
		return "replaces"
	}
	return "names"
}

// mediaType is the attachment's content type, or the octet-stream type
// when the package left it out.
func mediaType(a Attachment) string {
	if strings.TrimSpace(a.ContentType) == "" {
		return "application/octet-stream"
	}
	return a.ContentType
}

// FromEnvelope builds the package of a hub envelope (without trace
// headers or signature): from its EdxmlHeader when it came in as edXML,
// else from its fields alone. Attachments carry the envelope's file
// names, types, sizes and digests in order.
func FromEnvelope(env *lienthongv1.Envelope) *Package {
	x := env.GetEdxml()
	p := &Package{Namespace: Namespace}
	h, b := &p.Header, &p.Business
	h.From = orgOf(x.GetFrom())
	h.From.OrganID = env.GetSender()
	h.DocumentID = x.GetDocumentId()
	if h.DocumentID == "" {
		h.DocumentID = DocumentID(env.GetSender(), env.GetIssueDate(), env.GetNumber(), env.GetNotation())
	}
	h.Code = Code{Number: env.GetNumber(), Notation: env.GetNotation()}
	h.Promulgation = Promulgation{Place: x.GetPromulgationPlace(), Date: env.GetIssueDate()}
	h.DocumentType = DocumentType{Type: x.GetType(), TypeDetail: x.GetTypeDetail(), TypeName: env.GetDocumentType()}
	h.Subject, h.Content = env.GetSubject(), x.GetContent()
	h.Signer = SignerInfo{Competence: x.GetSignerCompetence(), Position: x.GetSignerPosition(), FullName: env.GetSigner()}
	h.DueDate = env.GetDueDate()
	h.ToPlaces = x.GetToPlaces()
	h.Other = OtherInfo{
		Priority: x.GetPriority(), SphereOfPromulgation: x.GetSphereOfPromulgation(), TyperNotation: x.GetTyperNotation(),
		PromulgationAmount: x.GetPromulgationAmount(), PageAmount: x.GetPageAmount(), Direction: x.GetDirection(),
		Appendixes: x.GetAppendixes(),
	}
	if h.Other.Priority == "" || urgencyOf(h.Other.Priority) != env.GetUrgency() {
		h.Other.Priority = priorityOf(env.GetUrgency())
	}
	h.SteeringType = x.GetSteeringType()
	for _, r := range x.GetResponseFor() {
		h.ResponseFor = append(h.ResponseFor, ResponseFor{
			OrganID: r.GetOrganId(), Code: r.GetCode(), PromulgationDate: r.GetPromulgationDate(), DocumentID: r.GetDocumentId(),
		})
	}
	// To: the edXML organisations when the envelope came with them,
	// else the recipients' codes.
	if len(x.GetTo()) > 0 {
		for _, o := range x.GetTo() {
			h.To = append(h.To, orgOf(o))
		}
	} else {
		for _, r := range env.GetRecipients() {
			h.To = append(h.To, Organization{OrganID: r})
		}
	}
	b.DocType = DocTypeOf(env.GetBusinessType())
	b.DocumentID = x.GetBusinessDocumentId()
	if b.DocumentID == "" {
		b.DocumentID = h.DocumentID
	}
	b.Reason, b.Paper, b.DocumentInfo = x.GetBusinessReason(), x.GetPaper(), x.GetBusinessDocumentInfo()
	b.Staff = staffOf(x.GetStaff())
	for _, r := range x.GetReplacements() {
		b.Replacements = append(b.Replacements, Replacement{DocumentID: r.GetDocumentId(), OrganIDs: r.GetOrganIds()})
	}
	for i, f := range env.GetFiles() {
		a := Attachment{Index: i, Name: f.GetName(), ContentType: f.GetMediaType(), Size: f.GetSize()}
		copy(a.SHA256[:], f.GetSha256())
		if i < len(x.GetFiles()) {
			a.ContentID, a.Description = x.GetFiles()[i].GetContentId(), x.GetFiles()[i].GetDescription()
		}
		if a.ContentID == "" {
			a.ContentID = fmt.Sprintf("cid:%d", i+1)
		}
		if a.Description == "" {
			a.Description = a.Name
		}
		p.Attachments = append(p.Attachments, a)
		p.References = append(p.References, Reference{
			ContentID: a.ContentID, ContentType: a.ContentType, Description: a.Description, AttachmentName: a.Name,
		})
	}
	return p
}

func orgPB(o Organization) *lienthongv1.EdxmlOrganization {
	return &lienthongv1.EdxmlOrganization{
		OrganId: o.OrganID, OrganizationInCharge: o.OrganizationInCharge, OrganName: o.OrganName, OrganAdd: o.OrganAdd,
		Email: o.Email, Telephone: o.Telephone, Fax: o.Fax, Website: o.Website,
	}
}

func orgOf(o *lienthongv1.EdxmlOrganization) Organization {
	return Organization{
		OrganID: o.GetOrganId(), OrganizationInCharge: o.GetOrganizationInCharge(), OrganName: o.GetOrganName(),
		OrganAdd: o.GetOrganAdd(), Email: o.GetEmail(), Telephone: o.GetTelephone(), Fax: o.GetFax(), Website: o.GetWebsite(),
	}
}

func staffPB(s StaffInfo) *lienthongv1.EdxmlStaff {
	if s == (StaffInfo{}) {
		return nil
	}
	return &lienthongv1.EdxmlStaff{Department: s.Department, Staff: s.Staff, Email: s.Email, Mobile: s.Mobile}
}

func staffOf(s *lienthongv1.EdxmlStaff) StaffInfo {
	return StaffInfo{Department: s.GetDepartment(), Staff: s.GetStaff(), Email: s.GetEmail(), Mobile: s.GetMobile()}
}

// FromReceipt builds the status message of a hub status receipt about
// the document env: from is the organisation reporting the step (the
// recipient, or the sender for a recall request).
func FromReceipt(body *lienthongv1.ReceiptBody, env *lienthongv1.Envelope) (*Status, error) {
	code, ok := CodeOf(body.GetStatus())
	if !ok {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"trạng thái \"%s\" không có mã trong QCVN 102:2016 (no edXML status code for %s)", body.GetStatus().Label(), body.GetStatus().Name())
	}
	from := body.GetAgency()
	if body.GetStatus() == lienthongv1.Status_STATUS_RECALL_REQUESTED {
		from = body.GetSender()
	}
	pkg := FromEnvelope(env)
	st := &Status{
		Namespace: Namespace,
		From:      Organization{OrganID: from},
		ResponseFor: ResponseFor{
			OrganID: env.GetSender(), Code: env.GetNumber() + "/" + env.GetNotation(),
			PromulgationDate: env.GetIssueDate(), DocumentID: pkg.Header.DocumentID,
		},
		Code:        code,
		Description: body.GetReason(),
		Timestamp:   body.GetTime().AsTime().In(vietnam),
	}
	if st.Description == "" {
		st.Description = body.GetStatus().Label()
	}
	return st, nil
}
