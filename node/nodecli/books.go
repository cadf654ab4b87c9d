package nodecli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// reportable are the steps a recipient reports with `ltnode status`.
var reportable = []lienthongv1.Status{
	lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_REJECTED, lienthongv1.Status_STATUS_ASSIGNED,
	lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE,
}

// statusOutput is the --json form of status.
type statusOutput struct {
	MessageID string    `json:"message_id"`
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
	var names []string
	for _, st := range reportable {
		names = append(names, st.Name())
	}
	if len(pos) != 2 {
		return cliutil.Usagef("status cần MESSAGE_ID và một trạng thái: %s", strings.Join(names, "|"))
	}
	id := pos[0]
	var st lienthongv1.Status
	for _, r := range reportable {
		if r.Name() == strings.ToLower(pos[1]) {
			st = r
		}
	}
	if st == lienthongv1.Status_STATUS_UNSPECIFIED {
		return cliutil.Usagef("trạng thái %q không hợp lệ: %s", pos[1], strings.Join(names, "|"))
	}
	if st == lienthongv1.Status_STATUS_REJECTED && strings.TrimSpace(*reason) == "" {
		return cliutil.Usagef("từ chối văn bản phải nêu lý do: --reason \"...\"")
	}
	c, reg, err := s.connectWithRegister()
	if err != nil {
		return err
	}
	defer c.Close()
	rcpt, err := c.ReportStatus(ctx, id, st, strings.TrimSpace(*reason))
	if err != nil {
		return err
	}
	tr := node.CheckReceipt(rcpt, c.Identity().Roots)
	if tr.Err != nil {
		return tr.Err
	}
	body := tr.Body
	out := statusOutput{MessageID: id, Status: body.GetStatus().Name(), Reason: body.GetReason(), Agency: body.GetAgency(),
		ReceiptID: body.GetReceiptId(), Time: body.GetTime().AsTime(), Receipt: mustMarshal(rcpt)}
	rec, regErr := reg.SetStatus(body, rcpt)
	if *asJSON {
		if err := m.printJSON(out); err != nil {
			return err
		}
	} else {
		doc := id
		if regErr == nil && rec.Number != "" {
			doc = rec.Number + "/" + rec.Notation
		}
		fmt.Fprintf(m.Stdout, "Đã báo trục: văn bản %s — %s.\n", doc, st.Label())
		if out.Reason != "" {
			fmt.Fprintf(m.Stdout, "Lý do:        %s\n", out.Reason)
		}
		fmt.Fprintf(m.Stdout, "Mã văn bản:   %s\nThời điểm:    %s\nBiên nhận:    %s (chữ ký của trục hợp lệ)\n",
			id, formatTime(out.Time), out.ReceiptID)
	}
	if regErr != nil {
		return fmt.Errorf("trục đã ghi nhận nhưng không ghi được vào sổ văn bản đến: %w", regErr)
	}
	return nil
}

