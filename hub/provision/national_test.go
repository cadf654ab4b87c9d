package provision_test

import (
	"slices"
	"testing"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/provision"
)

// The generator is deterministic, makes about 110,000 agencies for the
// country, each code valid and once, each agency's parent present, and
// every province its own People's Committee.
func TestNationalShape(t *testing.T) {
	a, err := provision.National(1, 63)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := provision.National(1, 63)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave two directories")
	}
	if c, _ := provision.National(2, 63); slices.Equal(a, c) {
		t.Error("two seeds gave the same directory")
	}
	if len(a) != 109747 {
		t.Errorf("seed 1: %d agencies, want 109747 (the figure the README states)", len(a))
	}
	seen := make(map[string]bool, len(a))
	provinces := map[string]bool{}
	for _, s := range a {
		c, err := lienthong.ParseCode(s.Code)
		if err != nil {
			t.Fatalf("%s: %v", s.Code, err)
		}
		if seen[s.Code] {
			t.Fatalf("%s twice", s.Code)
		}
		seen[s.Code] = true
		if p, ok := c.Parent(); ok && !seen[p.String()] {
			t.Fatalf("%s comes before its parent %s, or without it", s.Code, p)
		}
		if c.Level() == 1 {
			provinces[c.Province()] = true
		}
	}
	if len(provinces) != 63 {
		t.Errorf("%d provinces, want 63", len(provinces))
	}
	for _, n := range []int{0, 100} {
		if _, err := provision.National(1, n); err == nil {
			t.Errorf("National(1, %d) accepted", n)
		}
	}
}
