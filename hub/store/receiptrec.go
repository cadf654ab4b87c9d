package store

import (
	"crypto/sha256"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Receipts are stored without the hub certificate each one carries (about
// 700 of a receipt's 950 bytes, and the same in nearly every receipt): the
// certificate goes once into the certs bucket and the stored receipt names
// it by SHA-256 in field certRefField, which the Receipt message does not
// use. Readers put the certificate back, so callers always get whole
// receipts; a receipt stored whole (before layout version 3) reads as is.
//
//	certs  SHA-256 (32 bytes) → certificate DER
var bucketCerts = []byte("certs")

const certRefField protowire.Number = 15

// packedReceipt is a receipt ready to store.
type packedReceipt struct {
	raw     []byte
	cert    []byte // to store in certs; nil if the receipt has none
	certSum [32]byte
}

func packReceipt(r *lienthongv1.Receipt) (packedReceipt, error) {
	cert := r.GetCertificate()
	bare := &lienthongv1.Receipt{Body: r.GetBody(), Signature: r.GetSignature()}
	raw, err := proto.Marshal(bare)
	if err != nil {
		return packedReceipt{}, fmt.Errorf("encoding receipt: %w", err)
	}
	if len(cert) == 0 {
		return packedReceipt{raw: raw}, nil
	}
	sum := sha256.Sum256(cert)
	raw = protowire.AppendTag(raw, certRefField, protowire.BytesType)
	raw = protowire.AppendBytes(raw, sum[:])
	return packedReceipt{raw: raw, cert: cert, certSum: sum}, nil
}

// store records the receipt's certificate, once per certificate.
func (p packedReceipt) storeCert(tx *bolt.Tx) error {
	if p.cert == nil {
		return nil
	}
	certs := tx.Bucket(bucketCerts)
	if certs.Get(p.certSum[:]) != nil {
		return nil
	}
	if err := certs.Put(p.certSum[:], p.cert); err != nil {
		return fmt.Errorf("storing the hub certificate: %w", err)
	}
	return nil
}

// unpackReceipt decodes a stored receipt into out and puts its
// certificate back from tx's certs bucket.
func unpackReceipt(tx *bolt.Tx, raw []byte, out *lienthongv1.Receipt) error {
	if err := proto.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding receipt: %w", err)
	}
	unknown := out.ProtoReflect().GetUnknown()
	if len(unknown) == 0 {
		return nil
	}
	for b := unknown; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("decoding receipt: bad field")
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("decoding receipt: bad field")
		}
		if num == certRefField && typ == protowire.BytesType {
			ref, _ := protowire.ConsumeBytes(b)
			cert := tx.Bucket(bucketCerts).Get(ref)
			if cert == nil {
				return fmt.Errorf("decoding receipt: certificate %x is not stored", ref)
			}
			out.Certificate = append([]byte(nil), cert...)
		}
		b = b[n:]
	}
	out.ProtoReflect().SetUnknown(nil)
	return nil
}
