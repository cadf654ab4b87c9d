package quarantine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/store"
)

// syncBuffer is a log destination safe for the scrub goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run does nothing without a rate, scrubs after the delay with one, and
// returns when its context ends.
func TestRunScrubsAndStops(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	off := New(Config{Store: st})
	done := make(chan struct{})
	go func() { off.Run(context.Background()); close(done) }()
	<-done // returns at once: no background scrub without a rate

	logs := new(syncBuffer)
	s := New(Config{Store: st, ScrubRate: 1 << 20, ScrubDelay: time.Millisecond, ScrubEvery: time.Hour, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for !strings.Contains(logs.String(), "blob scrub finished") {
		select {
		case <-done:
			t.Fatal("Run returned before its context ended")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
}
