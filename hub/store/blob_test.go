package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestBlobWriter(t *testing.T) {
	big := make([]byte, 3<<20+17)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		chunk int
	}{
		{"empty", nil, 1},
		{"one byte", []byte{7}, 1},
		{"text in small chunks", []byte("Công văn số 123/UBND-VP"), 5},
		{"3 MiB in 64 KiB chunks", big, 64 << 10},
		{"3 MiB in one write", big, len(big)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{})
			w, err := s.NewBlob()
			if err != nil {
				t.Fatal(err)
			}
			if got := stats(t, s).TmpFiles; got != 1 {
				t.Errorf("TmpFiles while writing = %d, want 1", got)
			}
			for rest := tc.data; len(rest) > 0; {
				n := min(tc.chunk, len(rest))
				if k, err := w.Write(rest[:n]); err != nil || k != n {
					t.Fatalf("Write = %d, %v", k, err)
				}
				rest = rest[n:]
			}
			want := sha256.Sum256(tc.data)
			if w.Size() != int64(len(tc.data)) || w.Sum() != want {
				t.Errorf("before Commit: Size %d Sum %x, want %d %x", w.Size(), w.Sum(), len(tc.data), want)
			}
			ref, err := w.Commit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ref != (BlobRef{SHA256: want, Size: int64(len(tc.data))}) {
				t.Errorf("Commit = %+v, want sha %x size %d", ref, want, len(tc.data))
			}
			h := hex.EncodeToString(want[:])
			onDisk, err := os.ReadFile(filepath.Join(dir, "blobs", h[:2], h))
			if err != nil || !bytes.Equal(onDisk, tc.data) {
				t.Errorf("blob file: %v, contents equal %v", err, bytes.Equal(onDisk, tc.data))
			}
			if got := readBlob(t, s, ref); !bytes.Equal(got, tc.data) {
				t.Error("OpenBlob returned other bytes")
			}
			if want := (counts{Blobs: 1}); countsOf(t, s) != want {
				t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("Abort after Commit = %v, want nil", err)
			}
			if _, err := s.OpenBlob(ref); err != nil {
				t.Errorf("Abort after Commit removed the blob: %v", err)
			}
		})
	}
}

