package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// rowErr is an error about one field of one row (line > 0) or agency.
func rowErr(kind lienthong.Kind, line int, code, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return lienthong.Errorf(kind, "dòng %d, cột %s: %s", line, field, msg)
	}
	if code == "" || field == "code" {
		return lienthong.Errorf(kind, "%s", msg)
	}
	return lienthong.Errorf(kind, "cơ quan %s, trường %s: %s", code, field, msg)
}

// province returns the level-1 group the directory belongs to: that of
// the stored agencies, or, for an empty store, of the change's first
// row.
func province(cur map[string]*lienthongv1.Agency, touched map[string]int) string {
	for code := range cur {
		if c, err := lienthong.ParseCode(code); err == nil {
			return c.Province()
		}
	}
	first, line := "", 0
	for code, l := range touched {
		if first == "" || l < line {
			first, line = code, l
		}
	}
	if c, err := lienthong.ParseCode(first); err == nil {
		return c.Province()
	}
	return ""
}

// validate checks every agency the change touches, as it would be stored
// in next: code format and province, name, kind, status, and a parent
// that exists, sits at a higher level and leads to the province without
// a cycle. The first failure is returned, naming its row and field.
//
// A national directory (several provinces) checks no single province:
// each agency's parents must instead lead to its own province.
func validate(next map[string]*lienthongv1.Agency, cur map[string]*lienthongv1.Agency, touched map[string]int, national bool) error {
	prov := ""
	if !national {
		prov = province(cur, touched)
	}
	// Report in row order, so the first bad row of a file is named.
	for _, code := range byLine(touched) {
		if err := validateOne(next, prov, next[code], touched[code]); err != nil {
			return err
		}
	}
	return nil
}

func validateOne(next map[string]*lienthongv1.Agency, prov string, a *lienthongv1.Agency, line int) error {
	code := a.GetCode()
	c, err := lienthong.ParseCode(code)
	if err != nil {
		return rowErr(lienthong.KindInvalid, line, code, "code", "%s", lienthong.ErrorMessage(err))
	}
	if prov != "" && c.Province() != prov {
		return rowErr(lienthong.KindInvalid, line, code, "code",
			"mã %s thuộc tỉnh %s, danh bạ này là của tỉnh %s; mã phải kết thúc bằng .%s (code outside the province)", code, c.Province(), prov, prov)
	}
	if a.GetName() == "" {
		return rowErr(lienthong.KindInvalid, line, code, "name", "cơ quan %s chưa có tên (name missing)", code)
	}
	if a.GetKind() == lienthongv1.AgencyKind_AGENCY_KIND_UNSPECIFIED {
		return rowErr(lienthong.KindInvalid, line, code, "kind",
			"cơ quan %s chưa có loại; dùng province, department, district, commune hoặc unit (kind missing)", code)
	}
	switch a.GetStatus() {
	case lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE, lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED:
	default:
		return rowErr(lienthong.KindInvalid, line, code, "status", "trạng thái %s không hợp lệ; dùng active hoặc suspended", a.GetStatus())
	}
	if c.Level() == 1 {
		if a.GetParent() != "" {
			return rowErr(lienthong.KindInvalid, line, code, "parent", "%s là cấp tỉnh, không có cơ quan cấp trên (the province has no parent)", code)
		}
		return nil
	}
	// Walk up to the province: each parent must exist and sit higher;
	// the walk ends within four steps unless the parents loop.
	seen := map[string]bool{code: true}
	for cur, cc := a, c; cc.Level() > 1; {
		p, err := parentOf(cur, cc)
		if err != nil {
			return rowErr(lienthong.KindInvalid, line, code, "parent", "cơ quan cấp trên %q của %s: %s", cur.GetParent(), cur.GetCode(), lienthong.ErrorMessage(err))
		}
		pa, ok := next[p.String()]
		if !ok {
			return rowErr(lienthong.KindNotFound, line, code, "parent",
				"cơ quan cấp trên %s của %s không có trong danh bạ; thêm cơ quan cấp trên trước (parent not in the directory)", p, cur.GetCode())
		}
		if p.Province() != c.Province() {
			return rowErr(lienthong.KindInvalid, line, code, "parent",
				"cơ quan cấp trên %s của %s thuộc tỉnh khác (%s); cơ quan cấp trên phải cùng tỉnh %s (parent in another province)", p, cur.GetCode(), p.Province(), c.Province())
		}
		if p.Level() >= cc.Level() {
			return rowErr(lienthong.KindInvalid, line, code, "parent",
				"cơ quan cấp trên %s (cấp %d) không ở cấp cao hơn %s (cấp %d) (parent not at a higher level)", p, p.Level(), cur.GetCode(), cc.Level())
		}
		if seen[p.String()] {
			return rowErr(lienthong.KindInvalid, line, code, "parent", "quan hệ cấp trên của %s tạo thành vòng lặp qua %s (parent cycle)", code, p)
		}
		seen[p.String()] = true
		cur, cc = pa, p
	}
	return nil
}

// parentOf is a's parent: the one the directory names, or its code's.
func parentOf(a *lienthongv1.Agency, c lienthong.Code) (lienthong.Code, error) {
	if a.GetParent() != "" {
		return lienthong.ParseCode(a.GetParent())
	}
	p, _ := c.Parent()
	return p, nil
}

// normalizeParent drops a parent equal to the code's own, so that the
// same directory imported twice is unchanged however its file spells it.
func normalizeParent(a *lienthongv1.Agency) {
	c, err := lienthong.ParseCode(a.GetCode())
	if err != nil {
		return
	}
	if p, ok := c.Parent(); ok && p.String() == a.GetParent() {
		a.Parent = ""
	}
}

// EffectiveParent is the agency above a: the one the directory names, or
// its code's parent; "" for the province.
func EffectiveParent(a *lienthongv1.Agency) string {
	if a.GetParent() != "" {
		return a.GetParent()
	}
	c, err := lienthong.ParseCode(a.GetCode())
	if err != nil {
		return ""
	}
	if p, ok := c.Parent(); ok {
		return p.String()
	}
	return ""
}

// byLine returns the codes of touched in row order (then by code).
func byLine(touched map[string]int) []string {
	out := make([]string, 0, len(touched))
	for code := range touched {
		out = append(out, code)
	}
	slices.SortFunc(out, func(a, b string) int {
		if touched[a] != touched[b] {
			return touched[a] - touched[b]
		}
		return strings.Compare(a, b)
	})
	return out
}
