package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
)

// soakConfig is read from the environment: SOAK_DURATION (default 20s,
// the short run of `make test`) and SOAK_KILL_EVERY, the mean time
// between two SIGKILLs of the hub (default 3s; each wait is drawn
// uniformly from half to one and a half times it).
type soakConfig struct {
	duration, killEvery time.Duration
}

func soakConfigFromEnv(t *testing.T) soakConfig {
	t.Helper()
	c := soakConfig{duration: 20 * time.Second, killEvery: 3 * time.Second}
	for name, d := range map[string]*time.Duration{"SOAK_DURATION": &c.duration, "SOAK_KILL_EVERY": &c.killEvery} {
		if v := os.Getenv(name); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil || *d <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 10m", name, v)
			}
		}
	}
	return c
}

// soakTally is what the soak run counts.
type soakTally struct {
	mu sync.Mutex
	// sent are the documents queued in the senders' outboxes, accepted
	// those the hub gave a receipt for.
	sent, accepted map[string]bool
	// stored counts, per recipient and message id, the documents entered
	// in the recipient's register.
	stored map[string]map[string]int
	// registered counts documents the node wrote to its inbox as new
	// although its register already held them: a duplicate delivery.
	registered                             int
	redelivered, diskFull, cuts, reconnect atomic.Int64
	// calm is set once the faults stop: the receiver is no longer cut off.
	calm atomic.Bool
}

// The fault test: senders queue documents in their outboxes and forward
// them, two recipients receive and register them, while the hub process
// is SIGKILLed and restarted at random, one receiver is cut off
// mid-stream again and again, and (where a tmpfs can be mounted) the
// hub's disk fills up for a while. At the end every document the
// outboxes took is accepted by the hub and registered exactly once by
// each recipient: lost 0, duplicated 0.
func TestSoak(t *testing.T) {
	cfg := soakConfigFromEnv(t)
	mnt, mountErr := tryMountTmpfs(t, "1g")
	base := mnt
	if mountErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(mountErr)
		}
		t.Logf("disk-full phase skipped: %v", mountErr)
		base = t.TempDir()
	}
	dir := initHubIn(t, filepath.Join(base, "hub"))
	addr := freeLoopback(t)
	hp := startHubProcess(t, dir, addr)

	senders := []string{commune, commune2, commune3}
	recipients := []string{district, province}
	tally := &soakTally{sent: map[string]bool{}, accepted: map[string]bool{}, stored: map[string]map[string]int{}}
	for _, r := range recipients {
		tally.stored[r] = map[string]int{}
	}

	sendCtx, stopSending := context.WithCancel(context.Background())
	var sendersDone sync.WaitGroup
	regs := make([]*register.Register, len(senders))
	clients := make([]*node.Client, len(senders))
	for i, code := range senders {
		pdf, _ := writePDF(t, dir, code, "cv.pdf", samplepdf.Options{Title: "Cong van " + code, PadBytes: 40 << 10})
		reg, err := register.Open(filepath.Join(t.TempDir(), code, "node.db"), register.Options{})
		must(t, err)
		regs[i], clients[i] = reg, client(t, addr, dir, code)
		sendersDone.Go(func() { soakSender(sendCtx, t, clients[i], reg, pdf, recipients, tally) })
	}

	recvCtx, stopReceiving := context.WithCancel(context.Background())
	var receiversDone sync.WaitGroup
	for i, code := range recipients {
		reg, err := register.Open(filepath.Join(t.TempDir(), code, "node.db"), register.Options{})
		must(t, err)
		c := client(t, addr, dir, code)
		inbox := filepath.Join(t.TempDir(), code, "inbox")
		cut := i == 1 // the province's receiver is cut off mid-stream
		receiversDone.Go(func() { soakReceiver(recvCtx, c, reg, inbox, code, cut, tally) })
	}

	// The faults, from this goroutine: kills and restarts, and once the
	// disk filling up.
	start := time.Now()
	deadline := start.Add(cfg.duration)
	fullAt := start.Add(cfg.duration * 2 / 5)
	kills, filled := 0, false
	for {
		wait := cfg.killEvery/2 + rand.N(cfg.killEvery)
		if time.Now().Add(wait).After(deadline) {
			break
		}
		time.Sleep(wait)
		if mountErr == nil && !filled && time.Now().After(fullAt) {
			filled = true
			before := tally.diskFull.Load()
			filler := fillDisk(t, mnt)
			time.Sleep(min(cfg.killEvery, 5*time.Second))
			must(t, os.Remove(filler))
			if tally.diskFull.Load() == before {
				t.Errorf("no sender was told that the hub's disk is full while it was")
			}
			continue
		}
		hp.kill(t)
		kills++
		hp = startHubProcess(t, dir, addr)
	}
	time.Sleep(time.Until(deadline)) // the traffic runs its full duration

	// No more faults: the outboxes empty and every recipient gets all.
	tally.calm.Store(true)
	stopSending()
	sendersDone.Wait()
	drainCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i, reg := range regs {
		for {
			rep, err := clients[i].Forward(drainCtx, reg, nil)
			must(t, err)
			tally.record(rep)
			if rep.Unreachable == nil {
				break
			}
			if drainCtx.Err() != nil {
				t.Fatalf("outbox of %s not drained: %v", senders[i], rep.Unreachable)
			}
			time.Sleep(200 * time.Millisecond)
		}
		list, err := reg.Outbox()
		must(t, err)
		for _, o := range list {
			t.Errorf("%s left in the outbox of %s: %s %s", o.MessageID, senders[i], o.State, o.Error)
		}
	}
	for !tally.allStored(recipients) && drainCtx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	stopReceiving()
	receiversDone.Wait()

	tally.mu.Lock()
	defer tally.mu.Unlock()
	lost, duplicated, delivered := 0, tally.registered, 0
	for id := range tally.sent {
		if !tally.accepted[id] {
			lost++
			t.Errorf("%s: queued, never accepted by the hub", id)
		}
	}
	for _, r := range recipients {
		for id := range tally.accepted {
			switch n := tally.stored[r][id]; {
			case n == 0:
				lost++
				t.Errorf("%s: accepted, never registered by %s", id, r)
			case n > 1:
				duplicated += n - 1
				t.Errorf("%s: stored %d times by %s", id, n, r)
			}
		}
		delivered += len(tally.stored[r])
	}
	summary := fmt.Sprintf("soak %s (faults for %s): sent %d / accepted %d / delivered %d (%d recipients) / lost %d / duplicated %d / kills %d"+
		" / receiver cuts %d / redeliveries %d / disk-full answers %d",
		time.Since(start).Round(time.Second), cfg.duration, len(tally.sent), len(tally.accepted), delivered, len(recipients), lost, duplicated, kills,
		tally.cuts.Load(), tally.redelivered.Load(), tally.diskFull.Load())
	fmt.Println(summary) // for `make soak`, which reads it
	t.Log(summary)
	if len(tally.accepted) == 0 || kills == 0 {
		t.Errorf("the run was too short to mean anything: %d documents, %d kills", len(tally.accepted), kills)
	}
}

