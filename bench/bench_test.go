package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/provision"
)

// TestTinyRun runs ltbench as a user would, on a tiny load, twice on the
// same cache, and checks the figures are consistent. It asserts nothing
// about speed.
func TestTinyRun(t *testing.T) {
	before := runtime.NumGoroutine()
	cache := t.TempDir()
	for i, want := range []string{"built hub+corpus", "hit"} {
		res := runTiny(t, cache)
		if res["cache"] != want {
			t.Errorf("run %d: cache %v, want %q", i+1, res["cache"], want)
		}
	}
	// Every goroutine of the hub, the clients and the harness has ended
	// (gRPC's take a moment after Close).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runTiny(t *testing.T, cache string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code := m.Run(ctx, []string{
		"--sample", "--cache", cache, "--dir", t.TempDir(),
		"--senders", "2", "--corpus", "1", "--pdf-size", "16K",
		"--warmup", "100ms", "--duration", "1s", "--latency-duration", "300ms",
		"--limit-duration", "200ms", "--verify-duration", "100ms",
	})
	if code != ExitOK {
		t.Fatalf("ltbench exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"docs_per_s", "p99_ms", "limit_docs_per_s", "hub_rss_mb", "verify_docs_per_s",
		"delivered_per_s", "mb_per_s", "p50_ms", "p999_ms", "half_load_p99_ms", "cpu_s_per_doc", "heap_peak_mb",
		"ratio", "senders", "duration_s", "go", "cpus"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	num := func(k string) float64 {
		v, _ := res[k].(float64)
		return v
	}
	accepted, expected, delivered := num("accepted_total"), num("deliveries_expected"), num("deliveries_total")
	switch {
	case accepted < 1:
		t.Errorf("accepted_total %v, want at least 1", accepted)
	case delivered != expected:
		t.Errorf("deliveries_total %v, deliveries_expected %v", delivered, expected)
	case expected < accepted:
		t.Errorf("%v deliveries for %v documents: every document has a recipient", expected, accepted)
	}
	if num("limit_docs_total") < 1 || num("verify_docs_total") < 1 {
		t.Errorf("limit_docs_total %v, verify_docs_total %v", num("limit_docs_total"), num("verify_docs_total"))
	}
	if num("senders") != 2 || num("duration_s") != 1 || num("agencies") != float64(len(provision.SampleProvince())) {
		t.Errorf("senders %v, duration_s %v, agencies %v", num("senders"), num("duration_s"), num("agencies"))
	}
	for _, k := range []string{"docs_per_s", "delivered_per_s", "mb_per_s", "p50_ms", "p99_ms", "p999_ms", "limit_docs_per_s",
		"verify_docs_per_s", "cpu_s_per_doc", "heap_peak_mb"} {
		if num(k) < 0 {
			t.Errorf("%s = %v", k, num(k))
		}
	}
	if num("p50_ms") > num("p99_ms") || num("p99_ms") > num("p999_ms") {
		t.Errorf("latency percentiles out of order: %v %v %v", num("p50_ms"), num("p99_ms"), num("p999_ms"))
	}
	return res
}

func TestGeneratedProvince(t *testing.T) {
	specs, err := GeneratedProvince(20, 10, 15)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1+20+10+10*15 || specs[0].Code != provinceCode {
		t.Fatalf("%d agencies, first %s", len(specs), specs[0].Code)
	}
	if _, err := newPicker(specs, DefaultConfig().Mix); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][3]int{{31, 1, 1}, {1, 70, 1}, {1, 1, 100}, {-1, 0, 0}} {
		if _, err := GeneratedProvince(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("GeneratedProvince%v: no error", bad)
		}
	}
}

// TestPicker checks that every choice is one the hub routes: no sender
// among its recipients, groups never empty, the mix respected.
func TestPicker(t *testing.T) {
	specs, err := GeneratedProvince(3, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, mix := range []Mix{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {50, 30, 20}} {
		p, err := newPicker(specs, mix)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 2000 {
			sender := specs[i%len(specs)].Code
			addr := p.pick(sender, rng)
			got, err := p.resolve(sender, addr)
			if err != nil {
				t.Fatalf("mix %s: %s → %v: %v", mix, sender, addr, err)
			}
			if slices.Contains(got, sender) || len(got) == 0 {
				t.Fatalf("mix %s: %s → %v resolved to %v", mix, sender, addr, got)
			}
			switch {
			case mix == Mix{1, 0, 0} && len(addr) != 1,
				mix == Mix{0, 1, 0} && (len(addr) < 2 || len(addr) > 5):
				t.Fatalf("mix %s: %v", mix, addr)
			case mix == Mix{0, 0, 1} && (len(addr) != 1 || !strings.Contains(addr[0], ":")):
				t.Fatalf("mix %s: %v is not a group", mix, addr)
			}
		}
	}
	if _, err := newPicker(specs[:1], Mix{1, 1, 1}); err == nil {
		t.Error("a one-agency directory was accepted")
	}
}

func TestSendingAgencies(t *testing.T) {
	specs := provision.SampleProvince()
	got := sendingAgencies(specs, 2*len(specs)+1, 1)
	if got[0] != specs[0].Code {
		t.Errorf("first sender %s, want the province", got[0])
	}
	first := slices.Clone(got[:len(specs)])
	slices.Sort(first)
	if len(slices.Compact(first)) != len(specs) {
		t.Errorf("the first %d senders are not every agency once: %v", len(specs), got[:len(specs)])
	}
	if !slices.Equal(got, sendingAgencies(specs, 2*len(specs)+1, 1)) {
		t.Error("same seed, different senders")
	}
}

func TestQuantile(t *testing.T) {
	var ls latencies
	for i := 1; i <= 1000; i++ {
		ls = append(ls, time.Duration(i)*time.Millisecond)
	}
	ls = ls.sorted()
	for q, want := range map[float64]float64{0.5: 500, 0.99: 990, 0.999: 999, 1: 1000} {
		if got := ls.quantile(q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := latencies(nil).quantile(0.5); got != 0 {
		t.Errorf("empty quantile %v", got)
	}
}

func TestParseFlags(t *testing.T) {
	for in, want := range map[string]int64{"204800": 204800, "200K": 200 << 10, "200KB": 200 << 10, "1M": 1 << 20, "1MiB": 1 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1K", "1G"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): no error", bad)
		}
	}
	if m, err := parseMix("5, 3,2"); err != nil || m != (Mix{5, 3, 2}) {
		t.Errorf("parseMix: %v %v", m, err)
	}
	for _, bad := range []string{"1,2", "0,0,0", "1,-1,1", "a,b,c"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q): no error", bad)
		}
	}
	var errb bytes.Buffer
	if code := (&Main{Stdout: &errb, Stderr: &errb}).Run(context.Background(), []string{"--senders", "0"}); code != ExitUsage {
		t.Errorf("--senders 0: exit %d", code)
	}
}
