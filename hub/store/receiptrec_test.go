package store

import (
	"bytes"
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestReceiptCertificatesStoredOnce: every receipt a caller reads back
// carries the certificate it was stored with, while the database holds
// each certificate once.
func TestReceiptCertificatesStoredOnce(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	certA, certB := bytes.Repeat([]byte{0xA}, 700), bytes.Repeat([]byte{0xB}, 650) // the hub's certificate, then a renewed one
	withCert := func(r *lienthongv1.Receipt, cert []byte) *lienthongv1.Receipt {
		r.Certificate = cert
		return r
	}
	d := newDoc(t, s, "m1", "subject", []string{"R1", "R2"})
	d.Accepted = withCert(d.Accepted, certA)
	accept(t, s, d)
	delivered := withCert(deliveredReceipt(t, "m1", "R1", t0.Add(time.Minute)), certA)
	if _, err := s.Ack(ctx, "R1", "m1", delivered); err != nil {
		t.Fatal(err)
	}
	done := withCert(receipt(t, &lienthongv1.ReceiptBody{ReceiptId: "st-1", MessageId: "m1", Status: lienthongv1.Status_STATUS_RECEIVED,
		Agency: "R1", Time: timestamppb.New(t0.Add(2 * time.Minute))}), certB)
	if err := s.Transition(ctx, "m1", "R1", "S", done, func(lienthongv1.Status) error { return nil }); err != nil {
		t.Fatal(err)
	}

	got, err := s.Document(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.Accepted, d.Accepted) {
		t.Errorf("accepted receipt read back differs")
	}
	rs, err := s.Receipts(ctx, "m1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || !proto.Equal(rs[0], d.Accepted) || !proto.Equal(rs[1], delivered) || !proto.Equal(rs[2], done) {
		t.Fatalf("receipts read back: %v", rs)
	}
	again, err := s.Ack(ctx, "R1", "m1", withCert(deliveredReceipt(t, "m1", "R1", t0.Add(time.Hour)), certA))
	if err != nil || !proto.Equal(again, delivered) {
		t.Errorf("repeated Ack returned %v, %v; want the first receipt", again, err)
	}
	notices, err := s.Notices(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !proto.Equal(notices[0].Receipt, done) {
		t.Errorf("notices: %v", notices)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Two certificates stored, each once; no receipt holds one.
	editDB(t, dir, func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketCerts).Stats().KeyN; n != 2 {
			t.Errorf("%d certificates stored, want 2", n)
		}
		return tx.Bucket(bucketReceipts).ForEach(func(k, v []byte) error {
			if bytes.Contains(v, certA[:64]) || bytes.Contains(v, certB[:64]) {
				t.Errorf("receipt %x stored with its certificate", k)
			}
			return nil
		})
	})
}

// TestWholeReceiptsStillRead: receipts stored whole, as layout version 2
// did, read as they are.
func TestWholeReceiptsStillRead(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDoc(t, s, "m1", "subject", []string{"R1"})
	d.Accepted.Certificate = []byte("old certificate")
	accept(t, s, d)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := proto.Marshal(d.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	editDB(t, dir, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketCerts); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketCerts); err != nil {
			return err
		}
		return tx.Bucket(bucketReceipts).Put(seqKey("m1", 1), whole)
	})
	s = openStore(t, dir, Options{})
	rs, err := s.Receipts(context.Background(), "m1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !proto.Equal(rs[0], d.Accepted) {
		t.Fatalf("receipts: %v", rs)
	}
}
