package webapp

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/den", http.StatusSeeOther) })
	m.HandleFunc("GET /den", s.inbox)
	m.HandleFunc("GET /den/{id}", s.received)
	m.HandleFunc("GET /den/{id}/tep/{n}", s.receivedFile)
	m.HandleFunc("POST /den/{id}/buoc", s.step)
	m.HandleFunc("GET /soan", s.compose)
	m.HandleFunc("POST /soan", s.send)
	m.HandleFunc("GET /di", s.sentList)
	m.HandleFunc("GET /di/{id}", s.sent)
	m.HandleFunc("GET /di/{id}/bien-nhan", s.receipt)
	m.HandleFunc("POST /hop-thu-di/{id}/gui-lai", s.retry)
	m.HandleFunc("POST /hop-thu-di/{id}/bo", s.drop)
	m.HandleFunc("GET /khai-bao", s.declareForm)
	m.HandleFunc("POST /khai-bao", s.declare)
	m.HandleFunc("GET /su-kien", s.serveEvents)
	static, _ := fsSub(staticFS, "static")
	m.Handle("GET /tinh/", http.StripPrefix("/tinh/", http.FileServerFS(static)))
	s.mux = m
}

// names maps agency codes to names, from the directory when the hub
// answers; a code the page cannot name is shown as is.
func (s *Server) names(ctx context.Context) map[string]string {
	out := map[string]string{s.cfg.Desk.Self().Code: s.cfg.Desk.Self().Name}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	list, err := s.cfg.Desk.Agencies(ctx)
	if err != nil {
		return out
	}
	for _, a := range list {
		out[a.GetCode()] = a.GetName()
	}
	return out
}

// unread counts received documents not yet taken in (still "delivered").
func (s *Server) unread() int {
	list, err := s.cfg.Desk.Register().ReceivedList(register.Query{})
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range list {
		if r.Status == lienthongv1.Status_STATUS_DELIVERED && r.NotStored == "" {
			n++
		}
	}
	return n
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.cfg.Logger.Error(what, "err", err)
	s.fail(w, r, http.StatusInternalServerError, what+": "+node.Describe(err))
}

// receivedRow is one line of the register of documents received.
type receivedRow struct {
	*register.Received
	SenderName string
	Overdue    bool
}

// inboxFilter is the inbox's search form.
type inboxFilter struct {
	From, To, Sender, Status, Search string
	Overdue                          bool
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := inboxFilter{From: q.Get("tu"), To: q.Get("den"), Sender: q.Get("noi-gui"), Status: q.Get("trang-thai"),
		Search: q.Get("q"), Overdue: q.Get("qua-han") != ""}
	reg := s.cfg.Desk.Register()
	list, err := reg.ReceivedList(register.Query{Search: f.Search, Overdue: f.Overdue})
	if err != nil {
		s.internal(w, r, "đọc sổ văn bản đến", err)
		return
	}
	names, today := s.names(r.Context()), reg.Today()
	var rows []receivedRow
	senders := map[string]string{}
	for _, d := range slices.Backward(list) { // newest first
		senders[d.Sender] = names[d.Sender]
		day := d.ReceivedAt.In(zone()).Format(time.DateOnly)
		if (f.From != "" && day < f.From) || (f.To != "" && day > f.To) || (f.Sender != "" && d.Sender != f.Sender) ||
			(f.Status != "" && d.Status.Name() != f.Status) {
			continue
		}
		rows = append(rows, receivedRow{Received: d, SenderName: nameOr(names, d.Sender), Overdue: d.Overdue(today)})
	}
	s.render(w, r, http.StatusOK, "inbox.html", map[string]any{"Title": "Văn bản đến", "Nav": "den", "Rows": rows,
		"Filter": f, "Senders": senders, "Statuses": receivedStatuses})
}

// receivedStatuses are the steps a clerk filters by and reports.
var receivedStatuses = []lienthongv1.Status{
	lienthongv1.Status_STATUS_DELIVERED, lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_ASSIGNED,
	lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_REJECTED,
}

func nameOr(names map[string]string, code string) string {
	if n := names[code]; n != "" {
		return n
	}
	return code
}

