package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/compliance"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Compliance buckets. Counters, numbering and numbers are derived from
// documents, receipts and declarations (RebuildCounters recomputes them);
// declarations are primary data.
//
//	counters      lp(agency) day (4 bytes)              → compliance.Counts
//	numbering     lp(agency) year (2 bytes)             → compliance.Ranges
//	numbers       lp(agency) year number (4) notation   → channel (1 byte)
//	declarations  lp(agency) year number (4) notation   → declaration record
//
// Days are stored offset by 2^31 so that keys sort in time order.
var (
	bucketCounters     = []byte("counters")
	bucketNumbering    = []byte("numbering")
	bucketNumbers      = []byte("numbers")
	bucketDeclarations = []byte("declarations")
)

var (
	// ErrSentElectronically reports a declaration of a number and
	// notation the agency already sent over the hub.
	ErrSentElectronically = errors.New("document already sent electronically")
	// ErrDeclaredOtherwise reports a declaration of a number and notation
	// declared before with another channel.
	ErrDeclaredOtherwise = errors.New("document already declared with another channel")
)

func derivedBuckets() [][]byte { return [][]byte{bucketCounters, bucketNumbering, bucketNumbers} }

func counterKey(agency string, day compliance.Day) []byte {
	return binary.BigEndian.AppendUint32(lp(agency, 4), uint32(day)+1<<31)
}

func numberingKey(agency string, year int) []byte {
	return binary.BigEndian.AppendUint16(lp(agency, 2), uint16(year))
}

func numberKey(agency string, year int, number uint32, notation string) []byte {
	k := binary.BigEndian.AppendUint16(lp(agency, 6+len(notation)), uint16(year))
	k = binary.BigEndian.AppendUint32(k, number)
	return append(k, notation...)
}

// splitLP splits a key made by lp into the string and the rest.
func splitLP(k []byte) (string, []byte, bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return "", nil, false
	}
	return string(k[w : w+int(n)]), k[w+int(n):], true
}

// applyDelta adds d to the derived buckets within tx.
func applyDelta(tx *bolt.Tx, d *compliance.Delta) error {
	return addDelta(tx.Bucket(bucketCounters), tx.Bucket(bucketNumbers), tx.Bucket(bucketNumbering), d)
}

// records is what addDelta needs of a bucket, so that a check can build
// the same records in memory.
type records interface {
	Get(key []byte) []byte
	Put(key, value []byte) error
}

// memRecords is an in-memory bucket.
type memRecords map[string][]byte

func (m memRecords) Get(key []byte) []byte { return m[string(key)] }

func (m memRecords) Put(key, value []byte) error {
	m[string(key)] = value
	return nil
}

// addDelta adds d to the counters, numbers and numbering records.
func addDelta(counters, numbers, numbering records, d *compliance.Delta) error {
	for k, c := range d.Counts {
		key := counterKey(k.Agency, k.Day)
		if v := counters.Get(key); v != nil {
			old, err := compliance.DecodeCounts(v)
			if err != nil {
				return fmt.Errorf("counters of %s on %s: %w", k.Agency, k.Day, err)
			}
			old.Add(c)
			c = &old
		}
		if err := counters.Put(key, c.Encode()); err != nil {
			return fmt.Errorf("counters of %s on %s: %w", k.Agency, k.Day, err)
		}
	}
	for _, u := range d.Numbers {
		key := numberKey(u.Agency, u.Year, u.Number, u.Notation)
		if old := numbers.Get(key); len(old) == 1 && !u.Channel.Wins(compliance.Channel(old[0])) {
			continue // the number is in the register already
		}
		if err := numbers.Put(key, []byte{byte(u.Channel)}); err != nil {
			return fmt.Errorf("register number %d of %s: %w", u.Number, u.Agency, err)
		}
		rk := numberingKey(u.Agency, u.Year)
		r, err := compliance.DecodeRanges(numbering.Get(rk))
		if err != nil {
			return fmt.Errorf("register of %s for %d: %w", u.Agency, u.Year, err)
		}
		if err := numbering.Put(rk, r.Insert(u.Number).Encode()); err != nil {
			return fmt.Errorf("register of %s for %d: %w", u.Agency, u.Year, err)
		}
	}
	return nil
}

