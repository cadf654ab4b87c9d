package webapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Event is a change a page hears of while it is open.
type Event struct {
	// Kind: "den" (a document arrived), "buoc" (a step of a document
	// sent), "hop-thu-di" (the outbox changed).
	Kind string `json:"kind"`
	// Text is what the page shows, in Vietnamese.
	Text string `json:"text"`
	// MessageID is the document concerned, if one.
	MessageID string `json:"message_id,omitempty"`
}

// broker fans events out to the open event streams.
type broker struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
	done   chan struct{}
}

func newBroker() *broker { return &broker{subs: map[chan Event]struct{}{}, done: make(chan struct{})} }

func (b *broker) subscribe() (chan Event, func()) {
	ch := make(chan Event, 16)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.subs[ch] = struct{}{}
	}
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// publish gives e to every stream; a stream too slow to take it misses it
// (its page refreshes on the next one anyway).
func (b *broker) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
}

// keepAlive is how often an idle stream gets a comment, so that a dead
// connection is noticed and closed.
const keepAlive = 25 * time.Second

// serveEvents is GET /su-kien: a text/event-stream of "thay-doi" events,
// each with the unread count, until the page goes or the server closes.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, cancel := s.events.subscribe()
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(e Event) {
		b, _ := json.Marshal(struct {
			Event
			Unread int `json:"unread"`
		}{e, s.unread()})
		fmt.Fprintf(w, "event: thay-doi\ndata: %s\n\n", b)
		fl.Flush()
	}
	send(Event{Kind: "mo"}) // the page learns the count at once
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.events.done:
			return
		case e := <-ch:
			send(e)
		case <-t.C:
			fmt.Fprint(w, ": còn kết nối\n\n")
			fl.Flush()
		}
	}
}