// delivery reads the delivery header kept in a received document's
// folder: the envelope with its files and the hub's verification.
func delivery(dir string) (*lienthongv1.Envelope, *lienthongv1.Verification, error) {
	raw, err := os.ReadFile(filepath.Join(dir, node.DeliveryFile))
	if err != nil {
		return nil, nil, err
	}
	var h lienthongv1.DeliveryHeader
	if err := proto.Unmarshal(raw, &h); err != nil {
		return nil, nil, err
	}
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(h.GetEnvelope().GetEnvelope(), env); err != nil {
		return nil, nil, err
	}
	return env, h.GetVerification(), nil
}

func (s *Server) received(w http.ResponseWriter, r *http.Request) {
	reg := s.cfg.Desk.Register()
	d, err := reg.ReceivedDoc(r.PathValue("id"))
	if errors.Is(err, register.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "Không có văn bản này trong sổ văn bản đến (not in the register).")
		return
	} else if err != nil {
		s.internal(w, r, "đọc sổ văn bản đến", err)
		return
	}
	data := map[string]any{"Title": "Văn bản đến " + d.Number + "/" + d.Notation, "Nav": "den", "Doc": d,
		"SenderName": nameOr(s.names(r.Context()), d.Sender), "Overdue": d.Overdue(reg.Today()), "Steps": clerkSteps(d.Status)}
	if d.Dir != "" {
		env, v, err := delivery(d.Dir)
		if err != nil {
			s.internal(w, r, "đọc văn bản đã nhận", err)
			return
		}
		data["Files"], data["Signatures"], data["Indication"], data["Signer"] = env.GetFiles(), signatures(v), v.GetIndication(), env.GetSigner()
	}
	s.render(w, r, http.StatusOK, "received.html", data)
}

// step is a step the clerk may report next.
type step struct {
	Name, Label string
	NeedsReason bool
}

// clerkSteps lists the steps that may follow st; a closed document has none.
func clerkSteps(st lienthongv1.Status) []step {
	var out []step
	switch st {
	case lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_REJECTED, lienthongv1.Status_STATUS_REVOKED,
		lienthongv1.Status_STATUS_QUARANTINED:
		return nil
	}
	for _, n := range []lienthongv1.Status{lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_ASSIGNED,
		lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE} {
		if n > st {
			out = append(out, step{Name: n.Name(), Label: n.Label()})
		}
	}
	if st < lienthongv1.Status_STATUS_RECEIVED {
		out = append(out, step{Name: "rejected", Label: "Từ chối", NeedsReason: true})
	}
	return out
}

