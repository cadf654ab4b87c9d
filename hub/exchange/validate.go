package exchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
)

// checkEnvelope decodes and hashes the envelope once (envelope.Decode)
// and validates it and its signature against the caller; the rest of
// Send takes the result. It returns the decoded envelope even on a
// refusal after decoding, so the refusal can be logged with its message
// id.
func (s *Service) checkEnvelope(ctx context.Context, caller *lienthongv1.Agency, signed *lienthongv1.SignedEnvelope) (dec *envelope.Decoded, original *store.Document, err error) {
	dec, err = envelope.Decode(signed)
	if err != nil {
		return nil, nil, err
	}
	env := dec.Envelope()
	if env.GetSender() != caller.GetCode() && SystemFrom(ctx) != "" {
		return dec, nil, lienthong.Errorf(lienthong.KindPermission,
			"gói tin ghi nơi gửi (From/OrganId) %q nhưng hệ thống %s được cấp cho cơ quan %s: chỉ được gửi với mã của chính mình (sender does not match the system's agency)",
			clip(env.GetSender()), SystemFrom(ctx), caller.GetCode())
	}
	if env.GetSender() != caller.GetCode() {
		return dec, nil, lienthong.Errorf(lienthong.KindPermission,
			"phong bì ghi nơi gửi %q nhưng chứng thư số là của %s: chỉ được gửi với mã của chính mình (sender does not match certificate)",
			clip(env.GetSender()), caller.GetCode())
	}
	if err := validateEnvelope(env, s.cfg.Limits, s.cfg.Now()); err != nil {
		return dec, nil, err
	}
	cert, _ := CallerCertFrom(ctx)
	if err := envsig.Verify(cert, signed.GetEnvelope(), signed.GetSignature()); err != nil {
		return dec, nil, lienthong.Wrap(lienthong.KindInvalid, err,
			"chữ ký số của cơ quan %s trên phong bì không hợp lệ (envelope signature invalid)", caller.GetCode())
	}
	if rel := env.GetRelatedMessageId(); rel != "" {
		// Routing needs only its sender, recipients and hash.
		prev, err := s.cfg.Store.Summary(ctx, rel)
		if errors.Is(err, store.ErrNotFound) {
			return dec, nil, lienthong.Errorf(lienthong.KindNotFound, "không có văn bản %s để thu hồi/cập nhật/thay thế (related message not found)", rel)
		}
		if err != nil {
			return dec, nil, fmt.Errorf("looking up related message %s: %w", rel, err)
		}
		if prev.Sender != caller.GetCode() {
			return dec, nil, lienthong.Errorf(lienthong.KindPermission,
				"chỉ cơ quan gửi văn bản %s (%s) mới được thu hồi/cập nhật/thay thế nó", rel, prev.Sender)
		}
		return dec, prev, nil
	}
	return dec, nil, nil
}

// validateEnvelope checks the fields a clerk fills in and the declared
// files: the rules shared with the node (package envelope), then this
// hub's limits on files and sizes.
func validateEnvelope(env *lienthongv1.Envelope, lim Limits, now time.Time) error {
	files := env.GetFiles()
	// The count first: a list of a million files is refused before each
	// is looked at.
	if len(files) > lim.MaxFiles {
		return lienthong.Errorf(lienthong.KindTooLarge, "văn bản có %d tệp, tối đa %d (too many files)", len(files), lim.MaxFiles)
	}
	if err := envelope.Check(env, now); err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		if f.GetSize() > lim.MaxFileSize {
			return lienthong.Errorf(lienthong.KindTooLarge, "tệp %q nặng %d byte, vượt giới hạn %d byte mỗi tệp (file too large)", f.GetName(), f.GetSize(), lim.MaxFileSize)
		}
		total += f.GetSize()
	}
	if total > lim.MaxDocumentSize {
		return lienthong.Errorf(lienthong.KindTooLarge, "văn bản nặng %d byte, vượt giới hạn %d byte (document too large)", total, lim.MaxDocumentSize)
	}
	return nil
}

// findDocument looks up a document with load (the store's Document, or
// Summary when its envelope, receipt and verification are not needed) by
// a message id in any spelling of its UUID (envelope.LookupID). The
// document's own id (doc.MessageID) is the key to use after.
func (s *Service) findDocument(ctx context.Context, id string, load func(context.Context, string) (*store.Document, error)) (*store.Document, error) {
	canon, err := envelope.LookupID(id)
	if err != nil {
		return nil, err
	}
	doc, err := load(ctx, canon)
	if errors.Is(err, store.ErrNotFound) && canon != id {
		// A document stored before ids had to be canonical keeps the
		// spelling it came with.
		doc, err = load(ctx, id)
	}
	return doc, err
}

// clip shortens a value a caller wrote before it is quoted in a message
// or the log: a refused field may be megabytes long. (Messages quote it
// with %q and the log handler escapes control characters.)
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + fmt.Sprintf("… (%d bytes)", len(s))
}
