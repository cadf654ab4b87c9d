package nodecli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
)

// syncOutput is the --json form of sync.
type syncOutput struct {
	Forwarded int `json:"forwarded"`
	Queued    int `json:"queued"`
	Failed    int `json:"failed"`
	// Unreachable says why documents still wait (the hub is down).
	Unreachable string         `json:"unreachable,omitempty"`
	Documents   []syncDocument `json:"documents"`
}

// syncDocument is one document of the outbox, or forwarded by this pass.
type syncDocument struct {
	MessageID  string     `json:"message_id"`
	State      string     `json:"state"` // forwarded, queued, failed
	Number     string     `json:"number,omitempty"`
	Notation   string     `json:"notation,omitempty"`
	Subject    string     `json:"subject,omitempty"`
	Recipients []string   `json:"recipients,omitempty"`
	ReceiptID  string     `json:"receipt_id,omitempty"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	Duplicate  bool       `json:"duplicate,omitempty"`
	Error      string     `json:"error,omitempty"`
}

func (m *Main) sync(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("sync")
	retry := fs.Bool("retry", false, "gửi lại cả các văn bản trục đã từ chối")
	drop := fs.String("drop", "", "bỏ văn bản có mã `ID` khỏi hộp thư đi (không gửi nữa)")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cliutil.Usagef("sync: tham số thừa %q", pos)
	}
	reg, err := s.register()
	if err != nil {
		return err
	}
	if *drop != "" {
		if err := reg.Drop(*drop); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Đã bỏ văn bản %s khỏi hộp thư đi.\n", *drop)
		return nil
	}
	c, err := s.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if *retry {
		list, err := reg.Outbox()
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.State == register.Failed {
				if err := reg.Requeue(o.MessageID); err != nil {
					return err
				}
			}
		}
	}
	rep, err := c.Forward(ctx, reg, m.progressBar("Đang chuyển"))
	if err != nil {
		return err
	}
	list, err := reg.Outbox()
	if err != nil {
		return err
	}
	out := syncOutput{Forwarded: len(rep.Forwarded), Documents: []syncDocument{}}
	if rep.Unreachable != nil {
		out.Unreachable = node.Describe(rep.Unreachable)
	}
	for _, res := range rep.Forwarded {
		at := res.Body.GetTime().AsTime()
		d := syncDocument{MessageID: res.MessageID, State: "forwarded", Recipients: res.Body.GetRecipients(),
			ReceiptID: res.Body.GetReceiptId(), AcceptedAt: &at, Duplicate: res.Duplicate}
		if sent, err := reg.SentDoc(res.MessageID); err == nil {
			d.Number, d.Notation, d.Subject = sent.Number, sent.Notation, sent.Subject
		}
		out.Documents = append(out.Documents, d)
	}
	for _, o := range list {
		if o.State == register.Failed {
			out.Failed++
		} else {
			out.Queued++
		}
		out.Documents = append(out.Documents, syncDocument{MessageID: o.MessageID, State: string(o.State),
			Number: o.Number, Notation: o.Notation, Subject: o.Subject, Error: o.Error})
	}
	if *asJSON {
		if err := m.printJSON(out); err != nil {
			return err
		}
	} else {
		m.printSync(out)
	}
	switch {
	case out.Queued > 0:
		fmt.Fprintf(m.Stderr, "ltnode: chưa chuyển được %d văn bản vì trục chưa nhận được (%s); chúng vẫn chờ trong hộp thư đi\n",
			out.Queued, out.Unreachable)
		return exitCode(cliutil.ExitFailed)
	case out.Failed > 0:
		fmt.Fprintf(m.Stderr, "ltnode: %d văn bản bị trục từ chối; sửa rồi gửi lại bằng `ltnode sync --retry`, hoặc bỏ bằng `ltnode sync --drop ID`\n", out.Failed)
		return exitCode(cliutil.ExitFailed)
	}
	return nil
}

func (m *Main) printSync(out syncOutput) {
	fmt.Fprintf(m.Stdout, "Đã chuyển %d văn bản lên trục; còn chờ %d; bị từ chối %d.\n", out.Forwarded, out.Queued, out.Failed)
	for _, d := range out.Documents {
		switch d.State {
		case "forwarded":
			fmt.Fprintf(m.Stdout, "  ✓ %s/%s — trục đã tiếp nhận (%s), %d nơi nhận\n", d.Number, d.Notation, d.MessageID, len(d.Recipients))
		case "queued":
			fmt.Fprintf(m.Stdout, "  … %s/%s — đang chờ (%s)\n", d.Number, d.Notation, d.MessageID)
		default:
			fmt.Fprintf(m.Stdout, "  ✗ %s/%s — bị từ chối (%s): %s\n", d.Number, d.Notation, d.MessageID, d.Error)
		}
	}
}

// runEvent is one line of `run --json` about the outbox or the
// connection; documents and notifications print as in inbox.
type runEvent struct {
	Type      string    `json:"type"` // forwarded, refused, waiting, reconnecting, error
	MessageID string    `json:"message_id,omitempty"`
	Number    string    `json:"number,omitempty"`
	Notation  string    `json:"notation,omitempty"`
	Queued    int       `json:"queued,omitempty"`
	Error     string    `json:"error,omitempty"`
	Time      time.Time `json:"time"`
}

// Reconnection backoff of run's Receive stream.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// runNode is `ltnode run`: until ctx ends (SIGINT, SIGTERM), it forwards
// the outbox every interval and keeps a waiting Receive stream open,
// reconnecting with backoff when the hub goes away.
func (m *Main) runNode(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("run")
	out := fs.String("out", "", "thư mục lưu văn bản đến")
	interval := fs.Duration("interval", 5*time.Second, "chu kỳ chuyển hộp thư đi")
	asJSON := fs.Bool("json", false, "in mỗi sự kiện một dòng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 || *interval <= 0 {
		return cliutil.Usagef("run cần --out DIR (và --interval dương)")
	}
	c, reg, err := s.connectWithRegister()
	if err != nil {
		return err
	}
	defer c.Close()
	r := &nodeRunner{m: m, c: c, reg: reg, json: *asJSON}
	r.rv = &receiver{m: m, reg: reg, json: *asJSON, mu: &r.mu}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "ltnode run: %s, trục %s, văn bản đến vào %s (Ctrl-C để dừng)\n", c.Identity().Code, s.hubAddr, *out)
	}
	// Neither loop gives up before ctx ends: a failure is told and tried
	// again, as a service should.
	var wg sync.WaitGroup
	wg.Go(func() { r.forwardLoop(ctx, *interval) })
	wg.Go(func() { r.receiveLoop(ctx, *out) })
	wg.Wait()
	if !*asJSON {
		fmt.Fprintln(m.Stdout, "ltnode run: đã dừng.")
	}
	return nil
}

type nodeRunner struct {
	m    *Main
	c    *node.Client
	reg  *register.Register
	rv   *receiver
	json bool
	mu   sync.Mutex // output
	down bool       // the last pass found the hub unreachable
}

func (r *nodeRunner) event(e runEvent, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.json {
		e.Time = r.m.now()
		r.m.printJSONLine(e)
		return
	}
	fmt.Fprintf(r.m.Stdout, "%s %s\n", r.m.now().Format(time.TimeOnly), text)
}

func (r *nodeRunner) forwardLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.forward(ctx); err != nil && ctx.Err() == nil {
			r.event(runEvent{Type: "error", Error: cliutil.Describe(err)}, "Lỗi hộp thư đi: "+cliutil.Describe(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// forward runs one pass over the outbox and tells what happened; an
// unreachable hub is told once, until it comes back.
func (r *nodeRunner) forward(ctx context.Context) error {
	rep, err := r.c.Forward(ctx, r.reg, nil)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	for _, res := range rep.Forwarded {
		e := runEvent{Type: "forwarded", MessageID: res.MessageID}
		if sent, err := r.reg.SentDoc(res.MessageID); err == nil {
			e.Number, e.Notation = sent.Number, sent.Notation
		}
		r.event(e, fmt.Sprintf("Đã chuyển văn bản %s/%s lên trục (%s), %d nơi nhận", e.Number, e.Notation, e.MessageID,
			len(res.Body.GetRecipients())))
	}
	for _, f := range rep.Refused {
		r.event(runEvent{Type: "refused", MessageID: f.MessageID, Error: node.Describe(f.Err)},
			fmt.Sprintf("Trục từ chối văn bản %s: %s (xem `ltnode sync`)", f.MessageID, node.Describe(f.Err)))
	}
	switch {
	case rep.Unreachable != nil && !r.down:
		r.down = true
		msg := node.Describe(rep.Unreachable)
		r.event(runEvent{Type: "waiting", Queued: rep.Queued, Error: msg},
			fmt.Sprintf("Chưa kết nối được trục (%s); %d văn bản chờ trong hộp thư đi", msg, rep.Queued))
	case rep.Unreachable == nil:
		r.down = false
	}
	return nil
}

// receiveLoop keeps a waiting Receive stream open, reconnecting with
// exponential backoff while the hub is away.
func (r *nodeRunner) receiveLoop(ctx context.Context, outDir string) {
	backoff := minBackoff
	for {
		started, before := time.Now(), r.rv.documents+r.rv.notifications
		err := r.c.ReceiveInto(ctx, outDir, r.rv.options(true), r.rv.document)
		if ctx.Err() != nil {
			return
		}
		// A stream that lived long or brought something was a working
		// connection: the backoff starts again.
		if time.Since(started) > maxBackoff || r.rv.documents+r.rv.notifications > before {
			backoff = minBackoff
		}
		msg := "trục đóng kết nối"
		if err != nil {
			msg = cliutil.Describe(err)
		}
		r.event(runEvent{Type: "reconnecting", Error: msg}, fmt.Sprintf("Mất kết nối nhận văn bản (%s); thử lại sau %s", msg, backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
