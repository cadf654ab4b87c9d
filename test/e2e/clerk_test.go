package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node/desk"
)

// clerkTime is a time as a clerk reads it in ltnode's text output, and
// clerkTimeJSON as --json writes it: Vietnam time, with its zone.
var (
	clerkTime     = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+07:00\b`)
	clerkTimeJSON = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+07:00$`)
	// bareTime is a time of day not followed by its zone.
	bareTime = regexp.MustCompile(`\d{2}:\d{2}:\d{2}(\.\d+)?($|[^.\d +])`)
)

// What a clerk reads from ltnode: agencies by name with the code beside,
// every time in Vietnam time with its zone (RFC 3339 in --json), a PDF
// signed on the way out with send --sign, and the received folder holding
// the PDF under its own name with thong-tin.json beside it. Every verb
// that prints has --json.
func TestClerkReadsNamesTimesAndFolders(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	addr := h.Addr()
	run := func(code string, args ...string) string {
		t.Helper()
		rc, out, errs := ltnode(t, addr, dir, code, args...)
		if rc != 0 {
			t.Fatalf("%s: ltnode %s: exit %d\n%s%s", code, strings.Join(args, " "), rc, out, errs)
		}
		return out
	}
	ad := provision.Layout{Dir: dir}.Agency(commune)
	due := time.Now().In(lienthong.Zone()).AddDate(1, 0, 0).Format(time.DateOnly)
	unsigned, _ := writePDF(t, dir, "", "Tờ trình số 5.pdf", samplepdf.Options{Title: "To trinh"})

	// send --sign: signed on the way, the recipients named.
	var sent struct {
		MessageID      string   `json:"message_id"`
		Signed         []string `json:"signed"`
		AcceptedAt     string   `json:"accepted_at"`
		RecipientNames []struct {
			Code, Name string
		} `json:"recipient_names"`
	}
	mustJSON(t, run(commune, "send", "--to", district, "--file", unsigned, "--number", "5", "--notation", "TTr-UBND",
		"--subject", "Tờ trình", "--urgency", "urgent", "--due", due, "--sign", filepath.Join(ad, "key.pem"),
		"--cert", filepath.Join(ad, "cert.pem"), "--json"), &sent)
	if len(sent.Signed) != 1 || sent.Signed[0] != "Tờ trình số 5.pdf" || !clerkTimeJSON.MatchString(sent.AcceptedAt) ||
		len(sent.RecipientNames) != 1 || sent.RecipientNames[0].Code != district || sent.RecipientNames[0].Name != "UBND huyện Đông Sơn" {
		t.Errorf("send --json: %+v", sent)
	}
	pdf, _ := writePDF(t, dir, commune, "kh.pdf", samplepdf.Options{Title: "Ke hoach"})
	out := run(commune, "send", "--to", district, "--file", pdf, "--number", "6", "--notation", "UBND", "--subject", "Kế hoạch")
	assertClerkText(t, "send", out, "Nơi nhận (1): UBND huyện Đông Sơn (000.00.31.H53)")

	// inbox: the folder holds the PDF and thong-tin.json.
	inbox := filepath.Join(t.TempDir(), "in")
	var item struct {
		Type, MessageID, Dir, Info string
		SenderName                 string `json:"sender_name"`
		Urgency                    string
	}
	for _, l := range strings.Split(strings.TrimSpace(run(district, "inbox", "--out", inbox, "--json")), "\n") {
		var it = item
		mustJSON(t, l, &it)
		if it.MessageID == sent.MessageID || strings.Contains(l, sent.MessageID) {
			item = it
		}
	}
	if item.SenderName != "UBND xã Đông Hòa" || item.Urgency != "urgent" || item.Info != filepath.Join(item.Dir, "thong-tin.json") {
		t.Fatalf("inbox --json item %+v", item)
	}
	names := dirNames(t, item.Dir)
	if !names["Tờ trình số 5.pdf"] || !names["thong-tin.json"] {
		t.Errorf("received folder holds %v", names)
	}
	b, err := os.ReadFile(item.Info)
	must(t, err)
	var info desk.DocInfo
	must(t, json.Unmarshal(b, &info))
	if info.NumberNotation != "5/TTr-UBND" || info.Sender.Name != "UBND xã Đông Hòa" || info.Sender.Code != commune ||
		info.UrgencyLabel != "khẩn" || info.DueDate != due || info.Signatures == nil ||
		info.Signatures.Indication != "TOTAL-PASSED" || info.Signatures.Files[0].Signatures[0].Signer != commune ||
		info.Signatures.Files[0].Signatures[0].SigningTime == nil {
		t.Errorf("thong-tin.json:\n%s", b)
	}
	for _, field := range []string{`"received_at"`, `"signing_time"`} {
		if m := regexp.MustCompile(field + `: "([^"]+)"`).FindStringSubmatch(string(b)); m == nil || !clerkTimeJSON.MatchString(m[1]) {
			t.Errorf("thong-tin.json %s = %v", field, m)
		}
	}

	// The registers and track: names beside codes, times with the zone.
	assertClerkText(t, "register received", run(district, "register", "received"), "UBND xã Đông Hòa (000.01.31.H53)")
	assertClerkText(t, "register sent", run(commune, "register", "sent"), "UBND huyện Đông Sơn (000.00.31.H53): đã đến")
	assertClerkText(t, "track", run(commune, "track", sent.MessageID), "Nơi gửi: UBND xã Đông Hòa (000.01.31.H53)")
	assertClerkText(t, "status", run(district, "status", sent.MessageID, "received"), "Đã báo trục: văn bản 5/TTr-UBND — đã tiếp nhận.")
	assertClerkText(t, "inbox", run(commune, "inbox", "--out", t.TempDir()),
		"UBND huyện Đông Sơn (000.00.31.H53) đã tiếp nhận văn bản 5/TTr-UBND")

	// --json everywhere: each prints JSON whose times carry +07:00.
	for _, tt := range []struct {
		code string
		args []string
	}{
		{commune, []string{"register", "--json"}},
		{commune, []string{"register", "refused", "--json"}},
		{district, []string{"register", "received", "--json"}},
		{commune, []string{"track", sent.MessageID, "--json"}},
		{district, []string{"status", sent.MessageID, "done", "--json"}},
		{commune, []string{"sync", "--json"}},
		{commune, []string{"agencies", "--under", district, "--json"}},
		{commune, []string{"declare", "--kind", "paper", "--number", "9", "--notation", "QĐ-UBND", "--date", "2026-01-05", "--json"}},
		{commune, []string{"sign", pdf, filepath.Join(t.TempDir(), "b.pdf"), "--key", filepath.Join(ad, "key.pem"), "--cert", filepath.Join(ad, "cert.pem"), "--json"}},
		{commune, []string{"verify", pdf, "--trust", filepath.Join(ad, "ca.pem"), "--json"}},
	} {
		out := run(tt.code, tt.args...)
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("ltnode %s: not JSON: %v\n%s", strings.Join(tt.args, " "), err, out)
			continue
		}
		for _, m := range regexp.MustCompile(`"(\d{4}-\d{2}-\d{2}T[^"]+)"`).FindAllStringSubmatch(out, -1) {
			if !clerkTimeJSON.MatchString(m[1]) && !strings.HasPrefix(m[1], "0001-01-01") {
				t.Errorf("ltnode %s: time %s not in Vietnam time", strings.Join(tt.args, " "), m[1])
			}
		}
	}
}

// assertClerkText checks a text output: it holds want, every time in it
// has the +07:00 zone, and at least one time when it has any.
func assertClerkText(t *testing.T, what, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Errorf("%s lacks %q:\n%s", what, want, out)
	}
	if bare := bareTime.FindString(clerkTime.ReplaceAllString(out, "")); bare != "" {
		t.Errorf("%s prints a time without its zone (%q):\n%s", what, bare, out)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}

func dirNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}
