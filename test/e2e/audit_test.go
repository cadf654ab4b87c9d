package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// The audit log records what happens on a real hub, with who did it: an
// acceptance and a refusal (the sender's code), the delivery and the
// acknowledgement (the recipient's), an operator's directory change and
// report request (the operator certificate). After the hub stops,
// `lthub audit verify` passes; then one entry edited inside the bbolt
// file, one deleted, or two swapped, and it fails naming that entry.
func TestAuditLogRecordsAndDetectsTampering(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	signed, _ := writePDF(t, dir, commune, "ky.pdf", samplepdf.Options{Title: "Da ky"})
	unsigned, _ := writePDF(t, dir, "", "khong-ky.pdf", samplepdf.Options{Title: "Chua ky"})
	c := client(t, h.Addr(), dir, commune)
	res, err := c.Send(ctx, node.Document{Recipients: []string{district}, Number: "7", Notation: "QĐ-UBND", Subject: "kiểm toán", Files: []node.File{{Path: signed}}}, nil)
	must(t, err)
	_, err = c.Send(ctx, node.Document{Recipients: []string{district}, Number: "8", Notation: "QĐ-UBND", Subject: "chưa ký", Files: []node.File{{Path: unsigned}}}, nil)
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("unsigned document: %v, want FailedPrecondition", err)
	}
	rcv := client(t, h.Addr(), dir, district)
	must(t, rcv.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, nil))
	for _, args := range [][]string{{"agency", "suspend", commune3}, {"report"}} {
		if rc, so, se := lthub(t, append(args, "--dir", dir)...); rc != 0 {
			t.Fatalf("lthub %v: exit %d %s%s", args, rc, so, se)
		}
	}

	rc, out, se := lthub(t, "audit", "export", "--dir", dir)
	if rc != 0 {
		t.Fatalf("audit export: exit %d: %s", rc, se)
	}
	var entries []audit.Entry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		entries = append(entries, decodeJSON[audit.Entry](t, line))
	}
	find := func(kind audit.Kind, actor, subject, detail string) *audit.Entry {
		for i, e := range entries {
			if e.Kind == kind && strings.HasPrefix(e.Actor, actor) && strings.Contains(e.Subject, subject) && strings.Contains(e.Detail, detail) {
				return &entries[i]
			}
		}
		t.Errorf("no %s entry by %q about %q with %q in:\n%s", kind, actor, subject, detail, out)
		return &audit.Entry{}
	}
	accepted := find(audit.KindAccepted, commune, res.MessageID, "recipients=1")
	find(audit.KindRefused, commune, "", "FailedPrecondition")
	find(audit.KindDelivered, "hub", res.MessageID, "to="+district)
	find(audit.KindAcknowledged, district, res.MessageID, "")
	find(audit.KindDirectory, "operator ", commune3, "SUSPENDED")
	find(audit.KindAdmin, "operator ", "SetAgencyStatus", "OK")
	find(audit.KindReport, "operator ", "Report", "OK")
	// On the running hub, through the admin service.
	if rc, so, se := lthub(t, "audit", "verify", "--dir", dir); rc != 0 || !strings.Contains(so, "toàn vẹn") {
		t.Fatalf("audit verify on the running hub: exit %d: %s%s", rc, so, se)
	}
	h.stop()

	// The hub signed the head at shutdown: every entry is covered.
	if rc, so, se := lthub(t, "audit", "verify", "--dir", dir); rc != 0 || !strings.Contains(so, "toàn vẹn") || !strings.Contains(so, "; 0 bản ghi sau đầu chuỗi") {
		t.Fatalf("audit verify of an untouched log: exit %d: %s%s", rc, so, se)
	}
	n := uint64(len(entries))
	k := accepted.Seq
	if k < 2 || k+1 >= n {
		t.Fatalf("accepted entry %d of %d: want one in the middle", k, n)
	}
	key := func(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
	for _, tc := range []struct {
		name   string
		tamper func(b *bolt.Bucket) error
		want   string
	}{
		{"one byte of an entry changed", func(b *bolt.Bucket) error {
			v := bytes.Clone(b.Get(key(k)))
			i := bytes.Index(v, []byte("recipients=1"))
			v[i+len("recipients=")] = '2'
			return b.Put(key(k), v)
		}, fmt.Sprintf("bản ghi số %d (%s, accepted)", k, accepted.Time.Format(time.RFC3339))},
		{"an entry deleted", func(b *bolt.Bucket) error { return b.Delete(key(k)) }, fmt.Sprintf("bản ghi số %d", k)},
		{"two entries swapped", func(b *bolt.Bucket) error {
			a, c := bytes.Clone(b.Get(key(k))), bytes.Clone(b.Get(key(k+1)))
			if err := b.Put(key(k), c); err != nil {
				return err
			}
			return b.Put(key(k+1), a)
		}, fmt.Sprintf("bản ghi số %d", k)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "hub")
			must(t, os.CopyFS(d, os.DirFS(dir)))
			db, err := bolt.Open(filepath.Join(provision.Layout{Dir: d}.Data(), "hub.db"), 0o600, nil)
			must(t, err)
			must(t, db.Update(func(tx *bolt.Tx) error { return tc.tamper(tx.Bucket([]byte("audit"))) }))
			must(t, db.Close())
			rc, so, se := lthub(t, "audit", "verify", "--dir", d)
			if rc == 0 || !strings.Contains(se, tc.want) {
				t.Fatalf("audit verify after %s: exit %d, stderr %q, want %q", tc.name, rc, se+so, tc.want)
			}
			t.Logf("%s", strings.TrimSpace(se))
		})
	}
}

// Refusals are recorded with who was refused: a handler's refusal (the
// agency's code, the call and the answer) and the authenticator's (the
// certificate's name and the method).
func TestAuditRefusalsAreRecorded(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := client(t, h.Addr(), dir, commune)
	const n = 50
	for i := range n {
		_, err := c.Track(ctx, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		if status.Code(err) != codes.NotFound {
			t.Fatalf("track of an unknown message: %v", err)
		}
	}
	// An agency's certificate on the admin service is refused by the
	// authenticator, before any handler: recorded too.
	ad := provision.Layout{Dir: dir}.Agency(commune)
	cert, err := tls.LoadX509KeyPair(filepath.Join(ad, "cert.pem"), filepath.Join(ad, "key.pem"))
	must(t, err)
	roots, err := pki.LoadCertificates(provision.Layout{Dir: dir}.CACert())
	must(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(roots[0])
	conn, err := grpc.NewClient(h.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1"})))
	must(t, err)
	defer conn.Close()
	_, err = lienthongv1.NewAdminServiceClient(conn).ListDirectory(ctx, &lienthongv1.ListDirectoryRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("agency on the admin service: %v", err)
	}
	h.stop()
	rc, out, se := lthub(t, "audit", "export", "--dir", dir)
	if rc != 0 {
		t.Fatalf("audit export: %d %s", rc, se)
	}
	got, admin := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e audit.Entry
		must(t, json.Unmarshal([]byte(line), &e))
		switch {
		case e.Kind == audit.KindRefused && e.Actor == commune && strings.Contains(e.Detail, "Track: NotFound"):
			got++
		case e.Kind == audit.KindRefused && e.Actor == "certificate "+commune && e.Subject == "/lienthong.v1.AdminService/ListDirectory" &&
			strings.HasPrefix(e.Detail, "PermissionDenied: "):
			admin++
		}
	}
	if got != n || admin != 1 {
		t.Fatalf("%d Track refusals recorded, want %d; %d admin refusals, want 1:\n%s", got, n, admin, out)
	}
}
