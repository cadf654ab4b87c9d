package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// The hub writes a backup on its own host: a relative path, which would
// mean the hub's working directory rather than the operator's, is refused
// before anything is written.
func TestBackupNeedsAbsolutePath(t *testing.T) {
	s := New(Config{})
	_, err := s.Backup(context.Background(), &lienthongv1.BackupRequest{Out: "backups/today"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "đường dẫn tuyệt đối") {
		t.Fatalf("Backup(relative) = %v, want InvalidArgument naming an absolute path", err)
	}
}

func TestParseAuditPeriod(t *testing.T) {
	ict := time.FixedZone("ICT", 7*3600)
	for _, tc := range []struct {
		from, to         string
		wantFrom, wantTo time.Time
		bad              string
	}{
		{"", "", time.Time{}, time.Time{}, ""},
		{"2026-12-01", "2026-12-02", time.Date(2026, 12, 1, 0, 0, 0, 0, ict), time.Date(2026, 12, 2, 0, 0, 0, 0, ict), ""},
		{"2026-12-01T08:00:00Z", "", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), time.Time{}, ""},
		{"01/12/2026", "", time.Time{}, time.Time{}, "--from"},
		{"", "mai", time.Time{}, time.Time{}, "--to"},
	} {
		f, to, err := ParseAuditPeriod(tc.from, tc.to)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseAuditPeriod(%q, %q) = %v, want an error naming %s", tc.from, tc.to, err, tc.bad)
			}
			continue
		}
		if err != nil || !f.Equal(tc.wantFrom) || !to.Equal(tc.wantTo) {
			t.Errorf("ParseAuditPeriod(%q, %q) = %v, %v, %v", tc.from, tc.to, f, to, err)
		}
	}
}
