package e2e

import (
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
)

// The commune's register of documents sent tells what Track tells: once
// the district has fetched the document, both say "delivered", at the
// same time. (The register used to keep "accepted", the hub's step at
// send, because the hub notifies the sender of no delivery.)
func TestSentRegisterSaysWhatTrackSays(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	addr := h.Addr()
	pdf, _ := writePDF(t, dir, commune, "kh.pdf", samplepdf.Options{Title: "Ke hoach"})
	rc, out, errs := ltnode(t, addr, dir, commune, "send", "--to", district, "--file", pdf, "--number", "7",
		"--notation", "UBND", "--subject", "Thử", "--json")
	if rc != 0 {
		t.Fatalf("send: exit %d: %s", rc, errs)
	}
	id := decodeJSON[struct {
		MessageID string `json:"message_id"`
	}](t, out).MessageID
	if rc, _, errs := ltnode(t, addr, dir, district, "inbox", "--out", filepath.Join(t.TempDir(), "in")); rc != 0 {
		t.Fatalf("district inbox: exit %d: %s", rc, errs)
	}

	type step struct {
		Agency string `json:"agency"`
		Status string `json:"status"`
		Time   string `json:"time"`
	}
	rc, out, errs = ltnode(t, addr, dir, commune, "register", "sent", "--json")
	if rc != 0 {
		t.Fatalf("register sent: exit %d: %s", rc, errs)
	}
	sent := decodeJSON[[]struct {
		MessageID  string `json:"message_id"`
		Recipients []step `json:"recipients"`
	}](t, out)
	rc, out, errs = ltnode(t, addr, dir, commune, "track", id, "--json")
	if rc != 0 {
		t.Fatalf("track: exit %d: %s", rc, errs)
	}
	tracked := decodeJSON[struct {
		Recipients []step `json:"recipients"`
	}](t, out)
	if len(sent) != 1 || sent[0].MessageID != id || len(sent[0].Recipients) != 1 || len(tracked.Recipients) != 1 {
		t.Fatalf("register sent %+v, track %+v", sent, tracked)
	}
	if got, want := sent[0].Recipients[0], tracked.Recipients[0]; got != want || want.Status != "delivered" || want.Agency != district {
		t.Errorf("register sent says %+v, track says %+v; want both delivered", got, want)
	}
}
