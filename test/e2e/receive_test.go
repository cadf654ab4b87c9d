package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lienthong/lienthong/internal/fsutil"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
)

// The node reads documents ahead while earlier ones are flushed and
// acknowledged in batches. A clerk's register failing on one document
// (OnStored) must still leave exactly the documents before it
// acknowledged, that one and all later ones pending, with the callbacks
// called one at a time in stream order; the next receive gets the rest,
// nothing twice, and leaves no half-written folder.
func TestReceiveAheadStopsAtRegisterFailure(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	pdf, sum := writePDF(t, dir, commune, "cv.pdf", samplepdf.Options{Title: "Cong van", PadBytes: 40 << 10})
	sender := client(t, h.Addr(), dir, commune)
	const docs, failAt = 30, 10
	sent := map[string]bool{}
	for i := range docs {
		res, err := sender.Send(ctx, node.Document{Recipients: []string{district}, Number: fmt.Sprint(i + 1),
			Notation: "UBND-VP", Subject: "Nhận trước", Files: []node.File{{Path: pdf, Name: "cv.pdf"}}}, nil)
		must(t, err)
		sent[res.MessageID] = true
	}

	rcv := client(t, h.Addr(), dir, district)
	out := filepath.Join(t.TempDir(), "in")
	registerDown := errors.New("register unavailable")
	var inCallback atomic.Bool
	enter := func() func() {
		if !inCallback.CompareAndSwap(false, true) {
			t.Error("two callbacks ran at once")
		}
		return func() { inCallback.Store(false) }
	}
	var stored, acked []string
	err := rcv.ReceiveInto(ctx, out, node.ReceiveOptions{OnStored: func(r *node.Received) error {
		defer enter()()
		if _, err := os.Stat(filepath.Join(r.Dir, node.DeliveryFile)); err != nil {
			t.Errorf("OnStored(%s) before its folder is in place: %v", r.MessageID, err)
		}
		stored = append(stored, r.MessageID)
		if len(stored) == failAt {
			return registerDown
		}
		return nil
	}}, func(r *node.Received) error {
		defer enter()()
		if r.Delivered == nil {
			t.Errorf("%s handed over without its delivered receipt", r.MessageID)
		}
		acked = append(acked, r.MessageID)
		return nil
	})
	if !errors.Is(err, registerDown) {
		t.Fatalf("ReceiveInto = %v, want the OnStored error", err)
	}
	if len(stored) != failAt || !slices.Equal(acked, stored[:failAt-1]) {
		t.Fatalf("stored %d %v, acknowledged %v: want the %d before the failure acknowledged, in order", len(stored), stored, acked, failAt-1)
	}

	var again []string
	must(t, rcv.ReceiveInto(ctx, out, node.ReceiveOptions{}, func(r *node.Received) error {
		again = append(again, r.MessageID)
		if r.MessageID == stored[failAt-1] && !r.Duplicate {
			t.Errorf("%s was stored before and should come back as a duplicate", r.MessageID)
		}
		if got := fileSHA256(t, r.Files[0]); got != sum {
			t.Errorf("%s: file sha256 %s, want %s", r.MessageID, got, sum)
		}
		return nil
	}))
	var want []string
	for id := range sent {
		if !slices.Contains(acked, id) {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(again)); !slices.Equal(got, want) {
		t.Fatalf("second receive got %d %v, want the %d not acknowledged %v", len(got), got, len(want), want)
	}
	entries, err := os.ReadDir(out)
	must(t, err)
	var folders []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".partial-") {
			t.Errorf("half-written folder %s left in the inbox", e.Name())
		}
		folders = append(folders, e.Name())
	}
	if len(folders) != docs {
		t.Errorf("inbox holds %d folders, want %d", len(folders), docs)
	}
	var none int
	must(t, rcv.ReceiveInto(ctx, out, node.ReceiveOptions{}, func(*node.Received) error { none++; return nil }))
	if none != 0 {
		t.Errorf("a third receive got %d documents, want none", none)
	}
}

// A group sync handed to ReceiveInto must flush the inbox's own file
// system; one for another would acknowledge documents that are not
// durable, so ReceiveInto refuses before receiving anything.
func TestReceiveRefusesSyncOfOtherFileSystem(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "lienthong-test-")
	if err != nil {
		t.Skipf("needs a tmpfs at /dev/shm: %v", err)
	}
	defer os.RemoveAll(shm)
	gs, err := fsutil.NewGroupSync(shm)
	must(t, err)
	defer gs.Close()
	out := filepath.Join(t.TempDir(), "in")
	must(t, os.MkdirAll(out, 0o755))
	if gs.Covers(out) == nil {
		t.Skip("/dev/shm and the test's temporary directory are on one file system")
	}

	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	pdf, _ := writePDF(t, dir, commune, "cv.pdf", samplepdf.Options{Title: "Cong van"})
	_, err = client(t, h.Addr(), dir, commune).Send(ctx, node.Document{Recipients: []string{district}, Number: "1",
		Notation: "UBND-VP", Subject: "Sai ổ đĩa", Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)
	rcv := client(t, h.Addr(), dir, district)
	err = rcv.ReceiveInto(ctx, out, node.ReceiveOptions{Sync: gs}, nil)
	if !errors.Is(err, fsutil.ErrOtherFileSystem) {
		t.Fatalf("ReceiveInto with a sync of /dev/shm = %v, want ErrOtherFileSystem", err)
	}
	var got int
	must(t, rcv.ReceiveInto(ctx, out, node.ReceiveOptions{}, func(*node.Received) error { got++; return nil }))
	if got != 1 {
		t.Errorf("after the refusal %d documents were pending, want 1", got)
	}
}
