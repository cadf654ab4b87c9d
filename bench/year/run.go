package year

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lienthong/lienthong/bench"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// Config sizes a replay.
type Config struct {
	Docs                             int
	Departments, Districts, Communes int // communes per district
	Senders                          int // concurrent sending goroutines
	MaxInFlight                      int // deliveries sent but not yet acknowledged
	Seed                             uint64
	Dir                              string // work directory; a temporary one if empty
	// Inbox, if set, is where the receivers write (a folder is made in it
	// and removed after); otherwise in Dir, on the hub's disk.
	// DefaultInbox gives a tmpfs where there is one.
	Inbox    string
	Logf     func(format string, args ...any)
	Progress time.Duration
	// HubCommand, if set, runs the hub as its own process: this binary
	// with the arguments "serve-hub --dir ... --clock ..." (cmd/ltyear
	// is such a binary; Main.Run takes that verb), HubEnv added to its
	// environment; its CPU and memory are then measured apart from the
	// replay's. "" serves the hub inside this process.
	HubCommand string
	HubEnv     []string
	// ProfileDir, if set, receives cpu.pprof, this process's CPU profile
	// of the replay (setup and report excluded; with the hub inside this
	// process its goroutines carry the label side=hub), and with
	// HubCommand hub-cpu.pprof, the hub process's from start to stop.
	ProfileDir string
}

// DefaultConfig is the province-year of issue #7: 800,000 documents among
// 1,011 agencies, the receivers writing to DefaultInbox.
func DefaultConfig() Config {
	return Config{Docs: 800_000, Departments: 30, Districts: 20, Communes: 48, Senders: 48, MaxInFlight: 4096, Seed: 2026,
		Progress: 30 * time.Second, Inbox: DefaultInbox()}
}

// DefaultInbox is /dev/shm when it is a directory: the 1,011 receiving
// agencies run on their own machines in a deployment, so their writes,
// flushes and the removal of every folder once counted (which a replay
// needs so that its disk does not fill) must not load the hub's disk.
// Elsewhere it is "": the work directory.
func DefaultInbox() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return ""
}

// Result is what a replay measured and found.
type Result struct {
	Agencies     int           `json:"agencies"`
	Docs         int64         `json:"docs"`
	Declarations int64         `json:"declarations"`
	Deliveries   int64         `json:"deliveries"`
	Steps        int64         `json:"status_steps"`
	Wall         time.Duration `json:"-"`
	WallS        float64       `json:"wall_s"`
	DocsPerS     float64       `json:"docs_per_s"`
	DiskMB       float64       `json:"disk_mb"` // the hub's data directory
	DBMB         float64       `json:"db_mb"`
	Match        bool          `json:"compliance_match"`
	Mismatches   []string      `json:"mismatches,omitempty"`
	Recount      bool          `json:"counters_equal_recount"`
	Inbox        string        `json:"inbox"` // "work dir", or Config.Inbox

	// HubProcess is true when the hub ran as its own process; the hub
	// figures are then of that process alone, over the replay.
	HubProcess bool `json:"hub_process"`
	// HubCPUMsPerDoc is the hub process's CPU (user+system) per document
	// sent, with its share of deliveries, acknowledgements, status steps
	// and declarations.
	HubCPUMsPerDoc float64 `json:"hub_cpu_ms_per_doc"`
	HubRSSMB       float64 `json:"hub_rss_mb"` // peak RSS of the hub process
	// ClientsCPUMsPerDoc is this process's CPU per document: the 1,011
	// agencies' nodes (senders and receivers) and the replay's
	// bookkeeping, all of which would run elsewhere in a deployment.
	ClientsCPUMsPerDoc float64 `json:"clients_cpu_ms_per_doc"`
	CPUs               int     `json:"cpus"`
	// YearS is the time the default year (DefaultConfig().Docs
	// documents) takes at this run's rate: an extrapolation unless this
	// run was that year. YearHubAloneS is the time it would take if the
	// hub had every core of this machine to itself (its CPU per document
	// × documents ÷ cores), the clients on other machines: a projection.
	YearS         float64 `json:"year_s_at_this_rate"`
	YearHubAloneS float64 `json:"year_s_hub_alone"`
}

// simClock is the hub's simulated clock.
type simClock struct{ ns *atomic.Int64 }

