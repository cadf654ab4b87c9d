// Package quarantine takes documents whose stored files are damaged out of
// delivery, so that one bad blob never holds up an agency's inbox: the
// recipients still waiting get a hub-signed QUARANTINED step (Track shows
// it, the sender and the recipient are notified), the operator gets an
// ERROR line in the log and an entry in the admin service's list, and the
// damaged file is set aside. The same package runs the scrub: a
// background pass over every blob at a bounded rate that finds damage
// before a recipient asks for the document.
package quarantine

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// How a damaged file was found, as recorded.
const (
	FoundByDelivery = "delivery"
	FoundByScrub    = "scrub"
)

// Storage is what the service needs of the hub's store.
type Storage interface {
	Document(ctx context.Context, messageID string) (*store.Document, error)
	Statuses(ctx context.Context, messageID string) ([]*lienthongv1.RecipientStatus, error)
	Quarantine(ctx context.Context, q store.Quarantine) ([]string, error)
	BlobUsers(ctx context.Context, sum [32]byte) ([]string, error)
	SetAsideBlob(ref store.BlobRef) (bool, error)
	Scrub(ctx context.Context, opts store.ScrubOptions) (store.ScrubResult, error)
}

// DefaultScrubRate is the background scrub's default pace, 4 MiB/s: a
// province-year of blobs (about 5 GB) in about 20 minutes, a small share
// of a disk's bandwidth.
const DefaultScrubRate = 4 << 20

// Config wires a Service.
type Config struct {
	Store    Storage
	Receipts *receipt.Issuer
	Logger   *slog.Logger
	// Now is the clock for the quarantine records; nil means time.Now.
	Now func() time.Time
	// ScrubRate bounds the background scrub's reading, in bytes per
	// second; 0 means no background scrub (Scrub still runs a pass on
	// demand, then unbounded).
	ScrubRate int64
	// ScrubEvery is the time from the start of one background pass to the
	// start of the next; 0 means 24 hours.
	ScrubEvery time.Duration
	// ScrubDelay is the time from Run to the first pass, so that a hub
	// starting up serves first; 0 means one minute.
	ScrubDelay time.Duration
}

// Service quarantines damaged documents and scrubs the blob store.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ScrubEvery <= 0 {
		cfg.ScrubEvery = 24 * time.Hour
	}
	if cfg.ScrubDelay <= 0 {
		cfg.ScrubDelay = time.Minute
	}
	return &Service{cfg: cfg, log: cfg.Logger}
}

