package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// Flood sizes: LIENTHONG_FLOOD=20000 for the README's run; the default
// keeps `make test` short.
const (
	defaultFlood = 600
	// floodConcurrency is how many connections or streams the flood has
	// in the making at once.
	floodConcurrency = 500
	// probeWithin is how soon another agency's send and receive must
	// complete during the flood.
	probeWithin = 2 * time.Second
)

// TestFlood floods a real hub process on loopback with connections
// without a certificate (one health check each, then idle) and with
// stalled Send streams from one agency, and checks that another agency
// sends and receives within 2 s throughout, that the stalled agency got
// exactly its cap of streams, and that the hub's descriptors and memory
// stay bounded by the limits.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test: run without -short")
	}
	n, full := defaultFlood, false
	if v := os.Getenv("LIENTHONG_FLOOD"); v != "" {
		full = true
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("LIENTHONG_FLOOD=%q: want a positive count", v)
		}
	}
	raiseFileLimit(t, n)
	lim := limit.Defaults()

	dir := initHub(t)
	// The stalled uploads must outlive the flood: --send-idle is long.
	p := startHubProcess(t, dir, "127.0.0.1:0", "--send-idle", "10m")
	pid := p.cmd.Process.Pid
	tmpDir := filepath.Join(provision.Layout{Dir: dir}.Data(), "blobs", "tmp")
	mon := monitor(pid, tmpDir)
	defer mon.stop()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The agencies that must not notice the flood are connected first, as
	// running nodes are.
	sender, rcv := client(t, p.addr, dir, district), client(t, p.addr, dir, province)
	for _, c := range []*node.Client{sender, rcv} {
		if _, err := c.Agencies(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	pdf, _ := writePDF(t, dir, district, "probe.pdf", samplepdf.Options{Title: "Probe"})
	inbox := filepath.Join(t.TempDir(), "in")
	probe := func() (time.Duration, error) {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, err := sender.Send(pctx, node.Document{Recipients: []string{province}, Number: "1", Notation: "UBND", Subject: "Giữa cơn lũ",
			Files: []node.File{{Path: pdf}}}, nil)
		if err != nil {
			return 0, fmt.Errorf("send: %w", err)
		}
		var got bool
		if err := rcv.ReceiveInto(pctx, inbox, node.ReceiveOptions{}, func(r *node.Received) error {
			got = got || r.MessageID == res.MessageID
			return nil
		}); err != nil {
			return 0, fmt.Errorf("receive: %w", err)
		}
		if !got {
			return 0, fmt.Errorf("receive: %s not delivered", res.MessageID)
		}
		return time.Since(start), nil
	}
	idle, err := probe()
	must(t, err)
	baseFDs := mon.fds.Load()

	start := time.Now()
	atk := startAttacker(t, dir, p.addr, n)

	// Probe while the floods run, and once more after their last attempt.
	var probes []time.Duration
	for done := false; !done; {
		select {
		case <-atk.result:
			done = true
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			fds, tmp := mon.stop()
			t.Fatalf("the flood was not over within the test's time: the hub still holds the attacker's connections or streams (peak %d descriptors, %d temporary upload files)\n%s",
				fds, tmp, atk.out.String())
		}
		d, err := probe()
		if err != nil && !full {
			// Under a loaded machine's scheduling a probe may miss its
			// 10 s; only a refusal would be the hub's doing.
			t.Logf("probe during the flood: %v", err)
			continue
		}
		if err != nil {
			t.Fatalf("another agency during the flood: %v", err)
		}
		probes = append(probes, d)
	}
	floodTime := time.Since(start)
	res := atk.stats
	stalledTmp := mon.tmp.Load()
	atk.stop(t)

	worst := time.Duration(0)
	for _, d := range probes {
		worst = max(worst, d)
	}
	peakFDs, peakTmp := mon.stop()
	hwm := vmHWM(t, pid)
	// Descriptors: the certificate-less cap, the connections being
	// handshaken (at most the flood's concurrency), the agencies'
	// connections and the stalled uploads' temporary files, over what
	// the hub held before.
	// 64 more for connections the hub is closing or the probes' uploads.
	fdBound := baseFDs + int64(lim.MaxAnonymousConns+floodConcurrency+floodConns+lim.MaxSendsPerAgency+64)
	const rssBound = 512 << 20
	t.Logf("flood of %d certificate-less connections (%d answered, %d closed by the hub after the handshake, %d in the handshake queue) and %d stalled Sends (%d refused, %d held) in %s",
		n, res.answered, res.closed, res.failed, n, res.refused, n-res.refused, floodTime.Round(time.Millisecond))
	t.Logf("another agency's send+receive: %s idle, worst %s over %d probes during the flood", idle.Round(time.Millisecond), worst.Round(time.Millisecond), len(probes))
	t.Logf("hub process: peak %d descriptors (before the flood %d, bound %d), peak RSS (VmHWM) %d MiB (bound %d MiB), peak %d temporary upload files",
		peakFDs, baseFDs, fdBound, hwm>>20, rssBound>>20, peakTmp)

	// On a shared, loaded machine (`make test` beside other builds) the
	// probes' latency is the machine's; the measured run asserts it.
	if full && worst > probeWithin {
		t.Errorf("another agency's send and receive took up to %s during the flood, want within %s", worst, probeWithin)
	}
	if peakFDs > fdBound {
		t.Errorf("hub held up to %d descriptors, want at most %d", peakFDs, fdBound)
	}
	if hwm > rssBound {
		t.Errorf("hub RSS peaked at %d MiB, want under %d MiB", hwm>>20, rssBound>>20)
	}
	// The probes' own uploads (one at a time) add one, which may be in
	// flight when the stalled count is read.
	if capTmp := int64(lim.MaxSendsPerAgency); stalledTmp < capTmp || stalledTmp > capTmp+1 || peakTmp > int64(lim.MaxSendsPerAgency)+1 {
		t.Errorf("temporary upload files: %d while stalled, peak %d; want the cap, %d (and a probe's)", stalledTmp, peakTmp, lim.MaxSendsPerAgency)
	}
	if got := res.answered + res.closed + res.failed; got != n {
		t.Errorf("%d certificate-less connections accounted for, want %d", got, n)
	}
	if res.answered == 0 || res.answered == n {
		t.Errorf("certificate-less connections: %d answered of %d; want some, not all", res.answered, n)
	}
	if want := n - lim.MaxSendsPerAgency; res.refused != want {
		t.Errorf("%d flooding Sends refused, want all but the cap: %d", res.refused, want)
	}
	// The stalled uploads, cancelled, leave no temporary file.
	deadline := time.Now().Add(10 * time.Second)
	for tmpFiles(tmpDir) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d temporary files left after the stalled uploads ended", tmpFiles(tmpDir))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// raiseFileLimit raises this process's descriptor limit (inherited by the
// hub process) to its hard limit, and skips when that cannot hold the
// flood.
func raiseFileLimit(t *testing.T, n int) {
	t.Helper()
	var rl syscall.Rlimit
	must(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl))
	rl.Cur = rl.Max
	must(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl))
	// The client holds at most the concurrency plus what the hub keeps.
	if need := uint64(floodConcurrency + limit.Defaults().MaxAnonymousConns + 200); rl.Cur < need {
		t.Skipf("descriptor limit %d is below the %d the flood of %d needs", rl.Cur, need, n)
	}
}

