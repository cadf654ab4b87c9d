package year

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lienthong/lienthong/bench"
	"github.com/lienthong/lienthong/hub/provision"
)

// asLtyear makes this test binary act as ltyear in a child process: the
// hub process of a replay runs the same code as `ltyear serve-hub`.
const asLtyear = "LIENTHONG_YEAR_AS_LTYEAR=1"

func TestMain(m *testing.M) {
	if os.Getenv("LIENTHONG_YEAR_AS_LTYEAR") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Stdio().Run(ctx, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestTinyYear replays a small year through a hub in its own process, as
// make bench-year does (no timing is checked): the report, read after the
// hub stopped, must match the replay's own count, and the counters a
// recount; the hub's own CPU and memory are measured.
func TestTinyYear(t *testing.T) {
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, HubCommand: os.Args[0], HubEnv: []string{asLtyear}}
	prof := t.TempDir()
	code := m.Run(context.Background(), []string{"--docs", "300", "--departments", "3", "--districts", "2", "--communes", "3",
		"--senders", "8", "--dir", t.TempDir(), "--inbox", t.TempDir(), "--progress", "0", "--profile", prof})
	if code != 0 {
		t.Fatalf("ltyear exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	if res.Docs != 300 || !res.Match || !res.Recount || res.Agencies != 12 || res.Deliveries < 300 || res.Declarations == 0 {
		t.Fatalf("result %+v\n%s", res, out.String())
	}
	if !res.HubProcess || res.HubCPUMsPerDoc <= 0 || res.HubRSSMB <= 0 || res.ClientsCPUMsPerDoc <= 0 || res.YearHubAloneS <= 0 {
		t.Errorf("hub_process %v, hub_cpu_ms_per_doc %v, hub_rss_mb %v, clients_cpu_ms_per_doc %v, year_s_hub_alone %v",
			res.HubProcess, res.HubCPUMsPerDoc, res.HubRSSMB, res.ClientsCPUMsPerDoc, res.YearHubAloneS)
	}
	for _, name := range []string{"cpu.pprof", "hub-cpu.pprof"} {
		if fi, err := os.Stat(filepath.Join(prof, name)); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", name, err)
		}
	}
}

// TestTinyYearInProcess is the same replay with the hub inside the
// replay's process and the receivers on the work directory's disk.
func TestTinyYearInProcess(t *testing.T) {
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code := m.Run(context.Background(), []string{"--docs", "200", "--departments", "3", "--districts", "2", "--communes", "3",
		"--senders", "8", "--dir", t.TempDir(), "--inbox", "", "--progress", "0", "--in-process"})
	if code != 0 {
		t.Fatalf("ltyear exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	if res.Docs != 200 || !res.Match || !res.Recount || res.HubProcess || res.HubCPUMsPerDoc != 0 || res.Inbox != "work dir" {
		t.Fatalf("result %+v\n%s", res, out.String())
	}
}

func TestPlanTruth(t *testing.T) {
	// Two plans from one seed are the same; the truth adds up.
	a, err := NewPlan(mustProvince(t), 2000, 2026, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewPlan(mustProvince(t), 2000, 2026, 1)
	if len(a.Items) != len(b.Items) || a.Items[100].MessageID != b.Items[100].MessageID || a.Deliveries != b.Deliveries {
		t.Fatal("the same seed gave two plans")
	}
	var electronic, received int64
	groups := 0
	for _, tr := range a.Truth {
		electronic += tr.Electronic
		received += tr.Received
	}
	for _, it := range a.Items {
		if it.MessageID != "" && strings.Contains(it.Recipients[0], ":") {
			groups++
		}
		if it.MessageID != "" && it.At.Year() != 2026 {
			t.Fatalf("item at %v", it.At)
		}
	}
	if electronic != 2000 || received != a.Deliveries || groups == 0 {
		t.Fatalf("electronic %d, received %d of %d deliveries, %d group sends", electronic, received, a.Deliveries, groups)
	}
}

func mustProvince(t *testing.T) []provision.SampleAgency {
	t.Helper()
	specs, err := bench.GeneratedProvince(5, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	return specs
}
