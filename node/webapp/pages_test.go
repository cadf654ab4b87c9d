package webapp

import (
	"net"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestInboxPage renders the register of documents received as the
// register holds it: overdue ones marked, unread counted in the title,
// times in Vietnam time, the filters applied.
func TestInboxPage(t *testing.T) {
	// 20:30 UTC on 3 March is 03:30 on 4 March in Vietnam.
	now := time.Date(2026, 3, 3, 20, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reg, err := register.Open(filepath.Join(t.TempDir(), "node.db"), register.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*lienthongv1.Envelope{
		{MessageId: "11111111-1111-4111-8111-111111111111", Sender: "000.00.31.H53", Number: "7", Notation: "CV-UBND",
			Subject: "Quá hạn", DueDate: "2026-03-03", Urgency: lienthongv1.Urgency_URGENCY_FLASH},
		{MessageId: "22222222-2222-4222-8222-222222222222", Sender: "000.00.01.H53", Number: "8", Notation: "TB-SNV",
			Subject: "Còn hạn", DueDate: "2026-03-04"},
	} {
		if _, err := reg.AddReceived(e, ""); err != nil {
			t.Fatal(err)
		}
	}
	d, err := desk.New(desk.Config{Register: reg, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Listen: ln.Addr().String(), Desk: d, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	defer func() { s.Close(); hs.Close() }()
	ck, _ := login(t, s, hs)

	rows := regexp.MustCompile(`<tr data-id="([^"]+)" class="([^"]*)">`)
	for _, c := range []struct {
		query string
		want  string // id prefix and class of each row, newest first
	}{
		{"", "2:unread|1:overdue unread"},
		{"?qua-han=1", "1:overdue unread"},
		{"?noi-gui=000.00.01.H53", "2:unread"},
		{"?trang-thai=done", ""},
		{"?trang-thai=delivered&q=qua+han", "1:overdue unread"},
		{"?tu=2026-03-05", ""},
		{"?tu=2026-03-04&den=2026-03-04", "2:unread|1:overdue unread"},
	} {
		code, page, _ := call{method: "GET", path: "/den" + c.query, cookie: true}.do(t, hs, ck, "")
		if code != 200 {
			t.Fatalf("GET /den%s: %d", c.query, code)
		}
		var got []string
		for _, m := range rows.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1][:1]+":"+strings.TrimSpace(m[2]))
		}
		if strings.Join(got, "|") != c.want {
			t.Errorf("GET /den%s: rows %q, want %q", c.query, strings.Join(got, "|"), c.want)
		}
		if !strings.Contains(page, "<title>(2) Văn bản đến") {
			t.Errorf("GET /den%s: the title lacks the unread count (2)", c.query)
		}
	}
	_, page, _ := call{method: "GET", path: "/den", cookie: true}.do(t, hs, ck, "")
	for _, want := range []string{
		`<td data-field="received_at">04/03/2026 03:30:00 &#43;07:00</td>`, // html/template writes + as &#43;
		`<td data-field="urgency">hỏa tốc</td>`,
		`03/03/2026 <strong>(quá hạn)</strong>`,
		`title="000.00.31.H53"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the inbox lacks %s", want)
		}
	}
}
