package edxml

import (
	"time"
)

// Namespaces of edXML. The reader accepts all three; the writer emits
// Namespace only.
const (
	// Namespace is the namespace of QCVN 102:2016/BTTTT.
	Namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
	// LegacyGoVN is a namespace of field builds before the standard.
	LegacyGoVN = "http://www.go.vn/eDoc"
	// LegacyEDoc is another namespace of field builds before the standard.
	LegacyEDoc = "http://www.e-doc.vn/Schema/"
	// DSigNamespace is the XMLDSig namespace of the header's Signature.
	DSigNamespace = "http://www.w3.org/2000/09/xmldsig#"
)

// Organization is an edXML From or To element.
type Organization struct {
	OrganID              string // mã định danh, 13 characters under Decree 30 (e.g. 000.00.31.H53)
	OrganizationInCharge string
	OrganName            string
	OrganAdd             string
	Email                string
	Telephone            string
	Fax                  string
	Website              string
}

// Code is the number and notation (số, ký hiệu) of a document.
type Code struct {
	Number   string // CodeNumber, e.g. "123"
	Notation string // CodeNotation, e.g. "UBND-VP"
}

// Promulgation is PromulgationInfo: where and when the document was issued.
type Promulgation struct {
	Place string
	Date  string // YYYY-MM-DD (edXML writes YYYY/MM/DD)
}

// DocumentType is the DocumentType element.
type DocumentType struct {
	Type       string // 1 administrative document, 2 ... (a number, kept as written)
	TypeDetail string
	TypeName   string // e.g. "Công văn"
}

// SignerInfo is the SignerInfo element.
type SignerInfo struct {
	Competence string // thẩm quyền, e.g. "TM. UBND", "KT. CHỦ TỊCH"
	Position   string
	FullName   string
}

// OtherInfo is the OtherInfo element.
type OtherInfo struct {
	Priority             string // 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ
	SphereOfPromulgation string
	TyperNotation        string
	PromulgationAmount   string
	PageAmount           string
	Direction            string // "true"/"false" as written
	Appendixes           []string
}

// ResponseFor names an earlier document this one answers (in a document
// header) or that a status message is about.
type ResponseFor struct {
	OrganID          string
	Code             string // number/notation, e.g. "123/UBND-VP"
	PromulgationDate string // YYYY-MM-DD
	DocumentID       string
}

// Header is an edXML MessageHeader of a document.
type Header struct {
	From         Organization
	To           []Organization
	DocumentID   string // OrganId,YYYY/MM/DD,number/notation
	Code         Code
	Promulgation Promulgation
	DocumentType DocumentType
	Subject      string
	Content      string
	Signer       SignerInfo
	DueDate      string // YYYY-MM-DD, optional
	ToPlaces     []string
	Other        OtherInfo
	SteeringType string
	ResponseFor  []ResponseFor
}

// Trace is one TraceHeader: an organisation the package passed through.
type Trace struct {
	OrganID   string
	Timestamp time.Time // written yyyy/MM/dd HH:mm:ss in Vietnam's time (UTC+7)
}

// BusinessDocType is BussinessDocType (the standard's spelling): what the
// package does to the document its Business.DocumentID names.
type BusinessDocType int

// Business types of QCVN 102:2016.
const (
	BusinessNew     BusinessDocType = 0
	BusinessRevoke  BusinessDocType = 1
	BusinessUpdate  BusinessDocType = 2
	BusinessReplace BusinessDocType = 3
)

// StaffInfo is the clerk who handled a package or a status.
type StaffInfo struct {
	Department string
	Staff      string
	Email      string
	Mobile     string
}

// Replacement is one ReplacementInfo: a document replaced and the
// organisations it had gone to.
type Replacement struct {
	DocumentID string
	OrganIDs   []string
}

// Business is the Bussiness element of the TraceHeaderList.
type Business struct {
	DocumentID   string
	DocType      BusinessDocType
	Reason       string // BussinessDocReason
	Paper        string // 0 electronic only, 1 a paper copy follows
	Staff        StaffInfo
	DocumentInfo string // BussinessDocumentInfo, kept as its text (what changed, for an update)
	Replacements []Replacement
}

// Reference is one manifest entry.
type Reference struct {
	ContentID      string // cid:…
	ContentType    string
	Description    string
	AttachmentName string
}

// Attachment describes one attachment as read or to be written. Size and
// SHA256 are of the decoded bytes, filled in by Read.
type Attachment struct {
	Index       int
	ContentID   string
	Name        string
	Description string
	ContentType string
	Size        int64
	SHA256      [32]byte
}

// SignatureInfo locates the header's XMLDSig Signature for a verifier:
// Raw is the element's bytes exactly as they appear in the package and
// Offset their position in it. The reader does not verify it.
type SignatureInfo struct {
	Raw    []byte
	Offset int64
	Line   int
}

// Package is an edXML document package without its attachments' bytes.
type Package struct {
	// Namespace is the namespace the package was written in; Legacy is
	// true when it is not the standard one.
	Namespace  string
	Legacy     bool
	Header     Header
	Traces     []Trace
	Business   Business
	Signature  *SignatureInfo // nil when the package is not signed
	References []Reference
	// Attachments in the order of the package.
	Attachments []Attachment
}

// StatusCode is an edXML status code.
type StatusCode string

// Status codes of QCVN 102:2016.
const (
	CodeArrived       StatusCode = "01" // đã đến
	CodeRefused       StatusCode = "02" // từ chối, trả lại
	CodeAccepted      StatusCode = "03" // đã tiếp nhận (vào sổ)
	CodeAssigned      StatusCode = "04" // phân công
	CodeInProgress    StatusCode = "05" // đang xử lý
	CodeDone          StatusCode = "06" // hoàn thành
	CodeRecallRequest StatusCode = "13" // nơi gửi đề nghị thu hồi
	CodeRecallAgreed  StatusCode = "15" // đồng ý thu hồi
	CodeRecallRefused StatusCode = "16" // từ chối thu hồi
)

// Status is an edXML status message.
type Status struct {
	Namespace   string
	Legacy      bool
	From        Organization
	ResponseFor ResponseFor
	Staff       StaffInfo
	Code        StatusCode
	Description string
	Timestamp   time.Time
	Traces      []Trace
	Signature   *SignatureInfo
}

// Message is what Read returns: a document package or a status message,
// exactly one of them non-nil.
type Message struct {
	Package *Package
	Status  *Status
}