func (c *simClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// advance moves the clock to t unless it is there already.
func (c *simClock) advance(t time.Time) {
	for {
		cur := c.ns.Load()
		if t.UnixNano() <= cur || c.ns.CompareAndSwap(cur, t.UnixNano()) {
			return
		}
	}
}

// Run replays the year and checks the compliance report.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	specs, err := bench.GeneratedProvince(cfg.Departments, cfg.Districts, cfg.Communes)
	if err != nil {
		return nil, err
	}
	const year = 2026
	plan, err := NewPlan(specs, cfg.Docs, year, cfg.Seed)
	if err != nil {
		return nil, err
	}
	work := cfg.Dir
	if work == "" {
		if work, err = os.MkdirTemp("", "lienthong-year-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
	}
	hubDir := filepath.Join(work, "hub")
	setupTime := time.Date(year-1, 12, 30, 9, 0, 0, 0, compliance.Zone())
	setupBegan := time.Now()
	cfg.Logf("creating a hub for %d agencies in %s", len(specs), hubDir)
	if _, err := hub.Init(ctx, hubDir, provision.Options{Agencies: specs, Now: func() time.Time { return setupTime },
		Validity: 20 * 365 * 24 * time.Hour}); err != nil {
		return nil, fmt.Errorf("creating the hub: %w", err)
	}
	pdfs, err := signedPDFs(ctx, hubDir, filepath.Join(work, "pdf"), specs, setupTime.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}

	clock := &simClock{ns: new(atomic.Int64)}
	clockPath := filepath.Join(work, "clock")
	if cfg.HubCommand != "" {
		c, unmap, err := mapClock(clockPath, true)
		if err != nil {
			return nil, err
		}
		defer unmap()
		clock = c
	}
	clock.advance(time.Date(year, 1, 1, 0, 0, 0, 0, compliance.Zone()))
	srv, err := serve(ctx, cfg, hubDir, clockPath, clock)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	clients := make(map[string]*node.Client, len(specs))
	closeClients := func() {
		for code, c := range clients {
			c.Close()
			delete(clients, code)
		}
	}
	defer closeClients()
	l := provision.Layout{Dir: hubDir}
	if err := bench.DialAgencies(srv.addr, l, specs, clients); err != nil {
		return nil, err
	}
	if err := bench.ConnectAgencies(ctx, clients); err != nil {
		return nil, err
	}
	cfg.Logf("hub created, %d PDFs signed, %d agencies connected in %v", len(pdfs), len(clients), time.Since(setupBegan).Round(100*time.Millisecond))
	// The nodes date and check documents by the replay's clock, as the hub
	// does: a due date is checked against the day it is sent.
	for _, c := range clients {
		c.Identity().Now = clock.Now
	}

	r := &replay{plan: plan, clock: clock, clients: clients, pdfs: pdfs, flights: make(map[string]*flight, cfg.Docs)}
	for i := range plan.Items {
		if it := &plan.Items[i]; it.MessageID != "" {
			f := &flight{at: it.At, outcome: it.Outcome}
			f.left.Store(int32(len(it.Resolved)))
			r.flights[it.MessageID] = f
		}
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.ctx, r.fail = rctx, cancel
	inbox, inboxName := filepath.Join(work, "inbox"), "work dir"
	if cfg.Inbox != "" {
		if inbox, err = os.MkdirTemp(cfg.Inbox, "ltyear-inbox-*"); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		defer os.RemoveAll(inbox)
		inboxName = cfg.Inbox
	}
	stopReceivers, err := r.startReceivers(inbox)
	if err != nil {
		return nil, err
	}
	defer stopReceivers()

	stopProfile, err := startCPUProfile(cfg.ProfileDir)
	if err != nil {
		return nil, err
	}
	stopHubRSS := func() int64 { return 0 }
	if srv.proc != nil {
		stopHubRSS = srv.proc.WatchRSS(100 * time.Millisecond)
	}
	cpu0, hubCPU0 := bench.ProcessCPU(), srv.cpu()
	began := time.Now()
	stopProgress := r.progress(cfg.Progress, began, srv, cfg.Logf)
	err = r.dispatch(cfg.Senders, int64(cfg.MaxInFlight))
	if err == nil {
		err = r.drain(10 * time.Minute)
	}
	stopProgress()
	wall := time.Since(began)
	cpu, hubCPU := bench.ProcessCPU()-cpu0, srv.cpu()-hubCPU0
	hubRSS := stopHubRSS()
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	cfg.Logf("replayed %d documents in %v; stopping the hub, then checking the compliance report", r.docs.Load(), wall.Round(time.Second))
	stopReceivers()
	closeClients()
	if err := srv.stop(); err != nil {
		return nil, fmt.Errorf("stopping the hub: %w", err)
	}

	res := &Result{Agencies: len(specs), Docs: r.docs.Load(), Declarations: r.decls.Load(), Deliveries: r.acked.Load(),
		Steps: r.steps.Load(), Inbox: inboxName, Wall: wall, WallS: wall.Seconds(), DocsPerS: float64(r.docs.Load()) / wall.Seconds(),
		HubProcess: srv.proc != nil, HubRSSMB: float64(hubRSS) / 1e6, CPUs: runtime.NumCPU()}
	if res.Docs > 0 {
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(res.Docs) }
		res.ClientsCPUMsPerDoc = ms(cpu)
		res.YearS = float64(DefaultConfig().Docs) / res.DocsPerS
		if srv.proc != nil {
			res.HubCPUMsPerDoc = ms(hubCPU)
			res.YearHubAloneS = float64(DefaultConfig().Docs) * res.HubCPUMsPerDoc / 1000 / float64(res.CPUs)
		}
	}
	// The report is read from what the stopped hub left on disk.
	clock.advance(time.Date(year+1, 1, 1, 0, 0, 0, 0, compliance.Zone()))
	rep, check, err := reportOffline(ctx, hubDir, clock, compliance.YearPeriod(year))
	if err != nil {
		return nil, err
	}
	res.Mismatches = compare(rep, plan.Truth)
	res.Match = len(res.Mismatches) == 0
	res.Recount = len(check.Differences) == 0
	data := l.Data()
	res.DiskMB = float64(diskUsage(data)) / 1e6
	if fi, err := os.Stat(filepath.Join(data, "hub.db")); err == nil {
		res.DBMB = float64(fi.Size()) / 1e6
	}
	return res, nil
}

// server is the hub the replay runs against.
type server struct {
	addr string
	proc *bench.HubProcess // nil: the hub serves inside this process
	stop func() error      // idempotent
}

// cpu is the hub process's CPU so far (0 for a hub inside this process).
func (s *server) cpu() time.Duration {
	if s.proc == nil {
		return 0
	}
	return s.proc.CPU()
}

// serve starts the hub of hubDir on loopback: as its own process when
// cfg.HubCommand is set (its clock the mapped file clockPath), otherwise
// inside this process on clock.
func serve(ctx context.Context, cfg Config, hubDir, clockPath string, clock *simClock) (*server, error) {
	if cfg.HubCommand != "" {
		args := []string{serveHubVerb, "--dir", hubDir, "--listen", "127.0.0.1:0", "--clock", clockPath}
		if cfg.ProfileDir != "" {
			args = append(args, "--cpu-profile", filepath.Join(cfg.ProfileDir, "hub-cpu.pprof"))
		}
		cfg.Logf("starting the hub as its own process: %s %s", cfg.HubCommand, serveHubVerb)
		p, err := bench.StartHubProcess(ctx, cfg.HubCommand, args, cfg.HubEnv)
		if err != nil {
			return nil, err
		}
		return &server{addr: p.Addr(), proc: p, stop: sync.OnceValue(p.Stop)}, nil
	}
	h, stop, err := bench.ServeInProcess(ctx, hub.Config{Dir: hubDir, Listen: "127.0.0.1:0", Now: clock.Now})
	if err != nil {
		return nil, err
	}
	return &server{addr: h.Addr(), stop: stop}, nil
}

// reportOffline opens the stopped hub of hubDir on clock, builds the
// compliance report of period and recounts the counters, and closes it.
func reportOffline(ctx context.Context, hubDir string, clock *simClock, period compliance.Period) (*compliance.Report, *store.CounterCheck, error) {
	h, err := hub.Open(ctx, hub.Config{Dir: hubDir, Listen: "127.0.0.1:0", Now: clock.Now})
	if err != nil {
		return nil, nil, fmt.Errorf("opening the hub for the report: %w", err)
	}
	rep, err := h.Admin().Build(ctx, period, "")
	if err != nil {
		err = fmt.Errorf("building the report: %w", err)
	}
	var check *store.CounterCheck
	if err == nil {
		if check, err = h.Store().CheckCounters(ctx, false); err != nil {
			err = fmt.Errorf("recounting the counters: %w", err)
		}
	}
	if serr := h.Serve(canceled()); err == nil && serr != nil {
		err = fmt.Errorf("closing the hub after the report: %w", serr)
	}
	return rep, check, err
}

// signedPDFs writes one small PDF per agency, signed with its key, on
// every core.
func signedPDFs(ctx context.Context, hubDir, dir string, specs []provision.SampleAgency, at time.Time) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l := provision.Layout{Dir: hubDir}
	paths := make([]string, len(specs))
	errs := make([]error, len(specs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				paths[i], errs[i] = signedPDF(l, dir, specs[i].Code, at)
			}
		})
	}
	for i := range specs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(specs))
	for i, s := range specs {
		out[s.Code] = paths[i]
	}
	return out, nil
}