func (s *Server) receivedFile(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Desk.Register().ReceivedDoc(r.PathValue("id"))
	if err != nil || d.Dir == "" {
		s.fail(w, r, http.StatusNotFound, "Không có văn bản này (not found).")
		return
	}
	env, _, err := delivery(d.Dir)
	n, nerr := strconv.Atoi(r.PathValue("n"))
	if err != nil || nerr != nil || n < 0 || n >= len(env.GetFiles()) {
		s.fail(w, r, http.StatusNotFound, "Không có tệp này (no such file).")
		return
	}
	fi := env.GetFiles()[n]
	// The name was checked when the document was stored (one path
	// element, not reserved); Base keeps it so.
	f, err := os.Open(filepath.Join(d.Dir, filepath.Base(fi.GetName())))
	if err != nil {
		s.internal(w, r, "mở tệp", err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.internal(w, r, "mở tệp", err)
		return
	}
	ct := fi.GetMediaType()
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", "inline; filename*=UTF-8''"+urlPathEscape(fi.GetName()))
	// The PDF viewer needs no script of the page: a sandbox keeps a
	// hostile file from acting as this origin.
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; object-src 'self'; plugin-types application/pdf")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) step(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	name := r.PostFormValue("buoc")
	var st lienthongv1.Status
	for v := range lienthongv1.Status_name {
		if lienthongv1.Status(v).Name() == name {
			st = lienthongv1.Status(v)
		}
	}
	reason := strings.TrimSpace(r.PostFormValue("ly-do"))
	switch st {
	case lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE:
	case lienthongv1.Status_STATUS_ASSIGNED:
		if to := strings.TrimSpace(r.PostFormValue("giao-cho")); to != "" {
			reason = "Giao cho: " + to
		}
	case lienthongv1.Status_STATUS_REJECTED:
		if reason == "" {
			s.fail(w, r, http.StatusBadRequest, "Từ chối văn bản cần nêu lý do (a refusal needs a reason).")
			return
		}
	default:
		s.fail(w, r, http.StatusBadRequest, "Bước xử lý không hợp lệ (unknown step) "+strconv.Quote(name)+".")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.cfg.Desk.Report(ctx, id, st, reason); err != nil {
		s.fail(w, r, httpStatus(err), "Chưa báo được bước "+st.Label()+": "+node.Describe(err))
		return
	}
	s.Notify(Event{Kind: "buoc", Text: "Đã báo " + st.Label(), MessageID: id})
	http.Redirect(w, r, "/den/"+id, http.StatusSeeOther)
}

// httpStatus maps a failed call of the Desk to a status: the hub's
// refusal is the clerk's to fix (422), an unreachable hub is 503.
func httpStatus(err error) int {
	if node.Unreachable(err) {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

// sentRow is one line of the register of documents sent.
type sentRow struct {
	*register.Sent
	Recipients []recipientRow
	Overdue    bool
}

type recipientRow struct {
	register.Recipient
	Name string
}

func (s *Server) sentList(w http.ResponseWriter, r *http.Request) {
	reg := s.cfg.Desk.Register()
	q := register.Query{Search: r.URL.Query().Get("q"), Overdue: r.URL.Query().Get("qua-han") != ""}
	list, err := reg.SentList(q)
	if err != nil {
		s.internal(w, r, "đọc sổ văn bản đi", err)
		return
	}
	outbox, err := reg.Outbox()
	if err != nil {
		s.internal(w, r, "đọc hộp thư đi", err)
		return
	}
	names, today := s.names(r.Context()), reg.Today()
	var rows []sentRow
	for _, d := range slices.Backward(list) {
		rows = append(rows, sentRow{Sent: d, Recipients: recipientRows(d.Recipients, names), Overdue: d.Overdue(today)})
	}
	s.render(w, r, http.StatusOK, "sent.html", map[string]any{"Title": "Văn bản đi", "Nav": "di", "Rows": rows,
		"Outbox": outbox, "Search": q.Search, "Overdue": q.Overdue, "Names": names})
}

func recipientRows(list []register.Recipient, names map[string]string) []recipientRow {
	out := make([]recipientRow, len(list))
	for i, rc := range list {
		out[i] = recipientRow{Recipient: rc, Name: nameOr(names, rc.Agency)}
	}
	return out
}

// timelineStep is one receipt of a sent document, as Track returns it.
type timelineStep struct {
	Time, Agency, Name, Status, Reason, ReceiptID string
	Valid                                         bool
}

func (s *Server) sent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	reg := s.cfg.Desk.Register()
	names := s.names(r.Context())
	data := map[string]any{"Title": "Văn bản đi", "Nav": "di", "Names": names}
	d, err := reg.SentDoc(id)
	switch {
	case errors.Is(err, register.ErrNotFound):
		// Maybe still in the outbox.
		list, err := reg.Outbox()
		if err != nil {
			s.internal(w, r, "đọc hộp thư đi", err)
			return
		}
		for _, o := range list {
			if o.MessageID == id {
				data["Queued"] = o
				s.render(w, r, http.StatusOK, "sentdoc.html", data)
				return
			}
		}
		s.fail(w, r, http.StatusNotFound, "Không có văn bản này trong sổ văn bản đi (not in the register).")
		return
	case err != nil:
		s.internal(w, r, "đọc sổ văn bản đi", err)
		return
	}
	data["Doc"], data["Recipients"], data["Overdue"] = d, recipientRows(d.Recipients, names), d.Overdue(reg.Today())
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	tr, err := s.cfg.Desk.Track(ctx, id)
	if err != nil {
		data["TrackError"] = node.Describe(err)
	} else {
		var steps []timelineStep
		for _, rc := range tr.Receipts {
			b := rc.Body
			steps = append(steps, timelineStep{Time: vnTime(b.GetTime().AsTime()), Agency: b.GetAgency(), Name: nameOr(names, b.GetAgency()),
				Status: b.GetStatus().Label(), Reason: b.GetReason(), ReceiptID: b.GetReceiptId(), Valid: rc.Err == nil})
		}
		data["Timeline"], data["Signatures"], data["Indication"] = steps, signatures(tr.Verification), tr.Verification.GetIndication()
		// Track is the truth: the page shows its per-recipient steps.
		rows := make([]recipientRow, 0, len(tr.Recipients))
		for _, rs := range tr.Recipients {
			rows = append(rows, recipientRow{Recipient: register.Recipient{Agency: rs.GetAgency(), Status: rs.GetStatus(),
				Time: rs.GetTime().AsTime()}, Name: nameOr(names, rs.GetAgency())})
		}
		data["Recipients"] = rows
	}
	s.render(w, r, http.StatusOK, "sentdoc.html", data)
}

func (s *Server) receipt(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Desk.Register().SentDoc(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "Không có văn bản này trong sổ văn bản đi (not in the register).")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename=\"bien-nhan-"+d.MessageID+".pb\"")
	w.Write(d.Accepted)
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.cfg.Desk.Retry(id); err != nil {
		s.fail(w, r, http.StatusNotFound, "Không gửi lại được: "+node.Describe(err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	if err := s.cfg.Desk.Forward(ctx); err != nil {
		s.internal(w, r, "chuyển hộp thư đi", err)
		return
	}
	s.Notify(Event{Kind: "hop-thu-di", Text: "Hộp thư đi đã thay đổi", MessageID: id})
	http.Redirect(w, r, "/di", http.StatusSeeOther)
}

func (s *Server) drop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.cfg.Desk.Drop(id); err != nil {
		s.fail(w, r, http.StatusNotFound, "Không bỏ được: "+node.Describe(err))
		return
	}
	s.Notify(Event{Kind: "hop-thu-di", Text: "Đã bỏ một văn bản khỏi hộp thư đi", MessageID: id})
	http.Redirect(w, r, "/di", http.StatusSeeOther)
}

func (s *Server) declareForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "declare.html", map[string]any{"Title": "Khai báo văn bản không qua trục", "Nav": "khai-bao",
		"Figures": s.figures(r.URL.Query().Get("ky"))})
}

func (s *Server) declare(w http.ResponseWriter, r *http.Request) {
	req := &lienthongv1.DeclareRequest{Number: strings.TrimSpace(r.PostFormValue("so")), Notation: strings.TrimSpace(r.PostFormValue("ky-hieu")),
		IssueDate: strings.TrimSpace(r.PostFormValue("ngay")), DocumentType: strings.TrimSpace(r.PostFormValue("loai"))}
	switch r.PostFormValue("kieu") {
	case "paper":
		req.Kind = lienthongv1.DeclarationKind_DECLARATION_KIND_PAPER
	case "secret":
		req.Kind = lienthongv1.DeclarationKind_DECLARATION_KIND_SECRET
	default:
		s.fail(w, r, http.StatusBadRequest, "Chọn văn bản giấy hoặc văn bản mật (kind must be paper or secret).")
		return
	}
	data := map[string]any{"Title": "Khai báo văn bản không qua trục", "Nav": "khai-bao", "Form": req, "Figures": s.figures("")}
	if _, err := envelope.Declaration(req.Number, req.Notation, req.IssueDate, req.DocumentType, s.cfg.Now()); err != nil {
		data["Error"] = node.Describe(err)
		s.render(w, r, http.StatusUnprocessableEntity, "declare.html", data)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	dup, err := s.cfg.Desk.Declare(ctx, req)
	if err != nil {
		data["Error"] = node.Describe(err)
		s.render(w, r, httpStatus(err), "declare.html", data)
		return
	}
	data["Done"], data["Duplicate"] = true, dup
	s.render(w, r, http.StatusOK, "declare.html", data)
}

// figures are the agency's own figures for a year (YYYY, default this
// year), from its register: documents sent through the hub, received,
// and those overdue.
type figures struct {
	Year                                  string
	Sent, SentOverdue, Received, Overdue  int
	Outbox                                int
}

func (s *Server) figures(year string) figures {
	if len(year) != 4 {
		year = s.cfg.Now().In(zone()).Format("2006")
	}
	reg := s.cfg.Desk.Register()
	f := figures{Year: year}
	today := reg.Today()
	if list, err := reg.SentList(register.Query{}); err == nil {
		for _, d := range list {
			if strings.HasPrefix(d.IssueDate, year) {
				f.Sent++
				if d.Overdue(today) {
					f.SentOverdue++
				}
			}
		}
	}
	if list, err := reg.ReceivedList(register.Query{}); err == nil {
		for _, d := range list {
			if d.ReceivedAt.In(zone()).Format("2006") == year {
				f.Received++
				if d.Overdue(today) {
					f.Overdue++
				}
			}
		}
	}
	if list, err := reg.Outbox(); err == nil {
		f.Outbox = len(list)
	}
	return f
}
