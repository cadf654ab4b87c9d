package gateway

import (
	"net/http"
	"testing"

	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/internal/rpcerr"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestStatusWords pins the SDKs' vocabulary for every hub step.
func TestStatusWords(t *testing.T) {
	for _, tc := range []struct {
		s      lienthongv1.Status
		reason string
		word   string
		code   string
	}{
		{lienthongv1.Status_STATUS_ACCEPTED, "", "inbox", ""},
		{lienthongv1.Status_STATUS_DELIVERED, "", "inbox", "01"},
		{lienthongv1.Status_STATUS_REJECTED, "Gửi nhầm", "rejection", "02"},
		{lienthongv1.Status_STATUS_REJECTED, exchange.CannotStorePrefix + "đĩa đầy", "fail", "02"},
		{lienthongv1.Status_STATUS_RECEIVED, "", "acceptance", "03"},
		{lienthongv1.Status_STATUS_ASSIGNED, "", "processing", "04"},
		{lienthongv1.Status_STATUS_IN_PROGRESS, "", "processing", "05"},
		{lienthongv1.Status_STATUS_DONE, "", "done", "06"},
		{lienthongv1.Status_STATUS_REVOKED, "", "revocation", ""},
		{lienthongv1.Status_STATUS_QUARANTINED, "", "fail", ""},
	} {
		if w, c := statusWord(tc.s, tc.reason), statusCode(tc.s); w != tc.word || c != tc.code {
			t.Errorf("%s (%q) = %s %q, want %s %q", tc.s, tc.reason, w, c, tc.word, tc.code)
		}
	}
}

// TestHTTPStatus pins the one mapping of refusal kinds to HTTP statuses.
func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		kind lienthong.Kind
		want int
	}{
		{lienthong.KindInvalid, http.StatusBadRequest},
		{lienthong.KindNotFound, http.StatusNotFound},
		{lienthong.KindPermission, http.StatusForbidden},
		{lienthong.KindUnauthenticated, http.StatusUnauthorized},
		{lienthong.KindFailedPrecondition, http.StatusConflict},
		{lienthong.KindAlreadyExists, http.StatusConflict},
		{lienthong.KindTooLarge, http.StatusRequestEntityTooLarge},
		{lienthong.KindBusy, http.StatusServiceUnavailable},
		{lienthong.KindDiskFull, http.StatusServiceUnavailable},
		{lienthong.KindUnavailable, http.StatusServiceUnavailable},
		{lienthong.KindDeadline, http.StatusRequestTimeout},
		{lienthong.KindInternal, http.StatusInternalServerError},
	} {
		st, _ := status.FromError(rpcerr.Status(lienthong.Errorf(tc.kind, "x")))
		if got := httpStatus(st); got != tc.want {
			t.Errorf("kind %d → %d, want %d", tc.kind, got, tc.want)
		}
	}
}
