package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// BlobRef names a blob: the SHA-256 and size of its bytes.
type BlobRef struct {
	SHA256 [32]byte
	Size   int64
}

// blobDir holds content-addressed files: blobs/<hex[0:2]>/<hex>, and
// blobs/tmp for files being written. Blobs written but not yet named by a
// committed document are pinned so a concurrent discard of identical
// content cannot remove them.
type blobDir struct {
	root string
	mu   sync.Mutex
	pins map[[32]byte]int
}

func openBlobDir(root string) (*blobDir, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("creating blob directory: %w", err)
	}
	return &blobDir{root: root, pins: make(map[[32]byte]int)}, nil
}

func (d *blobDir) path(sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.root, h[:2], h)
}

// BlobWriter streams one file into the blob directory, hashing as it goes.
type BlobWriter struct {
	d    *blobDir
	f    *os.File
	h    hash.Hash
	n    int64
	done bool
}

// NewBlob starts a blob in a temporary file.
func (s *Store) NewBlob() (*BlobWriter, error) {
	f, err := os.CreateTemp(filepath.Join(s.blobs.root, "tmp"), "blob-*")
	if err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	return &BlobWriter{d: s.blobs, f: f, h: sha256.New()}, nil
}

// Write appends p.
func (w *BlobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing blob: %w", err)
	}
	return n, nil
}

// Size is the number of bytes written.
func (w *BlobWriter) Size() int64 { return w.n }

// Sum is the SHA-256 of the bytes written so far.
func (w *BlobWriter) Sum() [32]byte {
	var s [32]byte
	w.h.Sum(s[:0])
	return s
}

// Commit makes the blob durable under its content address and pins it
// until Accept or DiscardBlobs releases it.
func (w *BlobWriter) Commit() (BlobRef, error) {
	ref := BlobRef{SHA256: w.Sum(), Size: w.n}
	if w.done {
		return ref, errors.New("blob already committed or aborted")
	}
	w.done = true
	tmp := w.f.Name()
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(tmp)
		return ref, fmt.Errorf("syncing blob: %w", err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return ref, fmt.Errorf("closing blob: %w", err)
	}
	final := w.d.path(ref.SHA256)
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if _, err := os.Stat(final); err == nil {
		os.Remove(tmp)
	} else {
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			os.Remove(tmp)
			return ref, fmt.Errorf("creating blob directory: %w", err)
		}
		if err := os.Rename(tmp, final); err != nil {
			os.Remove(tmp)
			return ref, fmt.Errorf("storing blob: %w", err)
		}
		if err := syncDir(filepath.Dir(final)); err != nil {
			return ref, err
		}
		if err := syncDir(w.d.root); err != nil {
			return ref, err
		}
	}
	w.d.pins[ref.SHA256]++
	return ref, nil
}

// Abort removes the temporary file; after Commit it does nothing.
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

// OpenBlob opens a stored blob for reading.
func (s *Store) OpenBlob(ref BlobRef) (*os.File, error) {
	f, err := os.Open(s.blobs.path(ref.SHA256))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %x: %w", ref.SHA256, ErrNotFound)
	}
	return f, err
}

// release unpins refs and removes those nobody pins and no stored
// document references.
func (d *blobDir) release(refs []BlobRef, referenced func([32]byte) (bool, error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range refs {
		if d.pins[r.SHA256]--; d.pins[r.SHA256] <= 0 {
			delete(d.pins, r.SHA256)
		} else {
			continue
		}
		if used, err := referenced(r.SHA256); err != nil || used {
			continue
		}
		os.Remove(d.path(r.SHA256))
	}
}

// collect removes temporary files and unreferenced blobs; used at open,
// when no writer is active.
func (d *blobDir) collect(referenced func([32]byte) (bool, error)) (int, error) {
	removed := 0
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" {
			return os.Remove(path)
		}
		raw, err := hex.DecodeString(e.Name())
		if err != nil || len(raw) != 32 {
			return nil // not ours
		}
		used, err := referenced([32]byte(raw))
		if err != nil || used {
			return err
		}
		removed++
		return os.Remove(path)
	})
	return removed, err
}

// count returns the number of blob files and temporary files.
func (d *blobDir) count() (blobs, tmp int, err error) {
	err = filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" {
			tmp++
		} else {
			blobs++
		}
		return nil
	})
	return blobs, tmp, err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
