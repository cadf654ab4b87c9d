package pades

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"math/rand/v2"
	"testing"
)

// TestHashAll: whatever the signatures' ranges (nested, shared prefixes,
// disjoint, empty, a SHA-1 or SHA-512 one among SHA-256 ones, more than
// share states), each digest is that of exactly its own ranges.
func TestHashAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	file := make([]byte, 60_000)
	for i := range file {
		file[i] = byte(rng.Uint32())
	}
	size := int64(len(file))
	algs := []crypto.Hash{crypto.SHA256, crypto.SHA256, crypto.SHA256, crypto.SHA1, crypto.SHA512}
	newHash := func(a crypto.Hash) hash.Hash {
		switch a {
		case crypto.SHA1:
			return sha1.New()
		case crypto.SHA512:
			return sha512.New()
		}
		return sha256.New()
	}
	// randomRanges returns ascending, non-overlapping ranges, the first
	// often at 0 and sometimes ending at the file's end.
	randomRanges := func() [][2]int64 {
		n := 1 + rng.IntN(4)
		var out [][2]int64
		var at int64
		if rng.IntN(3) == 0 {
			at = rng.Int64N(size / 4)
		}
		for range n {
			l := rng.Int64N(size/int64(n)) + int64(rng.IntN(2)) - 1
			l = max(0, min(l, size-at))
			out = append(out, [2]int64{at, l})
			at += l + rng.Int64N(4_000)
			if at >= size {
				break
			}
		}
		return out
	}
	// signedPrefix: a signature over a prefix with a gap, and a later one
	// over everything but its own gap (the leader-then-seal shape).
	shapes := [][][2]int64{
		{{0, 1000}, {3000, 30_000}},
		{{0, 40_000}, {42_000, 18_000}},
	}
	for round := range 100 {
		var sigs []*checkedSig
		count := 1 + rng.IntN(5)
		if round%10 == 0 {
			count = maxSharedHashes + 1 + rng.IntN(3) // the path without sharing
		}
		for i := range count {
			a := algs[rng.IntN(len(algs))]
			ranges := randomRanges()
			if round%4 == 0 && i < len(shapes) {
				ranges, a = shapes[i], crypto.SHA256
			}
			last := ranges[len(ranges)-1]
			s := &checkedSig{rep: &SignatureReport{end: last[0] + last[1]}, ranges: ranges, h: newHash(a), alg: a, hashable: rng.IntN(8) > 0}
			sigs = append(sigs, s)
		}
		if err := hashAll(bytes.NewReader(file), size, sigs); err != nil {
			t.Fatal(err)
		}
		for i, s := range sigs {
			if !s.hashable {
				continue
			}
			want := newHash(s.alg)
			for _, rg := range s.ranges {
				want.Write(file[rg[0] : rg[0]+rg[1]])
			}
			if !bytes.Equal(s.h.Sum(nil), want.Sum(nil)) {
				t.Fatalf("round %d, signature %d of %d (%v, ranges %v): wrong digest", round, i, count, s.alg, s.ranges)
			}
		}
	}
}
