package exchange

import (
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestRecallTransitions states the recall part of the processing graph:
// a request after delivery (even done), answered only from a request;
// agreed is final, refused lets processing go on.
func TestRecallTransitions(t *testing.T) {
	const (
		delivered = lienthongv1.Status_STATUS_DELIVERED
		received  = lienthongv1.Status_STATUS_RECEIVED
		done      = lienthongv1.Status_STATUS_DONE
		rejected  = lienthongv1.Status_STATUS_REJECTED
		request   = lienthongv1.Status_STATUS_RECALL_REQUESTED
		agreed    = lienthongv1.Status_STATUS_RECALL_AGREED
		refused   = lienthongv1.Status_STATUS_RECALL_REFUSED
		accepted  = lienthongv1.Status_STATUS_ACCEPTED
		inProg    = lienthongv1.Status_STATUS_IN_PROGRESS
	)
	cases := []struct {
		from, to lienthongv1.Status
		ok       bool
		msg      string
	}{
		{delivered, request, true, ""},
		{received, request, true, ""},
		{done, request, true, ""},
		{request, agreed, true, ""},
		{request, refused, true, ""},
		{refused, inProg, true, ""},
		{refused, request, true, ""},
		{accepted, request, false, "hãy thu hồi bằng `ltnode revoke`"},
		{rejected, request, false, "illegal status transition rejected → recall-requested"},
		{received, agreed, false, "nơi gửi chưa đề nghị thu hồi"},
		{refused, agreed, false, "nơi gửi chưa đề nghị thu hồi"},
		{agreed, inProg, false, "đã được nơi nhận đồng ý thu hồi"},
		{agreed, request, false, "đã được nơi nhận đồng ý thu hồi"},
		{request, done, false, "illegal status transition recall-requested → done"},
	}
	for _, c := range cases {
		err := checkTransition("m", c.to)(c.from)
		if (err == nil) != c.ok {
			t.Errorf("%v → %v: %v, want ok=%v", c.from, c.to, err, c.ok)
			continue
		}
		if err != nil && (lienthong.ErrorKind(err) != lienthong.KindFailedPrecondition || !strings.Contains(lienthong.ErrorMessage(err), c.msg)) {
			t.Errorf("%v → %v: %v, want FailedPrecondition with %q", c.from, c.to, err, c.msg)
		}
	}
	if !slices.Contains(nextStatuses(done), request) || len(nextStatuses(agreed)) != 0 {
		t.Errorf("done → %v, agreed → %v", nextStatuses(done), nextStatuses(agreed))
	}
}
