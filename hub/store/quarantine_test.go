package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// ReadBlob hands over an intact blob whole, in chunks of the buffer's
// size, and a damaged one never whole: the chunk that would complete it is
// withheld and the damage reported with what was read. So whether the
// blob is read for the first time (SHA-256), was read intact before and
// then changed through the file system (its identity changed: SHA-256
// again), or was read intact before and then damaged below the file
// system, its identity unchanged (the CRC-32C recorded with the last
// SHA-256 match).
func TestReadBlobChecksWhileReading(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: 2 chunks of 4096 and one of 1808
	type mode int
	const (
		cold    mode = iota // first read
		changed             // read intact before, then changed through the file system
		belowFS             // read intact before, then damaged with its identity kept
	)
	for _, tc := range []struct {
		name     string
		damage   func(path string)
		wantSent int // bytes handed to fn
		wantSize int64
		missing  bool
		modes    []mode
	}{
		{"intact", nil, len(data), 0, false, []mode{cold, changed}},
		{"flipped byte", func(p string) { flip(t, p, 5000) }, 2 * 4096, int64(len(data)), false, []mode{cold, changed, belowFS}},
		{"flipped first byte", func(p string) { flip(t, p, 0) }, 2 * 4096, int64(len(data)), false, []mode{cold, changed, belowFS}},
		{"flipped last byte", func(p string) { flip(t, p, len(data)-1) }, 2 * 4096, int64(len(data)), false, []mode{cold, changed, belowFS}},
		{"truncated", func(p string) { must(t, os.Truncate(p, 9000)) }, 2 * 4096, 9000, false, []mode{cold, changed}},
		{"longer", func(p string) { appendByte(t, p) }, 2 * 4096, int64(len(data)) + 1, false, []mode{cold, changed}},
		{"missing", func(p string) { must(t, os.Remove(p)) }, 0, 0, true, []mode{cold, changed}},
	} {
		for _, m := range tc.modes {
			t.Run(fmt.Sprintf("%s/%s", tc.name, []string{"cold", "changed", "below the file system"}[m]), func(t *testing.T) {
				s := openStore(t, t.TempDir(), Options{})
				ref := putBlob(t, s, data)
				path := s.blobs.path(ref.SHA256)
				if m != cold {
					if got := readChecked(t, s, ref); !bytes.Equal(got, data) {
						t.Fatalf("first read handed over %d bytes", len(got))
					}
					if _, ok := s.verified.get(ref.SHA256); !ok {
						t.Fatal("an intact blob read whole is not recorded as verified")
					}
				}
				if tc.damage != nil {
					tc.damage(path)
				}
				if m == belowFS {
					keepIdentity(t, s, ref)
				}
				var got []byte
				err := s.ReadBlob(ref, make([]byte, 4096), func(p []byte) error {
					got = append(got, p...)
					return nil
				})
				if len(got) != tc.wantSent || (tc.damage == nil && !bytes.Equal(got, data)) {
					t.Errorf("handed over %d bytes, want %d", len(got), tc.wantSent)
				}
				var d *BlobDamage
				switch {
				case tc.damage == nil && err != nil:
					t.Errorf("ReadBlob of an intact blob: %v", err)
				case tc.damage != nil && !errors.As(err, &d):
					t.Errorf("ReadBlob = %v, want a *BlobDamage", err)
				case d != nil && (d.Missing != tc.missing || d.ActualSize != tc.wantSize || d.Ref != ref || (!tc.missing && d.Actual == ref.SHA256)):
					t.Errorf("damage %+v, want missing %v, size %d", d, tc.missing, tc.wantSize)
				}
				if b, err := os.ReadFile(path); err == nil && !tc.missing && tc.damage != nil {
					if want := sha256.Sum256(b); d != nil && d.Actual != want {
						t.Errorf("damage reports SHA-256 %x, the file's is %x", d.Actual, want)
					}
				}
				if _, ok := s.verified.get(ref.SHA256); tc.damage != nil && ok {
					t.Error("a damaged blob is still recorded as verified")
				}
			})
		}
	}
}

