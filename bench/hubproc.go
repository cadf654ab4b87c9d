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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hubProcess is `lthub serve` running as a child process, so that what
// the hub costs (its CPU, its memory) is measured apart from the clients
// driving it.
type hubProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan error

	mu   sync.Mutex
	logs bytes.Buffer // the hub's stderr (JSON log lines), for errors
}

// startHubProcess runs lthub (a path to the binary) serve on hubDir with
// a loopback port chosen by the kernel, and waits until it serves.
// extraEnv is added to the environment (a test binary standing in for
// lthub needs it).
func startHubProcess(ctx context.Context, lthub, hubDir string, extraEnv []string, flags ...string) (*hubProcess, error) {
	args := append([]string{"serve", "--dir", hubDir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, flags...)
	cmd := exec.Command(lthub, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &hubProcess{cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{&p.mu, &p.logs}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", lthub, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "lthub: serving on "); ok {
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
		return nil, fmt.Errorf("lthub serve exited before serving (%v): %s", err, p.log())
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("lthub serve did not start within 60s: %s", p.log())
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

func (p *hubProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(p.logs.String())
}

// stop asks the hub to shut down (SIGTERM) and waits for it.
func (p *hubProcess) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("lthub serve: %w: %s", err, p.log())
		}
		return nil
	case <-time.After(2 * time.Minute):
		p.kill()
		return fmt.Errorf("lthub serve did not stop within 2 minutes after SIGTERM")
	}
}

// kill ends the hub with SIGKILL, as a power cut would.
func (p *hubProcess) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// cpu is the user and system CPU the hub process has used, from
// /proc/PID/stat (clock ticks of 1/100 s on Linux).
func (p *hubProcess) cpu() time.Duration {
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

// rss returns the hub's resident set size now and its high-water mark.
func (p *hubProcess) rss() (now, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	now, _ = statusField(b, "VmRSS")
	peak, _ = statusField(b, "VmHWM")
	return now, peak
}

// resetPeak resets the hub's VmHWM to its current RSS, so a peak covers
// only the span that follows.
func (p *hubProcess) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0) == nil
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
