package desk

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// InfoFile, in a received document's folder, describes the document for
// a clerk who opens the folder: number and notation, sender (code and
// name), subject, urgency, dates, files and the hub's signature checks,
// as indented JSON. delivery.pb remains the proof; this is for reading.
const InfoFile = envelope.InfoFile

// DocInfo is the content of InfoFile.
type DocInfo struct {
	MessageID        string      `json:"message_id"`
	NumberNotation   string      `json:"so_ky_hieu"`
	Number           string      `json:"number"`
	Notation         string      `json:"notation"`
	DocumentType     string      `json:"document_type"`
	Subject          string      `json:"subject"`
	Sender           Party       `json:"sender"`
	Signer           string      `json:"signer,omitempty"`
	Urgency          string      `json:"urgency"`
	UrgencyLabel     string      `json:"urgency_label"`
	IssueDate        string      `json:"issue_date"`
	DueDate          string      `json:"due_date,omitempty"`
	ReceivedAt       time.Time   `json:"received_at"`
	BusinessType     string      `json:"business_type"`
	RelatedMessageID string      `json:"related_message_id,omitempty"`
	Files            []FileInfo  `json:"files"`
	Signatures       *Signatures `json:"signatures,omitempty"`
}

// Party is an agency by code and name.
type Party struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
}

// FileInfo is one file of a received document.
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Signatures is the hub's check of a document's PDF signatures
// (EN 319 102-1), for reading.
type Signatures struct {
	// Indication is the worst of the files': TOTAL-PASSED, TOTAL-FAILED or
	// INDETERMINATE; Label says it in Vietnamese.
	Indication string           `json:"indication"`
	Label      string           `json:"label"`
	Files      []FileSignatures `json:"files"`
}

// FileSignatures are the signatures of one file, in signing order.
type FileSignatures struct {
	Name       string          `json:"name"`
	Indication string          `json:"indication,omitempty"`
	Signatures []SignatureInfo `json:"signatures"`
}

// SignatureInfo is one signature: who signed, when they say, and the
// indication.
type SignatureInfo struct {
	Signer        string     `json:"signer"`
	SigningTime   *time.Time `json:"signing_time,omitempty"`
	Indication    string     `json:"indication"`
	SubIndication string     `json:"sub_indication,omitempty"`
	Problems      []string   `json:"problems,omitempty"`
}

// SignaturesOf reads the hub's verification; nil when no PDF signature
// was checked.
func SignaturesOf(v *lienthongv1.Verification) *Signatures {
	if v.GetIndication() == "" {
		return nil
	}
	s := &Signatures{Indication: v.GetIndication(), Label: IndicationLabel(v.GetIndication()), Files: []FileSignatures{}}
	for _, f := range v.GetFiles() {
		fs := FileSignatures{Name: f.GetName(), Indication: f.GetIndication(), Signatures: []SignatureInfo{}}
		for _, sig := range f.GetSignatures() {
			si := SignatureInfo{Signer: sig.GetSigner(), Indication: sig.GetIndication(), SubIndication: sig.GetSubIndication(),
				Problems: sig.GetProblems()}
			if sig.GetSigningTime() != nil {
				t := Local(sig.GetSigningTime().AsTime())
				si.SigningTime = &t
			}
			fs.Signatures = append(fs.Signatures, si)
		}
		s.Files = append(s.Files, fs)
	}
	return s
}

// IndicationLabel names an EN 319 102-1 indication for a clerk.
func IndicationLabel(ind string) string {
	switch ind {
	case "TOTAL-PASSED":
		return "hợp lệ (TOTAL-PASSED)"
	case "TOTAL-FAILED":
		return "KHÔNG HỢP LỆ (TOTAL-FAILED)"
	case "INDETERMINATE":
		return "CHƯA XÁC ĐỊNH ĐƯỢC (INDETERMINATE)"
	}
	return ind
}

// BusinessName is a business type's name on the command line and in
// JSON: new, revoke, update, replace.
func BusinessName(bt lienthongv1.BusinessType) string {
	return strings.ToLower(strings.TrimPrefix(bt.String(), "BUSINESS_TYPE_"))
}

// Describe builds the DocInfo of a received document.
func Describe(r *node.Received, entry *register.Received, senderName string) *DocInfo {
	return describe(r.Envelope, r.Verification, entry, senderName)
}

func describe(env *lienthongv1.Envelope, v *lienthongv1.Verification, entry *register.Received, senderName string) *DocInfo {
	info := &DocInfo{
		MessageID: env.GetMessageId(), NumberNotation: env.GetNumber() + "/" + env.GetNotation(), Number: env.GetNumber(),
		Notation: env.GetNotation(), DocumentType: env.GetDocumentType(), Subject: env.GetSubject(),
		Sender: Party{Code: env.GetSender(), Name: senderName}, Signer: env.GetSigner(),
		Urgency: UrgencyName(env.GetUrgency()), UrgencyLabel: UrgencyLabel(env.GetUrgency()),
		IssueDate: env.GetIssueDate(), DueDate: env.GetDueDate(), BusinessType: BusinessName(env.GetBusinessType()),
		RelatedMessageID: env.GetRelatedMessageId(), Files: []FileInfo{}, Signatures: SignaturesOf(v),
	}
	if entry != nil {
		info.ReceivedAt = Local(entry.ReceivedAt)
	}
	for _, f := range env.GetFiles() {
		info.Files = append(info.Files, FileInfo{Name: f.GetName(), Size: f.GetSize(), SHA256: hex.EncodeToString(f.GetSha256())})
	}
	return info
}

// Info returns the description of a document received (InfoFile in its
// folder). A folder written before InfoFile existed gets one, made from
// its delivery header.
func (d *Desk) Info(ctx context.Context, messageID string) (*DocInfo, error) {
	entry, err := d.reg.ReceivedDoc(messageID)
	if err != nil {
		return nil, err
	}
	if entry.Dir == "" {
		return nil, lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s không nhận được: %s (document not stored)", messageID, entry.NotStored)
	}
	b, err := os.ReadFile(filepath.Join(entry.Dir, InfoFile))
	if err == nil {
		var info DocInfo
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, fmt.Errorf("reading %s of %s: %w", InfoFile, messageID, err)
		}
		return &info, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s of %s: %w", InfoFile, messageID, err)
	}
	raw, err := os.ReadFile(filepath.Join(entry.Dir, node.DeliveryFile))
	if err != nil {
		return nil, fmt.Errorf("reading the delivery header of %s: %w", messageID, err)
	}
	var hdr lienthongv1.DeliveryHeader
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(raw, &hdr); err != nil {
		return nil, fmt.Errorf("reading the delivery header of %s: %w", messageID, err)
	}
	if err := proto.Unmarshal(hdr.GetEnvelope().GetEnvelope(), env); err != nil {
		return nil, fmt.Errorf("reading the envelope of %s: %w", messageID, err)
	}
	info := describe(env, hdr.GetVerification(), entry, d.Name(ctx, env.GetSender()))
	if err := writeInfo(entry.Dir, info); err != nil {
		return nil, err
	}
	return info, nil
}

// writeInfo writes InfoFile into the document's folder, replacing it
// whole (temporary file, rename). It is for reading, not proof, so it is
// not flushed: the register and delivery.pb are what count.
func writeInfo(dir string, info *DocInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", InfoFile, err)
	}
	path := filepath.Join(dir, InfoFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
