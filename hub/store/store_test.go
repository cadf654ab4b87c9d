package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func TestAcceptStoresEverything(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	d := newDoc(t, s, "m1", "subject", []string{"B", "A", "B"}, []byte("pdf one"), []byte("pdf two"))
	stored := accept(t, s, d)
	if want := []string{"B", "A"}; !slices.Equal(stored.Recipients, want) {
		t.Errorf("stored recipients = %q, want %q", stored.Recipients, want)
	}

	got, err := s.Document(context.Background(), "m1")
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != "m1" || got.Sender != "S" || got.EnvelopeSHA256 != d.EnvelopeSHA256 ||
		!proto.Equal(got.Envelope, d.Envelope) || !proto.Equal(got.Accepted, d.Accepted) ||
		!proto.Equal(got.Verification, d.Verification) || !slices.Equal(got.Files, d.Files) ||
		!slices.Equal(got.Recipients, []string{"B", "A"}) {
		t.Errorf("Document = %+v, want %+v with recipients [B A]", got, d)
	}
	for i, want := range []string{"pdf one", "pdf two"} {
		if b := readBlob(t, s, got.Files[i]); string(b) != want {
			t.Errorf("file %d = %q, want %q", i, b, want)
		}
	}
	rs, err := s.Receipts(context.Background(), "m1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !proto.Equal(rs[0], d.Accepted) {
		t.Errorf("Receipts = %v, want the accepted receipt only", rs)
	}
	if want := (counts{Documents: 1, Pending: 2, Blobs: 2}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
	_, err = s.Document(context.Background(), "m2")
	wantErr(t, err, ErrNotFound)
}

// TestAcceptResend covers a second Accept of a stored message id: the same
// envelope is a duplicate that stores nothing, another envelope a conflict;
// neither leaves a new blob behind.
func TestAcceptResend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject string // of the re-sent envelope; the original's is "original"
		file    string // of the re-sent document; the original's is "original file"
		wantErr error
	}{
		{name: "same envelope same file", subject: "original", file: "original file"},
		{name: "same envelope other file", subject: "original", file: "other file"},
		{name: "different envelope conflicts", subject: "changed", file: "other file", wantErr: ErrConflict},
		{name: "different envelope same file conflicts", subject: "changed", file: "original file", wantErr: ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			orig := newDoc(t, s, "m1", "original", []string{"A", "B"}, []byte("original file"))
			accept(t, s, orig)

			again := newDoc(t, s, "m1", tc.subject, []string{"A", "C"}, []byte(tc.file))
			again.Accepted = receipt(t, &lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0.Add(time.Hour))})
			stored, dup, err := s.Accept(context.Background(), again)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr)
				if stored != nil || dup {
					t.Errorf("Accept = %v, %v with error; want nil, false", stored, dup)
				}
			} else {
				if err != nil || !dup {
					t.Fatalf("Accept = duplicate %v, %v; want duplicate", dup, err)
				}
				if !proto.Equal(stored.Accepted, orig.Accepted) || !slices.Equal(stored.Recipients, []string{"A", "B"}) ||
					!slices.Equal(stored.Files, orig.Files) {
					t.Errorf("duplicate returned %+v, want the original %+v", stored, orig)
				}
			}
			// Nothing of the re-send is stored, and its blob is gone unless it
			// is the original's.
			if want := (counts{Documents: 1, Pending: 2, Blobs: 1}); countsOf(t, s) != want {
				t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
			}
			if got := pending(t, s, "C"); len(got) != 0 {
				t.Errorf("Pending(C) = %q, want none", got)
			}
			if b := readBlob(t, s, orig.Files[0]); string(b) != "original file" {
				t.Errorf("original blob = %q", b)
			}
			if tc.file != "original file" {
				_, err := s.OpenBlob(again.Files[0])
				wantErr(t, err, ErrNotFound)
			}
			rs, err := s.Receipts(context.Background(), "m1", "")
			if err != nil || len(rs) != 1 || !proto.Equal(rs[0], orig.Accepted) {
				t.Errorf("Receipts = %v, %v; want the original accepted receipt only", rs, err)
			}
		})
	}
}

