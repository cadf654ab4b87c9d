package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"sync"
)

// Reading blobs for delivery.
//
// Every delivery reads the document's files back and must never hand a
// recipient a complete damaged file (#12). Hashing every read with SHA-256
// made that guard the largest single cost of a delivery: a document goes
// to ~4.5 recipients, so each stored byte was hashed ~4.5 times more.
//
// The guard now has two layers, each as strong as the damage it meets:
//
//   - A file changed through the file system (rewritten, truncated,
//     appended to, replaced, restored from elsewhere) changes its
//     identity: device, inode, size, modification or change time (the
//     change time cannot be set back by a process). A file whose identity
//     is not the one recorded when it last matched its SHA-256 is hashed
//     whole with SHA-256 again, exactly as before.
//   - Damage below the file system (a failing sector returning other
//     bytes, a bit flipped in the page cache or on the medium) keeps the
//     identity. For it, every read is checked against the CRC-32C
//     recorded with that full SHA-256 match. CRC-32C catches every burst
//     of up to 32 bits and misses other random damage with probability
//     2⁻³²; a disk does not choose its errors, so a cryptographic hash
//     buys nothing more here (someone able to write the blob files at
//     will could rewrite the database as well). It costs a few percent of
//     SHA-256 (a hardware instruction).
//
// The scrub (Scrub) still reads every blob with SHA-256 once per period
// and records the result, so the CRC is never older than the last scrub
// or the last change to the file. The last chunk is withheld until the
// check passes in both layers, as before.

// maxVerified bounds the cache of verified blob files: one entry is under
// 100 bytes, and the blobs delivered repeatedly are the recent ones.
const maxVerified = 1 << 15

// fileIdentity is what changes when a file is changed through the file
// system.
type fileIdentity struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
}

// verifiedBlob records a blob file that was last read whole and matched
// its SHA-256: its identity then and the CRC-32C of its bytes.
type verifiedBlob struct {
	id  fileIdentity
	crc uint32
}

// verifiedBlobs caches verifiedBlob by SHA-256. The zero value is ready to
// use.
type verifiedBlobs struct {
	mu sync.Mutex
	m  map[[32]byte]verifiedBlob
}

func (c *verifiedBlobs) get(sum [32]byte) (verifiedBlob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[sum]
	return v, ok
}

func (c *verifiedBlobs) put(sum [32]byte, v verifiedBlob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]verifiedBlob)
	}
	if _, ok := c.m[sum]; !ok && len(c.m) >= maxVerified {
		for k := range c.m { // an arbitrary entry: it is only re-hashed
			delete(c.m, k)
			break
		}
	}
	c.m[sum] = v
}

func (c *verifiedBlobs) drop(sum [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, sum)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ReadBlob reads the blob ref in chunks of at most len(buf) bytes and
// gives each to fn, checking the bytes against ref as it goes. The last
// chunk is given only once the whole file has matched ref's size and
// content, so a caller forwarding the chunks never forwards a complete
// damaged file. The content is checked with SHA-256, or, for a file
// unchanged since it last matched its SHA-256, with the CRC-32C recorded
// then (see the comment at the top of blobread.go). A file that does not
// match (or is missing) is a *BlobDamage error; fn's errors and read
// errors are returned as they are.
func (s *Store) ReadBlob(ref BlobRef, buf []byte, fn func([]byte) error) error {
	return s.readBlob(ref, buf, false, fn)
}

// readBlob is ReadBlob; with full, the file is hashed with SHA-256 even if
// it is known (the scrub's reading).
func (s *Store) readBlob(ref BlobRef, buf []byte, full bool, fn func([]byte) error) error {
	if len(buf) == 0 {
		return errors.New("reading blob: empty buffer")
	}
	f, err := os.Open(s.blobs.path(ref.SHA256))
	if errors.Is(err, fs.ErrNotExist) {
		s.verified.drop(ref.SHA256)
		return &BlobDamage{Ref: ref, Missing: true}
	}
	if err != nil {
		return fmt.Errorf("opening blob %s: %w", ref, err)
	}
	defer f.Close()
	id, idOK := identity(f)
	known, ok := s.verified.get(ref.SHA256)
	trusted := !full && ok && idOK && known.id == id && id.size == ref.Size
	var h hash.Hash
	if !trusted {
		h = sha256.New()
	}
	crc := uint32(0)
	update := func(p []byte) {
		if h != nil {
			h.Write(p)
		}
		crc = crc32.Update(crc, castagnoli, p)
	}
	damaged := func(n int64) error {
		s.verified.drop(ref.SHA256)
		d := &BlobDamage{Ref: ref, ActualSize: n}
		if h != nil {
			h.Sum(d.Actual[:0])
			return d
		}
		// Only the CRC was computed: hash the file for the report.
		var rerr error
		if d.Actual, d.ActualSize, rerr = hashPrefix(f, ref.Size+1); rerr != nil {
			return fmt.Errorf("reading damaged blob %s: %w", ref, rerr)
		}
		return d
	}
	var done int64
	for {
		want := min(int64(len(buf)), ref.Size-done)
		n, err := io.ReadFull(f, buf[:want])
		update(buf[:n])
		done += int64(n)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("reading blob %s: %w", ref, err)
		}
		if err != nil { // shorter than ref says
			return damaged(done)
		}
		if done == ref.Size {
			// Longer than ref says? Not asked of a trusted file: its
			// identity says it had ref.Size bytes when opened, and bytes
			// it may have gained since are not handed over (its next
			// read sees another identity and hashes it whole).
			if !trusted {
				var extra [1]byte
				m, err := f.Read(extra[:])
				if m > 0 {
					update(extra[:m])
					return damaged(done + int64(m))
				}
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("reading blob %s: %w", ref, err)
				}
			}
			if trusted {
				if crc != known.crc {
					return damaged(done)
				}
			} else {
				var sum [32]byte
				if h.Sum(sum[:0]); sum != ref.SHA256 {
					return damaged(done)
				}
				// Recorded only if the file did not change while read.
				if after, ok := identity(f); idOK && ok && after == id {
					s.verified.put(ref.SHA256, verifiedBlob{id: id, crc: crc})
				}
			}
		}
		if n > 0 {
			if err := fn(buf[:n]); err != nil {
				return err
			}
		}
		if done == ref.Size {
			return nil
		}
	}
}

// hashPrefix returns the SHA-256 and length of f's first limit bytes (all
// of f if shorter).
func hashPrefix(f *os.File, limit int64) (sum [32]byte, n int64, err error) {
	h := sha256.New()
	n, err = io.Copy(h, io.NewSectionReader(f, 0, limit))
	h.Sum(sum[:0])
	return sum, n, err
}