func signedPDF(l provision.Layout, dir, code string, at time.Time) (string, error) {
	raw, err := samplepdf.Bytes(samplepdf.Options{Title: "Van ban cua " + code, Lines: []string{"Thu tai mot nam lien thong"}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, code+".pdf")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return "", err
	}
	certs, err := pki.LoadCertificates(filepath.Join(l.Agency(code), "cert.pem"))
	if err != nil {
		return "", err
	}
	key, err := pki.LoadKey(filepath.Join(l.Agency(code), "key.pem"))
	if err != nil {
		return "", err
	}
	if err := pades.SignFile(path, path, pades.SignOptions{Signer: key, Certificate: certs[0], Reason: "Phát hành", Time: at}); err != nil {
		return "", fmt.Errorf("signing the PDF of %s: %w", code, err)
	}
	return path, nil
}

// flight is a planned document on its way: its time and how many of its
// recipients have not yet acknowledged it and reported their steps.
type flight struct {
	at      time.Time
	outcome Outcome
	left    atomic.Int32
}

// lag bounds how far, in simulated time, the clock may run ahead of the
// oldest document not yet settled: recipients finish documents right
// after acknowledging them, and must do so well within the 30 days a due
// date gives, or finished documents would count overdue.
const lag = 3 * 24 * time.Hour

