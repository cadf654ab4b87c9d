// Package webapp is the clerk's desk in a browser: the web app that
// `ltnode serve --http` runs for one agency, in Vietnamese, on the
// loopback address.
//
// Pages: Văn bản đến (the register of documents received: list, filter,
// open the PDF, report a processing step, the timeline), Soạn và gửi
// (compose, sign on the spot, send through the outbox), Văn bản đi (the
// register of documents sent with each recipient's latest step, and the
// outbox), Khai báo (declarations of paper and secret documents). While a
// page is open, server-sent events (/su-kien) tell it of new documents and
// steps; the page refreshes its list and shows the unread count in the
// title.
//
// The pages do no clerk's work themselves: they call the Desk, the node
// library's use cases, which the ltnode commands call too.
//
// Security: the server answers only requests whose Host header names it
// (no DNS rebinding), that carry the session cookie made by opening the
// link with the start-up token (HttpOnly, SameSite=Strict), and, for
// anything that changes state, that come from this origin (Origin,
// Sec-Fetch-Site) with the session's CSRF token. See guard.go.
package webapp

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lienthong/lienthong/node/desk"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the web app needs.
type Config struct {
	// Listen is the address served, HOST:PORT; the Host header must name
	// it. Only a loopback address is accepted (CheckListen).
	Listen string
	// Token opens a session (the ?token= of the link printed at start);
	// empty: a random one, see Server.Token.
	Token string
	// Desk is the clerk's work: the node library's use cases.
	Desk *desk.Desk
	// PKCS11Modules are the PKCS#11 libraries the page may load to sign
	// with a token. The page offers only these: a form must not make the
	// node load any library it names.
	PKCS11Modules []string
	// Interval is how often the outbox is forwarded while serving;
	// default 5 s.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives errors that make a 500; none if nil.
	Logger *slog.Logger
}

// Server is the web app of one agency.
type Server struct {
	cfg    Config
	guard  *guard
	pages  map[string]*template.Template
	mux    *http.ServeMux
	events *broker
}

// CheckListen refuses an address that is not loopback: the app has no TLS
// and no login of its own, so it must not be reachable from the network.
func CheckListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("địa chỉ %q không hợp lệ, cần HOST:PORT (invalid listen address): %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("chỉ mở trang làm việc trên địa chỉ loopback (127.0.0.1, ::1): %q nghe cả mạng mà chưa có TLS và đăng nhập "+
			"(refusing a non-loopback listen address without TLS and a login)", addr)
	}
	return nil
}

// New returns the web app. It panics if the embedded templates do not
// parse (a programming error).
func New(cfg Config) (*Server, error) {
	if err := CheckListen(cfg.Listen); err != nil {
		return nil, err
	}
	if cfg.Desk == nil {
		return nil, errors.New("webapp.New: Config.Desk is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Token == "" {
		cfg.Token = randomToken()
	}
	s := &Server{cfg: cfg, guard: newGuard(cfg.Token, cfg.Listen), pages: map[string]*template.Template{}, events: newBroker()}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		if n == "templates/layout.html" || n == "templates/parts.html" {
			continue
		}
		s.pages[n[len("templates/"):]] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
	s.routes()
	return s, nil
}

// Token is the token of the link that opens a session.
func (s *Server) Token() string { return s.cfg.Token }

// Link is the address to open in the browser.
func (s *Server) Link() string { return "http://" + s.cfg.Listen + "/?token=" + s.cfg.Token }

// Notify tells the open pages that something changed.
func (s *Server) Notify(e Event) { s.events.publish(e) }

// Close ends the open event streams.
func (s *Server) Close() { s.events.close() }

// ServeHTTP checks every request at the door, then serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if r.URL.Path == "/" && r.URL.Query().Has("token") && r.Method == http.MethodGet {
		s.login(w, r)
		return
	}
	csrf, ref := s.guard.check(r)
	if ref != nil {
		s.fail(w, r, ref.status, ref.text)
		return
	}
	if !safeMethod(r.Method) {
		// Bound what a form may bring, and read it only for a session.
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			s.fail(w, r, http.StatusRequestEntityTooLarge, "Tệp tải lên quá lớn hoặc không đọc được (upload too large or unreadable): "+err.Error())
			return
		}
		if ref := checkCSRF(r, csrf); ref != nil {
			s.fail(w, r, ref.status, ref.text)
			return
		}
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfKey{}, csrf)))
}

// maxUpload bounds one request's body: the files of a document.
const maxUpload = 200 << 20

type csrfKey struct{}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.guard.hostOK(r.Host) {
		s.fail(w, r, refuseHost.status, refuseHost.text)
		return
	}
	id, ok := s.guard.login(r.URL.Query().Get("token"))
	if !ok {
		s.fail(w, r, refuseToken.status, refuseToken.text)
		return
	}
	http.SetCookie(w, sessionCookie(id))
	// The token leaves the address bar and the history.
	http.Redirect(w, r, "/den", http.StatusSeeOther)
}

// render writes page name with data, or a 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	t, ok := s.pages[name]
	if !ok {
		panic("webapp: no page " + name)
	}
	if data == nil {
		data = map[string]any{}
	}
	data["CSRF"], _ = r.Context().Value(csrfKey{}).(string)
	data["Self"] = s.self(r.Context())
	data["Unread"] = s.unread()
	data["Now"] = vnTime(s.cfg.Now())
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", data); err != nil {
		s.cfg.Logger.Error("rendering page", "page", name, "err", err)
		http.Error(w, "Lỗi hiển thị trang (template error)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail answers with status and a message a clerk can act on, as a page
// (or as text for scripts).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Header.Get("Accept") == "application/json" || r.Header.Get("X-Requested-With") != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "{\"error\":%q}\n", msg)
		return
	}
	t := s.pages["error.html"]
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", map[string]any{"Error": msg, "Status": status, "Bare": true}); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
