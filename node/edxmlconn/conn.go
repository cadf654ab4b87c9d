// Package edxmlconn connects the node to e-office products that exchange
// edXML (QCVN 102:2016) packages as files: Import sends a package through
// the node's normal send path (outbox, envelope signature, the hub's
// checks), Export writes a received document or a status step as edXML,
// and Watcher does both with two folders: packages a product drops in are
// sent and moved to sent/ or failed/ (with a .reason.txt), documents and
// status notifications that arrive come out as .edxml files.
//
// The node's operations come in as small interfaces (Sender, Lookup), so
// the connector is tested with the real node library and used the same
// way by ltnode edxml import/export and ltnode run --edxml-in/--edxml-out.
package edxmlconn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Sender sends a document through the node's send path and returns its
// message id. desk.Desk's Send, adapted, is one.
type Sender interface {
	Send(ctx context.Context, doc node.Document) (messageID string, err error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, doc node.Document) (string, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, doc node.Document) (string, error) { return f(ctx, doc) }

// Connector converts edXML packages into the node's documents.
type Connector struct {
	// Code is the node's agency: a package must name it as From.
	Code string
	// Sender sends the converted document.
	Sender Sender
	// Work is a folder for the decoded attachments while a package is
	// sent (best on the disk of the outbox); they are removed afterwards.
	Work string
	// Limits bound what is read; zero: edxml's defaults.
	Limits edxml.Limits
	// Reporter, if set, takes the status messages a product drops in:
	// its steps of documents received (02–06, 15, 16) and its recall
	// requests (13). Without it a status message is refused.
	Reporter Reporter
	// Resolve finds the message id of the document a status message is
	// about; nil: the id edxml.MessageID derives from its DocumentId (a
	// document that came in as edXML).
	Resolve func(ctx context.Context, rf edxml.ResponseFor) (string, error)
}

// Reporter reports a step read from an edXML status message.
type Reporter interface {
	// Report reports this agency's step of a document it received.
	Report(ctx context.Context, messageID string, step lienthongv1.Status, reason string) error
	// RequestRecall asks every recipient that has fetched a document
	// this agency sent to give it back.
	RequestRecall(ctx context.Context, messageID, reason string) error
}

// Imported is what Import did with a package or a status message.
type Imported struct {
	MessageID string
	// Package is set for a document package, Status for a status message.
	Package *edxml.Package
	Status  *edxml.Status
}

// Import reads the edXML package at path, decoding its attachments as
// they stream into files under Work, converts it to a document and sends
// it through Sender. A package the reader or the envelope rules refuse is
// a *lienthong.Error naming what to correct, and nothing is sent.
func (c *Connector) Import(ctx context.Context, path string) (*Imported, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the edXML package: %w", err)
	}
	defer f.Close()
	return c.ImportReader(ctx, f)
}

// ImportReader is Import of a package read from r.
func (c *Connector) ImportReader(ctx context.Context, r io.Reader) (*Imported, error) {
	if err := os.MkdirAll(c.Work, 0o700); err != nil {
		return nil, fmt.Errorf("preparing the work folder: %w", err)
	}
	stage, err := os.MkdirTemp(c.Work, "edxml-")
	if err != nil {
		return nil, fmt.Errorf("preparing the work folder: %w", err)
	}
	defer os.RemoveAll(stage)
	var open []*os.File
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	var paths []string
	sink := func(a edxml.Attachment) (io.Writer, error) {
		p := filepath.Join(stage, fmt.Sprintf("%03d", a.Index))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		open, paths = append(open, f), append(paths, p)
		return f, nil
	}
	h := sha256.New()
	msg, err := edxml.Read(io.TeeReader(r, h), sink, c.Limits)
	if err != nil {
		return nil, err
	}
	for _, f := range open {
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("writing an attachment: %w", err)
		}
	}
	open = nil
	if msg.Status != nil {
		return c.importStatus(ctx, msg.Status)
	}
	p := msg.Package
	if p.Header.From.OrganID != c.Code {
		return nil, lienthong.Errorf(lienthong.KindPermission,
			"gói ghi nơi gửi %s nhưng nút này là của %s; chỉ gửi được văn bản của chính cơ quan mình (From/OrganId is not this agency)",
			clip(p.Header.From.OrganID), c.Code)
	}
	id := p.MessageID(hex.EncodeToString(h.Sum(nil)))
	env, err := p.Envelope(id, nil)
	if err != nil {
		return nil, err
	}
	doc := node.Document{
		MessageID: env.GetMessageId(), Recipients: env.GetRecipients(), BusinessType: env.GetBusinessType(),
		RelatedMessageID: env.GetRelatedMessageId(), Number: env.GetNumber(), Notation: env.GetNotation(),
		IssueDate: env.GetIssueDate(), DocumentType: env.GetDocumentType(), Subject: env.GetSubject(),
		Signer: env.GetSigner(), Urgency: env.GetUrgency(), SecurityLevel: env.GetSecurityLevel(),
		DueDate: env.GetDueDate(), Edxml: env.GetEdxml(),
	}
	// A revocation, update or replacement goes to the original's
	// recipients when it names none (the hub resolves them).
	if env.GetBusinessType() != lienthongv1.BusinessType_BUSINESS_TYPE_NEW && len(p.Header.To) == 0 {
		doc.Recipients = nil
	}
	for i, f := range env.GetFiles() {
		doc.Files = append(doc.Files, node.File{Path: paths[i], Name: f.GetName(), MediaType: f.GetMediaType()})
	}
	sent, err := c.Sender.Send(ctx, doc)
	if err != nil {
		return nil, err
	}
	return &Imported{MessageID: sent, Package: p}, nil
}