func TestBlobDedup(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	r1 := putBlob(t, s, []byte("same bytes"))
	r2 := putBlob(t, s, []byte("same bytes"))
	if r1 != r2 {
		t.Fatalf("refs differ: %+v %+v", r1, r2)
	}
	if want := (counts{Blobs: 1}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
	// Each Commit pinned it: the first release keeps it for the other writer.
	s.DiscardBlobs([]BlobRef{r1})
	if got := readBlob(t, s, r2); string(got) != "same bytes" {
		t.Errorf("blob = %q after the first discard", got)
	}
	s.DiscardBlobs([]BlobRef{r2})
	if _, err := s.OpenBlob(r2); err == nil {
		t.Error("blob still there after both writers discarded it")
	} else {
		wantErr(t, err, ErrNotFound)
	}
}

func TestBlobAbort(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	w, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("half a file")); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if want := (counts{}); countsOf(t, s) != want {
		t.Errorf("counts after Abort = %+v, want %+v", countsOf(t, s), want)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort = %v", err)
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if _, err := w.Commit(context.Background()); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if want := (counts{}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
}

func TestDiscardBlobs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// run stores what it needs, then discards; it returns the ref whose
		// file is checked and whether it must remain.
		run      func(t *testing.T, s *Store) (BlobRef, bool)
		wantBlob int // blob files at the end
	}{
		{"unreferenced is deleted", func(t *testing.T, s *Store) (BlobRef, bool) {
			r := putBlob(t, s, []byte("x"))
			s.DiscardBlobs([]BlobRef{r})
			return r, false
		}, 0},
		{"referenced by a stored document is kept", func(t *testing.T, s *Store) (BlobRef, bool) {
			accept(t, s, newDoc(t, s, "m1", "s", []string{"A"}, []byte("x")))
			r := putBlob(t, s, []byte("x")) // a second sender uploads the same bytes...
			s.DiscardBlobs([]BlobRef{r})    // ...and is refused
			return r, true
		}, 1},
		{"pinned by a concurrent writer is kept", func(t *testing.T, s *Store) (BlobRef, bool) {
			refused := putBlob(t, s, []byte("x"))
			d := newDoc(t, s, "m1", "s", []string{"A"}, []byte("x")) // still uploading
			s.DiscardBlobs([]BlobRef{refused})
			if _, err := s.OpenBlob(refused); err != nil {
				t.Fatalf("pinned blob removed: %v", err)
			}
			accept(t, s, d)
			return refused, true
		}, 1},
		{"two refused senders of the same bytes leave nothing", func(t *testing.T, s *Store) (BlobRef, bool) {
			r1, r2 := putBlob(t, s, []byte("x")), putBlob(t, s, []byte("x"))
			s.DiscardBlobs([]BlobRef{r1})
			s.DiscardBlobs([]BlobRef{r2})
			return r1, false
		}, 0},
		{"one document, the same file twice", func(t *testing.T, s *Store) (BlobRef, bool) {
			r1, r2 := putBlob(t, s, []byte("x")), putBlob(t, s, []byte("x"))
			s.DiscardBlobs([]BlobRef{r1, r2})
			return r1, false
		}, 0},
		{"unpinned and unreferenced is deleted", func(t *testing.T, s *Store) (BlobRef, bool) {
			r := putBlob(t, s, []byte("x"))
			s.DiscardBlobs([]BlobRef{r})
			s.DiscardBlobs([]BlobRef{r}) // a release too many harms nothing
			return r, false
		}, 0},
		{"a conflicting Accept leaves no new blob", func(t *testing.T, s *Store) (BlobRef, bool) {
			accept(t, s, newDoc(t, s, "m1", "original", []string{"A"}, []byte("x")))
			d := newDoc(t, s, "m1", "changed", []string{"A"}, []byte("y"))
			_, _, err := s.Accept(ctx, d)
			wantErr(t, err, ErrConflict)
			return d.Files[0], false
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			ref, keep := tc.run(t, s)
			_, err := s.OpenBlob(ref)
			if keep && err != nil {
				t.Errorf("blob removed: %v", err)
			}
			if !keep {
				wantErr(t, err, ErrNotFound)
			}
			if st := countsOf(t, s); st.Blobs != tc.wantBlob || st.TmpFiles != 0 {
				t.Errorf("counts = %+v, want %d blobs, no tmp files", st, tc.wantBlob)
			}
		})
	}
}

// TestSweepAfterUncleanShutdown leaves an orphan blob (committed, never
// accepted) and a temporary file, closes with the blob still pinned, and
// checks that reopening removes both and nothing else.
func TestSweepAfterUncleanShutdown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := accept(t, s, newDoc(t, s, "m1", "s", []string{"A"}, []byte("stored"))).Files[0]
	orphan := putBlob(t, s, []byte("orphan"))
	w, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("unfinished")); err != nil {
		t.Fatal(err)
	}
	if want := (counts{Documents: 1, Pending: 1, Blobs: 2, TmpFiles: 1}); countsOf(t, s) != want {
		t.Fatalf("counts = %+v, want %+v", countsOf(t, s), want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, Options{})
	<-s.sweepDone // the background sweep
	if want := (counts{Documents: 1, Pending: 1, Blobs: 1}); countsOf(t, s) != want {
		t.Errorf("counts after reopening = %+v, want %+v", countsOf(t, s), want)
	}
	_, err = s.OpenBlob(orphan)
	wantErr(t, err, ErrNotFound)
	if got := readBlob(t, s, kept); string(got) != "stored" {
		t.Errorf("stored blob = %q", got)
	}
	if n, err := s.SweepBlobs(ctx); n != 0 || err != nil {
		t.Errorf("SweepBlobs = %d, %v; want 0, nil", n, err)
	}

	// A sweep leaves blobs that writers pin.
	pinned := putBlob(t, s, []byte("in flight"))
	if n, err := s.SweepBlobs(ctx); n != 0 || err != nil {
		t.Errorf("SweepBlobs = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.OpenBlob(pinned); err != nil {
		t.Errorf("sweep removed a pinned blob: %v", err)
	}
}
