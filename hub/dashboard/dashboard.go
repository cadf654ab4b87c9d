// Package dashboard serves the hub's read-only compliance dashboard: the
// province's electronic-exchange figures for a period, the ranking of its
// agencies by electronic rate, one agency's figures and the register
// numbers it possibly sent on paper, and the rate month by month.
//
// The pages are in Vietnamese, for the compliance office, and are rendered
// on the server with html/template: no JavaScript, no external fonts or
// stylesheets, charts as inline SVG. Every figure shown carries data-*
// attributes naming the JSON field it comes from (data-field) and where it
// belongs (data-scope, data-code, data-kind, data-month), so that a test can
// compare the page with /report.json.
//
// Routes, relative to where the handler is mounted:
//
//	GET /                the province
//	GET /agency/{code}   one agency
//	GET /report.json     the report as JSON (with ?agency=CODE, one agency's)
//
// Each takes the period as ?period=YYYY|YYYY-MM|YYYY-MM-DD or as
// ?from=…&to=…, by default the current year. Links between pages are
// relative, so the handler also works under a prefix (http.StripPrefix).
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lienthong/lienthong/hub/compliance"
)

// Config is what the dashboard needs from the hub.
type Config struct {
	// Report builds the report for period p, for one agency if agency is
	// not empty. An error wrapping compliance.ErrUnknownAgency becomes a
	// 404.
	Report func(ctx context.Context, p compliance.Period, agency string) (*compliance.Report, error)
	// Now gives the time, which sets the default period; time.Now if nil.
	Now func() time.Time
	// Logger receives the errors that make a 500; none if nil.
	Logger *slog.Logger
	// ProvinceName is shown in the title, e.g. "Tỉnh Bến Tre".
	ProvinceName string
}

// maxDays bounds a period: a longer one is a typo more often than a
// question, and the monthly chart has no room for it.
const maxDays = 10*366 + 1

//go:embed templates/*.html
var templateFS embed.FS

