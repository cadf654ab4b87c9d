package nodecli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// statusOutput is the --json form of status.
type statusOutput struct {
	MessageID string    `json:"message_id"`
	Number    string    `json:"number,omitempty"`
	Notation  string    `json:"notation,omitempty"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Agency    string    `json:"agency"`
	ReceiptID string    `json:"receipt_id"`
	Time      time.Time `json:"time"`
	// Receipt is the hub's signed receipt (a serialized
	// lienthong.v1.Receipt), verifiable offline.
	Receipt []byte `json:"receipt"`
}

func (m *Main) status(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("status")
	reason := fs.String("reason", "", "lý do (bắt buộc khi từ chối)")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return cliutil.Usagef("status cần MESSAGE_ID và một trạng thái: %s", desk.StepNames())
	}
	id := pos[0]
	st, err := desk.ParseStep(pos[1])
	if err == nil {
		err = desk.CheckStep(st, *reason)
	}
	if err != nil {
		return cliutil.Usagef("%s", lienthong.ErrorMessage(err))
	}
	d, err := s.desk(deskConfig{online: true})
	if err != nil {
		return err
	}
	rep, err := d.Report(ctx, id, st, *reason)
	if err != nil {
		return err
	}
	body := rep.Body
	out := statusOutput{MessageID: id, Status: body.GetStatus().Name(), Reason: body.GetReason(), Agency: body.GetAgency(),
		ReceiptID: body.GetReceiptId(), Time: desk.Local(body.GetTime().AsTime()), Receipt: mustMarshal(rep.Receipt)}
	if rep.Entry != nil {
		out.Number, out.Notation = rep.Entry.Number, rep.Entry.Notation
	}
	if *asJSON {
		if err := m.printJSON(out); err != nil {
			return err
		}
	} else {
		doc := id
		if out.Number != "" {
			doc = out.Number + "/" + out.Notation
		}
		fmt.Fprintf(m.Stdout, "Đã báo trục: văn bản %s — %s.\n", doc, st.Label())
		if out.Reason != "" {
			fmt.Fprintf(m.Stdout, "Lý do:        %s\n", out.Reason)
		}
		fmt.Fprintf(m.Stdout, "Mã văn bản:   %s\nThời điểm:    %s\nBiên nhận:    %s (chữ ký của trục hợp lệ)\n",
			id, formatTime(body.GetTime().AsTime()), out.ReceiptID)
	}
	return rep.RecordErr
}

// recipientItem is one recipient's step in `register --json`.
type recipientItem struct {
	Agency string    `json:"agency"`
	Name   string    `json:"name,omitempty"`
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason,omitempty"`
}

// sentItem is an entry of the register of documents sent in --json
// output.
type sentItem struct {
	MessageID        string          `json:"message_id"`
	BusinessType     string          `json:"business_type"`
	RelatedMessageID string          `json:"related_message_id,omitempty"`
	Number           string          `json:"number"`
	Notation         string          `json:"notation"`
	DocumentType     string          `json:"document_type"`
	Subject          string          `json:"subject"`
	IssueDate        string          `json:"issue_date"`
	DueDate          string          `json:"due_date,omitempty"`
	To               []string        `json:"to"`
	Recipients       []recipientItem `json:"recipients"`
	ReceiptID        string          `json:"receipt_id"`
	AcceptedAt       time.Time       `json:"accepted_at"`
	RevokedBy        string          `json:"revoked_by,omitempty"`
	Links            []string        `json:"links,omitempty"`
	Overdue          bool            `json:"overdue"`
}

// receivedItem is an entry of the register of documents received in
// --json output.
type receivedItem struct {
	MessageID        string    `json:"message_id"`
	Sender           string    `json:"sender"`
	SenderName       string    `json:"sender_name,omitempty"`
	BusinessType     string    `json:"business_type"`
	RelatedMessageID string    `json:"related_message_id,omitempty"`
	Number           string    `json:"number"`
	Notation         string    `json:"notation"`
	DocumentType     string    `json:"document_type"`
	Subject          string    `json:"subject"`
	Urgency          string    `json:"urgency"`
	IssueDate        string    `json:"issue_date"`
	DueDate          string    `json:"due_date,omitempty"`
	Dir              string    `json:"dir"`
	ReceivedAt       time.Time `json:"received_at"`
	Status           string    `json:"status"`
	StatusAt         time.Time `json:"status_at"`
	Reason           string    `json:"reason,omitempty"`
	RevokedBy        string    `json:"revoked_by,omitempty"`
	Links            []string  `json:"links,omitempty"`
	Overdue          bool      `json:"overdue"`
	// NotStored says why the document is not in the inbox, when it is not.
	NotStored string `json:"not_stored,omitempty"`
}

