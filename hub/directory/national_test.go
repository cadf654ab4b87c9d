package directory_test

import (
	"slices"
	"testing"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/provision"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Under and group expansion, which read a range of the tree-ordered
// index, give what the definition gives (every code IsUnder the root,
// checked one by one) on a generated three-province directory.
func TestSubtreesMatchTheCodeTree(t *testing.T) {
	gen, err := provision.National(7, 3)
	if err != nil {
		t.Fatal(err)
	}
	d, err := directory.New(provision.Agencies(gen), directory.National(true))
	if err != nil {
		t.Fatal(err)
	}
	all := d.All()
	codes := make([]lienthong.Code, len(all))
	for i, a := range all {
		codes[i] = lienthong.MustParseCode(a.GetCode())
	}
	checked := 0
	for i, root := range all {
		rc := codes[i]
		if rc.Level() == 4 || (rc.Level() == 3 && i%200 != 0) {
			continue
		}
		want := []*lienthongv1.Agency{root}
		var communes []string
		for j, a := range all {
			if codes[j].IsUnder(rc) {
				want = append(want, a)
				if a.GetKind() == lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE {
					communes = append(communes, a.GetCode())
				}
			}
		}
		got, err := d.Under(root.GetCode())
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Under(%s): %d agencies, %v; want %d", root.GetCode(), len(got), err, len(want))
		}
		if len(communes) > 0 {
			res, err := d.Resolve("000.00.00.H99", []string{"commune:" + root.GetCode()})
			if err != nil || !slices.Equal(res, communes) {
				t.Fatalf("Resolve(commune:%s): %d, %v; want %d", root.GetCode(), len(res), err, len(communes))
			}
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("checked %d roots only", checked)
	}
}
