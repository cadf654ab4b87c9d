package nodecli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// printTree prints agencies indented by their depth in the code tree.
func printTree(w io.Writer, list []*lienthongv1.Agency) {
	for _, a := range treeOrder(list) {
		c, err := lienthong.ParseCode(a.GetCode())
		depth := 0
		if err == nil {
			depth = c.Level() - 1
		}
		state := ""
		if a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
			state = "  [tạm ngừng]"
		}
		fmt.Fprintf(w, "%s%s  %s (%s)%s\n", strings.Repeat("  ", depth), a.GetCode(), a.GetName(), kindWord(a.GetKind()), state)
	}
}

// treeOrder orders agencies depth-first: each agency followed by the ones
// below it.
func treeOrder(list []*lienthongv1.Agency) []*lienthongv1.Agency {
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
		p, ok := c.Parent()
		if ok && known[p.String()] {
			children[p.String()] = append(children[p.String()], a)
		} else {
			roots = append(roots, a)
		}
	}
	var out []*lienthongv1.Agency
	var walk func(a *lienthongv1.Agency)
	walk = func(a *lienthongv1.Agency) {
		out = append(out, a)
		for _, ch := range children[a.GetCode()] {
			walk(ch)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
