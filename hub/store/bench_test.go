package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

const benchFileSize = 200 << 10

// benchWindows are the group-commit windows the benchmarks compare: the
// default, none (batches form only while a commit is running), and 2ms.
var benchWindows = []struct {
	name  string
	delay time.Duration
}{
	{"window=none", 0},
	{"window=2ms", 2 * time.Millisecond},
}

// benchAccept stores one document of one 200 KB file for two recipients,
// as Send does: stream the file into a blob in 32 KB chunks, then Accept.
// The file's first 8 bytes are n, so every document has its own blob.
func benchAccept(s *Store, n uint64, file []byte) error {
	data := make([]byte, len(file))
	copy(data, file)
	binary.BigEndian.PutUint64(data, n)
	w, err := s.NewBlob()
	if err != nil {
		return err
	}
	for rest := data; len(rest) > 0; {
		k := min(32<<10, len(rest))
		if _, err := w.Write(rest[:k]); err != nil {
			return err
		}
		rest = rest[k:]
	}
	ref, err := w.Commit(context.Background())
	if err != nil {
		return err
	}
	id := fmt.Sprintf("bench-%08d", n)
	env, err := proto.Marshal(&lienthongv1.Envelope{MessageId: id, Sender: "000.00.31.H53", Subject: "benchmark"})
	if err != nil {
		return err
	}
	recipients := []string{"000.00.00.H53", fmt.Sprintf("000.%02d.31.H53", n%40)}
	body, err := proto.Marshal(&lienthongv1.ReceiptBody{MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: recipients, Time: timestamppb.Now()})
	if err != nil {
		return err
	}
	if _, dup, err := s.Accept(context.Background(), &Document{
		MessageID: id, Sender: "000.00.31.H53", Envelope: &lienthongv1.SignedEnvelope{Envelope: env},
		EnvelopeSHA256: sha256.Sum256(env), Recipients: recipients, Files: []BlobRef{ref},
		Accepted: &lienthongv1.Receipt{Body: body, Signature: make([]byte, 72)},
	}); err != nil || dup {
		return fmt.Errorf("Accept: duplicate %v, %v", dup, err)
	}
	return nil
}

func benchFile() []byte {
	file := make([]byte, benchFileSize)
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := range file {
		file[i] = byte(rnd.Uint32())
	}
	return file
}

func reportBatching(b *testing.B, s *Store) {
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	if st := stats(b, s); st.Commits > 0 {
		b.ReportMetric(float64(st.Writes)/float64(st.Commits), "docs/commit")
	}
}

// BenchmarkAcceptSerial stores documents one after another.
func BenchmarkAcceptSerial(b *testing.B) {
	file := benchFile()
	for _, w := range benchWindows {
		b.Run(w.name, func(b *testing.B) {
			s := openStore(b, b.TempDir(), Options{MaxBatchDelay: w.delay})
			b.SetBytes(benchFileSize)
			var n uint64
			var took []time.Duration
			for b.Loop() {
				n++
				start := time.Now()
				if err := benchAccept(s, n, file); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			reportBatching(b, s)
			reportPercentiles(b, took)
		})
	}
}

// reportPercentiles reports the median and 99th percentile of took, the
// times of single documents: a lone sender's latency and its tail.
func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[int(q*float64(len(took)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkAcceptParallel stores documents from 16 goroutines per CPU, as
// many senders uploading at once would.
func BenchmarkAcceptParallel(b *testing.B) {
	file := benchFile()
	for _, w := range benchWindows {
		b.Run(w.name, func(b *testing.B) {
			s := openStore(b, b.TempDir(), Options{MaxBatchDelay: w.delay})
			b.SetBytes(benchFileSize)
			b.SetParallelism(16)
			var n atomic.Uint64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := benchAccept(s, n.Add(1), file); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportBatching(b, s)
		})
	}
}