// procMonitor samples the hub process's descriptors and its temporary
// upload files.
type procMonitor struct {
	fds, tmp         atomic.Int64 // latest
	peakFDs, peakTmp atomic.Int64
	done             chan struct{}
	once             sync.Once
	stopped          chan struct{}
}

func monitor(pid int, tmpDir string) *procMonitor {
	m := &procMonitor{done: make(chan struct{}), stopped: make(chan struct{})}
	sample := func() {
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			m.fds.Store(int64(len(ents)))
			m.peakFDs.Store(max(m.peakFDs.Load(), int64(len(ents))))
		}
		n := int64(tmpFiles(tmpDir))
		m.tmp.Store(n)
		m.peakTmp.Store(max(m.peakTmp.Load(), n))
	}
	sample()
	go func() {
		defer close(m.stopped)
		for {
			select {
			case <-m.done:
				return
			case <-time.After(10 * time.Millisecond):
				sample()
			}
		}
	}()
	return m
}

// stop ends the sampling and returns the peaks.
func (m *procMonitor) stop() (fds, tmp int64) {
	m.once.Do(func() { close(m.done) })
	<-m.stopped
	return m.peakFDs.Load(), m.peakTmp.Load()
}

func tmpFiles(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

// vmHWM is the process's peak resident set size, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			must(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// anonFlood opens connections without a client certificate, sends one
// health check on each over raw HTTP/2 (as a stranger's script would,
// without gRPC's reconnecting client) and keeps each open until the hub
// closes it. Each ends answered (the health check), closed (over the cap,
// right after the handshake) or failed (the handshake never completed:
// closed after waiting --handshake-timeout in the queue).
type anonFlood struct {
	addr                     string
	cfg                      *tls.Config
	answered, closed, failed atomic.Int64
}

func newAnonFlood(t *testing.T, dir, addr string) *anonFlood {
	t.Helper()
	pool := x509.NewCertPool()
	roots, err := pki.LoadCertificates(provision.Layout{Dir: dir}.CACert())
	must(t, err)
	pool.AddCert(roots[0])
	return &anonFlood{addr: addr, cfg: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}}
}

