package exchange

import (
	"context"
	"errors"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Declare records the caller's declaration of a document issued on paper
// or secret.
func (s *Service) Declare(ctx context.Context, req *lienthongv1.DeclareRequest) (*lienthongv1.DeclareResponse, error) {
	caller, ok := CallerFrom(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated"))
	}
	dup, err := s.declare(ctx, caller.GetCode(), req)
	if err != nil {
		return nil, s.refuse(ctx, "Declare", err, "number", clip(req.GetNumber()), "notation", clip(req.GetNotation()),
			"issue_date", clip(req.GetIssueDate()))
	}
	if !dup {
		s.log.InfoContext(ctx, "declaration recorded", "agency", caller.GetCode(), "kind", req.GetKind().String(),
			"number", req.GetNumber(), "notation", req.GetNotation(), "issue_date", req.GetIssueDate())
	}
	return &lienthongv1.DeclareResponse{Duplicate: dup}, nil
}

func (s *Service) declare(ctx context.Context, agency string, req *lienthongv1.DeclareRequest) (bool, error) {
	var ch compliance.Channel
	switch req.GetKind() {
	case lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER:
		ch = compliance.ChannelPaper
	case lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET:
		ch = compliance.ChannelSecret
	}
	decl, err := compliance.NewDeclaration(agency, ch, req.GetNumber(), req.GetNotation(), req.GetIssueDate(), req.GetDocumentType(), s.cfg.Now())
	if err != nil {
		return false, lienthong.Errorf(lienthong.KindInvalid, "%v", err)
	}
	dup, err := s.cfg.Store.Declare(ctx, decl)
	switch {
	case errors.Is(err, store.ErrSentElectronically):
		return false, lienthong.Wrap(lienthong.KindFailedPrecondition, err,
			"văn bản số %d/%s năm %d đã được gửi điện tử qua trục; không khai báo lại (already sent electronically)",
			decl.Number, decl.Notation, decl.IssueDate.Year())
	case errors.Is(err, store.ErrDeclaredOtherwise):
		return false, lienthong.Wrap(lienthong.KindAlreadyExists, err,
			"văn bản số %d/%s năm %d đã được khai báo với loại khác (already declared as the other kind)",
			decl.Number, decl.Notation, decl.IssueDate.Year())
	case err != nil:
		return false, lienthong.Wrap(lienthong.KindInternal, err, "ghi khai báo thất bại (storing the declaration failed)")
	}
	return dup, nil
}