// replay is a running replay.
type replay struct {
	plan    *Plan
	clock   *simClock
	clients map[string]*node.Client
	pdfs    map[string]string
	// flights holds every planned document's progress; the map is
	// read-only once receivers start.
	flights map[string]*flight

	ctx  context.Context
	fail context.CancelCauseFunc

	// settled counts deliveries acknowledged with their steps reported.
	docs, decls, issued, acked, steps, settled atomic.Int64
}

func (r *replay) err() error {
	if c := context.Cause(r.ctx); c != nil {
		return c
	}
	return nil
}

// startReceivers runs one node receiver per agency: each document is
// stored and acknowledged by the node library, then the planned steps are
// reported and the folder removed so the disk does not fill.
func (r *replay) startReceivers(inbox string) (stop func(), err error) {
	opts := node.ReceiveOptions{OnNotification: func(*lienthongv1.ReceiptBody, *lienthongv1.Receipt) error { return nil }}
	return bench.StartReceivers(r.ctx, r.clients, inbox, opts, func(_ string, c *node.Client, rc *node.Received) error {
		r.acked.Add(1)
		if err := r.stepsFor(r.ctx, c, rc.MessageID); err != nil {
			return err
		}
		r.settled.Add(1)
		if f := r.flights[rc.MessageID]; f != nil {
			f.left.Add(-1)
		}
		return nil
	}, func(err error) { r.fail(err) })
}

func (r *replay) stepsFor(ctx context.Context, c *node.Client, id string) error {
	var steps []lienthongv1.Status
	reason := ""
	switch r.flights[id].outcome {
	case Finish:
		steps = []lienthongv1.Status{lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_DONE}
	case Reject:
		steps, reason = []lienthongv1.Status{lienthongv1.Status_STATUS_REJECTED}, "Không thuộc thẩm quyền"
	}
	for _, st := range steps {
		if _, err := c.ReportStatus(ctx, id, st, reason); err != nil {
			return fmt.Errorf("reporting %s of %s: %w", st, id, err)
		}
		r.steps.Add(1)
	}
	return nil
}

// dispatch plays the plan in order with senders goroutines, advancing the
// hub's clock to each item's time. It keeps at most maxInFlight deliveries
// not yet settled (acknowledged and their steps reported), and the clock
// within lag of the oldest document not settled.
func (r *replay) dispatch(senders int, maxInFlight int64) error {
	items := make(chan *Item, senders)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for it := range items {
				if err := r.play(it); err != nil {
					r.fail(err)
				}
			}
		})
	}
	var pending []*flight // dispatched documents, oldest first, until settled
	for i := range r.plan.Items {
		it := &r.plan.Items[i]
		for it.MessageID != "" && r.err() == nil {
			for len(pending) > 0 && pending[0].left.Load() == 0 {
				pending = pending[1:]
			}
			if r.issued.Load()-r.settled.Load() <= maxInFlight && (len(pending) == 0 || it.At.Sub(pending[0].at) <= lag) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if r.err() != nil {
			break
		}
		r.clock.advance(it.At)
		r.issued.Add(int64(len(it.Resolved)))
		if it.MessageID != "" {
			pending = append(pending, r.flights[it.MessageID])
		}
		items <- it
	}
	close(items)
	wg.Wait()
	return r.err()
}

