package lienthong

import "time"

// provinceZone is Vietnam's time zone (UTC+7, no daylight saving).
var provinceZone = time.FixedZone("ICT", 7*60*60)

// Zone returns the province's time zone, in which days are counted: a
// document's issue and due dates, the compliance report's days.
func Zone() *time.Location { return provinceZone }
