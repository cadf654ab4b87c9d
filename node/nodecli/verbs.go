package nodecli

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
)

// party is an agency in --json output: its code and, when the directory
// knows it, its name.
type party struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
}

func parties(ctx context.Context, d *desk.Desk, codes []string) []party {
	out := []party{}
	for _, c := range codes {
		out = append(out, party{Code: c, Name: d.Name(ctx, c)})
	}
	return out
}

// named joins codes as a clerk reads them: "Name (CODE), ...".
func named(ctx context.Context, d *desk.Desk, codes []string) string {
	var out []string
	for _, c := range codes {
		out = append(out, d.Named(ctx, c))
	}
	return strings.Join(out, ", ")
}

// timePtr is t in Vietnam time for --json, nil when zero.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	l := desk.Local(t)
	return &l
}

// sendOutput is the --json form of a send.
type sendOutput struct {
	MessageID string `json:"message_id"`
	// Queued is true when the hub could not be reached: the document waits
	// in the outbox and Unreachable says why.
	Queued      bool     `json:"queued"`
	Unreachable string   `json:"unreachable,omitempty"`
	Duplicate   bool     `json:"duplicate"`
	Recipients  []string `json:"recipients"`
	// RecipientNames are the recipients with their names, in the same
	// order.
	RecipientNames []party                   `json:"recipient_names"`
	ReceiptID      string                    `json:"receipt_id"`
	AcceptedAt     *time.Time                `json:"accepted_at,omitempty"`
	Verification   *lienthongv1.Verification `json:"verification,omitempty"`
	// Signed lists the PDFs signed with --sign before sending.
	Signed []string `json:"signed,omitempty"`
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
	signKey := fs.String("sign", "", "ký số từng tệp PDF bằng khóa `KEY.pem` trước khi gửi (cần --cert)")
	signCert := fs.String("cert", "", "chứng thư số PEM của người ký, với --sign")
	signChain := fs.String("chain", "", "chứng thư trung gian PEM, với --sign (tùy chọn)")
	signReason := fs.String("reason", "Phát hành", "lý do ký, với --sign")
	var tok tokenFlags
	tok.register(fs)
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
	if doc.Urgency, err = desk.ParseUrgency(*urgency); err != nil {
		return cliutil.Usagef("%s", err)
	}
	for _, f := range files {
		doc.Files = append(doc.Files, node.File{Path: f})
	}
	cfg := deskConfig{online: true}
	if *signKey != "" || *signCert != "" || tok.module != "" {
		signer, release, err := m.sendSigner(tok, *signKey, *signCert, *signChain, *signReason)
		if err != nil {
			return err
		}
		defer release()
		cfg.signer = signer
	}
	d, err := s.desk(cfg)
	if err != nil {
		return err
	}
	res, err := d.Send(ctx, doc, m.progressBar("Đang gửi"))
	if err != nil {
		return err
	}
	if e := res.Earlier; e.Forwarded > 0 || len(e.Refused) > 0 {
		fmt.Fprintf(m.Stderr, "Hộp thư đi: đã chuyển thêm %d văn bản chờ trước đó, %d bị trục từ chối (xem `ltnode sync`).\n", e.Forwarded, len(e.Refused))
	}
	out := sendOutput{MessageID: res.MessageID, Recipients: []string{}, RecipientNames: []party{}}
	if cfg.signer != nil {
		for _, f := range res.Envelope.GetFiles() {
			if f.GetMediaType() == "application/pdf" {
				out.Signed = append(out.Signed, f.GetName())
			}
		}
	}
	if res.Queued {
		out.Queued = true
		if res.Unreachable != nil {
			out.Unreachable = node.Describe(res.Unreachable)
		}
		if *asJSON {
			return m.printJSON(out)
		}
		fmt.Fprintf(m.Stdout, "Trục chưa nhận được văn bản %s/%s (lý do bên dưới): văn bản đang chờ trong hộp thư đi và sẽ được chuyển khi trục nhận lại\n"+
			"(chạy `ltnode sync`, hoặc để `ltnode run` tự chuyển).\nMã văn bản:   %s\nLý do:        %s\n",
			*number, *notation, res.MessageID, out.Unreachable)
		return nil
	}
	r := res.Result
	out.Duplicate, out.Recipients, out.ReceiptID, out.AcceptedAt, out.Verification =
		r.Duplicate, r.Body.GetRecipients(), r.Body.GetReceiptId(), timePtr(r.Body.GetTime().AsTime()), r.Verification
	out.RecipientNames = parties(ctx, d, out.Recipients)
	if *asJSON {
		return m.printJSON(out)
	}
	if r.Duplicate {
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s đã được trục tiếp nhận trước đó; đây là biên nhận gốc.\n", *number, *notation)
	} else {
		fmt.Fprintf(m.Stdout, "Đã gửi văn bản %s/%s — trục đã tiếp nhận.\n", *number, *notation)
	}
	if len(out.Signed) > 0 {
		fmt.Fprintf(m.Stdout, "Đã ký số:     %s\n", strings.Join(out.Signed, ", "))
	}
	fmt.Fprintf(m.Stdout, "Mã văn bản:   %s\nThời điểm:    %s\nBiên nhận:    %s (chữ ký của trục hợp lệ)\nNơi nhận (%d): %s\n",
		out.MessageID, formatTime(r.Body.GetTime().AsTime()), out.ReceiptID, len(out.Recipients), named(ctx, d, out.Recipients))
	if v := r.Verification.GetVerdict(); v != "" {
		fmt.Fprintf(m.Stdout, "Kiểm tra chữ ký số: %s\n", v)
	}
	printIndications(m.Stdout, "", r.Verification)
	return nil
}

