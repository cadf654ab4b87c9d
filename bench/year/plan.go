// Package year replays one province-year through a real hub: documents
// among about a thousand agencies (province, departments, districts,
// communes), single, multi and group sends, recipients acknowledging and
// reporting steps, paper and secret declarations, numbering gaps. It
// keeps its own count of what it did (the truth) and checks the hub's
// compliance report against it at the end. The hub's clock is simulated
// so the documents spread over the year; everything else is real: bbolt on
// disk, mutual TLS on loopback, signed PDFs verified, node clients.
package year

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/provision"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Outcome is what a document's recipients do after acknowledging it.
type Outcome uint8

// Outcomes.
const (
	Acknowledge Outcome = iota // only acknowledge
	Finish                     // received, then done
	Reject                     // rejected with a reason
)

// Item is one planned step of the year: a document sent, or a
// declaration.
type Item struct {
	At     time.Time // simulated time
	Sender string
	Number uint32
	// Declaration, if not zero, makes the item a declaration.
	Declaration compliance.Channel
	// For documents:
	MessageID  string
	Recipients []string // as sent (codes or KIND:CODE groups)
	Resolved   []string // what the hub must resolve them to
	Due        string   // YYYY-MM-DD or ""
	Outcome    Outcome
}

// Truth is the replay's own count of one agency's year.
type Truth struct {
	Electronic, Paper, Secret, Received, Done, Due, Overdue, Missing int64
}

// Plan is the generated year.
type Plan struct {
	Year  int
	Items []Item
	Truth map[string]*Truth
	// Deliveries is the number of (document, recipient) pairs, Steps the
	// status reports the recipients will make.
	Deliveries, Steps int64
}

// province is the directory used by the plan.
type province struct {
	specs   []provision.SampleAgency
	codes   map[string]lienthong.Code
	byKind  map[lienthongv1.AgencyKind][]string
	kinds   map[string]lienthongv1.AgencyKind
	parents map[string]string
}

func newProvince(specs []provision.SampleAgency) (*province, error) {
	p := &province{specs: specs, codes: map[string]lienthong.Code{}, byKind: map[lienthongv1.AgencyKind][]string{},
		kinds: map[string]lienthongv1.AgencyKind{}, parents: map[string]string{}}
	for _, s := range specs {
		c, err := lienthong.ParseCode(s.Code)
		if err != nil {
			return nil, err
		}
		p.codes[s.Code] = c
		p.byKind[s.Kind] = append(p.byKind[s.Kind], s.Code)
		p.kinds[s.Code] = s.Kind
		if parent, ok := c.Parent(); ok {
			p.parents[s.Code] = parent.String()
		}
	}
	return p, nil
}

// group resolves KIND:ROOT as the hub's directory must: every agency of
// that kind strictly under root, except the sender.
func (p *province) group(kind lienthongv1.AgencyKind, root, sender string) []string {
	rc := p.codes[root]
	var out []string
	for _, code := range p.byKind[kind] {
		if code != sender && p.codes[code].IsUnder(rc) {
			out = append(out, code)
		}
	}
	return out
}

