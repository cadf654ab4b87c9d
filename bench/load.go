package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
)

// openDesks gives each sending agency a clerk's desk with its register
// (outbox and books) in a bbolt file under dir, as ltnode keeps it.
func (r *hubRun) openDesks(dir string) error {
	r.desks = make(map[string]*desk.Desk)
	for _, a := range r.senders {
		if r.desks[a] != nil {
			continue
		}
		reg, err := register.Open(filepath.Join(dir, a, "node.db"), register.Options{})
		if err != nil {
			return err
		}
		d, err := desk.New(desk.Config{Client: r.clients[a], Register: reg, InboxDir: filepath.Join(dir, a, "inbox")})
		if err != nil {
			return err
		}
		r.desks[a] = d
	}
	return nil
}

// hubRun is a hub served in this process and one node client per agency:
// the senders use the clients of their agencies, and every agency
// receives.
type hubRun struct {
	corpus  *corpus
	picker  *picker
	senders []string // the agency of each sender
	seed    uint64
	clients map[string]*node.Client

	// ctx ends at the first failure of any sender or receiver; fail ends it.
	ctx  context.Context
	fail context.CancelCauseFunc

	// expected counts the deliveries the hub promised: the recipients of
	// every accepted receipt. delivered counts the documents received,
	// checked and acknowledged by their recipients.
	expected, delivered atomic.Int64
	// While inWindow, acknowledgements also count in winDelivered.
	inWindow     atomic.Bool
	winDelivered atomic.Int64

	docNo    atomic.Int64 // numbers the documents
	accepted atomic.Int64
	// desks, when set (Config.Clerk), are the sending agencies' clerk's
	// desks: documents go through the outbox in a register on disk,
	// exactly as `ltnode send` sends them.
	desks map[string]*desk.Desk
	// onAccepted, if set, is told each message the benchmark counts as
	// accepted (the durability test checks them after a SIGKILL).
	onAccepted func(sender, messageID string)
	today      string

	stopReceivers func()
	stopHub       func() error
	// proc is the hub's process when it runs apart (Config.Lthub), else
	// nil: the hub serves inside this process.
	proc *HubProcess
}

// hubCPU is the CPU the hub process has used, or 0 when the hub runs in
// this process.
func (r *hubRun) hubCPU() time.Duration {
	if r.proc == nil {
		return 0
	}
	return r.proc.CPU()
}

// startHubRun serves the hub directory hubDir (a fresh copy of the
// template) on 127.0.0.1:0, dials it as every agency, connects them (the
// TLS handshakes happen here, not in a measurement) and starts the
// receivers, which write under inbox.
// With lthub set (the path of an lthub binary), the hub is that binary's
// `lthub serve`, a process of its own; lthubEnv is added to its
// environment.
// hubFlags are added to its command line.
func startHubRun(ctx context.Context, lthub string, lthubEnv, hubFlags []string, hubDir, inbox string, c *corpus, p *picker, senders []string, seed uint64, specs []provision.SampleAgency) (r *hubRun, err error) {
	r = &hubRun{corpus: c, picker: p, senders: senders, seed: seed, clients: make(map[string]*node.Client, len(specs)),
		today: time.Now().Format(time.DateOnly)}
	var addr string
	if lthub != "" {
		proc, err := startHubProcess(ctx, lthub, hubDir, lthubEnv, hubFlags...)
		if err != nil {
			return nil, err
		}
		r.proc, addr, r.stopHub = proc, proc.Addr(), proc.Stop
	} else {
		h, stop, err := ServeInProcess(ctx, hub.Config{Dir: hubDir, Listen: "127.0.0.1:0"})
		if err != nil {
			return nil, err
		}
		addr, r.stopHub = h.Addr(), stop
	}
	r.ctx, r.fail = context.WithCancelCause(ctx)
	r.stopReceivers = func() {}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if err := DialAgencies(addr, provision.Layout{Dir: hubDir}, specs, r.clients); err != nil {
		return r, err
	}
	if err := ConnectAgencies(r.ctx, r.clients); err != nil {
		return r, err
	}
	if err := r.startReceivers(inbox); err != nil {
		return r, err
	}
	return r, nil
}

