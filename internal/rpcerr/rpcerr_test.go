package rpcerr

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
)

// A full disk and a limit are both ResourceExhausted; only the full disk
// tells the client, with RetryInfo, that the same request may pass later.
func TestDiskFullIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		err       error
		code      codes.Code
		retryable bool
	}{
		{lienthong.Errorf(lienthong.KindDiskFull, "ổ đĩa của trục đã đầy (hub disk full)"), codes.ResourceExhausted, true},
		{lienthong.Errorf(lienthong.KindBusy, "đang có 16 lượt gửi cùng lúc (too many concurrent Send streams)"), codes.ResourceExhausted, true},
		{lienthong.Errorf(lienthong.KindTooLarge, "tệp quá lớn (file too large)"), codes.ResourceExhausted, false},
		{lienthong.Errorf(lienthong.KindUnavailable, "trục đang dừng (hub shutting down)"), codes.Unavailable, false},
	} {
		err := Status(tc.err)
		st, _ := status.FromError(err)
		if st.Code() != tc.code || st.Message() != lienthong.ErrorMessage(tc.err) || Retryable(err) != tc.retryable {
			t.Errorf("Status(%v) = %v %q retryable %v; want %v, retryable %v", tc.err, st.Code(), st.Message(), Retryable(err), tc.code, tc.retryable)
		}
	}
}
