package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
)

type sendJSON struct {
	MessageID  string   `json:"message_id"`
	Duplicate  bool     `json:"duplicate"`
	Recipients []string `json:"recipients"`
	ReceiptID  string   `json:"receipt_id"`
}

type inboxJSON struct {
	MessageID string   `json:"message_id"`
	Sender    string   `json:"sender"`
	Number    string   `json:"number"`
	Notation  string   `json:"notation"`
	Subject   string   `json:"subject"`
	Dir       string   `json:"dir"`
	Files     []string `json:"files"`
	Duplicate bool     `json:"duplicate"`
}

type trackJSON struct {
	MessageID  string `json:"message_id"`
	Recipients []struct {
		Agency string `json:"agency"`
		Status string `json:"status"`
	} `json:"recipients"`
	Receipts []struct {
		Status         string   `json:"status"`
		Agency         string   `json:"agency"`
		Recipients     []string `json:"recipients"`
		SignatureValid bool     `json:"signature_valid"`
	} `json:"receipts"`
}

func inboxLines(t *testing.T, out string) []inboxJSON {
	t.Helper()
	var items []inboxJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			items = append(items, decodeJSON[inboxJSON](t, l))
		}
	}
	return items
}

// A commune sends a PDF to its district and the province with ltnode; both
// receive byte-identical files; the sender tracks accepted and delivered
// receipts, all signed by the hub.
func TestCommuneToDistrictAndProvince(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	pdf, sum := writePDF(t, dir, commune, "qd-12.pdf", samplepdf.Options{Title: "Quyet dinh 12", Pages: 2})
	attach, attachSum := writePDF(t, dir, commune, "phu-luc.pdf", samplepdf.Options{Title: "Phu luc", PadBytes: 700 << 10})

	rc, out, errs := ltnode(t, h.Addr(), dir, commune, "send", "--to", district+","+province,
		"--file", pdf, "--file", attach, "--number", "12", "--notation", "QĐ-UBND", "--subject", "Kế hoạch chuyển đổi số", "--json")
	if rc != 0 {
		t.Fatalf("send exit %d: %s", rc, errs)
	}
	sent := decodeJSON[sendJSON](t, out)
	if sent.Duplicate || !slices.Equal(sent.Recipients, []string{province, district}) || len(sent.ReceiptID) != 32 {
		t.Fatalf("send output = %+v", sent)
	}

	for _, who := range []string{district, province} {
		inbox := filepath.Join(t.TempDir(), "inbox")
		rc, out, errs := ltnode(t, h.Addr(), dir, who, "inbox", "--out", inbox, "--json")
		if rc != 0 {
			t.Fatalf("inbox %s exit %d: %s", who, rc, errs)
		}
		items := inboxLines(t, out)
		if len(items) != 1 {
			t.Fatalf("%s received %d documents, want 1: %s", who, len(items), out)
		}
		it := items[0]
		if it.MessageID != sent.MessageID || it.Sender != commune || it.Number != "12" || it.Notation != "QĐ-UBND" || it.Duplicate {
			t.Errorf("%s received %+v", who, it)
		}
		if got := fileSHA256(t, filepath.Join(inbox, sent.MessageID, "qd-12.pdf")); got != sum {
			t.Errorf("%s: qd-12.pdf sha256 %s, sent %s", who, got, sum)
		}
		if got := fileSHA256(t, filepath.Join(inbox, sent.MessageID, "phu-luc.pdf")); got != attachSum {
			t.Errorf("%s: phu-luc.pdf sha256 %s, sent %s", who, got, attachSum)
		}
		// Acked: a second fetch brings nothing.
		rc, out, _ = ltnode(t, h.Addr(), dir, who, "inbox", "--out", inbox, "--json")
		if rc != 0 || strings.TrimSpace(out) != "" {
			t.Errorf("%s second inbox: exit %d, %q", who, rc, out)
		}
	}

	rc, out, errs = ltnode(t, h.Addr(), dir, commune, "track", sent.MessageID, "--json")
	if rc != 0 {
		t.Fatalf("track exit %d: %s", rc, errs)
	}
	tr := decodeJSON[trackJSON](t, out)
	var steps []string
	for _, r := range tr.Receipts {
		if !r.SignatureValid {
			t.Errorf("receipt %+v: hub signature not valid", r)
		}
		steps = append(steps, r.Status+":"+r.Agency)
	}
	slices.Sort(steps[1:])
	if want := []string{"accepted:", "delivered:" + province, "delivered:" + district}; !slices.Equal(steps, want) {
		t.Errorf("receipts = %v, want %v", steps, want)
	}
	for _, r := range tr.Recipients {
		if r.Status != "delivered" {
			t.Errorf("recipient %s status %s, want delivered", r.Agency, r.Status)
		}
	}
	// The table form is what a clerk reads.
	rc, out, _ = ltnode(t, h.Addr(), dir, commune, "track", sent.MessageID)
	if rc != 0 || !strings.Contains(out, "đã đến") || !strings.Contains(out, "hợp lệ ✓") {
		t.Errorf("track table (exit %d):\n%s", rc, out)
	}
}

// One send to five recipients gives each exactly one delivery, and
// nothing to anyone else.
func TestFanOutToFive(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	pdf, sum := writePDF(t, dir, province, "cv.pdf", samplepdf.Options{Title: "Cong van"})
	five := []string{deptNoiVu, deptTC, district, district2, commune}
	sender := client(t, h.Addr(), dir, province)
	res, err := sender.Send(ctx, node.Document{Recipients: five, Number: "5", Notation: "UBND-VP", Subject: "Fan-out",
		Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)
	want := slices.Clone(five)
	slices.Sort(want)
	if !slices.Equal(res.Body.GetRecipients(), want) {
		t.Fatalf("accepted recipients = %v, want %v", res.Body.GetRecipients(), want)
	}
	receive := func(code string) []*node.Received {
		t.Helper()
		c := client(t, h.Addr(), dir, code)
		var got []*node.Received
		must(t, c.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, func(r *node.Received) error {
			got = append(got, r)
			return nil
		}))
		return got
	}
	for _, code := range five {
		got := receive(code)
		if len(got) != 1 || got[0].MessageID != res.MessageID || fileSHA256(t, got[0].Files[0]) != sum {
			t.Errorf("%s got %d deliveries (%+v), want exactly message %s", code, len(got), got, res.MessageID)
		}
		if again := receive(code); len(again) != 0 {
			t.Errorf("%s got %d more deliveries after ack", code, len(again))
		}
	}
	for _, code := range []string{commune2, commune3, "000.01.03.H53"} {
		if got := receive(code); len(got) != 0 {
			t.Errorf("%s, not a recipient, got %d deliveries", code, len(got))
		}
	}
}
