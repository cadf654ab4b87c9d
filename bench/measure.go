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

// memSampler records the peak RSS of a process (this one, or a hub
// process) and, for this process, of its Go heap, while it runs. It is the
// one sampler of memory: of ltbench's and ltyear's clients and of their
// hub processes.
type memSampler struct {
	pid  string // "self", or a child's process id
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

// startMemSampler resets the kernel's peak-RSS mark of process pid ("self"
// for this one) if it can and samples every interval until Stop. The Go
// heap is sampled only for "self".
func startMemSampler(interval time.Duration, pid string) *memSampler {
	m := &memSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{}), hwmReset: resetPeakRSS(pid)}
	samples := []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapLive}}
	sample := func() {
		if pid == "self" {
			metrics.Read(samples)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if rss, _, ok := procRSS(pid); ok {
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
	if _, hwm, ok := procRSS(m.pid); ok && m.hwmReset {
		p.RSS = max(p.RSS, hwm)
	}
	return p
}
