package webapp

import (
	"strings"
	"testing"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		code, parent string
		want         bool
	}{
		{"000.01.31.H53", "000.00.31.H53", true},
		{"000.01.31.H53", "000.00.00.H53", true},
		{"000.00.31.H53", "000.00.31.H53", true},
		{"000.01.32.H53", "000.00.31.H53", false},
		{"000.01.31.H54", "000.00.00.H53", false},
		{"000.01.31", "000.00.00.H53", false},
	} {
		if got := under(c.code, c.parent); got != c.want {
			t.Errorf("under(%s, %s) = %v, want %v", c.code, c.parent, got, c.want)
		}
	}
}

// TestChoices checks the recipient tree: each agency after its parent,
// the sender left out, and a group for each agency with communes,
// districts or departments below it, counted.
func TestChoices(t *testing.T) {
	a := func(code, name string, k lienthongv1.AgencyKind) *lienthongv1.Agency {
		return &lienthongv1.Agency{Code: code, Name: name, Kind: k}
	}
	list := []*lienthongv1.Agency{
		a("000.01.31.H53", "UBND xã Đông Hòa", lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE),
		a("000.00.32.H53", "UBND huyện Tây Sơn", lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT),
		a("000.00.00.H53", "UBND tỉnh", lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE),
		a("000.01.32.H53", "UBND xã Tây An", lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE),
		a("000.00.31.H53", "UBND huyện Đông Sơn", lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT),
		a("000.02.31.H53", "UBND xã Đông Khê", lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE),
	}
	var got []string
	for _, c := range choices(list, "000.01.31.H53") {
		got = append(got, strings.Repeat("  ", c.Depth)+c.Value+" "+c.Label)
	}
	want := []string{
		"000.00.00.H53 UBND tỉnh",
		"  commune:000.00.00.H53 Tất cả UBND xã của UBND tỉnh (3)",
		"  district:000.00.00.H53 Tất cả UBND huyện của UBND tỉnh (2)",
		"  000.00.31.H53 UBND huyện Đông Sơn",
		"    commune:000.00.31.H53 Tất cả UBND xã của UBND huyện Đông Sơn (2)",
		"    000.02.31.H53 UBND xã Đông Khê",
		"  000.00.32.H53 UBND huyện Tây Sơn",
		"    commune:000.00.32.H53 Tất cả UBND xã của UBND huyện Tây Sơn (1)",
		"    000.01.32.H53 UBND xã Tây An",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("choices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClerkSteps(t *testing.T) {
	names := func(st lienthongv1.Status) string {
		var out []string
		for _, s := range clerkSteps(st) {
			out = append(out, s.Name)
		}
		return strings.Join(out, " ")
	}
	for st, want := range map[lienthongv1.Status]string{
		lienthongv1.Status_STATUS_DELIVERED:   "received assigned in-progress done rejected",
		lienthongv1.Status_STATUS_RECEIVED:    "assigned in-progress done",
		lienthongv1.Status_STATUS_ASSIGNED:    "in-progress done",
		lienthongv1.Status_STATUS_IN_PROGRESS: "done",
		lienthongv1.Status_STATUS_DONE:        "",
		lienthongv1.Status_STATUS_REJECTED:    "",
		lienthongv1.Status_STATUS_REVOKED:     "",
	} {
		if got := names(st); got != want {
			t.Errorf("after %s: %q, want %q", st.Name(), got, want)
		}
	}
}
