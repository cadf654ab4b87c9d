package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/fsutil"

	bolt "go.etcd.io/bbolt"
)

// BlobRef names a blob: the SHA-256 and size of its bytes.
type BlobRef struct {
	SHA256 [32]byte
	Size   int64
}

// String returns the blob's SHA-256 in hex.
func (r BlobRef) String() string { return hex.EncodeToString(r.SHA256[:]) }

// blobDir holds content-addressed files, blobs/<hex[0:2]>/<hex>, and
// blobs/tmp for files being written.
//
// A blob committed but not yet named by a stored document is pinned (a
// count per SHA-256, one per BlobWriter.Commit) until Accept or
// DiscardBlobs releases it. A stripe's mutex serializes everything that
// creates or removes a blob file of its shard with the pin counts, so a
// blob is removed only when no writer pins it and no document references
// it, and a writer never takes a file that is being removed for its own.
// One stripe per shard (first byte of the SHA-256): writers of different
// blobs rarely wait for each other.
type blobDir struct {
	root string
	tmp  string

	stripes [256]blobStripe
	// closed is set with every stripe locked, so a stripe's holder sees
	// it as of its lock.
	closed atomic.Bool

	// dirs[b] is the open shard directory for first byte b, set once its
	// entry in root is durable; its fsync makes a rename into it durable.
	// Kept open so that a commit does not open it again.
	dirs [256]atomic.Pointer[os.File]
	// dirsMu serializes opening shard directories.
	dirsMu sync.Mutex

	// syncData and syncDir are the flushes of a blob's bytes and of its
	// shard directory, rename gives it its name; replaced in tests to
	// watch their order.
	syncData func(*os.File) error
	syncDir  func(*os.File) error
	rename   func(from, to string) error
}

// blobStripe guards the pins of one shard.
type blobStripe struct {
	mu   sync.Mutex
	pins map[[32]byte]int
}

func (d *blobDir) stripe(sum [32]byte) *blobStripe { return &d.stripes[sum[0]] }

const tmpDir = "tmp"

func openBlobDir(root string) (*blobDir, error) {
	d := &blobDir{root: root, tmp: filepath.Join(root, tmpDir), syncData: fsutil.SyncData, syncDir: syncDir, rename: os.Rename}
	for i := range d.stripes {
		d.stripes[i].pins = make(map[[32]byte]int)
	}
	if err := os.MkdirAll(d.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("creating blob directory: %w", err)
	}
	// Nobody else has the database open, so whatever is in tmp was left by
	// a writer that died.
	names, err := readNames(d.tmp)
	if err != nil {
		return nil, fmt.Errorf("listing unfinished blobs: %w", err)
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(d.tmp, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing unfinished blob: %w", err)
		}
	}
	shards, err := d.shards()
	if err != nil {
		return nil, err
	}
	for _, sh := range shards {
		b, _ := hex.DecodeString(sh)
		f, err := os.Open(filepath.Join(root, sh))
		if err != nil {
			d.closeDirs()
			return nil, fmt.Errorf("opening blob directory: %w", err)
		}
		d.dirs[b[0]].Store(f) // Open syncs root before any blob is committed
	}
	return d, nil
}

// syncDir fsyncs an open directory.
func syncDir(d *os.File) error {
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", d.Name(), err)
	}
	return nil
}

// closeDirs closes the shard directories. A commit still running then
// fails its flush with os.ErrClosed (os.File guards a descriptor in use).
func (d *blobDir) closeDirs() {
	d.dirsMu.Lock()
	defer d.dirsMu.Unlock()
	for i := range d.dirs {
		if f := d.dirs[i].Swap(nil); f != nil {
			f.Close()
		}
	}
}

func (d *blobDir) shardDir(sum [32]byte) string {
	return filepath.Join(d.root, hex.EncodeToString(sum[:1]))
}

func (d *blobDir) path(sum [32]byte) string {
	return filepath.Join(d.shardDir(sum), hex.EncodeToString(sum[:]))
}