// sendSigner is send --sign KEY --cert CERT, or send --pkcs11 MODULE: the
// PDFs are signed with a key file or a token before they are queued. The
// returned func releases the token.
func (m *Main) sendSigner(tok tokenFlags, keyPath, certPath, chainPath, reason string) (desk.PDFSigner, func(), error) {
	switch {
	case tok.module != "" && (keyPath != "" || certPath != ""):
		return nil, nil, cliutil.Usagef("ký khi gửi: dùng --pkcs11 (USB token) hoặc --sign KEY.pem --cert CERT.pem, không cả hai")
	case tok.module == "" && (keyPath == "" || certPath == ""):
		return nil, nil, cliutil.Usagef("ký khi gửi cần cả --sign KEY.pem và --cert CERT.pem")
	}
	sg, err := m.signingKey(tok, keyPath, certPath, chainPath)
	if err != nil {
		return nil, nil, err
	}
	return &desk.PAdES{Options: pades.SignOptions{Signer: sg.key, Certificate: sg.cert, Chain: sg.chain, Reason: reason}, Now: m.Now}, sg.release, nil
}

// inboxItem is one received document in --json output (one JSON object
// per line, as documents arrive).
type inboxItem struct {
	Type       string   `json:"type"` // "document"
	MessageID  string   `json:"message_id"`
	Sender     string   `json:"sender"`
	SenderName string   `json:"sender_name,omitempty"`
	Number     string   `json:"number"`
	Notation   string   `json:"notation"`
	Subject    string   `json:"subject"`
	Urgency    string   `json:"urgency"`
	DueDate    string   `json:"due_date,omitempty"`
	Dir        string   `json:"dir"`
	Files      []string `json:"files"`
	// Info is the path of the folder's thong-tin.json.
	Info      string `json:"info"`
	Duplicate bool   `json:"duplicate"`
	Verdict   string `json:"verdict,omitempty"`
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
	Type       string    `json:"type"` // "notification"
	MessageID  string    `json:"message_id"`
	ReceiptID  string    `json:"receipt_id"`
	Agency     string    `json:"agency"`
	AgencyName string    `json:"agency_name,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Time       time.Time `json:"time"`
	Number     string    `json:"number,omitempty"`
	Notation   string    `json:"notation,omitempty"`
	Subject    string    `json:"subject,omitempty"`
}

// notStoredItem is one document this agency could not have, in --json
// output: it could not store it, or the hub quarantined it.
type notStoredItem struct {
	Type       string `json:"type"` // "not_stored"
	MessageID  string `json:"message_id"`
	Sender     string `json:"sender"`
	SenderName string `json:"sender_name,omitempty"`
	Number     string `json:"number,omitempty"`
	Notation   string `json:"notation,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Reason     string `json:"reason"`
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
	d, err := s.desk(deskConfig{online: true, inbox: *out})
	if err != nil {
		return err
	}
	if *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	pr := &printer{m: m, d: d, ctx: ctx, json: *asJSON}
	n, err := d.Receive(ctx, *wait > 0, pr.handlers())
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "Đã nhận %d văn bản.\n", n.Documents)
		if n.Notifications > 0 {
			fmt.Fprintf(m.Stdout, "Đã nhận %d thông báo trạng thái văn bản đã gửi.\n", n.Notifications)
		}
	}
	if n.Undelivered > 0 {
		return fmt.Errorf("%d văn bản không nhận được, xem ở trên và `ltnode register received` (%d documents not stored)", n.Undelivered, n.Undelivered)
	}
	return nil
}

