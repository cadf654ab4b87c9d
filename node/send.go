package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
	"github.com/lienthong/lienthong/signing/receipt"
)

// SendChunkSize is the size of the file chunks a node uploads. gRPC
// marshals each message into a buffer from size classes of 256 B, 4, 16
// and 32 KiB and 1 MiB (google.golang.org/grpc/mem), and the hub
// reassembles it in one from the same classes: a bigger chunk would hold a
// 1 MiB buffer on each side for every message in flight. A chunk and its
// protobuf framing (under 64 bytes) fit in 32 KiB.
const SendChunkSize = 32<<10 - 64

// StreamWindow and ConnWindow are the HTTP/2 flow-control windows the node
// grants the hub for the documents it receives; see the hub's
// exchange.StreamWindow for why they are fixed and this size.
const (
	StreamWindow = 256 << 10
	ConnWindow   = 1 << 20
)

// File is one file of an outgoing document.
type File struct {
	// Path is the file. Sent through the outbox (Identity.Queue), it is
	// read once, copied into the outbox and hashed in the same pass; sent
	// directly (Client.Send), it is read twice: to hash it, then to upload
	// it.
	Path string
	// Name is the name the recipient sees; default: the base of Path.
	Name string
	// MediaType; default: from the extension.
	MediaType string
}

// Document is an outgoing document: the envelope fields a clerk fills in
// and its files. The sender is always the client's own agency.
type Document struct {
	// MessageID is the idempotency key; empty: a new UUID.
	MessageID        string
	Recipients       []string
	BusinessType     lienthongv1.BusinessType // zero: new
	RelatedMessageID string
	Number           string
	Notation         string
	IssueDate        string
	DocumentType     string
	Subject          string
	Signer           string
	Urgency          lienthongv1.Urgency
	SecurityLevel    lienthongv1.SecurityLevel
	DueDate          string
	Files            []File
	// Edxml holds the fields of an edXML package with no home above
	// (package edxml), for a document imported from one.
	Edxml *lienthongv1.EdxmlHeader
}

// Prepared is a document ready to upload: its signed envelope and the
// files it names.
type Prepared struct {
	Envelope *lienthongv1.Envelope
	Signed   *lienthongv1.SignedEnvelope
	Paths    []string
}

// Prepare hashes the files, builds the envelope, checks it with the rules
// the hub applies (package envelope: a document the hub would refuse for
// its fields or file names never reaches the outbox) and signs it with
// the agency key. It reads each file once, streaming. Text fields are
// trimmed of surrounding spaces; the issue date defaults to today.
func (id *Identity) Prepare(doc Document) (*Prepared, error) {
	env, now := id.envelope(doc)
	for _, f := range doc.Files {
		info := fileInfo(f)
		if err := hashFile(f.Path, info); err != nil {
			return nil, err
		}
		env.Files = append(env.Files, info)
	}
	p, err := id.seal(env, now)
	if err != nil {
		return nil, err
	}
	for _, f := range doc.Files {
		p.Paths = append(p.Paths, f.Path)
	}
	return p, nil
}

// Queue prepares doc as Prepare does and puts it in the outbox of reg,
// reading each file once: it is copied into the outbox and hashed in the
// same pass (register.Draft), and the envelope declares what was copied,
// which is what the upload sends. The returned document carries its
// envelope, and its Files are the outbox copies. Nothing is left in the
// outbox when it fails.
//
// Queuing a message id already queued with the same envelope returns the
// queued document; with another, register.ErrQueued.
func (id *Identity) Queue(reg *register.Register, doc Document) (*register.Outgoing, error) {
	env, now := id.envelope(doc)
	d, err := reg.Draft(env.GetMessageId())
	if err != nil {
		return nil, err
	}
	defer d.Discard()
	for _, f := range doc.Files {
		info := fileInfo(f)
		if err := addFile(d, f.Path, info); err != nil {
			return nil, err
		}
		env.Files = append(env.Files, info)
	}
	p, err := id.seal(env, now)
	if err != nil {
		return nil, err
	}
	return d.Queue(p.Signed, env)
}

