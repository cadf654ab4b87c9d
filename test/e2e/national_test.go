package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/internal/samplepdf"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// initNationalHub runs `lthub init --sample --national`: the sample
// province H53 and the neighbour H54, in a hub marked national.
func initNationalHub(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"init", "--sample", "--national", "--dir", dir}); code != 0 {
		t.Fatalf("lthub init --national exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if want := len(provision.SampleProvince()) + len(provision.SampleNeighbour()); len(lines) != want || lines[0] != province || !slices.Contains(lines, "000.00.00.H54") {
		t.Fatalf("lthub init --national printed %q", lines)
	}
	if _, err := os.Stat(provision.Layout{Dir: dir}.NationalMarker()); err != nil {
		t.Fatalf("no national marker: %v", err)
	}
	return dir
}

// A national hub routes a document from a commune of H53 to a commune of
// H54 and to a group address: "district:000.00.00.H53" names the districts
// of H53 only, not H54's district with the same JJ group.
func TestNationalHubRoutesBetweenProvinces(t *testing.T) {
	dir := initNationalHub(t)
	h := startHub(t, dir)
	const other = "000.01.31.H54"
	pdf, sum := writePDF(t, dir, commune, "lien-tinh.pdf", samplepdf.Options{Title: "Lien tinh"})
	rc, out, errs := ltnode(t, h.Addr(), dir, commune, "send", "--to", other+",district:"+province,
		"--file", pdf, "--number", "7", "--notation", "UBND-VP", "--subject", "Phối hợp liên tỉnh", "--json")
	if rc != 0 {
		t.Fatalf("send exit %d: %s", rc, errs)
	}
	sent := decodeJSON[sendJSON](t, out)
	if want := []string{district, "000.00.32.H53", other}; !slices.Equal(sent.Recipients, want) {
		t.Fatalf("recipients %v, want %v", sent.Recipients, want)
	}
	inbox := t.TempDir()
	rc, out, errs = ltnode(t, h.Addr(), dir, other, "inbox", "--out", inbox, "--json")
	if rc != 0 {
		t.Fatalf("inbox of %s exit %d: %s", other, rc, errs)
	}
	if items := inboxLines(t, out); len(items) != 1 || items[0].MessageID != sent.MessageID || items[0].Sender != commune {
		t.Fatalf("%s received %s", other, out)
	}
	if got := fileSHA256(t, filepath.Join(inbox, sent.MessageID, "lien-tinh.pdf")); got != sum {
		t.Errorf("lien-tinh.pdf sha256 %s, sent %s", got, sum)
	}
	// A province outside the directory is still refused, by name.
	_, err := client(t, h.Addr(), dir, commune).Agencies(context.Background(), "000.00.00.H55")
	if status.Code(err) != codes.NotFound || !strings.Contains(status.Convert(err).Message(), "tỉnh H55 chưa có trong danh bạ") {
		t.Errorf("ListAgencies under H55: %v", err)
	}
}

// A national directory larger than one page (four generated provinces,
// about 7,000 agencies, beside the samples) lists page by page over gRPC:
// node.Client.Agencies reads them all; the raw call returns at most
// exchange.MaxAgenciesPage with a token; bad paging is InvalidArgument.
func TestNationalListAgenciesPages(t *testing.T) {
	dir := initNationalHub(t)
	gen, err := provision.National(1, 4)
	must(t, err)
	csvPath := filepath.Join(t.TempDir(), "quoc-gia.csv")
	f, err := os.Create(csvPath)
	must(t, err)
	must(t, registry.WriteCSV(f, provision.Agencies(gen)))
	must(t, f.Close())
	if rc, so, se := lthub(t, "agency", "import", "--dir", dir, "--offline", csvPath); rc != 0 {
		t.Fatalf("agency import --offline: exit %d %s%s", rc, so, se)
	}
	h := startHub(t, dir)
	c := client(t, h.Addr(), dir, commune)
	ctx := context.Background()
	total := len(gen) + len(provision.SampleProvince()) + len(provision.SampleNeighbour())
	if total <= exchange.MaxAgenciesPage {
		t.Fatalf("%d agencies fit in one page; the test needs more", total)
	}
	all, err := c.Agencies(ctx, "")
	must(t, err)
	if len(all) != total || !slices.IsSortedFunc(all, func(a, b *lienthongv1.Agency) int { return strings.Compare(a.GetCode(), b.GetCode()) }) {
		t.Fatalf("Agencies: %d agencies (sorted %v), want %d", len(all), slices.IsSortedFunc(all, func(a, b *lienthongv1.Agency) int { return strings.Compare(a.GetCode(), b.GetCode()) }), total)
	}
	first, err := c.API().ListAgencies(ctx, &lienthongv1.ListAgenciesRequest{})
	must(t, err)
	if len(first.GetAgencies()) != exchange.MaxAgenciesPage || first.GetNextPageToken() == "" || int(first.GetTotal()) != total {
		t.Fatalf("first page: %d agencies, token %q, total %d", len(first.GetAgencies()), first.GetNextPageToken(), first.GetTotal())
	}
	var h02 int
	for _, a := range gen {
		if strings.HasSuffix(a.Code, ".H02") {
			h02++
		}
	}
	prov, err := c.Agencies(ctx, "000.00.00.H02")
	must(t, err)
	if len(prov) != h02 || prov[0].GetCode() != "000.00.00.H02" {
		t.Fatalf("Agencies under H02: %d, want %d, root first", len(prov), h02)
	}
	for _, tc := range []struct {
		name string
		req  *lienthongv1.ListAgenciesRequest
		want string
	}{
		{"negative page size", &lienthongv1.ListAgenciesRequest{PageSize: -1}, "page size must not be negative"},
		{"token of another listing", &lienthongv1.ListAgenciesRequest{Under: "000.00.00.H02", PageToken: "000.00.00.H03"}, "page token not in this listing"},
	} {
		_, err := c.API().ListAgencies(ctx, tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.want) {
			t.Errorf("%s: %v; want InvalidArgument with %q", tc.name, err, tc.want)
		}
	}
}