// close stops the receivers, closes the clients and stops the hub.
func (r *hubRun) close() error {
	r.stopReceivers()
	for _, c := range r.clients {
		c.Close()
	}
	err := r.stopHub()
	r.fail(nil)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// err is the first failure, or nil.
func (r *hubRun) err() error {
	if r.ctx.Err() == nil {
		return nil
	}
	return context.Cause(r.ctx)
}

// startReceivers runs one receiver per agency (StartReceivers), counting
// the documents acknowledged.
func (r *hubRun) startReceivers(inbox string) error {
	stop, err := StartReceivers(r.ctx, r.clients, inbox, node.ReceiveOptions{}, func(string, *node.Client, *node.Received) error {
		r.delivered.Add(1)
		if r.inWindow.Load() {
			r.winDelivered.Add(1)
		}
		return nil
	}, func(err error) { r.fail(err) })
	if err != nil {
		return err
	}
	r.stopReceivers = stop
	return nil
}

// sendOne sends one corpus document of agency to recipients chosen by the
// picker and returns its size and the number of resolved recipients.
func (r *hubRun) sendOne(agency string, rng *rand.Rand) (size int64, recipients int, err error) {
	docs := r.corpus.byAgency[agency]
	d := docs[rng.IntN(len(docs))]
	n := r.docNo.Add(1)
	doc := node.Document{
		Recipients: r.picker.pick(agency, rng),
		Number:     strconv.FormatInt(n, 10), Notation: "QĐ-UBND", IssueDate: r.today, DocumentType: "Quyết định",
		Subject: "Về việc thử tải trục liên thông văn bản", Signer: "Lãnh đạo " + agency,
		Files: []node.File{{Path: d.path, Name: "van-ban.pdf"}},
	}
	var res *node.SendResult
	if dk := r.desks[agency]; dk != nil {
		sending, err := dk.Send(r.ctx, doc, nil)
		if err != nil {
			return 0, 0, err
		}
		if sending.Queued {
			return 0, 0, fmt.Errorf("hub unreachable, %s queued in the outbox: %v", sending.MessageID, sending.Unreachable)
		}
		res = sending.Result
	} else {
		var err error
		if res, err = r.clients[agency].Send(r.ctx, doc, nil); err != nil {
			return 0, 0, err
		}
	}
	if res.Duplicate {
		return 0, 0, fmt.Errorf("hub took new message %s for a duplicate", res.MessageID)
	}
	recipients = len(res.Body.GetRecipients())
	r.expected.Add(int64(recipients))
	r.accepted.Add(1)
	if r.onAccepted != nil {
		r.onAccepted(agency, res.MessageID)
	}
	return d.size, recipients, nil
}

// sendStats are one sender's figures for the measurement window.
type sendStats struct {
	docs, bytes, recipients int64
	lat                     latencies
}

// maxResult is the closed-loop measurement.
type maxResult struct {
	elapsed    time.Duration
	docs       int64
	bytes      int64
	recipients int64
	delivered  int64         // acknowledgements in the window
	backlog    int64         // deliveries outstanding when the window closed
	cpu        time.Duration // this process: clients, and the hub when it runs inside
	hubCPU     time.Duration // the hub's process, when it runs apart
	lat        latencies     // sorted
}

// maxRun runs every sender as fast as the hub answers for warmup, then
// measures for dur; prof, if not nil, profiles the measurement window.
func (r *hubRun) maxRun(warmup, dur time.Duration, prof *profiler) (maxResult, error) {
	var stop atomic.Bool
	stats := make([]sendStats, len(r.senders))
	var wg sync.WaitGroup
	for i, agency := range r.senders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(r.seed, uint64(i)))
			for !stop.Load() && r.ctx.Err() == nil {
				start := time.Now()
				size, n, err := r.sendOne(agency, rng)
				if err != nil {
					if r.ctx.Err() == nil {
						r.fail(fmt.Errorf("sender %d as %s: %w", i, agency, err))
					}
					return
				}
				if r.inWindow.Load() {
					s := &stats[i]
					s.lat = append(s.lat, time.Since(start))
					s.docs++
					s.bytes += size
					s.recipients += int64(n)
				}
			}
		})
	}
	sleep(r.ctx, warmup)
	var res maxResult
	perr := prof.start()
	cpu0, hub0 := ProcessCPU(), r.hubCPU()
	r.winDelivered.Store(0)
	r.inWindow.Store(true)
	t0 := time.Now()
	sleep(r.ctx, dur)
	r.inWindow.Store(false)
	res.elapsed = time.Since(t0)
	res.cpu, res.hubCPU = ProcessCPU()-cpu0, r.hubCPU()-hub0
	res.delivered = r.winDelivered.Load()
	res.backlog = r.expected.Load() - r.delivered.Load()
	perr = errors.Join(perr, prof.stop())
	stop.Store(true)
	wg.Wait()
	if err := r.err(); err != nil {
		return res, err
	}
	if perr != nil {
		return res, perr
	}
	for _, s := range stats {
		res.docs += s.docs
		res.bytes += s.bytes
		res.recipients += s.recipients
		res.lat = append(res.lat, s.lat...)
	}
	slices.Sort(res.lat)
	return res, nil
}

