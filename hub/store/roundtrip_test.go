package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// wire returns m's deterministic encoding, so that messages can be
// compared byte for byte.
func wire(tb testing.TB, m proto.Message) []byte {
	tb.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// sameWire reports whether two lists of messages encode to the same bytes,
// one by one.
func sameWire[M proto.Message](tb testing.TB, got, want []M) bool {
	tb.Helper()
	return slices.EqualFunc(got, want, func(a, b M) bool { return bytes.Equal(wire(tb, a), wire(tb, b)) })
}

// signalled reports whether ch holds a signal, consuming it.
func signalled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestDocumentRoundTrip accepts documents of several shapes and reads each
// back: every field of Document, the blobs' bytes, the queues, statuses,
// receipts and counters must be exactly what was accepted.
func TestDocumentRoundTrip(t *testing.T) {
	bigSubject := strings.Repeat("Trích yếu rất dài. ", 5000) // ~100 KB envelope
	for _, tc := range []struct {
		name           string
		id             string
		subject        string
		recipients     []string
		files          [][]byte
		verification   *lienthongv1.Verification
		wantRecipients []string
		wantBlobs      int
	}{
		{
			name: "no files, no verification", id: "m1", subject: "s",
			recipients: []string{"A"}, wantRecipients: []string{"A"},
		},
		{
			name: "repeated recipients keep first-seen order", id: "m1", subject: "s",
			recipients: []string{"C", "A", "C", "B", "A"}, files: [][]byte{[]byte("one"), []byte("two")},
			verification:   &lienthongv1.Verification{Verdict: "valid", EnvelopeSignatureValid: true},
			wantRecipients: []string{"C", "A", "B"}, wantBlobs: 2,
		},
		{
			name: "same file twice", id: "m1", subject: "s",
			recipients: []string{"A"}, files: [][]byte{[]byte("same"), []byte("same")},
			wantRecipients: []string{"A"}, wantBlobs: 1,
		},
		{
			name: "empty file", id: "m1", subject: "s",
			recipients: []string{"A"}, files: [][]byte{{}},
			wantRecipients: []string{"A"}, wantBlobs: 1,
		},
		{
			name: "Vietnamese id and agency codes, big envelope", id: "UBND-VP/2026/Công văn số 123",
			subject: bigSubject, recipients: []string{"000.00.31.H53", "000.12.31.H53"},
			files: [][]byte{bytes.Repeat([]byte{0xAB}, 300<<10)},
			verification: &lienthongv1.Verification{Verdict: "modified", Files: []*lienthongv1.FileVerification{
				{Name: "cv.pdf", Verdict: "valid", Signers: []string{"Nguyễn Văn A", "UBND tỉnh"}, Detail: "2 chữ ký"},
				{Name: "phu-luc.pdf", Verdict: "unsigned"},
			}},
			wantRecipients: []string{"000.00.31.H53", "000.12.31.H53"}, wantBlobs: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, t.TempDir(), Options{})
			d := newDoc(t, s, tc.id, tc.subject, tc.recipients, tc.files...)
			d.Envelope.Signature = []byte("envelope signature")
			d.Accepted.Signature = []byte("hub signature")
			d.Accepted.Certificate = []byte("hub certificate")
			d.Verification = tc.verification

			stored, dup, err := s.Accept(ctx, d)
			if err != nil || dup {
				t.Fatalf("Accept = duplicate %v, %v; want stored", dup, err)
			}
			got, err := s.Document(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				doc  *Document
			}{{"Accept", stored}, {"Document", got}} {
				g := c.doc
				if g.MessageID != tc.id || g.Sender != "S" || g.EnvelopeSHA256 != sha256.Sum256(d.Envelope.GetEnvelope()) {
					t.Errorf("%s: id %q sender %q sum %x; want %q S %x", c.what, g.MessageID, g.Sender, g.EnvelopeSHA256, tc.id, sha256.Sum256(d.Envelope.GetEnvelope()))
				}
				if !bytes.Equal(wire(t, g.Envelope), wire(t, d.Envelope)) {
					t.Errorf("%s: envelope bytes differ", c.what)
				}
				if !bytes.Equal(wire(t, g.Accepted), wire(t, d.Accepted)) {
					t.Errorf("%s: accepted receipt %v, want %v", c.what, g.Accepted, d.Accepted)
				}
				if (g.Verification == nil) != (tc.verification == nil) || !proto.Equal(g.Verification, tc.verification) {
					t.Errorf("%s: verification %v, want %v", c.what, g.Verification, tc.verification)
				}
				if !slices.Equal(g.Recipients, tc.wantRecipients) {
					t.Errorf("%s: recipients %q, want %q", c.what, g.Recipients, tc.wantRecipients)
				}
				if len(g.Files) != len(tc.files) || !slices.Equal(g.Files, d.Files) {
					t.Errorf("%s: files %v, want %v", c.what, g.Files, d.Files)
				}
				if g.Link != nil {
					t.Errorf("%s: link %+v, want nil", c.what, g.Link)
				}
			}
			for i, f := range got.Files {
				want := BlobRef{SHA256: sha256.Sum256(tc.files[i]), Size: int64(len(tc.files[i]))}
				if f != want {
					t.Errorf("file %d: ref %+v, want %+v", i, f, want)
				}
				if b := readBlob(t, s, f); !bytes.Equal(b, tc.files[i]) {
					t.Errorf("file %d: %d bytes read back, want %d", i, len(b), len(tc.files[i]))
				}
			}

			for _, r := range tc.wantRecipients {
				if p := pending(t, s, r); !slices.Equal(p, []string{tc.id}) {
					t.Errorf("Pending(%s) = %q, want [%s]", r, p, tc.id)
				}
			}
			sts, err := s.Statuses(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			var wantSts []*lienthongv1.RecipientStatus
			for _, r := range slices.Sorted(slices.Values(tc.wantRecipients)) {
				wantSts = append(wantSts, &lienthongv1.RecipientStatus{Agency: r, Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)})
			}
			if !sameWire(t, sts, wantSts) {
				t.Errorf("Statuses = %v, want %v", sts, wantSts)
			}
			rs, err := s.Receipts(ctx, tc.id, "")
			if err != nil {
				t.Fatal(err)
			}
			if !sameWire(t, rs, []*lienthongv1.Receipt{d.Accepted}) {
				t.Errorf("Receipts = %v, want the accepted receipt only", rs)
			}
			want := counts{Documents: 1, Pending: len(tc.wantRecipients), Blobs: tc.wantBlobs}
			if got := countsOf(t, s); got != want {
				t.Errorf("counts = %+v, want %+v", got, want)
			}
		})
	}
}

