package register

import (
	"bytes"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The register of documents sent keeps the exact signed envelope, so
// Resend can queue the document again unchanged with its files (checked
// against the envelope); a document unknown to the register, or one sent
// by an older version without a stored envelope, cannot be resent.
func TestResend(t *testing.T) {
	r, _, _ := openTest(t)
	signed, paths := signedDoc(t, newEnv("m1", "12", "Kế hoạch", "", district), "%PDF one")
	_, err := r.Queue(signed, paths)
	must(t, err)
	rcpt, body := acceptedReceipt("m1", r.now(), district)
	_, err = r.Forwarded(&Outgoing{MessageID: "m1"}, rcpt, body)
	must(t, err)
	s, err := r.SentDoc("m1")
	must(t, err)
	if !bytes.Equal(s.Envelope, signed.Envelope) || !bytes.Equal(s.Signature, signed.Signature) {
		t.Fatal("the sent register does not keep the signed envelope")
	}

	if _, err := r.Resend("m1", []string{writeFile(t, "x.pdf", "%PDF other")}); !errors.Is(err, ErrFileChanged) {
		t.Fatalf("Resend with another file = %v, want ErrFileChanged", err)
	}
	o, err := r.Resend("m1", []string{writeFile(t, "filea.pdf", "%PDF one")})
	must(t, err)
	if o.State != Queued || !bytes.Equal(o.Envelope, signed.Envelope) || !bytes.Equal(o.Signature, signed.Signature) {
		t.Fatalf("resent %+v", o)
	}
	if _, err := r.Resend("nope", paths); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resend of an unknown document = %v", err)
	}

	// An entry written by an older version has no envelope.
	s.Envelope, s.Signature = nil, nil
	must(t, r.update(func(tx *bolt.Tx) error { return put(tx, bucketSent, "m1", s) }))
	if _, err := r.Resend("m1", paths); !errors.Is(err, ErrNoEnvelope) {
		t.Fatalf("Resend without a stored envelope = %v, want ErrNoEnvelope", err)
	}
}
