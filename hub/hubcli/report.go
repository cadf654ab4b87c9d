package hubcli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/admin"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// adminFlags are the flags of the verbs that talk to the admin service of
// a running hub, or read a stopped hub's store with --offline.
type adminFlags struct {
	dir     *string
	hub     *string
	offline *bool
}

func (m *Main) adminFlagSet(name string) (*flag.FlagSet, adminFlags) {
	fs, dir := m.flags(name)
	return fs, adminFlags{
		dir:     dir,
		hub:     fs.String("hub", "", "địa chỉ gRPC của trục `HOST:PORT` (mặc định: trục đang chạy trên D, hoặc đọc thẳng cơ sở dữ liệu khi trục dừng)"),
		offline: fs.Bool("offline", false, "đọc trực tiếp cơ sở dữ liệu (trục phải đang dừng)"),
	}
}

// adminAPI is the admin service as the verbs call it: through gRPC on a
// running hub, or the same service over a stopped hub's store.
type adminAPI interface {
	Report(context.Context, *lienthongv1.ReportRequest) (*lienthongv1.ReportResponse, error)
	CheckCounters(context.Context, *lienthongv1.CheckCountersRequest) (*lienthongv1.CheckCountersResponse, error)
	ListDirectory(context.Context, *lienthongv1.ListDirectoryRequest) (*lienthongv1.ListDirectoryResponse, error)
	SetAgencyStatus(context.Context, *lienthongv1.SetAgencyStatusRequest) (*lienthongv1.SetAgencyStatusResponse, error)
	ListQuarantined(context.Context, *lienthongv1.ListQuarantinedRequest) (*lienthongv1.ListQuarantinedResponse, error)
	opsAPI
	ApplyDirectory(context.Context, *lienthongv1.ApplyDirectoryRequest) (*lienthongv1.ApplyDirectoryResponse, error)
	BindCertificate(context.Context, *lienthongv1.BindCertificateRequest) (*lienthongv1.BindCertificateResponse, error)
}

// remoteAdmin calls a running hub's admin service.
type remoteAdmin struct {
	c lienthongv1.AdminServiceClient
}

func (r remoteAdmin) Report(ctx context.Context, req *lienthongv1.ReportRequest) (*lienthongv1.ReportResponse, error) {
	return r.c.Report(ctx, req)
}

func (r remoteAdmin) CheckCounters(ctx context.Context, req *lienthongv1.CheckCountersRequest) (*lienthongv1.CheckCountersResponse, error) {
	return r.c.CheckCounters(ctx, req)
}

func (r remoteAdmin) ListDirectory(ctx context.Context, req *lienthongv1.ListDirectoryRequest) (*lienthongv1.ListDirectoryResponse, error) {
	return r.c.ListDirectory(ctx, req)
}

func (r remoteAdmin) SetAgencyStatus(ctx context.Context, req *lienthongv1.SetAgencyStatusRequest) (*lienthongv1.SetAgencyStatusResponse, error) {
	return r.c.SetAgencyStatus(ctx, req)
}

func (r remoteAdmin) ListQuarantined(ctx context.Context, req *lienthongv1.ListQuarantinedRequest) (*lienthongv1.ListQuarantinedResponse, error) {
	return r.c.ListQuarantined(ctx, req)
}

func (r remoteAdmin) ApplyDirectory(ctx context.Context, req *lienthongv1.ApplyDirectoryRequest) (*lienthongv1.ApplyDirectoryResponse, error) {
	return r.c.ApplyDirectory(ctx, req)
}

func (r remoteAdmin) BindCertificate(ctx context.Context, req *lienthongv1.BindCertificateRequest) (*lienthongv1.BindCertificateResponse, error) {
	return r.c.BindCertificate(ctx, req)
}

// localAdmin is the admin service over st, the store of the stopped hub
// of dir, with the directory as stored.
func localAdmin(ctx context.Context, hubDir string, st *store.Store) (*admin.Service, error) {
	var dir atomic.Pointer[directory.Directory]
	national, err := provision.Layout{Dir: hubDir}.National()
	if err != nil {
		return nil, err
	}
	load := func(ctx context.Context) error {
		agencies, err := st.Agencies(ctx)
		if err != nil {
			return err
		}
		d, err := directory.New(agencies, directory.National(national))
		if err != nil {
			return fmt.Errorf("loading directory: %w", err)
		}
		dir.Store(d)
		return nil
	}
	if err := load(ctx); err != nil {
		return nil, err
	}
	pool, err := provision.ClientCAPool(provision.Layout{Dir: hubDir})
	if err != nil {
		return nil, err
	}
	reg := registry.New(registry.Config{Store: st, Reload: load, ClientCAs: pool, National: national})
	return admin.New(admin.Config{Store: st, Directory: &dir, Registry: reg, Maintenance: st, HubDir: hubDir}), nil
}

