package compliance

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestBounds(t *testing.T) {
	want := []time.Duration{
		10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
		day, 2 * day, 3 * day, 5 * day, 7 * day, 10 * day, 15 * day, 30 * day, 60 * day, 365 * day,
	}
	got := Bounds()
	if len(got) != len(want) {
		t.Fatalf("len(Bounds()) = %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Bounds()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if len(Histogram{}) != 19 {
		t.Errorf("Histogram has %d buckets, want 19", len(Histogram{}))
	}
	// The caller's copy is its own.
	got[0] = time.Hour
	if b := Bounds()[0]; b != 10*time.Second {
		t.Errorf("after changing a returned slice, Bounds()[0] = %v, want 10s", b)
	}
}

func TestObserve(t *testing.T) {
	tests := []struct {
		d      time.Duration
		bucket int
	}{
		{0, 0},
		{10 * time.Second, 0},
		{10*time.Second + time.Nanosecond, 1},
		{-time.Nanosecond, 0},
		{-5 * time.Hour, 0},
		{time.Minute, 1},
		{time.Minute + 1, 2},
		{90 * time.Minute, 6},
		{day, 9},
		{day + time.Second, 10},
		{6*day + 23*time.Hour, 13},
		{365 * day, 18},
		{365*day + 1, 18},
		{10 * 365 * day, 18},
	}
	for _, tt := range tests {
		var h Histogram
		h.Observe(tt.d)
		var want Histogram
		want[tt.bucket] = 1
		if h != want {
			t.Errorf("Observe(%v) = %v, want one in bucket %d", tt.d, h, tt.bucket)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		h    Histogram
		want time.Duration
		ok   bool
	}{
		{"empty", Histogram{}, 0, false},
		{"one", Histogram{7: 1}, 4 * time.Hour, true},
		{"odd: 1,1,1 in buckets 0,1,7", Histogram{0: 1, 1: 1, 7: 1}, time.Minute, true},
		{"even: lower median", Histogram{0: 1, 1: 1, 7: 1, 14: 1}, time.Minute, true},
		{"even: two and two", Histogram{2: 2, 5: 2}, 5 * time.Minute, true},
		{"even: 2 of 4 in first bucket", Histogram{0: 2, 18: 2}, 10 * time.Second, true},
		{"odd: 3 of 5 in last bucket", Histogram{3: 2, 18: 3}, 365 * day, true},
		{"many", Histogram{0: 10, 9: 11}, day, true},
		{"ten in one bucket", Histogram{12: 10}, 5 * day, true},
	}
	for _, tt := range tests {
		got, ok := tt.h.Median()
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Median() = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHistogramTotalAdd(t *testing.T) {
	h := Histogram{0: 1, 5: 3, 18: 2}
	if n := h.Total(); n != 6 {
		t.Errorf("Total() = %d, want 6", n)
	}
	if n := (&Histogram{}).Total(); n != 0 {
		t.Errorf("empty Total() = %d, want 0", n)
	}
	o := Histogram{0: 4, 1: 1, 18: 1}
	h.Add(&o)
	if want := (Histogram{0: 5, 1: 1, 5: 3, 18: 3}); h != want {
		t.Errorf("Add: got %v, want %v", h, want)
	}
	if want := (Histogram{0: 4, 1: 1, 18: 1}); o != want {
		t.Errorf("Add changed its argument: %v", o)
	}
}

func TestCountsAddIsZero(t *testing.T) {
	var zero Counts
	if !zero.IsZero() {
		t.Error("Counts{}.IsZero() = false")
	}
	for i, c := range []Counts{
		{Electronic: 1}, {Signed: 1}, {Paper: 1}, {Secret: 1}, {Received: 1},
		{Due: 1}, {OnTime: 1}, {Ack: Histogram{18: 1}}, {Done: Histogram{0: 1}}, {Electronic: -1},
	} {
		if c.IsZero() {
			t.Errorf("case %d: %+v IsZero() = true", i, c)
		}
	}

	c := Counts{Electronic: 1, Signed: 2, Paper: 3, Secret: 4, Received: 5, Due: 6, OnTime: 7, Ack: Histogram{1: 1}, Done: Histogram{2: 2}}
	o := Counts{Electronic: 10, Signed: 20, Paper: 30, Secret: 40, Received: 50, Due: 60, OnTime: 70, Ack: Histogram{1: 2, 3: 1}, Done: Histogram{18: 5}}
	c.Add(&o)
	want := Counts{Electronic: 11, Signed: 22, Paper: 33, Secret: 44, Received: 55, Due: 66, OnTime: 77, Ack: Histogram{1: 3, 3: 1}, Done: Histogram{2: 2, 18: 5}}
	if c != want {
		t.Errorf("Add: got %+v, want %+v", c, want)
	}
	c.Add(&zero)
	if c != want {
		t.Errorf("Add(zero) changed the counts: %+v", c)
	}
}

func TestCountsEncodeLayout(t *testing.T) {
	tests := []struct {
		c    Counts
		want []byte
	}{
		// version, seven zig-zag varints, then two empty histograms.
		{Counts{}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{Counts{Electronic: 1}, []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0}},
		{
			Counts{Electronic: 1, Signed: -1, OnTime: 64, Ack: Histogram{3: 2}, Done: Histogram{18: 1}},
			// 64 zig-zags to 128 = 0x80 0x01; Ack: one bucket (3, 2→4); Done: one (18, 1→2).
			[]byte{1, 2, 1, 0, 0, 0, 0, 0x80, 0x01, 1, 3, 4, 1, 18, 2},
		},
	}
	for _, tt := range tests {
		if got := tt.c.Encode(); !bytes.Equal(got, tt.want) {
			t.Errorf("Encode(%+v) = %v, want %v", tt.c, got, tt.want)
		}
	}
}

func TestCountsRoundTrip(t *testing.T) {
	for i, c := range []Counts{
		{},
		{Electronic: 3, Signed: 2, Paper: 1, Secret: 4, Received: 5, Due: 6, OnTime: 5},
		{Ack: Histogram{0: 1, 18: 1}},
		{Done: Histogram{1: 1 << 40, 9: 3}},
		{Electronic: 1 << 62, Signed: -(1 << 62), Paper: -1, Ack: Histogram{4: -2}, Done: Histogram{17: -7, 18: 9}},
		{Electronic: 12, Signed: 11, Received: 40, Due: 40, OnTime: 39,
			Ack:  Histogram{0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7, 7: 8, 8: 9, 9: 10, 10: 11, 11: 12, 12: 13, 13: 14, 14: 15, 15: 16, 16: 17, 17: 18, 18: 19},
			Done: Histogram{2: 1}},
	} {
		b := c.Encode()
		got, err := DecodeCounts(b)
		if err != nil {
			t.Errorf("case %d: DecodeCounts(Encode(%+v)): %v", i, c, err)
			continue
		}
		if got != c {
			t.Errorf("case %d: round trip = %+v, want %+v", i, got, c)
		}
	}
}

func TestDecodeCountsErrors(t *testing.T) {
	valid := (&Counts{Electronic: 300, Paper: 2, Ack: Histogram{3: 2, 9: 1}, Done: Histogram{18: 1000}}).Encode()
	tests := []struct {
		name string
		b    []byte
		text string // a part of the error text
	}{
		{"empty", nil, "unknown version"},
		{"version 0", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "unknown version"},
		{"version 2", append([]byte{2}, valid[1:]...), "unknown version"},
		{"trailing byte", append(append([]byte(nil), valid...), 0), "1 trailing bytes"},
		{"two trailing bytes", append(append([]byte(nil), valid...), 0, 0), "2 trailing bytes"},
		{"bucket 19", []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 19, 2, 0}, "bucket 19"},
		{"bucket 1000 in Done", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xe8, 0x07, 2}, "bucket 1000"},
		{"overlong varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "bad counter record"},
		{"more buckets than bytes", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03}, "bad counter record"},
	}
	for i := 1; i < len(valid); i++ {
		tests = append(tests, struct {
			name string
			b    []byte
			text string
		}{"truncated", valid[:i], "bad counter record"})
	}
	for _, tt := range tests {
		_, err := DecodeCounts(tt.b)
		if err == nil {
			t.Errorf("%s: DecodeCounts(%v) succeeded", tt.name, tt.b)
			continue
		}
		if !errors.Is(err, errBadCounts) {
			t.Errorf("%s: DecodeCounts(%v) = %v, not errBadCounts", tt.name, tt.b, err)
		}
		if !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: DecodeCounts(%v) = %q, want it to mention %q", tt.name, tt.b, err, tt.text)
		}
	}
}
