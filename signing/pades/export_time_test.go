package pades

import (
	"bytes"

	"github.com/lienthong/lienthong/signing/pdf"
)

// DSSCounts returns how many certificates, CRLs and OCSP responses the
// DSS of data's final revision holds.
func DSSCounts(data []byte) (certs, crls, ocsps int, err error) {
	doc, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, 0, 0, err
	}
	dss, _, err := readDSS(doc.Latest())
	return len(dss.certs), len(dss.crls), len(dss.ocsps), err
}
