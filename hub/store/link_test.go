package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func revokedReceipt(t *testing.T, original, agency string) *lienthongv1.Receipt {
	t.Helper()
	return receipt(t, &lienthongv1.ReceiptBody{
		ReceiptId: "rev-" + original + "-" + agency, MessageId: original, Status: lienthongv1.Status_STATUS_REVOKED,
		Agency: agency, Time: timestamppb.New(t0.Add(time.Hour)),
	})
}

// TestRevocationWithdrawsUnfetched accepts a revocation of a message one
// recipient has acknowledged and one has not: the latter's delivery is
// withdrawn in the same transaction.
func TestRevocationWithdrawsUnfetched(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	accept(t, s, newDoc(t, s, "orig", "s", []string{"A", "B"}, []byte("pdf")))
	if _, err := s.Ack(ctx, "A", "orig", deliveredReceipt(t, "orig", "A", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	rev := newDoc(t, s, "rev", "revoke", []string{"A", "B"})
	rev.Link = &Link{Original: "orig", BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, Revoked: map[string]*lienthongv1.Receipt{
		"B": revokedReceipt(t, "orig", "B"),
		"A": revokedReceipt(t, "orig", "A"),
	}}
	accept(t, s, rev)

	for r, want := range map[string][]string{"A": {"rev"}, "B": {"rev"}} {
		if got := pending(t, s, r); !slices.Equal(got, want) {
			t.Errorf("Pending(%s) = %q, want %q", r, got, want)
		}
	}
	if got := stats(t, s).Pending; got != 2 {
		t.Errorf("Stats.Pending = %d, want 2", got)
	}
	st, err := s.Statuses(ctx, "orig")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].GetStatus() != lienthongv1.Status_STATUS_DELIVERED || st[1].GetStatus() != lienthongv1.Status_STATUS_REVOKED {
		t.Errorf("Statuses(orig) = %v, want A delivered, B revoked", st)
	}
	_, err = s.Ack(ctx, "B", "orig", deliveredReceipt(t, "orig", "B", t0.Add(2*time.Hour)))
	wantErr(t, err, ErrRevoked)
	links, err := s.Links(ctx, "orig")
	if err != nil || !slices.Equal(links, []string{"rev"}) {
		t.Errorf("Links(orig) = %q, %v; want [rev]", links, err)
	}
}

// TestRevocationWithBadReceiptStoresNothing: a revoked receipt that fails
// its check inside Accept's transaction must undo the whole document, not
// just report an error.
func TestRevocationWithBadReceiptStoresNothing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	accept(t, s, newDoc(t, s, "orig", "s", []string{"B"}))
	rev := newDoc(t, s, "rev", "revoke", []string{"B"}, []byte("letter"))
	rev.Link = &Link{Original: "orig", BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE, Revoked: map[string]*lienthongv1.Receipt{
		"B": revokedReceipt(t, "other", "B"), // about another message
	}}
	if _, _, err := s.Accept(ctx, rev); err == nil {
		t.Fatal("Accept with a bad revoked receipt succeeded")
	}
	_, err := s.Document(ctx, "rev")
	wantErr(t, err, ErrNotFound)
	if got := pending(t, s, "B"); !slices.Equal(got, []string{"orig"}) {
		t.Errorf("Pending(B) = %q, want [orig]", got)
	}
	if want := (counts{Documents: 1, Pending: 1}); countsOf(t, s) != want {
		t.Errorf("counts = %+v, want %+v", countsOf(t, s), want)
	}
	if links, err := s.Links(ctx, "orig"); err != nil || len(links) != 0 {
		t.Errorf("Links(orig) = %q, %v; want none", links, err)
	}
}
