package desk

import (
	"time"

	"github.com/lienthong/lienthong"
)

// TimeLayout is how a clerk reads a time: Vietnam time with its zone,
// "2026-12-03 17:02:44 +07:00".
const TimeLayout = "2006-01-02 15:04:05 -07:00"

// FormatTime is t as a clerk reads it (TimeLayout, in Vietnam time); "-"
// for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(lienthong.Zone()).Format(TimeLayout)
}

// Local is t in Vietnam time, for JSON: encoding/json writes it as
// RFC 3339 with +07:00. The zero time stays zero.
func Local(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(lienthong.Zone())
}
