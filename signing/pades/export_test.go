package pades

import (
	"github.com/lienthong/lienthong/signing/cms"
)

// WithESS makes Sign write id as the signing-certificate-v2 reference, so
// tests can name another certificate or hash (issue 13 case 11).
func WithESS(o SignOptions, id *cms.ESSCertID) SignOptions {
	o.ess = id
	return o
}
