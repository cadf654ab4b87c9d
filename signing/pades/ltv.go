package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pdf"
	"github.com/lienthong/lienthong/signing/revocation"
	"github.com/lienthong/lienthong/signing/tsp"
)

// Timestamper obtains RFC 3161 time-stamp tokens over a digest;
// *tsp.Client is one.
type Timestamper interface {
	Timestamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
}

// signatureTimestamp time-stamps a signature value and returns the
// token's DER, checked to cover that value.
func signatureTimestamp(ctx context.Context, tsa Timestamper, sig []byte) ([]byte, error) {
	d := sha256.Sum256(sig)
	token, err := tsa.Timestamp(ctx, crypto.SHA256, d[:])
	if err != nil {
		return nil, fmt.Errorf("pades: time-stamping the signature: %w", err)
	}
	tok, err := tsp.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("pades: time-stamping the signature: %w", err)
	}
	if err := tok.CheckData(sig); err != nil {
		return nil, fmt.Errorf("pades: time-stamping the signature: %w", err)
	}
	return tok.Raw, nil
}

// finish puts der into the update's /Contents and writes the document
// and the update to dst.
func (u *update) finish(dst io.Writer, src io.ReaderAt, size int64, der []byte) error {
	if 2*len(der) > u.contentsEnd-u.contentsStart-2 {
		return fmt.Errorf("pades: signature of %d bytes does not fit its %d-byte placeholder", len(der), (u.contentsEnd-u.contentsStart-2)/2)
	}
	hex.Encode(u.data[u.contentsStart+1:], der)
	return writeUpdated(dst, src, size, u.data)
}

// digest hashes the document and the update except its /Contents: the
// bytes /ByteRange covers.
func (u *update) digest(h crypto.Hash, src io.ReaderAt, size int64) ([]byte, error) {
	w := h.New()
	if _, err := io.Copy(w, io.NewSectionReader(src, 0, size)); err != nil {
		return nil, fmt.Errorf("pades: reading PDF: %w", err)
	}
	w.Write(u.data[:u.contentsStart])
	w.Write(u.data[u.contentsEnd:])
	return w.Sum(nil), nil
}

// DocTimestampOptions configures AddDocumentTimestamp.
type DocTimestampOptions struct {
	// TSA issues the token.
	TSA Timestamper
	// FieldName names the new field; the default is the first free
	// "TimestampN".
	FieldName string
}

// AddDocumentTimestamp writes to dst the PDF in src followed by an
// incremental update holding a document timestamp (SubFilter
// ETSI.RFC3161, PAdES B-LTA): an RFC 3161 token over every byte but its
// own /Contents. It proves that the document, signatures and DSS before it
// existed at the token's time.
func AddDocumentTimestamp(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, opts DocTimestampOptions) error {
	if opts.TSA == nil {
		return errors.New("pades: a document timestamp needs a TSA")
	}
	doc, err := pdf.Open(src, size)
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	u, err := buildUpdate(doc, SignOptions{FieldName: opts.FieldName}, SubFilterRFC3161, time.Time{}, cms.TokenReserve)
	if err != nil {
		return err
	}
	digest, err := u.digest(crypto.SHA256, src, size)
	if err != nil {
		return err
	}
	token, err := opts.TSA.Timestamp(ctx, crypto.SHA256, digest)
	if err != nil {
		return fmt.Errorf("pades: time-stamping the document: %w", err)
	}
	tok, err := tsp.Parse(token)
	if err != nil {
		return fmt.Errorf("pades: time-stamping the document: %w", err)
	}
	if err := tok.CheckDigest(crypto.SHA256, digest); err != nil {
		return fmt.Errorf("pades: time-stamping the document: %w", err)
	}
	return u.finish(dst, src, size, tok.Raw)
}

// LTVOptions configures AddLTV.
type LTVOptions struct {
	// Verify holds the trust roots and the CRLs: every signature must be
	// TOTAL-PASSED with them, and the CRLs of their chains go into the DSS.
	Verify VerifyOptions
	// TSA, if set, adds a document timestamp after the DSS (PAdES B-LTA).
	TSA Timestamper
}

// AddLTV makes a signed PDF verifiable long-term: it writes to dst the PDF
// in src followed by an incremental update adding to the DSS the chain of
// every signature and the CRLs from opts.Verify.CRLs that cover it (PAdES
// B-LT), and, if opts.TSA is set, a document timestamp after it (B-LTA).
// It refuses (ErrRefused) a document whose signatures are not all
// TOTAL-PASSED, since validation material would only preserve a doubtful
// state.
func AddLTV(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, opts LTVOptions) error {
	rep, err := Verify(src, size, opts.Verify)
	if err != nil {
		return err
	}
	data, err := LTVData(rep, opts.Verify.CRLs)
	if err != nil {
		return err
	}
	if opts.TSA == nil {
		return AddDSS(dst, src, size, data)
	}
	upd, err := LTVUpdate(src, size, data)
	if err != nil {
		return err
	}
	withDSS := &appendedReaderAt{src: src, size: size, tail: upd}
	return AddDocumentTimestamp(ctx, dst, withDSS, size+int64(len(upd)), DocTimestampOptions{TSA: opts.TSA})
}

