package exchange

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/limit"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// A waiting Receive stream re-checks its caller: on its own every
// Recheck, and at once when the authenticator is invalidated (a reload),
// with the authenticator's own revocation and directory checks.
func TestAwaitDeliveryRechecksCaller(t *testing.T) {
	const code = "000.00.00.H53"
	agency := &lienthongv1.Agency{Code: code, Name: "UBND tỉnh", Kind: lienthongv1.AgencyKind_AGENCY_KIND_PROVINCE,
		Status: lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE}
	suspend := func(dir *atomic.Pointer[directory.Directory]) {
		a := proto.Clone(agency).(*lienthongv1.Agency)
		a.Status = lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED
		d, err := directory.New([]*lienthongv1.Agency{a})
		if err != nil {
			t.Fatal(err)
		}
		dir.Store(d)
	}
	tests := []struct {
		name    string
		recheck time.Duration
		// change runs once the stream waits; revoked is what the trust
		// store says then.
		change func(dir *atomic.Pointer[directory.Directory], auth *Authenticator, revoked *atomic.Bool, notify chan struct{})
		more   bool
		code   codes.Code
		want   string
	}{
		{"suspended, seen by the periodic check", time.Millisecond,
			func(dir *atomic.Pointer[directory.Directory], _ *Authenticator, _ *atomic.Bool, _ chan struct{}) {
				suspend(dir)
			},
			false, codes.PermissionDenied, "đang tạm ngừng liên thông"},
		{"suspended, seen on the reload", -1,
			func(dir *atomic.Pointer[directory.Directory], auth *Authenticator, _ *atomic.Bool, _ chan struct{}) {
				suspend(dir)
				auth.Invalidate()
			}, false, codes.PermissionDenied, "đang tạm ngừng liên thông"},
		{"revoked, seen on the reload", -1,
			func(_ *atomic.Pointer[directory.Directory], auth *Authenticator, revoked *atomic.Bool, _ chan struct{}) {
				revoked.Store(true)
				auth.Invalidate()
			}, false, codes.Unauthenticated, "đã bị thu hồi"},
		{"still authorised, a delivery arrives", time.Millisecond,
			func(_ *atomic.Pointer[directory.Directory], auth *Authenticator, _ *atomic.Bool, notify chan struct{}) {
				auth.Invalidate()
				notify <- struct{}{}
			}, true, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := directory.New([]*lienthongv1.Agency{agency})
			if err != nil {
				t.Fatal(err)
			}
			var dir atomic.Pointer[directory.Directory]
			dir.Store(d)
			var revoked atomic.Bool
			auth := &Authenticator{Directory: &dir, Revoked: func(*x509.Certificate) bool { return revoked.Load() }}
			s := New(Config{Directory: &dir, Authenticator: auth, Overload: limit.Config{Recheck: tt.recheck}})
			ctx := context.WithValue(context.Background(), callerKey{},
				caller{agency: agency, cert: &x509.Certificate{Subject: pkix.Name{CommonName: code}}})
			notify := make(chan struct{})
			go tt.change(&dir, auth, &revoked, notify)
			more, err := s.awaitDelivery(ctx, notify)
			if more != tt.more {
				t.Errorf("awaitDelivery = %v, %v; want more = %v", more, err, tt.more)
			}
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.want) {
				t.Errorf("awaitDelivery error %v (%q), want %v mentioning %q", st.Code(), st.Message(), tt.code, tt.want)
			}
		})
	}
}
