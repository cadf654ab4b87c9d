package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// limitResult is the raw storage limit: documents/s that a store accepts
// when nothing but storage stands in the way.
type limitResult struct {
	DocsPerS float64
	Docs     int64 // accepted in all, warm-up included
}

// measureLimit does what the hub does to store a document, minus gRPC,
// TLS, signature checks and receipt signing: senders goroutines each
// stream the same PDF bytes into a blob (SHA-256 while writing, flush,
// rename, flush) in chunks of the node's size, and store.Accept the document for
// the same kind of recipients (group commit, fsync). It measures dur after
// warmup.
func measureLimit(ctx context.Context, dir string, docs map[string][][]byte, p *picker, senders []string, seed uint64, warmup, dur time.Duration) (limitResult, error) {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return limitResult{}, fmt.Errorf("raw limit: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		stop, inWindow atomic.Bool
		total, window  atomic.Int64
		wg             sync.WaitGroup
	)
	for i, agency := range senders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			mine := docs[agency]
			for !stop.Load() && ctx.Err() == nil {
				if err := limitAccept(ctx, st, p, agency, mine[rng.IntN(len(mine))], rng); err != nil {
					cancel(err)
					return
				}
				total.Add(1)
				if inWindow.Load() {
					window.Add(1)
				}
			}
		})
	}
	sleep(ctx, warmup)
	inWindow.Store(true)
	start := time.Now()
	sleep(ctx, dur)
	inWindow.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	if err := st.Close(); err != nil && ctx.Err() == nil {
		return limitResult{}, fmt.Errorf("raw limit: %w", err)
	}
	if ctx.Err() != nil {
		return limitResult{}, fmt.Errorf("raw limit: %w", context.Cause(ctx))
	}
	return limitResult{DocsPerS: float64(window.Load()) / elapsed.Seconds(), Docs: total.Load()}, nil
}

// limitSignature stands in for the hub's receipt signature (an ECDSA P-256
// signature is about this long); the store does not check it.
var limitSignature = make([]byte, 72)

func limitAccept(ctx context.Context, st *store.Store, p *picker, sender string, data []byte, rng *rand.Rand) error {
	w, err := st.NewBlob()
	if err != nil {
		return err
	}
	for rest := data; len(rest) > 0; {
		k := min(node.SendChunkSize, len(rest))
		if _, err := w.Write(rest[:k]); err != nil {
			w.Abort()
			return err
		}
		rest = rest[k:]
	}
	ref, err := w.Commit(ctx)
	if err != nil {
		return err
	}
	addressed := p.pick(sender, rng)
	recipients, err := p.resolve(sender, addressed)
	if err != nil {
		st.DiscardBlobs([]store.BlobRef{ref})
		return err
	}
	id := uuid.NewString()
	env, err := proto.MarshalOptions{Deterministic: true}.Marshal(&lienthongv1.Envelope{
		MessageId: id, Sender: sender, Recipients: addressed, BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW,
		Number: "1", Notation: "QĐ-UBND", Subject: "Thử tải", Urgency: lienthongv1.Urgency_URGENCY_NORMAL,
		SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL,
		Files:         []*lienthongv1.FileInfo{{Name: "van-ban.pdf", MediaType: "application/pdf", Size: ref.Size, Sha256: ref.SHA256[:]}},
	})
	if err != nil {
		st.DiscardBlobs([]store.BlobRef{ref})
		return err
	}
	sum := sha256.Sum256(env)
	body, err := proto.Marshal(&lienthongv1.ReceiptBody{MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED,
		Recipients: recipients, EnvelopeSha256: sum[:], Sender: sender, Time: timestamppb.Now()})
	if err != nil {
		st.DiscardBlobs([]store.BlobRef{ref})
		return err
	}
	_, dup, err := st.Accept(ctx, &store.Document{
		MessageID: id, Sender: sender, Envelope: &lienthongv1.SignedEnvelope{Envelope: env, Signature: limitSignature},
		EnvelopeSHA256: sum, Recipients: recipients, Files: []store.BlobRef{ref},
		Accepted:     &lienthongv1.Receipt{Body: body, Signature: limitSignature},
		Verification: &lienthongv1.Verification{Verdict: "valid", EnvelopeSignatureValid: true},
	})
	if err == nil && dup {
		err = fmt.Errorf("message %s stored twice", id)
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
