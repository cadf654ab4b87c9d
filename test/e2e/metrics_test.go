package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v2"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/pki"
)

// scrape is one read of a hub's /metrics.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t testing.TB, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// value is the value of the series of family name whose labels include
// labels (name=value pairs); 0 when there is none. A histogram gives its
// sample count.
func (s scrape) value(name string, labels ...string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// histSum is the sum of the samples of histogram name.
func (s scrape) histSum(name string) float64 {
	var sum float64
	for _, m := range s[name].GetMetric() {
		sum += m.GetHistogram().GetSampleSum()
	}
	return sum
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// names are the sample names of a scrape, histograms' _bucket, _sum and
// _count included: what a PromQL expression can name.
func (s scrape) names() map[string]bool {
	out := make(map[string]bool)
	for name, f := range s {
		out[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				out[name+suf] = true
			}
		}
	}
	return out
}

// The counters of /metrics move by exactly what was sent: 7 documents
// accepted, 3 refused for an unknown recipient, 7 deliveries received and
// acknowledged; the queue gauges follow; the hub's certificate expiry,
// disk and readiness are there; and every metric the sample Grafana
// dashboard and the alert rules name exists in the scrape.
func TestMetricsCountExactly(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	url := "http://" + h.MetricsAddr() + "/metrics"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := scrapeMetrics(t, url)

	sender := client(t, h.Addr(), dir, commune)
	var bytesSent float64
	for range 7 {
		res, err := sendSigned(t, ctx, dir, sender, district)
		must(t, err)
		if res.Duplicate {
			t.Fatal("a new document was answered as a re-send")
		}
	}
	for _, f := range blobSizes(t, dir) {
		bytesSent += f
	}
	const unknown = "000.09.31.H53" // well-formed, not in the directory
	for range 3 {
		_, err := sendSigned(t, ctx, dir, sender, unknown)
		if status.Code(err) != codes.NotFound {
			t.Fatalf("send to %s: %v, want NotFound", unknown, err)
		}
	}
	mid := scrapeMetrics(t, url)

	delta := func(after scrape, name string, labels ...string) float64 {
		return after.value(name, labels...) - before.value(name, labels...)
	}
	checks := []struct {
		what string
		got  float64
		want float64
	}{
		{"accepted (verdict valid)", delta(mid, "lienthong_documents_accepted_total", "verdict", "valid"), 7},
		{"accepted (all verdicts)", delta(mid, "lienthong_documents_accepted_total"), 7},
		{"refused not_found", delta(mid, "lienthong_documents_refused_total", "reason", "not_found"), 3},
		{"refused (all reasons)", delta(mid, "lienthong_documents_refused_total"), 3},
		{"Send calls refused not_found", delta(mid, "lienthong_requests_refused_total", "op", "Send", "reason", "not_found"), 3},
		{"gRPC Send OK", delta(mid, "grpc_server_handled_total", "grpc_method", "Send", "grpc_code", "OK"), 7},
		{"gRPC Send NotFound", delta(mid, "grpc_server_handled_total", "grpc_method", "Send", "grpc_code", "NotFound"), 3},
		{"verifications TOTAL-PASSED accepted", delta(mid, "lienthong_verifications_total", "indication", "TOTAL-PASSED", "outcome", "accepted"), 7},
		{"verification time samples", delta(mid, "lienthong_verification_seconds"), 7},
		{"blob commits", delta(mid, "lienthong_blob_commit_seconds"), 7},
		{"blob bytes", delta(mid, "lienthong_blob_bytes_total"), bytesSent},
		{"blob commits served by flushes (two each)", mid.histSum("lienthong_flush_waiters") - before.histSum("lienthong_flush_waiters"), 14},
		{"pending for districts", mid.value("lienthong_queue_pending", "level", "district"), 7},
		{"pending for communes", mid.value("lienthong_queue_pending", "level", "commune"), 0},
		{"district recipients waiting", mid.value("lienthong_queue_recipients", "level", "district"), 1},
		{"deliveries before receiving", delta(mid, "lienthong_deliveries_total"), 0},
		{"ready", mid.value("lienthong_ready"), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: moved by %v, want %v", c.what, c.got, c.want)
		}
	}
	if age := mid.value("lienthong_queue_oldest_age_seconds", "level", "district"); age <= 0 {
		t.Errorf("oldest undelivered age for districts = %v, want > 0", age)
	}
	// The 7 acceptances are 7 writes; the 3 refusals' audit entries ride
	// in 1 to 3 more (one per group commit that found them waiting).
	if n := mid.histSum("lienthong_store_batch_writes") - before.histSum("lienthong_store_batch_writes"); n < 8 || n > 10 {
		t.Errorf("writes carried by group commits = %v, want 7 acceptances + 1..3 audit writes", n)
	}
	if n := mid.value("lienthong_store_commit_seconds") - before.value("lienthong_store_commit_seconds"); n < 1 || n > 10 {
		t.Errorf("group commits for 7 acceptances and 3 refusals = %v, want 1..10", n)
	}

	// The certificate expiry is the hub certificate's NotAfter.
	hubCert, err := pki.LoadCertificates(provision.Layout{Dir: dir}.HubCert())
	must(t, err)
	if got := mid.value("lienthong_certificate_expiry_timestamp_seconds", "role", "hub"); got != float64(hubCert[0].NotAfter.Unix()) {
		t.Errorf("hub certificate expiry = %v, want %v", got, hubCert[0].NotAfter.Unix())
	}
	if mid.value("lienthong_disk_free_bytes") <= 0 || mid.value("lienthong_disk_size_bytes") <= 0 {
		t.Error("disk figures missing")
	}

	// A Receive stream that waits is an open stream while it lasts.
	rctx, stopWaiting := context.WithCancel(ctx)
	recv := client(t, h.Addr(), dir, district)
	inbox := filepath.Join(t.TempDir(), "in")
	got := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- recv.ReceiveInto(rctx, inbox, node.ReceiveOptions{Wait: true}, func(r *node.Received) error {
			got <- r.MessageID
			return nil
		})
	}()
	for range 7 {
		select {
		case <-got:
		case <-time.After(time.Minute):
			t.Fatal("the district did not receive its 7 documents")
		}
	}
	waitUntil(t, func() bool {
		s := scrapeMetrics(t, url)
		return delta(s, "lienthong_acknowledgements_total") == 7 && s.value("lienthong_queue_pending", "level", "district") == 0
	})
	open := scrapeMetrics(t, url)
	if n := open.value("lienthong_open_streams", "method", "Receive"); n != 1 {
		t.Errorf("open Receive streams while one waits = %v, want 1", n)
	}
	stopWaiting()
	must(t, <-done)
	after := scrapeMetrics(t, url)
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"deliveries", delta(after, "lienthong_deliveries_total"), 7},
		{"acknowledgements", delta(after, "lienthong_acknowledgements_total"), 7},
		{"pending for districts", after.value("lienthong_queue_pending", "level", "district"), 0},
		{"oldest age for districts", after.value("lienthong_queue_oldest_age_seconds", "level", "district"), 0},
		{"accepted, unchanged", delta(after, "lienthong_documents_accepted_total"), 7},
	} {
		if c.got != c.want {
			t.Errorf("after receiving, %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	waitUntil(t, func() bool { return scrapeMetrics(t, url).value("lienthong_open_streams", "method", "Receive") == 0 })

	// The same registry on the dashboard's plain HTTP listener.
	if s := scrapeMetrics(t, "http://"+h.HTTPAddr()+"/metrics"); s.value("lienthong_documents_accepted_total") != after.value("lienthong_documents_accepted_total") {
		t.Error("/metrics on --http differs from --metrics-listen")
	}
	for _, addr := range []string{h.MetricsAddr(), h.HTTPAddr()} {
		body := getOK(t, "http://"+addr+"/readyz")
		if !strings.Contains(body, `"status":"ready"`) {
			t.Errorf("/readyz on %s = %s", addr, body)
		}
	}
	// The metrics listener serves nothing of the dashboard.
	resp, err := http.Get("http://" + h.MetricsAddr() + "/")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / on --metrics-listen = %s, want 404", resp.Status)
	}

	checkDeployReferences(t, after)
}

// blobSizes returns the sizes of the files the hub of dir stores.
func blobSizes(t *testing.T, dir string) []float64 {
	t.Helper()
	var out []float64
	root := filepath.Join(provision.Layout{Dir: dir}.Data(), "blobs")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "tmp" || d.Name() == "damaged") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, float64(info.Size()))
		}
		return nil
	})
	must(t, err)
	return out
}

