package nodecli

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/signing/appearance"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/trust"
	"github.com/lienthong/lienthong/signing/tsp"
)

// sign: ltnode sign IN.pdf OUT.pdf (--key KEY.pem --cert CERT.pem | --pkcs11 MODULE.so [--token-label L] [--key-label K] [--pin-file F])
// [--chain CHAIN.pem] [--trust ROOTS.pem] [--tsa URL]
// [--appearance leader|seal|copy --image PNG --page N --rect x,y,w,h --anchor TEXT --number N --copy-type T --copy-agency A].
// With --pkcs11 the key stays in the token and the certificate is read
// from it; the PIN comes from LTNODE_PIN, --pin-file or a prompt on the
// terminal, never from a flag value (it would show in ps and the shell
// history).
// The signatures IN.pdf already has are verified first (with --trust, each
// must be fully valid); signing over a changed or certified-locked
// document is refused and no OUT.pdf is written.
func (m *Main) sign(ctx context.Context, args []string) error {
	fs := m.newFlags("sign")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	keyPath := fs.String("key", "", "khóa bí mật PEM của người ký / cơ quan")
	certPath := fs.String("cert", "", "chứng thư số PEM của người ký")
	var tok tokenFlags
	tok.register(fs)
	chainPath := fs.String("chain", "", "chứng thư trung gian PEM (tùy chọn)")
	reason := fs.String("reason", "", "lý do ký, vd \"Phát hành\"")
	location := fs.String("location", "", "nơi ký")
	subFilter := fs.String("subfilter", string(pades.SubFilterCAdES), "ETSI.CAdES.detached hoặc adbe.pkcs7.detached")
	tsaURL := fs.String("tsa", "", "URL của máy chủ cấp dấu thời gian RFC 3161 (PAdES B-T), tùy chọn")
	var trustFiles cliutil.List
	fs.Var(&trustFiles, "trust", "chứng thư gốc tin cậy PEM để kiểm tra các chữ ký có sẵn (lặp lại được)")
	var vis appearance.Request
	fs.StringVar(&vis.Kind, "appearance", "", "chữ ký hiển thị theo Nghị định 30/2020: leader (ảnh chữ ký), seal (ảnh con dấu) hoặc copy (khối chữ bản sao/phụ lục)")
	fs.StringVar(&vis.ImagePath, "image", "", "ảnh PNG nền trong suốt: chữ ký (leader) hoặc con dấu (seal)")
	fs.IntVar(&vis.Page, "page", 0, "trang đặt chữ ký (mặc định: tự tìm)")
	fs.StringVar(&vis.Rect, "rect", "", "khung x,y,rộng,cao tính bằng point (mặc định: đặt theo Nghị định 30)")
	fs.StringVar(&vis.Anchor, "anchor", "", "dòng họ tên người ký trên trang, để đặt ảnh chữ ký giữa chức vụ và họ tên")
	fs.StringVar(&vis.Number, "number", "", "số và ký hiệu văn bản (copy)")
	fs.StringVar(&vis.CopyType, "copy-type", "", "hình thức sao, vd \"Sao y bản chính\" (copy; bỏ trống với phụ lục)")
	fs.StringVar(&vis.Agency, "copy-agency", "", "tên cơ quan, tổ chức sao văn bản (copy)")
	fs.StringVar(&vis.FontPath, "font", "", "phông TrueType cho khối chữ (mặc định Liberation Serif của gói fonts-liberation2)")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if tok.module != "" && (*keyPath != "" || *certPath != "") {
		return cliutil.Usagef("--pkcs11 đọc khóa và chứng thư từ token: không dùng cùng --key/--cert")
	}
	if len(pos) != 2 || (tok.module == "") == (*keyPath == "" || *certPath == "") {
		return cliutil.Usagef("sign IN.pdf OUT.pdf (--key KEY.pem --cert CERT.pem | --pkcs11 MODULE.so [--token-label L] [--key-label K]) [--chain CHAIN.pem] [--trust ROOTS.pem] [--appearance leader|seal|copy --image PNG --anchor TEXT | --page N --rect x,y,w,h]")
	}
	var check *pades.VerifyOptions
	if len(trustFiles) > 0 {
		roots, err := loadPool(trustFiles)
		if err != nil {
			return err
		}
		check = &pades.VerifyOptions{Roots: roots}
	}
	sg, err := m.signingKey(tok, *keyPath, *certPath, *chainPath)
	if err != nil {
		return err
	}
	defer sg.release()
	sf := pades.SubFilter(*subFilter)
	if sf != pades.SubFilterCAdES && sf != pades.SubFilterPKCS7 {
		return cliutil.Usagef("--subfilter %q: dùng %s hoặc %s", *subFilter, pades.SubFilterCAdES, pades.SubFilterPKCS7)
	}
	opts := pades.SignOptions{
		Signer: sg.key, Certificate: sg.cert, Chain: sg.chain, SubFilter: sf,
		Reason: *reason, Location: *location, Name: sg.cert.Subject.CommonName, Time: time.Now().Truncate(time.Second), Verify: check,
	}
	if vis != (appearance.Request{}) {
		if opts.Appearance, err = appearance.PlanFile(pos[0], vis, opts.Time); err != nil {
			return fmt.Errorf("ký %s: %w", pos[0], err)
		}
	}
	if *tsaURL != "" {
		opts.TSA = &tsp.Client{URL: *tsaURL, Timeout: tsaTimeout}
	}
	if err := pades.SignFileContext(ctx, pos[0], pos[1], opts); err != nil {
		return fmt.Errorf("ký %s: %w", pos[0], err)
	}
	if *asJSON {
		return m.printJSON(map[string]string{"in": pos[0], "out": pos[1], "signer": sg.cert.Subject.CommonName, "subfilter": string(sf)})
	}
	fmt.Fprintf(m.Stdout, "Đã ký %s → %s (%s, %s)\n", pos[0], pos[1], sg.cert.Subject.CommonName, sf)
	return nil
}

