package store

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/audit"
)

func exportAudit(t *testing.T, s *Store) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.ExportAudit(context.Background(), time.Time{}, time.Time{}, &buf); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(buf.String()), "\n")
}

// The store writes an entry with each change, in the same transaction:
// an accepted document and an acknowledgement are recorded; a conflicting
// re-send or a duplicate changes nothing and records nothing.
func TestAuditEntriesWithChanges(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	accept(t, s, newDoc(t, s, "m1", "x", []string{"R"}, []byte("a")))
	if _, dup, err := s.Accept(ctx, newDoc(t, s, "m1", "x", []string{"R"}, []byte("a"))); err != nil || !dup {
		t.Fatalf("duplicate: %v %v", dup, err)
	}
	if _, _, err := s.Accept(ctx, newDoc(t, s, "m1", "other", []string{"R"}, []byte("b"))); err == nil {
		t.Fatal("conflict accepted")
	}
	if _, err := s.Ack(ctx, "R", "m1", deliveredReceipt(t, "m1", "R", time.Now())); err != nil {
		t.Fatal(err)
	}
	lines := exportAudit(t, s)
	if len(lines) != 2 || !strings.Contains(lines[0], `"kind":"accepted","actor":"S","subject":"m1"`) ||
		!strings.Contains(lines[1], `"kind":"acknowledged","actor":"R","subject":"m1"`) {
		t.Fatalf("audit log:\n%s", strings.Join(lines, "\n"))
	}
	res, err := s.VerifyAudit(ctx, audit.VerifyOptions{})
	if err != nil || res.Broken != nil || res.Entries != 2 {
		t.Fatalf("verify: %+v %v", res, err)
	}
}

// A flood of notes is bounded: past maxNotes waiting, notes are counted
// per kind in one "dropped" entry; none is lost without a trace.
func TestAuditNotesBounded(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	const n = 3 * maxNotes
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 4 {
				s.Note(audit.Entry{Kind: audit.KindRefused, Actor: "A", Subject: fmt.Sprint(w, i)})
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil { // commits what is queued
		t.Fatal(err)
	}
	s = openStore(t, s.dir, Options{})
	recorded, dropped := 0, 0
	count := regexp.MustCompile(`"detail":"(\d+) `)
	for _, l := range exportAudit(t, s) {
		switch {
		case strings.Contains(l, `"kind":"refused"`):
			recorded++
		case strings.Contains(l, `"kind":"dropped"`):
			m := count.FindStringSubmatch(l)
			c, _ := strconv.Atoi(m[1])
			dropped += c
		}
	}
	if recorded+dropped != n {
		t.Fatalf("%d recorded + %d counted as dropped, want %d", recorded, dropped, n)
	}
	t.Logf("%d notes: %d recorded one by one, %d counted", n, recorded, dropped)
}