func getOK(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

// waitUntil polls cond for up to 30 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDeployReferences parses deploy/prometheus-alerts.yml and
// deploy/grafana-dashboard.json and checks that every metric their
// expressions name is in the scrape.
func checkDeployReferences(t *testing.T, s scrape) {
	t.Helper()
	have := s.names()
	have["up"] = true // written by Prometheus itself for every target
	root := filepath.Join("..", "..", "deploy")

	raw, err := os.ReadFile(filepath.Join(root, "prometheus-alerts.yml"))
	must(t, err)
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalStrict(raw, &rules); err != nil {
		t.Fatalf("prometheus-alerts.yml: %v", err)
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %q: needs alert, expr, a severity label and a summary", r.Alert)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
				}
			}
			checkExpr(t, "alert "+r.Alert, r.Expr, have)
		}
	}
	for _, want := range []string{"LienthongQueueOldDelivery", "LienthongDiskLow", "LienthongCertificateExpiresSoon", "LienthongRefusalSpike"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s missing from prometheus-alerts.yml", want)
		}
	}

	raw, err = os.ReadFile(filepath.Join(root, "grafana-dashboard.json"))
	must(t, err)
	var board struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &board); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if len(board.Panels) == 0 {
		t.Fatal("grafana-dashboard.json has no panels")
	}
	for _, p := range board.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, have)
		}
	}
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?`)
	promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// checkExpr fails unless every metric name in the PromQL expression is in
// have. Functions (a name before "("), label names (inside {} and in
// by/without/on lists), strings and ranges are not metric names.
func checkExpr(t *testing.T, where, expr string, have map[string]bool) {
	t.Helper()
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	n := 0
	for _, m := range promIdent.FindAllStringSubmatch(e, -1) {
		tok := m[1]
		if m[2] != "" || slices.Contains(promKeywords, strings.ToLower(tok)) {
			continue
		}
		n++
		if !have[tok] {
			t.Errorf("%s names metric %q, which a hub's /metrics does not have (expr: %s)", where, tok, expr)
		}
	}
	if n == 0 {
		t.Errorf("%s: no metric found in %q", where, expr)
	}
}

// promtool (Prometheus' own checker) accepts the alert rules, passes
// their unit tests (deploy/prometheus-alerts.test.yml: which alerts fire
// on which series, with which labels and texts), and finds nothing to
// lint in a real hub's /metrics.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool not found: install it from the Debian package prometheus (.ci/run extracts /usr/bin/promtool from it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	run := func(stdin io.Reader, args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Join("..", "..", "deploy")
		cmd.Stdin = stdin
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(nil, "check", "rules", "prometheus-alerts.yml")
	run(nil, "test", "rules", "prometheus-alerts.test.yml")

	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	body := getOK(t, "http://"+h.MetricsAddr()+"/metrics")
	run(strings.NewReader(body), "check", "metrics")
}

// A document taken out of delivery because a stored file is damaged is
// not counted as delivered: of two documents for the district, one
// damaged, deliveries and acknowledgements move by one each.
func TestMetricsQuarantinedIsNotDelivered(t *testing.T) {
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	url := "http://" + h.MetricsAddr() + "/metrics"
	sender := client(t, h.Addr(), dir, commune)
	sendPDF(t, dir, sender, commune, "1", "Van ban lanh", district)
	_, damaged := sendPDF(t, dir, sender, commune, "2", "Van ban se hong", district)
	damageBlob(t, dir, damaged)
	before := scrapeMetrics(t, url)

	recv := client(t, h.Addr(), dir, district)
	var got []string
	err := recv.ReceiveInto(context.Background(), filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, func(r *node.Received) error {
		got = append(got, r.MessageID)
		return nil
	})
	var notStored *node.NotStoredError
	if !errors.As(err, &notStored) || len(notStored.Docs) != 1 {
		t.Fatalf("receive: %v, want the damaged document reported as not stored", err)
	}
	if len(got) != 1 {
		t.Fatalf("received %d documents, want the 1 undamaged", len(got))
	}
	after := scrapeMetrics(t, url)
	for _, c := range []struct {
		name string
		want float64
	}{{"lienthong_deliveries_total", 1}, {"lienthong_acknowledgements_total", 1}} {
		if d := after.value(c.name) - before.value(c.name); d != c.want {
			t.Errorf("%s moved by %v, want %v", c.name, d, c.want)
		}
	}
	if n := after.value("lienthong_queue_pending", "level", "district"); n != 0 {
		t.Errorf("pending for districts = %v, want 0 (one acknowledged, one quarantined)", n)
	}
}
