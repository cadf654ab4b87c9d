package nodecli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

type connectFunc func() (*node.Client, error)

// sendOutput is the --json form of a send.
type sendOutput struct {
	MessageID string `json:"message_id"`
	// Queued is true when the hub could not be reached: the document waits
	// in the outbox and Unreachable says why.
	Queued       bool                      `json:"queued"`
	Unreachable  string                    `json:"unreachable,omitempty"`
	Duplicate    bool                      `json:"duplicate"`
	Recipients   []string                  `json:"recipients"`
	ReceiptID    string                    `json:"receipt_id"`
	AcceptedAt   *time.Time                `json:"accepted_at,omitempty"`
	Verification *lienthongv1.Verification `json:"verification,omitempty"`
}

func (m *Main) send(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("send")
	var to cliutil.Strings
	var files cliutil.List
	fs.Var(&to, "to", "nơi nhận: mã cơ quan, hoặc nhóm KIND:CODE (vd commune:000.00.31.H53); lặp lại hoặc ngăn bởi dấu phẩy; "+
		"bỏ trống khi thu hồi/cập nhật/thay thế để gửi đến mọi nơi đã nhận văn bản gốc")
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
	doc := node.Document{
		MessageID: *msgID, Recipients: to, Number: *number, Notation: *notation, Subject: *subject,
		DocumentType: *docType, IssueDate: *issueDate, Signer: *signer, DueDate: *due,
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
	if (len(to) == 0 && n == 0) || len(files) == 0 || *number == "" || *notation == "" || *subject == "" {
		return cliutil.Usagef("send cần --to (trừ khi thu hồi/cập nhật/thay thế), --file, --number, --notation và --subject")
	}
	if doc.Urgency, err = parseUrgency(*urgency); err != nil {
		return err
	}
	for _, f := range files {
		doc.Files = append(doc.Files, node.File{Path: f})
	}
	c, reg, err := s.connectWithRegister()
	if err != nil {
		return err
	}
	defer c.Close()
	// Prepare, queue, then forward: the outbox holds the document (and a
	// copy of its files) before the hub is asked, so nothing is lost if
	// the hub is down or the answer never comes.
	p, err := c.Identity().Prepare(doc)
	if err != nil {
		return err
	}
	if _, err := reg.Queue(p.Signed, p.Paths); err != nil {
		return err
	}
	id := p.Envelope.GetMessageId()
	rep, err := c.Forward(ctx, reg, m.progressBar("Đang gửi"))
	if err != nil {
		return err
	}
	var res *node.SendResult
	others := 0
	for _, f := range rep.Forwarded {
		if f.MessageID == id {
			res = f
		} else {
			others++
		}
	}
	for _, f := range rep.Refused {
		if f.MessageID == id {
			// The clerk hears of the refusal now: nothing is left waiting.
			if err := reg.Drop(id); err != nil {
				return err
			}
			return f.Err
		}
	}
	if others > 0 || len(rep.Refused) > 0 {
		fmt.Fprintf(m.Stderr, "Hộp thư đi: đã chuyển thêm %d văn bản chờ trước đó, %d bị trục từ chối (xem `ltnode sync`).\n", others, len(rep.Refused))
	}
	out := sendOutput{MessageID: id, Recipients: []string{}}
	if res == nil {
		queued, sent, err := outboxState(reg, id)
		if err != nil {
			return err
		}
		switch {
		case queued != nil && queued.State == register.Failed:
			return fmt.Errorf("trục từ chối văn bản %s: %s", id, queued.Error)
		case queued != nil:
			out.Queued = true
			if rep.Unreachable != nil {
				out.Unreachable = node.Describe(rep.Unreachable)
			}
			if *asJSON {
				return m.printJSON(out)
			}
			fmt.Fprintf(m.Stdout, "Trục chưa nhận được văn bản %s/%s (lý do bên dưới): văn bản đang chờ trong hộp thư đi và sẽ được chuyển khi trục nhận lại\n"+
				"(chạy `ltnode sync`, hoặc để `ltnode run` tự chuyển).\nMã văn bản:   %s\nLý do:        %s\n",
				*number, *notation, id, out.Unreachable)
			return nil
		case sent != nil:
			// Another ltnode (run) forwarded it first.
			body := node.CheckReceipt(mustReceipt(sent.Accepted), c.Identity().Roots)
			res = &node.SendResult{MessageID: id, Receipt: body.Receipt, Body: body.Body}
		default:
			return fmt.Errorf("văn bản %s không còn trong hộp thư đi mà cũng không có trong sổ văn bản đi", id)
		}
	}
	at := res.Body.GetTime().AsTime()
	out.Duplicate, out.Recipients, out.ReceiptID, out.AcceptedAt, out.Verification =
		res.Duplicate, res.Body.GetRecipients(), res.Body.GetReceiptId(), &at, res.Verification
	if *asJSON {
		return m.printJSON(out)
	}
	if res.Duplicate {
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s đã được trục tiếp nhận trước đó; đây là biên nhận gốc.\n", *number, *notation)
	} else {
		fmt.Fprintf(m.Stdout, "Đã gửi văn bản %s/%s — trục đã tiếp nhận.\n", *number, *notation)
	}
	fmt.Fprintf(m.Stdout, "Mã văn bản:   %s\nThời điểm:    %s\nBiên nhận:    %s (chữ ký của trục hợp lệ)\nNơi nhận (%d): %s\n",
		out.MessageID, formatTime(at), out.ReceiptID, len(out.Recipients), strings.Join(out.Recipients, ", "))
	if v := res.Verification.GetVerdict(); v != "" {
		fmt.Fprintf(m.Stdout, "Kiểm tra chữ ký số: %s\n", v)
	}
	printIndications(m.Stdout, "", res.Verification)
	return nil
}

// outboxState finds a document in the outbox or, once forwarded, in the
// register of documents sent.
func outboxState(reg *register.Register, id string) (*register.Outgoing, *register.Sent, error) {
	list, err := reg.Outbox()
	if err != nil {
		return nil, nil, err
	}
	for _, o := range list {
		if o.MessageID == id {
			return o, nil, nil
		}
	}
	sent, err := reg.SentDoc(id)
	if errors.Is(err, register.ErrNotFound) {
		return nil, nil, nil
	}
	return nil, sent, err
}

// mustReceipt decodes a receipt the register stored; a damaged one comes
// out empty and fails verification.
func mustReceipt(raw []byte) *lienthongv1.Receipt {
	r := new(lienthongv1.Receipt)
	if proto.Unmarshal(raw, r) != nil {
		return new(lienthongv1.Receipt)
	}
	return r
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
	Type      string   `json:"type"` // "document"
	MessageID string   `json:"message_id"`
	Sender    string   `json:"sender"`
	Number    string   `json:"number"`
	Notation  string   `json:"notation"`
	Subject   string   `json:"subject"`
	Dir       string   `json:"dir"`
	Files     []string `json:"files"`
	Duplicate bool     `json:"duplicate"`
	Verdict   string   `json:"verdict,omitempty"`
	// Indication is the hub's EN 319 102-1 indication of the document.
	Indication string `json:"indication,omitempty"`
	// BusinessType and RelatedMessageID are set for a revocation, update
	// or replacement.
	BusinessType     string `json:"business_type,omitempty"`
	RelatedMessageID string `json:"related_message_id,omitempty"`
}

// notificationItem is one notification in --json output: a step of a
// document this agency sent, at one of its recipients.
type notificationItem struct {
	Type      string    `json:"type"` // "notification"
	MessageID string    `json:"message_id"`
	ReceiptID string    `json:"receipt_id"`
	Agency    string    `json:"agency"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
	Number    string    `json:"number,omitempty"`
	Notation  string    `json:"notation,omitempty"`
	Subject   string    `json:"subject,omitempty"`
}

// notStoredItem is one document this agency could not have, in --json
// output: it could not store it, or the hub quarantined it.
type notStoredItem struct {
	Type      string `json:"type"` // "not_stored"
	MessageID string `json:"message_id"`
	Sender    string `json:"sender"`
	Number    string `json:"number,omitempty"`
	Notation  string `json:"notation,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Reason    string `json:"reason"`
	// Status is the hub's view: "rejected" (the hub recorded that this
	// node cannot store it), "quarantined" (damaged on the hub), or
	// "accepted" (the hub could not be told: ReportError says why; it
	// will be offered again).
	Status      string `json:"status"`
	ReportError string `json:"report_error,omitempty"`
}

func (m *Main) inbox(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("inbox")
	out := fs.String("out", "", "thư mục lưu văn bản đến")
	wait := fs.Duration("wait", 0, "chờ văn bản mới trong khoảng thời gian này (vd 30s); 0: chỉ lấy văn bản đang chờ")
	asJSON := fs.Bool("json", false, "in mỗi văn bản, mỗi thông báo một dòng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 {
		return cliutil.Usagef("inbox cần --out DIR")
	}
	c, reg, err := s.connectWithRegister()
	if err != nil {
		return err
	}
	defer c.Close()
	if *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	rv := &receiver{m: m, reg: reg, json: *asJSON}
	err = c.ReceiveInto(ctx, *out, rv.options(*wait > 0), rv.document)
	var notStored *node.NotStoredError
	if err != nil && !errors.As(err, &notStored) {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "Đã nhận %d văn bản.\n", rv.documents)
		if rv.notifications > 0 {
			fmt.Fprintf(m.Stdout, "Đã nhận %d thông báo trạng thái văn bản đã gửi.\n", rv.notifications)
		}
	}
	if rv.notStored > 0 {
		return fmt.Errorf("%d văn bản không nhận được, xem ở trên và `ltnode register received` (%d documents not stored)", rv.notStored, rv.notStored)
	}
	return nil
}