// withAdmin runs fn against the admin service of the hub serving af.dir,
// or, when it is stopped, against the same service over its store: --hub
// forces the first, --offline the second. By default it calls the hub at
// the address serve left in the directory, and opens the store when there
// is none or nothing answers there (a hub killed without cleaning up).
func withAdmin(ctx context.Context, af adminFlags, fn func(adminAPI) error) error {
	l := provision.Layout{Dir: *af.dir}
	call := func(addr string) error {
		client, closeConn, err := dialAdmin(*af.dir, addr)
		if err != nil {
			return err
		}
		defer closeConn()
		return fn(remoteAdmin{client})
	}
	if *af.hub != "" {
		return call(*af.hub)
	}
	if !*af.offline {
		if raw, err := os.ReadFile(l.Serving()); err == nil {
			err := call(strings.TrimSpace(string(raw)))
			if status.Code(err) != codes.Unavailable {
				return err
			}
		}
	}
	st, err := hub.OpenStore(*af.dir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	local, err := localAdmin(ctx, *af.dir, st)
	if err != nil {
		return err
	}
	return fn(local)
}

// adminCall is withAdmin for one call with a result.
func adminCall[T any](ctx context.Context, af adminFlags, call func(adminAPI) (T, error)) (T, error) {
	var out T
	err := withAdmin(ctx, af, func(api adminAPI) error {
		var err error
		out, err = call(api)
		return err
	})
	return out, err
}

// dialAdmin connects to the hub's admin service with the operator
// identity of the hub directory (D/operator).
func dialAdmin(dir, addr string) (lienthongv1.AdminServiceClient, func(), error) {
	l := provision.Layout{Dir: dir}
	cert, err := tls.LoadX509KeyPair(filepath.Join(l.Operator(), "cert.pem"), filepath.Join(l.Operator(), "key.pem"))
	if err != nil {
		return nil, nil, fmt.Errorf("loading the operator certificate from %s: %w", l.Operator(), err)
	}
	roots, err := pki.LoadCertificates(l.CACert())
	if err != nil {
		return nil, nil, fmt.Errorf("loading the province root: %w", err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, cliutil.Usagef("--hub %q: %v", addr, err)
	}
	// lthub runs beside the hub and may reach it by an address its
	// certificate does not name (127.0.0.1 for hub.example.gov.vn): it
	// checks the certificate against the hub's own names instead.
	if hubCerts, err := pki.LoadCertificates(l.HubCert()); err == nil {
		if names := provision.CertHosts(hubCerts[0]); len(names) > 0 && !slices.Contains(names, host) {
			host = names[0]
		}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12,
	})),
		// A national hub's report and directory (over 100,000 agencies)
		// are larger than gRPC's 4 MiB default; the operator reads them
		// whole.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxAdminResponse)))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to hub %s: %w", addr, err)
	}
	return lienthongv1.NewAdminServiceClient(conn), func() { conn.Close() }, nil
}

// maxAdminResponse is the largest admin response lthub accepts: a
// national report is about 100 bytes per agency.
const maxAdminResponse = 256 << 20

func (m *Main) report(ctx context.Context, args []string) error {
	fs, af := m.adminFlagSet("report")
	period := fs.String("period", "", "kỳ báo cáo: YYYY, YYYY-MM hoặc YYYY-MM-DD (mặc định: năm nay)")
	from := fs.String("from", "", "từ ngày YYYY-MM-DD")
	to := fs.String("to", "", "đến ngày YYYY-MM-DD")
	agency := fs.String("agency", "", "chỉ một cơ quan (mã định danh)")
	under := fs.String("under", "", "chỉ một cơ quan và các cơ quan cấp dưới, vd một tỉnh của trục toàn quốc: 000.00.00.H31")
	format := fs.String("format", "table", "table|csv|json")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("report cần --dir D")
	}
	write := map[string]func(*compliance.Report) error{
		"table": func(r *compliance.Report) error { return compliance.WriteTable(m.Stdout, r) },
		"csv":   func(r *compliance.Report) error { return compliance.WriteCSV(m.Stdout, r) },
		"json":  func(r *compliance.Report) error { return compliance.WriteJSON(m.Stdout, r) },
	}[*format]
	if write == nil {
		return cliutil.Usagef("--format %q: dùng table, csv hoặc json", *format)
	}
	if *period != "" && (*from != "" || *to != "") {
		return cliutil.Usagef("dùng --period hoặc --from/--to, không dùng cả hai")
	}
	if (*from == "") != (*to == "") {
		return cliutil.Usagef("--from và --to phải đi cùng nhau")
	}
	pFrom, pTo := *period, ""
	if *from != "" {
		pFrom, pTo = *from, *to
	}
	resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.ReportResponse, error) {
		return api.Report(ctx, &lienthongv1.ReportRequest{From: pFrom, To: pTo, Agency: *agency, Under: *under})
	})
	if err != nil {
		return err
	}
	rep := compliance.FromProto(resp)
	return write(rep)
}

func (m *Main) counters(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "rebuild") {
		return cliutil.Usagef("counters cần check hoặc rebuild")
	}
	rebuild := args[0] == "rebuild"
	fs, af := m.adminFlagSet("counters " + args[0])
	if _, err := cliutil.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("counters %s cần --dir D", args[0])
	}
	res, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.CheckCountersResponse, error) {
		return api.CheckCounters(ctx, &lienthongv1.CheckCountersRequest{Rebuild: rebuild})
	})
	if err != nil {
		return err
	}
	for _, d := range res.GetDifferences() {
		fmt.Fprintln(m.Stdout, d)
	}
	switch {
	case len(res.GetDifferences()) == 0:
		fmt.Fprintf(m.Stdout, "Bộ đếm khớp với số liệu đếm lại: %d bản ghi (counters agree with a recount).\n", res.GetRecords())
		return nil
	case res.GetRebuilt():
		fmt.Fprintf(m.Stdout, "Đã dựng lại bộ đếm từ văn bản đã lưu: %d bản ghi (counters rebuilt).\n", res.GetRecords())
		return nil
	default:
		return fmt.Errorf("bộ đếm lệch với số liệu đếm lại ở %d bản ghi; chạy `lthub counters rebuild` (counters differ from a recount)", len(res.GetDifferences()))
	}
}