func (f *anonFlood) run(ctx context.Context, n int) {
	sem := make(chan struct{}, floodConcurrency)
	var held sync.WaitGroup
	for range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		held.Go(func() {
			f.one(ctx, f.cfg, f.addr, func() { <-sem })
		})
	}
	// Wait for the hub to close the last ones (AnonymousIdle), or the
	// flood to be stopped.
	held.Wait()
}

// one dials, asks for health and reads until the connection ends;
// dialled is called once the request is written (or failed).
func (f *anonFlood) one(ctx context.Context, cfg *tls.Config, addr string, dialled func()) {
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		dialled()
		f.failed.Add(1)
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	fr := http2.NewFramer(c, c)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, h := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":path", "/grpc.health.v1.Health/Check"},
		{":authority", addr}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
	}
	_, err = c.Write([]byte(http2.ClientPreface))
	if err == nil {
		err = fr.WriteSettings()
	}
	if err == nil {
		err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	}
	if err == nil {
		err = fr.WriteData(1, true, []byte{0, 0, 0, 0, 0}) // an empty HealthCheckRequest
	}
	dialled()
	answered := false
	for err == nil {
		var frame http2.Frame
		if frame, err = fr.ReadFrame(); err != nil {
			break
		}
		switch fm := frame.(type) {
		case *http2.SettingsFrame:
			if !fm.IsAck() {
				err = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !fm.IsAck() {
				err = fr.WritePing(true, fm.Data)
			}
		case *http2.HeadersFrame:
			answered = true
		}
	}
	if answered {
		f.answered.Add(1)
	} else {
		f.closed.Add(1)
	}
}

// sendFlood opens Send streams as one agency over several connections,
// each sending a valid envelope and then nothing.
type sendFlood struct {
	conns      int
	apis       []lienthongv1.ExchangeServiceClient
	env        *lienthongv1.SendRequest
	refused    atomic.Int64
	unexpected atomic.Pointer[error]
}

func newSendFlood(t *testing.T, dir, addr string) *sendFlood {
	t.Helper()
	f := &sendFlood{conns: floodConns}
	var id *node.Identity
	for range f.conns {
		c := client(t, addr, dir, commune)
		// Connected before the flood, as a misbehaving node would be.
		if _, err := c.Agencies(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		f.apis, id = append(f.apis, c.API()), c.Identity()
	}
	f.env = envMsg(signEnv(t, id, goodEnvelope(commune, bytes.Repeat([]byte("s"), 1<<20), district)))
	return f
}

func (f *sendFlood) run(ctx context.Context, n int) {
	apis, env := f.apis, f.env
	sem := make(chan struct{}, floodConcurrency)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		go func() {
			answered := make(chan struct{})
			go func() {
				// A stream the hub takes stalls here until the flood ends.
				f.one(ctx, apis[i%len(apis)], env)
				close(answered)
			}()
			select {
			case <-answered:
			case <-time.After(time.Second):
			}
			<-sem
		}()
	}
	for range floodConcurrency {
		sem <- struct{}{}
	}
}

