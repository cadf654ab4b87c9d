package compliance

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// insertAll inserts ns in order into an empty register.
func insertAll(t *testing.T, ns ...uint32) Ranges {
	t.Helper()
	var r Ranges
	for _, n := range ns {
		r = r.Insert(n)
		checkCanonical(t, r)
	}
	return r
}

// checkCanonical fails unless r is sorted, disjoint and non-adjacent.
func checkCanonical(t *testing.T, r Ranges) {
	t.Helper()
	for i, x := range r {
		if x.Lo > x.Hi {
			t.Fatalf("%v: range %d has Lo > Hi", r, i)
		}
		if i > 0 && uint64(r[i-1].Hi)+1 >= uint64(x.Lo) {
			t.Fatalf("%v: ranges %d and %d overlap, touch or are out of order", r, i-1, i)
		}
	}
}

func TestInsert(t *testing.T) {
	tests := []struct {
		name string
		ns   []uint32
		want Ranges
	}{
		{"none", nil, nil},
		{"one", []uint32{5}, Ranges{{5, 5}}},
		{"ascending run", []uint32{1, 2, 3}, Ranges{{1, 3}}},
		{"descending run", []uint32{3, 2, 1}, Ranges{{1, 3}}},
		{"duplicates", []uint32{2, 2, 1, 2, 1}, Ranges{{1, 2}}},
		{"inside a range", []uint32{1, 2, 3, 4, 5, 3}, Ranges{{1, 5}}},
		{"two ranges", []uint32{1, 2, 3, 5, 6}, Ranges{{1, 3}, {5, 6}}},
		{"filling the hole merges", []uint32{1, 2, 3, 5, 6, 4}, Ranges{{1, 6}}},
		{"filling a hole of one between singles", []uint32{7, 9, 8}, Ranges{{7, 9}}},
		{"new range before all", []uint32{10, 11, 3}, Ranges{{3, 3}, {10, 11}}},
		{"new range in the middle", []uint32{1, 20, 10}, Ranges{{1, 1}, {10, 10}, {20, 20}}},
		{"extends the next range down", []uint32{1, 10, 9}, Ranges{{1, 1}, {9, 10}}},
		{"extends the previous range up", []uint32{1, 10, 2}, Ranges{{1, 2}, {10, 10}}},
		{"merge in the middle of three", []uint32{1, 3, 5, 2}, Ranges{{1, 3}, {5, 5}}},
		{"merge keeps the tail", []uint32{1, 3, 5, 7, 4}, Ranges{{1, 1}, {3, 5}, {7, 7}}},
		{"past the end", []uint32{1, 2, 100}, Ranges{{1, 2}, {100, 100}}},
		{"top of uint32", []uint32{math.MaxUint32, math.MaxUint32 - 2, math.MaxUint32 - 1}, Ranges{{math.MaxUint32 - 2, math.MaxUint32}}},
		{"bottom of uint32", []uint32{1, 0}, Ranges{{0, 1}}},
	}
	for _, tt := range tests {
		got := insertAll(t, tt.ns...)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: inserting %v = %v, want %v", tt.name, tt.ns, got, tt.want)
		}
	}
}

// TestInsertProperty inserts random numbers of 1..200 in random order and
// compares the ranges with the set kept in a map.
func TestInsertProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 2026))
	for trial := range 500 {
		set := make(map[uint32]bool)
		var r Ranges
		var order []uint32
		for range rng.IntN(250) {
			n := uint32(1 + rng.IntN(200))
			order = append(order, n)
			set[n] = true
			r = r.Insert(n)
		}
		checkCanonical(t, r)

		// The expected ranges and gaps, by walking 1..200.
		var want, wantGaps Ranges
		var max uint32
		for n := uint32(1); n <= 200; n++ {
			if !set[n] {
				continue
			}
			max = n
			if k := len(want); k > 0 && want[k-1].Hi == n-1 {
				want[k-1].Hi = n
			} else {
				want = append(want, Range{n, n})
			}
		}
		var missing int64
		for n := uint32(1); n < max; n++ {
			if set[n] {
				continue
			}
			missing++
			if k := len(wantGaps); k > 0 && wantGaps[k-1].Hi == n-1 {
				wantGaps[k-1].Hi = n
			} else {
				wantGaps = append(wantGaps, Range{n, n})
			}
		}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("trial %d: inserting %v = %v, want %v", trial, order, r, want)
		}
		if gaps := r.Gaps(); !reflect.DeepEqual(Ranges(gaps), wantGaps) {
			t.Fatalf("trial %d: %v.Gaps() = %v, want %v", trial, r, gaps, wantGaps)
		}
		if got := Missing(r.Gaps()); got != missing {
			t.Fatalf("trial %d: Missing = %d, want %d", trial, got, missing)
		}
		back, err := DecodeRanges(r.Encode())
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("trial %d: DecodeRanges(Encode(%v)) = %v, %v", trial, r, back, err)
		}
	}
}