// TestResendLeavesStoreUnchanged re-sends a stored message id: with the
// same envelope it is a duplicate that returns the stored document, with
// another a conflict; either way everything readable from the store is
// unchanged, the re-send's own blob is gone unless the stored document
// uses the same bytes, and no subscriber is woken.
func TestResendLeavesStoreUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name       string
		subject    string // the original's is "original"
		file       string // the original's is "original file"
		recipients []string
		conflict   bool
	}{
		{name: "duplicate, same file", subject: "original", file: "original file", recipients: []string{"A", "B"}},
		{name: "duplicate, other file, other recipients", subject: "original", file: "other file", recipients: []string{"C"}},
		{name: "conflict, other file", subject: "changed", file: "other file", recipients: []string{"A", "B"}, conflict: true},
		{name: "conflict, same file", subject: "changed", file: "original file", recipients: []string{"C"}, conflict: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, t.TempDir(), Options{})
			orig := accept(t, s, newDoc(t, s, "m1", "original", []string{"A", "B"}, []byte("original file")))
			if _, err := s.Ack(ctx, "B", "m1", deliveredReceipt(t, "m1", "B", t0.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
			ids, agencies := []string{"m1"}, []string{"A", "B", "C"}
			before := snapshot(t, s, ids, agencies)
			subs := make(map[string]<-chan struct{})
			for _, a := range agencies {
				ch, cancel := s.Subscribe(a)
				defer cancel()
				subs[a] = ch
			}

			again := newDoc(t, s, "m1", tc.subject, tc.recipients, []byte(tc.file))
			again.Accepted = receipt(t, &lienthongv1.ReceiptBody{
				ReceiptId: "acc-again", MessageId: "m1", Status: lienthongv1.Status_STATUS_ACCEPTED,
				Recipients: tc.recipients, Time: timestamppb.New(t0.Add(time.Hour)),
			})
			stored, dup, err := s.Accept(ctx, again)
			if tc.conflict {
				wantErr(t, err, ErrConflict)
				if stored != nil || dup {
					t.Errorf("Accept = %v, duplicate %v with a conflict; want nil, false", stored, dup)
				}
			} else {
				if err != nil || !dup {
					t.Fatalf("Accept = duplicate %v, %v; want a duplicate", dup, err)
				}
				if !bytes.Equal(wire(t, stored.Accepted), wire(t, orig.Accepted)) || !slices.Equal(stored.Recipients, orig.Recipients) ||
					!slices.Equal(stored.Files, orig.Files) || stored.EnvelopeSHA256 != orig.EnvelopeSHA256 {
					t.Errorf("duplicate returned %+v, want the stored %+v", stored, orig)
				}
			}
			if after := snapshot(t, s, ids, agencies); after != before {
				t.Errorf("store changed by the re-send:\n%s\nwant:\n%s", after, before)
			}
			if tc.file != "original file" {
				_, err := s.OpenBlob(again.Files[0])
				wantErr(t, err, ErrNotFound)
			}
			for a, ch := range subs {
				if signalled(ch) {
					t.Errorf("subscriber of %s woken by the re-send", a)
				}
			}
		})
	}
}

