// Package policy decides what the hub accepts as signed: it verifies every
// PDF of a document with signing/pades against the hub's trust store and
// applies the hub's settings. By EN 319 102-1 indication: TOTAL-PASSED is
// accepted, TOTAL-FAILED refused, INDETERMINATE refused with what to do
// about it (a fresher CRL, a trusted CA) unless the hub flags such
// documents instead. The record it returns (per signature: indication,
// reasons, the revocation data used, the signer's certificate) travels
// with the document to recipients and into Track.
package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/revocation"
	"github.com/lienthong/lienthong/signing/trust"
)

// Unsigned says what happens to a document none of whose PDFs is signed.
type Unsigned int

// Settings for unsigned documents.
const (
	// RefuseUnsigned refuses the document (the default): every document
	// on the hub must carry a digital signature.
	RefuseUnsigned Unsigned = iota
	// FlagUnsigned accepts it and records the verdict "unsigned", so the
	// compliance figures show it.
	FlagUnsigned
)

// ParseUnsigned reads "refuse" or "flag".
func ParseUnsigned(s string) (Unsigned, error) {
	switch s {
	case "refuse":
		return RefuseUnsigned, nil
	case "flag":
		return FlagUnsigned, nil
	}
	return 0, fmt.Errorf("unsigned policy %q: want refuse or flag", s)
}

// Indeterminate says what happens to a document whose signatures could
// not be decided (EN 319 102-1 INDETERMINATE: a stale CRL, an unknown CA).
type Indeterminate int

// Settings for INDETERMINATE documents.
const (
	// RefuseIndeterminate refuses the document (the default) with the
	// reason and what would resolve it.
	RefuseIndeterminate Indeterminate = iota
	// FlagIndeterminate accepts it and records the indication, so Track,
	// the recipient and the compliance figures show it.
	FlagIndeterminate
)

// ParseIndeterminate reads "refuse" or "flag".
func ParseIndeterminate(s string) (Indeterminate, error) {
	switch s {
	case "refuse":
		return RefuseIndeterminate, nil
	case "flag":
		return FlagIndeterminate, nil
	}
	return 0, fmt.Errorf("indeterminate policy %q: want refuse or flag", s)
}

// NewFetcher returns a revocation fetcher that spends at most bound per
// document (each request at most half of it), or nil if bound is not
// positive: fetching is off by default.
func NewFetcher(bound time.Duration) *revocation.Fetcher {
	if bound <= 0 {
		return nil
	}
	return &revocation.Fetcher{Bound: bound, Timeout: bound / 2}
}

// Verdict of a file that is not a PDF: not checked.
const verdictNotPDF = "not-pdf"

// Checker verifies documents' signatures.
type Checker struct {
	Trust         *trust.Store
	Unsigned      Unsigned
	Indeterminate Indeterminate
	// Fetcher, if set, fetches revocation information the certificates
	// name (OCSP, CRL distribution points), within its bound per
	// document; nil uses only the trust store and the PDF.
	Fetcher *revocation.Fetcher
	// LTV, if set, puts in each TOTAL-PASSED PDF's FileVerification the
	// incremental update that adds to its DSS the chains and revocation
	// information this verification used (PAdES B-LT), for the recipient
	// to append.
	LTV bool
	// Now is the validation time; nil means time.Now.
	Now func() time.Time
}

// VerifyDocument checks every PDF of a document, read through open (the
// hub opens an upload's files before they are made durable). It refuses
// (returns a lienthong error naming the file, the signature and the reason)
// any PDF whose signature is invalid or that was changed after signing, and
// unsigned documents unless the setting is FlagUnsigned.
func (c *Checker) VerifyDocument(ctx context.Context, env *lienthongv1.Envelope, files []store.BlobRef, open func(store.BlobRef) (*os.File, error)) (*lienthongv1.Verification, error) {
	opts := c.Trust.VerifyOptions()
	if c.Now != nil {
		opts.Now, opts.Revocation.Now = c.Now, c.Now
	}
	opts.Revocation.Fetcher = c.Fetcher
	ctx, cancel := c.Fetcher.Context(ctx)
	defer cancel()
	out := &lienthongv1.Verification{Verdict: string(pades.VerdictValid)}
	pdfs, unsigned := 0, 0
	var undecided []string // why INDETERMINATE files are
	for i, ref := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info := env.GetFiles()[i]
		fv, why, err := c.verifyFile(ctx, info, ref, open, opts)
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, fv)
		if why != "" {
			undecided = append(undecided, why)
		}
		if ind := etsi.Indication(fv.GetIndication()); ind != "" && (out.Indication == "" || etsi.Worse(ind, etsi.Indication(out.Indication))) {
			out.Indication = string(ind)
		}
		switch fv.GetVerdict() {
		case verdictNotPDF:
			continue
		case string(pades.VerdictUnsigned):
			unsigned++
		}
		pdfs++
	}
	if len(undecided) > 0 {
		if c.Indeterminate == RefuseIndeterminate {
			return nil, lienthong.Errorf(lienthong.KindFailedPrecondition, "văn bản %s/%s: %s (signature INDETERMINATE; refused)",
				env.GetNumber(), env.GetNotation(), strings.Join(undecided, "; "))
		}
		out.Verdict = string(pades.VerdictIndeterminate)
	}
	if pdfs == 0 || unsigned > 0 {
		if c.Unsigned == RefuseUnsigned {
			what := "không có tệp PDF nào"
			if pdfs > 0 {
				what = fmt.Sprintf("%d tệp PDF chưa ký số", unsigned)
			}
			return nil, lienthong.Errorf(lienthong.KindFailedPrecondition,
				"văn bản %s/%s: %s; trục chỉ nhận văn bản đã ký số — hãy ký bằng `ltnode sign` rồi gửi lại (unsigned document refused)",
				env.GetNumber(), env.GetNotation(), what)
		}
		out.Verdict = string(pades.VerdictUnsigned)
	}
	return out, nil
}