// receiver enters what the hub delivers in the register and prints it;
// inbox and run use it.
type receiver struct {
	m    *Main
	reg  *register.Register
	json bool
	// mu serializes output (run also prints from its forwarder).
	mu                                  *sync.Mutex
	documents, notifications, notStored int
}

func (rv *receiver) options(wait bool) node.ReceiveOptions {
	return node.ReceiveOptions{Wait: wait, OnStored: rv.stored, OnNotification: rv.notification, OnNotStored: rv.notStoredDoc}
}

// notStoredDoc registers a document this agency could not have and
// prints it.
func (rv *receiver) notStoredDoc(ns *node.NotStored) error {
	status, rcpt := lienthongv1.Status_STATUS_ACCEPTED, (*lienthongv1.Receipt)(nil)
	switch {
	case ns.Quarantined != nil:
		status, rcpt = lienthongv1.Status_STATUS_QUARANTINED, ns.Quarantined
	case ns.Rejected != nil:
		status, rcpt = lienthongv1.Status_STATUS_REJECTED, ns.Rejected
	}
	rec, err := rv.reg.AddNotStored(ns.MessageID, ns.Sender, ns.Envelope, ns.Reason, status, rcpt)
	if err != nil {
		return err
	}
	defer rv.lock()()
	rv.notStored++
	item := notStoredItem{Type: "not_stored", MessageID: ns.MessageID, Sender: ns.Sender, Number: rec.Number, Notation: rec.Notation,
		Subject: rec.Subject, Reason: ns.Reason, Status: status.Name()}
	if ns.ReportErr != nil {
		item.ReportError = cliutil.Describe(ns.ReportErr)
	}
	if rv.json {
		return rv.m.printJSONLine(item)
	}
	doc := ns.MessageID
	if item.Number != "" {
		doc = item.Number + "/" + item.Notation + " (" + ns.MessageID + ")"
	}
	fmt.Fprintf(rv.m.Stdout, "KHÔNG NHẬN ĐƯỢC văn bản %s từ %s: %s\n", doc, ns.Sender, ns.Reason)
	switch status {
	case lienthongv1.Status_STATUS_QUARANTINED:
		fmt.Fprintln(rv.m.Stdout, "  → trục đã cách ly văn bản; nơi gửi đã được báo để gửi lại.")
	case lienthongv1.Status_STATUS_REJECTED:
		fmt.Fprintln(rv.m.Stdout, "  → đã báo trục; nơi gửi đã được báo. Các văn bản sau vẫn được nhận.")
	default:
		fmt.Fprintf(rv.m.Stdout, "  → chưa báo được trục (%s); sẽ thử lại ở lần nhận sau.\n", item.ReportError)
	}
	return nil
}

