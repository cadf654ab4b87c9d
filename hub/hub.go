// Package hub assembles the provincial exchange hub: it opens the store,
// loads the directory and the hub's certificate, and serves the Exchange
// service over mutual TLS with a gRPC health service, until its context
// ends; then it shuts down gracefully, letting in-flight sends finish.
//
// cmd/lthub is a thin wrapper around this package, and end-to-end tests
// run the same code.
package hub

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/admin"
	"github.com/lienthong/lienthong/hub/dashboard"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/gateway"
	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/metrics"
	"github.com/lienthong/lienthong/hub/policy"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/quarantine"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/receipt"
	"github.com/lienthong/lienthong/signing/trust"
)

// Config configures a hub.
type Config struct {
	// Dir is the hub directory made by Init.
	Dir string
	// Listen is the gRPC address, e.g. "127.0.0.1:7443"; port 0 picks one.
	Listen string
	// HTTP, if set, serves /healthz and the compliance dashboard over
	// plain HTTP on this address: keep it on loopback (or behind the IT
	// centre's reverse proxy), since anyone who reaches it sees the
	// figures.
	HTTP string
	// MetricsListen, if set, serves /metrics, /healthz and /readyz (and
	// nothing else) over plain HTTP on this address, for a Prometheus
	// that must not reach the dashboard. /metrics is also on HTTP.
	MetricsListen string
	// HTTPS, if set, serves the same over TLS with the hub's certificate,
	// and the dashboard only to clients presenting an operator
	// certificate (D/operators), as the admin service does.
	HTTPS string
	// ProvinceName is the title of the dashboard.
	ProvinceName string
	// Limits bound one document's files.
	Limits exchange.Limits
	// Overload bounds connections and streams, so that no agency or
	// stranger can exhaust the hub (zero fields: limit.Defaults).
	Overload limit.Config
	Logger   *slog.Logger
	Now      func() time.Time
	// ShutdownGrace bounds how long a graceful stop waits for in-flight
	// sends before cutting them off.
	ShutdownGrace time.Duration
	Store         store.Options
	// Unsigned says whether unsigned documents are refused (default) or
	// accepted and flagged.
	Unsigned policy.Unsigned
	// ScrubRate bounds the background check of the stored files (bytes
	// read per second); 0 means no background check. ScrubEvery is the
	// time between the starts of two passes (0: 24 hours).
	ScrubRate  int64
	ScrubEvery time.Duration
	// Indeterminate says whether documents with an INDETERMINATE
	// signature are refused (default) or accepted and flagged.
	Indeterminate policy.Indeterminate
	// Gateway, if set, serves the HTTP gateway for e-office products
	// (hub/gateway) on this address, over TLS with the hub's certificate.
	Gateway string
	// GatewayPlainLoopback serves the gateway over plain HTTP instead,
	// which Open allows only on a loopback address: for tests, or behind
	// a TLS-terminating reverse proxy on the same machine.
	GatewayPlainLoopback bool
	// GatewayAllowSHA1 accepts edXML packages signed with rsa-sha1
	// (legacy senders); by default they are refused.
	GatewayAllowSHA1 bool
	// RevocationFetch, if positive, lets the hub fetch the OCSP responses
	// and CRLs that certificates name, spending at most this long per
	// document; zero uses only D/trust/crls and what the PDFs carry.
	RevocationFetch time.Duration
	// LTV makes the hub hand each recipient, with every TOTAL-PASSED PDF,
	// the validation material its verification used, as an incremental
	// update the recipient appends (PAdES B-LT), so the document stays
	// verifiable after its certificates expire or their CRLs go away.
	LTV bool
	// AuditSignEvery is how often the hub signs the head of the audit
	// chain while it serves (it also signs at shutdown); 0 means every 5
	// minutes.
	AuditSignEvery time.Duration
}