// openResult is the open-loop measurement.
type openResult struct {
	rate     float64 // offered, docs/s
	achieved float64 // completed docs/s
	docs     int64
	lat      latencies // from each document's scheduled start, sorted
}

// openLoop offers rate documents/s for dur whatever the hub's answers:
// document i is due at start + i/rate and its latency counts from then, so
// queueing behind a slow hub shows (no coordinated omission). A pool of
// workers, four per sender, takes the due documents.
func (r *hubRun) openLoop(rate float64, dur time.Duration) (openResult, error) {
	n := max(int(rate*dur.Seconds()), 1)
	due := make(chan time.Time, n)
	workers := max(4*len(r.senders), 16)
	lats := make([]latencies, workers)
	var wg sync.WaitGroup
	for w := range workers {
		agency := r.senders[w%len(r.senders)]
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(r.seed, uint64(1<<32+w)))
			for at := range due {
				if r.ctx.Err() != nil {
					return
				}
				if _, _, err := r.sendOne(agency, rng); err != nil {
					if r.ctx.Err() == nil {
						r.fail(fmt.Errorf("open-loop sender as %s: %w", agency, err))
					}
					return
				}
				lats[w] = append(lats[w], time.Since(at))
			}
		})
	}
	start := time.Now()
	timer := time.NewTimer(0)
	<-timer.C
schedule:
	for i := range n {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.ctx.Done():
				break schedule
			}
		}
		due <- at
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	if err := r.err(); err != nil {
		return openResult{}, err
	}
	res := openResult{rate: rate}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	slices.Sort(res.lat)
	res.docs = int64(len(res.lat))
	res.achieved = float64(res.docs) / elapsed.Seconds()
	return res, nil
}

// drain waits until every promised delivery is acknowledged.
func (r *hubRun) drain(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		exp, got := r.expected.Load(), r.delivered.Load()
		if got >= exp {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("%d of %d deliveries still not acknowledged after %s", exp-got, exp, timeout)
		}
		sleep(r.ctx, 10*time.Millisecond)
		if err := r.err(); err != nil {
			return time.Since(start), err
		}
	}
}

// traceSpan is how much of the measured span the execution trace covers
// (a trace grows by megabytes per second under load).
const traceSpan = 2 * time.Second

// profiler writes a CPU profile and allocation profiles of a span to dir,
// and an execution trace of its first traceSpan; a nil profiler does
// nothing.
type profiler struct {
	dir       string
	cpu       *os.File
	trace     *os.File
	traceStop *time.Timer
	traceMu   sync.Mutex
	traceErr  error
}

func newProfiler(dir string) *profiler {
	if dir == "" {
		return nil
	}
	return &profiler{dir: dir}
}

func (p *profiler) writeAllocs(name string) error {
	runtime.GC() // the allocs profile is as of the last GC
	f, err := os.Create(filepath.Join(p.dir, name))
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	return f.Close()
}

func (p *profiler) start() error {
	if p == nil {
		return nil
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := p.writeAllocs("allocs-base.pprof"); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(p.dir, "cpu.pprof"))
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	p.cpu = f
	tf, err := os.Create(filepath.Join(p.dir, "trace.out"))
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := trace.Start(tf); err != nil {
		tf.Close()
		return fmt.Errorf("profile: %w", err)
	}
	p.trace = tf
	p.traceStop = time.AfterFunc(traceSpan, p.stopTrace)
	return nil
}

func (p *profiler) stopTrace() {
	p.traceMu.Lock()
	defer p.traceMu.Unlock()
	if p.trace == nil {
		return
	}
	trace.Stop()
	p.traceErr = p.trace.Close()
	p.trace = nil
}

func (p *profiler) stop() error {
	if p == nil || p.cpu == nil {
		return nil
	}
	if p.traceStop != nil {
		p.traceStop.Stop()
	}
	p.stopTrace()
	pprof.StopCPUProfile()
	err := p.cpu.Close()
	p.cpu = nil
	return errors.Join(p.traceErr, err, p.writeAllocs("allocs.pprof"))
}
