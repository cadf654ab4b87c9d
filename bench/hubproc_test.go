package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/node"
)

// asLthub makes this test binary act as lthub in a child process, so the
// hub-process mode and a SIGKILL of the hub are tested on the same code
// as the lthub command.
const asLthub = "LIENTHONG_BENCH_AS_LTHUB=1"

func TestMain(m *testing.M) {
	if os.Getenv("LIENTHONG_BENCH_AS_LTHUB") == "1" {
		// As cmd/lthub does: SIGTERM is a graceful stop.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := hubcli.Stdio().Run(ctx, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestTinyRunHubProcess runs ltbench with the hub as its own lthub process
// and the senders on the clerk's path (the outbox), and checks the hub's own figures are there and plausible: its CPU per
// document, its memory, and the latency at the low rate. It asserts
// nothing about speed.
func TestTinyRunHubProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, LthubEnv: []string{asLthub}}
	prof, work := t.TempDir(), t.TempDir()
	code := m.Run(ctx, []string{
		"--sample", "--cache", t.TempDir(), "--dir", work, "--lthub", os.Args[0], "--profile", prof, "--clerk",
		"--senders", "2", "--corpus", "1", "--pdf-size", "16K",
		"--warmup", "100ms", "--duration", "1s", "--latency-duration", "500ms", "--low-rate", "20",
		"--limit-duration", "200ms", "--verify-duration", "100ms",
	})
	if code != ExitOK {
		t.Fatalf("ltbench exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out.String())
	}
	// The clerk's path: every sending agency's register on disk.
	regs, _ := filepath.Glob(filepath.Join(work, "registers", "*", "node.db"))
	if !res.ClerkPath || len(regs) != 2 {
		t.Errorf("clerk_path %v, %d registers", res.ClerkPath, len(regs))
	}
	if !res.HubProcess || res.HubCPUMsPerDoc <= 0 || res.HubRSSMB <= 0 || res.ClientsRSSMB <= 0 {
		t.Errorf("hub_process %v, hub_cpu_ms_per_doc %v, hub_rss_mb %v, clients_rss_mb %v", res.HubProcess, res.HubCPUMsPerDoc, res.HubRSSMB, res.ClientsRSSMB)
	}
	if res.LowRate != 20 || res.P99MsAt20 <= 0 || res.P50MsAt20 > res.P99MsAt20 {
		t.Errorf("low_rate %v, p50_ms_at_20 %v, p99_ms_at_20 %v", res.LowRate, res.P50MsAt20, res.P99MsAt20)
	}
	if res.DeliveriesTotal != res.DeliveriesExpected || res.AcceptedTotal < 1 {
		t.Errorf("accepted %d, deliveries %d of %d", res.AcceptedTotal, res.DeliveriesTotal, res.DeliveriesExpected)
	}
	f := res.Floor
	if f.AESGCMNsPerByte <= 0 || f.SHA256NsPerByte <= 0 || f.WriteNsPerByte <= 0 || f.VerifyMsPerDoc <= 0 || f.FsyncMs < 0 {
		t.Errorf("floor parts %+v", f)
	}
	if want := f.floorPerDoc(res.PDFBytes, res.Fanout); res.FloorCPUMsPerDoc != want || want <= f.VerifyMsPerDoc {
		t.Errorf("floor_cpu_ms_per_doc %v, parts sum to %v", res.FloorCPUMsPerDoc, want)
	}
	if want := res.DocsPerS / (float64(res.CPUs) * 1000 / res.FloorCPUMsPerDoc); res.RatioToFloor != want {
		t.Errorf("ratio_to_floor %v, want %v", res.RatioToFloor, want)
	}
	for _, name := range []string{"hub-cpu.pprof", "cpu.pprof"} {
		if fi, err := os.Stat(filepath.Join(prof, name)); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", name, err)
		}
	}
	if !strings.Contains(errb.String(), "as its own process") {
		t.Errorf("progress does not say the hub runs apart:\n%s", errb.String())
	}
}

// TestAcceptedSurvivesHubKill: every document the benchmark counts as
// accepted is still on the hub, with its recipients, after the hub process
// is killed with SIGKILL in the middle of the load and started again —
// nothing of the durability is skipped to get the figures.
func TestAcceptedSurvivesHubKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	specs := provision.SampleProvince()
	c, err := openCorpus(ctx, t.TempDir(), specs, 1, 16<<10, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPicker(specs, DefaultConfig().Mix)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	hubDir := filepath.Join(work, "hub")
	if err := copyTree(c.template, hubDir); err != nil {
		t.Fatal(err)
	}
	senders := sendingAgencies(specs, 4, 1)
	r, err := startHubRun(ctx, os.Args[0], []string{asLthub}, nil, hubDir, filepath.Join(work, "inbox"), c, p, senders, 1, specs)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	accepted := make(map[string]string) // message id → sender
	r.onAccepted = func(sender, id string) {
		mu.Lock()
		defer mu.Unlock()
		accepted[id] = sender
	}
	var wg sync.WaitGroup
	for i, agency := range senders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(1, uint64(i)))
			for r.ctx.Err() == nil {
				if _, _, err := r.sendOne(agency, rng); err != nil {
					return // the kill ends every sender with an error
				}
			}
		})
	}
	for r.accepted.Load() < 20 && r.ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	r.proc.Kill()
	wg.Wait()
	r.stopHub = func() error { return nil }
	r.close()
	if len(accepted) < 20 {
		t.Fatalf("only %d documents accepted before the kill", len(accepted))
	}

	again, err := startHubProcess(ctx, os.Args[0], hubDir, []string{asLthub})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	clients := make(map[string]*node.Client)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	if err := DialAgencies(again.Addr(), provision.Layout{Dir: hubDir}, specs, clients); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for id, sender := range accepted {
		tr, err := clients[sender].Track(ctx, id)
		if err != nil || len(tr.Recipients) == 0 {
			t.Errorf("accepted %s is gone after SIGKILL: %v", id, err)
			continue
		}
		checked++
	}
	t.Logf("%d accepted documents checked after SIGKILL of the hub", checked)
}