// stored registers a document before it is acknowledged: a redelivery is
// acknowledged again but not registered twice.
func (rv *receiver) stored(r *node.Received) error {
	added, err := rv.reg.AddReceived(r.Envelope, r.Dir)
	if err != nil {
		return err
	}
	if !added {
		r.Duplicate = true
	}
	return nil
}

func (rv *receiver) lock() func() {
	if rv.mu == nil {
		return func() {}
	}
	rv.mu.Lock()
	return rv.mu.Unlock
}

func (rv *receiver) document(r *node.Received) error {
	defer rv.lock()()
	rv.documents++
	env := r.Envelope
	item := inboxItem{Type: "document", MessageID: r.MessageID, Sender: env.GetSender(), Number: env.GetNumber(),
		Notation: env.GetNotation(), Subject: env.GetSubject(), Dir: r.Dir, Files: r.Files,
		Duplicate: r.Duplicate, Verdict: r.Verification.GetVerdict(), Indication: r.Verification.GetIndication()}
	if bt := env.GetBusinessType(); bt != lienthongv1.BusinessType_BUSINESS_TYPE_NEW {
		item.BusinessType, item.RelatedMessageID = businessName(bt), env.GetRelatedMessageId()
	}
	if rv.json {
		return rv.m.printJSONLine(item)
	}
	dup := ""
	if r.Duplicate {
		dup = " (đã có, nhận lại)"
	}
	fmt.Fprintf(rv.m.Stdout, "Đã nhận %s/%s từ %s: %s%s\n  → %s\n", item.Number, item.Notation, item.Sender, item.Subject, dup, item.Dir)
	printIndications(rv.m.Stdout, "  ", r.Verification)
	if item.RelatedMessageID != "" {
		what := map[lienthongv1.BusinessType]string{
			lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE:  "THU HỒI",
			lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE:  "cập nhật",
			lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE: "thay thế",
		}[env.GetBusinessType()]
		fmt.Fprintf(rv.m.Stdout, "  Văn bản này %s văn bản %s.\n", what, rv.describeReceived(item.RelatedMessageID))
	}
	return nil
}

