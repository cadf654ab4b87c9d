package compliance

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func TestWireRoundTrip(t *testing.T) {
	built, err := Build(context.Background(), source(), directory(), q1, Options{Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Build(context.Background(), source(), directory(), q1, Options{Agency: codeCommune1, Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := Build(context.Background(), &fakeSource{}, nil, Period{From: d20260305, To: d20260305}, Options{Now: reportNow})
	if err != nil {
		t.Fatal(err)
	}
	nanos := smallReport()
	nanos.GeneratedAt = time.Date(2026, 3, 31, 10, 0, 0, 123456789, time.UTC)

	for name, r := range map[string]*Report{
		"whole province":     built,
		"one agency":         one,
		"empty directory":    empty,
		"small, nanoseconds": nanos,
	} {
		// Through the wire bytes, as the admin service sends it.
		b, err := proto.Marshal(ToProto(r))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var resp lienthongv1.ReportResponse
		if err := proto.Unmarshal(b, &resp); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := FromProto(&resp)
		checkReport(t, got, r)
	}

	// Spot checks: nil stays nil, zero stays a non-nil zero.
	got := FromProto(ToProto(built))
	c2 := got.Agencies[4]
	if c2.Code != codeCommune2 || c2.ElectronicRate == nil || *c2.ElectronicRate != 0 || c2.SignedRate != nil ||
		c2.MedianAckSeconds != nil || c2.MedianDoneSeconds != nil {
		t.Errorf("commune 2 after the round trip: %+v", c2)
	}
	if feb := got.Months[1]; feb.Month != "2026-02" || feb.ElectronicRate != nil || feb.SignedRate != nil {
		t.Errorf("February after the round trip: %+v", feb)
	}
}

func TestToProto(t *testing.T) {
	p := ToProto(smallReport())
	if p.GetFrom() != "2026-03-01" || p.GetTo() != "2026-03-31" || p.GetAgency() != "" ||
		!p.GetGeneratedAt().AsTime().Equal(time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("header: %v", p)
	}
	k := p.GetKinds()[1]
	if k.GetKey() != "commune" || k.GetKind() != "commune" || k.GetLabel() != "Cấp xã" || k.GetAgencies() != 1 ||
		k.GetFigures().ElectronicRate == nil || k.GetFigures().GetElectronicRate() != 0 || k.GetFigures().SignedRate != nil {
		t.Errorf("commune kind: %v", k)
	}
	a := p.GetAgencies()[0]
	if a.GetKey() != "000.00.31.H53" || a.GetName() != "UBND huyện A" || a.GetPossiblyPaper() != 6 || len(a.GetGaps()) != 3 ||
		a.GetGaps()[0].GetYear() != 2025 || a.GetGaps()[2].GetFrom() != 9 || a.GetGaps()[2].GetTo() != 11 ||
		a.GetFigures().GetElectronicRate() != 0.9375 || a.GetFigures().MedianAckSeconds != nil {
		t.Errorf("district agency: %v", a)
	}
	if m := p.GetMonths()[0]; m.GetKey() != "2026-03" || m.GetFigures().GetMedianDoneSeconds() != 86400 {
		t.Errorf("month: %v", m)
	}
}

// TestFromProtoSparse reads a response with missing parts (an older or
// foreign server) without panicking.
func TestFromProtoSparse(t *testing.T) {
	resp := &lienthongv1.ReportResponse{
		From: "2026-03-01", To: "2026-03-31", GeneratedAt: timestamppb.New(reportNow),
		Kinds:    []*lienthongv1.ComplianceGroup{{Key: "commune", Kind: "commune", Label: "Cấp xã", Agencies: 2}},
		Agencies: []*lienthongv1.ComplianceGroup{{Key: codeCommune1, Name: "UBND xã A1"}},
		Months:   []*lienthongv1.ComplianceGroup{{Key: "2026-03"}},
	}
	checkReport(t, FromProto(resp), &Report{
		From: "2026-03-01", To: "2026-03-31", GeneratedAt: reportNow,
		Kinds:    []KindRow{{Kind: "commune", Label: "Cấp xã", Agencies: 2}},
		Agencies: []AgencyRow{{Code: codeCommune1, Name: "UBND xã A1", Gaps: []Gap{}}},
		Months:   []MonthRow{{Month: "2026-03"}},
	})
}