// record notes the outcome of a forwarding pass.
func (s *soakTally) record(rep *node.ForwardReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range rep.Forwarded {
		s.accepted[f.MessageID] = true
	}
	if st, ok := status.FromError(rep.Unreachable); ok && st.Code() == codes.ResourceExhausted {
		s.diskFull.Add(1)
	}
}

func (s *soakTally) allStored(recipients []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recipients {
		for id := range s.accepted {
			if s.stored[r][id] == 0 {
				return false
			}
		}
	}
	return true
}

// soakSender queues a document about every 200ms and forwards its outbox,
// as `ltnode send` does, until ctx ends. A refusal fails the test: nothing
// the soak sends is wrong.
func soakSender(ctx context.Context, t *testing.T, c *node.Client, reg *register.Register, pdf string, to []string, tally *soakTally) {
	for n := 1; ctx.Err() == nil; n++ {
		p, err := c.Identity().Prepare(node.Document{Recipients: to, Number: fmt.Sprint(n), Notation: "CV-UBND",
			Subject: "Kiểm thử chịu lỗi", Files: []node.File{{Path: pdf}}})
		if err != nil {
			t.Errorf("preparing: %v", err)
			return
		}
		if _, err := reg.Queue(p.Signed, p.Paths); err != nil {
			t.Errorf("queuing: %v", err)
			return
		}
		tally.mu.Lock()
		tally.sent[p.Envelope.GetMessageId()] = true
		tally.mu.Unlock()
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rep, err := c.Forward(fctx, reg, nil)
		cancel()
		if err != nil {
			t.Errorf("forwarding: %v", err)
			return
		}
		tally.record(rep)
		for _, r := range rep.Refused {
			t.Errorf("the hub refused %s: %v", r.MessageID, r.Err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// soakReceiver keeps a waiting Receive stream open for code, registering
// each document as `ltnode inbox` does, and reconnects when the hub goes
// away. With cut, until the faults stop, each stream is cancelled after a
// random 0.5–3 s, mid-document as often as not, and every twentieth
// document is stored but its acknowledgement cut off, as a receiver killed
// at the worst moment.
func soakReceiver(ctx context.Context, c *node.Client, reg *register.Register, inbox, code string, cut bool, tally *soakTally) {
	n := 0
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		cutOff := time.AfterFunc(time.Hour, func() { tally.cuts.Add(1); cancel() })
		if cut && !tally.calm.Load() {
			cutOff.Reset(500*time.Millisecond + rand.N(2500*time.Millisecond))
		}
		c.ReceiveInto(sctx, inbox, node.ReceiveOptions{Wait: true, OnStored: func(r *node.Received) error {
			if r.Duplicate {
				tally.redelivered.Add(1)
			}
			added, err := reg.AddReceived(r.Envelope, r.Dir)
			if err != nil {
				return err
			}
			tally.mu.Lock()
			switch {
			case added:
				tally.stored[code][r.MessageID]++
			case !r.Duplicate:
				tally.registered++ // written to the inbox again as if new
			}
			tally.mu.Unlock()
			if n++; cut && n%20 == 0 && !tally.calm.Load() {
				cancel() // stored, never acknowledged: the hub delivers it again
			}
			return nil
		}}, nil)
		cutOff.Stop()
		cancel()
		tally.reconnect.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
