// Package metrics is the hub's Prometheus instrumentation and health: the
// counters and histograms the exchange and the store report into (it
// implements exchange.Observer and store.Observer), the figures read when
// Prometheus scrapes (queue depth and age per level, disk space,
// certificate expiry, readiness), the gRPC server metrics of
// go-grpc-middleware's Prometheus provider, and the /metrics and /readyz
// handlers.
//
// Every Metrics has a registry of its own: nothing is registered in
// Prometheus' global default registry, so two hubs in one process (tests)
// do not collide.
package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/buildinfo"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Namespace prefixes every metric of the hub's own.
const Namespace = "lienthong"

// DefaultMinFree is the free space under which the hub's disk counts as
// full for /readyz: less than one 64 MiB document.
const DefaultMinFree = 64 << 20

// Certificate is a certificate whose expiry is exported.
type Certificate struct {
	// Role is "hub", "province_ca", "operator" or "agency".
	Role string
	// Name is the subject's common name (an agency's code for agencies).
	Name     string
	NotAfter time.Time
}

// Config says where the figures read at scrape time come from. Every
// function is called on the scraping goroutine; nil ones are skipped.
type Config struct {
	// Queues lists the non-empty recipient queues (store.Store.Queues).
	Queues func(ctx context.Context) ([]store.QueueStat, error)
	// Level names the level of an agency ("province", "department",
	// "district", "commune", "unit"); "unknown" for a code not in the
	// directory.
	Level func(code string) string
	// DataDir is a directory on the disk whose space is reported (the
	// hub's data directory).
	DataDir string
	// MinFree is the free space (bytes) under which the disk counts as
	// full for readiness; 0 means DefaultMinFree.
	MinFree uint64
	// Certificates lists the certificates whose expiry is exported.
	Certificates func() []Certificate
	// Store reports whether the store can take writes (store.Store.Ready).
	Store func() error
	// Stopping is closed when the hub begins to stop.
	Stopping <-chan struct{}
	// Now is the clock for queue ages; nil means time.Now.
	Now func() time.Time
	// ScrapeTimeout bounds the queue scan of one scrape; 0 means 10 s.
	ScrapeTimeout time.Duration
}

// Metrics holds the hub's metrics and their registry.
type Metrics struct {
	cfg  Config
	reg  *prometheus.Registry
	grpc *grpcprom.ServerMetrics

	accepted     *prometheus.CounterVec
	resent       prometheus.Counter
	refused      *prometheus.CounterVec
	requestsRef  *prometheus.CounterVec
	verifySecs   prometheus.Histogram
	verified     *prometheus.CounterVec
	delivered    prometheus.Counter
	acknowledged prometheus.Counter
	blobSecs     prometheus.Histogram
	blobBytes    prometheus.Counter
	commitSecs   prometheus.Histogram
	batchWrites  prometheus.Histogram
	flushSecs    prometheus.Histogram
	flushWaiters prometheus.Histogram
	openStreams  *prometheus.GaugeVec
}

var (
	_ exchange.Observer = (*Metrics)(nil)
	_ store.Observer    = (*Metrics)(nil)
)

