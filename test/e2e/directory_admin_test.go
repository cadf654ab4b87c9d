package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub/provision"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestSuspendWhileServing: `lthub agency suspend` takes effect on the
// running hub at once (the agency's next call is refused) and `activate`
// lifts it; with the hub stopped the same commands edit the database.
func TestSuspendWhileServing(t *testing.T) {
	h := startComplianceHub(t, time.Now())
	c := client(t, h.Addr(), h.dir, commune2)
	ctx := context.Background()
	if _, err := c.Agencies(ctx, ""); err != nil {
		t.Fatalf("before suspension: %v", err)
	}

	rc, out, errOut := lthub(t, "agency", "suspend", "--dir", h.dir, commune2)
	if rc != 0 || out != commune2+" (UBND xã Đông Khê): tạm ngừng\n" {
		t.Fatalf("suspend: exit %d: %q %s", rc, out, errOut)
	}
	_, err := c.Agencies(ctx, "")
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "đang tạm ngừng liên thông") {
		t.Errorf("suspended agency's call: %v, want PermissionDenied", err)
	}
	rc, out, _ = lthub(t, "agency", "list", "--dir", h.dir)
	if rc != 0 || !strings.Contains(out, commune2+"  UBND xã Đông Khê") || !strings.Contains(out, "tạm ngừng") {
		t.Errorf("list while serving: exit %d:\n%s", rc, out)
	}

	rc, out, errOut = lthub(t, "agency", "activate", "--dir", h.dir, commune2)
	if rc != 0 || out != commune2+" (UBND xã Đông Khê): hoạt động\n" {
		t.Fatalf("activate: exit %d: %q %s", rc, out, errOut)
	}
	if _, err := c.Agencies(ctx, ""); err != nil {
		t.Errorf("after activation: %v", err)
	}

	// Refusals: an unknown code, a status that is not one, an agency
	// certificate on the admin service.
	rc, _, errOut = lthub(t, "agency", "suspend", "--dir", h.dir, "000.09.99.H53")
	if rc != 1 || !strings.Contains(errOut, "không có cơ quan mã 000.09.99.H53 trong danh bạ") || !strings.Contains(errOut, "NotFound") {
		t.Errorf("suspend unknown: exit %d: %s", rc, errOut)
	}
	admin := lienthongv1.NewAdminServiceClient(agencyConn(t, h, province))
	if _, err := admin.SetAgencyStatus(ctx, &lienthongv1.SetAgencyStatusRequest{Code: commune2, Status: lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("an agency suspending another: %v, want PermissionDenied", err)
	}

	// Stopped: the database is edited directly, also when a hub killed
	// without cleaning up left its address behind.
	h.stop()
	must(t, os.WriteFile(provision.Layout{Dir: h.dir}.Serving(), []byte("127.0.0.1:1\n"), 0o644))
	if rc, out, errOut := lthub(t, "agency", "suspend", "--dir", h.dir, commune3); rc != 0 || !strings.Contains(out, "tạm ngừng") {
		t.Errorf("suspend offline: exit %d: %s%s", rc, out, errOut)
	}
	rc, out, _ = lthub(t, "agency", "list", "--dir", h.dir)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, commune3) != strings.HasSuffix(line, "tạm ngừng") {
			t.Errorf("offline list line %q", line)
		}
	}
	if rc != 0 {
		t.Errorf("list offline: exit %d", rc)
	}
}