func TestAcceptRefusesMalformedDocuments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, d *Document)
	}{
		{"no message id", func(t *testing.T, d *Document) { d.MessageID = "" }},
		{"no envelope", func(t *testing.T, d *Document) { d.Envelope = nil }},
		{"wrong envelope hash", func(t *testing.T, d *Document) { d.EnvelopeSHA256[0] ^= 1 }},
		{"no accepted receipt", func(t *testing.T, d *Document) { d.Accepted = nil }},
		{"receipt body garbage", func(t *testing.T, d *Document) { d.Accepted = &lienthongv1.Receipt{Body: []byte{0xff}} }},
		{"receipt for another message", func(t *testing.T, d *Document) {
			d.Accepted = receipt(t, &lienthongv1.ReceiptBody{MessageId: "other", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)})
		}},
		{"receipt not ACCEPTED", func(t *testing.T, d *Document) {
			d.Accepted = receipt(t, &lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_DELIVERED, Time: timestamppb.New(t0)})
		}},
		{"receipt without time", func(t *testing.T, d *Document) {
			d.Accepted = receipt(t, &lienthongv1.ReceiptBody{MessageId: "m1", Status: lienthongv1.Status_STATUS_ACCEPTED})
		}},
		{"empty recipient", func(t *testing.T, d *Document) { d.Recipients = []string{"A", ""} }},
		{"file not in the blob store", func(t *testing.T, d *Document) {
			d.Files = append(d.Files, BlobRef{SHA256: sha256.Sum256([]byte("never written")), Size: 13})
		}},
		{"file size wrong", func(t *testing.T, d *Document) { d.Files[0].Size++ }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			d := newDoc(t, s, "m1", "subject", []string{"A"}, []byte("file"))
			tc.mutate(t, d)
			stored, dup, err := s.Accept(context.Background(), d)
			if err == nil || errors.Is(err, ErrConflict) || stored != nil || dup {
				t.Fatalf("Accept = %v, %v, %v; want a validation error", stored, dup, err)
			}
			if want := (counts{}); countsOf(t, s) != want {
				t.Errorf("counts = %+v, want %+v (nothing stored, blob removed)", countsOf(t, s), want)
			}
		})
	}
}

func TestPendingOrder(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	for _, d := range []struct {
		id         string
		recipients []string
	}{
		{"m1", []string{"A", "B"}},
		{"m2", []string{"B"}},
		{"m3", []string{"A", "A", "C"}},
		{"m4", []string{"C", "B", "A"}},
		{"m5", []string{"AB"}}, // a code that extends another is its own queue
	} {
		accept(t, s, newDoc(t, s, d.id, "s", d.recipients, []byte(d.id)))
	}
	for recipient, want := range map[string][]string{
		"A":  {"m1", "m3", "m4"},
		"B":  {"m1", "m2", "m4"},
		"C":  {"m3", "m4"},
		"AB": {"m5"},
		"Z":  nil,
	} {
		if got := pending(t, s, recipient); !slices.Equal(got, want) {
			t.Errorf("Pending(%s) = %q, want %q", recipient, got, want)
		}
	}
	if got := stats(t, s).Pending; got != 9 {
		t.Errorf("Stats.Pending = %d, want 9", got)
	}
}

