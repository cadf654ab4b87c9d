package admin

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/audit"
	"github.com/lienthong/lienthong/hub/backup"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pki"
)

// Maintenance is what backup and the checks need of the store.
type Maintenance interface {
	backup.Snapshotter
	Verify(ctx context.Context) (*store.Check, error)
	VerifyAudit(ctx context.Context, opts audit.VerifyOptions) (*audit.Result, error)
	ExportAudit(ctx context.Context, from, to time.Time, w io.Writer) (int, error)
}

// Backup implements the RPC. The running hub holds its database's lock,
// so the copy is made by the hub itself, into a directory on its host,
// rather than streamed to the caller: the stored files (the bulk of a
// backup, tens of GB for a province) then never cross gRPC, they can be
// hard-linked instead of copied when the backup is on the hub's disk, and
// lthub, which needs the operator key in the hub directory, runs on that
// host anyway. The operator then moves the directory off the host (rsync,
// tape) as a whole. The price: the hub's service account must be allowed
// to write there (see ReadWritePaths in deploy/).
func (s *Service) Backup(ctx context.Context, req *lienthongv1.BackupRequest) (*lienthongv1.BackupResponse, error) {
	if !filepath.IsAbs(req.GetOut()) {
		return nil, s.refuse(ctx, "Backup", lienthong.Errorf(lienthong.KindInvalid,
			"thư mục sao lưu %q phải là đường dẫn tuyệt đối trên máy chạy trục (backup directory must be an absolute path)", req.GetOut()))
	}
	m, err := s.WriteBackup(ctx, req.GetOut(), req.GetCopy())
	if err != nil {
		return nil, s.refuse(ctx, "Backup", err)
	}
	return BackupResponse(req.GetOut(), m), nil
}

// WriteBackup backs the hub up into out (see backup.Write).
func (s *Service) WriteBackup(ctx context.Context, out string, copyBlobs bool) (*backup.Manifest, error) {
	if s.cfg.Maintenance == nil {
		return nil, lienthong.Errorf(lienthong.KindFailedPrecondition, "trục này không hỗ trợ sao lưu (backup not configured)")
	}
	m, err := backup.Write(ctx, s.cfg.Maintenance, s.cfg.HubDir, out, backup.Options{Copy: copyBlobs, Now: s.cfg.Now})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "backup written", "out", out, "documents", m.Documents, "blobs", len(m.Blobs), "missing", len(m.Missing))
	return m, nil
}

// BackupResponse summarises m, written into out.
func BackupResponse(out string, m *backup.Manifest) *lienthongv1.BackupResponse {
	return &lienthongv1.BackupResponse{Out: out, Documents: int64(m.Documents), Blobs: int64(len(m.Blobs)), Linked: int64(m.Linked),
		ConfigFiles: int64(len(m.Config)), Bytes: m.Bytes(), DatabaseSha256: m.Database.SHA256, Missing: m.Missing}
}

// VerifyStore implements the RPC.
func (s *Service) VerifyStore(ctx context.Context, _ *lienthongv1.VerifyStoreRequest) (*lienthongv1.VerifyStoreResponse, error) {
	if s.cfg.Maintenance == nil {
		return nil, s.refuse(ctx, "VerifyStore", lienthong.Errorf(lienthong.KindFailedPrecondition, "không có kho để kiểm tra (store not configured)"))
	}
	c, err := s.cfg.Maintenance.Verify(ctx)
	if err != nil {
		return nil, s.refuse(ctx, "VerifyStore", err)
	}
	return &lienthongv1.VerifyStoreResponse{Documents: int64(c.Documents), Blobs: int64(c.Blobs), Bytes: c.Bytes, Problems: c.Problems, Notes: c.Notes}, nil
}

