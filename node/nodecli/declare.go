package nodecli

import (
	"context"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node/desk"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// declare records on the hub a document the agency issued outside it (on
// paper, or secret), so compliance figures count it.
func (m *Main) declare(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("declare")
	kind := fs.String("kind", "", "paper (văn bản giấy) hoặc secret (văn bản mật: không gửi qua trục, không tính vào tỷ lệ)")
	number := fs.String("number", "", "số văn bản, ví dụ 45")
	notation := fs.String("notation", "", "ký hiệu, ví dụ QĐ-UBND")
	date := fs.String("date", "", "ngày ban hành YYYY-MM-DD")
	docType := fs.String("type", "", "loại văn bản, ví dụ \"Quyết định\"")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cliutil.Usagef("declare: tham số thừa %q", pos)
	}
	pk, err := desk.ParseDeclarationKind(*kind)
	if err != nil {
		return cliutil.Usagef("declare cần --kind paper hoặc --kind secret (được %q)", *kind)
	}
	for _, f := range []struct{ name, v string }{{"--number", *number}, {"--notation", *notation}, {"--date", *date}} {
		if strings.TrimSpace(f.v) == "" {
			return cliutil.Usagef("declare cần %s", f.name)
		}
	}
	decl := desk.Declaration{Kind: pk, Number: strings.TrimSpace(*number), Notation: strings.TrimSpace(*notation),
		IssueDate: strings.TrimSpace(*date), DocumentType: strings.TrimSpace(*docType)}
	d, err := s.desk(deskConfig{online: true})
	if err != nil {
		return err
	}
	dup, err := d.Declare(ctx, decl)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(map[string]any{
			"kind": desk.DeclarationKindName(decl.Kind), "number": decl.Number,
			"notation": decl.Notation, "issue_date": decl.IssueDate, "duplicate": dup,
		})
	}
	word := map[lienthongv1.DeclarationKind]string{
		lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER:  "giấy",
		lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET: "mật",
	}[decl.Kind]
	if dup {
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s (%s) đã được khai báo trước đó (văn bản %s).\n", decl.Number, decl.Notation, decl.IssueDate, word)
		return nil
	}
	fmt.Fprintf(m.Stdout, "Đã khai báo văn bản %s số %s/%s ngày %s.\n", word, decl.Number, decl.Notation, decl.IssueDate)
	return nil
}
