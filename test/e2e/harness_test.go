// Package e2e holds black-box tests that run a real hub (bbolt on disk,
// gRPC with mutual TLS on a loopback port) and real node clients through
// the same code as the lthub and ltnode commands.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// Agencies of the sample province used throughout.
const (
	province  = "000.00.00.H53"
	deptNoiVu = "000.00.01.H53"
	deptTC    = "000.00.02.H53"
	district  = "000.00.31.H53"
	district2 = "000.00.32.H53"
	commune   = "000.01.31.H53"
	commune2  = "000.02.31.H53"
	commune3  = "000.03.31.H53"
)

// TestMain lets the test binary act as lthub in a child process, so tests
// can kill a real hub process with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("LIENTHONG_E2E_AS_LTHUB") == "1" {
		os.Exit(hubcli.Stdio().Run(context.Background(), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// initHub runs `lthub init` into a temporary directory and checks what it
// prints: the codes it created, one per line, the province first.
func initHub(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"init", "--sample", "--dir", dir}); code != 0 {
		t.Fatalf("lthub init exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(provision.SampleProvince()) || lines[0] != province {
		t.Fatalf("lthub init printed %q", lines)
	}
	return dir
}

// runningHub is a hub served in this process.
type runningHub struct {
	*hub.Hub
	dir  string
	stop func()
}

// startHub serves dir on a loopback port until the test ends.
func startHub(t *testing.T, dir string) *runningHub {
	t.Helper()
	return startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0"})
}

// startHubWith serves a hub configured by cfg until the test ends.
func startHubWith(t testing.TB, cfg hub.Config) *runningHub {
	t.Helper()
	dir := cfg.Dir
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("hub.Open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("hub.Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &runningHub{Hub: h, dir: dir, stop: stop}
}

// client dials the hub as one agency of dir.
func client(t testing.TB, addr, dir, code string) *node.Client {
	t.Helper()
	id, err := node.LoadIdentity(provision.Layout{Dir: dir}.Agency(code))
	if err != nil {
		t.Fatal(err)
	}
	c, err := node.Dial(addr, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ltnode runs the ltnode command as agency code and returns its exit
// code, stdout and stderr.
func ltnode(t *testing.T, addr, dir, code string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &nodecli.Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		switch k {
		case "LTNODE_HUB":
			return addr
		case "LTNODE_ID":
			return provision.Layout{Dir: dir}.Agency(code)
		}
		return ""
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc := m.Run(ctx, args)
	return rc, out.String(), errb.String()
}

// writePDF writes a real PDF signed by agency signer of hub directory dir
// (unsigned when signer is ""), and returns its path and SHA-256 (hex).
func writePDF(t testing.TB, dir, signer, name string, opts samplepdf.Options) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	must(t, err)
	must(t, samplepdf.Write(f, opts))
	must(t, f.Close())
	if signer != "" {
		signPDF(t, dir, signer, path)
	}
	return path, fileSHA256(t, path)
}

// signPDF signs path in place with the agency's key, as its clerk would
// with ltnode sign.
func signPDF(t testing.TB, dir, code, path string) {
	t.Helper()
	ad := provision.Layout{Dir: dir}.Agency(code)
	certs, err := pki.LoadCertificates(filepath.Join(ad, "cert.pem"))
	must(t, err)
	key, err := pki.LoadKey(filepath.Join(ad, "key.pem"))
	must(t, err)
	must(t, pades.SignFile(path, path, pades.SignOptions{Signer: key, Certificate: certs[0], Reason: "Phát hành", Time: time.Now()}))
}

func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return v
}

// hubProcess is lthub serve running as a child process.
type hubProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startHubProcess runs `lthub serve` (this test binary acting as lthub) on
// listen, with more flags if given, and waits until it serves.
func startHubProcess(t *testing.T, dir, listen string, flags ...string) *hubProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--dir", dir, "--listen", listen}, flags...)...)
	cmd.Env = append(os.Environ(), "LIENTHONG_E2E_AS_LTHUB=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hubProcess{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "lthub: serving on "); ok {
				lines <- a
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-lines:
	case err := <-p.done:
		t.Fatalf("lthub serve exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("lthub serve did not start\n%s", logs.String())
	}
	return p
}

func (p *hubProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
