package webapp

import (
	"context"
	"errors"
	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/node/desk"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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

// name is an agency's name from the directory (the desk's copy when the
// hub is away), or its code when it has none.
func (s *Server) name(ctx context.Context, code string) string {
	if n := s.cfg.Desk.Name(ctx, code); n != "" {
		return n
	}
	return code
}

// self is this node's agency.
func (s *Server) self(ctx context.Context) Agency {
	c := s.cfg.Desk.Code()
	return Agency{Code: c, Name: s.name(ctx, c)}
}

// Agency is an agency as the pages name it: the name shown, the code on
// hover.
type Agency struct{ Code, Name string }

// unread counts received documents not yet taken in (still "delivered").
func (s *Server) unread() int {
	list, err := s.cfg.Desk.ReceivedList(register.Query{})
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
	// Signatures is the hub's check of the document's PDF signatures
	// (from its description in the inbox folder); nil when unsigned or
	// not stored.
	Signatures *desk.Signatures
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
	list, err := s.cfg.Desk.ReceivedList(register.Query{Search: f.Search, Overdue: f.Overdue})
	if err != nil {
		s.internal(w, r, "đọc sổ văn bản đến", err)
		return
	}
	today := s.cfg.Desk.Register().Today()
	var rows []receivedRow
	senders := map[string]string{}
	for _, d := range slices.Backward(list) { // newest first
		senders[d.Sender] = s.name(r.Context(), d.Sender)
		day := d.ReceivedAt.In(zone()).Format(time.DateOnly)
		if (f.From != "" && day < f.From) || (f.To != "" && day > f.To) || (f.Sender != "" && d.Sender != f.Sender) ||
			(f.Status != "" && d.Status.Name() != f.Status) {
			continue
		}
		row := receivedRow{Received: d, SenderName: s.name(r.Context(), d.Sender), Overdue: d.Overdue(today)}
		if d.Dir != "" {
			if info, err := s.cfg.Desk.Info(r.Context(), d.MessageID); err == nil {
				row.Signatures = info.Signatures
			}
		}
		rows = append(rows, row)
	}
	s.render(w, r, http.StatusOK, "inbox.html", map[string]any{"Title": "Văn bản đến", "Nav": "den", "Rows": rows,
		"Filter": f, "Senders": senders, "Statuses": receivedStatuses})
}

// receivedStatuses are the steps a clerk filters by and reports.
var receivedStatuses = []lienthongv1.Status{
	lienthongv1.Status_STATUS_DELIVERED, lienthongv1.Status_STATUS_RECEIVED, lienthongv1.Status_STATUS_ASSIGNED,
	lienthongv1.Status_STATUS_IN_PROGRESS, lienthongv1.Status_STATUS_DONE, lienthongv1.Status_STATUS_REJECTED,
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
		"SenderName": s.name(r.Context(), d.Sender), "Overdue": d.Overdue(reg.Today()), "Steps": clerkSteps(d.Status)}
	if d.Dir != "" {
		info, err := s.cfg.Desk.Info(r.Context(), d.MessageID)
		if err != nil {
			s.internal(w, r, "đọc văn bản đã nhận", err)
			return
		}
		data["Info"] = info
	}
	// The hub's receipts of this agency's steps are the timeline; the
	// register holds only the latest step.
	if _, steps, err := s.track(r.Context(), d.MessageID); err != nil {
		data["TrackError"] = node.Describe(err)
	} else {
		data["Timeline"] = steps
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
	info, err := s.cfg.Desk.Info(r.Context(), d.MessageID)
	n, nerr := strconv.Atoi(r.PathValue("n"))
	if err != nil || nerr != nil || n < 0 || n >= len(info.Files) {
		s.fail(w, r, http.StatusNotFound, "Không có tệp này (no such file).")
		return
	}
	fi := info.Files[n]
	// The name was checked when the document was stored (one path
	// element, not reserved); Base keeps it so.
	f, err := os.Open(filepath.Join(d.Dir, filepath.Base(fi.Name)))
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
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(fi.Name)))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", "inline; filename*=UTF-8''"+urlPathEscape(fi.Name))
	// The PDF viewer needs no script of the page: a sandbox keeps a
	// hostile file from acting as this origin.
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'none'")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) step(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := desk.ParseStep(r.PostFormValue("buoc"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, node.Describe(err))
		return
	}
	reason := r.PostFormValue("ly-do")
	if to := strings.TrimSpace(r.PostFormValue("giao-cho")); st == lienthongv1.Status_STATUS_ASSIGNED && to != "" {
		reason = "Giao cho: " + to
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	rep, err := s.cfg.Desk.Report(ctx, id, st, reason)
	if err != nil {
		s.fail(w, r, httpStatus(err), "Chưa báo được bước “"+st.Label()+"”: "+node.Describe(err))
		return
	}
	if rep.RecordErr != nil {
		s.cfg.Logger.Error("recording a step", "id", id, "err", rep.RecordErr)
	}
	s.Notify(Event{Kind: "buoc", Text: "Đã báo: " + st.Label(), MessageID: id})
	http.Redirect(w, r, "/den/"+id, http.StatusSeeOther)
}

