package provision

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// NationalMarker is the file whose presence makes a hub national: its
// directory may hold several provinces, and documents route between
// them. Without it the directory is one province's and a code of another
// province is refused. `lthub init --national` writes it; the hub reads
// it when it starts.
func (l Layout) NationalMarker() string { return filepath.Join(l.Dir, "hub", "national") }

// National reports whether the hub directory opted in to holding several
// provinces (NationalMarker exists).
func (l Layout) National() (bool, error) {
	_, err := os.Stat(l.NationalMarker())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("reading the national marker: %w", err)
	}
}

// markNational writes NationalMarker.
func markNational(l Layout) error {
	if err := os.MkdirAll(filepath.Dir(l.NationalMarker()), 0o755); err != nil {
		return fmt.Errorf("marking the hub national: %w", err)
	}
	const note = "Trục toàn quốc: danh bạ gồm nhiều tỉnh (lthub init --national).\n" +
		"This hub's directory may hold several provinces; delete this file (and restart) to refuse other provinces' codes.\n"
	if err := os.WriteFile(l.NationalMarker(), []byte(note), 0o644); err != nil {
		return fmt.Errorf("marking the hub national: %w", err)
	}
	return nil
}

// SampleNeighbour returns a small second province (H54) for a
// development hub made with --national: its People's Committee, a
// department, a district and two communes, so that documents can be sent
// between provinces.
func SampleNeighbour() []SampleAgency {
	const (
		prov = lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
		dept = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
		dist = lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
		comm = lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE
	)
	return []SampleAgency{
		{"000.00.00.H54", "UBND tỉnh láng giềng", prov},
		{"000.00.01.H54", "Sở Nội vụ tỉnh láng giềng", dept},
		{"000.00.31.H54", "UBND huyện Bắc Sơn", dist},
		{"000.01.31.H54", "UBND xã Bắc Hòa", comm},
		{"000.02.31.H54", "UBND xã Bắc Khê", comm},
	}
}

// departmentNames are the usual departments (sở, ban, ngành) of a
// province, in the order the generator numbers them.
func departmentNames() []string {
	return []string{
		"Văn phòng UBND", "Sở Nội vụ", "Sở Tài chính", "Sở Kế hoạch và Đầu tư", "Sở Tư pháp",
		"Sở Công Thương", "Sở Nông nghiệp và Phát triển nông thôn", "Sở Giao thông vận tải", "Sở Xây dựng",
		"Sở Tài nguyên và Môi trường", "Sở Thông tin và Truyền thông", "Sở Lao động - Thương binh và Xã hội",
		"Sở Văn hóa, Thể thao và Du lịch", "Sở Khoa học và Công nghệ", "Sở Giáo dục và Đào tạo", "Sở Y tế",
		"Thanh tra tỉnh", "Ban Dân tộc", "Ban Quản lý các khu công nghiệp", "Đài Phát thanh và Truyền hình",
		"Sở Ngoại vụ", "Ban Quản lý dự án đầu tư xây dựng", "Trường Chính trị", "Liên minh Hợp tác xã",
		"Quỹ Đầu tư phát triển", "Ban Quản lý khu kinh tế", "Vườn quốc gia", "Ban Thi đua - Khen thưởng",
		"Chi cục Văn thư - Lưu trữ", "Trung tâm Phục vụ hành chính công",
	}
}

// districtOffices are the offices (phòng) of a district, numbered from
// 60 at level 3 below it; the first, education, has the district's
// schools below it at level 4.
func districtOffices() []string {
	return []string{
		"Phòng Giáo dục và Đào tạo", "Văn phòng HĐND và UBND", "Phòng Nội vụ", "Phòng Tài chính - Kế hoạch",
		"Phòng Tư pháp", "Phòng Tài nguyên và Môi trường", "Phòng Lao động - Thương binh và Xã hội",
		"Phòng Văn hóa và Thông tin", "Phòng Y tế", "Thanh tra huyện", "Phòng Kinh tế và Hạ tầng",
		"Phòng Nông nghiệp và Phát triển nông thôn",
	}
}

// National generates a national directory of the given number of
// provinces (at most 99; 63 is the country) from seed: the same seed
// gives the same directory. Each province has the shape of a real one:
// its People's Committee, 20–30 departments (JJ 01–30) each with 2–12
// units and a few units below those, 8–18 districts (JJ 31–48) each with
// 10–35 communes (KK 01–35) and 12 offices (KK 60–71), the education
// office with 30–70 schools. 63 provinces make about 110,000 agencies.
// Each province's codes end in H01, H02, …
func National(seed uint64, provinces int) ([]SampleAgency, error) {
	if provinces < 1 || provinces > 99 {
		return nil, fmt.Errorf("generating a national directory: %d provinces; 1 to 99", provinces)
	}
	const (
		prov = lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE
		dept = lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT
		dist = lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT
		comm = lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE
		unit = lienthongv1.AgencyKind_AGENCY_KIND_UNIT
	)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	between := func(lo, hi int) int { return lo + r.IntN(hi-lo+1) }
	depts, offices := departmentNames(), districtOffices()
	out := make([]SampleAgency, 0, provinces*1800)
	for p := 1; p <= provinces; p++ {
		x := fmt.Sprintf("H%02d", p)
		pname := "tỉnh " + x
		out = append(out, SampleAgency{"000.00.00." + x, "UBND " + pname, prov})
		for d, nd := 1, between(20, 30); d <= nd; d++ {
			dname := depts[d-1] + " " + pname
			out = append(out, SampleAgency{fmt.Sprintf("000.00.%02d.%s", d, x), dname, dept})
			for u, nu := 1, between(2, 12); u <= nu; u++ {
				out = append(out, SampleAgency{fmt.Sprintf("000.%02d.%02d.%s", u, d, x), fmt.Sprintf("Đơn vị %d thuộc %s", u, dname), unit})
				for s, ns := 1, between(0, 5); s <= ns; s++ {
					out = append(out, SampleAgency{fmt.Sprintf("%03d.%02d.%02d.%s", s, u, d, x), fmt.Sprintf("Bộ phận %d.%d thuộc %s", u, s, dname), unit})
				}
			}
		}
		for j, nj := 31, 30+between(8, 18); j <= nj; j++ {
			hname := fmt.Sprintf("huyện %d %s", j, pname)
			out = append(out, SampleAgency{fmt.Sprintf("000.00.%02d.%s", j, x), "UBND " + hname, dist})
			for c, nc := 1, between(10, 35); c <= nc; c++ {
				out = append(out, SampleAgency{fmt.Sprintf("000.%02d.%02d.%s", c, j, x), fmt.Sprintf("UBND xã %d, %s", c, hname), comm})
			}
			for i, o := range offices {
				k := 60 + i
				out = append(out, SampleAgency{fmt.Sprintf("000.%02d.%02d.%s", k, j, x), o + " " + hname, unit})
				if i != 0 {
					continue
				}
				for s, ns := 1, between(30, 70); s <= ns; s++ {
					out = append(out, SampleAgency{fmt.Sprintf("%03d.%02d.%02d.%s", s, k, j, x), fmt.Sprintf("Trường số %d, %s", s, hname), unit})
				}
			}
		}
	}
	return out, nil
}

// Agencies turns sample entries into active directory agencies with no
// certificate bound.
func Agencies(s []SampleAgency) []*lienthongv1.Agency {
	out := make([]*lienthongv1.Agency, len(s))
	for i, a := range s {
		out[i] = &lienthongv1.Agency{Code: a.Code, Name: a.Name, Kind: a.Kind, Status: lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE}
	}
	return out
}
