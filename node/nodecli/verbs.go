package nodecli

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

type connectFunc func() (*node.Client, error)

// sendOutput is the --json form of a send.
type sendOutput struct {
	MessageID    string                    `json:"message_id"`
	Duplicate    bool                      `json:"duplicate"`
	Recipients   []string                  `json:"recipients"`
	ReceiptID    string                    `json:"receipt_id"`
	AcceptedAt   time.Time                 `json:"accepted_at"`
	Verification *lienthongv1.Verification `json:"verification,omitempty"`
}

func (m *Main) send(ctx context.Context, args []string, connect connectFunc) error {
	fs := m.newFlags("send")
	var to cliutil.Strings
	var files cliutil.List
	fs.Var(&to, "to", "nơi nhận: mã cơ quan, hoặc nhóm KIND:CODE (vd commune:000.00.31.H53); lặp lại hoặc ngăn bởi dấu phẩy")
	fs.Var(&files, "file", "tệp đính kèm (lặp lại cho nhiều tệp)")
	number := fs.String("number", "", "số văn bản, vd 123")
	notation := fs.String("notation", "", "ký hiệu, vd UBND-VP")
	subject := fs.String("subject", "", "trích yếu")
	docType := fs.String("type", "Công văn", "loại văn bản")
	issueDate := fs.String("date", "", "ngày ban hành YYYY-MM-DD (mặc định hôm nay)")
	signer := fs.String("signer", "", "người ký")
	urgency := fs.String("urgency", "normal", "độ khẩn: normal|urgent|very-urgent|flash")
	due := fs.String("due", "", "hạn xử lý YYYY-MM-DD")
	msgID := fs.String("message-id", "", "mã văn bản (UUID); mặc định sinh mới")
	revokes := fs.String("revokes", "", "thu hồi văn bản có mã ID")
	updates := fs.String("updates", "", "cập nhật văn bản có mã ID")
	replaces := fs.String("replaces", "", "thay thế văn bản có mã ID")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cliutil.Usagef("send: tham số thừa %q", pos)
	}
	if len(to) == 0 || len(files) == 0 || *number == "" || *notation == "" || *subject == "" {
		return cliutil.Usagef("send cần --to, --file, --number, --notation và --subject")
	}
	doc := node.Document{
		MessageID: *msgID, Recipients: to, Number: *number, Notation: *notation, Subject: *subject,
		DocumentType: *docType, IssueDate: *issueDate, Signer: *signer, DueDate: *due,
	}
	if doc.IssueDate == "" {
		doc.IssueDate = time.Now().Format("2006-01-02")
	}
	for _, d := range []string{doc.IssueDate, doc.DueDate} {
		if _, err := time.Parse("2006-01-02", d); d != "" && err != nil {
			return cliutil.Usagef("ngày %q phải có dạng YYYY-MM-DD", d)
		}
	}
	if doc.Urgency, err = parseUrgency(*urgency); err != nil {
		return err
	}
	n := 0
	for bt, id := range map[lienthongv1.BusinessType]string{
		lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE: *revokes, lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE: *updates,
		lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE: *replaces,
	} {
		if id != "" {
			doc.BusinessType, doc.RelatedMessageID = bt, id
			n++
		}
	}
	if n > 1 {
		return cliutil.Usagef("chỉ dùng một trong --revokes, --updates, --replaces")
	}
	for _, f := range files {
		doc.Files = append(doc.Files, node.File{Path: f})
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Send(ctx, doc, m.progressBar("Đang gửi"))
	if err != nil {
		return err
	}
	out := sendOutput{MessageID: res.MessageID, Duplicate: res.Duplicate, Recipients: res.Body.GetRecipients(),
		ReceiptID: res.Body.GetReceiptId(), AcceptedAt: res.Body.GetTime().AsTime(), Verification: res.Verification}
	if *asJSON {
		return m.printJSON(out)
	}
	if res.Duplicate {
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s đã được trục tiếp nhận trước đó; đây là biên nhận gốc.\n", *number, *notation)
	} else {
		fmt.Fprintf(m.Stdout, "Đã gửi văn bản %s/%s — trục đã tiếp nhận.\n", *number, *notation)
	}
	fmt.Fprintf(m.Stdout, "Mã văn bản:   %s\nThời điểm:    %s\nBiên nhận:    %s (chữ ký của trục hợp lệ)\nNơi nhận (%d): %s\n",
		out.MessageID, formatTime(out.AcceptedAt), out.ReceiptID, len(out.Recipients), strings.Join(out.Recipients, ", "))
	if v := res.Verification.GetVerdict(); v != "" {
		fmt.Fprintf(m.Stdout, "Kiểm tra chữ ký số: %s\n", v)
	}
	return nil
}

