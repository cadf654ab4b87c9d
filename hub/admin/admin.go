// Package admin is the hub's operator-facing gRPC edge (AdminService):
// compliance reports and the check of the compliance counters, for the
// provincial IT centre and the compliance office. The authenticator lets
// only operator certificates reach it. The dashboard builds its pages with
// the same Report method.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/rpcerr"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Storage is what the service needs of the hub's store.
type Storage interface {
	compliance.Source
	CheckCounters(ctx context.Context, rebuild bool) (*store.CounterCheck, error)
}

// Config wires a Service.
type Config struct {
	Store     Storage
	Directory *atomic.Pointer[directory.Directory]
	// Now is the report clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service implements lienthongv1.AdminServiceServer.
type Service struct {
	lienthongv1.UnimplementedAdminServiceServer
	cfg Config
}

var _ lienthongv1.AdminServiceServer = (*Service)(nil)

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// Register adds the service to a gRPC server.
func (s *Service) Register(g *grpc.Server) { lienthongv1.RegisterAdminServiceServer(g, s) }

// Build builds the compliance report for p, of one agency if agency is
// set. An agency outside the directory is a KindNotFound error.
func (s *Service) Build(ctx context.Context, p compliance.Period, agency string) (*compliance.Report, error) {
	r, err := compliance.Build(ctx, s.cfg.Store, s.cfg.Directory.Load().All(), p, compliance.Options{Agency: agency, Now: s.cfg.Now()})
	if errors.Is(err, compliance.ErrUnknownAgency) {
		return nil, lienthong.Wrap(lienthong.KindNotFound, err, "không có cơ quan %s trong danh bạ (no such agency)", agency)
	}
	return r, err
}

// CurrentYear is the default report period: the year so far.
func (s *Service) CurrentYear() compliance.Period {
	return compliance.YearPeriod(compliance.DayOf(s.cfg.Now()).Year())
}

// Report implements the RPC.
func (s *Service) Report(ctx context.Context, req *lienthongv1.ReportRequest) (*lienthongv1.ReportResponse, error) {
	p := s.CurrentYear()
	if req.GetFrom() != "" || req.GetTo() != "" {
		var err error
		if p, err = compliance.ParsePeriod(req.GetFrom(), req.GetTo()); err != nil {
			return nil, s.refuse(ctx, "Report", lienthong.Errorf(lienthong.KindInvalid, "%v", err))
		}
	}
	r, err := s.Build(ctx, p, req.GetAgency())
	if err != nil {
		return nil, s.refuse(ctx, "Report", err)
	}
	return compliance.ToProto(r), nil
}

// CheckCounters implements the RPC.
func (s *Service) CheckCounters(ctx context.Context, req *lienthongv1.CheckCountersRequest) (*lienthongv1.CheckCountersResponse, error) {
	c, err := s.cfg.Store.CheckCounters(ctx, req.GetRebuild())
	if err != nil {
		return nil, s.refuse(ctx, "CheckCounters", err)
	}
	if len(c.Differences) > 0 {
		s.cfg.Logger.WarnContext(ctx, "compliance counters differ from a recount", "differences", len(c.Differences), "rebuilt", c.Rebuilt)
	}
	return &lienthongv1.CheckCountersResponse{Records: int64(c.Records), Differences: c.Differences, Rebuilt: c.Rebuilt}, nil
}

func (s *Service) refuse(ctx context.Context, op string, err error) error {
	if lienthong.ErrorKind(err) == lienthong.KindInternal {
		s.cfg.Logger.ErrorContext(ctx, "admin request failed", "op", op, "error", err.Error())
	}
	return rpcerr.Status(err)
}