// Hub is a running hub.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	store  *store.Store
	dir    atomic.Pointer[directory.Directory]
	grpc   *grpc.Server
	health *health.Server
	lis    net.Listener
	// web are the HTTP and HTTPS servers, when configured.
	web   []webServer
	trust *trust.Store
	// operators holds the SHA-256 of the certificates allowed on the
	// admin service.
	operators atomic.Pointer[map[[32]byte]bool]
	// operatorCerts are the certificates of D/operators, for their expiry.
	operatorCerts atomic.Pointer[[]*x509.Certificate]
	admin         *admin.Service
	// auth authorises every call; its Invalidate makes open Receive
	// streams re-check their callers after a trust or directory reload.
	auth     *exchange.Authenticator
	stopping chan struct{}

	// quarantine takes damaged documents out of delivery and scrubs the
	// blobs in the background while Serve runs.
	quarantine *quarantine.Service

	// signer and leaf sign the audit chain's head.
	signer crypto.Signer
	leaf   *x509.Certificate
	// metrics counts what the exchange and the store do and answers
	// /metrics and /readyz.
	metrics *metrics.Metrics
	// certs are the certificates whose expiry is exported.
	certs []metrics.Certificate

	// national: the directory may hold several provinces
	// (provision.Layout.National, read at Open).
	national bool
}

// Init creates a new hub directory with a development PKI and the sample
// province, and returns the agencies created, the province first.
func Init(ctx context.Context, dir string, opts provision.Options) ([]*lienthongv1.Agency, error) {
	l := provision.Layout{Dir: dir}
	st, err := store.Open(l.Data(), store.Options{})
	if err != nil {
		return nil, fmt.Errorf("opening hub store: %w", err)
	}
	opts.PutAgency = st.PutAgencies
	agencies, err := provision.Init(ctx, dir, opts)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing hub store: %w", cerr)
	}
	return agencies, err
}