func parseUrgency(s string) (lienthongv1.Urgency, error) {
	switch strings.ToLower(s) {
	case "normal", "thuong", "thường", "":
		return lienthongv1.Urgency_URGENCY_NORMAL, nil
	case "urgent", "khan", "khẩn":
		return lienthongv1.Urgency_URGENCY_URGENT, nil
	case "very-urgent", "thuong-khan", "thượng khẩn":
		return lienthongv1.Urgency_URGENCY_VERY_URGENT, nil
	case "flash", "hoa-toc", "hỏa tốc":
		return lienthongv1.Urgency_URGENCY_FLASH, nil
	}
	return 0, cliutil.Usagef("độ khẩn %q không hợp lệ: normal, urgent, very-urgent, flash", s)
}

// inboxItem is one received document in --json output (one JSON object
// per line, as documents arrive).
type inboxItem struct {
	MessageID string   `json:"message_id"`
	Sender    string   `json:"sender"`
	Number    string   `json:"number"`
	Notation  string   `json:"notation"`
	Subject   string   `json:"subject"`
	Dir       string   `json:"dir"`
	Files     []string `json:"files"`
	Duplicate bool     `json:"duplicate"`
	Verdict   string   `json:"verdict,omitempty"`
}

func (m *Main) inbox(ctx context.Context, args []string, connect connectFunc) error {
	fs := m.newFlags("inbox")
	out := fs.String("out", "", "thư mục lưu văn bản đến")
	wait := fs.Duration("wait", 0, "chờ văn bản mới trong khoảng thời gian này (vd 30s); 0: chỉ lấy văn bản đang chờ")
	asJSON := fs.Bool("json", false, "in mỗi văn bản một dòng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 {
		return cliutil.Usagef("inbox cần --out DIR")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	count := 0
	err = c.ReceiveInto(ctx, *out, node.ReceiveOptions{Wait: *wait > 0}, func(r *node.Received) error {
		count++
		item := inboxItem{MessageID: r.MessageID, Sender: r.Envelope.GetSender(), Number: r.Envelope.GetNumber(),
			Notation: r.Envelope.GetNotation(), Subject: r.Envelope.GetSubject(), Dir: r.Dir, Files: r.Files,
			Duplicate: r.Duplicate, Verdict: r.Verification.GetVerdict()}
		if *asJSON {
			return m.printJSONLine(item)
		}
		dup := ""
		if r.Duplicate {
			dup = " (đã có, nhận lại)"
		}
		fmt.Fprintf(m.Stdout, "Đã nhận %s/%s từ %s: %s%s\n  → %s\n", item.Number, item.Notation, item.Sender, item.Subject, dup, item.Dir)
		return nil
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "Đã nhận %d văn bản.\n", count)
	}
	return nil
}

func (m *Main) printJSONLine(v any) error {
	return jsonLine(m.Stdout, v)
}

// trackOutput is the --json form of track.
type trackOutput struct {
	MessageID    string                    `json:"message_id"`
	Sender       string                    `json:"sender"`
	Number       string                    `json:"number"`
	Notation     string                    `json:"notation"`
	Subject      string                    `json:"subject"`
	Recipients   []trackRecipient          `json:"recipients"`
	Receipts     []trackReceipt            `json:"receipts"`
	Verification *lienthongv1.Verification `json:"verification,omitempty"`
}

type trackRecipient struct {
	Agency string    `json:"agency"`
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

type trackReceipt struct {
	ReceiptID      string    `json:"receipt_id"`
	Status         string    `json:"status"`
	Agency         string    `json:"agency,omitempty"`
	Recipients     []string  `json:"recipients,omitempty"`
	Time           time.Time `json:"time"`
	Reason         string    `json:"reason,omitempty"`
	EnvelopeSHA256 string    `json:"envelope_sha256"`
	SignatureValid bool      `json:"signature_valid"`
	SignatureError string    `json:"signature_error,omitempty"`
}

// StatusName is the short English name of a status used in JSON output.
func StatusName(s lienthongv1.Status) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.String(), "STATUS_")), "_", "-")
}

