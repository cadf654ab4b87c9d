// Package hubcli is the lthub command that the provincial IT centre runs:
// create a hub directory, serve, and keep the agency directory. cmd/lthub
// only calls Main.Run; end-to-end tests run the same code.
package hubcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/policy"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/quarantine"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Main is one invocation of lthub.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Ready, if set, is called with the running hub once serve listens
	// (tests use it to learn the port).
	Ready func(*hub.Hub)
}

const usage = `lthub — trục liên thông văn bản của tỉnh (provincial exchange hub)

Cách dùng / usage:
  lthub init   --dir D                      tạo PKI thử nghiệm và danh bạ mẫu
  lthub serve  --dir D --listen 127.0.0.1:7443 [--http 127.0.0.1:8080] [--https :8443] [--unsigned refuse|flag] [--indeterminate refuse|flag] [--revocation-fetch 5s] [--check]
               (--http: trang tổng hợp không mật khẩu, chỉ mở trên 127.0.0.1 hoặc sau reverse proxy;
                --https: trang tổng hợp chỉ cho chứng thư vận hành trong D/operators)
               (kill -HUP: đọc lại chứng thư gốc, CRL trong D/trust và chứng thư vận hành D/operators)
               (--scrub-rate BYTE/S: kiểm tra nền mã băm các tệp đã lưu, mặc định 4 MiB/s; 0 tắt)
               (giới hạn chống quá tải: --max-sends-per-agency, --max-receives-per-agency, --send-idle,
                --max-upload-bytes, --max-anonymous-conns, … xem lthub serve -h)
               (--check: kiểm tra toàn bộ cơ sở dữ liệu trước khi chạy; không có cờ này chỉ kiểm tra khi tệp không quá 512 MiB)
  lthub agency list     --dir D             danh bạ cơ quan
  lthub agency suspend  --dir D CODE        tạm ngừng liên thông một cơ quan (có hiệu lực ngay)
  lthub agency activate --dir D CODE        cho phép liên thông lại
  lthub report --dir D [--period 2026 | --from YYYY-MM-DD --to YYYY-MM-DD]
               [--agency CODE] [--format table|csv|json] [--offline]
                                            báo cáo tỷ lệ văn bản điện tử, ký số, thời gian xử lý
  lthub counters check|rebuild --dir D
                                            đối chiếu / dựng lại bộ đếm báo cáo từ văn bản đã lưu
  lthub quarantine list --dir D [--json]    văn bản bị cách ly vì tệp lưu trên trục bị hỏng
  lthub gateway add-system --dir D CODE [--id ID]   cấp X-SystemId/X-SecretKey cho phần mềm quản lý văn bản của một cơ quan
  lthub gateway remove-system --dir D ID            thu hồi
  lthub gateway list --dir D                        (cổng HTTP cho phần mềm: lthub serve --gateway :8444)
  (agency, report, counters, quarantine: khi trục đang chạy thì gọi trục bằng chứng thư vận hành D/operator,
   khi trục dừng thì đọc thẳng cơ sở dữ liệu; --hub HOST:PORT chỉ định trục, --offline buộc đọc thẳng)
`

// Run executes lthub with args (without the program name) and returns the
// exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	err := m.run(ctx, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(m.Stderr, "lthub: %s\n", cliutil.Describe(err))
	}
	return cliutil.Code(err)
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return cliutil.Usagef("thiếu lệnh (missing verb)")
	}
	switch args[0] {
	case "init":
		return m.init(ctx, args[1:])
	case "serve":
		return m.serve(ctx, args[1:])
	case "agency":
		return m.agency(ctx, args[1:])
	case "report":
		return m.report(ctx, args[1:])
	case "counters":
		return m.counters(ctx, args[1:])
	case "quarantine":
		return m.quarantine(ctx, args[1:])
	case "gateway":
		return m.gatewayVerb(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return cliutil.Usagef("lệnh không rõ %q (unknown verb)", args[0])
	}
}

func (m *Main) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("lthub "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	dir := fs.String("dir", "", "thư mục của trục (hub directory)")
	return fs, dir
}

