package webapp

import (
	"html/template"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// timeLayout shows a time in Vietnam time with its zone, as every page does.
const timeLayout = "02/01/2006 15:04:05 -07:00"

// vnTime formats t in the province's zone; the zero time is "—".
func vnTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(lienthong.Zone()).Format(timeLayout)
}

// vnDate turns YYYY-MM-DD into DD/MM/YYYY; anything else is shown as is.
func vnDate(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		if d == "" {
			return "—"
		}
		return d
	}
	return t.Format("02/01/2006")
}

func urgencyLabel(u lienthongv1.Urgency) string {
	switch u {
	case lienthongv1.Urgency_URGENCY_URGENT:
		return "Khẩn"
	case lienthongv1.Urgency_URGENCY_VERY_URGENT:
		return "Thượng khẩn"
	case lienthongv1.Urgency_URGENCY_FLASH:
		return "Hỏa tốc"
	}
	return "Thường"
}

// indicationLabel names an EN 319 102-1 indication for a clerk.
func indicationLabel(ind string) string {
	switch ind {
	case "TOTAL-PASSED":
		return "Chữ ký hợp lệ"
	case "TOTAL-FAILED":
		return "Chữ ký KHÔNG hợp lệ"
	case "INDETERMINATE":
		return "Chưa xác định được chữ ký"
	case "":
		return "Không có chữ ký số"
	}
	return ind
}

// signature is one PDF signature as a page shows it.
type signature struct {
	File, Signer, Time, Indication, Label, Problems string
}

func signatures(v *lienthongv1.Verification) []signature {
	var out []signature
	for _, f := range v.GetFiles() {
		for _, s := range f.GetSignatures() {
			t := ""
			if s.GetSigningTime() != nil {
				t = vnTime(s.GetSigningTime().AsTime())
			}
			out = append(out, signature{File: f.GetName(), Signer: s.GetSigner(), Time: t, Indication: s.GetIndication(),
				Label: indicationLabel(s.GetIndication()), Problems: strings.Join(s.GetProblems(), "; ")})
		}
	}
	return out
}

var funcs = template.FuncMap{
	"vntime":  vnTime,
	"vndate":  vnDate,
	"urgency": urgencyLabel,
	"status":  func(s lienthongv1.Status) string { return s.Label() },
	"stname":  func(s lienthongv1.Status) string { return s.Name() },
	"ind":     indicationLabel,
}

func zone() *time.Location { return lienthong.Zone() }

// urlPathEscape escapes a file name for Content-Disposition's filename*.
func urlPathEscape(name string) string { return url.PathEscape(name) }

func fsSub(f fs.FS, dir string) (fs.FS, error) { return fs.Sub(f, dir) }
