package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// floorCosts is what the unavoidable work of moving one document costs in
// CPU on this machine, measured in this process on the corpus's size: the
// TLS record encryption and decryption of every byte uploaded and
// delivered, the SHA-256 of every byte that must be hashed, the hub's
// signature verification, and the copy of every byte into the page cache
// at the hub and at each receiver. Their sum is a floor no implementation
// of the same protocol goes below; the hub's and the clients' measured CPU
// per document, set against it, say how much is left to win.
type floorCosts struct {
	AESGCMNsPerByte float64 `json:"aes_gcm_ns_per_byte"` // seal + open of 16 KiB TLS records (AES-128-GCM, TLS 1.3's first choice)
	SHA256NsPerByte float64 `json:"sha256_ns_per_byte"`
	WriteNsPerByte  float64 `json:"write_ns_per_byte"` // write(2) into the page cache
	FsyncMs         float64 `json:"fsync_cpu_ms"`      // CPU of one fsync of a document-sized file (reported, not summed: see floorPerDoc)
	VerifyMsPerDoc  float64 `json:"verify_ms_per_doc"` // one core, the corpus's documents (two signatures each)
}

// floorPerDoc sums the floor for a document of size bytes delivered to
// fanout recipients, in milliseconds of CPU:
//
//   - TLS: the upload and each delivery are sealed by one end and opened
//     by the other, both on this machine: (1+fanout)·size through AES-GCM;
//   - SHA-256: the sender's node hashes the file for its envelope, the hub
//     hashes what it receives, each receiver checks what it got:
//     (2+fanout)·size (the hub's verification hashes the signed byte
//     ranges again; that is inside VerifyMsPerDoc);
//   - verification: once, at the hub;
//   - durable writes: the hub's blob and each receiver's file,
//     (1+fanout)·size copied into the page cache. Flushes are shared by
//     group commit at the hub and by one syncfs per batch at a receiver,
//     so their cost per document falls toward zero as batches grow, and
//     the kernel's writeback runs in its own threads, charged to neither
//     process: FsyncMs is reported beside the floor, not in it.
func (f floorCosts) floorPerDoc(size int64, fanout float64) float64 {
	b := float64(size)
	ns := (1+fanout)*b*f.AESGCMNsPerByte + (2+fanout)*b*f.SHA256NsPerByte + (1+fanout)*b*f.WriteNsPerByte
	return ns/1e6 + f.VerifyMsPerDoc
}

// measureFloor measures the per-byte and per-call costs, each for about
// span, in dir (a file is written and removed there). verifyDocsPerS1 is
// the one-core verification rate measured on the corpus.
func measureFloor(dir string, size int64, verifyDocsPerS1 float64, span time.Duration) (floorCosts, error) {
	var f floorCosts
	if verifyDocsPerS1 > 0 {
		f.VerifyMsPerDoc = 1000 / verifyDocsPerS1
	}
	const record = 16 << 10
	buf := make([]byte, record)
	for i := range buf {
		buf[i] = byte(i * 7)
	}

	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		return f, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return f, err
	}
	nonce := make([]byte, aead.NonceSize())
	sealed := make([]byte, 0, record+aead.Overhead())
	opened := make([]byte, 0, record)
	f.AESGCMNsPerByte = perByte(span, record, func() error {
		sealed = aead.Seal(sealed[:0], nonce, buf, nil)
		var err error
		opened, err = aead.Open(opened[:0], nonce, sealed, nil)
		return err
	})
	if f.AESGCMNsPerByte < 0 {
		return f, fmt.Errorf("AES-GCM round trip failed")
	}

	h := sha256.New()
	f.SHA256NsPerByte = perByte(span, record, func() error { h.Write(buf); return nil })

	path := filepath.Join(dir, "floor-write.tmp")
	file, err := os.Create(path)
	if err != nil {
		return f, fmt.Errorf("floor: %w", err)
	}
	defer os.Remove(path)
	defer file.Close()
	var written int64
	f.WriteNsPerByte = perByte(span, record, func() error {
		if written >= size {
			if _, err := file.Seek(0, 0); err != nil {
				return err
			}
			written = 0
		}
		n, err := file.Write(buf)
		written += int64(n)
		return err
	})
	if f.WriteNsPerByte < 0 {
		return f, fmt.Errorf("floor: writing %s failed", path)
	}
	// One fsync of a freshly written document-sized file, several times.
	var fsyncCPU time.Duration
	rounds := 0
	for start := time.Now(); rounds < 3 || (time.Since(start) < span && rounds < 50); rounds++ {
		if _, err := file.Seek(0, 0); err != nil {
			return f, err
		}
		for w := int64(0); w < size; w += record {
			if _, err := file.Write(buf); err != nil {
				return f, fmt.Errorf("floor: %w", err)
			}
		}
		c0 := ProcessCPU()
		if err := file.Sync(); err != nil {
			return f, fmt.Errorf("floor: %w", err)
		}
		fsyncCPU += ProcessCPU() - c0
	}
	f.FsyncMs = float64(fsyncCPU) / float64(time.Millisecond) / float64(rounds)
	return f, nil
}

// perByte runs op (which handles n bytes) for about span and returns the
// CPU nanoseconds per byte, or -1 if op failed.
func perByte(span time.Duration, n int, op func() error) float64 {
	c0 := ProcessCPU()
	start := time.Now()
	iters := 0
	for ; iters < 64 || time.Since(start) < span; iters++ {
		if err := op(); err != nil {
			return -1
		}
	}
	return float64(ProcessCPU()-c0) / float64(iters) / float64(n)
}
