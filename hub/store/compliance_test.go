package store

import (
	"context"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/hub/compliance"
)

// editDB changes the database of a closed store directly, as a bug or a
// partial restore might.
func editDB(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(dir+"/"+dbFile, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func yearReport(t *testing.T, s *Store, agencies int) *compliance.Report {
	t.Helper()
	rep, err := compliance.Build(context.Background(), s, yearAgencyList(agencies), compliance.YearPeriod(2026),
		compliance.Options{Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckCountersFindsAndRepairsDrift(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth := loadYear(t, s, yearAgencyList(20), 500, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// One counter record inflated, one register lost.
	editDB(t, dir, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCounters)
		k, v := c.Cursor().First()
		counts, err := compliance.DecodeCounts(v)
		if err != nil {
			return err
		}
		counts.Electronic += 5
		if err := c.Put(append([]byte(nil), k...), counts.Encode()); err != nil {
			return err
		}
		n := tx.Bucket(bucketNumbering)
		k, _ = n.Cursor().First()
		return n.Delete(append([]byte(nil), k...))
	})
	s = openStore(t, dir, Options{})
	ctx := context.Background()
	check, err := s.CheckCounters(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(check.Differences) != 2 || check.Rebuilt ||
		!strings.HasPrefix(check.Differences[0], "counters ") || !strings.Contains(check.Differences[0], "≠ recounted") ||
		!strings.HasPrefix(check.Differences[1], "numbering ") || !strings.HasSuffix(check.Differences[1], "recounted, not stored") {
		t.Fatalf("check found %q (rebuilt %v)", check.Differences, check.Rebuilt)
	}
	rebuilt, err := s.CheckCounters(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !rebuilt.Rebuilt || len(rebuilt.Differences) != 2 {
		t.Fatalf("rebuild: %+v", rebuilt)
	}
	again, err := s.CheckCounters(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Differences) != 0 || again.Records != check.Records {
		t.Fatalf("after rebuild: %d records (had %d), differences %q", again.Records, check.Records, again.Differences)
	}
	checkYear(t, yearReport(t, s, 20), truth)
}

// TestMigrationCountsStoredDocuments opens a store of layout version 1
// (no compliance counters): opening it counts what it holds.
func TestMigrationCountsStoredDocuments(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth := loadYear(t, s, yearAgencyList(20), 400, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	editDB(t, dir, func(tx *bolt.Tx) error {
		for _, name := range derivedBuckets() {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaVersion, putUint64(1))
	})
	s = openStore(t, dir, Options{})
	checkYear(t, yearReport(t, s, 20), truth)
	check, err := s.CheckCounters(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(check.Differences) != 0 {
		t.Fatalf("after migration: %q", check.Differences)
	}
}

// TestDeclare covers the store's declaration rules: a repeat is a
// duplicate, another channel for the same number and notation is
// refused, and so is a number sent electronically.
func TestDeclare(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	agencies := yearAgencyList(3)
	loadYear(t, s, agencies[:1], 1, 9) // the province sends number 1 (notation UBND-VP)
	day, _ := compliance.ParseDay("2026-05-04")
	decl := func(ch compliance.Channel, number uint32, notation string) *compliance.Declaration {
		return &compliance.Declaration{Agency: agencies[0].GetCode(), Channel: ch, Number: number, Notation: notation, IssueDate: day, DeclaredAt: t0}
	}
	cases := []struct {
		name    string
		decl    *compliance.Declaration
		dup     bool
		wantErr error
	}{
		{"paper", decl(compliance.ChannelPaper, 2, "QĐ-UBND"), false, nil},
		{"same again", decl(compliance.ChannelPaper, 2, "QĐ-UBND"), true, nil},
		{"same number as secret", decl(compliance.ChannelSecret, 2, "QĐ-UBND"), false, ErrDeclaredOtherwise},
		{"same number, other notation", decl(compliance.ChannelSecret, 2, "UBND-VP"), false, nil},
		{"sent electronically", decl(compliance.ChannelPaper, 1, "UBND-VP"), false, ErrSentElectronically},
	}
	for _, tc := range cases {
		dup, err := s.Declare(ctx, tc.decl)
		if tc.wantErr != nil {
			wantErr(t, err, tc.wantErr)
			continue
		}
		if err != nil || dup != tc.dup {
			t.Errorf("%s: duplicate=%v err=%v, want duplicate=%v", tc.name, dup, err, tc.dup)
		}
	}
	rep := yearReport(t, s, 3)
	if p := rep.Agencies[0]; p.Paper != 1 || p.Secret != 1 || p.Electronic != 1 || len(p.Gaps) != 0 {
		t.Errorf("province after declarations: %+v", p)
	}
}