func TestGapsMissing(t *testing.T) {
	tests := []struct {
		r       Ranges
		want    []Range
		missing int64
	}{
		{nil, nil, 0},
		{Ranges{{1, 4}}, nil, 0},
		{Ranges{{2, 2}}, []Range{{1, 1}}, 1},
		{Ranges{{3, 5}, {8, 8}, {10, 12}}, []Range{{1, 2}, {6, 7}, {9, 9}}, 5},
		{Ranges{{1, 1}, {100, 100}}, []Range{{2, 99}}, 98},
		{Ranges{{1, 1}, {math.MaxUint32, math.MaxUint32}}, []Range{{2, math.MaxUint32 - 1}}, math.MaxUint32 - 2},
	}
	for _, tt := range tests {
		got := tt.r.Gaps()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v.Gaps() = %v, want %v", tt.r, got, tt.want)
		}
		if m := Missing(got); m != tt.missing {
			t.Errorf("Missing(%v) = %d, want %d", got, m, tt.missing)
		}
	}
}

func TestRangesEncoding(t *testing.T) {
	layouts := []struct {
		r    Ranges
		want []byte
	}{
		{nil, []byte{}},
		{Ranges{{1, 3}}, []byte{1, 3}},
		{Ranges{{1, 3}, {5, 200}}, []byte{1, 3, 5, 0xc8, 0x01}},
	}
	for _, tt := range layouts {
		if got := tt.r.Encode(); !bytes.Equal(got, tt.want) {
			t.Errorf("%v.Encode() = %v, want %v", tt.r, got, tt.want)
		}
	}
	for _, r := range []Ranges{
		{{1, 1}},
		{{1, 3}, {5, 5}, {300, 70000}, {math.MaxUint32, math.MaxUint32}},
		{{0, math.MaxUint32}},
	} {
		got, err := DecodeRanges(r.Encode())
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("DecodeRanges(Encode(%v)) = %v, %v", r, got, err)
		}
	}
	if got, err := DecodeRanges(nil); err != nil || got != nil {
		t.Errorf("DecodeRanges(nil) = %v, %v; want nil, nil", got, err)
	}

	bad := []struct {
		name string
		b    []byte
	}{
		{"lone lo", []byte{1}},
		{"hi below lo", []byte{3, 1}},
		{"truncated varint", []byte{0x80}},
		{"truncated hi", []byte{1, 0x80}},
		{"hi beyond uint32", []byte{1, 0x80, 0x80, 0x80, 0x80, 0x10}}, // 1<<32
		{"overlapping", []byte{1, 5, 3, 8}},
		{"out of order", []byte{5, 8, 1, 2}},
		{"adjacent", []byte{1, 2, 3, 4}},
		{"repeated", []byte{1, 2, 1, 2}},
	}
	for _, tt := range bad {
		got, err := DecodeRanges(tt.b)
		if err == nil {
			t.Errorf("%s: DecodeRanges(%v) = %v, want an error", tt.name, tt.b, got)
			continue
		}
		if got != nil || !strings.HasPrefix(err.Error(), "bad numbering record") {
			t.Errorf("%s: DecodeRanges(%v) = %v, %q", tt.name, tt.b, got, err)
		}
	}
}

func TestRangeString(t *testing.T) {
	for _, tt := range []struct {
		r    Range
		want string
	}{
		{Range{12, 12}, "12"},
		{Range{12, 14}, "12–14"},
		{Range{1, 2}, "1–2"},
		{Range{math.MaxUint32, math.MaxUint32}, "4294967295"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"45", 45, true},
		{"045", 45, true},
		{"1", 1, true},
		{"999999999", 999999999, true},
		{"000000001", 1, true},
		{"0", 0, false},
		{"000", 0, false},
		{"", 0, false},
		{"45a", 0, false},
		{"a45", 0, false},
		{" 45", 0, false},
		{"4 5", 0, false},
		{"1234567890", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"١٢", 0, false}, // Arabic-Indic digits
	} {
		got, ok := ParseNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseNumber(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
