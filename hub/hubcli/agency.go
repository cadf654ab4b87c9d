package hubcli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

const agencyVerbs = "list, show, export, import, add, update, suspend, activate, issue, bind hoặc rotate"

// agency runs the directory verbs. Every change goes to the admin
// service (of the running hub, or over the stopped hub's store), whose
// registry validates and applies it; the verbs only read files and flags
// and print the outcome.
func (m *Main) agency(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return cliutil.Usagef("agency cần %s", agencyVerbs)
	}
	verb := args[0]
	fs, af := m.adminFlagSet("agency " + verb)
	var (
		dryRun                             = fs.Bool("dry-run", false, "import: chỉ in những gì sẽ thay đổi, không ghi")
		format                             = fs.String("format", "", "export: csv|json (mặc định theo đuôi --out, hoặc csv); list: table|json")
		out                                = fs.String("out", "", "export: tệp ghi ra (mặc định stdout); issue, rotate: thư mục ghi chứng thư và khóa cho nút")
		name, kind, parent, contact, stStr = fs.String("name", "", "tên cơ quan"), fs.String("kind", "", "province|department|district|commune|unit"), fs.String("parent", "", "mã cơ quan cấp trên (mặc định: theo mã)"), fs.String("contact", "", "liên hệ"), fs.String("status", "", "active|suspended")
		passwordFile                       = fs.String("password-file", "", "issue, rotate: tệp chứa mật khẩu cho tệp PKCS#12 (hoặc biến LTHUB_P12_PASSWORD, hoặc nhập khi được hỏi)")
		overlapUntil                       = fs.String("overlap-until", "", "rotate: chứng thư cũ còn được nhận đến hết ngày này (YYYY-MM-DD hoặc RFC 3339)")
		certFile                           = fs.String("cert", "", "rotate: chứng thư mới cơ quan đã có (PEM) thay vì cấp mới")
		days                               = fs.Int("days", 730, "issue, rotate: số ngày hiệu lực của chứng thư cấp mới")
	)
	pos, err := cliutil.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("agency %s cần --dir D", verb)
	}
	oneCode := func() (string, error) {
		if len(pos) != 1 {
			return "", cliutil.Usagef("agency %s cần đúng một mã cơ quan", verb)
		}
		return pos[0], nil
	}
	switch verb {
	case "list":
		return m.agencyList(ctx, af, *format)
	case "show":
		code, err := oneCode()
		if err != nil {
			return err
		}
		a, err := m.findAgency(ctx, af, code)
		if err != nil {
			return err
		}
		return m.agencyShow(a)
	case "export":
		return m.agencyExport(ctx, af, *format, *out)
	case "import":
		if len(pos) != 1 {
			return cliutil.Usagef("agency import cần đúng một tệp .csv hoặc .json")
		}
		f, err := os.Open(pos[0])
		if err != nil {
			return cliutil.Usagef("mở tệp danh bạ: %v", err)
		}
		defer f.Close()
		rows, err := registry.Read(pos[0], f)
		if err != nil {
			return fmt.Errorf("tệp %s: %w", pos[0], err)
		}
		return m.applyRows(ctx, af, registry.OpImport, rows, *dryRun)
	case "add", "update":
		code, err := oneCode()
		if err != nil {
			return err
		}
		rec := registry.FileRecord{Code: code, Name: *name, Kind: *kind, Parent: *parent, Contact: *contact, Status: *stStr}
		rows, err := registry.Rows([]registry.FileRecord{rec})
		if err != nil {
			return err
		}
		return m.applyRows(ctx, af, registry.Op(verb), rows, *dryRun)
	case "suspend", "activate":
		code, err := oneCode()
		if err != nil {
			return err
		}
		want := lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE
		if verb == "suspend" {
			want = lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED
		}
		resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.SetAgencyStatusResponse, error) {
			return api.SetAgencyStatus(ctx, &lienthongv1.SetAgencyStatusRequest{Code: code, Status: want})
		})
		if err != nil {
			return err
		}
		a := resp.GetAgency()
		fmt.Fprintf(m.Stdout, "%s (%s): %s\n", a.GetCode(), a.GetName(), statusWord(a.GetStatus()))
		return nil
	case "bind":
		if len(pos) != 2 {
			return cliutil.Usagef("agency bind cần mã cơ quan và tệp chứng thư: agency bind CODE CERT.pem")
		}
		return m.bind(ctx, af, pos[0], pos[1], time.Time{})
	case "issue", "rotate":
		code, err := oneCode()
		if err != nil {
			return err
		}
		var until time.Time
		if verb == "rotate" {
			if *overlapUntil == "" {
				return cliutil.Usagef("agency rotate cần --overlap-until NGÀY: chứng thư cũ còn được nhận đến hết ngày đó")
			}
			if until, err = parseUntil(*overlapUntil); err != nil {
				return err
			}
			if *certFile != "" {
				return m.bind(ctx, af, code, *certFile, until)
			}
		}
		if *out == "" {
			return cliutil.Usagef("agency %s cần --out DIR: thư mục ghi khóa và chứng thư cho nút (ltnode --id DIR)", verb)
		}
		return m.issue(ctx, af, code, *out, *passwordFile, time.Duration(*days)*24*time.Hour, until)
	default:
		return cliutil.Usagef("agency: lệnh không rõ %q; dùng %s", verb, agencyVerbs)
	}
}

