package bench

import (
	"math"
	"runtime/metrics"
	"slices"
	"sync"
	"time"
)

// latencies collects durations; it is not safe for concurrent use (each
// goroutine keeps its own and they are merged).
type latencies []time.Duration

// quantile returns the q-quantile (nearest rank) in milliseconds, or 0 if
// empty. ls must be sorted.
func (ls latencies) quantile(q float64) float64 {
	if len(ls) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(ls)))) - 1
	i = min(max(i, 0), len(ls)-1)
	return float64(ls[i]) / float64(time.Millisecond)
}

func (ls latencies) sorted() latencies {
	out := slices.Clone(ls)
	slices.Sort(out)
	return out
}

// memSampler records the process's peak RSS and Go heap while it runs.
type memSampler struct {
	stop chan struct{}
	done chan struct{}

	mu          sync.Mutex
	rss         int64 // bytes
	heapObjects uint64
	heapLive    uint64
	hwmReset    bool
}

const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapLive    = "/gc/heap/live:bytes"
)

// startMemSampler resets the kernel's peak-RSS mark if it can and samples
// every interval until Stop.
func startMemSampler(interval time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{}), hwmReset: resetPeakRSS()}
	samples := []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapLive}}
	sample := func() {
		metrics.Read(samples)
		m.mu.Lock()
		defer m.mu.Unlock()
		if rss, ok := currentRSS(); ok {
			m.rss = max(m.rss, rss)
		}
		if v := samples[0].Value; v.Kind() == metrics.KindUint64 {
			m.heapObjects = max(m.heapObjects, v.Uint64())
		}
		if v := samples[1].Value; v.Kind() == metrics.KindUint64 {
			m.heapLive = max(m.heapLive, v.Uint64())
		}
	}
	go func() {
		defer close(m.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			sample()
			select {
			case <-m.stop:
				sample()
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// memPeaks are the maxima a memSampler saw, in bytes.
type memPeaks struct {
	RSS         int64
	HeapObjects uint64
	HeapLive    uint64
}

// Stop ends sampling and returns the peaks. The RSS peak is the larger of
// the samples and the kernel's high-water mark when that was reset at the
// start (so it covers only this span).
func (m *memSampler) Stop() memPeaks {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	p := memPeaks{RSS: m.rss, HeapObjects: m.heapObjects, HeapLive: m.heapLive}
	if hwm, ok := peakRSS(); ok && m.hwmReset {
		p.RSS = max(p.RSS, hwm)
	}
	return p
}
