package nodecli

import (
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/signing/pades"
)

// localReport puts a verification report's times in Vietnam time, so
// `verify --json` writes them with +07:00 like every other verb.
func localReport(rep *pades.Report) {
	for i := range rep.Signatures {
		s := &rep.Signatures[i]
		s.SigningTime, s.POETime = desk.Local(s.SigningTime), desk.Local(s.POETime)
		if s.Timestamp != nil {
			s.Timestamp.GenTime = desk.Local(s.Timestamp.GenTime)
		}
	}
	for i := range rep.DocumentTimestamps {
		rep.DocumentTimestamps[i].GenTime = desk.Local(rep.DocumentTimestamps[i].GenTime)
	}
}
