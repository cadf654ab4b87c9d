package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// markUnclean clears the clean-shutdown flag of the closed store in dir, as
// a process killed while holding the store open leaves it.
func markUnclean(t *testing.T, dir string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaClean, []byte{0})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// plantBlob writes data at its content address in the closed store in dir,
// as a Commit by a process that died before its Accept leaves it.
func plantBlob(t *testing.T, dir string, data []byte) BlobRef {
	t.Helper()
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	shard := filepath.Join(dir, blobsDir, h[:2])
	if err := os.MkdirAll(shard, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shard, h), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return BlobRef{SHA256: sum, Size: int64(len(data))}
}

// plantTmp writes a file in the closed store's temporary blob directory,
// as a writer that died mid-upload leaves it.
func plantTmp(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, blobsDir, tmpDir, name), []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenCollectsOrphans leaves blobs no document references and
// temporary files behind in several ways, and checks that the next Open
// removes them (temporary files always, orphan blobs when the store was
// not closed cleanly) while referenced blobs survive.
func TestOpenCollectsOrphans(t *testing.T) {
	orphanData := []byte("committed, never accepted")
	for _, tc := range []struct {
		name string
		// leave runs on the open store before Close, afterClose on its
		// directory after; each returns the orphan blob it left, if any.
		leave      func(t *testing.T, s *Store) (orphan *BlobRef)
		afterClose func(t *testing.T, dir string) (orphan *BlobRef)
	}{
		{
			name: "closed cleanly, stray temporary files",
			afterClose: func(t *testing.T, dir string) *BlobRef {
				plantTmp(t, dir, "blob-1234")
				plantTmp(t, dir, ".x")
				return nil
			},
		},
		{
			name: "closed with a committed blob never accepted and an unfinished one",
			leave: func(t *testing.T, s *Store) *BlobRef {
				ref := putBlob(t, s, orphanData)
				w, err := s.NewBlob()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte("unfinished")); err != nil {
					t.Fatal(err)
				}
				return &ref
			},
		},
		{
			name: "killed after a Commit, before its Accept",
			afterClose: func(t *testing.T, dir string) *BlobRef {
				ref := plantBlob(t, dir, orphanData)
				plantTmp(t, dir, "blob-5678")
				markUnclean(t, dir)
				return &ref
			},
		},
		{
			name: "killed, orphan in the shard of a referenced blob",
			afterClose: func(t *testing.T, dir string) *BlobRef {
				kept := sha256.Sum256([]byte("kept"))
				for i := 0; ; i++ {
					data := fmt.Appendf(nil, "orphan %d", i)
					if sha256.Sum256(data)[0] == kept[0] {
						ref := plantBlob(t, dir, data)
						markUnclean(t, dir)
						return &ref
					}
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m1 := accept(t, s, newDoc(t, s, "m1", "s", []string{"A", "B"}, []byte("kept"), []byte("shared")))
			m2 := accept(t, s, newDoc(t, s, "m2", "s", []string{"A"}, []byte("shared")))
			var orphan *BlobRef
			if tc.leave != nil {
				orphan = tc.leave(t, s)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.afterClose != nil {
				orphan = tc.afterClose(t, dir)
			}

			for range 2 { // and once more: the first reopening left nothing to collect
				s = openStore(t, dir, Options{})
				<-s.sweepDone
				if want := (counts{Documents: 2, Pending: 3, Blobs: 2}); countsOf(t, s) != want {
					t.Errorf("counts after reopening = %+v, want %+v", countsOf(t, s), want)
				}
				if orphan != nil {
					_, err := s.OpenBlob(*orphan)
					wantErr(t, err, ErrNotFound)
				}
				for i, want := range []string{"kept", "shared"} {
					if got := readBlob(t, s, m1.Files[i]); string(got) != want {
						t.Errorf("m1 file %d = %q, want %q", i, got, want)
					}
				}
				if got := readBlob(t, s, m2.Files[0]); string(got) != "shared" {
					t.Errorf("m2 file = %q, want %q", got, "shared")
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestSweepInterruptedByCloseResumes closes a store while its background
// sweep of orphans (left by a kill) may still be running: the orphans it
// did not reach must be swept by the next Open, not forgotten.
func TestSweepInterruptedByCloseResumes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := accept(t, s, newDoc(t, s, "m1", "s", []string{"A"}, []byte("kept"))).Files[0]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// One orphan in every shard, so the sweep has many steps to be
	// interrupted between.
	var orphans []BlobRef
	var filled [256]bool
	for i := 0; len(orphans) < 256; i++ {
		data := fmt.Appendf(nil, "orphan %d", i)
		if sum := sha256.Sum256(data); !filled[sum[0]] {
			filled[sum[0]] = true
			orphans = append(orphans, plantBlob(t, dir, data))
		}
	}
	markUnclean(t, dir)

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // at once: the sweep has barely started
		t.Fatal(err)
	}

	s = openStore(t, dir, Options{})
	<-s.sweepDone
	if want := (counts{Documents: 1, Pending: 1, Blobs: 1}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v: orphans left after an interrupted sweep", countsOf(t, s), want)
	}
	if got := readBlob(t, s, kept); string(got) != "kept" {
		t.Errorf("referenced blob = %q", got)
	}
	if n, err := s.SweepBlobs(context.Background()); n != 0 || err != nil {
		t.Errorf("SweepBlobs = %d, %v; want 0, nil", n, err)
	}
}

// TestWritersOutliveClose closes the store under two uploads: one still
// writing, whose Commit must then fail and leave nothing, and one
// committed, whose Accept must then fail; the next Open must hold neither.
func TestWritersOutliveClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writing, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writing.Write([]byte("first half ")); err != nil {
		t.Fatal(err)
	}
	committed := newDoc(t, s, "m1", "s", []string{"A"}, []byte("committed"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if _, err := writing.Write([]byte("second half")); err != nil {
		t.Fatal(err)
	}
	_, err = writing.Commit(context.Background())
	wantErr(t, err, ErrClosed)
	_, _, err = s.Accept(ctx, committed)
	wantErr(t, err, ErrClosed)
	s.DiscardBlobs(committed.Files) // harmless after Close

	entries, err := os.ReadDir(filepath.Join(dir, blobsDir, tmpDir))
	if err != nil || len(entries) != 0 {
		t.Errorf("temporary files after the failed Commit: %v, %v; want none", entries, err)
	}
	s = openStore(t, dir, Options{})
	<-s.sweepDone
	if want := (counts{}); countsOf(t, s) != want {
		t.Errorf("counts after reopening = %+v, want %+v", countsOf(t, s), want)
	}
	_, err = s.Document(ctx, "m1")
	wantErr(t, err, ErrNotFound)
}
