package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
