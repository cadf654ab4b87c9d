package webapp

import (
	"html/template"
	"io/fs"
	"net/url"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/node/desk"
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

var funcs = template.FuncMap{
	"vntime":  vnTime,
	"vndate":  vnDate,
	"urgency": desk.UrgencyLabel,
	"status":  func(s lienthongv1.Status) string { return s.Label() },
	"stname":  func(s lienthongv1.Status) string { return s.Name() },
	"ind":     desk.IndicationLabel,
	"sigtime": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return vnTime(*t)
	},
}

func zone() *time.Location { return lienthong.Zone() }

// urlPathEscape escapes a file name for Content-Disposition's filename*.
func urlPathEscape(name string) string { return url.PathEscape(name) }

func fsSub(f fs.FS, dir string) (fs.FS, error) { return fs.Sub(f, dir) }