// parseUntil reads an overlap end: a date means the end of that day
// (local time), or an RFC 3339 instant.
func parseUntil(s string) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, cliutil.Usagef("--overlap-until %q: dùng YYYY-MM-DD hoặc RFC 3339 (2026-12-31T17:00:00+07:00)", s)
	}
	return t, nil
}

// applyRows sends rows to the registry and prints the diff.
func (m *Main) applyRows(ctx context.Context, af adminFlags, op registry.Op, rows []registry.Row, dryRun bool) error {
	req := &lienthongv1.ApplyDirectoryRequest{Op: string(op), DryRun: dryRun}
	for _, r := range rows {
		req.Agencies = append(req.Agencies, r.Agency)
		req.Rows = append(req.Rows, int32(r.Line))
	}
	resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.ApplyDirectoryResponse, error) {
		return api.ApplyDirectory(ctx, req)
	})
	if err != nil {
		return err
	}
	for _, c := range resp.GetChanges() {
		where := ""
		if c.GetRow() > 0 {
			where = fmt.Sprintf(" (dòng %d)", c.GetRow())
		}
		if c.GetAdded() {
			fmt.Fprintf(m.Stdout, "+ %s%s\n", c.GetCode(), where)
			continue
		}
		fmt.Fprintf(m.Stdout, "~ %s%s: %s\n", c.GetCode(), where, strings.Join(c.GetFields(), "; "))
	}
	verb := "Đã áp dụng (applied)"
	if !resp.GetApplied() {
		verb = "Chưa áp dụng (dry run; nothing changed)"
		if !dryRun {
			verb = "Không có gì thay đổi (nothing to change)"
		}
	}
	fmt.Fprintf(m.Stdout, "%s: thêm %d, sửa %d, giữ nguyên %d (added %d, changed %d, unchanged %d)\n", verb,
		resp.GetAdded(), resp.GetChanged(), resp.GetUnchanged(), resp.GetAdded(), resp.GetChanged(), resp.GetUnchanged())
	return nil
}

func (m *Main) listAgencies(ctx context.Context, af adminFlags) ([]*lienthongv1.Agency, error) {
	resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.ListDirectoryResponse, error) {
		return api.ListDirectory(ctx, &lienthongv1.ListDirectoryRequest{})
	})
	if err != nil {
		return nil, err
	}
	return resp.GetAgencies(), nil
}