func (r *replay) play(it *Item) error {
	c := r.clients[it.Sender]
	date := compliance.DayOf(it.At).String()
	if it.Declaration != 0 {
		kind := lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER
		if it.Declaration == compliance.ChannelSecret {
			kind = lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET
		}
		if _, err := c.API().Declare(r.ctx, &lienthongv1.DeclareRequest{Kind: kind, Number: fmt.Sprint(it.Number),
			Notation: "QĐ-UBND", IssueDate: date, DocumentType: "Quyết định"}); err != nil {
			return fmt.Errorf("declaring %d of %s: %w", it.Number, it.Sender, err)
		}
		r.decls.Add(1)
		return nil
	}
	res, err := c.Send(r.ctx, node.Document{
		MessageID: it.MessageID, Recipients: it.Recipients, Number: fmt.Sprint(it.Number), Notation: "UBND-VP",
		IssueDate: date, DocumentType: "Công văn", Subject: "Văn bản thử tải một năm liên thông", DueDate: it.Due,
		Files: []node.File{{Path: r.pdfs[it.Sender], Name: "van-ban.pdf"}},
	}, nil)
	if err != nil {
		return fmt.Errorf("sending %s from %s: %w", it.MessageID, it.Sender, err)
	}
	got := slices.Sorted(slices.Values(res.Body.GetRecipients()))
	if want := slices.Sorted(slices.Values(it.Resolved)); !slices.Equal(got, want) {
		return fmt.Errorf("message %s to %v: the hub resolved %v, want %v", it.MessageID, it.Recipients, got, want)
	}
	r.docs.Add(1)
	return nil
}

// drain waits until every delivery is acknowledged and every planned step
// reported.
func (r *replay) drain(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for r.acked.Load() < r.plan.Deliveries || r.steps.Load() < r.plan.Steps {
		if err := r.err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %d of %d deliveries acknowledged, %d of %d steps reported",
				timeout, r.acked.Load(), r.plan.Deliveries, r.steps.Load(), r.plan.Steps)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func (r *replay) progress(every time.Duration, began time.Time, srv *server, logf func(string, ...any)) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	hub0 := srv.cpu()
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				el := time.Since(began).Seconds()
				docs := r.docs.Load()
				hub := ""
				if srv.proc != nil && docs > 0 {
					hub = fmt.Sprintf(", hub CPU %.2f ms/document", float64(srv.cpu()-hub0)/float64(time.Millisecond)/float64(docs))
				}
				logf("%s: %d/%d documents (%.0f/s), %d/%d deliveries acknowledged, simulated %s%s",
					time.Since(began).Round(time.Second), docs, len(r.flights), float64(docs)/el,
					r.acked.Load(), r.plan.Deliveries, compliance.DayOf(r.clock.Now()), hub)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// compare lists where the report differs from the truth.
func compare(rep *compliance.Report, truth map[string]*Truth) []string {
	var out []string
	seen := 0
	for _, a := range rep.Agencies {
		t, ok := truth[a.Code]
		if !ok {
			out = append(out, fmt.Sprintf("%s: in the report, not in the replay", a.Code))
			continue
		}
		seen++
		for _, c := range []struct {
			name      string
			got, want int64
		}{
			{"electronic", a.Electronic, t.Electronic}, {"signed", a.Signed, t.Electronic},
			{"paper", a.Paper, t.Paper}, {"secret", a.Secret, t.Secret},
			{"received", a.Received, t.Received}, {"acknowledged", a.Acknowledged, t.Received},
			{"done", a.Done, t.Done}, {"due", a.Due, t.Due}, {"overdue", a.Overdue, t.Overdue},
			{"possibly_paper", a.PossiblyPaper, t.Missing},
		} {
			if c.got != c.want {
				out = append(out, fmt.Sprintf("%s %s: report %d, replay %d", a.Code, c.name, c.got, c.want))
			}
		}
	}
	if seen != len(truth) {
		out = append(out, fmt.Sprintf("report has %d of the %d agencies", seen, len(truth)))
	}
	return out
}

// diskUsage is the space files under dir take on disk.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// startCPUProfile writes this process's CPU profile to dir/cpu.pprof until
// stop; with dir "" it does nothing.
func startCPUProfile(dir string) (stop func() error, err error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		return nil
	}, nil
}
