package webapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
)

// Serve serves the web app on ln and keeps the desk working (the outbox
// forwarded every Interval, documents and notifications received) until
// ctx ends, telling the open pages of what happens. Both have stopped
// when it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	interval := s.cfg.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.cfg.Desk.Run(runCtx, interval, s.handlers()) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	stopRun()
	// The event streams end first, or Shutdown would wait for them.
	s.Close()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shut); serr != nil && err == nil {
		err = fmt.Errorf("stopping the web server: %w", serr)
	}
	if rerr := <-ran; rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("the desk stopped: %w", rerr))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// handlers turn what the desk's Run does into events for the pages.
func (s *Server) handlers() desk.RunHandlers {
	return desk.RunHandlers{
		Handlers: desk.Handlers{
			Document: func(in *desk.Incoming) error {
				env := in.Envelope
				from := in.SenderName
				if from == "" {
					from = env.GetSender()
				}
				s.Notify(Event{Kind: "den", MessageID: in.MessageID,
					Text: fmt.Sprintf("Văn bản mới %s/%s của %s: %s", env.GetNumber(), env.GetNotation(), from, env.GetSubject())})
				return nil
			},
			Notification: func(n *desk.Notification) error {
				who := n.AgencyName
				if who == "" {
					who = n.Body.GetAgency()
				}
				what := n.Body.GetMessageId()
				if n.Sent != nil {
					what = n.Sent.Number + "/" + n.Sent.Notation
				}
				s.Notify(Event{Kind: "buoc", MessageID: n.Body.GetMessageId(),
					Text: fmt.Sprintf("Văn bản %s: %s — %s", what, who, n.Body.GetStatus().Label())})
				return nil
			},
			Undelivered: func(u *desk.Undelivered) error {
				s.Notify(Event{Kind: "den", MessageID: u.MessageID, Text: "Một văn bản đến không nhận được: " + u.Reason})
				return nil
			},
		},
		Forwarded: func(rep *node.ForwardReport) {
			if len(rep.Forwarded) > 0 || len(rep.Refused) > 0 {
				s.Notify(Event{Kind: "hop-thu-di",
					Text: fmt.Sprintf("Hộp thư đi: đã chuyển %d văn bản, %d bị trục từ chối", len(rep.Forwarded), len(rep.Refused))})
			}
		},
		Reconnecting: func(err error, backoff time.Duration) {
			s.cfg.Logger.Info("receive stream ended; reconnecting", "err", err, "backoff", backoff)
		},
		Error: func(err error) { s.cfg.Logger.Error("outbox", "err", err) },
	}
}
