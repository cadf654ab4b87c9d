package nodecli

import (
	"context"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// declare records on the hub a document the agency issued outside it (on
// paper, or secret), so compliance figures count it.
func (m *Main) declare(ctx context.Context, args []string, connect connectFunc) error {
	fs := m.newFlags("declare")
	paper := fs.Bool("paper", false, "văn bản đã phát hành bằng giấy")
	secret := fs.Bool("secret", false, "văn bản mật (không gửi qua trục, không tính vào tỷ lệ)")
	number := fs.String("number", "", "số văn bản, ví dụ 45")
	notation := fs.String("notation", "", "ký hiệu, ví dụ QĐ-UBND")
	date := fs.String("date", "", "ngày ban hành YYYY-MM-DD")
	docType := fs.String("type", "", "loại văn bản, ví dụ \"Quyết định\"")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	if *paper == *secret {
		return cliutil.Usagef("declare cần đúng một trong --paper hoặc --secret")
	}
	for _, f := range []struct{ name, v string }{{"--number", *number}, {"--notation", *notation}, {"--date", *date}} {
		if strings.TrimSpace(f.v) == "" {
			return cliutil.Usagef("declare cần %s", f.name)
		}
	}
	req := &lienthongv1.DeclareRequest{
		Kind:   lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER,
		Number: strings.TrimSpace(*number), Notation: strings.TrimSpace(*notation), IssueDate: strings.TrimSpace(*date),
		DocumentType: strings.TrimSpace(*docType),
	}
	word := "giấy"
	if *secret {
		req.Kind, word = lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET, "mật"
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