// Open prepares a hub: loads certificates, opens the store (checking its
// database, see store.Options.CheckUpTo) and directory, and binds the
// listeners. Serve runs it. Its errors say in one line what is wrong and
// what the operator can do.
func Open(ctx context.Context, cfg Config) (_ *Hub, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	if cfg.Limits == (exchange.Limits{}) {
		cfg.Limits = exchange.DefaultLimits()
	}
	cfg.Overload = cfg.Overload.WithDefaults()
	if m := cfg.Overload.MaxUploadBytes; m >= 0 && m < cfg.Limits.MaxDocumentSize {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"--max-upload-bytes %d nhỏ hơn --max-document-size %d: văn bản lớn nhất sẽ không bao giờ gửi được (upload budget below the largest document allowed)",
			m, cfg.Limits.MaxDocumentSize)
	}
	if cfg.Store.Logger == nil {
		cfg.Store.Logger = cfg.Logger
	}
	l := provision.Layout{Dir: cfg.Dir}
	// h is not the result: a failure returns nil, and the cleanup needs h.
	h := &Hub{cfg: cfg, log: cfg.Logger, stopping: make(chan struct{})}
	defer func() {
		if err != nil {
			h.closeResources()
		}
	}()

	if err := checkDir(cfg.Dir); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(l.HubCert(), l.HubKey())
	if err != nil {
		return nil, &StartError{Err: err, Message: fmt.Sprintf(
			"%s không phải thư mục trục đã khởi tạo (không đọc được chứng thư của trục: %v): kiểm tra --dir, hoặc chạy `lthub init --dir %s` (not a hub directory)", cfg.Dir, err, cfg.Dir)}
	}
	leaf := cert.Leaf
	// Agencies' and operators' TLS certificates chain to the province CA
	// or a configured client CA; document signatures are checked against
	// the trust store (D/trust), which is another matter.
	pool, err := provision.ClientCAPool(l)
	if err != nil {
		return nil, err
	}
	// The key the TLS pair already holds signs the audit chain's head.
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("the hub key %s cannot sign (%T)", l.HubKey(), cert.PrivateKey)
	}
	h.signer, h.leaf = signer, leaf
	if cfg.Store.Now == nil {
		cfg.Store.Now = cfg.Now
	}

	h.certs = append(h.certs, metrics.Certificate{Role: "hub", Name: leaf.Subject.CommonName, NotAfter: leaf.NotAfter})
	if cas, err := pki.LoadCertificates(l.CACert()); err == nil {
		for _, r := range cas {
			h.certs = append(h.certs, metrics.Certificate{Role: "province_ca", Name: r.Subject.CommonName, NotAfter: r.NotAfter})
		}
	}
	h.metrics = metrics.New(metrics.Config{
		Queues: func(ctx context.Context) ([]store.QueueStat, error) {
			if h.store == nil {
				return nil, store.ErrClosed
			}
			return h.store.Queues(ctx)
		},
		Level: func(code string) string {
			if a, ok := h.dir.Load().Lookup(code); ok {
				return directory.KindName(a.GetKind())
			}
			return "unknown"
		},
		DataDir:      l.Data(),
		Certificates: h.certificates,
		Store: func() error {
			if h.store == nil {
				return store.ErrClosed
			}
			return h.store.Ready()
		},
		Stopping: h.stopping,
		Now:      cfg.Now,
	})
	cfg.Store.Observer = h.metrics
	if h.store, err = openStore(cfg.Dir, cfg.Store); err != nil {
		return nil, err
	}
	if h.national, err = l.National(); err != nil {
		return nil, err
	}
	if err := h.ReloadDirectory(ctx); err != nil {
		return nil, err
	}

	if h.trust, err = trust.Load(l.Trust()); err != nil {
		if roots, _ := filepath.Glob(filepath.Join(l.Trust(), "roots", "*.pem")); len(roots) == 0 {
			return nil, &StartError{Err: err, Message: fmt.Sprintf(
				"kho tin cậy cho chữ ký số văn bản %s chưa có chứng thư gốc nào: chép chứng thư gốc của CA chứng thực chữ ký số (Ban Cơ yếu Chính phủ, CA công cộng được cấp phép) vào đó, CRL vào %s, rồi chạy lại (no trust roots for document signatures)",
				filepath.Join(l.Trust(), "roots"), filepath.Join(l.Trust(), "crls"))}
		}
		return nil, fmt.Errorf("loading trust store: %w", err)
	}
	h.logTrustNotes()
	if err := h.loadOperators(); err != nil {
		return nil, err
	}
	h.auth = &exchange.Authenticator{
		Directory:   &h.dir,
		Open:        []string{"/grpc.health.v1.Health/"},
		Revoked:     func(c *x509.Certificate) bool { return policy.Revoked(h.trust, c) },
		AdminPrefix: "/" + lienthongv1.AdminService_ServiceDesc.ServiceName + "/",
		IsOperator:  h.isOperator,
		Refused:     exchange.NoteAuthRefusal(h.store.Note),
		Now:         cfg.Now,
	}
	lim := cfg.Overload
	auditor := &admin.Auditor{Prefix: h.auth.AdminPrefix, Append: h.store.AppendAudit, Logger: cfg.Logger}
	// Health probes may come without a certificate; every other call is
	// refused by the authenticator without one. Certificate-less
	// connections are capped and closed when idle: health stays on the
	// port every probe already uses, and strangers can never take an
	// agency's place. Writes are gathered into one system call per gRPC
	// flush (tlswrite.go).
	creds := limit.Guard(coalesceWrites(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		MinVersion:   tls.VersionTLS12,
	}), WriteBufferSize), lim, cfg.Logger)
	h.grpc = grpc.NewServer(append([]grpc.ServerOption{
		grpc.Creds(creds),
		grpc.ChainUnaryInterceptor(h.metrics.UnaryInterceptor(), h.auth.Unary, auditor.Unary),
		grpc.ChainStreamInterceptor(h.metrics.StreamInterceptor(), h.auth.Stream, auditor.Stream),
		grpc.InitialWindowSize(exchange.StreamWindow),
		grpc.InitialConnWindowSize(exchange.ConnWindow),
		grpc.WriteBufferSize(WriteBufferSize),
	}, lim.ServerOptions()...)...)
	issuer := receipt.NewIssuer(signer, leaf, cfg.Now)
	h.quarantine = quarantine.New(quarantine.Config{Store: h.store, Receipts: issuer, Logger: cfg.Logger, Now: cfg.Now,
		ScrubRate: cfg.ScrubRate, ScrubEvery: cfg.ScrubEvery})
	xs := exchange.New(exchange.Config{
		Store: h.store, Directory: &h.dir, Limits: cfg.Limits, Logger: cfg.Logger, Stopping: h.stopping,
		Receipts: issuer, Quarantine: h.quarantine,
		Verifier: &policy.Checker{Trust: h.trust, Unsigned: cfg.Unsigned, Indeterminate: cfg.Indeterminate, Fetcher: policy.NewFetcher(cfg.RevocationFetch), LTV: cfg.LTV, Now: cfg.Now},
		Now:      cfg.Now,
		Overload: lim, Authenticator: h.auth, Observer: h.metrics,
	})
	xs.Register(h.grpc)
	reg := registry.New(registry.Config{Store: h.store, Reload: h.ReloadDirectory, ClientCAs: pool, National: h.national, Now: cfg.Now, Logger: cfg.Logger})
	h.admin = admin.New(admin.Config{Store: h.store, Directory: &h.dir, Registry: reg, Now: cfg.Now, Logger: cfg.Logger,
		Maintenance: h.store, HubDir: cfg.Dir})
	h.admin.Register(h.grpc)
	h.health = health.NewServer()
	healthpb.RegisterHealthServer(h.grpc, h.health)
	h.metrics.InitializeGRPC(h.grpc)

	if h.lis, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, listenError("--listen", cfg.Listen, err)
	}
	// Admin commands find the hub here; written once the listener is
	// bound (calls wait in its backlog until Serve), removed when Serve
	// returns or Open fails.
	if err := pki.WriteFile(l.Serving(), []byte(h.Addr()+"\n"), 0o644); err != nil {
		h.log.Warn("cannot record the serving address; admin commands will need --hub", "error", err)
	}
	if cfg.HTTP != "" {
		lis, err := net.Listen("tcp", cfg.HTTP)
		if err != nil {
			return nil, listenError("--http", cfg.HTTP, err)
		}
		h.web = append(h.web, webServer{lis: lis, srv: h.httpServer(h.httpHandler(false))})
	}
	if cfg.MetricsListen != "" {
		lis, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return nil, listenError("--metrics-listen", cfg.MetricsListen, err)
		}
		h.web = append(h.web, webServer{lis: lis, srv: h.httpServer(h.metricsHandler()), metrics: true})
	}
	if cfg.HTTPS != "" {
		lis, err := net.Listen("tcp", cfg.HTTPS)
		if err != nil {
			return nil, listenError("--https", cfg.HTTPS, err)
		}
		tlsCfg := &tls.Config{
			Certificates: []tls.Certificate{cert}, ClientCAs: pool,
			// /healthz answers without a certificate; the dashboard checks
			// the operator's.
			ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12,
		}
		h.web = append(h.web, webServer{lis: tls.NewListener(lis, tlsCfg), tls: true, srv: h.httpServer(h.httpHandler(true))})
	}
	if cfg.Gateway != "" {
		w, err := h.openGateway(xs, cert, signer)
		if err != nil {
			return nil, err
		}
		h.web = append(h.web, w)
	}
	return h, nil
}