// shardOf returns the open shard directory of sum, creating it and making
// its entry durable first if need be.
func (d *blobDir) shardOf(sum [32]byte) (*os.File, error) {
	if f := d.dirs[sum[0]].Load(); f != nil {
		return f, nil
	}
	d.dirsMu.Lock()
	defer d.dirsMu.Unlock()
	if f := d.dirs[sum[0]].Load(); f != nil {
		return f, nil
	}
	if d.closed.Load() {
		return nil, ErrClosed
	}
	if err := os.Mkdir(d.shardDir(sum), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating blob directory: %w", err)
	}
	if err := fsutil.SyncDir(d.root); err != nil {
		return nil, err
	}
	f, err := os.Open(d.shardDir(sum))
	if err != nil {
		return nil, fmt.Errorf("opening blob directory: %w", err)
	}
	d.dirs[sum[0]].Store(f)
	return f, nil
}

// shards lists the shard directories' names.
func (d *blobDir) shards() ([]string, error) {
	names, err := readNames(d.root)
	if err != nil {
		return nil, fmt.Errorf("listing blob directory: %w", err)
	}
	out := names[:0]
	for _, n := range names {
		if b, err := hex.DecodeString(n); err == nil && len(b) == 1 && hex.EncodeToString(b) == n {
			out = append(out, n)
		}
	}
	return out, nil
}

// close refuses new blobs and reports whether any are still pinned.
func (d *blobDir) close() (pinned bool) {
	for i := range d.stripes {
		d.stripes[i].mu.Lock()
	}
	d.closed.Store(true)
	for i := range d.stripes {
		pinned = pinned || len(d.stripes[i].pins) > 0
		d.stripes[i].mu.Unlock()
	}
	return pinned
}

// count returns the number of blob files and of temporary files.
func (d *blobDir) count() (blobs, tmp int, err error) {
	shards, err := d.shards()
	if err != nil {
		return 0, 0, err
	}
	for _, sh := range shards {
		names, err := readNames(filepath.Join(d.root, sh))
		if err != nil {
			return 0, 0, fmt.Errorf("counting blobs: %w", err)
		}
		blobs += len(names)
	}
	names, err := readNames(d.tmp)
	if err != nil {
		return 0, 0, fmt.Errorf("counting unfinished blobs: %w", err)
	}
	return blobs, len(names), nil
}

// BlobWriter streams one file into the blob store, hashing as it writes.
// It is not safe for concurrent use.
type BlobWriter struct {
	s    *Store
	f    *os.File
	h    hash.Hash
	n    int64
	done bool
}

// NewBlob starts a blob in a temporary file under dir/blobs/tmp. The
// caller must end it with Commit or Abort.
func (s *Store) NewBlob() (*BlobWriter, error) {
	if s.blobs.closed.Load() {
		return nil, fmt.Errorf("creating blob: %w", ErrClosed)
	}
	f, err := os.CreateTemp(s.blobs.tmp, "blob-*")
	if err != nil {
		return nil, fmt.Errorf("creating blob: %w", diskFull(err))
	}
	return &BlobWriter{s: s, f: f, h: sha256.New()}, nil
}

// Write appends p to the blob.
func (w *BlobWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("writing blob: already committed or aborted")
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing blob: %w", diskFull(err))
	}
	return n, nil
}

// Size returns the number of bytes written.
func (w *BlobWriter) Size() int64 { return w.n }

// Sum returns the SHA-256 of the bytes written so far.
func (w *BlobWriter) Sum() [32]byte {
	var s [32]byte
	w.h.Sum(s[:0])
	return s
}

// OpenWritten opens the bytes written so far for reading, before Commit
// makes them durable: the hub checks a document's signatures from them,
// so a document it refuses costs no flush. The file holds every byte
// Write has accepted (a buffer in the writer would have to be written
// out first); it stays readable after Commit renames or Abort removes
// it, and the caller closes it.
func (w *BlobWriter) OpenWritten() (*os.File, error) {
	if w.done {
		return nil, errors.New("opening blob being written: already committed or aborted")
	}
	f, err := os.Open(w.f.Name())
	if err != nil {
		return nil, fmt.Errorf("opening blob being written: %w", err)
	}
	return f, nil
}