func isPDF(info *lienthongv1.FileInfo, head []byte) bool {
	return info.GetMediaType() == "application/pdf" || strings.EqualFold(path.Ext(info.GetName()), ".pdf") || bytes.HasPrefix(head, []byte("%PDF-"))
}

// verifyFile verifies one file. It refuses a TOTAL-FAILED file (an error
// naming the file, the signature, the indication and the reason) and
// returns, for an INDETERMINATE one, the reason and what would resolve it.
func (c *Checker) verifyFile(ctx context.Context, info *lienthongv1.FileInfo, ref store.BlobRef, open func(store.BlobRef) (*os.File, error), opts pades.VerifyOptions) (*lienthongv1.FileVerification, string, error) {
	f, err := open(ref)
	if err != nil {
		return nil, "", fmt.Errorf("opening %q for verification: %w", info.GetName(), err)
	}
	defer f.Close()
	head := make([]byte, 5)
	n, _ := io.ReadFull(f, head)
	fv := &lienthongv1.FileVerification{Name: info.GetName()}
	if !isPDF(info, head[:n]) {
		fv.Verdict = verdictNotPDF
		return fv, "", nil
	}
	rep, _ := pades.VerifyContext(ctx, f, ref.Size, opts)
	fv.Verdict, fv.Indication = string(rep.Verdict), string(rep.Indication)
	for _, s := range rep.Signatures {
		fv.Signers = append(fv.Signers, s.SignerCN)
		fv.Signatures = append(fv.Signatures, Record(&s))
	}
	if rep.Verdict == pades.VerdictError {
		return nil, "", lienthong.Errorf(lienthong.KindInvalid, "tệp %q không đọc được như một tệp PDF: %s (malformed PDF)", info.GetName(), rep.Error)
	}
	// Name the first signature that fails, and why; else the first that
	// could not be decided.
	for _, s := range rep.Signatures {
		if s.Indication != etsi.TotalFailed {
			continue
		}
		why := strings.Join(s.Problems, "; ")
		if s.SubIndication == etsi.SigConstraintsFailure {
			return nil, "", lienthong.Errorf(lienthong.KindInvalid,
				"tệp %q đã bị sửa sau chữ ký %q của %s: %s (document modified after signing: %s/%s)", info.GetName(), s.Field, s.SignerCN, why, s.Indication, s.SubIndication)
		}
		return nil, "", lienthong.Errorf(lienthong.KindInvalid,
			"tệp %q: chữ ký %q của %s không hợp lệ: %s%s (invalid signature: %s/%s)", info.GetName(), s.Field, s.SignerCN, why, failedRemedy(s.SubIndication), s.Indication, s.SubIndication)
	}
	for _, s := range rep.Signatures {
		if s.Indication == etsi.Indeterminate {
			return fv, fmt.Sprintf("tệp %q: chữ ký %q của %s chưa xác định được (%s/%s): %s%s; %s",
				info.GetName(), s.Field, s.SignerCN, s.Indication, s.SubIndication, revocationWords(&s), strings.Join(s.Problems, "; "), remedy(s.SubIndication)), nil
		}
	}
	if c.LTV && rep.Indication == etsi.TotalPassed {
		// Validation material is a courtesy to the recipient: a document
		// that verified is not refused because it could not be added.
		if data, err := pades.LTVData(rep, opts.CRLs); err == nil {
			if upd, err := pades.LTVUpdate(f, ref.Size, data); err == nil {
				fv.LtvUpdate = upd
			}
		}
	}
	return fv, "", nil
}