func TestAck(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	accept(t, s, newDoc(t, s, "m1", "s", []string{"A", "B"}))
	accept(t, s, newDoc(t, s, "m2", "s", []string{"A"}))

	first := deliveredReceipt(t, "m1", "A", t0.Add(time.Minute))
	got, err := s.Ack(ctx, "A", "m1", first)
	if err != nil || !proto.Equal(got, first) {
		t.Fatalf("Ack = %v, %v; want the receipt given", got, err)
	}
	if p := pending(t, s, "A"); !slices.Equal(p, []string{"m2"}) {
		t.Errorf("Pending(A) after ack = %q, want [m2]", p)
	}
	if p := pending(t, s, "B"); !slices.Equal(p, []string{"m1"}) {
		t.Errorf("Pending(B) = %q, want [m1]", p)
	}

	// A second ack stores nothing and answers with the first receipt.
	second := deliveredReceipt(t, "m1", "A", t0.Add(time.Hour))
	got, err = s.Ack(ctx, "A", "m1", second)
	if err != nil || !proto.Equal(got, first) {
		t.Errorf("second Ack = %v, %v; want the first receipt", got, err)
	}
	rs, err := s.Receipts(ctx, "m1", "")
	if err != nil || len(rs) != 2 || !proto.Equal(rs[1], first) {
		t.Errorf("Receipts = %v, %v; want accepted then the first delivered receipt", rs, err)
	}

	for _, tc := range []struct {
		name, recipient, id string
		r                   *lienthongv1.Receipt
		want                error
	}{
		{"stranger", "C", "m1", deliveredReceipt(t, "m1", "C", t0), ErrNotFound},
		{"unknown message", "A", "nope", deliveredReceipt(t, "nope", "A", t0), ErrNotFound},
		{"recipient of another message", "B", "m2", deliveredReceipt(t, "m2", "B", t0), ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Ack(ctx, tc.recipient, tc.id, tc.r)
			wantErr(t, err, tc.want)
		})
	}
	for _, tc := range []struct {
		name string
		r    *lienthongv1.Receipt
	}{
		{"nil receipt", nil},
		{"receipt about another agency", deliveredReceipt(t, "m1", "A", t0)},
		{"receipt about another message", deliveredReceipt(t, "m2", "B", t0)},
		{"receipt with another status", receipt(t, &lienthongv1.ReceiptBody{MessageId: "m1", Agency: "B", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Ack(ctx, "B", "m1", tc.r); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Ack = %v, want a validation error", err)
			}
		})
	}
	if p := pending(t, s, "B"); !slices.Equal(p, []string{"m1"}) {
		t.Errorf("Pending(B) after refused acks = %q, want [m1]", p)
	}
	if got := stats(t, s).Pending; got != 2 {
		t.Errorf("Stats.Pending = %d, want 2", got)
	}
}

func TestReceipts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	d := accept(t, s, newDoc(t, s, "m1", "s", []string{"A", "B", "C"}))
	rB := deliveredReceipt(t, "m1", "B", t0.Add(time.Minute))
	rA := deliveredReceipt(t, "m1", "A", t0.Add(2*time.Minute))
	for _, a := range []struct {
		agency string
		r      *lienthongv1.Receipt
	}{{"B", rB}, {"A", rA}} {
		if _, err := s.Ack(ctx, a.agency, "m1", a.r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		agency string
		want   []*lienthongv1.Receipt
	}{
		{"", []*lienthongv1.Receipt{d.Accepted, rB, rA}},
		{"A", []*lienthongv1.Receipt{d.Accepted, rA}},
		{"B", []*lienthongv1.Receipt{d.Accepted, rB}},
		{"C", []*lienthongv1.Receipt{d.Accepted}},
		{"S", []*lienthongv1.Receipt{d.Accepted}},
	} {
		t.Run("agency="+tc.agency, func(t *testing.T) {
			got, err := s.Receipts(ctx, "m1", tc.agency)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, func(a, b *lienthongv1.Receipt) bool { return proto.Equal(a, b) }) {
				t.Errorf("Receipts(m1, %q) = %d receipts %v, want %d", tc.agency, len(got), got, len(tc.want))
			}
		})
	}
	_, err := s.Receipts(ctx, "nope", "")
	wantErr(t, err, ErrNotFound)
}

