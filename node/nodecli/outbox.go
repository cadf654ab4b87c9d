package nodecli

import (
	"context"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
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
	// Dropped is the document --drop removed from the outbox.
	Dropped string `json:"dropped,omitempty"`
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
	if *drop != "" {
		d, err := s.desk(deskConfig{})
		if err != nil {
			return err
		}
		if err := d.Drop(*drop); err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(syncOutput{Dropped: *drop, Documents: []syncDocument{}})
		}
		fmt.Fprintf(m.Stdout, "Đã bỏ văn bản %s khỏi hộp thư đi.\n", *drop)
		return nil
	}
	d, err := s.desk(deskConfig{online: true})
	if err != nil {
		return err
	}
	if *retry {
		if err := d.Retry(""); err != nil {
			return err
		}
	}
	rep, err := d.Forward(ctx, m.progressBar("Đang chuyển"))
	if err != nil {
		return err
	}
	list, err := d.Outbox(register.Query{})
	if err != nil {
		return err
	}
	out := syncOutput{Forwarded: len(rep.Forwarded), Documents: []syncDocument{}}
	if rep.Unreachable != nil {
		out.Unreachable = node.Describe(rep.Unreachable)
	}
	for _, res := range rep.Forwarded {
		doc := syncDocument{MessageID: res.MessageID, State: "forwarded", Recipients: res.Body.GetRecipients(),
			ReceiptID: res.Body.GetReceiptId(), AcceptedAt: timePtr(res.Body.GetTime().AsTime()), Duplicate: res.Duplicate}
		if sent, err := d.Register().SentDoc(res.MessageID); err == nil {
			doc.Number, doc.Notation, doc.Subject = sent.Number, sent.Notation, sent.Subject
		}
		out.Documents = append(out.Documents, doc)
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

// runNode is `ltnode run`: until ctx ends (SIGINT, SIGTERM), the desk
// forwards the outbox every interval and keeps a waiting receive stream
// open (desk.Run); this prints what happens.
func (m *Main) runNode(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("run")
	out := fs.String("out", "", "thư mục lưu văn bản đến")
	interval := fs.Duration("interval", 5*time.Second, "chu kỳ chuyển hộp thư đi")
	asJSON := fs.Bool("json", false, "in mỗi sự kiện một dòng JSON")
	edxmlIn := fs.String("edxml-in", "", "thư mục nhận gói edXML để gửi")
	edxmlOut := fs.String("edxml-out", "", "thư mục ghi văn bản đến và trạng thái thành edXML")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 || *interval <= 0 {
		return cliutil.Usagef("run cần --out DIR (và --interval dương)")
	}
	if (*edxmlIn == "") != (*edxmlOut == "") {
		return cliutil.Usagef("run cần cả --edxml-in và --edxml-out")
	}
	d, err := s.desk(deskConfig{online: true, inbox: *out})
	if err != nil {
		return err
	}
	r := &runPrinter{printer: printer{m: m, d: d, ctx: ctx, json: *asJSON}}
	handlers := r.handlers()
	if *edxmlIn != "" {
		stop := m.runEdxml(ctx, d, *edxmlIn, *edxmlOut, r, &handlers, *interval)
		defer stop()
	}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "ltnode run: %s, trục %s, văn bản đến vào %s (Ctrl-C để dừng)\n", d.Named(ctx, d.Code()), s.hubAddr, *out)
	}
	err = d.Run(ctx, *interval, desk.RunHandlers{
		Handlers:  handlers,
		Forwarded: r.forwarded,
		Reconnecting: func(err error, backoff time.Duration) {
			msg := "trục đóng kết nối"
			if err != nil {
				msg = cliutil.Describe(err)
			}
			r.event(runEvent{Type: "reconnecting", Error: msg}, fmt.Sprintf("Mất kết nối nhận văn bản (%s); thử lại sau %s", msg, backoff))
		},
		Error: func(err error) {
			r.event(runEvent{Type: "error", Error: cliutil.Describe(err)}, "Lỗi hộp thư đi: "+cliutil.Describe(err))
		},
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintln(m.Stdout, "ltnode run: đã dừng.")
	}
	return nil
}

// runPrinter prints what run does.
type runPrinter struct {
	printer
	down bool // the last pass found the hub unreachable
}

func (r *runPrinter) event(e runEvent, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.m.now()
	if r.json {
		e.Time = desk.Local(now)
		r.m.printJSONLine(e)
		return
	}
	fmt.Fprintf(r.m.Stdout, "%s %s\n", formatTime(now), text)
}

// forwarded tells one pass over the outbox; an unreachable hub is told
// once, until it comes back.
func (r *runPrinter) forwarded(rep *node.ForwardReport) {
	for _, res := range rep.Forwarded {
		e := runEvent{Type: "forwarded", MessageID: res.MessageID}
		if sent, err := r.d.Register().SentDoc(res.MessageID); err == nil {
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
}
