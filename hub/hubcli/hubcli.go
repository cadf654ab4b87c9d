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
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/policy"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/quarantine"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/buildinfo"
	"github.com/lienthong/lienthong/internal/cliutil"
)

// Main is one invocation of lthub.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Stdin and Getenv default to the process's (the PKCS#12 password
	// may come from the terminal or $LTHUB_P12_PASSWORD).
	Stdin  io.Reader
	Getenv func(string) string
	// Ready, if set, is called with the running hub once serve listens
	// (tests use it to learn the port).
	Ready func(*hub.Hub)
}

const usage = `lthub — trục liên thông văn bản của tỉnh (provincial exchange hub)

Cách dùng / usage:
  lthub init   --dir D --province-name "tỉnh X" --province-code H53 --hub-name hub.example.gov.vn [--hub-ip IP] [--localhost]
                                            trục thật: CA của tỉnh, chứng thư TLS của trục cho các tên đã cho, danh bạ chỉ có UBND tỉnh
  lthub init   --dir D --sample             PKI thử nghiệm và tỉnh mẫu 13 cơ quan (demo, thử nghiệm)
  lthub init   ... --national               trục toàn quốc: danh bạ nhiều tỉnh, văn bản đi giữa các tỉnh
  lthub cert renew --dir D [--hub-name N ...] [--hub-ip IP ...]
                                            cấp lại chứng thư TLS của trục (không đụng đến cơ quan); khởi động lại trục
  lthub serve  --dir D --listen 127.0.0.1:7443 [--http 127.0.0.1:8080] [--https :8443] [--unsigned refuse|flag] [--indeterminate refuse|flag] [--revocation-fetch 5s] [--check]
               (--http: trang tổng hợp không mật khẩu, chỉ mở trên 127.0.0.1 hoặc sau reverse proxy;
                --https: trang tổng hợp chỉ cho chứng thư vận hành trong D/operators)
               (kill -HUP: đọc lại chứng thư gốc, CRL trong D/trust và chứng thư vận hành D/operators)
               (--scrub-rate BYTE/S: kiểm tra nền mã băm các tệp đã lưu, mặc định 4 MiB/s; 0 tắt)
               (giới hạn chống quá tải: --max-sends-per-agency, --max-receives-per-agency, --send-idle,
                --max-upload-bytes, --max-anonymous-conns, … xem lthub serve -h)
               (--check: kiểm tra toàn bộ cơ sở dữ liệu trước khi chạy; không có cờ này chỉ kiểm tra khi tệp không quá 512 MiB)
  lthub agency list     --dir D [--format table|json]   danh bạ cơ quan, kèm ngày hết hạn chứng thư
  lthub agency show     --dir D CODE
  lthub agency export   --dir D [--out F.csv|F.json]
  lthub agency import   --dir D F.csv|F.json [--dry-run]
                                            nhập danh bạ (cột code,name,kind,parent,status,contact); sai một dòng thì không đổi gì
  lthub agency add      --dir D CODE --name N --kind K [--parent P] [--contact C]
  lthub agency update   --dir D CODE [--name N] [--kind K] [--parent P] [--contact C] [--status S]
  lthub agency suspend  --dir D CODE        tạm ngừng liên thông một cơ quan (có hiệu lực ngay)
  lthub agency activate --dir D CODE        cho phép liên thông lại
  lthub agency issue    --dir D CODE --out DIR [--password-file F]
                                            cấp khóa và chứng thư cho nút (DIR cho ltnode --id, và DIR/CODE.p12)
  lthub agency bind     --dir D CODE CERT.pem   gắn chứng thư cơ quan đã có (do CA của tỉnh hoặc D/clientca cấp)
  lthub agency rotate   --dir D CODE --overlap-until YYYY-MM-DD (--out DIR | --cert CERT.pem)
                                            thay chứng thư: cũ và mới cùng dùng được đến hết ngày đó, sau đó chỉ mới
  lthub operator add    --dir D NAME [--out DIR] [--p12 F.p12]   thêm người vận hành (SIGHUP để áp dụng)
  lthub operator remove --dir D NAME
  lthub operator export --dir D --p12 F.p12 [--from DIR]          chứng thư vận hành dạng PKCS#12 cho trình duyệt
  lthub report --dir D [--period 2026 | --from YYYY-MM-DD --to YYYY-MM-DD]
               [--agency CODE | --under CODE] [--format table|csv|json] [--offline]
                                            báo cáo tỷ lệ văn bản điện tử, ký số, thời gian xử lý
  lthub counters check|rebuild --dir D
                                            đối chiếu / dựng lại bộ đếm báo cáo từ văn bản đã lưu
  lthub quarantine list --dir D [--json]    văn bản bị cách ly vì tệp lưu trên trục bị hỏng
  lthub backup  --dir D [--copy] OUT        sao lưu trục đang chạy (hoặc đã dừng) vào thư mục mới OUT
  lthub restore --dir D IN                  kiểm tra bản sao lưu IN và dựng lại thư mục trục D (mới hoặc trống)
  lthub verify  --dir D                     đọc lại mọi tệp đã lưu, đối chiếu mã băm và văn bản
  lthub audit verify --dir D                kiểm tra chuỗi nhật ký kiểm toán, chỉ ra bản ghi đầu tiên bị sửa
  lthub audit export --dir D [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                            xuất nhật ký kiểm toán (JSON Lines)
  lthub gateway add-system --dir D CODE [--id ID]   cấp X-SystemId/X-SecretKey cho phần mềm quản lý văn bản của một cơ quan
  lthub gateway remove-system --dir D ID            thu hồi
  lthub gateway list --dir D                        (cổng HTTP cho phần mềm: lthub serve --gateway :8444)
  lthub version                             phiên bản của chương trình (module version, VCS revision)
  (agency list|show|export|import|add|update|suspend|activate|bind|issue|rotate, report, counters, quarantine, backup, verify, audit: khi trục đang chạy thì gọi trục bằng chứng thư vận hành D/operator,
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
	// What this command changes in a stopped hub's store is recorded in
	// its audit log as done by the local user.
	ctx = audit.WithActor(ctx, localOperator())
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
	case "backup":
		return m.backup(ctx, args[1:])
	case "restore":
		return m.restore(ctx, args[1:])
	case "verify":
		return m.verify(ctx, args[1:])
	case "audit":
		return m.audit(ctx, args[1:])
	case "cert":
		return m.cert(ctx, args[1:])
	case "operator":
		return m.operator(ctx, args[1:])
	case "version":
		fmt.Fprintln(m.Stdout, "lthub "+buildinfo.Read().String())
		return nil
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
	sample := fs.Bool("sample", false, "tỉnh mẫu 13 cơ quan với chứng thư và khóa cho từng cơ quan (chỉ để thử nghiệm, demo)")
	provName := fs.String("province-name", "", "tên tỉnh, vd \"tỉnh Bến Tre\"")
	provCode := fs.String("province-code", "", "mã cấp 1 của tỉnh (nhóm XNN trong mã định danh), vd H53")
	var names, ips cliutil.List
	fs.Var(&names, "hub-name", "tên miền của trục trong chứng thư TLS, vd hub.example.gov.vn (lặp lại được)")
	fs.Var(&ips, "hub-ip", "địa chỉ IP của trục trong chứng thư TLS (lặp lại được)")
	localhost := fs.Bool("localhost", false, "thêm localhost, 127.0.0.1 và ::1 vào chứng thư của trục (luôn có với --sample)")
	national := fs.Bool("national", false, "trục toàn quốc: danh bạ được chứa nhiều tỉnh và văn bản đi giữa các tỉnh (ghi D/hub/national; với --sample thêm tỉnh mẫu thứ hai H54)")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return cliutil.Usagef("init cần --dir D")
	}
	if !*sample && *provName == "" && *provCode == "" && len(names)+len(ips) == 0 && !*localhost {
		// `lthub init --dir D` alone keeps meaning what the design's
		// command contract says: the development PKI and sample province.
		*sample = true
		fmt.Fprintln(m.Stderr, "lthub: không có --province-code: tạo tỉnh mẫu để thử nghiệm, như --sample; trục thật dùng --province-name, --province-code, --hub-name (no province given: the development sample)")
	}
	hosts, err := provision.HubHosts(names, ips, *localhost || *sample)
	if err != nil {
		return cliutil.Usagef("%s", lienthong.ErrorMessage(err))
	}
	opts := provision.Options{HubHosts: hosts, National: *national}
	switch {
	case *sample && (*provName != "" || *provCode != ""):
		return cliutil.Usagef("--sample tạo tỉnh mẫu H53; không dùng cùng --province-name/--province-code")
	case !*sample && (*provName == "" || *provCode == ""):
		return cliutil.Usagef("init cần --province-name và --province-code (vd --province-code H53), hoặc --sample cho tỉnh mẫu thử nghiệm")
	case !*sample && len(names)+len(ips) == 0:
		return cliutil.Usagef("init cần ít nhất một --hub-name (tên miền các nút dùng để gọi trục) hoặc --hub-ip")
	case !*sample:
		opts.Province = &provision.Province{Code: *provCode, Name: *provName}
	}
	agencies, err := hub.Init(ctx, *dir, opts)
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
	cpuProfile := fs.String("cpu-profile", "", "ghi hồ sơ CPU (pprof) của toàn bộ thời gian chạy vào `FILE`, để đo hiệu năng (CPU profile of the whole run, for performance work)")
	ltv := fs.Bool("ltv", false, "gửi kèm mỗi văn bản hợp lệ dữ liệu kiểm tra dài hạn (chuỗi chứng thư, CRL, OCSP) mà trục đã dùng, để văn bản vẫn kiểm tra được sau khi chứng thư hết hạn (PAdES B-LT)")
	metricsAddr := fs.String("metrics-listen", "", "địa chỉ HTTP chỉ cho /metrics, /healthz, /readyz `HOST:PORT` (Prometheus; nên để 127.0.0.1, xem docs/operations.md)")
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
	h, err := hub.Open(ctx, hub.Config{Dir: *dir, Listen: *listen, HTTP: *httpAddr, HTTPS: *httpsAddr, MetricsListen: *metricsAddr, ProvinceName: *provinceName, Limits: lim, Logger: logger,
		ShutdownGrace: *grace, Unsigned: up, ScrubRate: *scrubRate, Overload: overload,
		Indeterminate: ip, RevocationFetch: *revFetch, LTV: *ltv, Store: st,
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
	if a := h.MetricsAddr(); a != "" {
		fmt.Fprintf(m.Stdout, "lthub: metrics on http://%s/metrics\n", a)
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
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	return h.Serve(ctx)
}

// startCPUProfile profiles this process into path until the returned
// func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, cliutil.Usagef("--cpu-profile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Stdio returns a Main writing to the process's standard streams.
func Stdio() *Main { return &Main{Stdout: os.Stdout, Stderr: os.Stderr} }