// statusLabel is how a clerk reads a status.
func statusLabel(s lienthongv1.Status) string {
	switch s {
	case lienthongv1.Status_STATUS_ACCEPTED:
		return "trục đã tiếp nhận"
	case lienthongv1.Status_STATUS_DELIVERED:
		return "đã đến"
	case lienthongv1.Status_STATUS_REJECTED:
		return "từ chối"
	case lienthongv1.Status_STATUS_RECEIVED:
		return "đã tiếp nhận"
	case lienthongv1.Status_STATUS_ASSIGNED:
		return "phân công"
	case lienthongv1.Status_STATUS_IN_PROGRESS:
		return "đang xử lý"
	case lienthongv1.Status_STATUS_DONE:
		return "hoàn thành"
	case lienthongv1.Status_STATUS_REVOKED:
		return "đã thu hồi"
	}
	return StatusName(s)
}

func (m *Main) track(ctx context.Context, args []string, connect connectFunc) error {
	fs := m.newFlags("track")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cliutil.Usagef("track cần đúng một MESSAGE_ID")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	t, err := c.Track(ctx, pos[0])
	if err != nil {
		return err
	}
	out := trackOutput{MessageID: t.Envelope.GetMessageId(), Sender: t.Envelope.GetSender(), Number: t.Envelope.GetNumber(),
		Notation: t.Envelope.GetNotation(), Subject: t.Envelope.GetSubject(), Verification: t.Verification,
		Recipients: []trackRecipient{}, Receipts: []trackReceipt{}}
	for _, r := range t.Recipients {
		out.Recipients = append(out.Recipients, trackRecipient{Agency: r.GetAgency(), Status: StatusName(r.GetStatus()), Time: r.GetTime().AsTime()})
	}
	bad := 0
	for _, r := range t.Receipts {
		tr := trackReceipt{ReceiptID: r.Body.GetReceiptId(), Status: StatusName(r.Body.GetStatus()), Agency: r.Body.GetAgency(),
			Recipients: r.Body.GetRecipients(), Time: r.Body.GetTime().AsTime(), Reason: r.Body.GetReason(),
			EnvelopeSHA256: hex.EncodeToString(r.Body.GetEnvelopeSha256()), SignatureValid: r.Err == nil}
		if r.Err != nil {
			tr.SignatureError = r.Err.Error()
			bad++
		}
		out.Receipts = append(out.Receipts, tr)
	}
	if *asJSON {
		if err := m.printJSON(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s — %s\nMã: %s   Nơi gửi: %s\n\n", out.Number, out.Notation, out.Subject, out.MessageID, out.Sender)
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NƠI NHẬN\tTRẠNG THÁI\tTHỜI ĐIỂM")
		for _, r := range t.Recipients {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.GetAgency(), statusLabel(r.GetStatus()), formatTime(r.GetTime().AsTime()))
		}
		tw.Flush()
		fmt.Fprintln(m.Stdout, "\nBiên nhận do trục ký:")
		tw = tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "THỜI ĐIỂM\tBƯỚC\tCƠ QUAN\tCHỮ KÝ CỦA TRỤC")
		for _, r := range t.Receipts {
			who := r.Body.GetAgency()
			if who == "" {
				who = fmt.Sprintf("%d nơi nhận", len(r.Body.GetRecipients()))
			}
			check := "hợp lệ ✓"
			if r.Err != nil {
				check = "KHÔNG HỢP LỆ ✗ " + r.Err.Error()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", formatTime(r.Body.GetTime().AsTime()), statusLabel(r.Body.GetStatus()), who, check)
		}
		tw.Flush()
	}
	if bad > 0 {
		return fmt.Errorf("%d biên nhận có chữ ký của trục không hợp lệ (receipt signature invalid)", bad)
	}
	return nil
}

func (m *Main) agencies(ctx context.Context, args []string, connect connectFunc) error {
	fs := m.newFlags("agencies")
	under := fs.String("under", "", "chỉ các cơ quan thuộc mã này")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	if _, err := cliutil.Parse(fs, args); err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.Agencies(ctx, *under)
	if err != nil {
		return err
	}
	if *asJSON {
		type agency struct {
			Code   string `json:"code"`
			Name   string `json:"name"`
			Kind   string `json:"kind"`
			Active bool   `json:"active"`
		}
		out := []agency{}
		for _, a := range list {
			out = append(out, agency{a.GetCode(), a.GetName(), kindWord(a.GetKind()), a.GetStatus() == lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE})
		}
		return m.printJSON(out)
	}
	printTree(m.Stdout, list)
	return nil
}

func kindWord(k lienthongv1.AgencyKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "AGENCY_KIND_"))
}
