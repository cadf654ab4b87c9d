package audit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

// chain makes a database with n entries, one a minute from t0, and a
// signed head; it returns the database and the signer's certificate.
func chain(t *testing.T, n int) (*bolt.DB, *x509.Certificate) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "a.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour * 24)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	err = db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			e, err := Append(tx, Entry{Time: t0.Add(time.Duration(i) * time.Minute), Kind: KindAccepted, Actor: "000.00.01.H53", Subject: "msg", Detail: "recipients=1"})
			if err != nil {
				return err
			}
			if e.Seq != uint64(i+1) {
				t.Errorf("entry %d got seq %d", i+1, e.Seq)
			}
		}
		_, err := SignHead(tx, key, cert, t0.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, cert
}

func verify(t *testing.T, db *bolt.DB, roots *x509.CertPool) *Result {
	t.Helper()
	var res *Result
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		res, err = Verify(context.Background(), tx, VerifyOptions{Roots: roots})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerifyIntact(t *testing.T) {
	db, cert := chain(t, 5)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	res := verify(t, db, roots)
	if res.Broken != nil || res.Entries != 5 || res.Head == nil || res.Head.Seq != 5 || res.Unsigned != 0 {
		t.Fatalf("intact chain: got %+v, broken %v", res, res.Broken)
	}
	// Entries after the head are reported unsigned, not broken.
	db.Update(func(tx *bolt.Tx) error { _, err := Append(tx, Entry{Kind: KindAdmin, Actor: "hub"}); return err })
	if res := verify(t, db, nil); res.Broken != nil || res.Unsigned != 1 {
		t.Fatalf("after one more entry: unsigned %d, broken %v", res.Unsigned, res.Broken)
	}
}

func TestVerifyNamesTamperedEntry(t *testing.T) {
	key := func(seq uint64) []byte { return seqKey(seq) }
	for _, tc := range []struct {
		name    string
		tamper  func(b *bolt.Bucket) error
		seq     uint64
		problem string
	}{
		{"byte changed", func(b *bolt.Bucket) error {
			v := bytes.Clone(b.Get(key(3)))
			i := bytes.Index(v, []byte("H53"))
			v[i+2] = '4' // H53 → H54: still valid JSON
			return b.Put(key(3), v)
		}, 3, "hash mismatch"},
		{"byte changed, unreadable", func(b *bolt.Bucket) error {
			v := bytes.Clone(b.Get(key(2)))
			v[0] = 'x'
			return b.Put(key(2), v)
		}, 2, "unreadable"},
		{"entry rewritten with a fresh hash", func(b *bolt.Bucket) error {
			var e Entry
			json.Unmarshal(b.Get(key(2)), &e)
			e.Actor = "000.00.02.H53"
			e.Hash = e.digest()
			v, _ := json.Marshal(&e)
			return b.Put(key(2), v)
		}, 3, "link to the previous entry broken"},
		{"entry deleted", func(b *bolt.Bucket) error { return b.Delete(key(4)) }, 4, "entry deleted"},
		{"pair reordered", func(b *bolt.Bucket) error {
			v2, v3 := bytes.Clone(b.Get(key(2))), bytes.Clone(b.Get(key(3)))
			if err := b.Put(key(2), v3); err != nil {
				return err
			}
			return b.Put(key(3), v2)
		}, 2, "entries reordered"},
		{"last entries cut off", func(b *bolt.Bucket) error {
			if err := b.Delete(key(5)); err != nil {
				return err
			}
			return b.Delete(key(4))
		}, 4, "entries removed from the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := chain(t, 5)
			if err := db.Update(func(tx *bolt.Tx) error { return tc.tamper(tx.Bucket(bucketEntries)) }); err != nil {
				t.Fatal(err)
			}
			res := verify(t, db, nil)
			if res.Broken == nil {
				t.Fatal("tampering not detected")
			}
			if res.Broken.Seq != tc.seq || !strings.Contains(res.Broken.Problem, tc.problem) {
				t.Fatalf("broken = %v, want entry %d: %q", res.Broken, tc.seq, tc.problem)
			}
			if !strings.Contains(res.Broken.String(), "số ") {
				t.Errorf("report %q does not name the entry", res.Broken)
			}
		})
	}
}

func TestVerifyHead(t *testing.T) {
	t.Run("signature altered", func(t *testing.T) {
		db, _ := chain(t, 3)
		db.Update(func(tx *bolt.Tx) error {
			h, _ := readHead(tx)
			h.Sig[len(h.Sig)-1] ^= 1
			raw, _ := json.Marshal(h)
			return tx.Bucket(bucketHead).Put(keyHead, raw)
		})
		if res := verify(t, db, nil); res.Broken == nil || !strings.Contains(res.Broken.Problem, "signed head invalid") {
			t.Fatalf("broken = %v", res.Broken)
		}
	})
	t.Run("foreign signer", func(t *testing.T) {
		db, _ := chain(t, 3)
		_, other := chain(t, 1)
		roots := x509.NewCertPool()
		roots.AddCert(other)
		if res := verify(t, db, roots); res.Broken == nil || !strings.Contains(res.Broken.Problem, "foreign certificate") {
			t.Fatalf("broken = %v", res.Broken)
		}
	})
}

func TestExport(t *testing.T) {
	db, _ := chain(t, 5)
	var buf bytes.Buffer
	var n int
	db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = Export(context.Background(), tx, t0.Add(time.Minute), t0.Add(3*time.Minute), &buf)
		return err
	})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if n != 2 || len(lines) != 2 {
		t.Fatalf("exported %d entries: %q", n, buf.String())
	}
	var e Entry
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Seq != 2 || !e.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("first line %q: %+v %v", lines[0], e, err)
	}
}