// envelope fills in doc's defaults and returns its envelope, without
// files, and the time it is prepared at.
func (id *Identity) envelope(doc Document) (*lienthongv1.Envelope, time.Time) {
	now := time.Now()
	if id.Now != nil {
		now = id.Now()
	}
	if doc.MessageID == "" {
		doc.MessageID = uuid.NewString()
	}
	for _, f := range []*string{&doc.Number, &doc.Notation, &doc.IssueDate, &doc.DocumentType, &doc.Subject, &doc.Signer, &doc.DueDate} {
		*f = strings.TrimSpace(*f)
	}
	if doc.IssueDate == "" {
		doc.IssueDate = now.In(lienthong.Zone()).Format(time.DateOnly)
	}
	if doc.BusinessType == lienthongv1.BusinessType_BUSINESS_TYPE_UNSPECIFIED {
		doc.BusinessType = lienthongv1.BusinessType_BUSINESS_TYPE_NEW
	}
	if doc.Urgency == lienthongv1.Urgency_URGENCY_UNSPECIFIED {
		doc.Urgency = lienthongv1.Urgency_URGENCY_NORMAL
	}
	if doc.SecurityLevel == lienthongv1.SecurityLevel_SECURITY_LEVEL_UNSPECIFIED {
		doc.SecurityLevel = lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL
	}
	return &lienthongv1.Envelope{
		MessageId: doc.MessageID, Sender: id.Code, Recipients: doc.Recipients,
		BusinessType: doc.BusinessType, RelatedMessageId: doc.RelatedMessageID,
		Number: doc.Number, Notation: doc.Notation, IssueDate: doc.IssueDate, DocumentType: doc.DocumentType,
		Subject: doc.Subject, Signer: doc.Signer, Urgency: doc.Urgency, SecurityLevel: doc.SecurityLevel, DueDate: doc.DueDate,
		Edxml: doc.Edxml,
	}, now
}

// seal checks env, whose files are measured, with the hub's rules, and
// signs it with the agency key.
func (id *Identity) seal(env *lienthongv1.Envelope, now time.Time) (*Prepared, error) {
	if err := envelope.Check(env, now); err != nil {
		return nil, err
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %w", err)
	}
	sig, err := envsig.Sign(id.Signer, raw)
	if err != nil {
		return nil, fmt.Errorf("signing envelope with the key of %s: %w", id.Code, err)
	}
	return &Prepared{Envelope: env, Signed: &lienthongv1.SignedEnvelope{Envelope: raw, Signature: sig}}, nil
}

// fileInfo is the envelope's entry for f, without its size and SHA-256.
func fileInfo(f File) *lienthongv1.FileInfo {
	name := f.Name
	if name == "" {
		name = filepath.Base(f.Path)
	}
	mt := f.MediaType
	if mt == "" {
		mt = mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
		if mt == "" {
			mt = "application/octet-stream"
		}
	}
	return &lienthongv1.FileInfo{Name: name, MediaType: mt}
}

// hashFile sets info's size and SHA-256 from the file at path.
func hashFile(path string, info *lienthongv1.FileInfo) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening attachment: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("reading attachment %s: %w", path, err)
	}
	info.Size, info.Sha256 = n, h.Sum(nil)
	return nil
}

// addFile copies the file at path into the draft and sets info's size
// and SHA-256 from the copy. A file written to while it is copied (its
// size or modification time moved) is refused with
// register.ErrFileChanged: the copy could mix old and new bytes.
func addFile(d *register.Draft, path string, info *lienthongv1.FileInfo) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening attachment: %w", err)
	}
	defer fh.Close()
	before, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("reading attachment %s: %w", path, err)
	}
	info.Size, info.Sha256, err = d.Add(info.GetName(), fh)
	if err != nil {
		return fmt.Errorf("reading attachment %s: %w", path, err)
	}
	after, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("reading attachment %s: %w", path, err)
	}
	if before.Mode().IsRegular() && (after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) || after.Size() != info.Size) {
		return fmt.Errorf("tệp %s bị sửa trong khi chép vào hộp thư đi; hãy gửi lại khi đã lưu xong (%w)", path, register.ErrFileChanged)
	}
	return nil
}

