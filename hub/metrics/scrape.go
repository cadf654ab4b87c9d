package metrics

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// levels are the agency levels queue figures are given for, each always
// present (0 when empty) so that alerts see a series.
var levels = []string{"province", "department", "district", "commune", "unit", "unknown"}

// scraped collects the figures read at scrape time: queues, disk,
// certificates and readiness.
type scraped struct{ m *Metrics }

var (
	descPending = prometheus.NewDesc(Namespace+"_queue_pending",
		"Deliveries accepted and not yet acknowledged, by the recipient's level.", []string{"level"}, nil)
	descOldest = prometheus.NewDesc(Namespace+"_queue_oldest_age_seconds",
		"Age of the oldest unacknowledged delivery, by the recipient's level (0 when none).", []string{"level"}, nil)
	descRecipients = prometheus.NewDesc(Namespace+"_queue_recipients",
		"Recipients with at least one unacknowledged delivery, by level.", []string{"level"}, nil)
	descQueueErr = prometheus.NewDesc(Namespace+"_queue_scrape_failed",
		"1 when the queues could not be read during this scrape.", nil, nil)
	descDiskFree = prometheus.NewDesc(Namespace+"_disk_free_bytes",
		"Free space (for the hub's user) on the file system of the hub's data directory.", nil, nil)
	descDiskSize = prometheus.NewDesc(Namespace+"_disk_size_bytes",
		"Size of the file system of the hub's data directory.", nil, nil)
	descCertExpiry = prometheus.NewDesc(Namespace+"_certificate_expiry_timestamp_seconds",
		"NotAfter of a certificate the hub uses or accepts, as a Unix time.", []string{"role", "name"}, nil)
	descReady = prometheus.NewDesc(Namespace+"_ready",
		"1 when the hub can take documents (what /readyz answers), else 0.", nil, nil)
)

func (c *scraped) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPending, descOldest, descRecipients, descQueueErr, descDiskFree, descDiskSize, descCertExpiry, descReady} {
		ch <- d
	}
}

func (c *scraped) Collect(ch chan<- prometheus.Metric) {
	cfg := c.m.cfg
	if cfg.Queues != nil {
		c.collectQueues(ch)
	}
	if cfg.DataDir != "" {
		if d, err := DiskOf(cfg.DataDir); err == nil {
			ch <- prometheus.MustNewConstMetric(descDiskFree, prometheus.GaugeValue, float64(d.Free))
			ch <- prometheus.MustNewConstMetric(descDiskSize, prometheus.GaugeValue, float64(d.Size))
		}
	}
	if cfg.Certificates != nil {
		// One series per role and name: during a rotation the old and the
		// new certificate share a name, and what matters is whether the
		// newest will last.
		type key struct{ role, name string }
		latest := make(map[key]time.Time)
		var order []key
		for _, crt := range cfg.Certificates() {
			k := key{crt.Role, crt.Name}
			prev, seen := latest[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || crt.NotAfter.After(prev) {
				latest[k] = crt.NotAfter
			}
		}
		for _, k := range order {
			ch <- prometheus.MustNewConstMetric(descCertExpiry, prometheus.GaugeValue, float64(latest[k].Unix()), k.role, k.name)
		}
	}
	ready := 1.0
	if len(c.m.Problems()) > 0 {
		ready = 0
	}
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, ready)
}

func (c *scraped) collectQueues(ch chan<- prometheus.Metric) {
	cfg := c.m.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ScrapeTimeout)
	defer cancel()
	queues, err := cfg.Queues(ctx)
	failed := 0.0
	if err != nil {
		failed = 1
		queues = nil
	}
	ch <- prometheus.MustNewConstMetric(descQueueErr, prometheus.GaugeValue, failed)
	if err != nil {
		return // no figures rather than zeros that would look healthy
	}
	now := cfg.Now()
	pending := make(map[string]int, len(levels))
	recipients := make(map[string]int, len(levels))
	oldest := make(map[string]float64, len(levels))
	for _, q := range queues {
		level := "unknown"
		if cfg.Level != nil {
			level = cfg.Level(q.Recipient)
		}
		if !slices.Contains(levels, level) {
			level = "unknown"
		}
		pending[level] += q.Pending
		recipients[level]++
		if !q.Oldest.IsZero() {
			oldest[level] = max(oldest[level], now.Sub(q.Oldest).Seconds())
		}
	}
	for _, l := range levels {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending[l]), l)
		ch <- prometheus.MustNewConstMetric(descRecipients, prometheus.GaugeValue, float64(recipients[l]), l)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, oldest[l], l)
	}
}
