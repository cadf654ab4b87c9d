package hubcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong/hub/admin"
	"github.com/lienthong/lienthong/hub/backup"
	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// opsAPI are the backup and check calls, on a running hub (gRPC) or over
// a stopped hub's store (admin.Service).
type opsAPI interface {
	Backup(context.Context, *lienthongv1.BackupRequest) (*lienthongv1.BackupResponse, error)
	VerifyStore(context.Context, *lienthongv1.VerifyStoreRequest) (*lienthongv1.VerifyStoreResponse, error)
	VerifyAudit(context.Context, *lienthongv1.VerifyAuditRequest) (*lienthongv1.VerifyAuditResponse, error)
	WriteAudit(ctx context.Context, from, to string, w io.Writer) (int, error)
}

func (r remoteAdmin) Backup(ctx context.Context, req *lienthongv1.BackupRequest) (*lienthongv1.BackupResponse, error) {
	return r.c.Backup(ctx, req)
}

func (r remoteAdmin) VerifyStore(ctx context.Context, req *lienthongv1.VerifyStoreRequest) (*lienthongv1.VerifyStoreResponse, error) {
	return r.c.VerifyStore(ctx, req)
}

func (r remoteAdmin) VerifyAudit(ctx context.Context, req *lienthongv1.VerifyAuditRequest) (*lienthongv1.VerifyAuditResponse, error) {
	return r.c.VerifyAudit(ctx, req)
}

// localOperator names who runs lthub on a stopped hub, for the audit log.
func localOperator() string {
	name := "?"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("operator offline %s@%s", name, host)
}

func (m *Main) backup(ctx context.Context, args []string) error {
	fs, af := m.adminFlagSet("backup")
	copyBlobs := fs.Bool("copy", false, "chép mọi tệp văn bản thay vì tạo liên kết cứng (hard link) khi bản sao lưu nằm cùng ổ đĩa với trục")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *af.dir == "" || len(pos) != 1 {
		return cliutil.Usagef("backup cần --dir D và đúng một thư mục đích OUT")
	}
	// The hub writes the backup on its host; lthub runs there too (it
	// reads D/operator), so an absolute path means the same to both.
	out, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.BackupResponse, error) {
		return api.Backup(ctx, &lienthongv1.BackupRequest{Out: out, Copy: *copyBlobs})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Đã sao lưu trục vào %s: %d văn bản, %d tệp (%d liên kết cứng), %d tệp cấu hình và khóa, %d byte; cơ sở dữ liệu sha256 %s.\n",
		resp.GetOut(), resp.GetDocuments(), resp.GetBlobs(), resp.GetLinked(), resp.GetConfigFiles(), resp.GetBytes(), resp.GetDatabaseSha256())
	if n := len(resp.GetMissing()); n > 0 {
		fmt.Fprintf(m.Stdout, "Chú ý: %d tệp hỏng hoặc đã cách ly không có trong bản sao lưu (văn bản của chúng đã bị cách ly): %v\n", n, resp.GetMissing())
	}
	fmt.Fprintln(m.Stdout, "Bản sao lưu chứa khóa bí mật của trục: giữ nó như thư mục trục (quyền 0700, mã hóa khi chép ra ngoài).")
	return nil
}

func (m *Main) restore(ctx context.Context, args []string) error {
	fs, dir := m.flags("restore")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" || len(pos) != 1 {
		return cliutil.Usagef("restore cần một bản sao lưu IN và --dir D (thư mục mới hoặc trống)")
	}
	man, err := backup.Restore(ctx, pos[0], *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Đã khôi phục trục vào %s từ bản sao lưu lúc %s: %d văn bản, %d tệp.\n",
		*dir, man.Created.Format(time.RFC3339), man.Documents, len(man.Blobs))
	fmt.Fprintln(m.Stdout, "Văn bản trục nhận sau thời điểm sao lưu không có trong bản này: các đơn vị gửi sẽ gửi lại (xem README, Sao lưu và phục hồi).")
	fmt.Fprintf(m.Stdout, "Kiểm tra trước khi chạy: lthub verify --dir %s && lthub audit verify --dir %s\n", *dir, *dir)
	return nil
}

func (m *Main) verify(ctx context.Context, args []string) error {
	fs, af := m.adminFlagSet("verify")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("verify cần --dir D")
	}
	res, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.VerifyStoreResponse, error) {
		return api.VerifyStore(ctx, &lienthongv1.VerifyStoreRequest{})
	})
	if err != nil {
		return err
	}
	for _, n := range res.GetNotes() {
		fmt.Fprintln(m.Stdout, "ghi chú: "+n)
	}
	for _, p := range res.GetProblems() {
		fmt.Fprintln(m.Stdout, "LỖI: "+p)
	}
	if n := len(res.GetProblems()); n > 0 {
		return fmt.Errorf("kho của trục có %d lỗi (xem trên); khôi phục từ bản sao lưu gần nhất còn tốt (store damaged)", n)
	}
	fmt.Fprintf(m.Stdout, "Kho toàn vẹn: %d văn bản, %d tệp, %d byte đã đọc và khớp mã băm (store verified).\n",
		res.GetDocuments(), res.GetBlobs(), res.GetBytes())
	return nil
}

func (m *Main) audit(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return cliutil.Usagef("audit cần verify hoặc export")
	}
	verb := args[0]
	fs, af := m.adminFlagSet("audit " + verb)
	from := fs.String("from", "", "từ ngày YYYY-MM-DD hoặc thời điểm RFC 3339 (export)")
	to := fs.String("to", "", "đến trước ngày YYYY-MM-DD hoặc thời điểm RFC 3339 (export)")
	if _, err := cliutil.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("audit %s cần --dir D", verb)
	}
	if verb == "export" {
		if _, _, err := admin.ParseAuditPeriod(*from, *to); err != nil {
			return cliutil.Usagef("%v", err)
		}
		return withAdmin(ctx, af, func(api adminAPI) error {
			_, err := api.WriteAudit(ctx, *from, *to, m.Stdout)
			return err
		})
	}
	res, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.VerifyAuditResponse, error) {
		return api.VerifyAudit(ctx, &lienthongv1.VerifyAuditRequest{})
	})
	if err != nil {
		return err
	}
	if b := res.GetBroken(); b != nil {
		at := ""
		if b.GetTime() != nil {
			at = fmt.Sprintf(" (%s, %s)", b.GetTime().AsTime().Format(time.RFC3339), b.GetKind())
		}
		return fmt.Errorf("nhật ký kiểm toán bị sửa: bản ghi số %d%s: %s", b.GetSeq(), at, b.GetProblem())
	}
	head := "chưa có đầu chuỗi được ký (never signed)"
	if res.GetHeadSeq() > 0 {
		head = fmt.Sprintf("đầu chuỗi ký lúc %s đến bản ghi số %d", res.GetHeadTime().AsTime().Format(time.RFC3339), res.GetHeadSeq())
	}
	fmt.Fprintf(m.Stdout, "Nhật ký kiểm toán toàn vẹn: %d bản ghi; %s; %d bản ghi sau đầu chuỗi (audit chain verified).\n",
		res.GetEntries(), head, res.GetUnsigned())
	return nil
}

// WriteAudit streams the running hub's audit entries to w.
func (r remoteAdmin) WriteAudit(ctx context.Context, from, to string, w io.Writer) (int, error) {
	stream, err := r.c.ExportAudit(ctx, &lienthongv1.ExportAuditRequest{From: from, To: to})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		k, err := w.Write(chunk.GetJsonl())
		n += k
		if err != nil {
			return n, err
		}
	}
}
