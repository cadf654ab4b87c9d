package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// ReadBlob hands over an intact blob whole, in chunks of the buffer's
// size, and a damaged one never whole: the chunk that would complete it is
// withheld and the damage reported with what was read.
func TestReadBlobChecksWhileReading(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: 2 chunks of 4096 and one of 1808
	for _, tc := range []struct {
		name     string
		damage   func(path string)
		wantSent int // bytes handed to fn
		wantSize int64
		missing  bool
	}{
		{"intact", nil, len(data), 0, false},
		{"flipped byte", func(p string) { flip(t, p, 5000) }, 2 * 4096, int64(len(data)), false},
		{"flipped last byte", func(p string) { flip(t, p, len(data)-1) }, 2 * 4096, int64(len(data)), false},
		{"truncated", func(p string) { must(t, os.Truncate(p, 9000)) }, 2 * 4096, 9000, false},
		{"longer", func(p string) { appendByte(t, p) }, 2 * 4096, int64(len(data)) + 1, false},
		{"missing", func(p string) { must(t, os.Remove(p)) }, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			ref := putBlob(t, s, data)
			if tc.damage != nil {
				tc.damage(s.blobs.path(ref.SHA256))
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
		})
	}
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
// (200 KB) costs on the delivery path: ReadBlob hashes as it reads,
// against reading the file alone.
func BenchmarkReadBlob(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	ref := putBlob(b, s, bytes.Repeat([]byte("lienthong "), 20<<10))
	buf := make([]byte, 32<<10-64)
	b.Run("checked", func(b *testing.B) {
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
