package compliance

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// ToProto returns the report as the admin service's response.
func ToProto(r *Report) *lienthongv1.ReportResponse {
	out := &lienthongv1.ReportResponse{
		From: r.From, To: r.To, GeneratedAt: timestamppb.New(r.GeneratedAt), Agency: r.Agency, Under: r.Under,
		Province: figuresToProto(&r.Province),
		Agencies: make([]*lienthongv1.ComplianceGroup, 0, len(r.Agencies)),
	}
	for i := range r.Kinds {
		k := &r.Kinds[i]
		out.Kinds = append(out.Kinds, &lienthongv1.ComplianceGroup{
			Key: k.Kind, Kind: k.Kind, Label: k.Label, Agencies: int32(k.Agencies), Figures: figuresToProto(&k.Figures),
		})
	}
	for i := range r.Agencies {
		a := &r.Agencies[i]
		g := &lienthongv1.ComplianceGroup{
			Key: a.Code, Name: a.Name, Kind: a.Kind, Label: a.Label, Figures: figuresToProto(&a.Figures),
			PossiblyPaper: a.PossiblyPaper,
		}
		for _, gap := range a.Gaps {
			g.Gaps = append(g.Gaps, &lienthongv1.NumberGap{Year: int32(gap.Year), From: gap.From, To: gap.To})
		}
		out.Agencies = append(out.Agencies, g)
	}
	for i := range r.Months {
		m := &r.Months[i]
		out.Months = append(out.Months, &lienthongv1.ComplianceGroup{Key: m.Month, Figures: figuresToProto(&m.Figures)})
	}
	return out
}

// FromProto returns the report carried by an admin service response.
func FromProto(p *lienthongv1.ReportResponse) *Report {
	r := &Report{
		From: p.GetFrom(), To: p.GetTo(), GeneratedAt: p.GetGeneratedAt().AsTime(), Agency: p.GetAgency(), Under: p.GetUnder(),
		Province: figuresFromProto(p.GetProvince()),
		Kinds:    []KindRow{}, Agencies: make([]AgencyRow, 0, len(p.GetAgencies())), Months: []MonthRow{},
	}
	for _, k := range p.GetKinds() {
		r.Kinds = append(r.Kinds, KindRow{Kind: k.GetKind(), Label: k.GetLabel(), Agencies: int(k.GetAgencies()), Figures: figuresFromProto(k.GetFigures())})
	}
	for _, a := range p.GetAgencies() {
		row := AgencyRow{
			Code: a.GetKey(), Name: a.GetName(), Kind: a.GetKind(), Label: a.GetLabel(),
			Figures: figuresFromProto(a.GetFigures()), PossiblyPaper: a.GetPossiblyPaper(), Gaps: []Gap{},
		}
		for _, g := range a.GetGaps() {
			row.Gaps = append(row.Gaps, Gap{Year: int(g.GetYear()), From: g.GetFrom(), To: g.GetTo()})
		}
		r.Agencies = append(r.Agencies, row)
	}
	for _, m := range p.GetMonths() {
		r.Months = append(r.Months, MonthRow{Month: m.GetKey(), Figures: figuresFromProto(m.GetFigures())})
	}
	return r
}

func figuresToProto(f *Figures) *lienthongv1.ComplianceFigures {
	return &lienthongv1.ComplianceFigures{
		Electronic: f.Electronic, Paper: f.Paper, Secret: f.Secret, ElectronicRate: f.ElectronicRate,
		Signed: f.Signed, SignedRate: f.SignedRate, Received: f.Received, Acknowledged: f.Acknowledged,
		MedianAckSeconds: f.MedianAckSeconds, Done: f.Done, MedianDoneSeconds: f.MedianDoneSeconds,
		Due: f.Due, Overdue: f.Overdue,
	}
}

func figuresFromProto(p *lienthongv1.ComplianceFigures) Figures {
	if p == nil {
		// A group sent without figures: reading p.ElectronicRate below
		// would dereference nil.
		return Figures{}
	}
	f := Figures{
		Electronic: p.GetElectronic(), Paper: p.GetPaper(), Secret: p.GetSecret(),
		Signed: p.GetSigned(), Received: p.GetReceived(), Acknowledged: p.GetAcknowledged(),
		Done: p.GetDone(), Due: p.GetDue(), Overdue: p.GetOverdue(),
	}
	if p.ElectronicRate != nil {
		f.ElectronicRate = proto.Float64(p.GetElectronicRate())
	}
	if p.SignedRate != nil {
		f.SignedRate = proto.Float64(p.GetSignedRate())
	}
	if p.MedianAckSeconds != nil {
		f.MedianAckSeconds = proto.Int64(p.GetMedianAckSeconds())
	}
	if p.MedianDoneSeconds != nil {
		f.MedianDoneSeconds = proto.Int64(p.GetMedianDoneSeconds())
	}
	return f
}
