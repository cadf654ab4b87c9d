// Package policy decides what the hub accepts as signed: it verifies every
// PDF of a document with signing/pades against the hub's trust store and
// applies the hub's setting for unsigned documents. The summary it returns
// travels with the document to recipients and into Track.
package policy

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
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

// Verdict of a file that is not a PDF: not checked.
const verdictNotPDF = "not-pdf"

// Checker verifies documents' signatures.
type Checker struct {
	Trust    *trust.Store
	Unsigned Unsigned
	// Now is the verification time for signatures without a signing time.
	Now func() time.Time
}

// VerifyDocument checks every PDF of a stored document. It refuses
// (returns a lienthong error naming the file, the signature and the reason)
// any PDF whose signature is invalid or that was changed after signing, and
// unsigned documents unless the setting is FlagUnsigned.
func (c *Checker) VerifyDocument(ctx context.Context, env *lienthongv1.Envelope, files []store.BlobRef, open func(store.BlobRef) (*os.File, error)) (*lienthongv1.Verification, error) {
	opts := c.Trust.VerifyOptions()
	opts.Now = c.Now
	out := &lienthongv1.Verification{Verdict: string(pades.VerdictValid)}
	pdfs, unsigned := 0, 0
	for i, ref := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info := env.GetFiles()[i]
		fv, err := c.verifyFile(info, ref, open, opts)
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, fv)
		switch fv.GetVerdict() {
		case verdictNotPDF:
			continue
		case string(pades.VerdictUnsigned):
			unsigned++
		}
		pdfs++
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

func (c *Checker) verifyFile(info *lienthongv1.FileInfo, ref store.BlobRef, open func(store.BlobRef) (*os.File, error), opts pades.VerifyOptions) (*lienthongv1.FileVerification, error) {
	f, err := open(ref)
	if err != nil {
		return nil, fmt.Errorf("opening %q for verification: %w", info.GetName(), err)
	}
	defer f.Close()
	head := make([]byte, 5)
	n, _ := io.ReadFull(f, head)
	fv := &lienthongv1.FileVerification{Name: info.GetName()}
	if !isPDF(info, head[:n]) {
		fv.Verdict = verdictNotPDF
		return fv, nil
	}
	rep, _ := pades.Verify(f, ref.Size, opts)
	fv.Verdict = string(rep.Verdict)
	for _, s := range rep.Signatures {
		fv.Signers = append(fv.Signers, s.SignerCN)
	}
	switch rep.Verdict {
	case pades.VerdictValid, pades.VerdictUnsigned:
		return fv, nil
	case pades.VerdictError:
		return nil, lienthong.Errorf(lienthong.KindInvalid, "tệp %q không đọc được như một tệp PDF: %s (malformed PDF)", info.GetName(), rep.Error)
	}
	// Name the first signature that fails, and why.
	for _, s := range rep.Signatures {
		if len(s.Problems) == 0 {
			continue
		}
		why := strings.Join(s.Problems, "; ")
		if rep.Verdict == pades.VerdictModified {
			return nil, lienthong.Errorf(lienthong.KindInvalid,
				"tệp %q đã bị sửa sau chữ ký %q của %s: %s (document modified after signing)", info.GetName(), s.Field, s.SignerCN, why)
		}
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"tệp %q: chữ ký %q của %s không hợp lệ: %s (invalid signature)", info.GetName(), s.Field, s.SignerCN, why)
	}
	return nil, lienthong.Errorf(lienthong.KindInvalid, "tệp %q: chữ ký số %s", info.GetName(), rep.Verdict)
}

// Revoked reports whether a CRL of the trust store, issued by cert's
// issuer, lists cert. The hub uses it for agencies' client certificates.
func Revoked(ts *trust.Store, cert *x509.Certificate) bool {
	for _, crl := range ts.CRLs() {
		if !bytes.Equal(crl.RawIssuer, cert.RawIssuer) {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return true
			}
		}
	}
	return false
}