// A blob whose file was replaced by an intact copy (another identity, the
// same bytes) is hashed again and handed over whole; an intact blob read
// again with its identity unchanged too.
func TestReadBlobRecheckedOnNewIdentity(t *testing.T) {
	data := bytes.Repeat([]byte("lienthong "), 3000)
	s := openStore(t, t.TempDir(), Options{})
	ref := putBlob(t, s, data)
	path := s.blobs.path(ref.SHA256)
	readChecked(t, s, ref)
	first, _ := s.verified.get(ref.SHA256)
	if got := readChecked(t, s, ref); !bytes.Equal(got, data) {
		t.Fatalf("second read handed over %d bytes", len(got))
	}
	must(t, os.Remove(path))
	must(t, os.WriteFile(path, data, 0o600))
	if got := readChecked(t, s, ref); !bytes.Equal(got, data) {
		t.Fatalf("read of the replaced file handed over %d bytes", len(got))
	}
	again, ok := s.verified.get(ref.SHA256)
	if !ok || again.id == first.id || again.crc != first.crc {
		t.Errorf("after replacement: recorded %+v (before %+v), want the new identity, same CRC", again, first)
	}
}

// The scrub hashes every blob with SHA-256 even when its file is recorded
// as verified, and finds damage below the file system.
func TestScrubHashesVerifiedBlobs(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ref := putBlob(t, s, bytes.Repeat([]byte("x"), 10000))
	readChecked(t, s, ref)
	flip(t, s.blobs.path(ref.SHA256), 9999)
	keepIdentity(t, s, ref)
	// A record claiming the damaged bytes' CRC: only SHA-256 can tell.
	v, _ := s.verified.get(ref.SHA256)
	b, err := os.ReadFile(s.blobs.path(ref.SHA256))
	must(t, err)
	v.crc = crc32.Checksum(b, castagnoli)
	s.verified.put(ref.SHA256, v)
	var found []BlobRef
	res, err := s.Scrub(context.Background(), ScrubOptions{Found: func(_ context.Context, d *BlobDamage) error {
		found = append(found, d.Ref)
		return nil
	}})
	if err != nil || res.Damaged != 1 || len(found) != 1 || found[0].SHA256 != ref.SHA256 {
		t.Errorf("Scrub = %+v, %v, found %v; want the damaged blob", res, err, found)
	}
}

// readChecked reads a blob through ReadBlob.
func readChecked(t *testing.T, s *Store, ref BlobRef) []byte {
	t.Helper()
	var got []byte
	must(t, s.ReadBlob(ref, make([]byte, 4096), func(p []byte) error {
		got = append(got, p...)
		return nil
	}))
	return got
}

// keepIdentity makes the blob's verified record name its file's current
// identity: damage done through the file system then looks like damage
// below it (a failing sector), which leaves the identity as it was.
func keepIdentity(t *testing.T, s *Store, ref BlobRef) {
	t.Helper()
	v, ok := s.verified.get(ref.SHA256)
	if !ok {
		t.Fatal("blob not recorded as verified")
	}
	f, err := os.Open(s.blobs.path(ref.SHA256))
	must(t, err)
	defer f.Close()
	if v.id, ok = identity(f); !ok {
		t.Skip("file identity not available on this system")
	}
	s.verified.put(ref.SHA256, v)
}

func flip(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	b[at] ^= 1
	must(t, os.WriteFile(path, b, 0o600))
}

