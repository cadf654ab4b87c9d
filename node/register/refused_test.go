package register

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Refuse takes a document out of the outbox, copies and all, and keeps
// what was sent and why the hub refused it.
func TestRefuse(t *testing.T) {
	r, c, _ := openTest(t)
	signed, paths := signedDoc(t, newEnv("m1", "12", "Kế hoạch", "", district), "a")
	_, err := r.Queue(signed, paths)
	must(t, err)
	c.t = c.t.Add(time.Minute)
	ref, err := r.Refuse("m1", "chưa ký số [FailedPrecondition]")
	must(t, err)
	if ref.MessageID != "m1" || ref.Number != "12" || ref.Subject != "Kế hoạch" || len(ref.Recipients) != 1 ||
		!ref.RefusedAt.Equal(c.t) || ref.Reason != "chưa ký số [FailedPrecondition]" {
		t.Errorf("Refuse = %+v", ref)
	}
	if ids := outboxIDs(t, r); len(ids) != 0 {
		t.Errorf("outbox still holds %v", ids)
	}
	if _, err := os.Stat(filepath.Join(r.OutboxDir(), "m1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("outbox copies: %v", err)
	}
	for _, tt := range []struct {
		search string
		n      int
	}{{"", 1}, {"ke hoach", 1}, {"chua ky", 1}, {district, 1}, {"khác", 0}} {
		list, err := r.RefusedList(Query{Search: tt.search})
		must(t, err)
		if len(list) != tt.n {
			t.Errorf("RefusedList(%q) = %d entries, want %d", tt.search, len(list), tt.n)
		}
	}
	if _, err := r.Refuse("m1", "again"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Refuse of a document not in the outbox: %v", err)
	}
}

// The directory's copy survives reopening; a register that never had one
// gives an empty one.
func TestDirectoryCache(t *testing.T) {
	r, c, path := openTest(t)
	d, err := r.Directory()
	must(t, err)
	if len(d.Agencies) != 0 || !d.FetchedAt.IsZero() {
		t.Fatalf("empty register's directory %+v", d)
	}
	must(t, r.SaveDirectory([]Agency{{Code: district, Name: "UBND huyện Đông Sơn", Kind: "district", Active: true}}))
	r2, err := Open(path, Options{Now: c.now})
	must(t, err)
	d, err = r2.Directory()
	must(t, err)
	if len(d.Agencies) != 1 || d.Agencies[0].Name != "UBND huyện Đông Sơn" || !d.FetchedAt.Equal(c.t) {
		t.Errorf("directory after reopening %+v", d)
	}
}

// Today is the date in Vietnam, whatever the machine's zone: at 18:00 UTC
// it is already the next day there.
func TestTodayInVietnam(t *testing.T) {
	r, c, _ := openTest(t)
	c.t = time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)
	if got := r.Today(); got != "2027-01-01" {
		t.Errorf("Today = %s, want 2027-01-01", got)
	}
}
