package lienthong

import (
	"fmt"
	"strings"
)

// Code is an electronic agency identifier in the national format
// LLL.KK.JJ.XNN, read from the right: XNN level 1 (the province), JJ
// level 2 (a department or district), KK level 3, LLL level 4. A zero group
// means "the unit itself at the level above".
type Code struct {
	l4 string // LLL
	l3 string // KK
	l2 string // JJ
	l1 string // XNN
}

// ParseCode parses and validates an agency code.
func ParseCode(s string) (Code, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return Code{}, Errorf(KindInvalid, "mã định danh %q không đúng dạng LLL.KK.JJ.XNN (invalid agency code)", s)
	}
	c := Code{l4: parts[0], l3: parts[1], l2: parts[2], l1: parts[3]}
	if !digits(c.l4, 3) || !digits(c.l3, 2) || !digits(c.l2, 2) ||
		len(c.l1) != 3 || c.l1[0] < 'A' || c.l1[0] > 'Z' || !digits(c.l1[1:], 2) {
		return Code{}, Errorf(KindInvalid, "mã định danh %q không đúng dạng LLL.KK.JJ.XNN (invalid agency code)", s)
	}
	// A non-zero group below a zero one names no unit ("000.12.00.H53").
	if (isZero(c.l2) && !isZero(c.l3)) || (isZero(c.l3) && !isZero(c.l4)) {
		return Code{}, Errorf(KindInvalid, "mã định danh %q có nhóm khác 0 dưới nhóm bằng 0 (invalid agency code)", s)
	}
	return c, nil
}

// MustParseCode is ParseCode for constants in tests and samples; it panics
// on an invalid code.
func MustParseCode(s string) Code {
	c, err := ParseCode(s)
	if err != nil {
		panic(err)
	}
	return c
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isZero(s string) bool { return strings.Trim(s, "0") == "" }

// String returns the code in its dotted form.
func (c Code) String() string {
	if c.l1 == "" {
		return ""
	}
	return c.l4 + "." + c.l3 + "." + c.l2 + "." + c.l1
}

// Province returns the level-1 group (e.g. "H53").
func (c Code) Province() string { return c.l1 }

// Level returns 1 for the province itself, 2 for a department or district,
// 3 for a unit under those (e.g. a commune), 4 for the level below.
func (c Code) Level() int {
	switch {
	case !isZero(c.l4):
		return 4
	case !isZero(c.l3):
		return 3
	case !isZero(c.l2):
		return 2
	default:
		return 1
	}
}

// Parent returns the code with its lowest non-zero group set to zero, and
// false for the province itself.
func (c Code) Parent() (Code, bool) {
	p := c
	switch c.Level() {
	case 4:
		p.l4 = "000"
	case 3:
		p.l3 = "00"
	case 2:
		p.l2 = "00"
	default:
		return Code{}, false
	}
	return p, true
}

// IsUnder reports whether c is a strict descendant of ancestor.
func (c Code) IsUnder(ancestor Code) bool {
	for p, ok := c.Parent(); ok; p, ok = p.Parent() {
		if p == ancestor {
			return true
		}
	}
	return false
}

// Child returns the code one level below c with the given group number,
// e.g. Child(31) of 000.00.00.H53 is 000.00.31.H53.
func (c Code) Child(n int) (Code, error) {
	ch := c
	switch c.Level() {
	case 1:
		ch.l2 = fmt.Sprintf("%02d", n)
	case 2:
		ch.l3 = fmt.Sprintf("%02d", n)
	case 3:
		ch.l4 = fmt.Sprintf("%03d", n)
	default:
		return Code{}, Errorf(KindInvalid, "mã %s ở cấp thấp nhất, không có cấp dưới", c)
	}
	if n <= 0 {
		return Code{}, Errorf(KindInvalid, "số thứ tự cấp dưới phải dương, được %d", n)
	}
	if _, err := ParseCode(ch.String()); err != nil {
		return Code{}, err
	}
	return ch, nil
}
