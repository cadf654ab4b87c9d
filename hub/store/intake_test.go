package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/envelope"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// decodedDoc builds a document as the hub's intake hands it over: the
// envelope decoded and hashed once (Decoded), the accepted receipt's body
// as it was encoded (AcceptedBody), Envelope and EnvelopeSHA256 left to
// the store.
func decodedDoc(tb testing.TB, s *Store, id string, number int, recipients []string, at time.Time, files ...[]byte) *Document {
	tb.Helper()
	raw, err := proto.Marshal(&lienthongv1.Envelope{MessageId: id, Sender: "S", Subject: "s",
		BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: fmt.Sprint(number), Notation: "UBND",
		IssueDate: "2026-03-01", DueDate: "2026-03-10"})
	if err != nil {
		tb.Fatal(err)
	}
	dec, err := envelope.Decode(&lienthongv1.SignedEnvelope{Envelope: raw, Signature: []byte{}})
	if err != nil {
		tb.Fatal(err)
	}
	body := &lienthongv1.ReceiptBody{ReceiptId: "acc-" + id, MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: recipients, Time: timestamppb.New(at)}
	d := &Document{MessageID: id, Sender: "S", Decoded: dec, Recipients: recipients,
		Accepted: receipt(tb, body), AcceptedBody: body,
		Verification: &lienthongv1.Verification{Verdict: "valid", EnvelopeSignatureValid: true}}
	for _, f := range files {
		d.Files = append(d.Files, putBlob(tb, s, f))
	}
	return d
}

// A document handed over decoded is stored as one handed over as bytes:
// its record holds the signed envelope and its hash, a re-send is a
// duplicate, and the counters kept as documents arrive and are
// acknowledged (acknowledgements counted from the delivery's accepted
// time) equal a recount from the stored records.
func TestAcceptTakesDecodedFacts(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	// Accepted every 20 minutes across midnight in the province (17:00
	// UTC), acknowledged after delays in different buckets of the
	// counters' histogram: a fact off by an hour shows in the recount.
	var docs []*Document
	accepted := func(i int) time.Time { return t0.Add(8*time.Hour + time.Duration(i)*20*time.Minute) }
	for i := range 6 {
		id := fmt.Sprintf("m%d", i)
		d := decodedDoc(t, s, id, i+1, []string{"A", "B"}, accepted(i), []byte("file "+id))
		accept(t, s, d)
		docs = append(docs, d)
	}
	// The bytes path, for a mix in the recount.
	accept(t, s, newDoc(t, s, "plain", "x", []string{"A"}, []byte("plain")))
	delays := []time.Duration{5 * time.Second, 50 * time.Second, 4 * time.Minute, 14 * time.Minute}
	for i, d := range docs[:len(delays)] {
		if _, err := s.Ack(ctx, "A", d.MessageID, deliveredReceipt(t, d.MessageID, "A", accepted(i).Add(delays[i]))); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.Document(ctx, "m2")
	if err != nil {
		t.Fatal(err)
	}
	dec := docs[2].Decoded
	if !bytes.Equal(got.Envelope.GetEnvelope(), dec.Signed().GetEnvelope()) || got.EnvelopeSHA256 != dec.SHA256() {
		t.Errorf("stored envelope %x (hash %x), want the decoded one's (hash %x)", got.Envelope.GetEnvelope(), got.EnvelopeSHA256, dec.SHA256())
	}
	again := decodedDoc(t, s, "m2", 3, []string{"A", "B"}, t0, []byte("file m2"))
	if _, dup, err := s.Accept(ctx, again); err != nil || !dup {
		t.Errorf("re-send of m2: duplicate %v, %v; want a duplicate", dup, err)
	}

	check, err := s.CheckCounters(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(check.Differences) != 0 || check.Records == 0 {
		t.Errorf("counters against a recount: %d records, differences %q; want none", check.Records, check.Differences)
	}
	if c := countsOf(t, s); c != (counts{Documents: 7, Pending: 13 - 4, Blobs: 7}) {
		t.Errorf("store holds %+v", c)
	}
}

// What the caller decoded is still checked, by comparing fields: a
// document whose parts disagree is refused and leaves nothing.
func TestAcceptChecksDecodedFacts(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Document)
	}{
		{"another envelope than the decoded one", func(d *Document) {
			d.Envelope = proto.Clone(d.Decoded.Signed()).(*lienthongv1.SignedEnvelope)
		}},
		{"another hash than the decoded one", func(d *Document) { d.EnvelopeSHA256[0] ^= 1 }},
		{"receipt body about another message", func(d *Document) { d.AcceptedBody.MessageId = "other" }},
		{"receipt body with another status", func(d *Document) { d.AcceptedBody.Status = lienthongv1.Status_STATUS_DELIVERED }},
		{"receipt body without a receipt", func(d *Document) { d.Accepted = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			d := decodedDoc(t, s, "m", 1, []string{"A"}, t0, []byte("data"))
			d.EnvelopeSHA256 = d.Decoded.SHA256()
			tt.change(d)
			if _, _, err := s.Accept(context.Background(), d); err == nil {
				t.Fatal("Accept took it")
			}
			if c := countsOf(t, s); c != (counts{}) {
				t.Errorf("store holds %+v, want nothing", c)
			}
		})
	}
}

// Summary reads what decides who may act on a document, not its
// envelope, receipt or verification.
func TestSummary(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	d := accept(t, s, decodedDoc(t, s, "m", 1, []string{"B", "A", "B"}, t0, []byte("one"), []byte("two")))
	got, err := s.Summary(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != "m" || got.Sender != "S" || got.EnvelopeSHA256 != d.EnvelopeSHA256 ||
		!slices.Equal(got.Recipients, []string{"B", "A"}) || !slices.Equal(got.Files, d.Files) {
		t.Errorf("Summary = %+v, want the stored document's id, sender, hash, recipients and files (%+v)", got, d)
	}
	if got.Envelope != nil || got.Accepted != nil || got.Verification != nil {
		t.Errorf("Summary decoded envelope %v, receipt %v, verification %v; want none", got.Envelope, got.Accepted, got.Verification)
	}
	_, err = s.Summary(ctx, "nope")
	wantErr(t, err, ErrNotFound)
}

// A blob being written can be read back before Commit, without a flush;
// after Abort nothing of it remains and no flush ever happened.
func TestOpenWrittenBeforeCommit(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	var flushes atomic.Int64
	count := func(*os.File) error { flushes.Add(1); return nil }
	s.blobs.syncData, s.blobs.syncDir = count, count
	w, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("signed PDF "), 5000)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	f, err := w.OpenWritten()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(data))
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.OpenWritten(); err == nil {
		t.Error("OpenWritten after Abort succeeded")
	}
	if n := flushes.Load(); n != 0 {
		t.Errorf("%d flushes, want none", n)
	}
	if c := countsOf(t, s); c != (counts{}) {
		t.Errorf("store holds %+v, want nothing", c)
	}
}
