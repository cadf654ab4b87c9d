package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/fsutil"
)

// A crash at any point must not leave a record naming a blob it can lose,
// nor a blob under its address whose bytes it can lose. The test watches
// the blob store's flushes and renames as they happen and checks, at each
// moment that makes something durable:
//   - a rename (the file system may write its journal, and the new name,
//     at any time after it): the file's bytes have been flushed;
//   - a shard directory's flush (its names become durable for sure);
//   - a transaction's commit (its records become durable): every blob it
//     names has had its bytes flushed, and its name flushed after its
//     rename.
//
// Documents are accepted concurrently, some sharing their file's content
// (the commit that finds the blob already there).
func TestBlobDurableBeforeRecord(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	var mu sync.Mutex
	bytesDurable := make(map[[32]byte]bool) // content whose file was flushed
	nameDurable := make(map[string]bool)    // blob names present in a shard directory when it was flushed
	s.blobs.syncData = func(f *os.File) error {
		data, err := os.ReadFile(f.Name())
		if err != nil {
			return err
		}
		if err := fsutil.SyncData(f); err != nil {
			return err
		}
		mu.Lock()
		bytesDurable[sha256.Sum256(data)] = true
		mu.Unlock()
		return nil
	}
	s.blobs.rename = func(from, to string) error {
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		mu.Lock()
		if !bytesDurable[sha256.Sum256(data)] {
			t.Errorf("%s renamed to %s before its bytes were flushed", from, to)
		}
		mu.Unlock()
		return os.Rename(from, to)
	}
	s.blobs.syncDir = func(d *os.File) error {
		// Names present when the flush starts are the ones it covers.
		names, err := readNames(d.Name())
		if err != nil {
			return err
		}
		if err := syncDir(d); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, n := range names {
			b, err := hex.DecodeString(n)
			if err != nil || len(b) != 32 {
				t.Errorf("shard %s holds %q", d.Name(), n)
				continue
			}
			if !bytesDurable[[32]byte(b)] {
				t.Errorf("blob %s: name flushed before its bytes", n)
			}
			nameDurable[n] = true
		}
		return nil
	}
	commits := 0
	s.b.committing = func(tx *bolt.Tx) {
		mu.Lock()
		defer mu.Unlock()
		commits++
		tx.Bucket(bucketBlobRefs).ForEach(func(k, _ []byte) error {
			switch n := hex.EncodeToString(k); {
			case !bytesDurable[[32]byte(k)]:
				t.Errorf("blob %s named by a record committed before its bytes were flushed", n)
			case !nameDurable[n]:
				t.Errorf("blob %s named by a record committed before its name was flushed", n)
			}
			return nil
		})
	}
	const writers, each = 4, 8
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("doc-%d-%d", g, i)
				// Every other document shares its content with the same
				// document of the other writers.
				content := []byte(id)
				if i%2 == 0 {
					content = fmt.Appendf(nil, "shared-%d", i)
				}
				d := newDoc(t, s, id, "durable", []string{"R"}, bytes.Repeat(content, 1000))
				if _, dup, err := s.Accept(context.Background(), d); err != nil || dup {
					t.Errorf("Accept(%s) = dup %v, %v", id, dup, err)
				}
			}
		})
	}
	wg.Wait()
	st := countsOf(t, s)
	if want := writers*each/2 + each/2; st.Documents != writers*each || st.Blobs != want || st.TmpFiles != 0 {
		t.Errorf("counts = %+v, want %d documents, %d blobs, no tmp files", st, writers*each, want)
	}
	if commits == 0 {
		t.Error("no transaction seen committing")
	}
}

// A flush that fails (an I/O error; a crash there leaves what a failure
// leaves, minus the cleanup) fails the commit and leaves neither the
// temporary file nor the blob, nor a pin that would keep it.
func TestBlobCommitFlushFails(t *testing.T) {
	boom := errors.New("injected I/O error")
	for _, step := range []string{"bytes", "name"} {
		t.Run(step, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			switch step {
			case "bytes":
				s.blobs.syncData = func(*os.File) error { return boom }
			case "name":
				s.blobs.syncDir = func(*os.File) error { return boom }
			}
			w, err := s.NewBlob()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("nội dung")); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Commit(context.Background()); !errors.Is(err, boom) {
				t.Fatalf("Commit = %v, want %v", err, boom)
			}
			if st := countsOf(t, s); st.Blobs != 0 || st.TmpFiles != 0 {
				t.Errorf("counts = %+v after a failed commit, want no blob and no tmp file", st)
			}
			for i := range s.blobs.stripes {
				if n := len(s.blobs.stripes[i].pins); n != 0 {
					t.Errorf("stripe %d holds %d pins after a failed commit", i, n)
				}
			}
		})
	}
}
