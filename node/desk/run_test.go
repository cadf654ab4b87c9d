package desk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
)

// Run keeps a desk working as a service: a document sent while the hub
// is down goes out once the hub is back, the recipient's Run receives it
// without being asked, and both Runs stop when their context ends.
func TestRunForwardsAndReceives(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	com := agencyDesk(t, dir, addr, commune, nil)
	dis := agencyDesk(t, dir, addr, district, nil)
	res, err := com.Send(ctx(t), document(district, writePDF(t, dir, commune, "kh.pdf")), nil)
	must(t, err)
	if !res.Queued {
		t.Fatalf("Send with the hub down = %+v", res)
	}

	forwarded := make(chan string, 10)
	arrived := make(chan *desk.Incoming, 10)
	var mu sync.Mutex
	waiting := 0
	runCtx, cancel := context.WithCancel(ctx(t))
	var wg sync.WaitGroup
	wg.Go(func() {
		err := com.Run(runCtx, 50*time.Millisecond, desk.RunHandlers{Forwarded: func(rep *node.ForwardReport) {
			mu.Lock()
			if rep.Unreachable != nil {
				waiting++
			}
			mu.Unlock()
			for _, f := range rep.Forwarded {
				forwarded <- f.MessageID
			}
		}})
		if err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		err := dis.Run(runCtx, time.Hour, desk.RunHandlers{Handlers: desk.Handlers{Document: func(in *desk.Incoming) error {
			arrived <- in
			return nil
		}}})
		if err != nil {
			t.Error(err)
		}
	})
	// The forwarder has found the hub down at least once before it comes
	// up on the address the desks dial.
	for {
		mu.Lock()
		n := waiting
		mu.Unlock()
		if n > 0 || runCtx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	serveHub(t, dir, addr)
	select {
	case id := <-forwarded:
		if id != res.MessageID {
			t.Errorf("forwarded %s, want %s", id, res.MessageID)
		}
	case <-runCtx.Done():
		t.Fatal("the queued document never went out")
	}
	select {
	case in := <-arrived:
		if in.MessageID != res.MessageID || in.SenderName != communeName {
			t.Errorf("arrived %s from %q", in.MessageID, in.SenderName)
		}
	case <-runCtx.Done():
		t.Fatal("the district's Run never received the document")
	}
	cancel()
	wg.Wait()
	assertOutbox(t, com, 0)
}