func (m *Main) init(ctx context.Context, args []string) error {
	fs, dir := m.flags("init")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return cliutil.Usagef("init cần --dir D")
	}
	agencies, err := hub.Init(ctx, *dir, provision.Options{})
	if err != nil {
		return err
	}
	for _, a := range agencies {
		fmt.Fprintln(m.Stdout, a.GetCode())
	}
	return nil
}

func (m *Main) serve(ctx context.Context, args []string) error {
	fs, dir := m.flags("serve")
	listen := fs.String("listen", "127.0.0.1:7443", "địa chỉ gRPC `HOST:PORT`")
	httpAddr := fs.String("http", "", "địa chỉ HTTP cho /healthz và trang tổng hợp `HOST:PORT` (tùy chọn; chỉ nên mở trên 127.0.0.1)")
	lim := exchange.DefaultLimits()
	fs.Int64Var(&lim.MaxFileSize, "max-file-size", lim.MaxFileSize, "dung lượng tối đa mỗi tệp (byte)")
	fs.IntVar(&lim.MaxFiles, "max-files", lim.MaxFiles, "số tệp tối đa mỗi văn bản")
	fs.Int64Var(&lim.MaxDocumentSize, "max-document-size", lim.MaxDocumentSize, "tổng dung lượng tối đa mỗi văn bản (byte)")
	httpsAddr := fs.String("https", "", "địa chỉ HTTPS cho /healthz và trang tổng hợp `HOST:PORT`; trang chỉ mở với chứng thư vận hành (D/operators)")
	provinceName := fs.String("province-name", "", "tên tỉnh trên trang tổng hợp, vd \"Tỉnh Bến Tre\"")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "thời gian chờ các lần gửi dở dang khi dừng")
	logLevel := fs.String("log-level", "info", "debug|info|warn|error")
	unsigned := fs.String("unsigned", "refuse", "văn bản chưa ký số: refuse (từ chối) hoặc flag (nhận và đánh dấu)")
	scrubRate := fs.Int64("scrub-rate", quarantine.DefaultScrubRate, "tốc độ đọc kiểm tra tệp lưu trên trục (byte/giây); 0: không kiểm tra nền")
	overload := limit.Defaults()
	overload.AddFlags(fs)
	indeterminate := fs.String("indeterminate", "refuse", "văn bản có chữ ký chưa xác định được (INDETERMINATE, vd CRL hết hạn): refuse (từ chối) hoặc flag (nhận và đánh dấu)")
	revFetch := fs.Duration("revocation-fetch", 0, "tải OCSP/CRL theo địa chỉ trong chứng thư, tối đa thời gian này cho mỗi văn bản (0: không tải, chỉ dùng D/trust/crls và dữ liệu trong PDF)")
	gatewayAddr := fs.String("gateway", "", "địa chỉ HTTPS `HOST:PORT` của cổng kết nối cho phần mềm quản lý văn bản (sendEdoc, getReceivedEdocList, …); cấp tài khoản bằng lthub gateway add-system")
	gatewayPlain := fs.Bool("gateway-plain-loopback", false, "cổng kết nối dùng HTTP thường, chỉ trên 127.0.0.1 (sau reverse proxy TLS, hoặc thử nghiệm)")
	gatewaySHA1 := fs.Bool("gateway-allow-sha1", false, "nhận gói tin edXML ký bằng rsa-sha1 (phần mềm cũ); mặc định từ chối")
	checkAll := fs.Bool("check", false, "kiểm tra toàn bộ cơ sở dữ liệu trước khi chạy, dù lớn đến đâu (mặc định chỉ kiểm tra khi tệp không quá 512 MiB)")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return cliutil.Usagef("serve cần --dir D")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return cliutil.Usagef("--log-level %q: %v", *logLevel, err)
	}
	up, err := policy.ParseUnsigned(*unsigned)
	if err != nil {
		return cliutil.Usagef("--unsigned: %v", err)
	}
	ip, err := policy.ParseIndeterminate(*indeterminate)
	if err != nil {
		return cliutil.Usagef("--indeterminate: %v", err)
	}
	if *revFetch < 0 {
		return cliutil.Usagef("--revocation-fetch %v: cần một khoảng thời gian dương, vd 5s", *revFetch)
	}
	logger := slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	var st store.Options
	if *checkAll {
		st.CheckUpTo = math.MaxInt64
	}
	h, err := hub.Open(ctx, hub.Config{Dir: *dir, Listen: *listen, HTTP: *httpAddr, HTTPS: *httpsAddr, ProvinceName: *provinceName, Limits: lim, Logger: logger,
		ShutdownGrace: *grace, Unsigned: up, ScrubRate: *scrubRate, Overload: overload,
		Indeterminate: ip, RevocationFetch: *revFetch, Store: st,
		Gateway: *gatewayAddr, GatewayPlainLoopback: *gatewayPlain, GatewayAllowSHA1: *gatewaySHA1})
	if err != nil {
		return err
	}
	// SIGHUP re-reads trust roots and CRLs without a restart.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	served := make(chan struct{})
	defer func() { signal.Stop(hup); close(served) }()
	go func() {
		for {
			select {
			case <-hup:
				if err := h.ReloadTrust(); err != nil {
					logger.Error("trust reload failed; keeping the previous trust store", "error", err)
				}
			case <-served:
				return
			}
		}
	}()
	fmt.Fprintf(m.Stdout, "lthub: serving on %s\n", h.Addr())
	if a := h.HTTPAddr(); a != "" {
		fmt.Fprintf(m.Stdout, "lthub: dashboard on http://%s/\n", a)
	}
	if a := h.HTTPSAddr(); a != "" {
		fmt.Fprintf(m.Stdout, "lthub: dashboard on https://%s/ (operator certificate)\n", a)
	}
	if a := h.GatewayAddr(); a != "" {
		scheme := "https"
		if *gatewayPlain {
			scheme = "http"
		}
		fmt.Fprintf(m.Stdout, "lthub: e-office gateway on %s://%s/\n", scheme, a)
	}
	if m.Ready != nil {
		m.Ready(h)
	}
	return h.Serve(ctx)
}

