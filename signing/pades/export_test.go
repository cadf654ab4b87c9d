package pades

import (
	"context"
	"io"

	"github.com/lienthong/lienthong/signing/cms"
)

// SignUnchecked signs without verifying the existing signatures first, as
// an attacker's tool (or an older ltnode) would: the tests build attack
// files with it.
func SignUnchecked(dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	return signUnchecked(context.Background(), dst, src, size, opts)
}

// WithESS makes Sign write id as the signing-certificate-v2 reference, so
// tests can name another certificate or hash (issue 13 case 11).
func WithESS(o SignOptions, id *cms.ESSCertID) SignOptions {
	o.ess = id
	return o
}
