package exchange

import (
	"context"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/limit"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// guard applies the hub's stream limits (limit.Config) to the Exchange
// service's streams: per-agency caps on concurrent Send and Receive
// streams, the idle deadline of an upload, the bytes uploads may hold in
// temporary files, and the re-check of a Receive stream's caller.
type guard struct {
	cfg      limit.Config
	sends    *limit.PerKey
	receives *limit.PerKey
	uploads  *limit.Budget
	// auth re-checks callers of long streams; nil checks nothing.
	auth *Authenticator
}

func newGuard(cfg limit.Config, auth *Authenticator) *guard {
	cfg = cfg.WithDefaults()
	return &guard{cfg: cfg, auth: auth,
		sends: limit.NewPerKey(cfg.MaxSendsPerAgency), receives: limit.NewPerKey(cfg.MaxReceivesPerAgency),
		uploads: limit.NewBudget(cfg.MaxUploadBytes)}
}

// guardSend takes one of the caller's Send slots and returns the stream
// to read the upload from, whose Recv ends with DeadlineExceeded when the
// client sends nothing for SendIdle. done gives the slot back and stops
// the stream's reader.
func (s *Service) guardSend(stream lienthongv1.ExchangeService_SendServer) (_ lienthongv1.ExchangeService_SendServer, done func(), err error) {
	caller, ok := CallerFrom(stream.Context())
	if !ok {
		return nil, nil, lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated")
	}
	g := s.guard
	release, ok := g.sends.Acquire(caller.GetCode())
	if !ok {
		return nil, nil, lienthong.Errorf(lienthong.KindBusy,
			"cơ quan %s đang có %d lượt gửi văn bản cùng lúc, tối đa %d; hãy chờ các lượt trước xong rồi gửi lại (too many concurrent Send streams: limit %d per agency, --max-sends-per-agency)",
			caller.GetCode(), g.sends.Max(), g.sends.Max(), g.sends.Max())
	}
	if g.cfg.SendIdle < 0 {
		return stream, release, nil
	}
	is := &idleSendStream{ExchangeService_SendServer: stream, idle: g.cfg.SendIdle,
		next: make(chan received), stop: make(chan struct{})}
	return is, func() {
		close(is.stop)
		if is.timer != nil {
			is.timer.Stop()
		}
		release()
	}, nil
}

// reserveUpload reserves the declared size of env's files in the budget
// of temporary bytes, before anything is written.
func (s *Service) reserveUpload(env *lienthongv1.Envelope) (release func(), err error) {
	var declared int64
	for _, f := range env.GetFiles() {
		declared += f.GetSize()
	}
	b := s.guard.uploads
	release, used, ok := b.Reserve(declared)
	if !ok {
		return nil, lienthong.Errorf(lienthong.KindBusy,
			"trục đang nhận quá nhiều dữ liệu cùng lúc (%d byte đang tải lên, văn bản này %d byte, giới hạn %d byte); hãy gửi lại sau ít phút (hub busy: uploads in flight would exceed %d bytes, --max-upload-bytes)",
			used, declared, b.Max(), b.Max())
	}
	return release, nil
}

// guardReceive takes one of the caller's Receive slots.
func (s *Service) guardReceive(code string) (release func(), err error) {
	g := s.guard
	release, ok := g.receives.Acquire(code)
	if !ok {
		return nil, lienthong.Errorf(lienthong.KindBusy,
			"cơ quan %s đang mở %d luồng nhận văn bản cùng lúc, tối đa %d; hãy dừng bớt `ltnode run`/`ltnode inbox` đang chạy (too many concurrent Receive streams: limit %d per agency, --max-receives-per-agency)",
			code, g.receives.Max(), g.receives.Max(), g.receives.Max())
	}
	return release, nil
}

// recheck authorises a Receive stream's caller again.
func (s *Service) recheck(ctx context.Context) error {
	if s.guard.auth == nil {
		return nil
	}
	return s.guard.auth.Recheck(ctx)
}

// awaitDelivery waits for notify, re-checking the caller every Recheck
// and at once when the trust store or directory changes. It returns
// false when the Receive stream must end, with the status to end it with
// (nil when the client went away).
func (s *Service) awaitDelivery(ctx context.Context, notify <-chan struct{}) (bool, error) {
	g := s.guard
	var tick <-chan time.Time
	if g.auth != nil && g.cfg.Recheck > 0 {
		t := time.NewTicker(g.cfg.Recheck)
		defer t.Stop()
		tick = t.C
	}
	for {
		var changed <-chan struct{}
		if g.auth != nil {
			changed = g.auth.Changed()
		}
		// Checked after taking the channel: a reload just before it is
		// seen here, one after it closes the channel.
		if err := s.recheck(ctx); err != nil {
			return false, s.refuse(ctx, "Receive", err)
		}
		select {
		case <-notify:
			return true, nil
		case <-ctx.Done():
			return false, nil
		case <-s.cfg.Stopping:
			return false, toStatus(lienthong.Errorf(lienthong.KindUnavailable, "trục đang dừng để bảo trì; hãy kết nối lại (hub shutting down)"))
		case <-tick:
		case <-changed:
		}
	}
}

// idleSendStream is a Send stream whose Recv gives up after idle without
// a message. gRPC's server-side Recv cannot be interrupted, so one reader
// goroutine per stream receives ahead by at most one message; returning
// from the handler ends the stream, which ends that Recv, and stop ends
// the reader.
type idleSendStream struct {
	lienthongv1.ExchangeService_SendServer
	idle    time.Duration
	next    chan received
	stop    chan struct{}
	timer   *time.Timer
	reading bool
}

type received struct {
	msg *lienthongv1.SendRequest
	err error
}

func (s *idleSendStream) Recv() (*lienthongv1.SendRequest, error) {
	if !s.reading {
		s.reading = true
		s.timer = time.NewTimer(s.idle)
		go s.read()
	} else {
		s.timer.Reset(s.idle)
	}
	select {
	case r := <-s.next:
		return r.msg, r.err
	case <-s.timer.C:
		return nil, lienthong.Errorf(lienthong.KindDeadline,
			"không nhận được dữ liệu của văn bản trong %s, lượt gửi bị huỷ và phần đã nhận bị xoá; hãy gửi lại (upload stalled: nothing received for %s, --send-idle)",
			s.idle, s.idle)
	}
}

func (s *idleSendStream) read() {
	for {
		msg, err := s.ExchangeService_SendServer.Recv()
		select {
		case s.next <- received{msg, err}:
		case <-s.stop:
			return
		}
		if err != nil {
			return
		}
	}
}
