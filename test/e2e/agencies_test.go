package e2e

import (
	"strings"
	"testing"
)

// ltnode agencies prints the directory as a tree: each agency indented
// under its parent; --under limits it to one branch.
func TestAgenciesTree(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	rc, out, errs := ltnode(t, h.Addr(), dir, commune, "agencies", "--under", district)
	if rc != 0 {
		t.Fatalf("agencies exit %d: %s", rc, errs)
	}
	want := "000.00.31.H53  UBND huyện Đông Sơn (district)\n" +
		"  000.01.31.H53  UBND xã Đông Hòa (commune)\n" +
		"  000.02.31.H53  UBND xã Đông Khê (commune)\n" +
		"  000.03.31.H53  UBND xã Đông Ninh (commune)\n"
	if out != want {
		t.Errorf("agencies --under %s:\n%s\nwant:\n%s", district, out, want)
	}
	rc, out, _ = ltnode(t, h.Addr(), dir, commune, "agencies")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if rc != 0 || len(lines) != 13 || !strings.HasPrefix(lines[0], province+"  UBND tỉnh") || !strings.HasPrefix(lines[4], "    000.01.03.H53") {
		t.Errorf("agencies (exit %d):\n%s", rc, out)
	}
	rc, _, errs = ltnode(t, h.Addr(), dir, commune, "agencies", "--under", "000.00.39.H53")
	if rc != 1 || !strings.Contains(errs, "NotFound") {
		t.Errorf("unknown branch: exit %d, %s", rc, errs)
	}
}
