package directory

import (
	"slices"
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