// New returns the hub's metrics, registered in a registry of their own
// with the Go runtime's and the process's collectors.
func New(cfg Config) *Metrics {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinFree == 0 {
		cfg.MinFree = DefaultMinFree
	}
	if cfg.ScrapeTimeout <= 0 {
		cfg.ScrapeTimeout = 10 * time.Second
	}
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
		m.reg.MustRegister(h)
		return h
	}
	m.accepted = counter("documents_accepted_total", "Documents accepted and stored (re-sends of a stored document excluded), by verdict of the signature check.", "verdict")
	m.resent = counter("documents_resent_total", "Sends of a document already stored, answered with its original receipt.").WithLabelValues()
	m.refused = counter("documents_refused_total", "Sends refused, by reason (the error kind; client_gone when the sender went away).", "reason")
	m.requestsRef = counter("requests_refused_total", "Calls of the exchange service ended with an error, by call and reason.", "op", "reason")
	m.verifySecs = histogram("verification_seconds", "Time to check one document's signatures.", prometheus.ExponentialBuckets(0.001, 2, 14))
	m.verified = counter("verifications_total", "Documents whose signatures were checked, by EN 319 102-1 indication and outcome (accepted, refused).", "indication", "outcome")
	m.delivered = counter("deliveries_total", "Documents streamed to a recipient.").WithLabelValues()
	m.acknowledged = counter("acknowledgements_total", "Deliveries acknowledged by their recipient.").WithLabelValues()
	m.blobSecs = histogram("blob_commit_seconds", "Time to make one stored file durable (flush, rename, flush of the rename).", prometheus.ExponentialBuckets(0.0005, 2, 14))
	m.blobBytes = counter("blob_bytes_total", "Bytes of files made durable.").WithLabelValues()
	m.commitSecs = histogram("store_commit_seconds", "Time bbolt takes to commit (write and fsync) one group commit.", prometheus.ExponentialBuckets(0.0005, 2, 14))
	m.batchWrites = histogram("store_batch_writes", "Writes carried by one group commit.", prometheus.ExponentialBuckets(1, 2, 9))
	m.flushSecs = histogram("flush_seconds", "Time of one flush of a stored file (fdatasync) or of its directory (fsync).", prometheus.ExponentialBuckets(0.0005, 2, 14))
	m.flushWaiters = histogram("flush_waiters", "Blob commits served by one flush (1: each commit flushes its own file).", prometheus.ExponentialBuckets(1, 2, 9))
	m.openStreams = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "open_streams",
		Help: "Streaming calls open now, by method (Send, Receive)."}, []string{"method"})
	m.reg.MustRegister(m.openStreams)

	bi := buildinfo.Read()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "The running build: module version and VCS revision."}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(bi.Version, bi.Revision, bi.GoVersion).Set(1)
	m.reg.MustRegister(build)

	// Series that alerts and rates read exist from the start, at zero.
	for _, v := range []string{"valid", "unsigned", "indeterminate", "not_checked"} {
		m.accepted.WithLabelValues(v)
	}
	for k := lienthong.KindInternal; k <= lienthong.KindBusy; k++ {
		m.refused.WithLabelValues(Reason(k))
	}
	m.refused.WithLabelValues("client_gone")
	for _, method := range []string{"Send", "Receive"} {
		m.openStreams.WithLabelValues(method)
	}

	m.grpc = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})))
	m.reg.MustRegister(m.grpc, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scraped{m: m})
	return m
}

// Registry is the registry every metric of m is in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// UnaryInterceptor and StreamInterceptor record the gRPC server metrics
// (grpc_server_*) and the open streams; chain them before the
// authenticator so that refused calls count too.
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return m.grpc.UnaryServerInterceptor()
}

// StreamInterceptor: see UnaryInterceptor.
func (m *Metrics) StreamInterceptor() grpc.StreamServerInterceptor {
	inner := m.grpc.StreamServerInterceptor()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		g := m.openStreams.WithLabelValues(path.Base(info.FullMethod))
		g.Inc()
		defer g.Dec()
		return inner(srv, ss, info, handler)
	}
}

// InitializeGRPC creates the grpc_server_* series of every method of g at
// zero, so that rates exist before the first call. Call it once the
// services are registered.
func (m *Metrics) InitializeGRPC(g *grpc.Server) { m.grpc.InitializeMetrics(g) }

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	// ContinueOnError: a collector failing must not blank the whole scrape
	// (and with it the alerts on everything else).
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError,
		Timeout: m.cfg.ScrapeTimeout + 5*time.Second})
}

// Accepted implements exchange.Observer.
func (m *Metrics) Accepted(duplicate bool, v *lienthongv1.Verification) {
	if duplicate {
		m.resent.Inc()
		return
	}
	m.accepted.WithLabelValues(label(v.GetVerdict(), "not_checked")).Inc()
}