// remedy says, for an INDETERMINATE sub-indication, what would let the
// document through.
func remedy(sub etsi.SubIndication) string {
	switch sub {
	case etsi.TryLater:
		return "hãy đặt CRL mới của CA cấp chứng thư vào D/trust/crls trên trục rồi nạp lại (kill -HUP), hoặc gửi lại sau khi CA phát hành CRL mới (revocation status unknown: update the CRL)"
	case etsi.NoCertificateChainFound, etsi.CertificateChainGeneralFailure:
		return "hãy ký bằng chứng thư do CA được trục tin cậy cấp, hoặc đề nghị quản trị trục thêm CA đó vào D/trust/roots hoặc D/trust/intermediates (untrusted CA)"
	case etsi.OutOfBoundsNoPOE, etsi.OutOfBoundsNotRevoked, etsi.Expired, etsi.NotYetValid, etsi.NoPOE:
		return "hãy ký lại bằng chứng thư còn hiệu lực, kèm dấu thời gian của TSA tin cậy (certificate not valid at the proven signing time)"
	case etsi.RevokedNoPOE, etsi.RevokedCANoPOE:
		return "chứng thư đã bị thu hồi và không có dấu thời gian tin cậy chứng minh văn bản được ký trước đó; hãy ký lại bằng chứng thư còn hiệu lực (revoked, no proof of existence before revocation)"
	}
	return "hãy kiểm tra bằng `ltnode verify` và ký lại (signature could not be validated)"
}

// failedRemedy says, for a TOTAL-FAILED sub-indication, what the sender
// can do instead; empty when the reason says it all.
func failedRemedy(sub etsi.SubIndication) string {
	switch sub {
	case etsi.ChainConstraintsFailure:
		return "; hãy ký bằng chứng thư ký số dành cho văn bản, không dùng chứng thư TLS hay chứng thư của CA"
	case etsi.Revoked:
		return "; chứng thư đã bị thu hồi, hãy ký lại bằng chứng thư còn hiệu lực"
	case etsi.FormatFailure:
		return "; chữ ký không đọc được, hãy ký lại bằng `ltnode sign`"
	}
	return ""
}

// revocationWords names, in Vietnamese, the first certificate whose
// revocation status is unknown and why: the CRL that expired, or none.
func revocationWords(s *pades.SignatureReport) string {
	for _, r := range s.Revocation {
		switch {
		case r.Status != revocation.StatusUnknown:
			continue
		case r.Missing:
			return fmt.Sprintf("không có CRL hay OCSP của %s cho chứng thư %s; ", r.Issuer, r.Subject)
		case r.Source == revocation.SourceCRL && !r.NextUpdate.IsZero():
			return fmt.Sprintf("CRL của %s (%s) đã hết hạn từ %s; ", r.Issuer, r.Origin, r.NextUpdate.UTC().Format("2006-01-02 15:04 MST"))
		}
		return fmt.Sprintf("thông tin thu hồi của %s cho chứng thư %s không dùng được; ", r.Issuer, r.Subject)
	}
	return ""
}

// maxKeptData is the largest CRL kept whole in a verification record.
const maxKeptData = 4 << 10

// Record converts a signature's report into the hub's verification record.
func Record(s *pades.SignatureReport) *lienthongv1.SignatureVerification {
	sv := &lienthongv1.SignatureVerification{
		Field: s.Field, Signer: s.SignerCN, SignerDn: s.Signer,
		Indication: string(s.Indication), SubIndication: string(s.SubIndication),
		Problems: s.Problems, Changes: s.Changes,
	}
	if !s.SigningTime.IsZero() {
		sv.SigningTime = timestamppb.New(s.SigningTime)
	}
	if s.Certificate != nil {
		sv.Certificate = s.Certificate.Raw
	}
	ts := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	for _, r := range s.Revocation {
		rc := &lienthongv1.RevocationCheck{
			Subject: r.Subject, Serial: r.Serial, Issuer: r.Issuer,
			Status: string(r.Status), Source: string(r.Source), Origin: r.Origin,
			ThisUpdate: ts(r.ThisUpdate), NextUpdate: ts(r.NextUpdate), RevokedAt: ts(r.RevokedAt),
			Reason: int32(r.Reason), Problems: r.Problems,
		}
		if len(r.Raw) > 0 {
			sum := sha256.Sum256(r.Raw)
			rc.DataSha256 = sum[:]
			if len(r.Raw) <= maxKeptData {
				rc.Data = r.Raw
			}
		}
		sv.Revocation = append(sv.Revocation, rc)
	}
	return sv
}

// Revoked reports whether revocation information of the trust store,
// issued by cert's issuer (a CA of the store), lists cert. The hub uses it
// for agencies' client certificates; missing or stale information does not
// lock an agency out, a listed revocation does.
func Revoked(ts *trust.Store, cert *x509.Certificate) bool {
	snap := ts.Snapshot()
	// It runs on every call: only a certificate some CRL lists is worth
	// the signature checks that decide whether that CRL counts.
	if !slices.ContainsFunc(snap.CRLs, func(l *x509.RevocationList) bool {
		return bytes.Equal(l.RawIssuer, cert.RawIssuer) && slices.ContainsFunc(l.RevokedCertificateEntries, func(e x509.RevocationListEntry) bool {
			return e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0
		})
	}) {
		return false
	}
	for _, ca := range snap.Certificates {
		if !bytes.Equal(ca.RawSubject, cert.RawIssuer) || cert.CheckSignatureFrom(ca) != nil {
			continue
		}
		rc := &revocation.Checker{CRLs: snap.CRLs, Now: ts.Now}
		if rc.Check(context.Background(), cert, ca, time.Time{}, revocation.Evidence{}).Status == revocation.StatusRevoked {
			return true
		}
	}
	return false
}
