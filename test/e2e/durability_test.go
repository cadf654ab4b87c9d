package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
)

// A document the hub said "accepted" survives SIGKILL of the hub process:
// after a restart it is delivered, byte for byte. Senders keep sending
// while the hub dies, so some sends are cut off mid-stream too.
func TestAcceptedSurvivesSIGKILL(t *testing.T) {
	dir := initHub(t)
	p := startHubProcess(t, dir, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pdf, sum := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Quyet dinh", PadBytes: 300 << 10})

	sender := client(t, p.addr, dir, commune)
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		n        atomic.Int64
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := sender.Send(ctx, node.Document{Recipients: []string{district}, Number: fmt.Sprint(w*1000 + i + 1),
					Notation: "QĐ-UBND", Subject: "durability", Files: []node.File{{Path: pdf}}}, nil)
				if err != nil {
					select {
					case <-stop:
					default:
						t.Errorf("send before the kill failed: %v", err)
					}
					return // the hub is gone
				}
				mu.Lock()
				accepted[res.MessageID] = true
				mu.Unlock()
				n.Add(1)
			}
		}(w)
	}
	deadline := time.Now().Add(time.Minute)
	for n.Load() < 12 && time.Now().Before(deadline) && !t.Failed() {
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	p.kill(t)
	wg.Wait()
	if len(accepted) < 12 {
		t.Fatalf("only %d accepted before the kill", len(accepted))
	}

	p2 := startHubProcess(t, dir, "127.0.0.1:0")
	rcv := client(t, p2.addr, dir, district)
	got := map[string]bool{}
	must(t, rcv.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, func(r *node.Received) error {
		if got[r.MessageID] {
			t.Errorf("%s delivered twice", r.MessageID)
		}
		got[r.MessageID] = true
		if s := fileSHA256(t, r.Files[0]); s != sum {
			t.Errorf("%s: file sha256 %s, want %s", r.MessageID, s, sum)
		}
		return nil
	}))
	for id := range accepted {
		if !got[id] {
			t.Errorf("accepted %s was lost by the SIGKILL", id)
		}
	}
	t.Logf("%d accepted before SIGKILL, %d delivered after restart", len(accepted), len(got))
}
