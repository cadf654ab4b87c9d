package nodecli

import (
	"fmt"
	"io"
	"strings"

	"github.com/lienthong/lienthong/node/desk"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// printIndications writes the hub's verification of a document: the
// indication of each signature that is not TOTAL-PASSED, with its
// sub-indication and reasons, or one line when all passed.
func printIndications(w io.Writer, indent string, v *lienthongv1.Verification) {
	if v.GetIndication() == "" {
		return
	}
	fmt.Fprintf(w, "%sChữ ký số (trục kiểm tra): %s\n", indent, desk.IndicationLabel(v.GetIndication()))
	for _, f := range v.GetFiles() {
		for _, s := range f.GetSignatures() {
			if s.GetIndication() == "TOTAL-PASSED" {
				continue
			}
			why := ""
			if len(s.GetProblems()) > 0 {
				why = ": " + strings.Join(s.GetProblems(), "; ")
			}
			at := ""
			if t := s.GetSigningTime(); t != nil {
				at = " (ký lúc " + desk.FormatTime(t.AsTime()) + ")"
			}
			fmt.Fprintf(w, "%s  %s, chữ ký %q của %s: %s/%s%s%s\n", indent, f.GetName(), s.GetField(), s.GetSigner(),
				s.GetIndication(), s.GetSubIndication(), why, at)
		}
	}
}
