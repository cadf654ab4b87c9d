package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lienthong/lienthong/hub"
)

// ServingPrefix starts the line a hub process prints on its standard
// output once it serves: "lthub: serving on HOST:PORT", as `lthub serve`
// does. Any other command run by StartHubProcess must print it too.
const ServingPrefix = "lthub: serving on "

// HubProcess is a hub running as a child process (`lthub serve`, or a
// command acting as it), so that what the hub costs (its CPU, its memory)
// is measured apart from the clients driving it.
type HubProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan error

	mu   sync.Mutex
	logs bytes.Buffer // the hub's stderr (JSON log lines), for errors
}

// ServeInProcess opens the hub of cfg and serves it inside this process
// until stop (which may be called more than once). The hub outlives ctx:
// it stops only in stop, after the clients, even when ctx ends first. Its
// goroutines carry the profiler label side=hub, so that a CPU profile of
// this process tells the hub from its clients (pprof -tagfocus side=hub).
func ServeInProcess(ctx context.Context, cfg hub.Config) (h *hub.Hub, stop func() error, err error) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	labels := pprof.Labels("side", "hub")
	pprof.Do(hctx, labels, func(hctx context.Context) { h, err = hub.Open(hctx, cfg) })
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting the hub: %w", err)
	}
	served := make(chan error, 1)
	go pprof.Do(hctx, labels, func(hctx context.Context) { served <- h.Serve(hctx) })
	return h, sync.OnceValue(func() error { cancel(); return <-served }), nil
}

// LthubServeArgs are the arguments of `lthub serve` on hubDir with a
// loopback port chosen by the kernel, then flags.
func LthubServeArgs(hubDir string, flags ...string) []string {
	return append([]string{"serve", "--dir", hubDir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, flags...)
}

// startHubProcess runs lthub (a path to the binary) serve on hubDir; see
// StartHubProcess.
func startHubProcess(ctx context.Context, lthub, hubDir string, extraEnv []string, flags ...string) (*HubProcess, error) {
	return StartHubProcess(ctx, lthub, LthubServeArgs(hubDir, flags...), extraEnv)
}

// StartHubProcess runs bin with args and waits until it prints the
// ServingPrefix line. extraEnv is added to the environment (a test binary
// standing in for lthub needs it). Stop or Kill ends it.
func StartHubProcess(ctx context.Context, bin string, args, extraEnv []string) (*HubProcess, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &HubProcess{cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{&p.mu, &p.logs}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), ServingPrefix); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.addr = <-addr:
		return p, nil
	case err := <-p.done:
		return nil, fmt.Errorf("%s %s exited before serving (%v): %s", bin, args[0], err, p.log())
	case <-time.After(60 * time.Second):
		p.Kill()
		return nil, fmt.Errorf("%s %s did not start within 60s: %s", bin, args[0], p.log())
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
}

// Addr is the gRPC address the hub serves on.
func (p *HubProcess) Addr() string { return p.addr }

func (p *HubProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(p.logs.String())
}

// Stop asks the hub to shut down (SIGTERM) and waits for it.
func (p *HubProcess) Stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("hub process: %w: %s", err, p.log())
		}
		return nil
	case <-time.After(2 * time.Minute):
		p.Kill()
		return fmt.Errorf("hub process did not stop within 2 minutes after SIGTERM")
	}
}

// Kill ends the hub with SIGKILL, as a power cut would.
func (p *HubProcess) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// CPU is the user and system CPU the hub process has used, from
// /proc/PID/stat (clock ticks of 1/100 s on Linux).
func (p *HubProcess) CPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * (time.Second / clockTicks)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// WatchRSS samples the hub's resident set every interval (and resets its
// kernel peak first) until the returned stop, which gives the peak in
// bytes.
func (p *HubProcess) WatchRSS(interval time.Duration) (stop func() int64) {
	m := startMemSampler(interval, strconv.Itoa(p.cmd.Process.Pid))
	return func() int64 { return m.Stop().RSS }
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
