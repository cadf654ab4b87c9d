package webapp

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
)

// offline serves the web app over a real register with a desk that has no
// hub: enough for everything the guard decides.
func offline(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	reg, err := register.Open(filepath.Join(t.TempDir(), "node.db"), register.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := desk.New(desk.Config{Register: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Listen: ln.Addr().String(), Desk: d})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, hs
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type call struct {
	method, path string
	host         string // default: the server's
	cookie       bool
	forged       string // a session cookie of this value
	csrf         string // "" none, "ok" the session's, else that value
	origin       string // "" none, "self" the server's, else that value
	site, mode   string // Sec-Fetch-Site, Sec-Fetch-Mode
}

func (c call) do(t *testing.T, hs *httptest.Server, cookie *http.Cookie, csrf string) (int, string, *http.Response) {
	t.Helper()
	var body io.Reader
	form := url.Values{}
	switch c.csrf {
	case "":
	case "ok":
		form.Set("csrf", csrf)
	default:
		form.Set("csrf", c.csrf)
	}
	if c.method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(c.method, hs.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.host != "" {
		req.Host = c.host
	}
	if c.cookie && cookie != nil {
		req.AddCookie(cookie)
	}
	if c.forged != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: c.forged})
	}
	switch c.origin {
	case "":
	case "self":
		req.Header.Set("Origin", hs.URL)
	default:
		req.Header.Set("Origin", c.origin)
	}
	if c.site != "" {
		req.Header.Set("Sec-Fetch-Site", c.site)
	}
	if c.mode != "" {
		req.Header.Set("Sec-Fetch-Mode", c.mode)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// login opens the link with the token and returns the session cookie and
// the CSRF token of its pages.
func login(t *testing.T, s *Server, hs *httptest.Server) (*http.Cookie, string) {
	t.Helper()
	code, _, resp := call{method: "GET", path: "/?token=" + s.Token()}.do(t, hs, nil, "")
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/den" {
		t.Fatalf("opening the link: %d → %q, want 303 → /den", code, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", ck)
	}
	code, page, _ := call{method: "GET", path: "/den", cookie: true}.do(t, hs, ck, "")
	if code != http.StatusOK {
		t.Fatalf("GET /den with the session: %d\n%s", code, page)
	}
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return ck, m[1]
}

// TestGuard checks every way in: without the token, with a wrong one, from
// another site, with a forged Host, without the CSRF token or with
// another session's; each refused with its exact status and message, and
// the way a page of this app does it let through.
func TestGuard(t *testing.T) {
	s, hs := offline(t)
	ck, csrf := login(t, s, hs)
	_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	_, other := login(t, s, hs) // a second session's token
	if other == csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	// Dropping an unknown document reaches the handler (404 from the
	// register): the guard let the request through.
	const post = "/hop-thu-di/00000000-0000-4000-8000-000000000000/bo"
	for _, c := range []struct {
		name string
		call call
		code int
		text string
	}{
		{"no session", call{method: "GET", path: "/den"}, 401, "Chưa đăng nhập"},
		{"no session, the event stream", call{method: "GET", path: "/su-kien"}, 401, "Chưa đăng nhập"},
		{"no session, a file", call{method: "GET", path: "/den/x/tep/0"}, 401, "Chưa đăng nhập"},
		{"wrong token", call{method: "GET", path: "/?token=sai"}, 401, "Mã truy cập không đúng"},
		{"empty token", call{method: "GET", path: "/?token="}, 401, "Mã truy cập không đúng"},
		{"forged session", call{method: "GET", path: "/den", forged: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401, "Chưa đăng nhập"},
		{"DNS rebinding: another Host", call{method: "GET", path: "/den", cookie: true, host: "evil.example:" + port}, 421, "Địa chỉ máy chủ không đúng"},
		{"DNS rebinding: the token link", call{method: "GET", path: "/?token=" + s.Token(), host: "evil.example:" + port}, 421, "Địa chỉ máy chủ không đúng"},
		{"localhost is this server", call{method: "GET", path: "/den", cookie: true, host: "localhost:" + port}, 200, "Văn bản đến"},
		{"another site's script reads a page", call{method: "GET", path: "/den", cookie: true, site: "cross-site", mode: "cors"}, 403, "trang của nơi khác"},
		{"another site embeds the events", call{method: "GET", path: "/su-kien", cookie: true, site: "same-site", mode: "cors"}, 403, "trang của nơi khác"},
		{"a link from another site, no cookie (SameSite=Strict)", call{method: "GET", path: "/den", site: "cross-site", mode: "navigate"}, 401, "Chưa đăng nhập"},
		{"POST without a CSRF token", call{method: "POST", path: post, cookie: true, origin: "self", site: "same-origin"}, 403, "Phiên làm việc của trang đã cũ"},
		{"POST with another session's token", call{method: "POST", path: post, cookie: true, csrf: other, origin: "self", site: "same-origin"}, 403, "Phiên làm việc của trang đã cũ"},
		{"cross-site POST (form on another site)", call{method: "POST", path: post, cookie: true, csrf: "ok", origin: "http://evil.example", site: "cross-site", mode: "navigate"}, 403, "trang của nơi khác"},
		{"cross-origin POST, Origin only", call{method: "POST", path: post, cookie: true, csrf: "ok", origin: "http://127.0.0.1:1"}, 403, "trang của nơi khác"},
		{"POST from same-site, other port", call{method: "POST", path: post, cookie: true, csrf: "ok", origin: "self", site: "same-site"}, 403, "trang của nơi khác"},
		{"POST with neither Origin nor Sec-Fetch-Site", call{method: "POST", path: post, cookie: true, csrf: "ok"}, 403, "trang của nơi khác"},
		{"POST without a session", call{method: "POST", path: post, csrf: "ok", origin: "self", site: "same-origin"}, 401, "Chưa đăng nhập"},
		{"POST as the page does", call{method: "POST", path: post, cookie: true, csrf: "ok", origin: "self", site: "same-origin"}, 404, "Không bỏ được"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body, resp := c.call.do(t, hs, ck, csrf)
			if code != c.code || !strings.Contains(body, c.text) {
				t.Errorf("%s %s: %d, want %d with %q\n%s", c.call.method, c.call.path, code, c.code, c.text, body)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q, want DENY", got)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"localhost:0", true}, {"127.0.0.2:80", true},
		{"0.0.0.0:8080", false}, {":8080", false}, {"192.168.1.5:8080", false}, {"[::]:8080", false}, {"example.org:80", false}, {"8080", false},
	} {
		err := CheckListen(c.addr)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q) = %v, want ok=%v", c.addr, err, c.ok)
		}
		if err != nil && c.ok == false && strings.Contains(c.addr, ":") && c.addr != "8080" && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("CheckListen(%q): %v, want a message naming loopback", c.addr, err)
		}
	}
	if _, err := New(Config{Listen: "0.0.0.0:8080", Desk: &desk.Desk{}}); err == nil || !strings.Contains(err.Error(), "chưa có TLS và đăng nhập") {
		t.Errorf("New on 0.0.0.0: %v, want the refusal", err)
	}
}