// describeReceived names a received document by number/notation when the
// register knows it.
func (rv *receiver) describeReceived(id string) string {
	if rec, err := rv.reg.ReceivedDoc(id); err == nil && rec.Number != "" {
		return rec.Number + "/" + rec.Notation
	}
	return id
}

// notification records a recipient's step in the register of documents
// sent, then prints it; ReceiveInto acknowledges it after.
func (rv *receiver) notification(body *lienthongv1.ReceiptBody, _ *lienthongv1.Receipt) error {
	sent, _, err := rv.reg.RecordNotification(body)
	if err != nil {
		return err
	}
	defer rv.lock()()
	rv.notifications++
	if rv.json {
		return rv.m.printJSONLine(notificationItem{Type: "notification", MessageID: body.GetMessageId(), ReceiptID: body.GetReceiptId(),
			Agency: body.GetAgency(), Status: body.GetStatus().Name(), Reason: body.GetReason(), Time: body.GetTime().AsTime(),
			Number: sent.Number, Notation: sent.Notation, Subject: sent.Subject})
	}
	fmt.Fprintln(rv.m.Stdout, notificationLine(body, sent))
	return nil
}

// notificationLine is how a clerk reads a notification:
// "000.00.31.H53 đã tiếp nhận văn bản 12/QĐ-UBND".
func notificationLine(body *lienthongv1.ReceiptBody, sent *register.Sent) string {
	doc := body.GetMessageId()
	if sent != nil && sent.Number != "" {
		doc = sent.Number + "/" + sent.Notation
	}
	var line string
	switch st := body.GetStatus(); st {
	case lienthongv1.Status_STATUS_DELIVERED:
		line = fmt.Sprintf("%s đã nhận văn bản %s", body.GetAgency(), doc)
	case lienthongv1.Status_STATUS_RECEIVED:
		line = fmt.Sprintf("%s đã tiếp nhận văn bản %s", body.GetAgency(), doc)
	case lienthongv1.Status_STATUS_REJECTED:
		line = fmt.Sprintf("%s đã từ chối văn bản %s", body.GetAgency(), doc)
	case lienthongv1.Status_STATUS_ASSIGNED:
		line = fmt.Sprintf("%s đã phân công xử lý văn bản %s", body.GetAgency(), doc)
	case lienthongv1.Status_STATUS_IN_PROGRESS:
		line = fmt.Sprintf("%s đang xử lý văn bản %s", body.GetAgency(), doc)
	case lienthongv1.Status_STATUS_DONE:
		line = fmt.Sprintf("%s đã xử lý xong văn bản %s", body.GetAgency(), doc)
	case lienthongv1.Status_STATUS_REVOKED:
		line = fmt.Sprintf("Văn bản %s gửi %s đã được thu hồi", doc, body.GetAgency())
	case lienthongv1.Status_STATUS_QUARANTINED:
		line = fmt.Sprintf("Văn bản %s gửi %s bị hỏng trên trục và đã bị cách ly, %s không nhận được; hãy gửi lại", doc, body.GetAgency(), body.GetAgency())
	default:
		line = fmt.Sprintf("%s: văn bản %s — %s", body.GetAgency(), doc, st.Label())
	}
	if r := body.GetReason(); r != "" {
		line += " (lý do: " + r + ")"
	}
	return line
}