// openGateway binds the HTTP gateway for e-office products: TLS with the
// hub's certificate, or plain HTTP on a loopback address when asked.
func (h *Hub) openGateway(xs *exchange.Service, cert tls.Certificate, key crypto.Signer) (webServer, error) {
	cfg := h.cfg
	if cfg.GatewayPlainLoopback && !isLoopback(cfg.Gateway) {
		return webServer{}, &StartError{Message: fmt.Sprintf(
			"--gateway-plain-loopback chỉ dùng được với địa chỉ 127.0.0.1 hoặc ::1, không phải %s: cổng kết nối truyền khóa bí mật nên phải dùng TLS (plain HTTP refused off loopback)", cfg.Gateway)}
	}
	gw, err := gateway.New(gateway.Config{
		Exchange: xs, Auth: h.auth, Systems: &gateway.Systems{Dir: gateway.SystemsDir(cfg.Dir), Now: cfg.Now},
		Key: key, Cert: cert.Leaf, AllowSHA1: cfg.GatewayAllowSHA1,
		Trust: func() (*x509.CertPool, *x509.CertPool) {
			return h.trust.Roots(), h.trust.Intermediates()
		},
		Spool: filepath.Join(gateway.SystemsDir(cfg.Dir), "spool"), Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return webServer{}, err
	}
	lis, err := net.Listen("tcp", cfg.Gateway)
	if err != nil {
		return webServer{}, listenError("--gateway", cfg.Gateway, err)
	}
	secure := !cfg.GatewayPlainLoopback
	if secure {
		lis = tls.NewListener(lis, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	// Products allow a minute or more for a large package: the gateway's
	// own timeouts, looser than the dashboard's.
	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 15 * time.Minute, WriteTimeout: 15 * time.Minute, IdleTimeout: max(cfg.Overload.HTTPIdleTimeout, 0)}
	return webServer{lis: lis, srv: srv, tls: secure, gateway: true}, nil
}

// isLoopback reports whether addr (HOST:PORT) is on a loopback address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StartError is a failure to start a hub, told in one line with what to
// do; it wraps the cause.
type StartError struct {
	Message string
	Err     error
}

func (e *StartError) Error() string { return e.Message }

func (e *StartError) Unwrap() error { return e.Err }

// listenError explains a failure to bind addr, given with flag.
func listenError(flag, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return &StartError{Err: err, Message: fmt.Sprintf(
			"địa chỉ %s đang được một chương trình khác dùng (có thể là một trục khác): dừng chương trình đó hoặc chọn %s khác (address already in use)", addr, flag)}
	}
	return &StartError{Err: err, Message: fmt.Sprintf("không mở được %s %s: %v (cannot listen)", flag, addr, err)}
}

// storeError explains a failure to open the hub's store in dir.
func storeError(dir, data string, err error) error {
	var msg string
	switch {
	case errors.Is(err, store.ErrLocked):
		msg = fmt.Sprintf("một trục khác đang chạy trên thư mục %s (cơ sở dữ liệu đang bị khóa): dừng trục đó trước, hoặc chọn --dir khác (another hub is using %s)", dir, dir)
	case errors.Is(err, store.ErrDamaged):
		msg = fmt.Sprintf("cơ sở dữ liệu của trục trong %s bị hỏng nên trục không chạy: khôi phục thư mục này từ bản sao lưu gần nhất "+
			"rồi chạy lại (hub database damaged, restore it from backup): %v", data, err)
	case errors.Is(err, store.ErrNoStore):
		msg = fmt.Sprintf("thư mục %s không có cơ sở dữ liệu của trục (%s): nếu vừa khôi phục, hãy chép lại thư mục %s từ bản sao lưu (no hub database)", dir, data, data)
	default:
		msg = fmt.Sprintf("không mở được cơ sở dữ liệu của trục trong %s: %v (cannot open the hub database)", data, err)
	}
	return &StartError{Message: msg, Err: err}
}

// checkDir fails unless dir is an existing directory.
func checkDir(dir string) error {
	info, err := os.Stat(dir)
	if err == nil && !info.IsDir() {
		err = fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
	}
	if err != nil {
		return &StartError{Err: err, Message: fmt.Sprintf(
			"không có thư mục trục %s: kiểm tra --dir, hoặc tạo trục mới bằng `lthub init --dir %s` (hub directory not found)", dir, dir)}
	}
	return nil
}

// OpenStore opens the store of the stopped hub of directory dir, for the
// commands that read it: it creates nothing, and fails in one line (a
// *StartError) when dir is not a hub directory, its database is missing
// or damaged, or a hub is using it.
func OpenStore(dir string, opts store.Options) (*store.Store, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	return openStore(dir, opts)
}

// openStore opens the database of the hub directory dir, which checkDir
// has accepted. Init made the database: one missing is a data directory
// lost or not restored, never a hub to start empty.
func openStore(dir string, opts store.Options) (*store.Store, error) {
	opts.MustExist = true
	data := provision.Layout{Dir: dir}.Data()
	st, err := store.Open(data, opts)
	if err != nil {
		return nil, storeError(dir, data, err)
	}
	return st, nil
}

// ReloadDirectory reads the directory from the store and swaps it in.
func (h *Hub) ReloadDirectory(ctx context.Context) error {
	agencies, err := h.store.Agencies(ctx)
	if err != nil {
		return fmt.Errorf("loading directory: %w", err)
	}
	d, err := directory.New(agencies, directory.National(h.national))
	if err != nil {
		return fmt.Errorf("loading directory: %w", err)
	}
	h.dir.Store(d)
	if h.auth != nil {
		h.auth.Invalidate()
	}
	for _, e := range registry.Expiring(agencies, h.cfg.Now(), registry.ExpiryWarning) {
		h.log.Warn("agency certificate expires soon; issue a new one and rotate (lthub agency rotate)",
			"agency", e.Code, "subject", e.Subject, "not_after", e.NotAfter)
	}
	return nil
}

// ReloadTrust re-reads the trust roots and CRLs (D/trust) and the
// operator certificates (D/operators) without a restart; on error the
// previous ones stay in force.
func (h *Hub) ReloadTrust() error {
	if err := h.trust.Reload(); err != nil {
		return fmt.Errorf("reloading trust store: %w", err)
	}
	snap := h.trust.Snapshot()
	h.log.Info("trust store reloaded", "roots", len(snap.Anchors), "intermediates", len(snap.Intermediates), "crls", len(snap.CRLs))
	h.logTrustNotes()
	err := h.loadOperators()
	h.auth.Invalidate()
	if err != nil {
		return err
	}
	h.log.Info("operator certificates loaded", "count", len(*h.operators.Load()))
	return nil
}

// logTrustNotes warns about what the trust store read in a form it only
// tolerates (intermediates kept among the roots).
func (h *Hub) logTrustNotes() {
	for _, n := range h.trust.Snapshot().Notes {
		h.log.Warn("trust store: "+n, "dir", provision.Layout{Dir: h.cfg.Dir}.Trust())
	}
}

// loadOperators reads the operator certificates of D/operators.
func (h *Hub) loadOperators() error {
	dir := provision.Layout{Dir: h.cfg.Dir}.Operators()
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return fmt.Errorf("listing operator certificates: %w", err)
	}
	set := make(map[[32]byte]bool, len(files))
	var all []*x509.Certificate
	for _, f := range files {
		certs, err := pki.LoadCertificates(f)
		if err != nil {
			return fmt.Errorf("loading operator certificates: %w", err)
		}
		for _, c := range certs {
			set[sha256.Sum256(c.Raw)] = true
		}
		all = append(all, certs...)
	}
	h.operators.Store(&set)
	h.operatorCerts.Store(&all)
	return nil
}

