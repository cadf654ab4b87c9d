package webapp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// cookieName holds the session id; the browser sends it only to this
// origin (SameSite=Strict) and never shows it to scripts (HttpOnly).
const cookieName = "ltnode_phien"

// maxSessions bounds the sessions kept: each opening of the link makes
// one, and a clerk opens it a few times a day.
const maxSessions = 64

// guard is the web app's door: the Host header names this server (no DNS
// rebinding), the request carries a session made from the start-up token,
// and a request that changes anything comes from one of this app's own
// pages (same origin, the session's CSRF token).
type guard struct {
	token string
	// hosts are the Host headers accepted: the listen address, and
	// localhost with its port.
	hosts []string
	// origin is what a same-origin request sends as Origin.
	origins []string

	mu       sync.Mutex
	sessions map[string]string // session id → CSRF token
	order    []string          // session ids, oldest first
}

func newGuard(token, listen string) *guard {
	g := &guard{token: token, sessions: map[string]string{}}
	g.hosts = []string{listen}
	if _, port, err := net.SplitHostPort(listen); err == nil {
		g.hosts = append(g.hosts, net.JoinHostPort("localhost", port))
	}
	for _, h := range g.hosts {
		g.origins = append(g.origins, "http://"+h)
	}
	return g
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// refusal is why the guard refused a request, with its status.
type refusal struct {
	status int
	text   string
}

var (
	refuseHost = refusal{http.StatusMisdirectedRequest,
		"Địa chỉ máy chủ không đúng: hãy mở trang bằng đường dẫn ltnode serve đã in (Host header does not name this server)."}
	refuseLogin = refusal{http.StatusUnauthorized,
		"Chưa đăng nhập: hãy mở đường dẫn có mã truy cập mà lệnh ltnode serve đã in (no session: open the link with the token)."}
	refuseToken = refusal{http.StatusUnauthorized,
		"Mã truy cập không đúng: hãy mở lại đúng đường dẫn mà lệnh ltnode serve đã in (wrong token)."}
	refuseCrossSite = refusal{http.StatusForbidden,
		"Yêu cầu từ trang của nơi khác bị từ chối (cross-origin request refused)."}
	refuseCSRF = refusal{http.StatusForbidden,
		"Phiên làm việc của trang đã cũ hoặc không hợp lệ: hãy tải lại trang rồi thử lại (missing or wrong CSRF token)."}
)

// check returns the session's CSRF token, or why the request is refused,
// from its headers alone: a request refused here has its body unread. A
// state-changing request then needs checkCSRF. The link printed at start
// (GET /?token=) is login's.
func (g *guard) check(r *http.Request) (csrf string, ref *refusal) {
	if !g.hostOK(r.Host) {
		return "", &refuseHost
	}
	// Fetch metadata (sent by every current browser): a page of another
	// site may link here (a navigation, which carries no cookie under
	// SameSite=Strict anyway) but not load or post anything.
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		if !(r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate") {
			return "", &refuseCrossSite
		}
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", &refuseLogin
	}
	g.mu.Lock()
	csrf, ok := g.sessions[c.Value]
	g.mu.Unlock()
	if !ok {
		return "", &refuseLogin
	}
	if safeMethod(r.Method) {
		return csrf, nil
	}
	// A state-changing request: from this origin, with the page's token.
	origin := r.Header.Get("Origin")
	if origin == "" && site == "" {
		return "", &refuseCrossSite // neither header: not from a browser page of ours
	}
	if origin != "" && !g.originOK(origin) {
		return "", &refuseCrossSite
	}
	if site != "" && site != "same-origin" {
		return "", &refuseCrossSite
	}
	return csrf, nil
}

// checkCSRF checks a state-changing request's CSRF token (header, or form
// field once the body is parsed) against its session's.
func checkCSRF(r *http.Request, csrf string) *refusal {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || !equal(got, csrf) {
		return &refuseCSRF
	}
	return nil
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

func (g *guard) hostOK(host string) bool {
	for _, h := range g.hosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

func (g *guard) originOK(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	for _, o := range g.origins {
		if strings.EqualFold(u.Scheme+"://"+u.Host, o) && u.Path == "" {
			return true
		}
	}
	return false
}

// login checks the start-up token and makes a session, returning its id;
// ok is false when the token is wrong.
func (g *guard) login(token string) (id string, ok bool) {
	if !equal(token, g.token) {
		return "", false
	}
	id = randomToken()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions[id] = randomToken()
	g.order = append(g.order, id)
	if len(g.order) > maxSessions {
		delete(g.sessions, g.order[0])
		g.order = g.order[1:]
	}
	return id, true
}

// sessionCookie is the cookie that carries session id.
func sessionCookie(id string) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

// securityHeaders are set on every answer: the pages load nothing from
// elsewhere, run only this app's script and are never framed by another
// page.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// Not no-referrer: with it Chromium sends "Origin: null" on a form POST,
	// which the guard must refuse.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}