// Refused implements exchange.Observer.
func (m *Metrics) Refused(op string, kind lienthong.Kind, clientGone bool) {
	reason := Reason(kind)
	if clientGone {
		reason = "client_gone"
	}
	if op == "Send" {
		m.refused.WithLabelValues(reason).Inc()
	}
	m.requestsRef.WithLabelValues(op, reason).Inc()
}

// Verified implements exchange.Observer.
func (m *Metrics) Verified(d time.Duration, v *lienthongv1.Verification, err error) {
	m.verifySecs.Observe(d.Seconds())
	outcome := "accepted"
	if err != nil {
		outcome = "refused"
	}
	m.verified.WithLabelValues(label(v.GetIndication(), "none"), outcome).Inc()
}

// Delivered implements exchange.Observer.
func (m *Metrics) Delivered() { m.delivered.Inc() }

// Acknowledged implements exchange.Observer.
func (m *Metrics) Acknowledged() { m.acknowledged.Inc() }

// BlobCommitted implements store.Observer.
func (m *Metrics) BlobCommitted(size int64, d time.Duration) {
	m.blobSecs.Observe(d.Seconds())
	m.blobBytes.Add(float64(size))
}

// Committed implements store.Observer.
func (m *Metrics) Committed(writes int, d time.Duration) {
	m.commitSecs.Observe(d.Seconds())
	m.batchWrites.Observe(float64(writes))
}

// Flushed implements store.Observer.
func (m *Metrics) Flushed(waiters int, d time.Duration) {
	m.flushSecs.Observe(d.Seconds())
	m.flushWaiters.Observe(float64(waiters))
}

// label is s, or def when s is empty.
func label(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Reason names an error kind as the reason label of a refusal; the names
// are part of the metrics' contract (dashboards and alerts use them).
func Reason(k lienthong.Kind) string {
	switch k {
	case lienthong.KindInvalid:
		return "invalid"
	case lienthong.KindNotFound:
		return "not_found"
	case lienthong.KindPermission:
		return "permission_denied"
	case lienthong.KindUnauthenticated:
		return "unauthenticated"
	case lienthong.KindFailedPrecondition:
		return "failed_precondition"
	case lienthong.KindAlreadyExists:
		return "already_exists"
	case lienthong.KindTooLarge:
		return "too_large"
	case lienthong.KindUnavailable:
		return "unavailable"
	case lienthong.KindDeadline:
		return "deadline"
	case lienthong.KindDiskFull:
		return "disk_full"
	case lienthong.KindBusy:
		return "busy"
	default:
		return "internal"
	}
}

// Disk is the space of the file system holding a directory.
type Disk struct {
	Free, Size uint64 // bytes; Free is what an unprivileged writer may use
}

// DiskOf returns the space of the file system holding dir.
func DiskOf(dir string) (Disk, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return Disk{}, err
	}
	return Disk{Free: st.Bavail * uint64(st.Bsize), Size: st.Blocks * uint64(st.Bsize)}, nil
}

// Problems returns why the hub is not ready to take documents (stopping,
// store closed or damaged, disk full or unreadable), or nil.
func (m *Metrics) Problems() []string {
	var out []string
	select {
	case <-m.cfg.Stopping:
		out = append(out, "stopping")
	default:
	}
	if m.cfg.Store != nil {
		if err := m.cfg.Store(); err != nil {
			out = append(out, "store: "+err.Error())
		}
	}
	if m.cfg.DataDir != "" {
		d, err := DiskOf(m.cfg.DataDir)
		switch {
		case err != nil:
			out = append(out, "disk: "+err.Error())
		case d.Free < m.cfg.MinFree:
			out = append(out, "disk full: "+formatBytes(d.Free)+" free, under "+formatBytes(m.cfg.MinFree))
		}
	}
	return out
}

// Readyz answers 200 {"status":"ready"} when the hub can take documents,
// else 503 with the problems.
func (m *Metrics) Readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if p := m.Problems(); len(p) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{"status": "not ready", "problems": p})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
	})
}

func formatBytes(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
