package nodecli

import (
	"context"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/tsp"
)

// tsaTimeout bounds one request to a time-stamping authority.
const tsaTimeout = 30 * time.Second

// ltv: ltnode ltv IN.pdf OUT.pdf --trust ROOTS.pem --crl CRL.pem [--tsa URL]
// [--tsa-trust TSAROOTS.pem]. Adds the signatures' chains and CRLs as a
// DSS (PAdES B-LT) and, with --tsa, a document timestamp (B-LTA).
func (m *Main) ltv(ctx context.Context, args []string) error {
	fs := m.newFlags("ltv")
	var trustFiles, crlFiles, tsaTrustFiles cliutil.List
	fs.Var(&trustFiles, "trust", "chứng thư gốc tin cậy PEM (lặp lại được)")
	fs.Var(&crlFiles, "crl", "danh sách thu hồi CRL, PEM hoặc DER, đưa vào DSS (lặp lại được)")
	fs.Var(&tsaTrustFiles, "tsa-trust", "chứng thư gốc của máy chủ dấu thời gian tin cậy PEM (lặp lại được)")
	tsaURL := fs.String("tsa", "", "URL của máy chủ cấp dấu thời gian RFC 3161: thêm dấu thời gian tài liệu (B-LTA)")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || len(trustFiles) == 0 {
		return cliutil.Usagef("ltv IN.pdf OUT.pdf --trust ROOTS.pem --crl CRL.pem [--tsa URL]")
	}
	var opts pades.LTVOptions
	if opts.Verify, err = verifyOptions(trustFiles, tsaTrustFiles, crlFiles); err != nil {
		return err
	}
	if *tsaURL != "" {
		opts.TSA = &tsp.Client{URL: *tsaURL, Timeout: tsaTimeout}
	}
	if err := pades.LTVFile(ctx, pos[0], pos[1], opts); err != nil {
		return fmt.Errorf("thêm dữ liệu kiểm tra dài hạn cho %s (adding long-term validation data): %w", pos[0], err)
	}
	level := "B-LT"
	if *tsaURL != "" {
		level = "B-LTA"
	}
	if *asJSON {
		return m.printJSON(map[string]string{"in": pos[0], "out": pos[1], "level": level})
	}
	fmt.Fprintf(m.Stdout, "Đã thêm dữ liệu kiểm tra dài hạn %s → %s (PAdES %s)\n", pos[0], pos[1], level)
	return nil
}
