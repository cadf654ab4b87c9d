package exchange

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
)

// checkEnvelope decodes and validates the envelope and its signature
// against the caller. It returns the decoded envelope even on error, so the
// refusal can be logged with its message id.
func (s *Service) checkEnvelope(ctx context.Context, caller *lienthongv1.Agency, signed *lienthongv1.SignedEnvelope) (env *lienthongv1.Envelope, original *store.Document, err error) {
	env = new(lienthongv1.Envelope)
	if len(signed.GetEnvelope()) == 0 {
		return env, nil, lienthong.Errorf(lienthong.KindInvalid, "phong bì văn bản rỗng (empty envelope)")
	}
	if err := proto.Unmarshal(signed.GetEnvelope(), env); err != nil {
		return env, nil, lienthong.Wrap(lienthong.KindInvalid, err, "không đọc được phong bì văn bản (malformed envelope)")
	}
	if env.GetSender() != caller.GetCode() {
		return env, nil, lienthong.Errorf(lienthong.KindPermission,
			"phong bì ghi nơi gửi %q nhưng chứng thư số là của %s: chỉ được gửi với mã của chính mình (sender does not match certificate)",
			env.GetSender(), caller.GetCode())
	}
	if err := validateEnvelope(env, s.cfg.Limits); err != nil {
		return env, nil, err
	}
	cert, _ := CallerCertFrom(ctx)
	if err := envsig.Verify(cert, signed.GetEnvelope(), signed.GetSignature()); err != nil {
		return env, nil, lienthong.Wrap(lienthong.KindInvalid, err,
			"chữ ký số của cơ quan %s trên phong bì không hợp lệ (envelope signature invalid)", caller.GetCode())
	}
	if rel := env.GetRelatedMessageId(); rel != "" {
		prev, err := s.cfg.Store.Document(ctx, rel)
		if errors.Is(err, store.ErrNotFound) {
			return env, nil, lienthong.Errorf(lienthong.KindNotFound, "không có văn bản %s để thu hồi/cập nhật/thay thế (related message not found)", rel)
		}
		if err != nil {
			return env, nil, fmt.Errorf("looking up related message %s: %w", rel, err)
		}
		if prev.Sender != caller.GetCode() {
			return env, nil, lienthong.Errorf(lienthong.KindPermission,
				"chỉ cơ quan gửi văn bản %s (%s) mới được thu hồi/cập nhật/thay thế nó", rel, prev.Sender)
		}
		return env, prev, nil
	}
	return env, nil, nil
}

// validateEnvelope checks the fields a clerk fills in and the declared files.
func validateEnvelope(env *lienthongv1.Envelope, lim Limits) error {
	invalid := func(format string, args ...any) error {
		return lienthong.Errorf(lienthong.KindInvalid, format, args...)
	}
	if _, err := uuid.Parse(env.GetMessageId()); err != nil {
		return invalid("mã văn bản (message id) %q phải là một UUID", env.GetMessageId())
	}
	switch env.GetSecurityLevel() {
	case lienthongv1.SecurityLevel_SECURITY_LEVEL_UNSPECIFIED, lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL:
	default:
		return lienthong.Errorf(lienthong.KindFailedPrecondition,
			"văn bản mật không được gửi qua trục liên thông; hãy chuyển bằng đường mật và khai báo bằng `ltnode declare --kind secret` (secret documents are refused)")
	}
	bt := env.GetBusinessType()
	switch {
	case bt == lienthongv1.BusinessType_BUSINESS_TYPE_UNSPECIFIED || lienthongv1.BusinessType_name[int32(bt)] == "":
		return invalid("thiếu loại nghiệp vụ (business type: new, revoke, update, replace)")
	case bt == lienthongv1.BusinessType_BUSINESS_TYPE_NEW && env.GetRelatedMessageId() != "":
		return invalid("văn bản mới không được ghi văn bản liên quan (related message id set on a new document)")
	case bt != lienthongv1.BusinessType_BUSINESS_TYPE_NEW && env.GetRelatedMessageId() == "":
		return invalid("thu hồi/cập nhật/thay thế phải ghi mã văn bản gốc (related message id missing)")
	}
	if env.GetRelatedMessageId() != "" {
		if _, err := uuid.Parse(env.GetRelatedMessageId()); err != nil {
			return invalid("mã văn bản liên quan %q phải là một UUID", env.GetRelatedMessageId())
		}
	}
	for _, f := range []struct{ name, value string }{
		{"số (number)", env.GetNumber()}, {"ký hiệu (notation)", env.GetNotation()}, {"trích yếu (subject)", env.GetSubject()},
	} {
		if f.value == "" {
			return invalid("thiếu %s của văn bản", f.name)
		}
	}
	if len(env.GetRecipients()) == 0 && env.GetRelatedMessageId() == "" {
		return invalid("văn bản chưa có nơi nhận (no recipients)")
	}
	files := env.GetFiles()
	if len(files) == 0 {
		return invalid("văn bản không có tệp đính kèm nào (no files)")
	}
	if len(files) > lim.MaxFiles {
		return lienthong.Errorf(lienthong.KindTooLarge, "văn bản có %d tệp, tối đa %d (too many files)", len(files), lim.MaxFiles)
	}
	var total int64
	names := make(map[string]bool, len(files))
	for i, f := range files {
		switch {
		case f.GetName() == "":
			return invalid("tệp thứ %d không có tên", i+1)
		case names[f.GetName()]:
			return invalid("tên tệp %q bị trùng", f.GetName())
		case len(f.GetSha256()) != sha256.Size:
			return invalid("tệp %q: mã băm SHA-256 phải dài 32 byte, được %d", f.GetName(), len(f.GetSha256()))
		case f.GetSize() < 0:
			return invalid("tệp %q: kích thước âm", f.GetName())
		case f.GetSize() > lim.MaxFileSize:
			return lienthong.Errorf(lienthong.KindTooLarge, "tệp %q nặng %d byte, vượt giới hạn %d byte mỗi tệp (file too large)", f.GetName(), f.GetSize(), lim.MaxFileSize)
		}
		names[f.GetName()] = true
		total += f.GetSize()
	}
	if total > lim.MaxDocumentSize {
		return lienthong.Errorf(lienthong.KindTooLarge, "văn bản nặng %d byte, vượt giới hạn %d byte (document too large)", total, lim.MaxDocumentSize)
	}
	return nil
}
