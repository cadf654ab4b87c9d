// Package admin is the hub's operator-facing gRPC edge (AdminService):
// compliance reports, the check of the compliance counters, the agency
// directory and its certificates (changes decided by hub/registry) and the
// list of quarantined (damaged) documents, for the
// provincial IT centre and the compliance office. The authenticator lets
// only operator certificates reach it. The dashboard builds its pages with
// the same Report method.
package admin

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/compliance"
	"github.com/lienthong/lienthong/hub/directory"
	"github.com/lienthong/lienthong/hub/registry"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/rpcerr"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Storage is what the service needs of the hub's store.
type Storage interface {
	compliance.Source
	CheckCounters(ctx context.Context, rebuild bool) (*store.CounterCheck, error)
	Agencies(ctx context.Context) ([]*lienthongv1.Agency, error)
	Quarantined(ctx context.Context) ([]*lienthongv1.QuarantinedDocument, error)
}

// Config wires a Service.
type Config struct {
	Store     Storage
	Directory *atomic.Pointer[directory.Directory]
	// Registry makes every change to the directory.
	Registry *registry.Registry
	// Now is the report clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Maintenance and HubDir serve backup and the audit and store checks
	// (ops.go); HubDir is the hub directory.
	Maintenance Maintenance
	HubDir      string
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
	return s.build(ctx, p, compliance.Options{Agency: agency})
}

// build builds the compliance report for p narrowed by opts (its Now is
// the service's clock).
func (s *Service) build(ctx context.Context, p compliance.Period, opts compliance.Options) (*compliance.Report, error) {
	opts.Now = s.cfg.Now()
	agencies := s.cfg.Directory.Load().All()
	if opts.Under != "" {
		// Only that subtree's agencies: a province of a national hub is a
		// few thousand of its hundred thousand.
		var err error
		if agencies, err = s.cfg.Directory.Load().Under(opts.Under); err != nil {
			return nil, err
		}
	}
	r, err := compliance.Build(ctx, s.cfg.Store, agencies, p, opts)
	if errors.Is(err, compliance.ErrUnknownAgency) {
		return nil, lienthong.Wrap(lienthong.KindNotFound, err, "không có cơ quan %s trong danh bạ (no such agency)", cmp.Or(opts.Agency, opts.Under))
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
	r, err := s.build(ctx, p, compliance.Options{Agency: req.GetAgency(), Under: req.GetUnder()})
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

// ListDirectory implements the RPC.
func (s *Service) ListDirectory(ctx context.Context, _ *lienthongv1.ListDirectoryRequest) (*lienthongv1.ListDirectoryResponse, error) {
	agencies, err := s.cfg.Store.Agencies(ctx)
	if err != nil {
		return nil, s.refuse(ctx, "ListDirectory", err)
	}
	return &lienthongv1.ListDirectoryResponse{Agencies: agencies}, nil
}

// ListQuarantined implements the RPC.
func (s *Service) ListQuarantined(ctx context.Context, _ *lienthongv1.ListQuarantinedRequest) (*lienthongv1.ListQuarantinedResponse, error) {
	docs, err := s.cfg.Store.Quarantined(ctx)
	if err != nil {
		return nil, s.refuse(ctx, "ListQuarantined", err)
	}
	return &lienthongv1.ListQuarantinedResponse{Documents: docs}, nil
}

// SetAgencyStatus implements the RPC: the change is stored, then the
// running directory reloaded, so the agency's next call sees it.
func (s *Service) SetAgencyStatus(ctx context.Context, req *lienthongv1.SetAgencyStatusRequest) (*lienthongv1.SetAgencyStatusResponse, error) {
	a, err := s.setAgencyStatus(ctx, req.GetCode(), req.GetStatus())
	if err != nil {
		return nil, s.refuse(ctx, "SetAgencyStatus", err)
	}
	return &lienthongv1.SetAgencyStatusResponse{Agency: a}, nil
}

func (s *Service) setAgencyStatus(ctx context.Context, code string, st lienthongv1.AgencyStatus) (*lienthongv1.Agency, error) {
	return s.cfg.Registry.SetStatus(ctx, code, st)
}

// ApplyDirectory implements the RPC: the change is validated as a whole
// and stored in one transaction, or not at all.
func (s *Service) ApplyDirectory(ctx context.Context, req *lienthongv1.ApplyDirectoryRequest) (*lienthongv1.ApplyDirectoryResponse, error) {
	rows := make([]registry.Row, len(req.GetAgencies()))
	for i, a := range req.GetAgencies() {
		rows[i] = registry.Row{Agency: a}
		if i < len(req.GetRows()) {
			rows[i].Line = int(req.GetRows()[i])
		}
	}
	diff, err := s.cfg.Registry.Apply(ctx, registry.Change{Op: registry.Op(req.GetOp()), Rows: rows, DryRun: req.GetDryRun()})
	if err != nil {
		return nil, s.refuse(ctx, "ApplyDirectory", err)
	}
	return DiffToProto(diff), nil
}

// DiffToProto is the response for a directory change.
func DiffToProto(d *registry.Diff) *lienthongv1.ApplyDirectoryResponse {
	resp := &lienthongv1.ApplyDirectoryResponse{Added: int32(len(d.Added)), Changed: int32(len(d.Changed)), Unchanged: int32(d.Unchanged), Applied: d.Applied}
	for _, c := range d.Added {
		resp.Changes = append(resp.Changes, &lienthongv1.AgencyChange{Code: c.Code, Added: true, Row: int32(c.Line)})
	}
	for _, c := range d.Changed {
		resp.Changes = append(resp.Changes, &lienthongv1.AgencyChange{Code: c.Code, Fields: c.Fields, Row: int32(c.Line)})
	}
	return resp
}

// BindCertificate implements the RPC.
func (s *Service) BindCertificate(ctx context.Context, req *lienthongv1.BindCertificateRequest) (*lienthongv1.BindCertificateResponse, error) {
	certs, err := x509.ParseCertificates(req.GetCertificate())
	if err != nil || len(certs) == 0 {
		return nil, s.refuse(ctx, "BindCertificate", lienthong.Errorf(lienthong.KindInvalid, "chứng thư gửi lên không đọc được (malformed certificate)"))
	}
	op := registry.OpBind
	if req.GetRotate() {
		op = registry.OpRotate
	}
	b := &registry.Binding{Code: req.GetCode(), Cert: certs[0], Intermediates: certs[1:]}
	if req.GetOverlapUntil() != nil {
		b.OverlapUntil = req.GetOverlapUntil().AsTime()
	}
	if _, err := s.cfg.Registry.Apply(ctx, registry.Change{Op: op, Bind: b}); err != nil {
		return nil, s.refuse(ctx, "BindCertificate", err)
	}
	a, err := s.cfg.Registry.Agency(ctx, req.GetCode())
	if err != nil {
		return nil, s.refuse(ctx, "BindCertificate", err)
	}
	return &lienthongv1.BindCertificateResponse{Agency: a}, nil
}

func (s *Service) refuse(ctx context.Context, op string, err error) error {
	if lienthong.ErrorKind(err) == lienthong.KindInternal {
		s.cfg.Logger.ErrorContext(ctx, "admin request failed", "op", op, "error", err.Error())
	}
	return rpcerr.Status(err)
}