// verify: ltnode verify F.pdf --trust ROOTS.pem [--crl CRL.pem] [--json].
// Exit 0 valid, 1 invalid/modified/indeterminate/unsigned, 2 could not
// read. Without --crl, a certificate whose issuer published no CRL is not
// held against the signature; a stale or refused CRL gives TRY_LATER.
func (m *Main) verify(_ context.Context, args []string) error {
	fs := m.newFlags("verify")
	var trustFiles, crlFiles, tsaTrustFiles cliutil.List
	fs.Var(&trustFiles, "trust", "chứng thư gốc tin cậy PEM (lặp lại được)")
	fs.Var(&tsaTrustFiles, "tsa-trust", "chứng thư gốc của máy chủ dấu thời gian tin cậy PEM (lặp lại được)")
	fs.Var(&crlFiles, "crl", "danh sách thu hồi CRL, PEM hoặc DER (lặp lại được)")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(trustFiles) == 0 {
		return cliutil.Usagef("verify F.pdf --trust ROOTS.pem [--crl CRL.pem] [--json]")
	}
	opts, err := verifyOptions(trustFiles, tsaTrustFiles, crlFiles)
	if err != nil {
		return err
	}
	rep, verr := pades.VerifyFile(pos[0], opts)
	if rep == nil {
		rep = &pades.Report{Verdict: pades.VerdictError, Error: verr.Error()}
	}
	if rep.Signatures == nil {
		rep.Signatures = []pades.SignatureReport{}
	}
	localReport(rep)
	if *asJSON {
		if err := m.printJSON(rep); err != nil {
			return err
		}
	} else {
		m.printReport(pos[0], rep)
	}
	switch rep.Verdict {
	case pades.VerdictValid:
		return nil
	case pades.VerdictError:
		if !*asJSON {
			fmt.Fprintf(m.Stderr, "ltnode: không đọc được %s: %s\n", pos[0], rep.Error)
		}
		return exitCode(cliutil.ExitUsage)
	default:
		return exitCode(cliutil.ExitFailed)
	}
}

func loadPool(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		certs, err := pki.LoadCertificates(f)
		if err != nil {
			return nil, cliutil.Usagef("%v", err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

func verdictLabel(v pades.Verdict) string {
	switch v {
	case pades.VerdictValid:
		return "HỢP LỆ (valid)"
	case pades.VerdictInvalid:
		return "KHÔNG HỢP LỆ (invalid)"
	case pades.VerdictIndeterminate:
		return "CHƯA XÁC ĐỊNH ĐƯỢC (indeterminate)"
	case pades.VerdictModified:
		return "ĐÃ BỊ SỬA SAU KHI KÝ (modified)"
	case pades.VerdictUnsigned:
		return "CHƯA KÝ SỐ (unsigned)"
	}
	return "LỖI (error)"
}

func (m *Main) printReport(name string, rep *pades.Report) {
	fmt.Fprintf(m.Stdout, "%s: %s\n", name, verdictLabel(rep.Verdict))
	for i, s := range rep.Signatures {
		state := "✓"
		if len(s.Problems) > 0 {
			state = "✗ " + strings.Join(s.Problems, "; ")
		}
		when := "-"
		if !s.SigningTime.IsZero() {
			when = formatTime(s.SigningTime)
		}
		fmt.Fprintf(m.Stdout, "  %d. %s — ký lúc %s, %s, %s %s\n", i+1, s.SignerCN, when, s.SubFilter, indicationText(s.Indication, s.SubIndication), state)
	}
}

// indicationText is "INDICATION/SUB-INDICATION", or the indication alone.
func indicationText(ind etsi.Indication, sub etsi.SubIndication) string {
	if sub == "" {
		return string(ind)
	}
	return string(ind) + "/" + string(sub)
}

// verifyOptions loads what `--trust`, `--tsa-trust` and `--crl` name, for
// the verbs that verify (verify, ltv).
func verifyOptions(trustFiles, tsaTrustFiles, crlFiles []string) (opts pades.VerifyOptions, err error) {
	if opts.Roots, err = loadPool(trustFiles); err != nil {
		return opts, err
	}
	if len(tsaTrustFiles) > 0 {
		if opts.TSARoots, err = loadPool(tsaTrustFiles); err != nil {
			return opts, err
		}
	}
	for _, c := range crlFiles {
		data, err := os.ReadFile(c)
		if err != nil {
			return opts, cliutil.Usagef("đọc CRL: %v", err)
		}
		crls, err := trust.ParseCRLs(data)
		if err != nil {
			return opts, cliutil.Usagef("CRL %s: %v", c, err)
		}
		opts.CRLs = append(opts.CRLs, crls...)
	}
	return opts, nil
}
