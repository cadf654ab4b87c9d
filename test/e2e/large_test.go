package e2e

import (
	"context"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
)

// heapSampler records the peak of live heap bytes, sampling often.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap(every time.Duration) *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// A 100 MB attachment goes through while the heap of the process, which
// holds the hub and both nodes, stays under 64 MB: every side streams.
func TestHundredMegabyteAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB transfer skipped in -short mode")
	}
	dir := initHub(t)
	h := startHub(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pdf, sum := writePDF(t, dir, commune, "ban-do.pdf", samplepdf.Options{Title: "Ban do quy hoach", PadBytes: 100 << 20})

	runtime.GC()
	s := sampleHeap(2 * time.Millisecond)
	sender := client(t, h.Addr(), dir, commune)
	res, err := sender.Send(ctx, node.Document{Recipients: []string{province}, Number: "100", Notation: "QH-UBND",
		Subject: "Bản đồ quy hoạch", Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)
	rcv := client(t, h.Addr(), dir, province)
	var got []*node.Received
	must(t, rcv.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, func(r *node.Received) error {
		got = append(got, r)
		return nil
	}))
	peak := s.Stop()

	if len(got) != 1 || got[0].MessageID != res.MessageID {
		t.Fatalf("received %d documents, want %s", len(got), res.MessageID)
	}
	if s := fileSHA256(t, got[0].Files[0]); s != sum {
		t.Fatalf("received sha256 %s, want %s", s, sum)
	}
	t.Logf("peak live heap during a 100 MB send+receive: %.1f MB", float64(peak)/(1<<20))
	if peak >= 64<<20 {
		t.Errorf("peak heap %.1f MB, want < 64 MB", float64(peak)/(1<<20))
	}
}
