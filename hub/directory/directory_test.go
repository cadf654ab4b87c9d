package directory

import (
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func sample(t *testing.T) *Directory {
	t.Helper()
	const (
		prov = lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
		dept = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
		dist = lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
		comm = lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE
	)
	active := lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE
	a := func(code string, k lienthongv1.AgencyKind) *lienthongv1.Agency {
		return &lienthongv1.Agency{Code: code, Name: code, Kind: k, Status: active}
	}
	susp := a("000.03.31.H53", comm)
	susp.Status = lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED
	d, err := New([]*lienthongv1.Agency{
		a("000.00.00.H53", prov), a("000.00.01.H53", dept), a("000.00.02.H53", dept),
		a("000.00.31.H53", dist), a("000.01.31.H53", comm), a("000.02.31.H53", comm), susp,
		a("000.00.32.H53", dist), a("000.01.32.H53", comm),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestResolve(t *testing.T) {
	d := sample(t)
	tests := []struct {
		name   string
		sender string
		to     []string
		want   []string
		kind   lienthong.Kind
	}{
		{"one", "000.01.31.H53", []string{"000.00.31.H53"}, []string{"000.00.31.H53"}, 0},
		{"dedup and sort", "000.01.31.H53", []string{"000.00.31.H53", "000.00.00.H53", "000.00.31.H53"}, []string{"000.00.00.H53", "000.00.31.H53"}, 0},
		{"communes of a district skip suspended", "000.00.00.H53", []string{"commune:000.00.31.H53"}, []string{"000.01.31.H53", "000.02.31.H53"}, 0},
		{"every district", "000.00.00.H53", []string{"district:000.00.00.H53"}, []string{"000.00.31.H53", "000.00.32.H53"}, 0},
		{"group excludes the sender", "000.01.31.H53", []string{"commune:000.00.31.H53"}, []string{"000.02.31.H53"}, 0},
		{"group plus code", "000.00.00.H53", []string{"department:000.00.00.H53", "000.01.32.H53"}, []string{"000.00.01.H53", "000.00.02.H53", "000.01.32.H53"}, 0},
		{"unknown", "000.00.00.H53", []string{"000.09.31.H53"}, nil, lienthong.KindNotFound},
		{"other province", "000.00.00.H53", []string{"000.00.31.H54"}, nil, lienthong.KindNotFound},
		{"suspended", "000.00.00.H53", []string{"000.03.31.H53"}, nil, lienthong.KindFailedPrecondition},
		{"self", "000.00.00.H53", []string{"000.00.00.H53"}, nil, lienthong.KindInvalid},
		{"bad kind", "000.00.00.H53", []string{"village:000.00.31.H53"}, nil, lienthong.KindInvalid},
		{"empty group", "000.00.00.H53", []string{"unit:000.00.31.H53"}, nil, lienthong.KindInvalid},
		{"group root unknown", "000.00.00.H53", []string{"commune:000.00.39.H53"}, nil, lienthong.KindNotFound},
		{"none", "000.00.00.H53", nil, nil, lienthong.KindInvalid},
		{"malformed", "000.00.00.H53", []string{"H53"}, nil, lienthong.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Resolve(tt.sender, tt.to)
			if tt.want == nil {
				if err == nil || lienthong.ErrorKind(err) != tt.kind {
					t.Fatalf("Resolve = %v, %v; want kind %v", got, err, tt.kind)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Resolve = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	k := lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
	for name, list := range map[string][]*lienthongv1.Agency{
		"two provinces": {{Code: "000.00.00.H53", Kind: k}, {Code: "000.00.00.H54", Kind: k}},
		"duplicate":     {{Code: "000.00.00.H53", Kind: k}, {Code: "000.00.00.H53", Kind: k}},
		"no kind":       {{Code: "000.00.00.H53"}},
		"bad code":      {{Code: "H53", Kind: k}},
	} {
		if _, err := New(list); err == nil {
			t.Errorf("%s: New accepted %v", name, list)
		}
	}
}

func TestUnder(t *testing.T) {
	d := sample(t)
	got, err := d.Under("000.00.31.H53")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, a := range got {
		codes = append(codes, a.GetCode())
	}
	if want := []string{"000.00.31.H53", "000.01.31.H53", "000.02.31.H53", "000.03.31.H53"}; !slices.Equal(codes, want) {
		t.Errorf("Under = %v, want %v", codes, want)
	}
}

// twoProvinces is H53 and H54, each with a department, a district and
// communes, as a national hub's directory would hold them.
func twoProvinces() []*lienthongv1.Agency {
	const (
		prov = lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
		dept = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
		dist = lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
		comm = lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE
	)
	var out []*lienthongv1.Agency
	for _, x := range []string{"H53", "H54"} {
		for _, a := range []struct {
			code string
			kind lienthongv1.AgencyKind
		}{{"000.00.00.", prov}, {"000.00.01.", dept}, {"000.00.31.", dist}, {"000.01.31.", comm}, {"000.02.31.", comm}} {
			out = append(out, &lienthongv1.Agency{Code: a.code + x, Name: a.code + x, Kind: a.kind, Status: lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE})
		}
	}
	return out
}

// A one-province directory refuses another province's codes; a national
// one holds both, routes between them, and expands a group within the
// code it names.
func TestNational(t *testing.T) {
	if _, err := New(twoProvinces()); err == nil || !strings.Contains(err.Error(), "chế độ liên tỉnh") {
		t.Fatalf("New of two provinces without National = %v; want the mixes-provinces refusal", err)
	}
	if _, err := New(twoProvinces(), National(false)); err == nil {
		t.Fatal("National(false) accepted two provinces")
	}
	d, err := New(twoProvinces(), National(true))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsNational() || d.Province() != "" || !slices.Equal(d.Provinces(), []string{"H53", "H54"}) || d.Len() != 10 {
		t.Fatalf("national directory: national %v, province %q, provinces %v, %d agencies", d.IsNational(), d.Province(), d.Provinces(), d.Len())
	}
	tests := []struct {
		name    string
		sender  string
		to      []string
		want    []string
		kind    lienthong.Kind
		message string
	}{
		{"to another province", "000.01.31.H53", []string{"000.01.31.H54"}, []string{"000.01.31.H54"}, 0, ""},
		{"communes of the other province", "000.01.31.H53", []string{"commune:000.00.00.H54"}, []string{"000.01.31.H54", "000.02.31.H54"}, 0, ""},
		{"districts of one's own province only", "000.00.00.H53", []string{"district:000.00.00.H53"}, []string{"000.00.31.H53"}, 0, ""},
		{"communes of a district stay in its province", "000.00.00.H54", []string{"commune:000.00.31.H53"}, []string{"000.01.31.H53", "000.02.31.H53"}, 0, ""},
		{"both committees and the other's departments", "000.00.01.H53", []string{"000.00.00.H53", "department:000.00.00.H54", "000.00.00.H54"}, []string{"000.00.00.H53", "000.00.00.H54", "000.00.01.H54"}, 0, ""},
		{"province not in the directory", "000.00.00.H53", []string{"000.00.00.H55"}, nil, lienthong.KindNotFound, "tỉnh H55 chưa có trong danh bạ"},
		{"unknown agency of a known province", "000.00.00.H53", []string{"000.09.31.H54"}, nil, lienthong.KindNotFound, "không có cơ quan mã 000.09.31.H54"},
		{"group root in an unknown province", "000.00.00.H53", []string{"commune:000.00.31.H55"}, nil, lienthong.KindNotFound, "tỉnh H55"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Resolve(tt.sender, tt.to)
			if tt.want == nil {
				if err == nil || lienthong.ErrorKind(err) != tt.kind || !strings.Contains(err.Error(), tt.message) {
					t.Fatalf("Resolve = %v, %v; want kind %v with %q", got, err, tt.kind, tt.message)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Resolve = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// List pages the listing in the order of All (or Under), each page
// continuing after the last code of the one before.
func TestList(t *testing.T) {
	d, err := New(twoProvinces(), National(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, under := range []string{"", "000.00.00.H54", "000.00.31.H53"} {
		want := d.All()
		if under != "" {
			if want, err = d.Under(under); err != nil {
				t.Fatal(err)
			}
		}
		for _, size := range []int{0, 1, 3, len(want), len(want) + 1} {
			var got []*lienthongv1.Agency
			after, pages := "", 0
			for {
				p, err := d.List(under, after, size)
				if err != nil {
					t.Fatalf("List(%q, %q, %d): %v", under, after, size, err)
				}
				if p.Total != len(want) {
					t.Fatalf("List(%q, %q, %d).Total = %d, want %d", under, after, size, p.Total, len(want))
				}
				got = append(got, p.Agencies...)
				pages++
				if after = p.Next; after == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%q) by %d: %d agencies in %d pages, want %d", under, size, len(got), pages, len(want))
			}
		}
	}
	for _, after := range []string{"000.00.00.H55", "000.00.00.H53"} {
		if _, err := d.List("000.00.00.H54", after, 2); err == nil || lienthong.ErrorKind(err) != lienthong.KindInvalid || !strings.Contains(err.Error(), "mã trang") {
			t.Errorf("List after %s (not in the listing) = %v; want KindInvalid", after, err)
		}
	}
}