func TestStatuses(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	accept(t, s, newDoc(t, s, "m1", "s", []string{"C", "A", "B"}))
	t1 := t0.Add(90 * time.Second)
	if _, err := s.Ack(ctx, "B", "m1", deliveredReceipt(t, "m1", "B", t1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Statuses(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	want := []*lienthongv1.RecipientStatus{
		{Agency: "A", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)},
		{Agency: "B", Status: lienthongv1.Status_STATUS_DELIVERED, Time: timestamppb.New(t1)},
		{Agency: "C", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)},
	}
	if !slices.EqualFunc(got, want, func(a, b *lienthongv1.RecipientStatus) bool { return proto.Equal(a, b) }) {
		t.Errorf("Statuses = %v, want %v", got, want)
	}
	_, err = s.Statuses(ctx, "nope")
	wantErr(t, err, ErrNotFound)
}

func TestAgencies(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	put := func(as ...*lienthongv1.Agency) {
		t.Helper()
		if err := s.PutAgencies(ctx, as); err != nil {
			t.Fatal(err)
		}
	}
	put(&lienthongv1.Agency{Code: "000.00.31.H53", Name: "Huyện"}, &lienthongv1.Agency{Code: "000.00.00.H53", Name: "UBND tỉnh"})
	put(&lienthongv1.Agency{Code: "000.00.31.H53", Name: "UBND huyện", Status: lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED},
		&lienthongv1.Agency{Code: "000.12.31.H53", Name: "Xã", CertificateSha256: [][]byte{{1, 2, 3}}})
	put()

	got, err := s.Agencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*lienthongv1.Agency{
		{Code: "000.00.00.H53", Name: "UBND tỉnh"},
		{Code: "000.00.31.H53", Name: "UBND huyện", Status: lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED},
		{Code: "000.12.31.H53", Name: "Xã", CertificateSha256: [][]byte{{1, 2, 3}}},
	}
	if !slices.EqualFunc(got, want, func(a, b *lienthongv1.Agency) bool { return proto.Equal(a, b) }) {
		t.Errorf("Agencies = %v, want %v", got, want)
	}
	a, err := s.Agency(ctx, "000.12.31.H53")
	if err != nil || !proto.Equal(a, want[2]) {
		t.Errorf("Agency = %v, %v; want %v", a, err, want[2])
	}
	_, err = s.Agency(ctx, "999.00.00.H53")
	wantErr(t, err, ErrNotFound)
	if err := s.PutAgencies(ctx, []*lienthongv1.Agency{{Name: "no code"}}); err == nil {
		t.Error("PutAgencies accepted an agency without a code")
	}
}

// snapshot renders everything readable from a store, for comparing a store
// before and after reopening.
func snapshot(t *testing.T, s *Store, ids, agencies []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	m := func(msg proto.Message) string {
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", raw)
	}
	as, err := s.Agencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		fmt.Fprintf(&b, "agency %s\n", m(a))
	}
	for _, id := range ids {
		d, err := s.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "doc %s %s %s %x %q %s %s\n", d.MessageID, d.Sender, m(d.Envelope), d.EnvelopeSHA256, d.Recipients, m(d.Accepted), m(d.Verification))
		for _, f := range d.Files {
			fmt.Fprintf(&b, "file %x %d %q\n", f.SHA256, f.Size, readBlob(t, s, f))
		}
		rs, err := s.Receipts(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			fmt.Fprintf(&b, "receipt %s\n", m(r))
		}
		st, err := s.Statuses(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range st {
			fmt.Fprintf(&b, "status %s\n", m(r))
		}
	}
	for _, a := range agencies {
		fmt.Fprintf(&b, "pending %s %q\n", a, pending(t, s, a))
	}
	fmt.Fprintf(&b, "counts %+v\n", countsOf(t, s))
	return b.String()
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAgencies(ctx, []*lienthongv1.Agency{{Code: "A", Name: "a"}, {Code: "B", Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	accept(t, s, newDoc(t, s, "m1", "one", []string{"A", "B"}, []byte("file 1"), []byte("shared")))
	accept(t, s, newDoc(t, s, "m2", "two", []string{"B"}, []byte("shared")))
	accept(t, s, newDoc(t, s, "m3", "three", []string{"A"}))
	if _, err := s.Ack(ctx, "A", "m1", deliveredReceipt(t, "m1", "A", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	ids, agencies := []string{"m1", "m2", "m3"}, []string{"A", "B"}
	before := snapshot(t, s, ids, agencies)
	if !strings.Contains(before, fmt.Sprintf("counts %+v", counts{Documents: 3, Pending: 3, Blobs: 2})) {
		t.Fatalf("unexpected store before reopening:\n%s", before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, Options{})
	if after := snapshot(t, s, ids, agencies); after != before {
		t.Errorf("after reopening:\n%s\nwant:\n%s", after, before)
	}
	// The reopened store goes on where it stopped: queues stay FIFO and
	// acks still find their deliveries.
	accept(t, s, newDoc(t, s, "m4", "four", []string{"A"}))
	if got := pending(t, s, "A"); !slices.Equal(got, []string{"m3", "m4"}) {
		t.Errorf("Pending(A) = %q, want [m3 m4]", got)
	}
	if _, err := s.Ack(ctx, "B", "m2", deliveredReceipt(t, "m2", "B", t0)); err != nil {
		t.Fatal(err)
	}
	if got := pending(t, s, "B"); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("Pending(B) = %q, want [m1]", got)
	}
}

func TestOpenWhileInUse(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, Options{})
	start := time.Now()
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatal("second Open succeeded")
	}
	wantErr(t, err, ErrLocked)
	if !strings.Contains(err.Error(), "hub database is in use by another process (is lthub serve running?)") {
		t.Errorf("error %q does not say the database is in use", err)
	}
	if d := time.Since(start); d < openTimeout/2 || d > 10*openTimeout {
		t.Errorf("second Open gave up after %v, want about %v", d, openTimeout)
	}
}

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "hub")
	openStore(t, dir, Options{})
	fi, err := os.Stat(filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("hub.db mode = %v, want 0600", fi.Mode().Perm())
	}
	for _, d := range []string{"blobs", "blobs/tmp"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v, want a directory", d, err)
		}
	}
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDoc(t, s, "m1", "s", []string{"A"}, []byte("file"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	for name, call := range map[string]func() error{
		"Accept":      func() error { _, _, err := s.Accept(ctx, d); return err },
		"Ack":         func() error { _, err := s.Ack(ctx, "A", "m1", deliveredReceipt(t, "m1", "A", t0)); return err },
		"PutAgencies": func() error { return s.PutAgencies(ctx, []*lienthongv1.Agency{{Code: "A"}}) },
		"Agencies":    func() error { _, err := s.Agencies(ctx); return err },
		"Document":    func() error { _, err := s.Document(ctx, "m1"); return err },
		"Pending":     func() error { _, err := s.Pending(ctx, "A"); return err },
		"Receipts":    func() error { _, err := s.Receipts(ctx, "m1", ""); return err },
		"Statuses":    func() error { _, err := s.Statuses(ctx, "m1"); return err },
		"Stats":       func() error { _, err := s.Stats(ctx); return err },
		"NewBlob":     func() error { _, err := s.NewBlob(); return err },
		"SweepBlobs":  func() error { _, err := s.SweepBlobs(ctx); return err },
	} {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestAcceptHonoursContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		s := openStore(t, t.TempDir(), Options{})
		d := newDoc(t, s, "m1", "s", []string{"A"}, []byte("file"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := s.Accept(ctx, d)
		wantErr(t, err, context.Canceled)
		if want := (counts{}); countsOf(t, s) != want {
			t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
		}
	})
	t.Run("cancelled while waiting for the batch", func(t *testing.T) {
		s := openStore(t, t.TempDir(), Options{})
		d := newDoc(t, s, "m1", "s", []string{"A"}, []byte("file"))
		_, release := holdCommitter(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := s.Accept(ctx, d)
		wantErr(t, err, context.DeadlineExceeded)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("Accept returned after %v, want soon after the deadline", el)
		}
		release()
		_, err = s.Document(context.Background(), "m1")
		wantErr(t, err, ErrNotFound)
		if want := (counts{}); countsOf(t, s) != want {
			t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
		}
		// Close flushes the queue: the abandoned write must not run.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if c, w := s.b.commits.Load(), s.b.writes.Load(); c != 1 || w != 1 {
			t.Errorf("%d writes in %d commits, want only the parked one", w, c)
		}
	})
}

func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	chA, cancelA := s.Subscribe("A")
	chA2, cancelA2 := s.Subscribe("A")
	defer cancelA2()
	chB, cancelB := s.Subscribe("B")
	defer cancelB()
	signalled := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	// Two commits before anyone reads: one buffered signal, no blocking.
	accept(t, s, newDoc(t, s, "m1", "s", []string{"A"}))
	accept(t, s, newDoc(t, s, "m2", "s", []string{"A"}))
	if !signalled(chA) || !signalled(chA2) {
		t.Error("A's subscribers not signalled")
	}
	if signalled(chA) || signalled(chB) {
		t.Error("extra signal")
	}
	if _, err := s.Ack(ctx, "A", "m1", deliveredReceipt(t, "m1", "A", t0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Accept(ctx, newDoc(t, s, "m1", "s", []string{"A"})); err != nil {
		t.Fatal(err)
	}
	if signalled(chA) {
		t.Error("ack or duplicate accept signalled A")
	}
	cancelA()
	cancelA() // idempotent
	accept(t, s, newDoc(t, s, "m3", "s", []string{"A", "B"}))
	if signalled(chA) {
		t.Error("cancelled subscription signalled")
	}
	if !signalled(chA2) || !signalled(chB) {
		t.Error("A's other subscriber or B not signalled")
	}
}
