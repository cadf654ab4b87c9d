package metrics

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/lienthong/lienthong"
)

func counterValue(fams []*dto.MetricFamily, name string) float64 {
	for _, f := range fams {
		if f.GetName() == name {
			var v float64
			for _, m := range f.GetMetric() {
				v += m.GetCounter().GetValue()
			}
			return v
		}
	}
	return -1
}

// /readyz answers 503 naming each problem: stopping, a store that cannot
// take writes, a disk under the free-space floor.
func TestReadyz(t *testing.T) {
	stopped := make(chan struct{})
	close(stopped)
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		code int
		want []string
	}{
		{"ready", Config{DataDir: dir, MinFree: 1, Stopping: make(chan struct{}), Store: func() error { return nil }}, http.StatusOK, []string{`"status":"ready"`}},
		{"stopping", Config{Stopping: stopped}, http.StatusServiceUnavailable, []string{"stopping"}},
		{"store damaged", Config{Store: func() error { return errors.New("hub database is damaged") }}, http.StatusServiceUnavailable, []string{"store: hub database is damaged"}},
		{"disk full", Config{DataDir: dir, MinFree: math.MaxUint64}, http.StatusServiceUnavailable, []string{"disk full", "MiB free"}},
		{"disk unreadable", Config{DataDir: dir + "/missing"}, http.StatusServiceUnavailable, []string{"disk: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.cfg)
			rec := httptest.NewRecorder()
			m.Readyz().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.code, rec.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body %s does not say %q", rec.Body, w)
				}
			}
		})
	}
}

// Every error kind has a reason label of its own, and the labels are
// those the alert rules and dashboard use.
func TestReasonNames(t *testing.T) {
	seen := map[string]lienthong.Kind{}
	for k := lienthong.KindInternal; k <= lienthong.KindBusy; k++ {
		r := Reason(k)
		if prev, dup := seen[r]; dup {
			t.Errorf("kinds %d and %d share reason %q", prev, k, r)
		}
		seen[r] = k
	}
	for k, want := range map[lienthong.Kind]string{lienthong.KindDiskFull: "disk_full", lienthong.KindBusy: "busy", lienthong.KindNotFound: "not_found", lienthong.KindInternal: "internal"} {
		if got := Reason(k); got != want {
			t.Errorf("Reason(%d) = %q, want %q", k, got, want)
		}
	}
}

// Two Metrics in one process do not collide: each has its own registry.
func TestOwnRegistry(t *testing.T) {
	a, b := New(Config{}), New(Config{})
	a.Acknowledged()
	fa, err := a.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	fb, err := b.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	va, vb := counterValue(fa, "lienthong_acknowledgements_total"), counterValue(fb, "lienthong_acknowledgements_total")
	if va != 1 || vb != 0 {
		t.Errorf("acknowledgements: a %v, b %v; want 1 and 0", va, vb)
	}
}

// Certificates sharing a role and a name (an operator's old and renewed
// certificate during the overlap) give one series, the latest expiry;
// the scrape does not fail on them.
func TestCertificateExpiryOneSeriesPerName(t *testing.T) {
	t1 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.AddDate(1, 0, 0)
	m := New(Config{Certificates: func() []Certificate {
		return []Certificate{
			{Role: "hub", Name: "hub.example.gov.vn", NotAfter: t1},
			{Role: "operator", Name: "Trung tâm CNTT", NotAfter: t2},
			{Role: "operator", Name: "Trung tâm CNTT", NotAfter: t1},
		}
	}})
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "lienthong_certificate_expiry_timestamp_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			var role, name string
			for _, l := range s.GetLabel() {
				switch l.GetName() {
				case "role":
					role = l.GetValue()
				case "name":
					name = l.GetValue()
				}
			}
			got[role+"/"+name] = s.GetGauge().GetValue()
		}
	}
	want := map[string]float64{"hub/hub.example.gov.vn": float64(t1.Unix()), "operator/Trung tâm CNTT": float64(t2.Unix())}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
