package store

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/hub/compliance"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

var (
	yearDocs     = flag.Int("year.docs", 1_000_000, "documents stored for BenchmarkComplianceReport")
	yearAgencies = flag.Int("year.agencies", 1000, "agencies for BenchmarkComplianceReport")
	yearCache    = flag.String("year.cache", "", "directory caching the benchmark's store (default ~/.cache/lienthong-bench/report-<agencies>-<docs>)")
)

// yearAgencyList returns n agencies: the province, departments, districts
// with their communes, and units, in the proportions of a real province.
func yearAgencyList(n int) []*lienthongv1.Agency {
	out := []*lienthongv1.Agency{{Code: "000.00.00.H53", Name: "UBND tỉnh", Kind: lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE}}
	add := func(code, name string, kind lienthongv1.AgencyKind) {
		if len(out) < n {
			out = append(out, &lienthongv1.Agency{Code: code, Name: name, Kind: kind})
		}
	}
	for i := 1; i <= 30; i++ {
		add(fmt.Sprintf("000.00.%02d.H53", i), fmt.Sprintf("Sở %d", i), lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT)
	}
	for i := 1; i <= 30; i++ {
		add(fmt.Sprintf("000.%02d.01.H53", i), fmt.Sprintf("Đơn vị %d", i), lienthongv1.AgencyKind_AGENCY_KIND_UNIT)
	}
	for d := 31; d <= 99 && len(out) < n; d++ {
		add(fmt.Sprintf("000.00.%02d.H53", d), fmt.Sprintf("UBND huyện %d", d), lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT)
		for c := 1; c <= 45; c++ {
			add(fmt.Sprintf("000.%02d.%02d.H53", c, d), fmt.Sprintf("UBND xã %d-%d", d, c), lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE)
		}
	}
	return out
}

// yearTruth is what loadYear stored, counted independently of the
// counters.
type yearTruth struct {
	electronic, paper, received int64
	missing                     int64 // register numbers skipped and never declared
}

// loadYear stores docs documents of 2026 among agencies through Accept,
// from many goroutines so group commit packs them; besides, it declares
// every 20th number of a sender on paper and skips every 50th (a gap).
func loadYear(tb testing.TB, s *Store, agencies []*lienthongv1.Agency, docs int, seed uint64) yearTruth {
	tb.Helper()
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, compliance.Zone())
	rng := rand.New(rand.NewPCG(seed, 1))
	next := make([]uint32, len(agencies))
	var truth yearTruth
	type job struct {
		doc  *Document
		decl *compliance.Declaration
	}
	jobs := make(chan job, 1024)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range 512 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var err error
				if j.doc != nil {
					_, _, err = s.Accept(ctx, j.doc)
				} else {
					_, err = s.Declare(ctx, j.decl)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := 0; truth.electronic < int64(docs); i++ {
		si := rng.IntN(len(agencies))
		sender := agencies[si].GetCode()
		next[si]++
		if next[si]%50 == 0 {
			next[si]++ // a number never used
			truth.missing++
		}
		num := next[si]
		// Acceptance times spread over the year, in order per sender
		// closely enough for a register.
		at := start.Add(time.Duration(rng.Int64N(int64(364 * 24 * time.Hour))))
		if num%20 == 0 {
			jobs <- job{decl: &compliance.Declaration{Agency: sender, Channel: compliance.ChannelPaper, Number: num,
				Notation: "QĐ-UBND", IssueDate: compliance.DayOf(at), DeclaredAt: at}}
			truth.paper++
			continue
		}
		recipients := make([]string, 1+rng.IntN(3))
		for k := range recipients {
			recipients[k] = agencies[rng.IntN(len(agencies))].GetCode()
		}
		seen := map[string]bool{}
		for _, r := range recipients {
			if !seen[r] {
				seen[r] = true
				truth.received++
			}
		}
		id := "y" + strconv.Itoa(i)
		env, err := proto.Marshal(&lienthongv1.Envelope{MessageId: id, Sender: sender, Recipients: recipients,
			BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: strconv.Itoa(int(num)), Notation: "UBND-VP",
			IssueDate: compliance.DayOf(at).String(), Subject: "Văn bản " + id})
		if err != nil {
			tb.Fatal(err)
		}
		body, err := proto.Marshal(&lienthongv1.ReceiptBody{ReceiptId: "acc-" + id, MessageId: id,
			Status: lienthongv1.Status_STATUS_ACCEPTED, Recipients: recipients, Time: timestamppb.New(at), Sender: sender})
		if err != nil {
			tb.Fatal(err)
		}
		jobs <- job{doc: &Document{MessageID: id, Sender: sender, Envelope: &lienthongv1.SignedEnvelope{Envelope: env},
			EnvelopeSHA256: sha256.Sum256(env), Recipients: recipients, Accepted: &lienthongv1.Receipt{Body: body},
			Verification: &lienthongv1.Verification{Verdict: "valid"}}}
		truth.electronic++
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("loading the year: %v", firstErr)
	}
	return truth
}