// printer prints what the desk receives; inbox and run use it.
type printer struct {
	m    *Main
	d    *desk.Desk
	ctx  context.Context
	json bool
	// mu serializes output (run also prints from its forwarder).
	mu sync.Mutex
}

func (p *printer) handlers() desk.Handlers {
	return desk.Handlers{Document: p.document, Notification: p.notification, Undelivered: p.undelivered}
}

func (p *printer) undelivered(u *desk.Undelivered) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	item := notStoredItem{Type: "not_stored", MessageID: u.MessageID, Sender: u.Sender, SenderName: p.d.Name(p.ctx, u.Sender),
		Number: u.Entry.Number, Notation: u.Entry.Notation, Subject: u.Entry.Subject, Reason: u.Reason, Status: u.Status.Name()}
	if u.ReportErr != nil {
		item.ReportError = cliutil.Describe(u.ReportErr)
	}
	if p.json {
		return p.m.printJSONLine(item)
	}
	doc := u.MessageID
	if item.Number != "" {
		doc = item.Number + "/" + item.Notation + " (" + u.MessageID + ")"
	}
	fmt.Fprintf(p.m.Stdout, "KHÔNG NHẬN ĐƯỢC văn bản %s từ %s: %s\n", doc, p.d.Named(p.ctx, u.Sender), u.Reason)
	switch u.Status {
	case lienthongv1.Status_STATUS_QUARANTINED:
		fmt.Fprintln(p.m.Stdout, "  → trục đã cách ly văn bản; nơi gửi đã được báo để gửi lại.")
	case lienthongv1.Status_STATUS_REJECTED:
		fmt.Fprintln(p.m.Stdout, "  → đã báo trục; nơi gửi đã được báo. Các văn bản sau vẫn được nhận.")
	default:
		fmt.Fprintf(p.m.Stdout, "  → chưa báo được trục (%s); sẽ thử lại ở lần nhận sau.\n", item.ReportError)
	}
	return nil
}

func (p *printer) document(in *desk.Incoming) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	env := in.Envelope
	item := inboxItem{Type: "document", MessageID: in.MessageID, Sender: env.GetSender(), SenderName: in.SenderName,
		Number: env.GetNumber(), Notation: env.GetNotation(), Subject: env.GetSubject(), Urgency: desk.UrgencyName(env.GetUrgency()),
		DueDate: env.GetDueDate(), Dir: in.Dir, Files: in.Files, Info: filepath.Join(in.Dir, desk.InfoFile),
		Duplicate: in.Duplicate, Verdict: in.Verification.GetVerdict(), Indication: in.Verification.GetIndication()}
	if bt := env.GetBusinessType(); bt != lienthongv1.BusinessType_BUSINESS_TYPE_NEW {
		item.BusinessType, item.RelatedMessageID = desk.BusinessName(bt), env.GetRelatedMessageId()
	}
	if p.json {
		return p.m.printJSONLine(item)
	}
	dup := ""
	if in.Duplicate {
		dup = " (đã có, nhận lại)"
	}
	fmt.Fprintf(p.m.Stdout, "Đã nhận %s/%s từ %s: %s%s\n  → %s\n", item.Number, item.Notation, p.d.Named(p.ctx, item.Sender), item.Subject, dup, item.Dir)
	printIndications(p.m.Stdout, "  ", in.Verification)
	if item.RelatedMessageID != "" {
		what := map[lienthongv1.BusinessType]string{
			lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE:  "THU HỒI",
			lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE:  "cập nhật",
			lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE: "thay thế",
		}[env.GetBusinessType()]
		fmt.Fprintf(p.m.Stdout, "  Văn bản này %s văn bản %s.\n", what, p.describeReceived(item.RelatedMessageID))
	}
	return nil
}

