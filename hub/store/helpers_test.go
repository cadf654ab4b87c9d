package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// t0 is the accepted time of test documents; acks happen later.
var t0 = time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)

// openStore opens a store in dir and closes it when the test ends.
func openStore(tb testing.TB, dir string, opts Options) *Store {
	tb.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func signedEnvelope(tb testing.TB, id, sender, subject string) *lienthongv1.SignedEnvelope {
	tb.Helper()
	env, err := proto.Marshal(&lienthongv1.Envelope{MessageId: id, Sender: sender, Subject: subject})
	if err != nil {
		tb.Fatal(err)
	}
	return &lienthongv1.SignedEnvelope{Envelope: env, Signature: []byte{}}
}

func receipt(tb testing.TB, body *lienthongv1.ReceiptBody) *lienthongv1.Receipt {
	tb.Helper()
	b, err := proto.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return &lienthongv1.Receipt{Body: b, Signature: []byte{}}
}

func acceptedReceipt(tb testing.TB, id string, recipients []string) *lienthongv1.Receipt {
	tb.Helper()
	return receipt(tb, &lienthongv1.ReceiptBody{
		ReceiptId: "acc-" + id, MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: recipients, Time: timestamppb.New(t0),
	})
}

func deliveredReceipt(tb testing.TB, id, agency string, at time.Time) *lienthongv1.Receipt {
	tb.Helper()
	return receipt(tb, &lienthongv1.ReceiptBody{
		ReceiptId: "dlv-" + id + "-" + agency + "-" + at.Format(time.RFC3339Nano), MessageId: id,
		Status: lienthongv1.Status_STATUS_DELIVERED, Agency: agency, Time: timestamppb.New(at),
	})
}

// putBlob stores data as a committed (pinned) blob.
func putBlob(tb testing.TB, s *Store, data []byte) BlobRef {
	tb.Helper()
	w, err := s.NewBlob()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	ref, err := w.Commit(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return ref
}

// newDoc builds a document from sender S whose envelope's subject is
// subject, with one committed blob per file.
func newDoc(tb testing.TB, s *Store, id, subject string, recipients []string, files ...[]byte) *Document {
	tb.Helper()
	env := signedEnvelope(tb, id, "S", subject)
	d := &Document{
		MessageID:      id,
		Sender:         "S",
		Envelope:       env,
		EnvelopeSHA256: sha256.Sum256(env.GetEnvelope()),
		Recipients:     recipients,
		Accepted:       acceptedReceipt(tb, id, recipients),
		Verification:   &lienthongv1.Verification{Verdict: "valid", EnvelopeSignatureValid: true},
	}
	for _, f := range files {
		d.Files = append(d.Files, putBlob(tb, s, f))
	}
	return d
}

// accept stores a new document and fails the test unless it was stored.
func accept(tb testing.TB, s *Store, d *Document) *Document {
	tb.Helper()
	stored, dup, err := s.Accept(context.Background(), d)
	if err != nil || dup {
		tb.Fatalf("Accept(%s) = duplicate %v, %v; want stored", d.MessageID, dup, err)
	}
	return stored
}

func stats(tb testing.TB, s *Store) Stats {
	tb.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// counts is Stats without the committer's counters, for exact comparisons.
type counts struct{ Documents, Pending, Blobs, TmpFiles int }

func countsOf(tb testing.TB, s *Store) counts {
	tb.Helper()
	st := stats(tb, s)
	return counts{st.Documents, st.Pending, st.Blobs, st.TmpFiles}
}

func pending(tb testing.TB, s *Store, recipient string) []string {
	tb.Helper()
	ids, err := s.Pending(context.Background(), recipient)
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

func readBlob(tb testing.TB, s *Store, ref BlobRef) []byte {
	tb.Helper()
	f, err := s.OpenBlob(ref)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func wantErr(tb testing.TB, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("error = %v, want %v", err, target)
	}
}
