package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/signing/trust"
)

// Config describes one run. DefaultConfig holds what ltbench uses without
// flags.
type Config struct {
	// Dir is the work directory (the hub, the inboxes, the raw-limit
	// store); "" means a temporary directory removed at the end.
	Dir string
	// Inbox, if set, is where the receivers write (a folder is made in
	// it and removed afterwards), e.g. a tmpfs such as /dev/shm so that
	// the receiving agencies' flushes, which would be on their own machines,
	// do not load the hub's disk; "" means inside Dir.
	Inbox string
	// Cache keeps the hub template and the signed corpus between runs; ""
	// means DefaultCache().
	Cache string
	// Sample uses the 13-agency sample province of `lthub init`; otherwise
	// the directory is generated: Departments departments and Districts
	// districts of Communes communes each, under the province.
	Sample                           bool
	Departments, Districts, Communes int
	// CorpusPerAgency PDFs of about PDFSize bytes are signed for every
	// agency.
	CorpusPerAgency int
	PDFSize         int64
	// Senders is the number of concurrent sender goroutines.
	Senders int
	// Mix is how documents are addressed.
	Mix Mix
	// Warmup runs before each measured span of Duration.
	Warmup, Duration time.Duration
	// LatencyDuration is the length of the open-loop run; 0 skips it.
	// LatencyRate is its offered load in documents/s; 0 means half the
	// measured maximum.
	LatencyDuration time.Duration
	LatencyRate     float64
	// LimitDuration and VerifyDuration are the lengths of the raw-limit and
	// verification measurements (verification: each of one core and all).
	LimitDuration, VerifyDuration time.Duration
	// DrainTimeout bounds the wait for receivers to acknowledge everything
	// accepted.
	DrainTimeout time.Duration
	// Seed makes the choice of senders and recipients repeatable.
	Seed uint64
	// ProfileDir, if set, receives cpu.pprof, allocs-base.pprof and
	// allocs.pprof of the measured span of the maximum-rate run, and
	// trace.out, an execution trace of its first two seconds (of this
	// process); with Lthub, also hub-cpu.pprof, the hub process's CPU
	// profile from start to stop.
	ProfileDir string
	// Lthub is the path of an lthub binary: the hub then runs as its own
	// process (`lthub serve`), and its CPU and memory are measured apart
	// from the clients'. "" serves the hub inside this process.
	Lthub string
	// LthubEnv is added to the hub process's environment (a test binary
	// standing in for lthub needs it).
	LthubEnv []string
	// Clerk sends through each sending agency's clerk's desk (node/desk):
	// the document is queued in the outbox of a register on disk and
	// forwarded from there, exactly as `ltnode send` does, so the clerk's
	// path is what is measured.
	Clerk bool
	// LowRate is the offered load, in documents/s, of a second open-loop
	// run of LatencyDuration: the latency a clerk feels at a province's
	// busy hour (about 25 documents/s). 0 skips it.
	LowRate float64
	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// DefaultConfig returns the defaults of ltbench.
func DefaultConfig() Config {
	return Config{
		Departments: 20, Districts: 10, Communes: 15,
		CorpusPerAgency: 3, PDFSize: 200 << 10,
		Senders: 32, Mix: Mix{Single: 50, Multi: 30, Group: 20},
		Warmup: 3 * time.Second, Duration: 20 * time.Second,
		LatencyDuration: 10 * time.Second,
		LimitDuration:   5 * time.Second, VerifyDuration: 3 * time.Second,
		LowRate:      20,
		DrainTimeout: 2 * time.Minute, Seed: 1,
	}
}

func (c Config) validate() error {
	switch {
	case c.Senders < 1:
		return errors.New("senders: want at least 1")
	case c.CorpusPerAgency < 1:
		return errors.New("corpus: want at least 1 PDF per agency")
	case c.PDFSize < 0 || c.PDFSize > 64<<20:
		return errors.New("pdf-size: want 0 to 64 MiB")
	case c.Duration <= 0 || c.LimitDuration <= 0 || c.VerifyDuration <= 0:
		return errors.New("duration, limit-duration and verify-duration must be positive")
	case c.Warmup < 0 || c.LatencyDuration < 0 || c.LatencyRate < 0 || c.LowRate < 0 || c.DrainTimeout <= 0:
		return errors.New("warmup, latency-duration and latency-rate must not be negative, drain-timeout must be positive")
	}
	return nil
}

// specs returns the directory the run uses.
func (c Config) specs() ([]provision.SampleAgency, error) {
	if c.Sample {
		return provision.SampleProvince(), nil
	}
	return GeneratedProvince(c.Departments, c.Districts, c.Communes)
}

// Result is what a run measured. Its JSON form is the last line of
// ltbench's output. Rates are per second of the measured span; MB are 10^6
// bytes. A delivery is one document acknowledged by one recipient.
type Result struct {
	DocsPerS      float64 `json:"docs_per_s"`      // documents accepted (Send returned: durable)
	DeliveredPerS float64 `json:"delivered_per_s"` // deliveries acknowledged by recipients
	MBPerS        float64 `json:"mb_per_s"`        // PDF bytes accepted
	P50Ms         float64 `json:"p50_ms"`          // Send latency at full load
	P99Ms         float64 `json:"p99_ms"`
	P999Ms        float64 `json:"p999_ms"`
	Fanout        float64 `json:"fanout"`         // mean resolved recipients per accepted document
	BacklogAtEnd  int64   `json:"backlog_at_end"` // deliveries not yet acknowledged when the span closed

	HalfLoadRate    float64 `json:"half_load_rate"` // offered open-loop load, docs/s
	HalfLoadDocsPS  float64 `json:"half_load_docs_per_s"`
	HalfLoadP50Ms   float64 `json:"half_load_p50_ms"`
	HalfLoadP99Ms   float64 `json:"half_load_p99_ms"`
	HalfLoadP999Ms  float64 `json:"half_load_p999_ms"`
	LowRate         float64 `json:"low_rate"` // offered open-loop load of the second run, docs/s (Config.LowRate)
	P50MsAt20       float64 `json:"p50_ms_at_20"`
	P99MsAt20       float64 `json:"p99_ms_at_20"`
	LimitDocsPerS   float64 `json:"limit_docs_per_s"` // raw storage limit
	Ratio           float64 `json:"ratio"`            // docs_per_s / limit_docs_per_s
	VerifyDocsPerS  float64 `json:"verify_docs_per_s"`
	VerifyDocsPerS1 float64 `json:"verify_docs_per_s_1core"`
	VerifyMBPerS    float64 `json:"verify_mb_per_s"`

	FloorCPUMsPerDoc float64    `json:"floor_cpu_ms_per_doc"` // CPU floor of one document (see floorCosts), for pdf_bytes and fanout
	RatioToFloor     float64    `json:"ratio_to_floor"`       // docs_per_s / (cpus / floor): how near the whole path runs to the floor
	Floor            floorCosts `json:"floor"`                // the measured parts of the floor

	ClerkPath      bool    `json:"clerk_path"`         // documents went through the node's outbox (ltnode send's path)
	HubProcess     bool    `json:"hub_process"`        // the hub ran as its own lthub process
	HubRSSMB       float64 `json:"hub_rss_mb"`         // peak RSS of the hub's process (with hub_process false: of this process, hub and clients)
	ClientsRSSMB   float64 `json:"clients_rss_mb"`     // with hub_process: peak RSS of this process (the clients)
	HubCPUMsPerDoc float64 `json:"hub_cpu_ms_per_doc"` // with hub_process: the hub process's CPU per accepted document
	HeapPeakMB     float64 `json:"heap_peak_mb"`       // peak Go heap objects (live and not yet swept)
	HeapLivePeakMB float64 `json:"heap_live_peak_mb"`  // peak live heap after a GC
	CPUSPerDoc     float64 `json:"cpu_s_per_doc"`      // CPU of this process per accepted document (hub and clients; only clients with hub_process)

	Senders    int     `json:"senders"`
	DurationS  float64 `json:"duration_s"`
	Go         string  `json:"go"`
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Agencies   int     `json:"agencies"`
	CorpusDocs int     `json:"corpus_docs"`
	PDFBytes   int64   `json:"pdf_bytes"` // mean corpus PDF size
	Mix        string  `json:"mix"`

	AcceptedTotal      int64   `json:"accepted_total"` // every phase, warm-ups included
	DeliveriesExpected int64   `json:"deliveries_expected"`
	DeliveriesTotal    int64   `json:"deliveries_total"`
	DrainS             float64 `json:"drain_s"`
	LimitDocsTotal     int64   `json:"limit_docs_total"`
	VerifyDocsTotal    int64   `json:"verify_docs_total"`
	Cache              string  `json:"cache"` // "hit", "built corpus" or "built hub+corpus"
	Inbox              string  `json:"inbox"` // "work dir", or the --inbox directory
}

// Run measures; see the package documentation.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	specs, err := cfg.specs()
	if err != nil {
		return nil, err
	}
	p, err := newPicker(specs, cfg.Mix)
	if err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(progress, "ltbench: "+format+"\n", args...)
	}
	if cfg.Cache == "" {
		if cfg.Cache, err = DefaultCache(); err != nil {
			return nil, err
		}
	}
	work := cfg.Dir
	if work == "" {
		if work, err = os.MkdirTemp("", "ltbench-*"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	hubDir, inbox, limitDir := filepath.Join(work, "hub"), filepath.Join(work, "inbox"), filepath.Join(work, "limit")
	for _, d := range []string{hubDir, inbox, limitDir} {
		if _, err := os.Stat(d); err == nil {
			return nil, fmt.Errorf("%s exists: give --dir an empty directory", d)
		}
	}
	if cfg.Inbox != "" {
		if inbox, err = os.MkdirTemp(cfg.Inbox, "ltbench-inbox-*"); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		defer os.RemoveAll(inbox)
	}

	c, err := openCorpus(ctx, cfg.Cache, specs, cfg.CorpusPerAgency, cfg.PDFSize, logf)
	if err != nil {
		return nil, err
	}
	res = &Result{
		Senders: cfg.Senders, DurationS: cfg.Duration.Seconds(), Go: runtime.Version(), CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Agencies: len(specs), CorpusDocs: len(c.all), PDFBytes: c.meanSize(),
		Mix: cfg.Mix.String(), Cache: "hit", Inbox: "work dir",
	}
	if cfg.Inbox != "" {
		res.Inbox = cfg.Inbox
	}
	if c.built != "" {
		res.Cache = "built " + c.built
	}
	logf("%d agencies, %d PDFs of %d bytes signed twice (cache %s: %s)", len(specs), len(c.all), res.PDFBytes, res.Cache, cfg.Cache)
	if err := copyTree(c.template, hubDir); err != nil {
		return nil, fmt.Errorf("copying the hub template: %w", err)
	}
	senders := sendingAgencies(specs, cfg.Senders, cfg.Seed)

	if err := measureOffline(ctx, cfg, c, p, senders, hubDir, limitDir, res, logf); err != nil {
		return nil, err
	}
	logf("floor: AES-GCM, SHA-256, writes and a flush, measured on this machine")
	if res.Floor, err = measureFloor(work, res.PDFBytes, res.VerifyDocsPerS1, min(cfg.VerifyDuration, 300*time.Millisecond)); err != nil {
		return nil, err
	}
	debug.FreeOSMemory() // the corpus bytes read for measureOffline
	if err := measureHub(ctx, cfg, specs, c, p, senders, hubDir, inbox, res, logf); err != nil {
		return nil, err
	}
	res.FloorCPUMsPerDoc = res.Floor.floorPerDoc(res.PDFBytes, res.Fanout)
	if res.FloorCPUMsPerDoc > 0 {
		res.RatioToFloor = res.DocsPerS / (float64(res.CPUs) * 1000 / res.FloorCPUMsPerDoc)
	}
	return res, nil
}

// measureOffline measures verification and the raw storage limit, with
// the corpus in memory, then frees it so it does not count in the hub's
// memory figures.
func measureOffline(ctx context.Context, cfg Config, c *corpus, p *picker, senders []string, hubDir, limitDir string, res *Result, logf func(string, ...any)) error {
	all := make([][]byte, 0, len(c.all))
	byAgency := make(map[string][][]byte, len(c.byAgency))
	for _, d := range c.all {
		b, err := os.ReadFile(d.path)
		if err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
		all = append(all, b)
		byAgency[d.agency] = append(byAgency[d.agency], b)
	}
	ts, err := trust.Load(provision.Layout{Dir: hubDir}.Trust())
	if err != nil {
		return err
	}
	logf("verification: %d PDFs, %s on one core, %s on %d", len(all), cfg.VerifyDuration, cfg.VerifyDuration, runtime.GOMAXPROCS(0))
	v, err := measureVerify(ctx, all, ts.VerifyOptions(), cfg.VerifyDuration)
	if err != nil {
		return err
	}
	res.VerifyDocsPerS, res.VerifyDocsPerS1, res.VerifyMBPerS, res.VerifyDocsTotal = v.AllCores, v.OneCore, v.MBPerS, v.Docs

	logf("raw limit: blob + store.Accept with %d goroutines, %s", len(senders), cfg.LimitDuration)
	lim, err := measureLimit(ctx, limitDir, byAgency, p, senders, cfg.Seed, min(cfg.Warmup, time.Second), cfg.LimitDuration)
	if err != nil {
		return err
	}
	res.LimitDocsPerS, res.LimitDocsTotal = lim.DocsPerS, lim.Docs
	if err := os.RemoveAll(limitDir); err != nil {
		return err
	}
	return nil
}

// measureHub runs the hub: the maximum rate, a drain, the open-loop run at
// half of it, a drain, and checks that every delivery was acknowledged
// exactly once.
func measureHub(ctx context.Context, cfg Config, specs []provision.SampleAgency, c *corpus, p *picker, senders []string, hubDir, inbox string, res *Result, logf func(string, ...any)) (err error) {
	mem := startMemSampler(50*time.Millisecond, "self")
	var r *hubRun
	stopHubRSS := func() int64 { return 0 }
	defer func() {
		peaks := mem.Stop()
		res.HubRSSMB = float64(peaks.RSS) / 1e6
		res.HeapPeakMB = float64(peaks.HeapObjects) / 1e6
		res.HeapLivePeakMB = float64(peaks.HeapLive) / 1e6
		if r != nil && r.proc != nil {
			// The Go heap figures are this process's: the clients'.
			res.ClientsRSSMB, res.HubRSSMB = res.HubRSSMB, float64(stopHubRSS())/1e6
		}
	}()
	where := "in this process"
	if cfg.Lthub != "" {
		where = "as its own process (" + cfg.Lthub + " serve)"
	}
	logf("hub: serving on 127.0.0.1 %s, %d clients connecting, %d receivers", where, len(specs), len(specs))
	var hubFlags []string
	if cfg.ProfileDir != "" && cfg.Lthub != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		hubFlags = append(hubFlags, "--cpu-profile", filepath.Join(cfg.ProfileDir, "hub-cpu.pprof"))
	}
	r, err = startHubRun(ctx, cfg.Lthub, cfg.LthubEnv, hubFlags, hubDir, inbox, c, p, senders, cfg.Seed, specs)
	if err != nil {
		return err
	}
	res.HubProcess = r.proc != nil
	if cfg.Clerk {
		if err := r.openDesks(filepath.Join(filepath.Dir(hubDir), "registers")); err != nil {
			return err
		}
		res.ClerkPath = true
	}
	if r.proc != nil {
		stopHubRSS = r.proc.WatchRSS(50 * time.Millisecond)
	}
	defer func() {
		if cerr := r.close(); err == nil {
			err = cerr
		}
	}()

	logf("maximum rate: %d senders, warm-up %s, measuring %s", cfg.Senders, cfg.Warmup, cfg.Duration)
	m, err := r.maxRun(cfg.Warmup, cfg.Duration, newProfiler(cfg.ProfileDir))
	if err != nil {
		return err
	}
	sec := m.elapsed.Seconds()
	res.DocsPerS = float64(m.docs) / sec
	res.DeliveredPerS = float64(m.delivered) / sec
	res.MBPerS = float64(m.bytes) / sec / 1e6
	res.P50Ms, res.P99Ms, res.P999Ms = m.lat.quantile(0.50), m.lat.quantile(0.99), m.lat.quantile(0.999)
	res.BacklogAtEnd = m.backlog
	if m.docs > 0 {
		res.Fanout = float64(m.recipients) / float64(m.docs)
		res.CPUSPerDoc = m.cpu.Seconds() / float64(m.docs)
		if r.proc != nil {
			res.HubCPUMsPerDoc = float64(m.hubCPU) / float64(time.Millisecond) / float64(m.docs)
		}
	}
	if res.LimitDocsPerS > 0 {
		res.Ratio = res.DocsPerS / res.LimitDocsPerS
	}
	logf("maximum rate: %.0f docs/s; draining %d deliveries", res.DocsPerS, r.expected.Load()-r.delivered.Load())
	drained, err := r.drain(cfg.DrainTimeout)
	res.DrainS = drained.Seconds()
	if err != nil {
		return err
	}

	if cfg.LatencyDuration > 0 {
		rate := cfg.LatencyRate
		if rate == 0 {
			rate = res.DocsPerS / 2
		}
		if rate > 0 {
			logf("open loop: %.1f docs/s offered for %s", rate, cfg.LatencyDuration)
			o, err := r.openLoop(rate, cfg.LatencyDuration)
			if err != nil {
				return err
			}
			res.HalfLoadRate, res.HalfLoadDocsPS = o.rate, o.achieved
			res.HalfLoadP50Ms, res.HalfLoadP99Ms, res.HalfLoadP999Ms = o.lat.quantile(0.50), o.lat.quantile(0.99), o.lat.quantile(0.999)
			d, err := r.drain(cfg.DrainTimeout)
			res.DrainS += d.Seconds()
			if err != nil {
				return err
			}
		}
		if cfg.LowRate > 0 {
			logf("open loop: %.1f docs/s offered for %s", cfg.LowRate, cfg.LatencyDuration)
			o, err := r.openLoop(cfg.LowRate, cfg.LatencyDuration)
			if err != nil {
				return err
			}
			res.LowRate, res.P50MsAt20, res.P99MsAt20 = cfg.LowRate, o.lat.quantile(0.50), o.lat.quantile(0.99)
			d, err := r.drain(cfg.DrainTimeout)
			res.DrainS += d.Seconds()
			if err != nil {
				return err
			}
		}
	}
	res.AcceptedTotal = r.accepted.Load()
	res.DeliveriesExpected, res.DeliveriesTotal = r.expected.Load(), r.delivered.Load()
	if res.DeliveriesTotal != res.DeliveriesExpected {
		return fmt.Errorf("recipients acknowledged %d deliveries, the hub's receipts promised %d", res.DeliveriesTotal, res.DeliveriesExpected)
	}
	return nil
}