// describeReceived names a received document by number/notation when the
// register knows it.
func (p *printer) describeReceived(id string) string {
	if rec, err := p.d.Register().ReceivedDoc(id); err == nil && rec.Number != "" {
		return rec.Number + "/" + rec.Notation
	}
	return id
}

func (p *printer) notification(n *desk.Notification) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	body := n.Body
	if p.json {
		item := notificationItem{Type: "notification", MessageID: body.GetMessageId(), ReceiptID: body.GetReceiptId(),
			Agency: body.GetAgency(), AgencyName: n.AgencyName, Status: body.GetStatus().Name(), Reason: body.GetReason(),
			Time: desk.Local(body.GetTime().AsTime())}
		if n.Sent != nil {
			item.Number, item.Notation, item.Subject = n.Sent.Number, n.Sent.Notation, n.Sent.Subject
		}
		return p.m.printJSONLine(item)
	}
	fmt.Fprintln(p.m.Stdout, notificationLine(body, n.Sent, p.d.Named(p.ctx, body.GetAgency())))
	return nil
}

// notificationLine is how a clerk reads a notification:
// "UBND huyện A (000.00.31.H53) đã tiếp nhận văn bản 12/QĐ-UBND".
func notificationLine(body *lienthongv1.ReceiptBody, sent *register.Sent, agency string) string {
	doc := body.GetMessageId()
	if sent != nil && sent.Number != "" {
		doc = sent.Number + "/" + sent.Notation
	}
	var line string
	switch st := body.GetStatus(); st {
	case lienthongv1.Status_STATUS_DELIVERED:
		line = fmt.Sprintf("%s đã nhận văn bản %s", agency, doc)
	case lienthongv1.Status_STATUS_RECEIVED:
		line = fmt.Sprintf("%s đã tiếp nhận văn bản %s", agency, doc)
	case lienthongv1.Status_STATUS_REJECTED:
		line = fmt.Sprintf("%s đã từ chối văn bản %s", agency, doc)
	case lienthongv1.Status_STATUS_ASSIGNED:
		line = fmt.Sprintf("%s đã phân công xử lý văn bản %s", agency, doc)
	case lienthongv1.Status_STATUS_IN_PROGRESS:
		line = fmt.Sprintf("%s đang xử lý văn bản %s", agency, doc)
	case lienthongv1.Status_STATUS_DONE:
		line = fmt.Sprintf("%s đã xử lý xong văn bản %s", agency, doc)
	case lienthongv1.Status_STATUS_REVOKED:
		line = fmt.Sprintf("Văn bản %s gửi %s đã được thu hồi", doc, agency)
	case lienthongv1.Status_STATUS_QUARANTINED:
		line = fmt.Sprintf("Văn bản %s gửi %s bị hỏng trên trục và đã bị cách ly, %s không nhận được; hãy gửi lại", doc, agency, agency)
	default:
		line = fmt.Sprintf("%s: văn bản %s — %s", agency, doc, st.Label())
	}
	if r := body.GetReason(); r != "" {
		line += " (lý do: " + r + ")"
	}
	return line
}