// checkYear compares a whole-year report with what loadYear stored.
func checkYear(tb testing.TB, rep *compliance.Report, truth yearTruth) {
	tb.Helper()
	var missing int64
	for _, a := range rep.Agencies {
		missing += a.PossiblyPaper
	}
	p := rep.Province
	if p.Electronic != truth.electronic || p.Signed != truth.electronic || p.Paper != truth.paper || p.Received != truth.received || missing != truth.missing {
		tb.Fatalf("report: %d electronic, %d signed, %d paper, %d received, %d possibly paper; stored %d electronic (all signed), %d paper, %d received, %d skipped numbers",
			p.Electronic, p.Signed, p.Paper, p.Received, missing, truth.electronic, truth.paper, truth.received, truth.missing)
	}
}

// TestComplianceYearSmall is BenchmarkComplianceReport on a small load:
// the counters kept while storing match an independent count and a
// recount from the stored documents.
func TestComplianceYearSmall(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	agencies := yearAgencyList(60)
	truth := loadYear(t, s, agencies, 3000, 7)
	ctx := context.Background()
	rep, err := compliance.Build(ctx, s, agencies, compliance.YearPeriod(2026), compliance.Options{Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	checkYear(t, rep, truth)
	c, err := s.CheckCounters(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Differences) != 0 || c.Records == 0 {
		t.Fatalf("recount: %d records, differences %q", c.Records, c.Differences)
	}
}

// BenchmarkComplianceReport times the year report of 1,000 agencies with
// 1,000,000 documents stored (flags -year.docs, -year.agencies). The store
// is built once through Accept and cached (see -year.cache): building it
// takes minutes.
func BenchmarkComplianceReport(b *testing.B) {
	agencies := yearAgencyList(*yearAgencies)
	dir := *yearCache
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "lienthong-bench", fmt.Sprintf("report-%d-%d", *yearAgencies, *yearDocs))
	}
	ready := filepath.Join(dir, "complete")
	truthFile := filepath.Join(dir, "truth")
	var truth yearTruth
	if _, err := os.Stat(ready); err != nil {
		os.RemoveAll(dir)
		s, err := Open(dir, Options{MaxBatchSize: 2048})
		if err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		truth = loadYear(b, s, agencies, *yearDocs, 2026)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("stored %d documents and %d declarations in %v", truth.electronic, truth.paper, time.Since(began).Round(time.Second))
		if err := os.WriteFile(truthFile, fmt.Appendf(nil, "%d %d %d %d", truth.electronic, truth.paper, truth.received, truth.missing), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	} else {
		raw, err := os.ReadFile(truthFile)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fmt.Sscan(string(raw), &truth.electronic, &truth.paper, &truth.received, &truth.missing); err != nil {
			b.Fatal(err)
		}
	}
	s := openStore(b, dir, Options{})
	ctx := context.Background()
	opts := compliance.Options{Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	rep, err := compliance.Build(ctx, s, agencies, compliance.YearPeriod(2026), opts)
	if err != nil {
		b.Fatal(err)
	}
	checkYear(b, rep, truth)
	b.ResetTimer()
	for b.Loop() {
		if _, err := compliance.Build(ctx, s, agencies, compliance.YearPeriod(2026), opts); err != nil {
			b.Fatal(err)
		}
	}
}