// isOperator reports whether cert is listed in D/operators.
func (h *Hub) isOperator(cert *x509.Certificate) bool {
	return (*h.operators.Load())[sha256.Sum256(cert.Raw)]
}

// Admin is the admin service, for the dashboard and tests.
func (h *Hub) Admin() *admin.Service { return h.admin }

// Addr is the gRPC listen address.
func (h *Hub) Addr() string { return h.lis.Addr().String() }

// httpServer is an HTTP server for handler with the configured timeouts,
// so that a slow or idle client cannot hold a connection for ever.
func (h *Hub) httpServer(handler http.Handler) *http.Server {
	lim := h.cfg.Overload
	nonNegative := func(d time.Duration) time.Duration { return max(d, 0) }
	return &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: nonNegative(lim.HTTPReadTimeout), WriteTimeout: nonNegative(lim.HTTPWriteTimeout),
		IdleTimeout: nonNegative(lim.HTTPIdleTimeout)}
}

// webServer is one of the hub's HTTP listeners.
type webServer struct {
	lis net.Listener
	srv *http.Server
	tls bool
	// metrics: the --metrics-listen listener.
	metrics bool
	// gateway marks the e-office gateway's listener.
	gateway bool
}

func (h *Hub) webAddr(secure bool) string {
	for _, w := range h.web {
		if w.tls == secure && !w.metrics && !w.gateway {
			return w.lis.Addr().String()
		}
	}
	return ""
}