// TestNationalScaleProcess is the national replay with a real hub
// process (`make bench-national` runs it; it takes about a minute, so it
// skips unless LIENTHONG_NATIONAL=1): 63 generated provinces (about
// 110,000 agencies) imported offline, then `lthub serve` started on
// them. It checks every agency comes back over gRPC page by page and in
// the compliance report, and logs what it took: the import, the start
// (directory load included), the hub's RSS, the listing and the report.
func TestNationalScaleProcess(t *testing.T) {
	if os.Getenv("LIENTHONG_NATIONAL") != "1" {
		t.Skip("the national replay takes a minute: LIENTHONG_NATIONAL=1 (make bench-national) runs it")
	}
	dir := initNationalHub(t)
	gen, err := provision.National(1, 63)
	must(t, err)
	codes := map[string]bool{}
	for _, a := range append(append(gen, provision.SampleProvince()...), provision.SampleNeighbour()...) {
		codes[a.Code] = true
	}
	csvPath := filepath.Join(t.TempDir(), "quoc-gia.csv")
	f, err := os.Create(csvPath)
	must(t, err)
	must(t, registry.WriteCSV(f, provision.Agencies(gen)))
	must(t, f.Close())
	start := time.Now()
	if rc, so, se := lthub(t, "agency", "import", "--dir", dir, "--offline", csvPath); rc != 0 {
		t.Fatalf("agency import --offline: exit %d %s%s", rc, so, se)
	}
	imported := time.Since(start)

	start = time.Now()
	p := startHubProcess(t, dir, "127.0.0.1:0")
	started := time.Since(start)
	rss, hwm := procMemory(t, p.cmd.Process.Pid)

	c := client(t, p.addr, dir, commune)
	start = time.Now()
	all, err := c.Agencies(context.Background(), "")
	must(t, err)
	listed := time.Since(start)
	if len(all) != len(codes) {
		t.Fatalf("ListAgencies: %d agencies, want %d", len(all), len(codes))
	}
	start = time.Now()
	rc, so, se := lthub(t, "report", "--dir", dir, "--hub", p.addr, "--format", "json")
	reported := time.Since(start)
	if rc != 0 {
		t.Fatalf("report: exit %d %s", rc, se)
	}
	rep := decodeJSON[compliance.Report](t, so)
	if len(rep.Agencies) != len(codes) {
		t.Fatalf("report: %d agencies, want %d", len(rep.Agencies), len(codes))
	}
	start = time.Now()
	rc, so2, se := lthub(t, "report", "--dir", dir, "--hub", p.addr, "--format", "json", "--under", "000.00.00.H31")
	reportedProvince := time.Since(start)
	if rc != 0 {
		t.Fatalf("report --under: exit %d %s", rc, se)
	}
	if prov := decodeJSON[compliance.Report](t, so2); prov.Under != "000.00.00.H31" || len(prov.Agencies) == 0 || len(prov.Agencies) > 3000 {
		t.Fatalf("report --under 000.00.00.H31: under %q, %d agencies", prov.Under, len(prov.Agencies))
	}
	rssAfter, hwmAfter := procMemory(t, p.cmd.Process.Pid)
	t.Logf("national: %d agencies; import --offline %v; lthub serve to serving %v (RSS %.0f MB, peak %.0f MB); ListAgencies, every page over gRPC, %v; lthub report --format json over gRPC %v (%d bytes), of one province (--under 000.00.00.H31) %v (%d bytes); hub RSS after %.0f MB, peak %.0f MB",
		len(codes), imported.Round(time.Millisecond), started.Round(time.Millisecond), rss, hwm, listed.Round(time.Millisecond),
		reported.Round(time.Millisecond), len(so), reportedProvince.Round(time.Millisecond), len(so2), rssAfter, hwmAfter)
}

// procMemory returns VmRSS and VmHWM of process pid in MB.
func procMemory(t *testing.T, pid int) (rss, hwm float64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		for name, v := range map[string]*float64{"VmRSS:": &rss, "VmHWM:": &hwm} {
			if rest, ok := strings.CutPrefix(line, name); ok {
				var kb float64
				if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
					t.Fatal(err)
				}
				*v = kb / 1024
			}
		}
	}
	return rss, hwm
}
