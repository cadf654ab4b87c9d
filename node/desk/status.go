package desk

import (
	"context"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Steps returns the processing steps a recipient reports, in order.
func Steps() []lienthongv1.Status {
	return []lienthongv1.Status{
		lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_REJECTED, lienthongv1.Status_STATUS_ASSIGNED,
		lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE,
	}
}

// StepNames are the names of the Steps: received|rejected|assigned|in-progress|done.
func StepNames() string {
	steps := Steps()
	names := make([]string, len(steps))
	for i, st := range steps {
		names[i] = st.Name()
	}
	return strings.Join(names, "|")
}

// ParseStep reads a step by its name (see StepNames).
func ParseStep(name string) (lienthongv1.Status, error) {
	for _, st := range Steps() {
		if st.Name() == strings.ToLower(strings.TrimSpace(name)) {
			return st, nil
		}
	}
	return 0, lienthong.Errorf(lienthong.KindInvalid, "trạng thái %q không hợp lệ: %s (unknown step)", name, StepNames())
}

// CheckStep checks a step and its reason before the hub is asked: a step
// a recipient reports, and a refusal says why.
func CheckStep(st lienthongv1.Status, reason string) error {
	found := false
	for _, s := range Steps() {
		found = found || s == st
	}
	if !found {
		return lienthong.Errorf(lienthong.KindInvalid, "trạng thái %s không phải bước nơi nhận báo: %s (not a reportable step)", st.Name(), StepNames())
	}
	if st == lienthongv1.Status_STATUS_REJECTED && strings.TrimSpace(reason) == "" {
		return lienthong.Errorf(lienthong.KindInvalid, "từ chối văn bản phải nêu lý do (a refusal needs a reason)")
	}
	return envelope.StatusText(strings.TrimSpace(reason))
}

// Reported is the outcome of Report.
type Reported struct {
	// Body is the hub's verified receipt; Receipt the signed receipt.
	Body    *lienthongv1.ReceiptBody
	Receipt *lienthongv1.Receipt
	// Entry is the register's entry, updated; nil when RecordErr is set.
	Entry *register.Received
	// RecordErr is set when the hub recorded the step but the register
	// could not: the step stands, the local book lags.
	RecordErr error
}

// Report tells the hub this agency's processing step of a document it
// received (received, rejected with a reason, assigned, in progress,
// done), checks the hub's signed receipt and records the step in the
// register of documents received. The hub refusing the step (an
// impossible transition, an unknown document) is the error, and nothing
// is recorded.
func (d *Desk) Report(ctx context.Context, messageID string, st lienthongv1.Status, reason string) (*Reported, error) {
	reason = strings.TrimSpace(reason)
	if err := CheckStep(st, reason); err != nil {
		return nil, err
	}
	return d.report(ctx, messageID, st, reason)
}

// report sends a checked step of a received document to the hub, checks
// the hub's signed receipt and records the step in the register of
// documents received (Report, AnswerRecall).
func (d *Desk) report(ctx context.Context, messageID string, st lienthongv1.Status, reason string) (*Reported, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	v, err := c.ReportStatus(ctx, messageID, st, reason)
	if err != nil {
		return nil, err
	}
	out := &Reported{Body: v.Body, Receipt: v.Receipt}
	if out.Entry, err = d.reg.SetStatus(v.Body, v.Receipt); err != nil {
		out.Entry, out.RecordErr = nil, fmt.Errorf("trục đã ghi nhận nhưng không ghi được vào sổ văn bản đến (recorded by the hub, not in the register): %w", err)
	}
	return out, nil
}

// Declaration is a document the agency issued outside the hub.
type Declaration struct {
	// Kind: paper (counted in the compliance rate) or secret (never sent
	// through the hub, not counted).
	Kind                                      lienthongv1.DeclarationKind
	Number, Notation, IssueDate, DocumentType string
}

// ParseDeclarationKind reads paper or secret.
func ParseDeclarationKind(s string) (lienthongv1.DeclarationKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "paper":
		return lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, nil
	case "secret":
		return lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET, nil
	}
	return 0, lienthong.Errorf(lienthong.KindInvalid, "loại khai báo %q không hợp lệ: paper hoặc secret (unknown declaration kind)", s)
}

// DeclarationKindName is paper or secret.
func DeclarationKindName(k lienthongv1.DeclarationKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "DECLARATION_KIND_"))
}

// Declare records on the hub a document the agency issued outside it (on
// paper, or secret), so the compliance figures count it. It reports
// whether the hub already had it. The hub's rules are checked here first:
// the clerk hears the same message without a round trip.
func (d *Desk) Declare(ctx context.Context, decl Declaration) (duplicate bool, err error) {
	req := &lienthongv1.DeclareRequest{
		Kind: decl.Kind, Number: strings.TrimSpace(decl.Number), Notation: strings.TrimSpace(decl.Notation),
		IssueDate: strings.TrimSpace(decl.IssueDate), DocumentType: strings.TrimSpace(decl.DocumentType),
	}
	if req.Kind == lienthongv1.DeclarationKind_DECLARATION_KIND_UNSPECIFIED {
		return false, lienthong.Errorf(lienthong.KindInvalid, "khai báo cần loại: paper hoặc secret (declaration kind missing)")
	}
	if _, err := envelope.Declaration(req.Number, req.Notation, req.IssueDate, req.DocumentType, d.now()); err != nil {
		return false, err
	}
	c, err := d.client()
	if err != nil {
		return false, err
	}
	resp, err := c.API().Declare(ctx, req)
	if err != nil {
		return false, err
	}
	return resp.GetDuplicate(), nil
}