// docFacts decodes what the counters need of a stored document record.
func docFacts(id string, v []byte) (compliance.Doc, error) {
	d, err := decodeDoc(nil, id, v)
	if err != nil {
		return compliance.Doc{}, err
	}
	return factsOf(d)
}

func factsOf(d *Document) (compliance.Doc, error) {
	body := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(d.Accepted.GetBody(), body); err != nil {
		return compliance.Doc{}, fmt.Errorf("decoding accepted receipt of %q: %w", d.MessageID, err)
	}
	f, err := compliance.DocOf(d.Sender, d.Recipients, d.Envelope.GetEnvelope(), body.GetTime().AsTime(), d.Verification.GetVerdict())
	if err != nil {
		return compliance.Doc{}, fmt.Errorf("message %q: %w", d.MessageID, err)
	}
	return f, nil
}

// countStep counts a recipient's step on a stored document within tx.
func countStep(tx *bolt.Tx, messageID, recipient string, status lienthongv1.Status, at time.Time) error {
	v := tx.Bucket(bucketDocs).Get([]byte(messageID))
	if v == nil {
		return fmt.Errorf("counting %s of %q: %w", status, messageID, ErrNotFound)
	}
	facts, err := docFacts(messageID, v)
	if err != nil {
		return fmt.Errorf("counting %s of %q: %w", status, messageID, err)
	}
	d := compliance.NewDelta()
	d.Step(&facts, recipient, status, at)
	return applyDelta(tx, d)
}

// Declare stores an agency's declaration of a document issued on paper or
// secret and counts it. Declaring the same number and notation again with
// the same channel stores nothing and returns duplicate=true; with another
// channel it is ErrDeclaredOtherwise; a number and notation the agency
// sent over the hub in that year is ErrSentElectronically.
func (s *Store) Declare(ctx context.Context, decl *compliance.Declaration) (duplicate bool, err error) {
	year := decl.IssueDate.Year()
	key := numberKey(decl.Agency, year, decl.Number, decl.Notation)
	rec := encodeDeclaration(decl)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		duplicate = false
		if v := tx.Bucket(bucketNumbers).Get(key); len(v) == 1 && compliance.Channel(v[0]) == compliance.ChannelElectronic {
			return reject(ErrSentElectronically)
		}
		decls := tx.Bucket(bucketDeclarations)
		if v := decls.Get(key); v != nil {
			if len(v) == 0 || compliance.Channel(v[0]) != decl.Channel {
				return reject(ErrDeclaredOtherwise)
			}
			duplicate = true
			return nil
		}
		if err := decls.Put(key, rec); err != nil {
			return fmt.Errorf("declaration: %w", err)
		}
		d := compliance.NewDelta()
		d.Declared(decl)
		if err := applyDelta(tx, d); err != nil {
			return err
		}
		return s.appendAudit(tx, audit.Entry{Kind: audit.KindDeclared, Actor: decl.Agency,
			Subject: fmt.Sprintf("%d/%s (%d)", decl.Number, decl.Notation, year), Detail: fmt.Sprintf("channel=%c", decl.Channel)})
	})
	if err != nil {
		return false, fmt.Errorf("declaring %d/%s (%d) of %s: %w", decl.Number, decl.Notation, year, decl.Agency, err)
	}
	return duplicate, nil
}

// Declaration record: channel (1 byte), issue day (4 bytes, offset),
// declared-at Unix nanoseconds (8 bytes), document type.
func encodeDeclaration(d *compliance.Declaration) []byte {
	b := []byte{byte(d.Channel)}
	b = binary.BigEndian.AppendUint32(b, uint32(d.IssueDate)+1<<31)
	b = binary.BigEndian.AppendUint64(b, uint64(d.DeclaredAt.UnixNano()))
	return append(b, d.DocumentType...)
}

