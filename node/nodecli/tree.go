package nodecli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/node/desk"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// printTree prints agencies depth-first, each indented under its parent.
func printTree(w io.Writer, list []*lienthongv1.Agency) {
	children := make(map[string][]*lienthongv1.Agency)
	known := make(map[string]bool)
	for _, a := range list {
		known[a.GetCode()] = true
	}
	var roots []*lienthongv1.Agency
	for _, a := range list {
		c, err := lienthong.ParseCode(a.GetCode())
		if err != nil {
			roots = append(roots, a)
			continue
		}
		if p, ok := c.Parent(); ok && known[p.String()] {
			children[p.String()] = append(children[p.String()], a)
		} else {
			roots = append(roots, a)
		}
	}
	var walk func(a *lienthongv1.Agency, depth int)
	walk = func(a *lienthongv1.Agency, depth int) {
		state := ""
		if a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
			state = "  [tạm ngừng]"
		}
		fmt.Fprintf(w, "%s%s  %s (%s)%s\n", strings.Repeat("  ", depth), a.GetCode(), a.GetName(), desk.KindName(a.GetKind()), state)
		for _, ch := range children[a.GetCode()] {
			walk(ch, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
}

func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
