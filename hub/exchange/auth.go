package exchange

import (
	"context"
	"crypto/x509"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/directory"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

type callerKey struct{}

type caller struct {
	agency *lienthongv1.Agency
	cert   *x509.Certificate
	// system names the front-end system (AuthorizeSystem) a call came
	// through; "" for a gRPC caller.
	system string
}

// CallerFrom returns the authenticated agency of a request.
func CallerFrom(ctx context.Context) (*lienthongv1.Agency, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	return c.agency, ok
}

// CallerCertFrom returns the verified client certificate of a request.
func CallerCertFrom(ctx context.Context) (*x509.Certificate, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	return c.cert, ok
}

// Authenticator maps the verified TLS client certificate of each call to
// an agency of the directory. The TLS layer has already checked the chain
// to the province root and the validity period.
type Authenticator struct {
	Directory *atomic.Pointer[directory.Directory]
	// Revoked reports whether a client certificate is revoked; nil checks
	// nothing.
	Revoked func(*x509.Certificate) bool
	// Open lists full method names that need no client certificate
	// (health checks).
	Open []string
	// AdminPrefix starts the full method names reserved to operators
	// (e.g. "/lienthong.v1.AdminService/"); IsOperator says whether a
	// verified certificate is one of theirs. Operators call nothing else,
	// agencies never call these.
	AdminPrefix string
	IsOperator  func(*x509.Certificate) bool
	// Refused, if set, is told of each call refused here (no, unknown or
	// revoked certificate, not an operator's), for the audit log.
	Refused func(ctx context.Context, method string, err error)
	// Now is the clock for certificate rotation windows; nil means
	// time.Now.
	Now func() time.Time

	mu      sync.Mutex
	changed chan struct{} // closed by Invalidate
}

func (a *Authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	for _, m := range a.Open {
		if strings.HasPrefix(method, m) {
			return ctx, nil
		}
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated, "no peer information"))
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil, toStatus(lienthong.Errorf(lienthong.KindUnauthenticated,
			"cần chứng thư số của cơ quan để kết nối trục (a client certificate issued by the province CA is required)"))
	}
	c, err := a.authorize(ti.State.VerifiedChains[0][0], method)
	if err != nil {
		return nil, toStatus(err)
	}
	return context.WithValue(ctx, callerKey{}, c), nil
}

// authorize is the one check of a verified client certificate: not
// revoked, an operator's for the admin service, otherwise bound to an
// active agency of the current directory.
func (a *Authenticator) authorize(cert *x509.Certificate, method string) (caller, error) {
	if a.Revoked != nil && a.Revoked(cert) {
		return caller{}, lienthong.Errorf(lienthong.KindUnauthenticated,
			"chứng thư số %q đã bị thu hồi (client certificate revoked)", cert.Subject.CommonName)
	}
	if a.AdminPrefix != "" && strings.HasPrefix(method, a.AdminPrefix) {
		if a.IsOperator == nil || !a.IsOperator(cert) {
			return caller{}, lienthong.Errorf(lienthong.KindPermission,
				"chứng thư %q không có quyền quản trị trục (only the hub's operators may call this)", cert.Subject.CommonName)
		}
		return caller{cert: cert}, nil
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	agency, err := a.Directory.Load().Authenticate(cert, now())
	if err != nil {
		return caller{}, err
	}
	return caller{agency: agency, cert: cert}, nil
}

// Recheck authorises an agency's call again, against the trust store and
// directory in force now: a long stream calls it so that a revoked
// certificate or a suspended agency loses it within seconds. It returns a
// domain error (Unauthenticated, PermissionDenied) when the caller no
// longer may call.
func (a *Authenticator) Recheck(ctx context.Context) error {
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok || c.cert == nil {
		return lienthong.Errorf(lienthong.KindUnauthenticated, "unauthenticated")
	}
	if c.system != "" {
		_, err := a.authorizeAgency(c.agency.GetCode())
		return err
	}
	_, err := a.authorize(c.cert, "")
	return err
}

// Changed returns a channel closed at the next Invalidate.
func (a *Authenticator) Changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return a.changed
}

// Invalidate tells open streams to re-check their callers now: the trust
// store or the directory has changed.
func (a *Authenticator) Invalidate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// Unary is the unary server interceptor.
func (a *Authenticator) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	actx, err := a.authenticate(ctx, info.FullMethod)
	if err != nil {
		a.refused(ctx, info.FullMethod, err)
		return nil, err
	}
	return handler(actx, req)
}

// Stream is the stream server interceptor.
func (a *Authenticator) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		a.refused(ss.Context(), info.FullMethod, err)
		return err
	}
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}

func (a *Authenticator) refused(ctx context.Context, method string, err error) {
	if a.Refused != nil {
		a.Refused(ctx, method, err)
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
