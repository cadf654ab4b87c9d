package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// route resolves the recipients of a document. A revocation, update or
// replacement goes to the original's recipients: all of them when the
// envelope names none, else those it names, which must be among them.
func (s *Service) route(sender string, env *lienthongv1.Envelope, original *store.Document) ([]string, *store.Link, error) {
	if original == nil {
		recipients, err := s.dir().Resolve(sender, env.GetRecipients())
		return recipients, nil, err
	}
	recipients := original.Recipients
	if len(env.GetRecipients()) > 0 {
		var err error
		if recipients, err = s.dir().Resolve(sender, env.GetRecipients()); err != nil {
			return nil, nil, err
		}
		for _, r := range recipients {
			if !slices.Contains(original.Recipients, r) {
				return nil, nil, lienthong.Errorf(lienthong.KindInvalid,
					"%s không phải nơi nhận của văn bản gốc %s; thu hồi/cập nhật/thay thế chỉ gửi đến nơi đã nhận văn bản gốc", r, original.MessageID)
			}
		}
	}
	link := &store.Link{Original: original.MessageID, BusinessType: env.GetBusinessType()}
	if env.GetBusinessType() == lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE {
		link.Revoked = make(map[string]*lienthongv1.Receipt, len(recipients))
		for _, r := range recipients {
			rcpt, err := s.cfg.Receipts.Issue(&lienthongv1.ReceiptBody{
				MessageId: original.MessageID, Status: lienthongv1.Status_STATUS_REVOKED, Agency: r,
				EnvelopeSha256: original.EnvelopeSHA256[:], Sender: sender,
				Reason: "thu hồi bởi văn bản " + env.GetMessageId(),
			})
			if err != nil {
				return nil, nil, err
			}
			link.Revoked[r] = rcpt
		}
	}
	return recipients, link, nil
}

// nextStatuses is the processing graph of QCVN 102:2016 as the hub
// enforces it: a recipient first acknowledges (delivered), then receives
// or rejects; rejected, done, revoked and recall agreed are final. A
// recall request (13) may come at any step after delivery, even done: the
// recipient answers it, agreeing (15, final: it deletes or marks the
// document revoked, Decree 30/2020 art. 21) or refusing (16, after which
// it carries on processing).
func nextStatuses(from lienthongv1.Status) []lienthongv1.Status {
	const (
		rejected   = lienthongv1.Status_STATUS_REJECTED
		received   = lienthongv1.Status_STATUS_RECEIVED
		assigned   = lienthongv1.Status_STATUS_ASSIGNED
		inProgress = lienthongv1.Status_STATUS_IN_PROGRESS
		done       = lienthongv1.Status_STATUS_DONE
		recall     = lienthongv1.Status_STATUS_RECALL_REQUESTED
	)
	switch from {
	case lienthongv1.Status_STATUS_DELIVERED:
		return []lienthongv1.Status{received, rejected, recall}
	case received:
		return []lienthongv1.Status{assigned, inProgress, done, recall}
	case assigned:
		return []lienthongv1.Status{inProgress, done, recall}
	case inProgress:
		return []lienthongv1.Status{done, recall}
	case done:
		return []lienthongv1.Status{recall}
	case recall:
		return []lienthongv1.Status{lienthongv1.Status_STATUS_RECALL_AGREED, lienthongv1.Status_STATUS_RECALL_REFUSED}
	case lienthongv1.Status_STATUS_RECALL_REFUSED:
		return []lienthongv1.Status{assigned, inProgress, done, recall}
	}
	return nil
}

// checkTransition is the store.TransitionCheck for moving to `to`.
func checkTransition(id string, to lienthongv1.Status) store.TransitionCheck {
	return func(from lienthongv1.Status) error {
		switch {
		case from == lienthongv1.Status_STATUS_REVOKED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s đã bị nơi gửi thu hồi (document revoked)", id)
		case from == lienthongv1.Status_STATUS_ACCEPTED && to == lienthongv1.Status_STATUS_RECALL_REQUESTED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition,
				"nơi nhận chưa nhận về văn bản %s; hãy thu hồi bằng `ltnode revoke` thay vì đề nghị thu hồi (not fetched yet: revoke it instead)", id)
		case from == lienthongv1.Status_STATUS_ACCEPTED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition,
				"văn bản %s chưa được nhận về; hãy chạy `ltnode inbox` trước (document not yet fetched and acknowledged)", id)
		case from == lienthongv1.Status_STATUS_RECALL_AGREED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s đã được nơi nhận đồng ý thu hồi (document recalled)", id)
		case (to == lienthongv1.Status_STATUS_RECALL_AGREED || to == lienthongv1.Status_STATUS_RECALL_REFUSED) && from != lienthongv1.Status_STATUS_RECALL_REQUESTED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition,
				"nơi gửi chưa đề nghị thu hồi văn bản %s; không có gì để trả lời (no recall request to answer)", id)
		case !slices.Contains(nextStatuses(from), to):
			return lienthong.Errorf(lienthong.KindFailedPrecondition,
				"không thể chuyển văn bản %s từ \"%s\" sang \"%s\" (illegal status transition %s → %s)",
				id, from.Label(), to.Label(), from.Name(), to.Name())
		}
		return nil
	}
}

// CannotStorePrefix starts the reason of a rejection a node reported
// because it could not store the document (ReportStatusRequest
// cannot_store), so that the sender tells it from a clerk's refusal.
const CannotStorePrefix = "nơi nhận không lưu được văn bản (cannot store): "