// VerifyAudit implements the RPC: the chain, and the head's signer
// against the province CA of the hub directory.
func (s *Service) VerifyAudit(ctx context.Context, _ *lienthongv1.VerifyAuditRequest) (*lienthongv1.VerifyAuditResponse, error) {
	if s.cfg.Maintenance == nil {
		return nil, s.refuse(ctx, "VerifyAudit", lienthong.Errorf(lienthong.KindFailedPrecondition, "không có kho để kiểm tra (store not configured)"))
	}
	var opts audit.VerifyOptions
	if s.cfg.HubDir != "" {
		roots, err := pki.LoadCertificates(provision.Layout{Dir: s.cfg.HubDir}.CACert())
		if err != nil {
			return nil, s.refuse(ctx, "VerifyAudit", fmt.Errorf("loading the province root: %w", err))
		}
		opts.Roots = x509.NewCertPool()
		for _, r := range roots {
			opts.Roots.AddCert(r)
		}
	}
	res, err := s.cfg.Maintenance.VerifyAudit(ctx, opts)
	if err != nil {
		return nil, s.refuse(ctx, "VerifyAudit", err)
	}
	out := &lienthongv1.VerifyAuditResponse{Entries: res.Entries, Unsigned: res.Unsigned}
	if res.Head != nil {
		out.HeadSeq, out.HeadTime = res.Head.Seq, timestamppb.New(res.Head.Time)
	}
	if b := res.Broken; b != nil {
		out.Broken = &lienthongv1.AuditBreak{Seq: b.Seq, Kind: string(b.Kind), Problem: b.Problem}
		if !b.Time.IsZero() {
			out.Broken.Time = timestamppb.New(b.Time)
		}
	}
	return out, nil
}

// ParseAuditPeriod reads ExportAudit's from and to: RFC 3339 times or
// YYYY-MM-DD dates (midnight UTC+7, the province's day), empty for open.
func ParseAuditPeriod(from, to string) (time.Time, time.Time, error) {
	parse := func(name, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.ParseInLocation(time.DateOnly, v, time.FixedZone("ICT", 7*3600)); err == nil {
			return t, nil
		}
		return time.Time{}, lienthong.Errorf(lienthong.KindInvalid,
			"--%s %q: cần ngày YYYY-MM-DD hoặc thời điểm RFC 3339, vd 2026-12-03 hoặc 2026-12-03T08:00:00+07:00 (bad date)", name, v)
	}
	f, err := parse("from", from)
	if err != nil {
		return f, f, err
	}
	t, err := parse("to", to)
	return f, t, err
}

// ExportAudit implements the RPC: JSON lines in chunks of about 64 KiB.
func (s *Service) ExportAudit(req *lienthongv1.ExportAuditRequest, stream grpc.ServerStreamingServer[lienthongv1.ExportAuditResponse]) error {
	ctx := stream.Context()
	if s.cfg.Maintenance == nil {
		return s.refuse(ctx, "ExportAudit", lienthong.Errorf(lienthong.KindFailedPrecondition, "không có kho (store not configured)"))
	}
	from, to, err := ParseAuditPeriod(req.GetFrom(), req.GetTo())
	if err != nil {
		return s.refuse(ctx, "ExportAudit", err)
	}
	w := &chunker{send: func(b []byte) error { return stream.Send(&lienthongv1.ExportAuditResponse{Jsonl: b}) }}
	if _, err := s.cfg.Maintenance.ExportAudit(ctx, from, to, w); err != nil {
		return s.refuse(ctx, "ExportAudit", err)
	}
	if err := w.flush(); err != nil {
		return s.refuse(ctx, "ExportAudit", err)
	}
	return nil
}

// WriteAudit writes the audit entries of the period from–to (see
// ParseAuditPeriod) to w as JSON Lines and returns the bytes written.
func (s *Service) WriteAudit(ctx context.Context, from, to string, w io.Writer) (int, error) {
	f, t, err := ParseAuditPeriod(from, to)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	_, err = s.cfg.Maintenance.ExportAudit(ctx, f, t, cw)
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

// chunker gathers whole lines into chunks of about 64 KiB.
type chunker struct {
	buf  []byte
	send func([]byte) error
}

func (c *chunker) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	if len(c.buf) >= 64<<10 {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *chunker) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.send(c.buf)
	c.buf = nil
	return err
}
