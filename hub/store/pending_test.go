package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// PendingAfter lists a recipient's queue from a place on: what a reader
// has not seen yet, and nothing it has. Places grow, acknowledged entries
// leave, other recipients' entries never show.
func TestPendingAfter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	for _, id := range []string{"m1", "m2", "m3"} {
		accept(t, s, newDoc(t, s, id, "văn bản "+id, []string{"A", "B"}, []byte("nội dung "+id)))
	}
	all, err := s.PendingAfter(ctx, "A", 0)
	must(t, err)
	if got := queuedIDs(all); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("PendingAfter(A, 0) = %v", got)
	}
	if !slices.IsSortedFunc(all, func(a, b Queued) int { return int(a.Seq) - int(b.Seq) }) || all[0].Seq == 0 {
		t.Fatalf("places %v, want growing and above 0", all)
	}
	after, err := s.PendingAfter(ctx, "A", all[1].Seq)
	must(t, err)
	if got := queuedIDs(after); !slices.Equal(got, []string{"m3"}) {
		t.Errorf("PendingAfter(A, place of m2) = %v, want m3", got)
	}
	if _, err := s.Ack(ctx, "A", "m1", deliveredReceipt(t, "m1", "A", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	bAll, err := s.PendingAfter(ctx, "B", 0)
	must(t, err)
	accept(t, s, newDoc(t, s, "m4", "văn bản m4", []string{"A"}, []byte("nội dung m4")))
	for _, tc := range []struct {
		recipient string
		after     uint64
		want      []string
	}{
		{"A", 0, []string{"m2", "m3", "m4"}},
		{"A", all[2].Seq, []string{"m4"}},
		{"B", 0, []string{"m1", "m2", "m3"}},
		{"B", bAll[1].Seq, []string{"m3"}},
		{"B", bAll[2].Seq, nil},
		{"C", 0, nil},
	} {
		got, err := s.PendingAfter(ctx, tc.recipient, tc.after)
		must(t, err)
		if !slices.Equal(queuedIDs(got), tc.want) {
			t.Errorf("PendingAfter(%s, %d) = %v, want %v", tc.recipient, tc.after, queuedIDs(got), tc.want)
		}
	}
	if p := pending(t, s, "A"); !slices.Equal(p, []string{"m2", "m3", "m4"}) {
		t.Errorf("Pending(A) = %v", p)
	}
}

// NoticesAfter lists an agency's notifications from a place on.
func TestNoticesAfter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	d := accept(t, s, newDoc(t, s, "m1", "hỏng", []string{"A", "B"}, []byte("nội dung")))
	at := t0.Add(time.Hour)
	_, err := s.Quarantine(ctx, Quarantine{
		Record:   &lienthongv1.QuarantinedDocument{MessageId: "m1", Sender: "S", FoundBy: "scrub", FoundAt: timestamppb.New(at)},
		Blob:     d.Files[0],
		Receipts: map[string]*lienthongv1.Receipt{"A": quarantinedReceipt(t, "m1", "A", at), "B": quarantinedReceipt(t, "m1", "B", at)},
	})
	must(t, err)
	all, err := s.NoticesAfter(ctx, "S", 0)
	must(t, err)
	if len(all) != 2 || all[0].ReceiptID != "q-m1-A" || all[1].ReceiptID != "q-m1-B" || all[0].Seq >= all[1].Seq {
		t.Fatalf("NoticesAfter(S, 0) = %+v", all)
	}
	rest, err := s.NoticesAfter(ctx, "S", all[0].Seq)
	must(t, err)
	if len(rest) != 1 || rest[0].ReceiptID != "q-m1-B" || rest[0].Receipt.GetBody() == nil {
		t.Errorf("NoticesAfter(S, first) = %+v, want B's", rest)
	}
	none, err := s.NoticesAfter(ctx, "S", all[1].Seq)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("NoticesAfter(S, last) = %+v, want none", none)
	}
}

func queuedIDs(q []Queued) []string {
	var ids []string
	for _, e := range q {
		ids = append(ids, e.MessageID)
	}
	return ids
}