func (f *sendFlood) one(ctx context.Context, api lienthongv1.ExchangeServiceClient, env *lienthongv1.SendRequest) {
	stream, err := api.Send(ctx)
	if err == nil {
		err = stream.Send(env)
	}
	// io.EOF: the hub has already answered; RecvMsg has the status.
	if err == nil || errors.Is(err, io.EOF) {
		err = stream.RecvMsg(new(lienthongv1.SendResponse))
	}
	st := status.Convert(err)
	switch {
	case ctx.Err() != nil:
	case st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "--max-sends-per-agency"):
		f.refused.Add(1)
	default:
		f.unexpected.Store(&err)
	}
}

// settle waits (at most 30 s) until want streams were refused and returns
// how many were.
func (f *sendFlood) settle(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.refused.Load() < int64(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // and no more than want
	got := int(f.refused.Load())
	if got != want {
		t.Errorf("%d flooding Sends refused, want all but the cap: %d", got, want)
	}
	return got
}

// floodConns is the number of connections the stalled Sends use.
const floodConns = 20

// attackEnv names the environment variable that makes the test binary
// TestFlood's attacker: "DIR ADDR N".
const attackEnv = "LIENTHONG_E2E_FLOOD_ATTACK"

// attackStats is what the attacker reports.
type attackStats struct{ answered, closed, failed, refused int }

// attacker is the flooding process: a stranger and a misbehaving agency
// on their own CPU share, as on other machines, so that the probes
// measure the hub, not the test's own scheduling.
type attacker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	result chan struct{} // closed once stats is set
	stats  attackStats
	out    *syncLog
	done   chan error
}

func startAttacker(t *testing.T, dir, addr string, n int) *attacker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFloodAttacker$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", attackEnv, dir, addr, n))
	a := &attacker{cmd: cmd, result: make(chan struct{}), out: new(syncLog), done: make(chan error, 1)}
	var err error
	a.stdin, err = cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = a.out
	must(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(a.out, sc.Text())
			if v, ok := strings.CutPrefix(sc.Text(), "flood result: "); ok {
				fmt.Sscanf(v, "%d %d %d %d", &a.stats.answered, &a.stats.closed, &a.stats.failed, &a.stats.refused)
				close(a.result)
			}
		}
		a.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return a
}

// stop tells the attacker to end its stalled streams and waits for it.
func (a *attacker) stop(t *testing.T) {
	t.Helper()
	a.stdin.Close()
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("attacker: %v\n%s", err, a.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("attacker did not stop\n%s", a.out.String())
	}
}

// TestFloodAttacker is TestFlood's attacker when run by it; otherwise it
// skips. It floods, reports "flood result: ANSWERED CLOSED FAILED
// REFUSED" once every attempt is answered but the stalled ones, and
// holds those until its stdin closes.
func TestFloodAttacker(t *testing.T) {
	spec := os.Getenv(attackEnv)
	if spec == "" {
		t.Skip("the attacker process of TestFlood")
	}
	var dir, addr string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %s %d", &dir, &addr, &n); err != nil {
		t.Fatalf("%s=%q: %v", attackEnv, spec, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	anon := newAnonFlood(t, dir, addr)
	sends := newSendFlood(t, dir, addr)
	var floods sync.WaitGroup
	floods.Go(func() { anon.run(ctx, n) })
	floods.Go(func() { sends.run(ctx, n) })
	floods.Wait()
	refused := sends.settle(t, n-limit.Defaults().MaxSendsPerAgency)
	if e := sends.unexpected.Load(); e != nil {
		t.Errorf("a flooding Send ended otherwise than refused for the cap: %v", *e)
	}
	fmt.Printf("flood result: %d %d %d %d\n", anon.answered.Load(), anon.closed.Load(), anon.failed.Load(), refused)
	io.Copy(io.Discard, os.Stdin)
}