// SendResult is the hub's answer to a send.
type SendResult struct {
	MessageID string
	// Receipt is the hub's signed "accepted" receipt; Body its verified
	// content, listing the resolved recipients.
	Receipt      *lienthongv1.Receipt
	Body         *lienthongv1.ReceiptBody
	Duplicate    bool
	Verification *lienthongv1.Verification
}

// Progress is told how many bytes of how many have been uploaded.
type Progress func(done, total int64)

// Send prepares and uploads a document.
func (c *Client) Send(ctx context.Context, doc Document, progress Progress) (*SendResult, error) {
	p, err := c.id.Prepare(doc)
	if err != nil {
		return nil, err
	}
	return c.Upload(ctx, p, progress)
}

// Upload sends a prepared document: the signed envelope, then each file in
// chunks. It checks the receipt the hub returns.
func (c *Client) Upload(ctx context.Context, p *Prepared, progress Progress) (*SendResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.Send(ctx)
	if err != nil {
		return nil, err
	}
	var resp *lienthongv1.SendResponse
	err = stream.Send(&lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Envelope{Envelope: p.Signed}})
	if err == nil {
		err = c.uploadFiles(stream, p, progress)
	}
	// io.EOF from Send means the hub has already answered (a refusal, or a
	// duplicate it recognized from the envelope): the answer is in
	// CloseAndRecv.
	if err == nil || errors.Is(err, io.EOF) {
		resp, err = stream.CloseAndRecv()
	}
	if err != nil {
		return nil, err
	}
	body, err := c.receipts.Verify(resp.GetReceipt(), c.id.Roots)
	if err != nil {
		return nil, fmt.Errorf("hub receipt for %s: %w", p.Envelope.GetMessageId(), err)
	}
	sum := sha256.Sum256(p.Signed.GetEnvelope())
	if body.GetMessageId() != p.Envelope.GetMessageId() || body.GetStatus() != lienthongv1.Status_STATUS_ACCEPTED ||
		!bytes.Equal(body.GetEnvelopeSha256(), sum[:]) {
		return nil, fmt.Errorf("hub receipt for %s does not match the document sent (%w)", p.Envelope.GetMessageId(), receipt.ErrInvalid)
	}
	return &SendResult{MessageID: body.GetMessageId(), Receipt: resp.GetReceipt(), Body: body,
		Duplicate: resp.GetDuplicate(), Verification: resp.GetVerification()}, nil
}

func (c *Client) uploadFiles(stream lienthongv1.ExchangeService_SendClient, p *Prepared, progress Progress) error {
	var total, done int64
	for _, f := range p.Envelope.GetFiles() {
		total += f.GetSize()
	}
	bp := c.chunkBuf()
	defer c.chunks.Put(bp)
	buf := *bp
	for i, path := range p.Paths {
		if err := func() error {
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("opening attachment: %w", err)
			}
			defer f.Close()
			for {
				n, rerr := io.ReadFull(f, buf)
				if n > 0 {
					if err := stream.Send(&lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Chunk{
						Chunk: &lienthongv1.FileChunk{FileIndex: uint32(i), Data: buf[:n]},
					}}); err != nil {
						return err
					}
					done += int64(n)
					if progress != nil {
						progress(done, total)
					}
				}
				if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
					return nil
				}
				if rerr != nil {
					return fmt.Errorf("reading attachment %s: %w", path, rerr)
				}
			}
		}(); err != nil {
			return err
		}
	}
	return nil
}

// chunkBuf returns an upload buffer of SendChunkSize bytes from the
// client's pool: a busy node uploads many documents at once, and the
// buffers outlive no upload, so they are reused instead of collected.
func (c *Client) chunkBuf() *[]byte {
	if bp, ok := c.chunks.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, SendChunkSize)
	return &b
}
