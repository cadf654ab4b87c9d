package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// A received document's folder holds its files, the delivery header (the
// signed envelope and the hub's accepted receipt, verifiable offline) and
// the delivered receipt, and nothing is left half-written beside it.
func TestInboxFolderLayout(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	pdf, sum := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Quyet dinh"})
	sent, err := client(t, h.Addr(), dir, commune).Send(ctx, node.Document{Recipients: []string{district}, Number: "7",
		Notation: "QĐ-UBND", Subject: "Bố cục hộp thư", Files: []node.File{{Path: pdf}}}, nil)
	must(t, err)

	rcv := client(t, h.Addr(), dir, district)
	out := filepath.Join(t.TempDir(), "in")
	var got []*node.Received
	must(t, rcv.ReceiveInto(ctx, out, node.ReceiveOptions{}, func(r *node.Received) error {
		got = append(got, r)
		return nil
	}))
	if len(got) != 1 || got[0].MessageID != sent.MessageID {
		t.Fatalf("received %+v, want message %s", got, sent.MessageID)
	}
	entries, err := os.ReadDir(out)
	must(t, err)
	if len(entries) != 1 || entries[0].Name() != sent.MessageID {
		t.Errorf("inbox holds %v, want only the folder %s", entries, sent.MessageID)
	}
	folder := filepath.Join(out, sent.MessageID)
	var names []string
	entries, err = os.ReadDir(folder)
	must(t, err)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"qd.pdf", node.DeliveryFile, node.DeliveredFile}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("document folder holds %v, want %v", names, want)
	}
	if s := fileSHA256(t, filepath.Join(folder, "qd.pdf")); s != sum {
		t.Errorf("file sha256 %s, want %s", s, sum)
	}

	roots := rcv.Identity().Roots
	raw, err := os.ReadFile(filepath.Join(folder, node.DeliveryFile))
	must(t, err)
	hdr := new(lienthongv1.DeliveryHeader)
	must(t, proto.Unmarshal(raw, hdr))
	env := new(lienthongv1.Envelope)
	must(t, proto.Unmarshal(hdr.GetEnvelope().GetEnvelope(), env))
	if env.GetMessageId() != sent.MessageID || env.GetSubject() != "Bố cục hộp thư" || len(hdr.GetEnvelope().GetSignature()) == 0 {
		t.Errorf("stored envelope %v, signature %d bytes", env, len(hdr.GetEnvelope().GetSignature()))
	}
	body, err := receipt.Verify(hdr.GetAccepted(), roots)
	must(t, err)
	if body.GetMessageId() != sent.MessageID || body.GetStatus() != lienthongv1.Status_STATUS_ACCEPTED {
		t.Errorf("stored accepted receipt says %v", body)
	}

	raw, err = os.ReadFile(filepath.Join(folder, node.DeliveredFile))
	must(t, err)
	delivered := new(lienthongv1.Receipt)
	must(t, proto.Unmarshal(raw, delivered))
	body, err = receipt.Verify(delivered, roots)
	must(t, err)
	if body.GetMessageId() != sent.MessageID || body.GetStatus() != lienthongv1.Status_STATUS_DELIVERED || body.GetAgency() != district {
		t.Errorf("stored delivered receipt says %v", body)
	}
}