// HTTPAddr is the plain HTTP listen address, or "".
func (h *Hub) HTTPAddr() string { return h.webAddr(false) }

// HTTPSAddr is the HTTPS listen address, or "".
func (h *Hub) HTTPSAddr() string { return h.webAddr(true) }

// MetricsAddr is the --metrics-listen address, or "".
func (h *Hub) MetricsAddr() string {
	for _, w := range h.web {
		if w.metrics {
			return w.lis.Addr().String()
		}
	}
	return ""
}

// GatewayAddr is the e-office gateway's listen address, or "".
func (h *Hub) GatewayAddr() string {
	for _, w := range h.web {
		if w.gateway {
			return w.lis.Addr().String()
		}
	}
	return ""
}

// Metrics exposes the hub's metrics, for tests.
func (h *Hub) Metrics() *metrics.Metrics { return h.metrics }

// Scrub checks every stored file once, unthrottled unless ScrubRate is
// set, and quarantines the documents naming a damaged one, as the
// background scrub does.
func (h *Hub) Scrub(ctx context.Context) (store.ScrubResult, error) { return h.quarantine.Scrub(ctx) }

// Store exposes the store, for tests and the admin commands.
func (h *Hub) Store() *store.Store { return h.store }

// Serve runs the hub until ctx ends, then stops gracefully: health turns
// NOT_SERVING, waiting Receive streams end, in-flight sends finish (up to
// ShutdownGrace) and the store closes.
func (h *Hub) Serve(ctx context.Context) error {
	h.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	h.health.SetServingStatus(lienthongv1.ExchangeService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	h.health.SetServingStatus(lienthongv1.AdminService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	errc := make(chan error, 1+len(h.web))
	go func() { errc <- h.grpc.Serve(h.lis) }()
	for _, w := range h.web {
		go func() {
			if err := w.srv.Serve(w.lis); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	defer os.Remove(provision.Layout{Dir: h.cfg.Dir}.Serving())
	scrubCtx, stopScrub := context.WithCancel(context.Background())
	scrubbed := make(chan struct{})
	go func() { h.quarantine.Run(scrubCtx); close(scrubbed) }()
	signed := make(chan struct{})
	go func() { h.signAuditHeads(scrubCtx); close(signed) }()
	h.log.Info("hub serving", "grpc", h.Addr(), "http", h.HTTPAddr(), "https", h.HTTPSAddr(), "metrics", h.MetricsAddr(), "gateway", h.GatewayAddr(), "agencies", len(h.dir.Load().All()), "operators", len(*h.operators.Load()))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	h.log.Info("hub stopping")
	h.health.Shutdown()
	close(h.stopping)
	done := make(chan struct{})
	go func() { h.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(h.cfg.ShutdownGrace):
		h.log.Warn("graceful stop timed out; closing remaining connections")
		h.grpc.Stop()
		<-done
	}
	for _, w := range h.web {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.srv.Shutdown(sctx)
		cancel()
	}
	stopScrub()
	<-scrubbed
	<-signed
	if err := h.store.SignAuditHead(context.Background(), h.signer, h.leaf); err != nil {
		h.log.Error("signing the audit log at shutdown failed", "error", err)
	}
	if err := h.store.Close(); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("closing store: %w", err)
	}
	h.store = nil
	h.log.Info("hub stopped")
	return serveErr
}

// signAuditHeads signs the audit chain's head every AuditSignEvery until
// ctx ends.
func (h *Hub) signAuditHeads(ctx context.Context) {
	every := h.cfg.AuditSignEvery
	if every <= 0 {
		every = 5 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.store.SignAuditHead(ctx, h.signer, h.leaf); err != nil && ctx.Err() == nil {
				h.log.Error("signing the audit log failed", "error", err)
			}
		}
	}
}

// closeResources releases what Open acquired when Open fails.
func (h *Hub) closeResources() {
	if h.lis != nil {
		h.lis.Close()
		os.Remove(provision.Layout{Dir: h.cfg.Dir}.Serving())
	}
	for _, w := range h.web {
		w.lis.Close()
	}
	if h.store != nil {
		h.store.Close()
	}
}

// httpHandler serves /healthz, /readyz and the dashboard, and on plain
// HTTP /metrics; with operatorsOnly (HTTPS), the dashboard answers only
// requests made with an operator certificate.
func (h *Hub) httpHandler(operatorsOnly bool) http.Handler {
	mux := h.healthMux()
	if !operatorsOnly {
		// Prometheus scrapes plain HTTP; on HTTPS /metrics would need an
		// operator certificate in every scraper.
		mux.Handle("GET /metrics", h.metrics.Handler())
	}
	var board http.Handler = dashboard.New(dashboard.Config{
		Report: h.admin.Build, Now: h.cfg.Now, Logger: h.log, ProvinceName: h.cfg.ProvinceName,
	})
	if operatorsOnly {
		board = h.requireOperator(board)
	}
	mux.Handle("/", board)
	return mux
}

// metricsHandler serves --metrics-listen: /metrics and health, nothing of
// the dashboard.
func (h *Hub) metricsHandler() http.Handler {
	mux := h.healthMux()
	mux.Handle("GET /metrics", h.metrics.Handler())
	return mux
}

// certificates lists the certificates whose expiry is exported: the
// hub's, the province root's and the operators'.
func (h *Hub) certificates() []metrics.Certificate {
	out := slices.Clone(h.certs)
	if ops := h.operatorCerts.Load(); ops != nil {
		for _, c := range *ops {
			out = append(out, metrics.Certificate{Role: "operator", Name: c.Subject.CommonName, NotAfter: c.NotAfter})
		}
	}
	// Each agency's latest accepted TLS certificate: the node that stops
	// connecting on that date.
	now := time.Now()
	if h.cfg.Now != nil {
		now = h.cfg.Now()
	}
	for _, a := range h.dir.Load().All() {
		if na, ok := registry.CertificateExpiry(a, now); ok {
			out = append(out, metrics.Certificate{Role: "agency", Name: a.GetCode(), NotAfter: na})
		}
	}
	return out
}

// healthMux serves /healthz (live: the hub answers, 503 once stopping)
// and /readyz (ready to take documents: store open, disk not full).
func (h *Hub) healthMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /readyz", h.metrics.Readyz())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		select {
		case <-h.stopping:
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "stopping"})
		default:
			json.NewEncoder(w).Encode(map[string]any{"status": "serving", "agencies": len(h.dir.Load().All())})
		}
	})
	return mux
}

// requireOperator lets through requests whose verified TLS client
// certificate is an operator's and not revoked.
func (h *Hub) requireOperator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "Cần chứng thư số vận hành trục để xem trang này (an operator client certificate is required).", http.StatusUnauthorized)
			return
		}
		cert := r.TLS.VerifiedChains[0][0]
		if !h.isOperator(cert) || policy.Revoked(h.trust, cert) {
			http.Error(w, fmt.Sprintf("Chứng thư %q không có quyền xem trang tổng hợp (not an operator certificate).", cert.Subject.CommonName), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
