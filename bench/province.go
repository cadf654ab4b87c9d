package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/provision"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// provinceCode is the province of generated directories, as in the sample.
const provinceCode = "000.00.00.H53"

// firstDistrict is the level-2 group of the first district; departments
// take 01 up to it, as in the sample province.
const firstDistrict = 31

// GeneratedProvince returns a province with the People's Committee first,
// then departments 000.00.01.H53…, then districts from 000.00.31.H53, each
// followed by its communes 000.01.JJ.H53….
func GeneratedProvince(departments, districts, communes int) ([]provision.SampleAgency, error) {
	switch {
	case departments < 0 || departments >= firstDistrict:
		return nil, fmt.Errorf("departments: %d, want 0 to %d", departments, firstDistrict-1)
	case districts < 0 || districts > 99-firstDistrict+1:
		return nil, fmt.Errorf("districts: %d, want 0 to %d", districts, 99-firstDistrict+1)
	case communes < 0 || communes > 99:
		return nil, fmt.Errorf("communes per district: %d, want 0 to 99", communes)
	}
	out := []provision.SampleAgency{{Code: provinceCode, Name: "UBND tỉnh (thử tải)", Kind: lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE}}
	for i := 1; i <= departments; i++ {
		out = append(out, provision.SampleAgency{Code: fmt.Sprintf("000.00.%02d.H53", i), Name: fmt.Sprintf("Sở số %d", i),
			Kind: lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT})
	}
	for d := 0; d < districts; d++ {
		jj := firstDistrict + d
		out = append(out, provision.SampleAgency{Code: fmt.Sprintf("000.00.%02d.H53", jj), Name: fmt.Sprintf("UBND huyện số %d", jj),
			Kind: lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT})
		for c := 1; c <= communes; c++ {
			out = append(out, provision.SampleAgency{Code: fmt.Sprintf("000.%02d.%02d.H53", c, jj), Name: fmt.Sprintf("UBND xã số %d huyện %d", c, jj),
				Kind: lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE})
		}
	}
	return out, nil
}

// agencyProtos turns directory entries into what directory.New takes.
func agencyProtos(specs []provision.SampleAgency) []*lienthongv1.Agency {
	out := make([]*lienthongv1.Agency, len(specs))
	for i, s := range specs {
		out[i] = &lienthongv1.Agency{Code: s.Code, Name: s.Name, Kind: s.Kind, Status: lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE}
	}
	return out
}

// Mix is the share, in parts, of documents sent to one agency, to 2-5
// agencies, and to a group address.
type Mix struct{ Single, Multi, Group int }

func (m Mix) String() string { return fmt.Sprintf("%d,%d,%d", m.Single, m.Multi, m.Group) }

// picker chooses recipients the way a province's clerks address
// documents: one agency (often the sender's parent), a few agencies, or a
// group such as every commune of a district.
type picker struct {
	codes  []string
	parent map[string]string
	groups []group
	mix    Mix
	dir    *directory.Directory
}

type group struct {
	addr    string
	members map[string]bool
}

func newPicker(specs []provision.SampleAgency, mix Mix) (*picker, error) {
	if len(specs) < 2 {
		return nil, fmt.Errorf("a directory of %d agencies cannot exchange documents", len(specs))
	}
	if mix.Single < 0 || mix.Multi < 0 || mix.Group < 0 || mix.Single+mix.Multi+mix.Group == 0 {
		return nil, fmt.Errorf("recipient mix %s: want three non-negative parts, not all zero", mix)
	}
	dir, err := directory.New(agencyProtos(specs))
	if err != nil {
		return nil, err
	}
	p := &picker{parent: make(map[string]string), mix: mix, dir: dir}
	codes := make(map[string]lienthong.Code, len(specs))
	for _, s := range specs {
		c, err := lienthong.ParseCode(s.Code)
		if err != nil {
			return nil, err
		}
		codes[s.Code] = c
		p.codes = append(p.codes, s.Code)
	}
	for code, c := range codes {
		if par, ok := c.Parent(); ok {
			if _, known := codes[par.String()]; known {
				p.parent[code] = par.String()
			}
		}
	}
	// A group address for each kind of an agency's direct children: every
	// department or district of the province, every commune of a district.
	// (The province-wide "commune:province", 150 recipients in the default
	// directory, is left out: it would dominate the deliveries.)
	for _, root := range specs {
		byKind := make(map[lienthongv1.AgencyKind]map[string]bool)
		for _, s := range specs {
			if p.parent[s.Code] == root.Code {
				if byKind[s.Kind] == nil {
					byKind[s.Kind] = make(map[string]bool)
				}
				byKind[s.Kind][s.Code] = true
			}
		}
		for kind := lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE; kind <= lienthongv1.AgencyKind_AGENCY_KIND_UNIT; kind++ {
			if m := byKind[kind]; len(m) > 0 {
				p.groups = append(p.groups, group{addr: directory.KindName(kind) + ":" + root.Code, members: m})
			}
		}
	}
	return p, nil
}

// pick returns the recipients of a document from sender.
func (p *picker) pick(sender string, rng *rand.Rand) []string {
	n := rng.IntN(p.mix.Single + p.mix.Multi + p.mix.Group)
	switch {
	case n < p.mix.Single:
		if par, ok := p.parent[sender]; ok && rng.IntN(2) == 0 {
			return []string{par}
		}
		return []string{p.other(sender, rng)}
	case n < p.mix.Single+p.mix.Multi:
		return p.several(sender, 2+rng.IntN(4), rng)
	}
	for i := 0; i < 8 && len(p.groups) > 0; i++ {
		g := p.groups[rng.IntN(len(p.groups))]
		if len(g.members) > 1 || !g.members[sender] {
			return []string{g.addr}
		}
	}
	return p.several(sender, 2+rng.IntN(4), rng)
}

// resolve is what the hub's routing makes of recipients.
func (p *picker) resolve(sender string, recipients []string) ([]string, error) {
	return p.dir.Resolve(sender, recipients)
}

func (p *picker) other(sender string, rng *rand.Rand) string {
	for {
		if c := p.codes[rng.IntN(len(p.codes))]; c != sender {
			return c
		}
	}
}

func (p *picker) several(sender string, k int, rng *rand.Rand) []string {
	k = min(k, len(p.codes)-1)
	seen := map[string]bool{sender: true}
	out := make([]string, 0, k)
	for len(out) < k {
		c := p.codes[rng.IntN(len(p.codes))]
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// sendingAgencies returns the agency each of n sender goroutines acts as:
// the province first, then the others in an order shuffled with seed, so
// that every level sends; with more senders than agencies, agencies
// repeat.
func sendingAgencies(specs []provision.SampleAgency, n int, seed uint64) []string {
	order := make([]string, 0, len(specs))
	rest := make([]string, 0, len(specs))
	for _, s := range specs {
		if s.Kind == lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE && len(order) == 0 {
			order = append(order, s.Code)
		} else {
			rest = append(rest, s.Code)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e4d))
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	order = append(order, rest...)
	out := make([]string, n)
	for i := range out {
		out[i] = order[i%len(order)]
	}
	return out
}