// Document quarantines document messageID, one of whose files is
// damaged, found by foundBy (FoundByDelivery or FoundByScrub): every
// recipient still waiting for it is taken out of delivery with a signed
// QUARANTINED receipt (queued as a notification to the sender and to that
// recipient), the quarantine is recorded and logged at ERROR, and the
// damaged file is set aside. It returns the reason given to the
// recipients, for a clerk to read.
func (s *Service) Document(ctx context.Context, messageID string, damage *store.BlobDamage, foundBy string) (string, error) {
	doc, err := s.cfg.Store.Document(ctx, messageID)
	if err != nil {
		return "", fmt.Errorf("quarantining %s: %w", messageID, err)
	}
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(doc.Envelope.GetEnvelope(), env); err != nil {
		return "", fmt.Errorf("quarantining %s: decoding its envelope: %w", messageID, err)
	}
	name := damage.Ref.String()
	for i, f := range doc.Files {
		if f.SHA256 == damage.Ref.SHA256 && i < len(env.GetFiles()) {
			name = env.GetFiles()[i].GetName()
			break
		}
	}
	reason := Reason(env, name, damage)
	statuses, err := s.cfg.Store.Statuses(ctx, messageID)
	if err != nil {
		return "", fmt.Errorf("quarantining %s: %w", messageID, err)
	}
	receipts := make(map[string]*lienthongv1.Receipt)
	for _, st := range statuses {
		if st.GetStatus() != lienthongv1.Status_STATUS_ACCEPTED {
			continue
		}
		r, err := s.cfg.Receipts.Issue(&lienthongv1.ReceiptBody{
			MessageId: messageID, Status: lienthongv1.Status_STATUS_QUARANTINED, Agency: st.GetAgency(),
			EnvelopeSha256: doc.EnvelopeSHA256[:], Sender: doc.Sender, Reason: reason,
		})
		if err != nil {
			return "", fmt.Errorf("quarantining %s: %w", messageID, err)
		}
		receipts[st.GetAgency()] = r
	}
	rec := &lienthongv1.QuarantinedDocument{
		MessageId: messageID, Sender: doc.Sender, Number: env.GetNumber(), Notation: env.GetNotation(),
		FileName: name, ExpectedSha256: damage.Ref.SHA256[:], ExpectedSize: damage.Ref.Size,
		FoundBy: foundBy, FoundAt: timestamppb.New(s.cfg.Now()),
	}
	if !damage.Missing {
		rec.ActualSha256, rec.ActualSize = damage.Actual[:], damage.ActualSize
	}
	taken, err := s.cfg.Store.Quarantine(ctx, store.Quarantine{Record: rec, Blob: damage.Ref, Receipts: receipts})
	if err != nil {
		return "", err
	}
	actual := ""
	if !damage.Missing {
		actual = hex.EncodeToString(damage.Actual[:])
	}
	s.log.ErrorContext(ctx, "document quarantined: a stored file is damaged",
		"message_id", messageID, "sender", doc.Sender, "file", name, "blob", damage.Ref.String(),
		"expected_sha256", damage.Ref.String(), "expected_size", damage.Ref.Size,
		"actual_sha256", actual, "actual_size", damage.ActualSize, "missing", damage.Missing,
		"found_by", foundBy, "recipients", taken)
	return reason, nil
}

// Reason is what the recipients and the sender read about a document
// quarantined because its file (named file) is damaged or missing.
func Reason(env *lienthongv1.Envelope, file string, damage *store.BlobDamage) string {
	what := "bị hỏng (mã băm SHA-256 không còn khớp)"
	gist := "file damaged on the hub"
	if damage.Missing {
		what, gist = "không còn trên trục", "file missing on the hub"
	}
	return fmt.Sprintf("tệp %q của văn bản %s/%s %s; trục đã cách ly văn bản, nơi gửi cần gửi lại (%s; document quarantined, the sender must send it again)",
		file, env.GetNumber(), env.GetNotation(), what, gist)
}

// Scrub reads every stored blob once, at the configured rate (unbounded
// when none is), and quarantines every document naming a damaged one. A
// damaged blob no document names is set aside.
func (s *Service) Scrub(ctx context.Context) (store.ScrubResult, error) {
	res, err := s.cfg.Store.Scrub(ctx, store.ScrubOptions{Rate: s.cfg.ScrubRate, Found: s.found})
	if err != nil {
		return res, err
	}
	s.log.InfoContext(ctx, "blob scrub finished", "blobs", res.Blobs, "bytes", res.Bytes, "damaged", res.Damaged)
	return res, nil
}

func (s *Service) found(ctx context.Context, d *store.BlobDamage) error {
	users, err := s.cfg.Store.BlobUsers(ctx, d.Ref.SHA256)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		moved, err := s.cfg.Store.SetAsideBlob(d.Ref)
		s.log.WarnContext(ctx, "damaged blob that no document names", "blob", d.Ref.String(), "set_aside", moved, "error", err)
		return nil
	}
	for _, id := range users {
		if _, err := s.Document(ctx, id, d, FoundByScrub); err != nil {
			return err
		}
	}
	return nil
}

// Run scrubs in the background until ctx ends: a first pass after
// ScrubDelay, then one every ScrubEvery, each at ScrubRate. It does
// nothing when ScrubRate is 0. A failed pass is logged and tried again at
// the next interval.
func (s *Service) Run(ctx context.Context) {
	if s.cfg.ScrubRate <= 0 {
		return
	}
	wait := s.cfg.ScrubDelay
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := time.Now()
		if _, err := s.Scrub(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.ErrorContext(ctx, "blob scrub failed", "error", err)
		}
		wait = max(s.cfg.ScrubEvery-time.Since(start), 0)
	}
}