// Commit makes the blob durable under its content address: it flushes the
// file's bytes, renames it to dir/blobs/<hex[0:2]>/<hex> (or, if that blob
// exists, drops the temporary file) and flushes the shard directory. The
// blob is pinned until Accept or DiscardBlobs releases it. On error
// nothing is left behind.
//
// The order is what a crash at any point needs. The bytes are on disk
// before the name: a blob found under its address is trusted, never hashed
// again. The name is on disk before Commit returns, and so before the
// transaction of a document naming it can even start: a record never
// points to a blob a crash can lose. Overlapping the directory's flush
// with the group commit would not keep this: bbolt writes and flushes its
// pages and then its meta page within tx.Commit, with no point to wait at
// in between, and the flush of the database file does not carry the
// rename with it (an fdatasync of pages overwritten in place needs no
// journal commit), so the record could reach the disk and the name not.
// A crash before the name is durable leaves a temporary file (removed by
// Open) or an unreferenced blob (swept after the unclean shutdown); the
// sender, never acknowledged, sends again.
//
// Each flush covers this blob alone (fdatasync of the file, fsync of its
// directory), not the whole file system: a syncfs would also write back
// and wait for whatever else is dirty on the disk (the receivers' files in
// the benchmark, other programs), which made its time vary with their
// writes. Concurrent commits share the file system's journal commits.
func (w *BlobWriter) Commit(ctx context.Context) (BlobRef, error) {
	if w.done {
		return BlobRef{}, errors.New("committing blob: already committed or aborted")
	}
	w.done = true
	start := time.Now()
	d := w.s.blobs
	ref := BlobRef{SHA256: w.Sum(), Size: w.n}
	tmp := w.f.Name()
	fail := func(err error) (BlobRef, error) {
		os.Remove(tmp)
		if d.closed.Load() { // Close closed the shard directory under the flush
			err = ErrClosed
		}
		return BlobRef{}, fmt.Errorf("committing blob %s: %w", ref, diskFull(err))
	}
	if err := ctx.Err(); err != nil {
		w.f.Close()
		return fail(err)
	}
	if err := w.flush(d.syncData, w.f); err != nil {
		w.f.Close()
		return fail(err)
	}
	if err := w.f.Close(); err != nil {
		return fail(err)
	}
	shard, err := d.shardOf(ref.SHA256)
	if err != nil {
		return fail(err)
	}
	final := d.path(ref.SHA256)
	st := d.stripe(ref.SHA256)
	st.mu.Lock()
	if d.closed.Load() {
		st.mu.Unlock()
		return fail(ErrClosed)
	}
	_, err = os.Lstat(final)
	switch {
	case err == nil:
		// Same content, already stored or being stored: share it, and
		// drop the copy once the stripe is free.
		defer func() {
			if err := os.Remove(tmp); err != nil {
				w.s.log.Warn("removing duplicate blob", "path", tmp, "err", err)
			}
		}()
	case errors.Is(err, fs.ErrNotExist):
		if err := d.rename(tmp, final); err != nil {
			st.mu.Unlock()
			return fail(err)
		}
	default:
		st.mu.Unlock()
		return fail(err)
	}
	st.pins[ref.SHA256]++
	st.mu.Unlock()
	// Also when the file existed: the writer that renamed it may not have
	// flushed the rename yet. (Its bytes were flushed before its rename.)
	if err := w.flush(d.syncDir, shard); err != nil {
		if d.closed.Load() {
			err = ErrClosed
		}
		w.s.release([]BlobRef{ref}, true)
		return BlobRef{}, fmt.Errorf("committing blob %s: %w", ref, diskFull(err))
	}
	if w.s.obs != nil {
		w.s.obs.BlobCommitted(ref.Size, time.Since(start))
	}
	return ref, nil
}

// flush runs one of the blob's flushes and tells the observer its time.
func (w *BlobWriter) flush(sync func(*os.File) error, f *os.File) error {
	start := time.Now()
	err := sync(f)
	if w.s.obs != nil {
		w.s.obs.Flushed(1, time.Since(start))
	}
	return err
}

// Abort removes the temporary file. After Commit it does nothing.
func (w *BlobWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing unfinished blob: %w", err)
	}
	return nil
}