func (m *Main) agency(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return cliutil.Usagef("agency cần list, suspend hoặc activate")
	}
	verb := args[0]
	fs, af := m.adminFlagSet("agency " + verb)
	pos, err := cliutil.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("agency %s cần --dir D", verb)
	}
	switch verb {
	case "list":
		resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.ListDirectoryResponse, error) {
			return api.ListDirectory(ctx, &lienthongv1.ListDirectoryRequest{})
		})
		if err != nil {
			return err
		}
		agencies := resp.GetAgencies()
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MÃ\tTÊN\tLOẠI\tTRẠNG THÁI")
		for _, a := range agencies {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.GetCode(), a.GetName(), directory.KindName(a.GetKind()), statusWord(a.GetStatus()))
		}
		return tw.Flush()
	case "suspend", "activate":
		if len(pos) != 1 {
			return cliutil.Usagef("agency %s cần đúng một mã cơ quan", verb)
		}
		want := lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE
		if verb == "suspend" {
			want = lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED
		}
		resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.SetAgencyStatusResponse, error) {
			return api.SetAgencyStatus(ctx, &lienthongv1.SetAgencyStatusRequest{Code: pos[0], Status: want})
		})
		if err != nil {
			return err
		}
		a := resp.GetAgency()
		fmt.Fprintf(m.Stdout, "%s (%s): %s\n", a.GetCode(), a.GetName(), statusWord(a.GetStatus()))
		return nil
	default:
		return cliutil.Usagef("agency: lệnh không rõ %q", verb)
	}
}

func statusWord(s lienthongv1.AgencyStatus) string {
	if s == lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
		return "hoạt động"
	}
	return "tạm ngừng"
}

// Stdio returns a Main writing to the process's standard streams.
func Stdio() *Main { return &Main{Stdout: os.Stdout, Stderr: os.Stderr} }
