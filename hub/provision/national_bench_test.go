package provision_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// nationalFixture is a real store holding a generated national directory
// (63 provinces, about 110,000 agencies), imported from its CSV file the
// way `lthub agency import` does, and paper declarations spread over its
// agencies and the year, so that the compliance counters and registers
// cover a realistic share of them.
type nationalFixture struct {
	st       *store.Store
	dir      *directory.Directory
	csv      []byte
	agencies int
	decls    int
	now      time.Time
}

// declarations is the document count of the fixture: paper declarations
// (they write the same counter and register records a document sent over
// the hub writes, without PDFs to sign), one for each of that many
// agencies, each on a day of 2026.
const declarations = 20000

func newNationalFixture(b *testing.B) *nationalFixture {
	b.Helper()
	ctx := context.Background()
	gen, err := provision.National(1, 63)
	if err != nil {
		b.Fatal(err)
	}
	var csv bytes.Buffer
	if err := registry.WriteCSV(&csv, provision.Agencies(gen)); err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	f := &nationalFixture{st: st, csv: csv.Bytes(), agencies: len(gen), now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}

	start := time.Now()
	rows, err := registry.ReadCSV(bytes.NewReader(f.csv))
	if err != nil {
		b.Fatal(err)
	}
	reg := registry.New(registry.Config{Store: st, National: true, Now: func() time.Time { return f.now }})
	if _, err := reg.Apply(ctx, registry.Change{Op: registry.OpImport, Rows: rows}); err != nil {
		b.Fatal(err)
	}
	b.Logf("import of %d agencies (%d bytes of CSV) through the registry: %v", len(rows), len(f.csv), time.Since(start).Round(time.Millisecond))

	start = time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 64 {
		wg.Go(func() {
			for i := range jobs {
				a := gen[(i*7919)%len(gen)]
				day := time.Date(2026, 1, 1+i%330, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				d, err := compliance.NewDeclaration(a.Code, compliance.ChannelPaper, strconv.Itoa(1+i%50), "UBND", day, "Công văn", f.now)
				if err == nil {
					_, err = st.Declare(ctx, d)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range declarations {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	f.decls = declarations
	b.Logf("%d paper declarations stored: %v", declarations, time.Since(start).Round(time.Millisecond))
	if f.dir, err = load(ctx, st); err != nil {
		b.Fatal(err)
	}
	return f
}

// load is what the hub does at start and on every directory change:
// read the stored directory and build the snapshot.
func load(ctx context.Context, st *store.Store) (*directory.Directory, error) {
	agencies, err := st.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	return directory.New(agencies, directory.National(true))
}

// BenchmarkNational measures, over a national directory of about 110,000
// agencies: loading it from the store (hub start, and each change), a
// file import's parse, listing, routing to one code and to groups, and
// the compliance report of the whole country and of one agency. It
// reports the live heap and the process's RSS with the directory loaded.
func BenchmarkNational(b *testing.B) {
	f := newNationalFixture(b)
	ctx := context.Background()
	b.Run("Load", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			if _, err := load(ctx, f.st); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(f.agencies), "agencies")
	})
	b.Run("ReadCSV", func(b *testing.B) {
		for b.Loop() {
			if _, err := registry.ReadCSV(bytes.NewReader(f.csv)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListAll", func(b *testing.B) {
		// Every page as ListAgencies answers it: the page, the response's
		// agencies, and their encoding (the largest page's size reported).
		var largest int
		for b.Loop() {
			n := 0
			for after := ""; ; {
				p, err := f.dir.List("", after, exchange.MaxAgenciesPage)
				if err != nil {
					b.Fatal(err)
				}
				resp := &lienthongv1.ListAgenciesResponse{NextPageToken: p.Next, Total: int32(p.Total)}
				for _, a := range p.Agencies {
					resp.Agencies = append(resp.Agencies, &lienthongv1.Agency{Code: a.GetCode(), Name: a.GetName(), Kind: a.GetKind(), Status: a.GetStatus()})
				}
				wire, err := proto.Marshal(resp)
				if err != nil {
					b.Fatal(err)
				}
				largest = max(largest, len(wire))
				n += len(p.Agencies)
				if after = p.Next; after == "" {
					break
				}
			}
			if n != f.agencies {
				b.Fatalf("listed %d of %d", n, f.agencies)
			}
		}
		b.ReportMetric(float64(largest), "page-bytes")
	})
	b.Run("ListProvince", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.dir.List("000.00.00.H31", "", 5000); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, r := range []struct{ name, sender, to string }{
		{"RouteCode", "000.01.31.H01", "000.01.31.H63"},
		{"RouteGroupDistrict", "000.00.00.H31", "commune:000.00.31.H31"},
		{"RouteGroupProvince", "000.00.00.H01", "commune:000.00.00.H31"},
	} {
		b.Run(r.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				got, err := f.dir.Resolve(r.sender, []string{r.to})
				if err != nil {
					b.Fatal(err)
				}
				n = len(got)
			}
			b.ReportMetric(float64(n), "recipients")
		})
	}
	b.Run("Report", func(b *testing.B) {
		cpu := cpuTime()
		defer reportCPU(b, cpu)
		for b.Loop() {
			rep, err := compliance.Build(ctx, f.st, f.dir.All(), compliance.YearPeriod(2026), compliance.Options{Now: f.now})
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Agencies) != f.agencies || rep.Province.Paper != int64(f.decls) {
				b.Fatalf("report: %d agencies, %d on paper", len(rep.Agencies), rep.Province.Paper)
			}
		}
	})
	b.Run("ReportProvince", func(b *testing.B) {
		// One province's report (lthub report --under 000.00.00.H31), as
		// the admin service builds it: over that province's agencies.
		cpu := cpuTime()
		defer reportCPU(b, cpu)
		for b.Loop() {
			under, err := f.dir.Under("000.00.00.H31")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := compliance.Build(ctx, f.st, under, compliance.YearPeriod(2026), compliance.Options{Now: f.now, Under: "000.00.00.H31"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	rep, err := compliance.Build(ctx, f.st, f.dir.All(), compliance.YearPeriod(2026), compliance.Options{Now: f.now})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ReportWire", func(b *testing.B) {
		// What the admin Report RPC adds: the report as protobuf, both
		// ways (lthub report --hub, the dashboard of a remote hub).
		cpu := cpuTime()
		defer reportCPU(b, cpu)
		var size int
		for b.Loop() {
			wire, err := proto.Marshal(compliance.ToProto(rep))
			if err != nil {
				b.Fatal(err)
			}
			var back lienthongv1.ReportResponse
			if err := proto.Unmarshal(wire, &back); err != nil {
				b.Fatal(err)
			}
			compliance.FromProto(&back)
			size = len(wire)
		}
		b.ReportMetric(float64(size), "wire-bytes")
	})
	b.Run("ReportJSON", func(b *testing.B) {
		cpu := cpuTime()
		defer reportCPU(b, cpu)
		var n countingWriter
		for b.Loop() {
			n = 0
			if err := compliance.WriteJSON(&n, rep); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "json-bytes")
	})
	b.Run("ReportOneAgency", func(b *testing.B) {
		for b.Loop() {
			if _, err := compliance.Build(ctx, f.st, f.dir.All(), compliance.YearPeriod(2026), compliance.Options{Now: f.now, Agency: "000.00.31.H31"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Memory", func(b *testing.B) {
		// The directory as the hub holds it, alone on the heap beside the
		// store's: what one load costs in memory.
		for b.Loop() {
			runtime.GC()
		}
		before := liveHeap()
		d, err := load(ctx, f.st)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.ReportMetric(float64(liveHeap()-before)/(1<<20), "dir-heap-MB")
		b.ReportMetric(float64(liveHeap())/(1<<20), "heap-MB")
		b.ReportMetric(rssMB(b), "rss-MB")
		runtime.KeepAlive(d)
	})
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per operation since start:
// unlike ns/op, it does not grow when other processes share the cores.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// liveHeap is the bytes of live heap objects (after a GC).
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// rssMB is this process's resident set size (VmRSS of /proc/self/status),
// or 0 where there is no /proc.
func rssMB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	return 0
}

// countingWriter counts the bytes written to it.
type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
