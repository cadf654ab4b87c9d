package compliance

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Counts are one agency's figures for one day.
type Counts struct {
	// Electronic counts the documents the agency sent over the hub (new
	// documents and replacements; revocations and updates are not new
	// documents), on the day the hub accepted them.
	Electronic int64
	// Signed counts those whose signatures the hub found valid.
	Signed int64
	// Paper and Secret count the agency's declarations, on the issue date.
	Paper, Secret int64
	// Received counts deliveries addressed to the agency, on the day the
	// hub accepted the document.
	Received int64
	// Ack holds, on the day of each acknowledgement, the time from the
	// hub's acceptance to the agency's acknowledgement.
	Ack Histogram
	// Done holds, on the day the agency reported "done", the time from the
	// hub's acceptance.
	Done Histogram
	// Due counts deliveries to the agency whose due date is this day;
	// OnTime those of them finished (done, rejected or revoked) by the end
	// of it.
	Due, OnTime int64
}

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	c.Electronic += o.Electronic
	c.Signed += o.Signed
	c.Paper += o.Paper
	c.Secret += o.Secret
	c.Received += o.Received
	c.Due += o.Due
	c.OnTime += o.OnTime
	c.Ack.Add(&o.Ack)
	c.Done.Add(&o.Done)
}

// IsZero reports whether c counts nothing.
func (c *Counts) IsZero() bool { return *c == Counts{} }

// Bounds are the upper bounds of the histogram buckets. A median is
// reported as the bound of the bucket holding it ("at most 2 hours"):
// keeping every duration would make a report cost O(documents). Durations
// over the last bound count in the last bucket.
var bounds = [...]time.Duration{
	10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 3 * 24 * time.Hour, 5 * 24 * time.Hour, 7 * 24 * time.Hour,
	10 * 24 * time.Hour, 15 * 24 * time.Hour, 30 * 24 * time.Hour, 60 * 24 * time.Hour, 365 * 24 * time.Hour,
}

// Bounds returns a copy of the histogram's bucket bounds.
func Bounds() []time.Duration { return append([]time.Duration(nil), bounds[:]...) }

// Histogram counts durations in the buckets of Bounds.
type Histogram [len(bounds)]int64

// Observe counts one duration; a negative one (clock skew) counts as zero.
func (h *Histogram) Observe(d time.Duration) {
	for i, b := range bounds {
		if d <= b {
			h[i]++
			return
		}
	}
	h[len(h)-1]++
}

// Add adds o to h.
func (h *Histogram) Add(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Total is the number of durations counted.
func (h *Histogram) Total() int64 {
	var n int64
	for _, v := range h {
		n += v
	}
	return n
}

// Median returns the upper bound of the bucket holding the median (the
// lower median for an even count), or false if h is empty.
func (h *Histogram) Median() (time.Duration, bool) {
	n := h.Total()
	if n == 0 {
		return 0, false
	}
	rank := (n + 1) / 2
	var seen int64
	for i, v := range h {
		seen += v
		if seen >= rank {
			return bounds[i], true
		}
	}
	return bounds[len(bounds)-1], true
}

// countsVersion prefixes encoded Counts; bump it if the layout changes.
const countsVersion = 1

// Encode returns c as bytes: a version, seven varints, then each histogram
// as a count of non-empty buckets and (bucket, count) pairs.
func (c *Counts) Encode() []byte {
	b := make([]byte, 0, 32)
	b = append(b, countsVersion)
	for _, v := range [...]int64{c.Electronic, c.Signed, c.Paper, c.Secret, c.Received, c.Due, c.OnTime} {
		b = binary.AppendVarint(b, v)
	}
	for _, h := range [...]*Histogram{&c.Ack, &c.Done} {
		n := 0
		for _, v := range h {
			if v != 0 {
				n++
			}
		}
		b = binary.AppendUvarint(b, uint64(n))
		for i, v := range h {
			if v != 0 {
				b = binary.AppendUvarint(b, uint64(i))
				b = binary.AppendVarint(b, v)
			}
		}
	}
	return b
}

var errBadCounts = errors.New("bad counter record")

// DecodeCounts decodes a record made by Encode.
func DecodeCounts(b []byte) (Counts, error) {
	var c Counts
	if len(b) == 0 || b[0] != countsVersion {
		return c, fmt.Errorf("%w: unknown version", errBadCounts)
	}
	b = b[1:]
	varint := func() (int64, error) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, errBadCounts
		}
		b = b[n:]
		return v, nil
	}
	uvarint := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errBadCounts
		}
		b = b[n:]
		return v, nil
	}
	var err error
	for _, p := range [...]*int64{&c.Electronic, &c.Signed, &c.Paper, &c.Secret, &c.Received, &c.Due, &c.OnTime} {
		if *p, err = varint(); err != nil {
			return c, err
		}
	}
	for _, h := range [...]*Histogram{&c.Ack, &c.Done} {
		n, err := uvarint()
		if err != nil {
			return c, err
		}
		for range n {
			i, err := uvarint()
			if err != nil {
				return c, err
			}
			if i >= uint64(len(h)) {
				return c, fmt.Errorf("%w: bucket %d", errBadCounts, i)
			}
			if h[i], err = varint(); err != nil {
				return c, err
			}
		}
	}
	if len(b) != 0 {
		return c, fmt.Errorf("%w: %d trailing bytes", errBadCounts, len(b))
	}
	return c, nil
}