// handler serves the dashboard; it holds no mutable state, so it serves
// concurrent requests as is.
type handler struct {
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns the dashboard's handler. It panics if cfg.Report is nil or
// the embedded templates do not parse, both programming errors.
func New(cfg Config) http.Handler {
	if cfg.Report == nil {
		panic("dashboard.New: Config.Report is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{cfg: cfg, pages: parseTemplates(), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /agency/{code}", h.agency)
	h.mux.HandleFunc("GET /report.json", h.reportJSON)
	h.mux.HandleFunc("/", h.notFound)
	return h
}

func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"percent":   func(r *float64) string { return compliance.Percent(r, true) },
		"atMost":    compliance.AtMost,
		"rateClass": rateClass,
		"add":       func(a, b float64) float64 { return round(a + b) },
		"sub":       func(a, b float64) float64 { return round(a - b) },
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	pages := make(map[string]*template.Template)
	for _, name := range []string{"overview", "agency", "error"} {
		t := template.Must(base.Clone())
		pages[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Nothing on these pages runs or loads from elsewhere: styles are
	// inline, charts are inline SVG, and there is no script at all.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	// Figures change as documents arrive; a cached page would mislead.
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// query is the period a request asks for, as given.
type query struct {
	Period, From, To string
}

// encode returns the query string that asks for the same period.
func (q query) encode() string {
	v := url.Values{}
	if q.Period != "" {
		v.Set("period", q.Period)
	} else {
		v.Set("from", q.From)
		v.Set("to", q.To)
	}
	return v.Encode()
}

// badRequest is a mistake in the request, with a message a clerk can act
// on, and the error it comes from if any.
type badRequest struct {
	msg string
	err error
}

func (e *badRequest) Error() string { return e.msg }
func (e *badRequest) Unwrap() error { return e.err }

// period reads the period of a request; without one, the current year in
// the province, spelled out so that links keep it across New Year.
func (h *handler) period(r *http.Request) (compliance.Period, query, error) {
	v := r.URL.Query()
	q := query{
		Period: strings.TrimSpace(v.Get("period")),
		From:   strings.TrimSpace(v.Get("from")),
		To:     strings.TrimSpace(v.Get("to")),
	}
	var (
		p   compliance.Period
		err error
	)
	switch {
	case q.Period != "" && (q.From != "" || q.To != ""):
		return p, q, &badRequest{msg: "Chỉ chọn kỳ theo một cách: hoặc «Kỳ» (năm, tháng hoặc ngày), hoặc «Từ ngày» và «Đến ngày»."}
	case (q.From == "") != (q.To == ""):
		return p, q, &badRequest{msg: "Cần nhập cả «Từ ngày» và «Đến ngày»."}
	case q.From != "":
		p, err = compliance.ParsePeriod(q.From, q.To)
	case q.Period != "":
		p, err = compliance.ParsePeriod(q.Period, "")
	default:
		q.Period = fmt.Sprint(compliance.DayOf(h.cfg.Now()).Year())
		p, err = compliance.ParsePeriod(q.Period, "")
	}
	if err != nil {
		return p, q, &badRequest{msg: err.Error(), err: err}
	}
	if p.To-p.From+1 > maxDays {
		return p, q, &badRequest{msg: "Kỳ báo cáo dài quá 10 năm; hãy chọn kỳ ngắn hơn."}
	}
	return p, q, nil
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	p, q, err := h.period(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := h.cfg.Report(r.Context(), p, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "overview", http.StatusOK, newOverview(h.cfg.ProvinceName, relRoot(r.URL.Path), p, q, rep))
}

func (h *handler) agency(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	p, q, err := h.period(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := h.cfg.Report(r.Context(), p, code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, ok := newAgency(h.cfg.ProvinceName, relRoot(r.URL.Path), p, q, rep, code)
	if !ok {
		h.fail(w, r, fmt.Errorf("report has no row for %s: %w", code, compliance.ErrUnknownAgency))
		return
	}
	h.render(w, r, "agency", http.StatusOK, v)
}

func (h *handler) reportJSON(w http.ResponseWriter, r *http.Request) {
	p, _, err := h.period(r)
	if err != nil {
		h.failJSON(w, r, err)
		return
	}
	rep, err := h.cfg.Report(r.Context(), p, strings.TrimSpace(r.URL.Query().Get("agency")))
	if err != nil {
		h.failJSON(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := compliance.WriteJSON(&buf, rep); err != nil {
		h.failJSON(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(buf.Bytes())
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.render(w, r, "error", http.StatusMethodNotAllowed, newError(h.cfg.ProvinceName, relRoot(r.URL.Path), query{}, http.StatusMethodNotAllowed,
			"Trang này chỉ để xem (chỉ nhận yêu cầu GET)."))
		return
	}
	h.render(w, r, "error", http.StatusNotFound, newError(h.cfg.ProvinceName, relRoot(r.URL.Path), query{}, http.StatusNotFound,
		"Không có trang này. Hãy về trang tổng hợp toàn tỉnh."))
}

// classify maps an error to a status and what the clerk is told.
func (h *handler) classify(r *http.Request, err error) (int, string) {
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, capitalize(bad.msg)
	case errors.Is(err, compliance.ErrUnknownAgency):
		code := r.PathValue("code")
		if code == "" {
			code = r.URL.Query().Get("agency")
		}
		return http.StatusNotFound, fmt.Sprintf("Không tìm thấy cơ quan có mã định danh %q trong danh bạ của trục.", code)
	default:
		if r.Context().Err() == nil { // a client that left is not the hub's fault
			h.cfg.Logger.ErrorContext(r.Context(), "dashboard: building the report", "path", r.URL.Path, "query", r.URL.RawQuery, "err", err)
		}
		return http.StatusInternalServerError, "Không lập được báo cáo do lỗi của trục. Lỗi đã được ghi lại; xin thử lại sau hoặc báo Trung tâm Công nghệ thông tin."
	}
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := h.classify(r, err)
	v := r.URL.Query()
	q := query{Period: v.Get("period"), From: v.Get("from"), To: v.Get("to")}
	h.render(w, r, "error", status, newError(h.cfg.ProvinceName, relRoot(r.URL.Path), q, status, msg))
}

func (h *handler) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := h.classify(r, err)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, page string, status int, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "dashboard: rendering", "page", page, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "Lỗi hiển thị trang; lỗi đã được ghi lại.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