// checkCannotStore is the store.TransitionCheck for a node rejecting a
// document it cannot store: only while the document waits in its queue,
// neither fetched, revoked nor quarantined.
func checkCannotStore(id string) store.TransitionCheck {
	return func(from lienthongv1.Status) error {
		switch from {
		case lienthongv1.Status_STATUS_ACCEPTED:
			return nil
		case lienthongv1.Status_STATUS_REVOKED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s đã bị nơi gửi thu hồi (document revoked)", id)
		case lienthongv1.Status_STATUS_QUARANTINED:
			return lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s đã bị trục cách ly vì tệp lưu trên trục bị hỏng (document quarantined)", id)
		}
		return lienthong.Errorf(lienthong.KindFailedPrecondition,
			"văn bản %s không còn chờ trong hộp thư đến (đang \"%s\"); chỉ báo không lưu được khi chưa nhận về (document no longer waiting)", id, from.Label())
	}
}

// ReportStatus records a recipient's processing step and notifies the sender.
func (s *Service) ReportStatus(ctx context.Context, req *lienthongv1.ReportStatusRequest) (*lienthongv1.ReportStatusResponse, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	rcpt, err := s.reportStatus(ctx, caller.GetCode(), req)
	if err != nil {
		return nil, s.refuse(ctx, "ReportStatus", err, "message_id", clip(req.GetMessageId()), "status", req.GetStatus().String())
	}
	return &lienthongv1.ReportStatusResponse{Receipt: rcpt}, nil
}

func (s *Service) reportStatus(ctx context.Context, caller string, req *lienthongv1.ReportStatusRequest) (*lienthongv1.Receipt, error) {
	id, to := req.GetMessageId(), req.GetStatus()
	reason, check := req.GetReason(), checkTransition(id, to)
	if req.GetCannotStore() {
		if to != lienthongv1.Status_STATUS_REJECTED {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "báo không lưu được văn bản phải dùng trạng thái rejected (cannot_store goes with REJECTED)")
		}
		reason, check = CannotStorePrefix+reason, checkCannotStore(id)
	}
	switch to {
	case lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_ASSIGNED, lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE,
		lienthongv1.Status_STATUS_RECALL_REQUESTED, lienthongv1.Status_STATUS_RECALL_AGREED, lienthongv1.Status_STATUS_RECALL_REFUSED:
	case lienthongv1.Status_STATUS_REJECTED:
		if strings.TrimSpace(req.GetReason()) == "" {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "từ chối văn bản phải nêu lý do (a rejection needs a reason)")
		}
	default:
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"trạng thái %s không báo được; dùng received, rejected, assigned, in-progress, done, recall-requested, recall-agreed hoặc recall-refused", to)
	}
	// The reason is signed into a receipt and shown to the sender.
	if err := envelope.StatusText(req.GetReason()); err != nil {
		return nil, err
	}
	// A recall request is the sender's step about one recipient; every
	// other step is the recipient's own.
	recipient := caller
	if to == lienthongv1.Status_STATUS_RECALL_REQUESTED {
		recipient = req.GetRecipient()
		if recipient == "" {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "đề nghị thu hồi phải ghi nơi nhận được đề nghị (recall request without a recipient)")
		}
	} else if req.GetRecipient() != "" && req.GetRecipient() != caller {
		return nil, lienthong.Errorf(lienthong.KindPermission,
			"chỉ báo được trạng thái của chính cơ quan mình, không phải của %s (a recipient reports only its own steps)", clip(req.GetRecipient()))
	}
	doc, err := s.findDocument(ctx, id, s.cfg.Store.Summary)
	if err == nil && to == lienthongv1.Status_STATUS_RECALL_REQUESTED && doc.Sender != caller {
		if slices.Contains(doc.Recipients, caller) {
			return nil, lienthong.Errorf(lienthong.KindPermission,
				"chỉ nơi gửi văn bản %s được đề nghị thu hồi (only the sender asks for a recall)", id)
		}
		err = store.ErrNotFound
	}
	if err == nil && !slices.Contains(doc.Recipients, recipient) {
		if (to == lienthongv1.Status_STATUS_RECALL_AGREED || to == lienthongv1.Status_STATUS_RECALL_REFUSED) && doc.Sender == caller {
			return nil, lienthong.Errorf(lienthong.KindPermission,
				"nơi gửi không trả lời được đề nghị thu hồi văn bản %s của chính mình; chỉ nơi nhận trả lời (only the recipient answers a recall)", id)
		}
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, lienthong.Errorf(lienthong.KindNotFound, "văn bản %s không gửi đến cơ quan %s (no such delivery)", id, recipient)
	}
	if err != nil {
		return nil, fmt.Errorf("loading message %s: %w", id, err)
	}
	id = doc.MessageID
	rcpt, err := s.cfg.Receipts.Issue(&lienthongv1.ReceiptBody{
		MessageId: id, Status: to, Agency: recipient, Reason: reason,
		EnvelopeSha256: doc.EnvelopeSHA256[:], Sender: doc.Sender,
	})
	if err != nil {
		return nil, err
	}
	// The other party hears of the step: the recipient of a recall
	// request, the sender of everything else.
	notify := doc.Sender
	if to == lienthongv1.Status_STATUS_RECALL_REQUESTED {
		notify = recipient
	}
	if err := s.cfg.Store.Transition(ctx, id, recipient, notify, rcpt, check); err != nil {
		return nil, err
	}
	return rcpt, nil
}