// OpenBlob opens a stored blob for reading. A missing blob is an error
// wrapping ErrNotFound.
func (s *Store) OpenBlob(ref BlobRef) (*os.File, error) {
	f, err := os.Open(s.blobs.path(ref.SHA256))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("opening blob %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", ref, err)
	}
	return f, nil
}

// DiscardBlobs releases the pins of blobs written for a document that will
// not be stored, and deletes the file of each that no stored document
// references and no other writer pins.
func (s *Store) DiscardBlobs(refs []BlobRef) { s.release(refs, true) }

// release drops one pin per ref; with remove, the blobs left unpinned are
// deleted unless a stored document references them.
func (s *Store) release(refs []BlobRef, remove bool) {
	for _, r := range refs {
		st := s.blobs.stripe(r.SHA256)
		st.mu.Lock()
		if n := st.pins[r.SHA256]; n > 1 {
			st.pins[r.SHA256] = n - 1
		} else {
			delete(st.pins, r.SHA256)
			// After Close the database cannot be asked; Close saw the pins
			// and left the store marked for a sweep.
			if remove && !s.blobs.closed.Load() {
				s.removeUnreferenced([][32]byte{r.SHA256})
			}
		}
		st.mu.Unlock()
	}
}

// removeUnreferenced deletes the blob files among sums that no stored
// document references and returns how many it deleted. The caller holds
// the stripe of every sum and has checked that none is pinned.
func (s *Store) removeUnreferenced(sums [][32]byte) int {
	var unused [][32]byte
	err := s.view(context.Background(), func(tx *bolt.Tx) error {
		refs := tx.Bucket(bucketBlobRefs)
		for _, sum := range sums {
			if refs.Get(sum[:]) == nil {
				unused = append(unused, sum)
			}
		}
		return nil
	})
	if err != nil {
		s.dirty.Store(true)
		s.log.Warn("checking blob references; unreferenced blobs kept until the next sweep", "err", err)
		return 0
	}
	removed := 0
	for _, sum := range unused {
		err := os.Remove(s.blobs.path(sum))
		switch {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			s.dirty.Store(true)
			s.log.Warn("removing unreferenced blob; kept until the next sweep", "sha256", hex.EncodeToString(sum[:]), "err", err)
		}
	}
	return removed
}

// SweepBlobs deletes every blob file that no stored document references and
// no writer pins, and returns how many it deleted. Open runs it in the
// background after an unclean shutdown; it is safe to run at any time.
func (s *Store) SweepBlobs(ctx context.Context) (int, error) {
	d := s.blobs
	shards, err := d.shards()
	if err != nil {
		return 0, fmt.Errorf("sweeping blobs: %w", err)
	}
	const chunk = 1024 // bounds how long writers wait for the stripe
	removed := 0
	for _, sh := range shards {
		names, err := readNames(filepath.Join(d.root, sh))
		if err != nil {
			return removed, fmt.Errorf("sweeping blobs: %w", err)
		}
		var sums [][32]byte
		for _, n := range names {
			if b, err := hex.DecodeString(n); err == nil && len(b) == 32 && n[:2] == sh && hex.EncodeToString(b) == n {
				sums = append(sums, [32]byte(b))
			}
		}
		for len(sums) > 0 {
			if err := ctx.Err(); err != nil {
				return removed, fmt.Errorf("sweeping blobs: %w", err)
			}
			batch := sums[:min(chunk, len(sums))]
			sums = sums[len(batch):]
			// Every sum of a shard has the same first byte: one stripe.
			st := d.stripe(batch[0])
			st.mu.Lock()
			if d.closed.Load() {
				st.mu.Unlock()
				return removed, fmt.Errorf("sweeping blobs: %w", ErrClosed)
			}
			unpinned := batch[:0]
			for _, sum := range batch {
				if st.pins[sum] == 0 {
					unpinned = append(unpinned, sum)
				}
			}
			removed += s.removeUnreferenced(unpinned)
			st.mu.Unlock()
		}
	}
	return removed, nil
}

// readNames returns the names in dir, unsorted.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
