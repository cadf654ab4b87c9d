package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong"
)

// With MustExist, Open neither creates a database nor its directory.
func TestOpenMustExist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := Open(dir, Options{MustExist: true})
	wantErr(t, err, ErrNoStore)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists after a refused Open: %v", dir, err)
	}
}

// damagedStore returns the directory of a closed store holding enough
// documents for the docs bucket's root to be a branch page, that page
// overwritten with garbage, and the ids stored.
func damagedStore(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("doc-%02d", i)
		accept(t, s, newDoc(t, s, id, strings.Repeat("trích yếu ", 100), []string{"R"}, []byte(id)))
		ids = append(ids, id)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	var root int64
	err = db.View(func(tx *bolt.Tx) error {
		root = int64(tx.Bucket(bucketDocs).Root())
		if p, err := tx.Page(int(root)); err != nil || p == nil || p.Type != "branch" {
			return fmt.Errorf("docs root page %d: %+v, %v; want a branch page", root, p, err)
		}
		return nil
	})
	pageSize := int64(db.Info().PageSize)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(pageSize)), root*pageSize); err != nil {
		t.Fatal(err)
	}
	return dir, ids
}

// Open runs bbolt's check within its size bound and refuses a damaged
// database; outside the bound it opens, and the first read of the damaged
// page fails (Unavailable, ErrDamaged) instead of panicking, after which
// writes are refused while other reads go on.
func TestDamagedDatabase(t *testing.T) {
	dir, ids := damagedStore(t)
	for _, opts := range []Options{{}, {CheckUpTo: math.MaxInt64}} {
		if _, err := Open(dir, opts); !errors.Is(err, ErrDamaged) {
			t.Fatalf("Open(%+v) = %v, want ErrDamaged", opts, err)
		}
	}
	s := openStore(t, dir, Options{CheckUpTo: -1})
	_, err := s.Document(context.Background(), ids[0])
	if !errors.Is(err, ErrDamaged) || lienthong.ErrorKind(err) != lienthong.KindUnavailable {
		t.Fatalf("Document on a damaged page = %v (kind %d), want ErrDamaged, KindUnavailable", err, lienthong.ErrorKind(err))
	}
	if _, err := s.Agencies(context.Background()); err != nil {
		t.Fatalf("Agencies (not damaged) = %v", err)
	}
	_, _, err = s.Accept(context.Background(), newDoc(t, s, "after", "x", []string{"R"}, []byte("after")))
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Accept after the damage = %v, want ErrDamaged", err)
	}
}

// Open refuses a database whose header (both meta pages) is damaged.
func TestDamagedHeader(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dbFile), bytes.Repeat([]byte{0xA5}, 4*4096), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{})
	wantErr(t, err, ErrDamaged)
}

// A full disk (ENOSPC, EDQUOT) is KindDiskFull; other errors keep theirs.
func TestDiskFullKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want lienthong.Kind
	}{
		{fmt.Errorf("writing: %w", syscall.ENOSPC), lienthong.KindDiskFull},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}, lienthong.KindDiskFull},
		{fmt.Errorf("writing: %w", syscall.EIO), lienthong.KindInternal},
		{lienthong.Errorf(lienthong.KindInvalid, "bad"), lienthong.KindInvalid},
	} {
		err := diskFull(tc.err)
		if got := lienthong.ErrorKind(err); got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("diskFull(%v): kind %d, want %d (still wrapping the cause: %v)", tc.err, got, tc.want, errors.Is(err, tc.err))
		}
	}
}

// A panic of the store's own code (a bug met by one request) fails that
// request only: the store is not marked damaged and goes on writing.
func TestOwnPanicIsNotDamage(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	if err := s.view(ctx, func(*bolt.Tx) error { panic("bug") }); err == nil || errors.Is(err, ErrDamaged) {
		t.Fatalf("panicking read = %v, want a plain error", err)
	}
	if err := s.update(ctx, func(*bolt.Tx) error { panic("bug") }); err == nil || errors.Is(err, ErrDamaged) {
		t.Fatalf("panicking write = %v, want a plain error", err)
	}
	accept(t, s, newDoc(t, s, "after", "x", []string{"R"}, []byte("after")))
}
