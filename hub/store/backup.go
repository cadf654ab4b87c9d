package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/fsutil"
)

// DBFile and BlobsDir are the names of the database file and the blob
// directory inside a store directory (and inside a backup).
const (
	DBFile   = dbFile
	BlobsDir = blobsDir
)

// Snapshot describes a copy of the store made by Snapshot.
type Snapshot struct {
	// DBSHA256 and DBSize are those of the database copy.
	DBSHA256 [32]byte
	DBSize   int64
	// Documents is the number of documents in the copy.
	Documents int
	// Blobs are the blob files copied, each checked against its name.
	Blobs []BlobRef
	// Linked counts the blobs hard-linked rather than copied.
	Linked int
	// Missing are the blobs the copy names that could not be copied
	// because they are gone or damaged (set aside by a quarantine): the
	// documents naming them are quarantined, and stay so after a restore.
	Missing []BlobRef
}

// Snapshot writes a consistent copy of the store while it serves: the
// database as of one read transaction (bbolt's Tx.WriteTo) into the new
// file dbPath, and every blob that copy names into blobsRoot (laid out as
// in the store), hard-linked when link is set and the file system allows
// it, copied otherwise. Every blob is read and checked against its
// SHA-256. The files are flushed (one flush of their file system) before
// Snapshot returns.
//
// Blobs are copied after the transaction ends, so that a long copy does
// not hold a read transaction (which would stop the database from
// growing): blobs are immutable and a blob named by a stored document is
// never removed, so the ones the copy names are all still there, unless
// a quarantine set one aside meanwhile (then it is Missing).
func (s *Store) Snapshot(ctx context.Context, dbPath, blobsRoot string, link bool) (*Snapshot, error) {
	snap := new(Snapshot)
	f, err := os.OpenFile(dbPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating database copy: %w", err)
	}
	defer f.Close()
	var sums [][32]byte
	h := sha256.New()
	err = s.view(ctx, func(tx *bolt.Tx) error {
		sums = sums[:0]
		n, err := tx.WriteTo(io.MultiWriter(f, h))
		if err != nil {
			return fmt.Errorf("writing database copy: %w", err)
		}
		snap.DBSize = n
		snap.Documents = int(getUint64(tx.Bucket(bucketMeta).Get(metaDocuments)))
		return tx.Bucket(bucketBlobRefs).ForEach(func(k, v []byte) error {
			if len(k) == 32 && getUint64(v) > 0 {
				sums = append(sums, [32]byte(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	copy(snap.DBSHA256[:], h.Sum(nil))
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("flushing database copy: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("closing database copy: %w", err)
	}
	shards := map[string]bool{}
	if err := os.MkdirAll(blobsRoot, 0o700); err != nil {
		return nil, fmt.Errorf("creating blob directory of the copy: %w", err)
	}
	buf := make([]byte, 256<<10)
	for _, sum := range sums {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hx := hex.EncodeToString(sum[:])
		shard := filepath.Join(blobsRoot, hx[:2])
		if !shards[shard] {
			if err := os.MkdirAll(shard, 0o700); err != nil {
				return nil, fmt.Errorf("creating blob directory of the copy: %w", err)
			}
			shards[shard] = true
		}
		ref, linked, err := copyBlob(s.blobs.path(sum), filepath.Join(shard, hx), sum, link, buf)
		if errors.Is(err, errBlobGone) {
			snap.Missing = append(snap.Missing, BlobRef{SHA256: sum})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("copying blob %s: %w", hx, err)
		}
		snap.Blobs = append(snap.Blobs, ref)
		if linked {
			snap.Linked++
		}
	}
	// One flush of the copy's file system for every file and directory
	// written, rather than an fsync each.
	if err := fsutil.SyncFS(filepath.Dir(dbPath)); err != nil {
		return nil, err
	}
	return snap, nil
}

var errBlobGone = errors.New("blob gone or damaged")

// copyBlob links or copies src to dst, checking that its content has the
// SHA-256 sum; a missing or damaged src is errBlobGone (and leaves no dst).
func copyBlob(src, dst string, sum [32]byte, link bool, buf []byte) (ref BlobRef, linked bool, err error) {
	if link {
		switch err := os.Link(src, dst); {
		case err == nil:
			linked = true
		case errors.Is(err, fs.ErrNotExist):
			return ref, false, errBlobGone
		case errors.Is(err, syscall.EXDEV), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EMLINK):
			// another file system, or links not allowed: copy
		default:
			return ref, false, err
		}
	}
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return ref, false, errBlobGone
	}
	if err != nil {
		return ref, false, err
	}
	defer in.Close()
	h := sha256.New()
	var out *os.File
	w := io.Writer(h)
	if !linked {
		if out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return ref, false, err
		}
		defer out.Close()
		w = io.MultiWriter(out, h)
	}
	n, err := io.CopyBuffer(w, in, buf)
	if err != nil {
		return ref, false, err
	}
	if [32]byte(h.Sum(nil)) != sum {
		os.Remove(dst)
		return ref, false, errBlobGone
	}
	if out != nil {
		if err := out.Close(); err != nil {
			return ref, false, err
		}
	}
	return BlobRef{SHA256: sum, Size: n}, linked, nil
}

// Check is what Verify found.
type Check struct {
	// Documents and Blobs are the numbers checked; Bytes the bytes read.
	Documents int
	Blobs     int
	Bytes     int64
	// Problems are the faults, each naming the document or blob: a file
	// a document names that is missing, of the wrong size or damaged, a
	// reference count that differs from the documents.
	Problems []string
	// Notes are findings that are not faults: quarantined documents
	// whose damaged file is gone, blob files no document names.
	Notes []string
}

// Verify checks every document against its blobs (each file it names is
// there with its size, the reference counts agree) and every blob file
// against its SHA-256, reading them all.
func (s *Store) Verify(ctx context.Context) (*Check, error) {
	c := new(Check)
	type use struct {
		size int64
		docs []string
	}
	uses := map[[32]byte]*use{}
	quarantined := map[string]bool{}
	refs := map[[32]byte]uint64{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		clear(uses)
		clear(quarantined)
		clear(refs)
		c.Documents = 0
		if qb := tx.Bucket(bucketQuarantine); qb != nil {
			qb.ForEach(func(k, _ []byte) error { quarantined[string(k)] = true; return nil })
		}
		if err := tx.Bucket(bucketBlobRefs).ForEach(func(k, v []byte) error {
			if len(k) == 32 {
				refs[[32]byte(k)] = getUint64(v)
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketDocs).ForEach(func(k, v []byte) error {
			if c.Documents%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			c.Documents++
			d, err := decodeDoc(nil, string(k), v)
			if err != nil {
				c.Problems = append(c.Problems, fmt.Sprintf("văn bản %s: bản ghi không đọc được (record unreadable): %v", k, err))
				return nil
			}
			for _, f := range d.Files {
				u := uses[f.SHA256]
				if u == nil {
					u = &use{size: f.Size}
					uses[f.SHA256] = u
				}
				u.docs = append(u.docs, d.MessageID)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("verifying the store: %w", err)
	}
	for _, sum := range slices.SortedFunc(maps.Keys(uses), func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) }) {
		u := uses[sum]
		ref := BlobRef{SHA256: sum, Size: u.size}
		if n := refs[sum]; n != uint64(len(u.docs)) {
			c.Problems = append(c.Problems, fmt.Sprintf("tệp %s: %d văn bản dùng nhưng bộ đếm ghi %d (reference count differs)", ref, len(u.docs), n))
		}
		fi, err := os.Stat(s.blobs.path(sum))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			c.report(quarantinedAll(u.docs, quarantined), fmt.Sprintf("tệp %s của văn bản %v không còn (file missing)", ref, u.docs))
		case err != nil:
			return nil, fmt.Errorf("verifying the store: %w", err)
		case fi.Size() != u.size:
			c.report(quarantinedAll(u.docs, quarantined), fmt.Sprintf("tệp %s của văn bản %v có %d byte, văn bản ghi %d (wrong size)", ref, u.docs, fi.Size(), u.size))
		}
	}
	for sum, n := range refs {
		if n > 0 && uses[sum] == nil {
			c.Problems = append(c.Problems, fmt.Sprintf("tệp %s: bộ đếm ghi %d văn bản dùng nhưng không văn bản nào dùng (reference count without documents)", BlobRef{SHA256: sum}, n))
		}
	}
	res, err := s.Scrub(ctx, ScrubOptions{Found: func(_ context.Context, d *BlobDamage) error {
		u := uses[d.Ref.SHA256]
		var docs []string
		if u != nil {
			docs = u.docs
		}
		c.report(u != nil && quarantinedAll(docs, quarantined), fmt.Sprintf("tệp %s của văn bản %v bị hỏng: mã băm không khớp (file damaged: SHA-256 mismatch)", d.Ref, docs))
		return nil
	}})
	if err != nil {
		return nil, err
	}
	c.Blobs, c.Bytes = res.Blobs, res.Bytes
	if extra := res.Blobs - countPresent(uses, s.blobs); extra > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d tệp không văn bản nào dùng; lần mở sau sẽ dọn (unreferenced files)", extra))
	}
	return c, nil
}

func (c *Check) report(quarantined bool, msg string) {
	if quarantined {
		c.Notes = append(c.Notes, msg+" — văn bản đã bị cách ly (quarantined)")
		return
	}
	c.Problems = append(c.Problems, msg)
}

func quarantinedAll(ids []string, q map[string]bool) bool {
	for _, id := range ids {
		if !q[id] {
			return false
		}
	}
	return len(ids) > 0
}

// countPresent counts the used blobs whose file exists.
func countPresent[T any](uses map[[32]byte]T, d *blobDir) int {
	n := 0
	for sum := range uses {
		if _, err := os.Stat(d.path(sum)); err == nil {
			n++
		}
	}
	return n
}