// NewPlan generates a year of docs documents (plus the declarations that
// come with them) among specs, reproducibly from seed.
func NewPlan(specs []provision.SampleAgency, docs int, year int, seed uint64) (*Plan, error) {
	p, err := newProvince(specs)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 2026))
	ids := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "lienthong-year-%d-%d", year, seed))
	plan := &Plan{Year: year, Truth: map[string]*Truth{}}
	for _, s := range specs {
		plan.Truth[s.Code] = &Truth{}
	}
	start := time.Date(year, 1, 1, 7, 0, 0, 0, compliance.Zone())
	span := time.Date(year, 12, 31, 17, 0, 0, 0, compliance.Zone()).Sub(start)
	next := map[string]uint32{}
	reportDay := compliance.DayOf(time.Date(year+1, 1, 1, 0, 0, 0, 0, compliance.Zone()))
	yearEnd := compliance.YearPeriod(year).To
	province := p.byKind[lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE][0]
	for sent := 0; sent < docs; {
		at := start.Add(time.Duration(float64(span) * float64(sent) / float64(docs)))
		sender := p.pickSender(rng)
		t := plan.Truth[sender]
		next[sender]++
		if rng.IntN(100) == 0 {
			next[sender]++ // a number of the register never used: a gap
			t.Missing++
		}
		item := Item{At: at, Sender: sender, Number: next[sender]}
		switch r := rng.IntN(100); {
		case r < 4:
			item.Declaration = compliance.ChannelPaper
			t.Paper++
			plan.Items = append(plan.Items, item)
			continue
		case r < 5:
			item.Declaration = compliance.ChannelSecret
			t.Secret++
			plan.Items = append(plan.Items, item)
			continue
		}
		sent++
		t.Electronic++
		item.MessageID = uuid.NewSHA1(ids, fmt.Appendf(nil, "%d", sent)).String()
		item.Recipients, item.Resolved = p.pickRecipients(rng, sender, province)
		if rng.IntN(5) == 0 {
			due := compliance.DayOf(at) + 30
			item.Due = due.String()
			if due <= yearEnd {
				for _, r := range item.Resolved {
					plan.Truth[r].Due++
				}
			}
		}
		switch r := rng.IntN(100); {
		case r < 30:
			item.Outcome = Finish
		case r < 35:
			item.Outcome = Reject
		}
		for _, r := range item.Resolved {
			rt := plan.Truth[r]
			rt.Received++
			plan.Deliveries++
			switch item.Outcome {
			case Finish:
				rt.Done++
				plan.Steps += 2
			case Reject:
				plan.Steps++
			default:
				if item.Due != "" {
					if d, _ := compliance.ParseDay(item.Due); d < reportDay && d <= yearEnd {
						rt.Overdue++
					}
				}
			}
		}
		plan.Items = append(plan.Items, item)
	}
	return plan, nil
}

// pickSender weighs the levels as a province's traffic: the People's
// Committee and departments send most per agency.
func (p *province) pickSender(rng *rand.Rand) string {
	var kind lienthongv1.AgencyKind
	switch r := rng.IntN(100); {
	case r < 5:
		kind = lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
	case r < 40:
		kind = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
	case r < 65:
		kind = lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
	default:
		kind = lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE
	}
	list := p.byKind[kind]
	if len(list) == 0 {
		list = p.byKind[lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE]
	}
	return list[rng.IntN(len(list))]
}

// pickRecipients: 60% one agency (a commune mostly writes to its
// district), 25% two to five agencies, 15% a group where the sender has
// one below it.
func (p *province) pickRecipients(rng *rand.Rand, sender, province string) (sent, resolved []string) {
	r := rng.IntN(100)
	if r >= 85 {
		switch {
		case sender == province:
			kind := lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
			if rng.IntN(2) == 0 {
				kind = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
			}
			if g := p.group(kind, province, sender); len(g) > 0 {
				return []string{groupName(kind) + ":" + province}, g
			}
		case p.kindOf(sender) == lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT:
			if g := p.group(lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE, sender, sender); len(g) > 0 {
				return []string{"commune:" + sender}, g
			}
		}
	}
	n := 1
	if r >= 60 && r < 85 {
		n = 2 + rng.IntN(4)
	}
	seen := map[string]bool{sender: true}
	for len(resolved) < n {
		var code string
		if parent, ok := p.parents[sender]; ok && len(resolved) == 0 && p.kindOf(sender) == lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE && rng.IntN(10) < 7 {
			code = parent
		} else {
			code = p.specs[rng.IntN(len(p.specs))].Code
		}
		if !seen[code] {
			seen[code] = true
			resolved = append(resolved, code)
		}
	}
	return resolved, resolved
}

func (p *province) kindOf(code string) lienthongv1.AgencyKind { return p.kinds[code] }

func groupName(k lienthongv1.AgencyKind) string {
	switch k {
	case lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT:
		return "department"
	case lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT:
		return "district"
	default:
		return "commune"
	}
}