// LTVData gathers, from a verification report, the validation material a
// PAdES B-LT DSS needs: the chain of every signature and of its valid
// timestamps, the CRLs and OCSP responses the verification used for them,
// and those of crls that cover a chain. It refuses (ErrRefused) a report
// with no signature or one not TOTAL-PASSED, since validation material
// would only preserve a doubtful state.
func LTVData(rep *Report, crls []*x509.RevocationList) (DSSData, error) {
	var data DSSData
	if len(rep.Signatures) == 0 {
		return data, fmt.Errorf("%w: tài liệu chưa có chữ ký nào để thêm dữ liệu kiểm tra dài hạn (no signature to add validation data for)", ErrRefused)
	}
	seen := make(map[string]bool)
	// Each chain and the CRLs of its issuers: the signers', and the TSAs'
	// of signature and document timestamps, which a later validation of
	// those timestamps needs as well.
	addChain := func(chain []*x509.Certificate) {
		for i, c := range chain {
			if !seen[string(c.Raw)] {
				seen[string(c.Raw)] = true
				data.Certs = append(data.Certs, c)
			}
			if i+1 == len(chain) {
				break
			}
			for _, crl := range crls {
				if crl != nil && !seen[string(crl.Raw)] && bytes.Equal(crl.RawIssuer, c.RawIssuer) && crl.CheckSignatureFrom(chain[i+1]) == nil {
					seen[string(crl.Raw)] = true
					data.CRLs = append(data.CRLs, crl.Raw)
				}
			}
		}
	}
	// The revocation information the verification rested on, fetched
	// (OCSP, a CRL distribution point) or from the trust store.
	addRevocation := func(rs []revocation.Result) {
		for _, r := range rs {
			if len(r.Raw) == 0 || seen[string(r.Raw)] || r.Status != revocation.StatusGood {
				continue
			}
			seen[string(r.Raw)] = true
			switch r.Source {
			case revocation.SourceCRL:
				data.CRLs = append(data.CRLs, r.Raw)
			case revocation.SourceOCSP:
				data.OCSPs = append(data.OCSPs, r.Raw)
			}
		}
	}
	for _, s := range rep.Signatures {
		if s.Indication != etsi.TotalPassed {
			return data, fmt.Errorf("%w: chữ ký %q chưa hợp lệ (%s %s), không thêm dữ liệu kiểm tra dài hạn (validation data is added only to TOTAL-PASSED signatures)", ErrRefused, s.Field, s.Indication, s.SubIndication)
		}
		addChain(s.Chain)
		addRevocation(s.Revocation)
		if s.Timestamp != nil && s.Timestamp.Valid {
			addChain(s.Timestamp.chain)
		}
	}
	for _, ts := range rep.DocumentTimestamps {
		if ts.Valid {
			addChain(ts.chain)
		}
	}
	return data, nil
}

// LTVUpdate returns the incremental update that AddDSS would append to
// the PDF in src for data: the hub makes it once at acceptance and the
// recipient appends it to the file, whose bytes (and hash) it leaves as
// the sender signed them.
func LTVUpdate(src io.ReaderAt, size int64, data DSSData) ([]byte, error) {
	doc, err := pdf.Open(src, size)
	if err != nil {
		return nil, fmt.Errorf("pades: reading PDF: %w", err)
	}
	return dssUpdate(doc, data)
}

// ErrNotValidationData: an update meant to add validation data changes
// something else, or is no PDF update at all.
var ErrNotValidationData = errors.New("pades: the update adds more than validation data")

// CheckValidationUpdate returns nil if upd, appended to the PDF in src,
// adds validation data and nothing else: the document with it has the same
// signatures, none failing, and no change the difference analysis
// forbids. A recipient checks it before appending the update a hub made
// (lthub serve --ltv): the hub routes documents, it does not edit them.
func CheckValidationUpdate(src io.ReaderAt, size int64, upd []byte) error {
	before, err := Verify(src, size, VerifyOptions{})
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	after, err := Verify(&appendedReaderAt{src: src, size: size, tail: upd}, size+int64(len(upd)), VerifyOptions{})
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrNotValidationData, err)
	case after.Verdict == VerdictModified || after.Verdict == VerdictError || after.Indication == etsi.TotalFailed:
		return fmt.Errorf("%w (%s, %s)", ErrNotValidationData, after.Verdict, after.Indication)
	case len(after.Signatures) != len(before.Signatures):
		return fmt.Errorf("%w (%d signatures before, %d after)", ErrNotValidationData, len(before.Signatures), len(after.Signatures))
	}
	return nil
}

// LTVFile runs AddLTV on the file at inPath into outPath, replaced
// atomically; inPath and outPath may be the same file.
func LTVFile(ctx context.Context, inPath, outPath string, opts LTVOptions) error {
	return rewriteFile(inPath, outPath, func(dst io.Writer, src io.ReaderAt, size int64) error {
		return AddLTV(ctx, dst, src, size, opts)
	})
}

// appendedReaderAt reads src's size bytes followed by tail.
type appendedReaderAt struct {
	src  io.ReaderAt
	size int64
	tail []byte
}

func (a *appendedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < a.size {
		k := min(int64(len(p)), a.size-off)
		m, err := a.src.ReadAt(p[:k], off)
		n += m
		if err != nil && !(errors.Is(err, io.EOF) && int64(m) == k) {
			return n, err
		}
		p, off = p[k:], a.size
	}
	if len(p) == 0 {
		return n, nil
	}
	t := off - a.size
	if t >= int64(len(a.tail)) {
		return n, io.EOF
	}
	m := copy(p, a.tail[t:])
	n += m
	if m < len(p) {
		return n, io.EOF
	}
	return n, nil
}
