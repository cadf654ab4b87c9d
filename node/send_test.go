package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node/register"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// testSender is an agency identity with a key of its own, and a PDF of
// about size bytes it signed, written to a file.
func testSender(tb testing.TB, size int64) (*Identity, string) {
	tb.Helper()
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	cert, key, err := root.Issue(pki.Request{CommonName: "000.01.31.H53", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		Usage: pki.DocumentSigning})
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "Ke hoach", PadBytes: size})
	if err != nil {
		tb.Fatal(err)
	}
	var signed bytes.Buffer
	if err := pades.Sign(&signed, bytes.NewReader(doc), int64(len(doc)), pades.SignOptions{Signer: key, Certificate: cert, Time: now}); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "ke-hoach.pdf")
	if err := os.WriteFile(path, signed.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return &Identity{Code: "000.01.31.H53", Cert: cert, Signer: key}, path
}

func testDocument(path string) Document {
	return Document{Recipients: []string{"000.00.31.H53"}, Number: "12", Notation: "QĐ-UBND", DocumentType: "Quyết định",
		Subject: "Kế hoạch chuyển đổi số", Files: []File{{Path: path}}}
}

// Queue builds the envelope from the outbox copy: what it declares is
// what the outbox holds, and the document carries its envelope.
func TestQueueDeclaresTheCopy(t *testing.T) {
	id, path := testSender(t, 10<<10)
	reg, err := register.Open(filepath.Join(t.TempDir(), "node.db"), register.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := id.Queue(reg, testDocument(path))
	if err != nil {
		t.Fatal(err)
	}
	p, err := id.Prepare(testDocument(path))
	if err != nil {
		t.Fatal(err)
	}
	env, err := o.Decode()
	if err != nil {
		t.Fatal(err)
	}
	got, want := env.GetFiles()[0], p.Envelope.GetFiles()[0]
	if got.GetName() != "ke-hoach.pdf" || got.GetMediaType() != "application/pdf" || got.GetSize() != want.GetSize() ||
		!bytes.Equal(got.GetSha256(), want.GetSha256()) {
		t.Errorf("envelope declares %v, Prepare %v", got, want)
	}
	copied, err := os.ReadFile(o.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(copied, original) {
		t.Errorf("outbox copy differs from the original (%v)", err)
	}
}

// A document the hub's rules refuse leaves nothing in the outbox, though
// its files were copied before its envelope could be checked.
func TestQueueRefusedLeavesNothing(t *testing.T) {
	id, path := testSender(t, 1<<10)
	reg, err := register.Open(filepath.Join(t.TempDir(), "node.db"), register.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc := testDocument(path)
	doc.Subject = "  "
	if _, err := id.Queue(reg, doc); err == nil {
		t.Fatal("Queue of a document without a subject succeeded")
	}
	doc = testDocument(filepath.Join(t.TempDir(), "missing.pdf"))
	if _, err := id.Queue(reg, doc); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Queue of a missing file: %v, want ErrNotExist", err)
	}
	list, err := reg.Outbox()
	if err != nil || len(list) != 0 {
		t.Errorf("outbox %v, %v", list, err)
	}
	entries, err := os.ReadDir(reg.OutboxDir())
	if err != nil || len(entries) != 0 {
		t.Errorf("outbox folder holds %v (%v)", entries, err)
	}
}

// BenchmarkQueue puts a 200 KB signed PDF in the outbox, as `ltnode send`
// does before it uploads: "once" copies and hashes it in one pass
// (Identity.Queue); "prepare+queue" is the former way, hashing it for the
// envelope (Prepare) then copying and hashing it again (Register.Queue).
// Each operation also drops the document, so the outbox stays small.
// cpu-µs/op is the process's user+system time, which the flushes' waiting
// does not count.
func BenchmarkQueue(b *testing.B) {
	id, path := testSender(b, 200<<10)
	for _, bc := range []struct {
		name  string
		queue func(*register.Register, Document) (*register.Outgoing, error)
	}{
		{"once", id.Queue},
		{"prepare+queue", func(reg *register.Register, doc Document) (*register.Outgoing, error) {
			p, err := id.Prepare(doc)
			if err != nil {
				return nil, err
			}
			return reg.Queue(p.Signed, p.Paths)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg, err := register.Open(filepath.Join(b.TempDir(), "node.db"), register.Options{})
			if err != nil {
				b.Fatal(err)
			}
			doc := testDocument(path)
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				o, err := bc.queue(reg, doc)
				if err != nil {
					b.Fatal(err)
				}
				if err := reg.Drop(o.MessageID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the user and system time this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