func decodeDeclaration(k, v []byte) (*compliance.Declaration, error) {
	agency, rest, ok := splitLP(k)
	if !ok || len(rest) < 6 || len(v) < 13 {
		return nil, errors.New("bad declaration record")
	}
	return &compliance.Declaration{
		Agency:       agency,
		Number:       binary.BigEndian.Uint32(rest[2:6]),
		Notation:     string(rest[6:]),
		Channel:      compliance.Channel(v[0]),
		IssueDate:    compliance.Day(binary.BigEndian.Uint32(v[1:5]) - 1<<31),
		DeclaredAt:   time.Unix(0, int64(binary.BigEndian.Uint64(v[5:13]))).UTC(),
		DocumentType: string(v[13:]),
	}, nil
}

// Counters calls fn for each agency-day counter record within p, agency by
// agency, days in order; fn must not keep the Counts pointer past its
// return. It reads one consistent snapshot and skips the days outside p
// with seeks, so it costs O(agencies + records in p).
func (s *Store) Counters(ctx context.Context, p compliance.Period, fn func(agency string, day compliance.Day, c *compliance.Counts) error) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCounters).Cursor()
		var agency string
		var prefix []byte // of agency's keys
		// One Counts for every record: fn must not keep the pointer.
		var counts compliance.Counts
		k, v := c.First()
		for n := 0; k != nil; n++ {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+4 || prefix == nil {
				a, rest, ok := splitLP(k)
				if !ok || len(rest) != 4 {
					return fmt.Errorf("bad counter key %x", k)
				}
				agency, prefix = a, k[:len(k)-4:len(k)-4]
				prefix = append([]byte(nil), prefix...)
			}
			rest := k[len(prefix):]
			day := compliance.Day(binary.BigEndian.Uint32(rest) - 1<<31)
			switch {
			case day < p.From:
				k, v = c.Seek(counterKey(agency, p.From))
				continue
			case day > p.To:
				// Past every key of this agency.
				k, v = c.Seek(append(lp(agency, 5), 0xff, 0xff, 0xff, 0xff, 0xff))
				continue
			}
			var err error
			if counts, err = compliance.DecodeCounts(v); err != nil {
				return fmt.Errorf("counters of %s on %s: %w", agency, day, err)
			}
			if err := fn(agency, day, &counts); err != nil {
				return err
			}
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading counters: %w", err)
	}
	return nil
}

// Numbering calls fn for each agency's register of each year from first
// to last.
func (s *Store) Numbering(ctx context.Context, first, last int, fn func(agency string, year int, r compliance.Ranges) error) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketNumbering).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			agency, rest, ok := splitLP(k)
			if !ok || len(rest) != 2 {
				return fmt.Errorf("bad register key %x", k)
			}
			year := int(binary.BigEndian.Uint16(rest))
			if year < first || year > last {
				continue
			}
			r, err := compliance.DecodeRanges(v)
			if err != nil {
				return fmt.Errorf("register of %s for %d: %w", agency, year, err)
			}
			if err := fn(agency, year, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading registers: %w", err)
	}
	return nil
}