func (m *Main) findAgency(ctx context.Context, af adminFlags, code string) (*lienthongv1.Agency, error) {
	agencies, err := m.listAgencies(ctx, af)
	if err != nil {
		return nil, err
	}
	for _, a := range agencies {
		if a.GetCode() == code {
			return a, nil
		}
	}
	return nil, fmt.Errorf("không có cơ quan mã %s trong danh bạ (no such agency)", code)
}

// agencyItem is one agency in `agency list --format json`.
type agencyItem struct {
	registry.FileRecord
	CertificateExpiry *time.Time `json:"certificate_expiry,omitempty"`
}

func (m *Main) agencyList(ctx context.Context, af adminFlags, format string) error {
	agencies, err := m.listAgencies(ctx, af)
	if err != nil {
		return err
	}
	now := time.Now()
	switch format {
	case "json":
		items := make([]agencyItem, 0, len(agencies))
		for _, a := range agencies {
			it := agencyItem{FileRecord: registry.Record(a)}
			if exp, ok := registry.CertificateExpiry(a, now); ok {
				it.CertificateExpiry = &exp
			}
			items = append(items, it)
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	case "", "table":
	default:
		return cliutil.Usagef("--format %q: agency list dùng table hoặc json", format)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MÃ\tTÊN\tLOẠI\tCẤP TRÊN\tCHỨNG THƯ HẾT HẠN\tTRẠNG THÁI")
	for _, a := range agencies {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.GetCode(), a.GetName(), directory.KindName(a.GetKind()),
			dash(registry.EffectiveParent(a)), expiryCell(a, now), statusWord(a.GetStatus()))
	}
	return tw.Flush()
}

// expiryCell is the list's certificate column: the date the last
// accepted certificate expires, marked when within the warning period.
func expiryCell(a *lienthongv1.Agency, now time.Time) string {
	exp, ok := registry.CertificateExpiry(a, now)
	switch {
	case !ok && countBound(a) == 0:
		return "chưa có"
	case !ok:
		return "?"
	case !exp.After(now):
		return exp.Local().Format(time.DateOnly) + " (ĐÃ HẾT HẠN)"
	case exp.Sub(now) <= registry.ExpiryWarning:
		return exp.Local().Format(time.DateOnly) + " (sắp hết hạn)"
	default:
		return exp.Local().Format(time.DateOnly)
	}
}

func countBound(a *lienthongv1.Agency) int {
	return len(a.GetCertificates()) + len(a.GetCertificateSha256())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (m *Main) agencyShow(a *lienthongv1.Agency) error {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Mã\t%s\nTên\t%s\nLoại\t%s\nCấp trên\t%s\nTrạng thái\t%s\nLiên hệ\t%s\n", a.GetCode(), a.GetName(),
		directory.KindName(a.GetKind()), dash(registry.EffectiveParent(a)), statusWord(a.GetStatus()), dash(a.GetContact()))
	for _, h := range a.GetCertificateSha256() {
		fmt.Fprintf(tw, "Chứng thư\tSHA-256 %s\n", hex.EncodeToString(h))
	}
	for _, c := range a.GetCertificates() {
		line := fmt.Sprintf("SHA-256 %s", hex.EncodeToString(c.GetSha256()))
		if c.GetSubject() != "" {
			line += "  " + c.GetSubject()
		}
		if c.GetNotAfter() != nil {
			line += "  hết hạn " + c.GetNotAfter().AsTime().Local().Format(time.DateTime)
		}
		if c.GetAcceptedUntil() != nil {
			line += "  nhận đến " + c.GetAcceptedUntil().AsTime().Local().Format(time.DateTime) + " (đang thay)"
		}
		fmt.Fprintf(tw, "Chứng thư\t%s\n", line)
	}
	return tw.Flush()
}

func (m *Main) agencyExport(ctx context.Context, af adminFlags, format, out string) error {
	if format == "" {
		format = "csv"
		if strings.EqualFold(filepath.Ext(out), ".json") {
			format = "json"
		}
	}
	write := map[string]func(w io.Writer, a []*lienthongv1.Agency) error{
		"csv":  registry.WriteCSV,
		"json": registry.WriteJSON,
	}[format]
	if write == nil {
		return cliutil.Usagef("--format %q: dùng csv hoặc json", format)
	}
	agencies, err := m.listAgencies(ctx, af)
	if err != nil {
		return err
	}
	if out == "" {
		return write(m.Stdout, agencies)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("tạo tệp %s: %w", out, err)
	}
	if err := write(f, agencies); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bind binds the certificate(s) in file (leaf first, then intermediates)
// to code; a non-zero until makes it a rotation.
func (m *Main) bind(ctx context.Context, af adminFlags, code, file string, until time.Time) error {
	certs, err := pki.LoadCertificates(file)
	if err != nil {
		return cliutil.Usagef("đọc chứng thư %s: %v", file, err)
	}
	var der []byte
	for _, c := range certs {
		der = append(der, c.Raw...)
	}
	a, err := m.bindDER(ctx, af, code, der, until)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s (%s): đã gắn chứng thư %s, hết hạn %s\n", a.GetCode(), a.GetName(), certs[0].Subject.CommonName,
		certs[0].NotAfter.Local().Format(time.DateOnly))
	if !until.IsZero() {
		fmt.Fprintf(m.Stdout, "chứng thư cũ còn được nhận đến %s (old certificates accepted until then)\n", until.Local().Format(time.DateTime))
	}
	return nil
}

func (m *Main) bindDER(ctx context.Context, af adminFlags, code string, der []byte, until time.Time) (*lienthongv1.Agency, error) {
	req := &lienthongv1.BindCertificateRequest{Code: code, Certificate: der}
	if !until.IsZero() {
		req.Rotate, req.OverlapUntil = true, timestamppb.New(until)
	}
	resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.BindCertificateResponse, error) {
		return api.BindCertificate(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return resp.GetAgency(), nil
}

// issue issues a new key and certificate for code from the province CA,
// binds it (rotating when until is set), and writes the node's identity
// directory and a PKCS#12 copy into out.
func (m *Main) issue(ctx context.Context, af adminFlags, code, out, passwordFile string, validity time.Duration, until time.Time) error {
	if _, err := os.Stat(filepath.Join(out, "key.pem")); err == nil {
		return cliutil.Usagef("%s đã có key.pem; chọn thư mục --out khác để không ghi đè khóa đang dùng", out)
	}
	password, err := m.password(passwordFile)
	if err != nil {
		return err
	}
	a, err := m.findAgency(ctx, af, code)
	if err != nil {
		return err
	}
	id, err := provision.Layout{Dir: *af.dir}.IssueAgency(code, a.GetName(), provision.IssueOptions{Validity: validity})
	if err != nil {
		return err
	}
	if _, err := m.bindDER(ctx, af, code, id.Cert.Raw, until); err != nil {
		return err
	}
	if err := provision.WriteIdentity(out, id); err != nil {
		return fmt.Errorf("chứng thư đã được gắn nhưng không ghi được %s (certificate bound, files not written): %w", out, err)
	}
	p12 := filepath.Join(out, code+".p12")
	if err := provision.WritePKCS12(p12, id, code+" "+a.GetName(), password); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s (%s): đã cấp và gắn chứng thư, hết hạn %s\n", code, a.GetName(), id.Cert.NotAfter.Local().Format(time.DateOnly))
	fmt.Fprintf(m.Stdout, "nút: ltnode --id %s (cert.pem, key.pem, ca.pem); PKCS#12: %s\n", out, p12)
	if !until.IsZero() {
		fmt.Fprintf(m.Stdout, "chứng thư cũ còn được nhận đến %s (old certificates accepted until then)\n", until.Local().Format(time.DateTime))
	}
	return nil
}

func statusWord(s lienthongv1.AgencyStatus) string {
	if s == lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
		return "hoạt động"
	}
	return "tạm ngừng"
}
