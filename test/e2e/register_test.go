package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/internal/samplepdf"
)

// registerSentJSON is an entry of `ltnode register sent --json`.
type registerSentJSON struct {
	MessageID  string `json:"message_id"`
	Number     string `json:"number"`
	Notation   string `json:"notation"`
	DueDate    string `json:"due_date"`
	ReceiptID  string `json:"receipt_id"`
	Recipients []struct {
		Agency string `json:"agency"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"recipients"`
	RevokedBy string `json:"revoked_by"`
	Overdue   bool   `json:"overdue"`
}

// registerReceivedJSON is an entry of `ltnode register received --json`.
type registerReceivedJSON struct {
	MessageID        string `json:"message_id"`
	Sender           string `json:"sender"`
	Number           string `json:"number"`
	BusinessType     string `json:"business_type"`
	RelatedMessageID string `json:"related_message_id"`
	Status           string `json:"status"`
	Reason           string `json:"reason"`
	RevokedBy        string `json:"revoked_by"`
	Overdue          bool   `json:"overdue"`
}

// statusJSON is `ltnode status --json`.
type statusJSON struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Agency    string `json:"agency"`
	ReceiptID string `json:"receipt_id"`
	Receipt   []byte `json:"receipt"`
}

// A commune sends; the recipients fetch and report their processing
// steps with ltnode status; the commune's inbox brings the steps as
// notifications into its register of documents sent, and each recipient's
// register of documents received holds its own step. Documents past their
// due date and not finished are listed as overdue on both sides. A
// revocation without --to reaches the original's recipients and marks the
// original in both registers.
func TestRegisterFollowsStatuses(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	addr := h.Addr()
	// Documents are sent due today (a due date already past is refused);
	// the nodes then read their registers two months later, when those
	// not finished are overdue.
	today := time.Now().In(lienthong.Zone()).Format(time.DateOnly)
	later := false
	nodeNow := func() time.Time {
		if later {
			return time.Now().AddDate(0, 2, 0)
		}
		return time.Now()
	}
	run := func(code string, wantRC int, args ...string) string {
		t.Helper()
		rc, out, errs := ltnodeAt(t, nodeNow, addr, dir, code, args...)
		if rc != wantRC {
			t.Fatalf("%s: ltnode %s: exit %d, want %d\n%s%s", code, strings.Join(args, " "), rc, wantRC, out, errs)
		}
		return out
	}
	pdf, _ := writePDF(t, dir, commune, "kh.pdf", samplepdf.Options{Title: "Ke hoach"})
	send := func(number, notation, subject, due string, extra ...string) string {
		t.Helper()
		args := append([]string{"send", "--file", pdf, "--number", number, "--notation", notation, "--subject", subject,
			"--date", today, "--json"}, extra...)
		if due != "" {
			args = append(args, "--due", due)
		}
		return decodeJSON[outboxSendJSON](t, run(commune, 0, args...)).MessageID
	}
	late := send("12", "QĐ-UBND", "Kế hoạch chuyển đổi số", today, "--to", district+","+province)
	future := send("13", "CV-UBND", "Công văn xin ý kiến", time.Now().In(lienthong.Zone()).AddDate(1, 0, 0).Format(time.DateOnly), "--to", district)
	toRevoke := send("14", "CV-UBND", "Gửi nhầm", today, "--to", district)
	later = true

	inDistrict, inProvince := filepath.Join(t.TempDir(), "d"), filepath.Join(t.TempDir(), "p")
	if n := len(inboxJSONLines(t, run(district, 0, "inbox", "--out", inDistrict, "--json"))); n != 3 {
		t.Fatalf("district received %d documents, want 3", n)
	}
	run(province, 0, "inbox", "--out", inProvince, "--json")

	// Usage errors never reach the hub.
	for _, args := range [][]string{
		{"status", late, "rejected"},
		{"status", late, "rejected", "--reason", "  "},
		{"status", late, "finished"},
		{"status", late, "delivered"},
		{"status", late},
	} {
		run(district, 2, args...)
	}
	st := decodeJSON[statusJSON](t, run(district, 0, "status", late, "received", "--json"))
	if st.MessageID != late || st.Status != "received" || st.Agency != district || len(st.ReceiptID) != 32 || len(st.Receipt) == 0 {
		t.Errorf("status output %+v", st)
	}
	if out := run(district, 0, "status", late, "done"); !strings.Contains(out, "văn bản 12/QĐ-UBND — hoàn thành") {
		t.Errorf("status text:\n%s", out)
	}
	// The hub refuses an illegal step: exit 1.
	run(district, 1, "status", late, "received")
	run(district, 0, "status", future, "rejected", "--reason", "Không thuộc thẩm quyền")
	run(province, 0, "status", late, "received")

	out := run(commune, 0, "inbox", "--out", filepath.Join(t.TempDir(), "c"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(lines)
	want := []string{
		"UBND huyện Đông Sơn (000.00.31.H53) đã tiếp nhận văn bản 12/QĐ-UBND",
		"UBND huyện Đông Sơn (000.00.31.H53) đã từ chối văn bản 13/CV-UBND (lý do: Không thuộc thẩm quyền)",
		"UBND huyện Đông Sơn (000.00.31.H53) đã xử lý xong văn bản 12/QĐ-UBND",
		"UBND tỉnh (000.00.00.H53) đã tiếp nhận văn bản 12/QĐ-UBND",
		"Đã nhận 0 văn bản.",
		"Đã nhận 4 thông báo trạng thái văn bản đã gửi.",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("commune inbox printed\n%s\nwant (in any order)\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if out := run(commune, 0, "inbox", "--out", filepath.Join(t.TempDir(), "c"), "--json"); strings.TrimSpace(out) != "" {
		t.Errorf("notifications not acknowledged: %s", out)
	}

	type step struct{ agency, status, reason string }
	steps := func(s registerSentJSON) []step {
		var out []step
		for _, r := range s.Recipients {
			out = append(out, step{r.Agency, r.Status, r.Reason})
		}
		return out
	}
	sent := decodeJSON[[]registerSentJSON](t, run(commune, 0, "register", "sent", "--json"))
	wantSent := []struct {
		id      string
		steps   []step
		overdue bool
	}{
		{late, []step{{province, "received", ""}, {district, "done", ""}}, true},
		{future, []step{{district, "rejected", "Không thuộc thẩm quyền"}}, false},
		// The district fetched it: delivered, as Track says (the hub
		// notifies no delivery; register asks the hub).
		{toRevoke, []step{{district, "delivered", ""}}, true},
	}
	if len(sent) != len(wantSent) {
		t.Fatalf("register sent has %d entries, want %d: %+v", len(sent), len(wantSent), sent)
	}
	for i, w := range wantSent {
		if s := sent[i]; s.MessageID != w.id || !slices.Equal(steps(s), w.steps) || s.Overdue != w.overdue || len(s.ReceiptID) != 32 {
			t.Errorf("register sent[%d] = %+v, want %s %v overdue %v", i, s, w.id, w.steps, w.overdue)
		}
	}
	ids := func(list []registerSentJSON) []string {
		var out []string
		for _, s := range list {
			out = append(out, s.MessageID)
		}
		return out
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--overdue"}, []string{late, toRevoke}},
		{[]string{"--search", "ke hoach"}, []string{late}},
		{[]string{"--search", "CV-UBND"}, []string{future, toRevoke}},
		{[]string{"--search", province}, []string{late}},
		{[]string{"--search", "cv-ubnd", "--overdue"}, []string{toRevoke}},
	} {
		got := ids(decodeJSON[[]registerSentJSON](t, run(commune, 0, append([]string{"register", "sent", "--json"}, tt.args...)...)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("register sent %v = %v, want %v", tt.args, got, tt.want)
		}
	}
	if out := run(commune, 0, "register", "sent"); !strings.Contains(out, today+" (QUÁ HẠN)") || !strings.Contains(out, "("+district+"): hoàn thành") {
		t.Errorf("register sent (text):\n%s", out)
	}

	received := func(code string, args ...string) map[string]registerReceivedJSON {
		t.Helper()
		m := map[string]registerReceivedJSON{}
		for _, r := range decodeJSON[[]registerReceivedJSON](t, run(code, 0, append([]string{"register", "received", "--json"}, args...)...)) {
			if r.Sender != commune {
				t.Errorf("%s register received %+v", code, r)
			}
			m[r.MessageID] = r
		}
		return m
	}
	d := received(district)
	if len(d) != 3 || d[late].Status != "done" || d[late].Overdue || d[future].Status != "rejected" ||
		d[future].Reason != "Không thuộc thẩm quyền" || d[toRevoke].Status != "delivered" || !d[toRevoke].Overdue {
		t.Errorf("district register received %+v", d)
	}
	if od := received(district, "--overdue"); len(od) != 1 || od[toRevoke].MessageID == "" {
		t.Errorf("district overdue %+v, want only %s", od, toRevoke)
	}
	if p := received(province, "--overdue"); len(p) != 1 || p[late].Status != "received" || !p[late].Overdue {
		t.Errorf("province overdue %+v, want %s (received, not done)", p, late)
	}

	// A revocation with no --to goes to the original's recipients.
	revoke := send("15", "CV-UBND", "Thu hồi văn bản 14/CV-UBND", "", "--revokes", toRevoke)
	items := inboxJSONLines(t, run(district, 0, "inbox", "--out", inDistrict, "--json"))
	if len(items) != 1 || items[0].MessageID != revoke || items[0].BusinessType != "revoke" || items[0].RelatedMessageID != toRevoke {
		t.Fatalf("district got %+v, want the revocation %s", items, revoke)
	}
	d = received(district)
	if d[toRevoke].RevokedBy != revoke || d[toRevoke].Overdue || d[revoke].BusinessType != "revoke" || d[revoke].RelatedMessageID != toRevoke {
		t.Errorf("district register after the revocation: original %+v, revocation %+v", d[toRevoke], d[revoke])
	}
	if od := received(district, "--overdue"); len(od) != 0 {
		t.Errorf("district overdue after the revocation %+v, want none", od)
	}
	sent = decodeJSON[[]registerSentJSON](t, run(commune, 0, "register", "sent", "--json", "--search", "gui nham"))
	if len(sent) != 1 || sent[0].RevokedBy != revoke || sent[0].Overdue {
		t.Errorf("commune register of the revoked document %+v", sent)
	}
}