// recount computes the derived buckets' contents from the documents,
// receipts and declarations stored in tx.
func recount(ctx context.Context, tx *bolt.Tx) (*compliance.Delta, error) {
	d := compliance.NewDelta()
	receipts := tx.Bucket(bucketReceipts).Cursor()
	docs := tx.Bucket(bucketDocs).Cursor()
	for k, v := docs.First(); k != nil; k, v = docs.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := string(k)
		facts, err := docFacts(id, v)
		if err != nil {
			return nil, err
		}
		d.Accepted(&facts)
		prefix := lp(id, 0)
		first := true
		for rk, rv := receipts.Seek(prefix); rk != nil && bytes.HasPrefix(rk, prefix); rk, rv = receipts.Next() {
			if first { // the accepted receipt
				first = false
				continue
			}
			r := new(lienthongv1.Receipt)
			body := new(lienthongv1.ReceiptBody)
			if err := proto.Unmarshal(rv, r); err != nil {
				return nil, fmt.Errorf("decoding a receipt of %q: %w", id, err)
			}
			if err := proto.Unmarshal(r.GetBody(), body); err != nil {
				return nil, fmt.Errorf("decoding a receipt of %q: %w", id, err)
			}
			d.Step(&facts, body.GetAgency(), body.GetStatus(), body.GetTime().AsTime())
		}
	}
	c := tx.Bucket(bucketDeclarations).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		decl, err := decodeDeclaration(k, v)
		if err != nil {
			return nil, err
		}
		d.Declared(decl)
	}
	return d, nil
}

// CounterCheck is the result of comparing the stored counters with a
// recount.
type CounterCheck struct {
	// Records is the number of derived records a recount produces.
	Records int
	// Differences lists the records that differ, as "bucket key: stored
	// ≠ recounted", at most 100.
	Differences []string
	// Rebuilt says the stored counters were replaced by the recount.
	Rebuilt bool
}

// CheckCounters recounts the compliance counters from the stored
// documents, receipts and declarations and compares them with the stored
// ones. With rebuild, it replaces the stored counters by the recount (in
// one transaction) when they differ.
func (s *Store) CheckCounters(ctx context.Context, rebuild bool) (*CounterCheck, error) {
	var out *CounterCheck
	check := func(tx *bolt.Tx) error {
		d, err := recount(ctx, tx)
		if err != nil {
			return err
		}
		// The recount's records are compared byte for byte with the
		// stored ones.
		want, err := derivedImage(d)
		if err != nil {
			return err
		}
		out = &CounterCheck{}
		for _, name := range derivedBuckets() {
			out.Records += len(want[string(name)])
			out.Differences = append(out.Differences, diffBucket(tx.Bucket(name), name, want[string(name)])...)
		}
		if len(out.Differences) > 100 {
			out.Differences = out.Differences[:100]
		}
		return nil
	}
	if err := s.view(ctx, check); err != nil {
		return nil, fmt.Errorf("checking compliance counters: %w", err)
	}
	if !rebuild || len(out.Differences) == 0 {
		return out, nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		for _, name := range derivedBuckets() {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		d, err := recount(ctx, tx)
		if err != nil {
			return err
		}
		return applyDelta(tx, d)
	})
	if err != nil {
		return nil, fmt.Errorf("rebuilding compliance counters: %w", err)
	}
	out.Rebuilt = true
	return out, nil
}

// derivedImage returns the records d produces in each derived bucket,
// built by addDelta as the incremental path builds them.
func derivedImage(d *compliance.Delta) (map[string]memRecords, error) {
	counters, numbers, numbering := memRecords{}, memRecords{}, memRecords{}
	if err := addDelta(counters, numbers, numbering, d); err != nil {
		return nil, err
	}
	return map[string]memRecords{string(bucketCounters): counters, string(bucketNumbers): numbers, string(bucketNumbering): numbering}, nil
}

func diffBucket(b *bolt.Bucket, name []byte, want memRecords) []string {
	var diffs []string
	seen := 0
	b.ForEach(func(k, v []byte) error {
		w, ok := want[string(k)]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s %x: stored, not recounted", name, k))
		case !bytes.Equal(w, v):
			diffs = append(diffs, fmt.Sprintf("%s %x: stored %x ≠ recounted %x", name, k, v, w))
		}
		if ok {
			seen++
		}
		return nil
	})
	if seen < len(want) {
		var missing []string
		for k := range want {
			if b.Get([]byte(k)) == nil {
				missing = append(missing, fmt.Sprintf("%s %x: recounted, not stored", name, k))
			}
		}
		slices.Sort(missing)
		diffs = append(diffs, missing...)
	}
	return diffs
}