// outboxItem is a document of the outbox in --json output.
type outboxItem struct {
	MessageID   string     `json:"message_id"`
	State       string     `json:"state"`
	Number      string     `json:"number"`
	Notation    string     `json:"notation"`
	Subject     string     `json:"subject"`
	To          []string   `json:"to"`
	DueDate     string     `json:"due_date,omitempty"`
	QueuedAt    time.Time  `json:"queued_at"`
	Attempts    int        `json:"attempts"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// refusedItem is a document the hub refused at send, in --json output.
type refusedItem struct {
	MessageID string    `json:"message_id"`
	Number    string    `json:"number"`
	Notation  string    `json:"notation"`
	Subject   string    `json:"subject"`
	To        []string  `json:"to"`
	RefusedAt time.Time `json:"refused_at"`
	Reason    string    `json:"reason"`
}

// books are the books `register` lists, in order.
var books = []string{"sent", "received", "outbox", "refused"}

func (m *Main) register(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("register")
	search := fs.String("search", "", "tìm theo số, ký hiệu, trích yếu, mã cơ quan (không phân biệt hoa thường, dấu)")
	overdue := fs.Bool("overdue", false, "chỉ các văn bản đã quá hạn xử lý mà chưa hoàn thành")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	list := books
	switch {
	case len(pos) > 1:
		return cliutil.Usagef("register: chỉ một sổ: sent, received, outbox hoặc refused")
	case len(pos) == 1:
		if !slices.Contains(books, pos[0]) {
			return cliutil.Usagef("register: sổ %q không có; dùng sent (văn bản đi), received (văn bản đến), outbox (hộp thư đi) hoặc refused (bị trục từ chối)", pos[0])
		}
		list = pos
	}
	d, err := s.desk(deskConfig{})
	if err != nil {
		return err
	}
	if d.Client() != nil && slices.Contains(list, "sent") {
		// The register of documents sent tells what Track tells: the hub
		// does not notify deliveries, so each open entry is asked.
		rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		err := d.Refresh(rctx)
		cancel()
		if err != nil {
			fmt.Fprintf(m.Stderr, "ltnode: chưa cập nhật được trạng thái từ trục (%s); sổ văn bản đi theo lần cập nhật trước\n", cliutil.Describe(err))
		}
	}
	q := register.Query{Search: *search, Overdue: *overdue}
	today := d.Register().Today()
	all := map[string]any{}
	for _, book := range list {
		var v any
		switch book {
		case "sent":
			l, err := d.Sent(q)
			if err != nil {
				return err
			}
			v = sentItems(ctx, d, l, today)
		case "received":
			l, err := d.ReceivedList(q)
			if err != nil {
				return err
			}
			v = receivedItems(ctx, d, l, today)
		case "outbox":
			l, err := d.Outbox(q)
			if err != nil {
				return err
			}
			v = outboxItems(l)
		case "refused":
			l, err := d.Refused(q)
			if err != nil {
				return err
			}
			v = refusedItems(l)
		}
		all[book] = v
	}
	if *asJSON {
		if len(list) == 1 {
			return m.printJSON(all[list[0]])
		}
		return m.printJSON(all)
	}
	for i, book := range list {
		if i > 0 {
			fmt.Fprintln(m.Stdout)
		}
		switch book {
		case "sent":
			m.printSent(ctx, d, all[book].([]sentItem))
		case "received":
			m.printReceived(ctx, d, all[book].([]receivedItem))
		case "outbox":
			m.printOutbox(all[book].([]outboxItem))
		case "refused":
			m.printRefused(all[book].([]refusedItem))
		}
	}
	return nil
}

// refreshTimeout bounds how long `register` waits for the hub's statuses.
const refreshTimeout = 20 * time.Second

func sentItems(ctx context.Context, d *desk.Desk, list []*register.Sent, today string) []sentItem {
	out := []sentItem{}
	for _, s := range list {
		it := sentItem{MessageID: s.MessageID, BusinessType: desk.BusinessName(s.BusinessType), RelatedMessageID: s.RelatedMessageID,
			Number: s.Number, Notation: s.Notation, DocumentType: s.DocumentType, Subject: s.Subject, IssueDate: s.IssueDate,
			DueDate: s.DueDate, To: s.To, Recipients: []recipientItem{}, ReceiptID: s.ReceiptID, AcceptedAt: desk.Local(s.AcceptedAt),
			RevokedBy: s.RevokedBy, Links: s.Links, Overdue: s.Overdue(today)}
		if it.To == nil {
			it.To = []string{}
		}
		for _, r := range s.Recipients {
			it.Recipients = append(it.Recipients, recipientItem{Agency: r.Agency, Name: d.Name(ctx, r.Agency), Status: r.Status.Name(),
				Time: desk.Local(r.Time), Reason: r.Reason})
		}
		out = append(out, it)
	}
	return out
}

func receivedItems(ctx context.Context, d *desk.Desk, list []*register.Received, today string) []receivedItem {
	out := []receivedItem{}
	for _, r := range list {
		out = append(out, receivedItem{MessageID: r.MessageID, Sender: r.Sender, SenderName: d.Name(ctx, r.Sender),
			BusinessType: desk.BusinessName(r.BusinessType), RelatedMessageID: r.RelatedMessageID, Number: r.Number, Notation: r.Notation,
			DocumentType: r.DocumentType, Subject: r.Subject, Urgency: desk.UrgencyName(r.Urgency), IssueDate: r.IssueDate,
			DueDate: r.DueDate, Dir: r.Dir, ReceivedAt: desk.Local(r.ReceivedAt), Status: r.Status.Name(), StatusAt: desk.Local(r.StatusAt),
			Reason: r.Reason, RevokedBy: r.RevokedBy, Links: r.Links, Overdue: r.Overdue(today), NotStored: r.NotStored})
	}
	return out
}

func outboxItems(list []*register.Outgoing) []outboxItem {
	out := []outboxItem{}
	for _, o := range list {
		it := outboxItem{MessageID: o.MessageID, State: string(o.State), Number: o.Number, Notation: o.Notation, Subject: o.Subject,
			To: o.Recipients, DueDate: o.DueDate, QueuedAt: desk.Local(o.QueuedAt), Attempts: o.Attempts, Error: o.Error,
			LastAttempt: timePtr(o.LastAttempt)}
		if it.To == nil {
			it.To = []string{}
		}
		out = append(out, it)
	}
	return out
}

func refusedItems(list []*register.Refused) []refusedItem {
	out := []refusedItem{}
	for _, f := range list {
		it := refusedItem{MessageID: f.MessageID, Number: f.Number, Notation: f.Notation, Subject: f.Subject, To: f.Recipients,
			RefusedAt: desk.Local(f.RefusedAt), Reason: f.Reason}
		if it.To == nil {
			it.To = []string{}
		}
		out = append(out, it)
	}
	return out
}

func due(date string, overdue bool) string {
	switch {
	case date == "":
		return "-"
	case overdue:
		return date + " (QUÁ HẠN)"
	}
	return date
}

func (m *Main) printSent(ctx context.Context, d *desk.Desk, list []sentItem) {
	fmt.Fprintf(m.Stdout, "SỔ VĂN BẢN ĐI (%d)\n", len(list))
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SỐ/KÝ HIỆU\tNGÀY GỬI\tTRÍCH YẾU\tHẠN XỬ LÝ\tNƠI NHẬN — TRẠNG THÁI")
	for _, s := range list {
		var steps []string
		for _, r := range s.Recipients {
			steps = append(steps, d.Named(ctx, r.Agency)+": "+statusByName(r.Status))
		}
		if s.RevokedBy != "" {
			steps = append(steps, "(đã thu hồi bởi "+s.RevokedBy+")")
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", s.Number, s.Notation, formatTime(s.AcceptedAt), s.Subject,
			due(s.DueDate, s.Overdue), strings.Join(steps, "; "))
	}
	tw.Flush()
}

func (m *Main) printReceived(ctx context.Context, d *desk.Desk, list []receivedItem) {
	fmt.Fprintf(m.Stdout, "SỔ VĂN BẢN ĐẾN (%d)\n", len(list))
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SỐ/KÝ HIỆU\tNƠI GỬI\tNGÀY NHẬN\tTRÍCH YẾU\tHẠN XỬ LÝ\tTRẠNG THÁI")
	for _, r := range list {
		st := statusByName(r.Status)
		if r.RevokedBy != "" {
			st += " (đã bị thu hồi)"
		}
		if r.NotStored != "" {
			st += " (không nhận được: " + r.NotStored + ")"
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Notation, d.Named(ctx, r.Sender), formatTime(r.ReceivedAt), r.Subject,
			due(r.DueDate, r.Overdue), st)
	}
	tw.Flush()
}

func (m *Main) printOutbox(list []outboxItem) {
	fmt.Fprintf(m.Stdout, "HỘP THƯ ĐI (%d)\n", len(list))
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SỐ/KÝ HIỆU\tMÃ VĂN BẢN\tTRÍCH YẾU\tTRẠNG THÁI")
	for _, o := range list {
		st := "đang chờ"
		if o.State == string(register.Failed) {
			st = "bị từ chối: " + o.Error
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\n", o.Number, o.Notation, o.MessageID, o.Subject, st)
	}
	tw.Flush()
}

func (m *Main) printRefused(list []refusedItem) {
	fmt.Fprintf(m.Stdout, "BỊ TRỤC TỪ CHỐI KHI GỬI (%d)\n", len(list))
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SỐ/KÝ HIỆU\tMÃ VĂN BẢN\tTHỜI ĐIỂM\tTRÍCH YẾU\tLÝ DO")
	for _, f := range list {
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", f.Number, f.Notation, f.MessageID, formatTime(f.RefusedAt), f.Subject, f.Reason)
	}
	tw.Flush()
}

// statusByName is the clerk's word for a status given by its JSON name.
func statusByName(name string) string {
	for v := range lienthongv1.Status_name {
		if st := lienthongv1.Status(v); st.Name() == name {
			return st.Label()
		}
	}
	return name
}