// httpStatus maps a failed call of the Desk to a status: the hub's
// refusal is the clerk's to fix (422), an unreachable hub is 503.
func httpStatus(err error) int {
	switch {
	case node.Unreachable(err), errors.Is(err, desk.ErrOffline):
		return http.StatusServiceUnavailable
	case lienthong.ErrorKind(err) == lienthong.KindInvalid:
		return http.StatusBadRequest
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
	q := register.Query{Search: r.URL.Query().Get("q"), Overdue: r.URL.Query().Get("qua-han") != ""}
	// The register takes the hub's statuses first (Track's truth), when
	// the hub answers in time; else the page shows what it holds.
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	refreshErr := s.cfg.Desk.Refresh(ctx)
	cancel()
	list, err := s.cfg.Desk.Sent(q)
	if err != nil {
		s.internal(w, r, "đọc sổ văn bản đi", err)
		return
	}
	outbox, err := s.cfg.Desk.Outbox(q)
	if err != nil {
		s.internal(w, r, "đọc hộp thư đi", err)
		return
	}
	refused, err := s.cfg.Desk.Refused(q)
	if err != nil {
		s.internal(w, r, "đọc danh sách văn bản bị từ chối", err)
		return
	}
	today := s.cfg.Desk.Register().Today()
	var rows []sentRow
	for _, d := range slices.Backward(list) {
		rows = append(rows, sentRow{Sent: d, Recipients: s.recipientRows(r.Context(), d.Recipients), Overdue: d.Overdue(today)})
	}
	var queued []outboxRow
	for _, o := range outbox {
		row := outboxRow{Outgoing: o}
		for _, c := range o.Recipients {
			row.To = append(row.To, Agency{Code: c, Name: s.name(r.Context(), c)})
		}
		queued = append(queued, row)
	}
	data := map[string]any{"Title": "Văn bản đi", "Nav": "di", "Rows": rows,
		"Outbox": queued, "Refused": refused, "Search": q.Search, "Overdue": q.Overdue}
	if refreshErr != nil {
		data["RefreshError"] = node.Describe(refreshErr)
	}
	s.render(w, r, http.StatusOK, "sent.html", data)
}

// outboxRow is a document of the outbox with its recipients named.
type outboxRow struct {
	*register.Outgoing
	To []Agency
}

func (s *Server) recipientRows(ctx context.Context, list []register.Recipient) []recipientRow {
	out := make([]recipientRow, len(list))
	for i, rc := range list {
		out[i] = recipientRow{Recipient: rc, Name: s.name(ctx, rc.Agency)}
	}
	return out
}

// timelineStep is one receipt of a sent document, as Track returns it.
type timelineStep struct {
	Time, Agency, Name, Status, StatusName, Reason, ReceiptID string
	Valid                                                     bool
}

func (s *Server) sent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	reg := s.cfg.Desk.Register()
	data := map[string]any{"Title": "Văn bản đi", "Nav": "di", "New": r.URL.Query().Get("moi") != ""}
	d, err := reg.SentDoc(id)
	switch {
	case errors.Is(err, register.ErrNotFound):
		// Maybe still in the outbox.
		list, err := s.cfg.Desk.Outbox(register.Query{})
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
		refused, err := s.cfg.Desk.Refused(register.Query{Search: id})
		if err == nil && len(refused) == 1 {
			data["Refused"] = refused[0]
			s.render(w, r, http.StatusOK, "sentdoc.html", data)
			return
		}
		s.fail(w, r, http.StatusNotFound, "Không có văn bản này trong sổ văn bản đi (not in the register).")
		return
	case err != nil:
		s.internal(w, r, "đọc sổ văn bản đi", err)
		return
	}
	data["Doc"], data["Recipients"], data["Overdue"] = d, s.recipientRows(r.Context(), d.Recipients), d.Overdue(reg.Today())
	tr, steps, err := s.track(r.Context(), id)
	if err != nil {
		data["TrackError"] = node.Describe(err)
	} else {
		data["Timeline"], data["Signatures"] = steps, desk.SignaturesOf(tr.Verification)
		// Track is the truth: the page shows its per-recipient steps.
		rows := make([]recipientRow, 0, len(tr.Recipients))
		for _, rs := range tr.Recipients {
			rows = append(rows, recipientRow{Recipient: register.Recipient{Agency: rs.GetAgency(), Status: rs.GetStatus(),
				Time: rs.GetTime().AsTime()}, Name: s.name(r.Context(), rs.GetAgency())})
		}
		data["Recipients"] = rows
	}
	s.render(w, r, http.StatusOK, "sentdoc.html", data)
}

// track asks the hub for a document's receipts (within a few seconds:
// the page falls back on the register when the hub is away) and lists
// them as a timeline, oldest first.
func (s *Server) track(ctx context.Context, id string) (*desk.Tracking, []timelineStep, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tr, err := s.cfg.Desk.Track(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var steps []timelineStep
	for _, rc := range tr.Receipts {
		b := rc.Body
		steps = append(steps, timelineStep{Time: vnTime(b.GetTime().AsTime()), Agency: b.GetAgency(), Name: s.name(ctx, b.GetAgency()),
			Status: b.GetStatus().Label(), StatusName: b.GetStatus().Name(), Reason: b.GetReason(), ReceiptID: b.GetReceiptId(), Valid: rc.Err == nil})
	}
	return tr, steps, nil
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
	if _, err := s.cfg.Desk.Forward(ctx, nil); err != nil {
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
	decl := desk.Declaration{Number: r.PostFormValue("so"), Notation: r.PostFormValue("ky-hieu"),
		IssueDate: r.PostFormValue("ngay"), DocumentType: r.PostFormValue("loai")}
	data := map[string]any{"Title": "Khai báo văn bản không qua trục", "Nav": "khai-bao", "Form": decl, "Figures": s.figures("")}
	var err error
	if decl.Kind, err = desk.ParseDeclarationKind(r.PostFormValue("kieu")); err != nil {
		data["Error"] = node.Describe(err)
		s.render(w, r, http.StatusBadRequest, "declare.html", data)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	dup, err := s.cfg.Desk.Declare(ctx, decl)
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
	Year                                 string
	Sent, SentOverdue, Received, Overdue int
	Outbox                               int
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
	if list, err := s.cfg.Desk.Outbox(register.Query{}); err == nil {
		f.Outbox = len(list)
	}
	return f
}