// TestAckLifecycle follows one delivery: Ack dequeues it, records DELIVERED
// at the receipt's time and appends the receipt; a second Ack returns the
// first receipt byte for byte and stores nothing; Acks for deliveries that
// do not exist are ErrNotFound, including ids and codes that are prefixes
// or extensions of real ones.
func TestAckLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	m1 := accept(t, s, newDoc(t, s, "m1", "s", []string{"A", "B", "AB"}))
	accept(t, s, newDoc(t, s, "m2", "s", []string{"A"}))
	accept(t, s, newDoc(t, s, "m10", "s", []string{"A"}))
	if want := (counts{Documents: 3, Pending: 5}); countsOf(t, s) != want {
		t.Fatalf("counts = %+v, want %+v", countsOf(t, s), want)
	}

	t1 := t0.Add(3*time.Minute + 123456789*time.Nanosecond)
	first := deliveredReceipt(t, "m1", "A", t1)
	first.Signature = []byte("node signature")
	got, err := s.Ack(ctx, "A", "m1", first)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire(t, got), wire(t, first)) {
		t.Errorf("Ack returned %v, want the receipt given", got)
	}
	for r, want := range map[string][]string{"A": {"m2", "m10"}, "B": {"m1"}, "AB": {"m1"}} {
		if p := pending(t, s, r); !slices.Equal(p, want) {
			t.Errorf("Pending(%s) = %q, want %q", r, p, want)
		}
	}
	wantSts := []*lienthongv1.RecipientStatus{
		{Agency: "A", Status: lienthongv1.Status_STATUS_DELIVERED, Time: timestamppb.New(t1)},
		{Agency: "AB", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)},
		{Agency: "B", Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(t0)},
	}
	if sts, err := s.Statuses(ctx, "m1"); err != nil || !sameWire(t, sts, wantSts) {
		t.Errorf("Statuses = %v, %v; want %v", sts, err, wantSts)
	}
	if rs, err := s.Receipts(ctx, "m1", ""); err != nil || !sameWire(t, rs, []*lienthongv1.Receipt{m1.Accepted, first}) {
		t.Errorf("Receipts = %v, %v; want accepted, delivered", rs, err)
	}
	if want := (counts{Documents: 3, Pending: 4}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}

	ids, agencies := []string{"m1", "m2", "m10"}, []string{"A", "B", "AB"}
	before := snapshot(t, s, ids, agencies)
	second := deliveredReceipt(t, "m1", "A", t1.Add(time.Hour))
	got, err = s.Ack(ctx, "A", "m1", second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire(t, got), wire(t, first)) {
		t.Errorf("second Ack returned %v, want the first receipt %v", got, first)
	}
	if after := snapshot(t, s, ids, agencies); after != before {
		t.Errorf("second Ack changed the store:\n%s\nwant:\n%s", after, before)
	}

	for _, tc := range []struct{ name, recipient, id string }{
		{"not a recipient", "C", "m1"},
		{"recipient of another message", "B", "m2"},
		{"unknown message", "A", "nope"},
		{"id that is a prefix of a stored one", "A", "m"},
		{"id that extends a stored one", "B", "m10"},
		{"empty code, a prefix of every code", "", "m1"},
		{"code that extends a recipient's", "ABC", "m1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Ack(ctx, tc.recipient, tc.id, deliveredReceipt(t, tc.id, tc.recipient, t1))
			wantErr(t, err, ErrNotFound)
		})
	}
	if after := snapshot(t, s, ids, agencies); after != before {
		t.Errorf("refused Acks changed the store:\n%s\nwant:\n%s", after, before)
	}
}