// importStatus reports the step of a status message a product wrote.
func (c *Connector) importStatus(ctx context.Context, st *edxml.Status) (*Imported, error) {
	if c.Reporter == nil {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"tệp là thông điệp trạng thái, không phải gói văn bản; trạng thái báo bằng ltnode status (a status message, not a document package)")
	}
	if st.From.OrganID != c.Code {
		return nil, lienthong.Errorf(lienthong.KindPermission,
			"thông điệp trạng thái ghi nơi báo %s nhưng nút này là của %s (From/OrganId is not this agency)", clip(st.From.OrganID), c.Code)
	}
	step, err := st.Code.Step()
	if err != nil {
		return nil, err
	}
	resolve := c.Resolve
	if resolve == nil {
		resolve = func(_ context.Context, rf edxml.ResponseFor) (string, error) {
			return edxml.MessageID(rf.DocumentID, edxml.BusinessNew, ""), nil
		}
	}
	id, err := resolve(ctx, st.ResponseFor)
	if err != nil {
		return nil, err
	}
	switch step {
	case lienthongv1.Status_STATUS_DELIVERED:
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"mã 01 (đã đến) do máy trạm tự báo khi nhận văn bản, sản phẩm không cần gửi (status 01 is reported by the node itself)")
	case lienthongv1.Status_STATUS_RECALL_REQUESTED:
		err = c.Reporter.RequestRecall(ctx, id, st.Description)
	default:
		err = c.Reporter.Report(ctx, id, step, st.Description)
	}
	if err != nil {
		return nil, err
	}
	return &Imported{MessageID: id, Status: st}, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ExportDocument writes a document as an edXML package: env is its
// envelope, dir the folder holding its files (by their envelope names),
// traces the trace headers to write (the sender and the hub, typically).
func ExportDocument(w io.Writer, env *lienthongv1.Envelope, dir string, traces []edxml.Trace) error {
	p := edxml.FromEnvelope(env)
	p.Traces = traces
	return edxml.Write(w, p, func(a edxml.Attachment) (io.ReadCloser, error) {
		if strings.ContainsAny(a.Name, `/\`) || a.Name == ".." || a.Name == "." {
			return nil, fmt.Errorf("file name %q of the envelope is not a plain name", a.Name)
		}
		return os.Open(filepath.Join(dir, a.Name))
	})
}

// ExportStatus writes a status step (a hub receipt about the document
// env) as an edXML status message.
func ExportStatus(w io.Writer, body *lienthongv1.ReceiptBody, env *lienthongv1.Envelope) error {
	st, err := edxml.FromReceipt(body, env)
	if err != nil {
		return err
	}
	return edxml.WriteStatus(w, st)
}

// WriteFile writes what write produces to path atomically: into a
// temporary file of the same folder, synced, then renamed, so a product
// watching the folder never sees half a package.
func WriteFile(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ExportReceived writes the document received into folder dir (as the
// node's receive loop stored it: its files and node.DeliveryFile) to
// outDir as MESSAGEID.edxml, and returns that path.
func ExportReceived(dir, outDir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, node.DeliveryFile))
	if err != nil {
		return "", fmt.Errorf("reading the delivery record of %s: %w", dir, err)
	}
	hdr := new(lienthongv1.DeliveryHeader)
	if err := proto.Unmarshal(raw, hdr); err != nil {
		return "", fmt.Errorf("decoding the delivery record of %s: %w", dir, err)
	}
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(hdr.GetEnvelope().GetEnvelope(), env); err != nil {
		return "", fmt.Errorf("decoding the envelope of %s: %w", dir, err)
	}
	w := &Watcher{Out: outDir}
	return w.Document(env, hdr.GetAccepted(), dir)
}