func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.Write([]byte{'x'})
	must(t, err)
	must(t, f.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func quarantinedReceipt(tb testing.TB, id, agency string, at time.Time) *lienthongv1.Receipt {
	tb.Helper()
	return receipt(tb, &lienthongv1.ReceiptBody{
		ReceiptId: "q-" + id + "-" + agency, MessageId: id, Status: lienthongv1.Status_STATUS_QUARANTINED,
		Agency: agency, Sender: "S", Time: timestamppb.New(at), Reason: "hỏng",
	})
}

// Quarantine takes only the waiting recipients out of their queues, in
// one transaction with their statuses, receipts, notifications and
// counters; it sets the damaged file aside and is idempotent.
func TestQuarantine(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	d := accept(t, s, newDoc(t, s, "m1", "hỏng", []string{"A", "B", "C"}, []byte("nội dung")))
	other := accept(t, s, newDoc(t, s, "m2", "lành", []string{"A"}, []byte("khác")))
	if _, err := s.Ack(ctx, "C", "m1", deliveredReceipt(t, "m1", "C", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	ref := d.Files[0]
	flip(t, s.blobs.path(ref.SHA256), 0)
	at := t0.Add(time.Hour)
	q := Quarantine{
		Record: &lienthongv1.QuarantinedDocument{MessageId: "m1", Sender: "S", FoundBy: "scrub", FoundAt: timestamppb.New(at)},
		Blob:   ref,
		Receipts: map[string]*lienthongv1.Receipt{
			"A": quarantinedReceipt(t, "m1", "A", at), "B": quarantinedReceipt(t, "m1", "B", at), "C": quarantinedReceipt(t, "m1", "C", at),
		},
	}
	taken, err := s.Quarantine(ctx, q)
	if err != nil || !slices.Equal(taken, []string{"A", "B"}) {
		t.Fatalf("Quarantine = %v, %v; want A and B (C had it)", taken, err)
	}
	if p := pending(t, s, "A"); !slices.Equal(p, []string{other.MessageID}) {
		t.Errorf("A's queue: %v", p)
	}
	sts, err := s.Statuses(ctx, "m1")
	must(t, err)
	var got []string
	for _, st := range sts {
		got = append(got, st.GetAgency()+" "+st.GetStatus().Name())
	}
	if want := []string{"A quarantined", "B quarantined", "C delivered"}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	for _, agency := range []string{"S", "A", "B"} {
		n, err := s.Notices(ctx, agency)
		must(t, err)
		want := 1
		if agency == "S" {
			want = 2
		}
		if len(n) != want {
			t.Errorf("%s has %d notifications, want %d", agency, len(n), want)
		}
	}
	if _, err := s.Ack(ctx, "A", "m1", deliveredReceipt(t, "m1", "A", at)); !errors.Is(err, ErrQuarantined) {
		t.Errorf("Ack after quarantine: %v, want ErrQuarantined", err)
	}
	if c := countsOf(t, s); c != (counts{Documents: 2, Pending: 1, Blobs: 1, TmpFiles: 0}) {
		t.Errorf("counts %+v", c)
	}
	if st := stats(t, s); st.Damaged != 1 {
		t.Errorf("%d damaged files set aside, want 1", st.Damaged)
	}
	check, err := s.CheckCounters(ctx, false)
	must(t, err)
	if len(check.Differences) > 0 {
		t.Errorf("counters differ: %v", check.Differences)
	}
	// Again (found by delivery too): nothing more changes.
	taken, err = s.Quarantine(ctx, q)
	if err != nil || len(taken) != 0 {
		t.Errorf("second Quarantine = %v, %v", taken, err)
	}
	list, err := s.Quarantined(ctx)
	must(t, err)
	if len(list) != 1 || list[0].GetMessageId() != "m1" || !slices.Equal(list[0].GetRecipients(), []string{"A", "B"}) || list[0].GetFoundBy() != "scrub" {
		t.Errorf("Quarantined = %v", list)
	}
	// The same content uploaded again is stored afresh, not shared with the
	// damaged file.
	fresh := putBlob(t, s, []byte("nội dung"))
	if sum := sha256.Sum256(readBlob(t, s, fresh)); sum != fresh.SHA256 {
		t.Errorf("a new upload of the content shares the damaged file")
	}
	s.DiscardBlobs([]BlobRef{fresh})
}

// BenchmarkReadBlob measures what checking a typical document's file
// (200 KB) costs on the delivery path: ReadBlob hashing with SHA-256 as
// it reads (a blob read for the first time), checking the CRC-32C of a
// blob verified before, against reading the file alone.
func BenchmarkReadBlob(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	ref := putBlob(b, s, bytes.Repeat([]byte("lienthong "), 20<<10))
	buf := make([]byte, 32<<10-64)
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(ref.Size)
		for b.Loop() {
			s.verified.drop(ref.SHA256)
			if err := s.ReadBlob(ref, buf, func([]byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verified", func(b *testing.B) {
		b.SetBytes(ref.Size)
		for b.Loop() {
			if err := s.ReadBlob(ref, buf, func([]byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(ref.Size)
		for b.Loop() {
			f, err := s.OpenBlob(ref)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := f.Read(buf); err != nil {
					break
				}
			}
			f.Close()
		}
	})
}