// recipientItem is one recipient's step in `register --json`.
type recipientItem struct {
	Agency string    `json:"agency"`
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
	BusinessType     string    `json:"business_type"`
	RelatedMessageID string    `json:"related_message_id,omitempty"`
	Number           string    `json:"number"`
	Notation         string    `json:"notation"`
	DocumentType     string    `json:"document_type"`
	Subject          string    `json:"subject"`
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

func (m *Main) register(args []string, s *session) error {
	fs := m.newFlags("register")
	search := fs.String("search", "", "tìm theo số, ký hiệu, trích yếu, mã cơ quan (không phân biệt hoa thường, dấu)")
	overdue := fs.Bool("overdue", false, "chỉ các văn bản đã quá hạn xử lý mà chưa hoàn thành")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	books := []string{"sent", "received", "outbox"}
	switch {
	case len(pos) > 1:
		return cliutil.Usagef("register: chỉ một sổ: sent, received hoặc outbox")
	case len(pos) == 1:
		switch pos[0] {
		case "sent", "received", "outbox":
			books = pos
		default:
			return cliutil.Usagef("register: sổ %q không có; dùng sent (văn bản đi), received (văn bản đến) hoặc outbox (hộp thư đi)", pos[0])
		}
	}
	reg, err := s.register()
	if err != nil {
		return err
	}
	q := register.Query{Search: *search, Overdue: *overdue}
	today := reg.Today()
	all := map[string]any{}
	for _, book := range books {
		var v any
		switch book {
		case "sent":
			list, err := reg.SentList(q)
			if err != nil {
				return err
			}
			v = sentItems(list, today)
		case "received":
			list, err := reg.ReceivedList(q)
			if err != nil {
				return err
			}
			v = receivedItems(list, today)
		case "outbox":
			list, err := reg.Outbox()
			if err != nil {
				return err
			}
			v = outboxItems(list, q, today)
		}
		all[book] = v
	}
	if *asJSON {
		if len(books) == 1 {
			return m.printJSON(all[books[0]])
		}
		return m.printJSON(all)
	}
	for i, book := range books {
		if i > 0 {
			fmt.Fprintln(m.Stdout)
		}
		switch book {
		case "sent":
			m.printSent(all[book].([]sentItem))
		case "received":
			m.printReceived(all[book].([]receivedItem))
		case "outbox":
			m.printOutbox(all[book].([]outboxItem))
		}
	}
	return nil
}

func sentItems(list []*register.Sent, today string) []sentItem {
	out := []sentItem{}
	for _, s := range list {
		it := sentItem{MessageID: s.MessageID, BusinessType: businessName(s.BusinessType), RelatedMessageID: s.RelatedMessageID,
			Number: s.Number, Notation: s.Notation, DocumentType: s.DocumentType, Subject: s.Subject, IssueDate: s.IssueDate,
			DueDate: s.DueDate, To: s.To, Recipients: []recipientItem{}, ReceiptID: s.ReceiptID, AcceptedAt: s.AcceptedAt,
			RevokedBy: s.RevokedBy, Links: s.Links, Overdue: s.Overdue(today)}
		if it.To == nil {
			it.To = []string{}
		}
		for _, r := range s.Recipients {
			it.Recipients = append(it.Recipients, recipientItem{Agency: r.Agency, Status: r.Status.Name(), Time: r.Time, Reason: r.Reason})
		}
		out = append(out, it)
	}
	return out
}

func receivedItems(list []*register.Received, today string) []receivedItem {
	out := []receivedItem{}
	for _, r := range list {
		out = append(out, receivedItem{MessageID: r.MessageID, Sender: r.Sender, BusinessType: businessName(r.BusinessType),
			RelatedMessageID: r.RelatedMessageID, Number: r.Number, Notation: r.Notation, DocumentType: r.DocumentType,
			Subject: r.Subject, IssueDate: r.IssueDate, DueDate: r.DueDate, Dir: r.Dir, ReceivedAt: r.ReceivedAt,
			Status: r.Status.Name(), StatusAt: r.StatusAt, Reason: r.Reason, RevokedBy: r.RevokedBy, Links: r.Links,
			Overdue: r.Overdue(today), NotStored: r.NotStored})
	}
	return out
}

// outboxItems lists the outbox, filtered like the registers: an outbox
// document is overdue when its due date has passed while it waits.
func outboxItems(list []*register.Outgoing, q register.Query, today string) []outboxItem {
	out := []outboxItem{}
	words := strings.Fields(register.Fold(q.Search))
	for _, o := range list {
		hay := register.Fold(strings.Join(append([]string{o.MessageID, o.Number, o.Notation, o.Number + "/" + o.Notation, o.Subject}, o.Recipients...), "\n"))
		match := true
		for _, w := range words {
			match = match && strings.Contains(hay, w)
		}
		if !match || (q.Overdue && (o.DueDate == "" || o.DueDate >= today)) {
			continue
		}
		it := outboxItem{MessageID: o.MessageID, State: string(o.State), Number: o.Number, Notation: o.Notation, Subject: o.Subject,
			To: o.Recipients, DueDate: o.DueDate, QueuedAt: o.QueuedAt, Attempts: o.Attempts, Error: o.Error}
		if it.To == nil {
			it.To = []string{}
		}
		if !o.LastAttempt.IsZero() {
			t := o.LastAttempt
			it.LastAttempt = &t
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

func (m *Main) printSent(list []sentItem) {
	fmt.Fprintf(m.Stdout, "SỔ VĂN BẢN ĐI (%d)\n", len(list))
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SỐ/KÝ HIỆU\tNGÀY GỬI\tTRÍCH YẾU\tHẠN XỬ LÝ\tNƠI NHẬN — TRẠNG THÁI")
	for _, s := range list {
		var steps []string
		for _, r := range s.Recipients {
			steps = append(steps, r.Agency+": "+statusByName(r.Status))
		}
		if s.RevokedBy != "" {
			steps = append(steps, "(đã thu hồi bởi "+s.RevokedBy+")")
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", s.Number, s.Notation, formatTime(s.AcceptedAt), s.Subject,
			due(s.DueDate, s.Overdue), strings.Join(steps, "; "))
	}
	tw.Flush()
}

func (m *Main) printReceived(list []receivedItem) {
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
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Notation, r.Sender, formatTime(r.ReceivedAt), r.Subject,
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

// statusByName is the clerk's word for a status given by its JSON name.
func statusByName(name string) string {
	for v := range lienthongv1.Status_name {
		if st := lienthongv1.Status(v); st.Name() == name {
			return st.Label()
		}
	}
	return name
}