func businessName(bt lienthongv1.BusinessType) string {
	return strings.ToLower(strings.TrimPrefix(bt.String(), "BUSINESS_TYPE_"))
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

func (m *Main) track(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("track")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cliutil.Usagef("track cần đúng một MESSAGE_ID")
	}
	c, err := s.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	t, err := c.Track(ctx, pos[0])
	if err != nil {
		return lostByHub(err, s, pos[0])
	}
	if t.Envelope.GetSender() == c.Identity().Code {
		// The register of documents sent follows what the hub says.
		reg, err := s.register()
		if err == nil {
			err = reg.RecordTrack(t.Envelope, t.Recipients)
		}
		if err != nil {
			fmt.Fprintf(m.Stderr, "ltnode: không ghi được vào sổ văn bản đi: %s\n", cliutil.Describe(err))
		}
	}
	out := trackOutput{MessageID: t.Envelope.GetMessageId(), Sender: t.Envelope.GetSender(), Number: t.Envelope.GetNumber(),
		Notation: t.Envelope.GetNotation(), Subject: t.Envelope.GetSubject(), Verification: t.Verification,
		Recipients: []trackRecipient{}, Receipts: []trackReceipt{}}
	for _, r := range t.Recipients {
		out.Recipients = append(out.Recipients, trackRecipient{Agency: r.GetAgency(), Status: r.GetStatus().Name(), Time: r.GetTime().AsTime()})
	}
	bad := 0
	for _, r := range t.Receipts {
		tr := trackReceipt{ReceiptID: r.Body.GetReceiptId(), Status: r.Body.GetStatus().Name(), Agency: r.Body.GetAgency(),
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
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s — %s\nMã: %s   Nơi gửi: %s\n", out.Number, out.Notation, out.Subject, out.MessageID, out.Sender)
		printIndications(m.Stdout, "", t.Verification)
		fmt.Fprintln(m.Stdout)
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NƠI NHẬN\tTRẠNG THÁI\tTHỜI ĐIỂM")
		for _, r := range t.Recipients {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.GetAgency(), r.GetStatus().Label(), formatTime(r.GetTime().AsTime()))
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", formatTime(r.Body.GetTime().AsTime()), r.Body.GetStatus().Label(), who, check)
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