// TestReceiptsPerAgency checks the agency filter of Receipts and that one
// message's receipts never show up under another whose id extends it.
func TestReceiptsPerAgency(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	m1 := accept(t, s, newDoc(t, s, "m1", "s", []string{"A", "B", "C"}))
	m10 := accept(t, s, newDoc(t, s, "m10", "s", []string{"A"}))
	ack := func(agency, id string, at time.Time) *lienthongv1.Receipt {
		t.Helper()
		r := deliveredReceipt(t, id, agency, at)
		if _, err := s.Ack(ctx, agency, id, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	rB := ack("B", "m1", t0.Add(time.Minute))
	r10 := ack("A", "m10", t0.Add(2*time.Minute))
	rA := ack("A", "m1", t0.Add(3*time.Minute))

	for _, tc := range []struct {
		id, agency string
		want       []*lienthongv1.Receipt
	}{
		{"m1", "", []*lienthongv1.Receipt{m1.Accepted, rB, rA}},
		{"m1", "A", []*lienthongv1.Receipt{m1.Accepted, rA}},
		{"m1", "B", []*lienthongv1.Receipt{m1.Accepted, rB}},
		{"m1", "C", []*lienthongv1.Receipt{m1.Accepted}},
		{"m1", "Z", []*lienthongv1.Receipt{m1.Accepted}},
		{"m10", "", []*lienthongv1.Receipt{m10.Accepted, r10}},
		{"m10", "A", []*lienthongv1.Receipt{m10.Accepted, r10}},
		{"m10", "B", []*lienthongv1.Receipt{m10.Accepted}},
	} {
		t.Run(tc.id+"/agency="+tc.agency, func(t *testing.T) {
			got, err := s.Receipts(ctx, tc.id, tc.agency)
			if err != nil {
				t.Fatal(err)
			}
			if !sameWire(t, got, tc.want) {
				t.Errorf("Receipts(%s, %q) = %v, want %v", tc.id, tc.agency, got, tc.want)
			}
		})
	}
	for _, id := range []string{"m", "m100", ""} {
		_, err := s.Receipts(ctx, id, "")
		wantErr(t, err, ErrNotFound)
	}
}

// TestEmptyBlobDocument stores a document whose only file is empty and
// reads it back after reopening.
func TestEmptyBlobDocument(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := w.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (BlobRef{SHA256: sha256.Sum256(nil), Size: 0}); ref != want {
		t.Fatalf("Commit of nothing = %+v, want %+v", ref, want)
	}
	d := newDoc(t, s, "m1", "s", []string{"A"})
	d.Files = []BlobRef{ref}
	accept(t, s, d)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, Options{})
	got, err := s.Document(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Files, []BlobRef{ref}) {
		t.Errorf("Files = %v, want [%v]", got.Files, ref)
	}
	if b := readBlob(t, s, ref); len(b) != 0 {
		t.Errorf("empty blob reads as %d bytes", len(b))
	}
	if want := (counts{Documents: 1, Pending: 1, Blobs: 1}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
}

// TestStatusTimeOutsideNanosecondRange accepts a receipt whose time is
// valid for timestamppb (years 1 to 9999) but outside what
// time.Time.UnixNano can represent (1678 to 2262): Accept refuses it, or
// Statuses reports it as given.
func TestStatusTimeOutsideNanosecondRange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	for _, at := range []time.Time{
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		id := at.Format("2006")
		d := newDoc(t, s, id, "s", []string{"A"})
		d.Accepted = receipt(t, &lienthongv1.ReceiptBody{MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.New(at)})
		if _, _, err := s.Accept(ctx, d); err != nil {
			continue // refusing such a time is fine too
		}
		sts, err := s.Statuses(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := sts[0].GetTime().AsTime(); !got.Equal(at) {
			t.Errorf("status time = %v, want %v", got, at)
		}
	}
}
