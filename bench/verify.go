package bench

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/signing/pades"
)

// verifyResult is PAdES verification throughput of the corpus.
type verifyResult struct {
	OneCore  float64 // docs/s, one goroutine
	AllCores float64 // docs/s, GOMAXPROCS goroutines
	MBPerS   float64 // all cores, 10^6 bytes/s
	Docs     int64   // verifications done in both measurements
}

// measureVerify checks that every corpus PDF verifies as valid, then
// measures pades.Verify on one goroutine and on GOMAXPROCS, dur each.
func measureVerify(ctx context.Context, docs [][]byte, opts pades.VerifyOptions, dur time.Duration) (verifyResult, error) {
	for i, d := range docs {
		rep, err := pades.Verify(bytes.NewReader(d), int64(len(d)), opts)
		if err != nil {
			return verifyResult{}, fmt.Errorf("verifying corpus PDF %d: %w", i, err)
		}
		if rep.Verdict != pades.VerdictValid || len(rep.Signatures) != 2 {
			return verifyResult{}, fmt.Errorf("corpus PDF %d: verdict %s with %d signatures, want valid with 2 (stale cache? remove it)", i, rep.Verdict, len(rep.Signatures))
		}
	}
	var res verifyResult
	one, _, n1, err := verifyFor(ctx, docs, opts, dur, 1)
	if err != nil {
		return res, err
	}
	all, mb, n2, err := verifyFor(ctx, docs, opts, dur, runtime.GOMAXPROCS(0))
	if err != nil {
		return res, err
	}
	return verifyResult{OneCore: one, AllCores: all, MBPerS: mb, Docs: n1 + n2}, nil
}

func verifyFor(ctx context.Context, docs [][]byte, opts pades.VerifyOptions, dur time.Duration, workers int) (docsPerS, mbPerS float64, n int64, err error) {
	var count, bytesDone atomic.Int64
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil && time.Now().Before(deadline); i++ {
				d := docs[i%len(docs)]
				if _, err := pades.Verify(bytes.NewReader(d), int64(len(d)), opts); err != nil {
					return
				}
				count.Add(1)
				bytesDone.Add(int64(len(d)))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, 0, 0, err
	}
	el := time.Since(start).Seconds()
	return float64(count.Load()) / el, float64(bytesDone.Load()) / el / 1e6, count.Load(), nil
}
