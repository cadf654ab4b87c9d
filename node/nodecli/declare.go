package nodecli

import (
	"context"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// declare records on the hub a document the agency issued outside it (on
// paper, or secret), so compliance figures count it.
func (m *Main) declare(ctx context.Context, args []string, connect connectFunc) error {
	fs := m.newFlags("declare")
	kind := fs.String("kind", "", "paper (văn bản giấy) hoặc secret (văn bản mật: không gửi qua trục, không tính vào tỷ lệ)")
	number := fs.String("number", "", "số văn bản, ví dụ 45")
	notation := fs.String("notation", "", "ký hiệu, ví dụ QĐ-UBND")
	date := fs.String("date", "", "ngày ban hành YYYY-MM-DD")
	docType := fs.String("type", "", "loại văn bản, ví dụ \"Quyết định\"")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	var pk lienthongv1.DeclarationKind
	word := ""
	switch strings.ToLower(strings.TrimSpace(*kind)) {
	case "paper":
		pk, word = lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER, "giấy"
	case "secret":
		pk, word = lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET, "mật"
	default:
		return cliutil.Usagef("declare cần --kind paper hoặc --kind secret (được %q)", *kind)
	}
	for _, f := range []struct{ name, v string }{{"--number", *number}, {"--notation", *notation}, {"--date", *date}} {
		if strings.TrimSpace(f.v) == "" {
			return cliutil.Usagef("declare cần %s", f.name)
		}
	}
	req := &lienthongv1.DeclareRequest{
		Kind: pk, Number: strings.TrimSpace(*number), Notation: strings.TrimSpace(*notation), IssueDate: strings.TrimSpace(*date),
		DocumentType: strings.TrimSpace(*docType),
	}
	// The hub's rules, checked here first: the clerk hears the same
	// message without a round trip.
	if _, err := envelope.Declaration(req.Number, req.Notation, req.IssueDate, req.DocumentType, m.now()); err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.API().Declare(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(map[string]any{
			"kind": strings.ToLower(strings.TrimPrefix(req.Kind.String(), "DECLARATION_KIND_")), "number": req.Number,
			"notation": req.Notation, "issue_date": req.IssueDate, "duplicate": resp.GetDuplicate(),
		})
	}
	if resp.GetDuplicate() {
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s (%s) đã được khai báo trước đó (văn bản %s).\n", req.Number, req.Notation, req.IssueDate, word)
		return nil
	}
	fmt.Fprintf(m.Stdout, "Đã khai báo văn bản %s số %s/%s ngày %s.\n", word, req.Number, req.Notation, req.IssueDate)
	return nil
}
