package compliance

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Ranges is the set of numbers used in an agency's register for one year,
// as sorted, disjoint, non-adjacent inclusive ranges. Registers are
// numbered from 1 upwards each year, so the set is nearly always one or a
// few ranges.
type Ranges []Range

// Range is an inclusive range of numbers.
type Range struct{ Lo, Hi uint32 }

// Insert adds n to r and returns the result.
func (r Ranges) Insert(n uint32) Ranges {
	// i is the first range ending at or after n-1 (the one n may extend).
	i := 0
	for i < len(r) && uint64(r[i].Hi)+1 < uint64(n) {
		i++
	}
	switch {
	case i == len(r):
		return append(r, Range{n, n})
	case n >= r[i].Lo && n <= r[i].Hi:
		return r
	case uint64(r[i].Hi)+1 == uint64(n):
		r[i].Hi = n
		if i+1 < len(r) && uint64(n)+1 == uint64(r[i+1].Lo) {
			r[i].Hi = r[i+1].Hi
			r = append(r[:i+1], r[i+2:]...)
		}
		return r
	case uint64(n)+1 == uint64(r[i].Lo):
		r[i].Lo = n
		return r
	default: // n < r[i].Lo-1: a new range before r[i]
		r = append(r, Range{})
		copy(r[i+1:], r[i:])
		r[i] = Range{n, n}
		return r
	}
}

// Gaps returns the numbers missing between 1 and the highest number used.
func (r Ranges) Gaps() []Range {
	var gaps []Range
	next := uint32(1)
	for _, x := range r {
		if x.Lo > next {
			gaps = append(gaps, Range{next, x.Lo - 1})
		}
		next = x.Hi + 1
	}
	return gaps
}

// Missing counts the numbers in gaps.
func Missing(gaps []Range) int64 {
	var n int64
	for _, g := range gaps {
		n += int64(g.Hi-g.Lo) + 1
	}
	return n
}

// String writes a range as "12" or "12–14".
func (x Range) String() string {
	if x.Lo == x.Hi {
		return strconv.FormatUint(uint64(x.Lo), 10)
	}
	return fmt.Sprintf("%d–%d", x.Lo, x.Hi)
}

// Encode returns r as varint pairs.
func (r Ranges) Encode() []byte {
	b := make([]byte, 0, 4*len(r))
	for _, x := range r {
		b = binary.AppendUvarint(b, uint64(x.Lo))
		b = binary.AppendUvarint(b, uint64(x.Hi))
	}
	return b
}

// DecodeRanges decodes a record made by Encode.
func DecodeRanges(b []byte) (Ranges, error) {
	var r Ranges
	for len(b) > 0 {
		lo, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("bad numbering record")
		}
		b = b[n:]
		hi, n := binary.Uvarint(b)
		if n <= 0 || hi < lo || hi > 1<<32-1 {
			return nil, fmt.Errorf("bad numbering record")
		}
		b = b[n:]
		// Insert and Gaps rely on sorted, disjoint, non-adjacent ranges.
		if len(r) > 0 && lo <= uint64(r[len(r)-1].Hi)+1 {
			return nil, fmt.Errorf("bad numbering record: ranges out of order")
		}
		r = append(r, Range{uint32(lo), uint32(hi)})
	}
	return r, nil
}

// ParseNumber reads the register number of a stored document ("45",
// "045"); ok is false for anything else ("45a", "", "0"), which is not
// gap-checked. What is accepted now obeys envelope.Number, which is
// stricter (at most envelope.MaxNumber); this reads documents stored
// before that rule as they were counted then, so a recount agrees with
// the counters.
func ParseNumber(s string) (uint32, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		return 0, false
	}
	return uint32(v), true
}
