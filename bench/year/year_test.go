package year

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/bench"
	"github.com/lienthong/lienthong/hub/provision"
)

// TestTinyYear replays a small year (no timing is checked): the report
// must match the replay's own count, and the counters a recount.
func TestTinyYear(t *testing.T) {
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code := m.Run(context.Background(), []string{"--docs", "300", "--departments", "3", "--districts", "2", "--communes", "3",
		"--senders", "8", "--dir", t.TempDir(), "--progress", "0"})
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