// trackOutput is the --json form of track.
type trackOutput struct {
	MessageID    string                    `json:"message_id"`
	Sender       string                    `json:"sender"`
	SenderName   string                    `json:"sender_name,omitempty"`
	Number       string                    `json:"number"`
	Notation     string                    `json:"notation"`
	Subject      string                    `json:"subject"`
	Recipients   []trackRecipient          `json:"recipients"`
	Receipts     []trackReceipt            `json:"receipts"`
	Verification *lienthongv1.Verification `json:"verification,omitempty"`
}

type trackRecipient struct {
	Agency string    `json:"agency"`
	Name   string    `json:"name,omitempty"`
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

type trackReceipt struct {
	ReceiptID      string    `json:"receipt_id"`
	Status         string    `json:"status"`
	Agency         string    `json:"agency,omitempty"`
	AgencyName     string    `json:"agency_name,omitempty"`
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
	d, err := s.desk(deskConfig{online: true})
	if err != nil {
		return err
	}
	t, err := d.Track(ctx, pos[0])
	if err != nil {
		return lostByHub(err, s, pos[0])
	}
	if t.RecordErr != nil {
		fmt.Fprintf(m.Stderr, "ltnode: %s\n", cliutil.Describe(t.RecordErr))
	}
	env := t.Envelope
	out := trackOutput{MessageID: env.GetMessageId(), Sender: env.GetSender(), SenderName: d.Name(ctx, env.GetSender()),
		Number: env.GetNumber(), Notation: env.GetNotation(), Subject: env.GetSubject(), Verification: t.Verification,
		Recipients: []trackRecipient{}, Receipts: []trackReceipt{}}
	for _, r := range t.Recipients {
		out.Recipients = append(out.Recipients, trackRecipient{Agency: r.GetAgency(), Name: d.Name(ctx, r.GetAgency()),
			Status: r.GetStatus().Name(), Time: desk.Local(r.GetTime().AsTime())})
	}
	bad := 0
	for _, r := range t.Receipts {
		tr := trackReceipt{ReceiptID: r.Body.GetReceiptId(), Status: r.Body.GetStatus().Name(), Agency: r.Body.GetAgency(),
			Recipients: r.Body.GetRecipients(), Time: desk.Local(r.Body.GetTime().AsTime()), Reason: r.Body.GetReason(),
			EnvelopeSHA256: hex.EncodeToString(r.Body.GetEnvelopeSha256()), SignatureValid: r.Err == nil}
		if tr.Agency != "" {
			tr.AgencyName = d.Name(ctx, tr.Agency)
		}
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
		fmt.Fprintf(m.Stdout, "Văn bản %s/%s — %s\nMã: %s   Nơi gửi: %s\n", out.Number, out.Notation, out.Subject, out.MessageID, d.Named(ctx, out.Sender))
		printIndications(m.Stdout, "", t.Verification)
		fmt.Fprintln(m.Stdout)
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NƠI NHẬN\tTRẠNG THÁI\tTHỜI ĐIỂM")
		for _, r := range t.Recipients {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Named(ctx, r.GetAgency()), r.GetStatus().Label(), formatTime(r.GetTime().AsTime()))
		}
		tw.Flush()
		fmt.Fprintln(m.Stdout, "\nBiên nhận do trục ký:")
		tw = tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "THỜI ĐIỂM\tBƯỚC\tCƠ QUAN\tCHỮ KÝ CỦA TRỤC")
		for _, r := range t.Receipts {
			who := r.Body.GetAgency()
			if who == "" {
				who = fmt.Sprintf("%d nơi nhận", len(r.Body.GetRecipients()))
			} else {
				who = d.Named(ctx, who)
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

func (m *Main) agencies(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("agencies")
	under := fs.String("under", "", "chỉ các cơ quan thuộc mã này")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cliutil.Usagef("agencies: tham số thừa %q", pos)
	}
	d, err := s.desk(deskConfig{online: true})
	if err != nil {
		return err
	}
	list, err := d.Agencies(ctx, *under)
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
			out = append(out, agency{a.GetCode(), a.GetName(), desk.KindName(a.GetKind()), a.GetStatus() == lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE})
		}
		return m.printJSON(out)
	}
	printTree(m.Stdout, list)
	return nil
}
