package pades

import (
	"context"
	"io"
)

// SignUnchecked signs without verifying the existing signatures first, as
// an attacker's tool (or an older ltnode) would: the tests build attack
// files with it.
func SignUnchecked(dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	return signUnchecked(context.Background(), dst, src, size, opts)
}
