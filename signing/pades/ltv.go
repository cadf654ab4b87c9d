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
	"github.com/lienthong/lienthong/signing/tsp"
)

// Timestamper obtains RFC 3161 time-stamp tokens over a digest;
// *tsp.Client is one.
type Timestamper interface {
	Timestamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
}

// Bounds on what Verify reads of a DSS, against hostile files: entries,
// raw bytes of one entry (a national CA's CRL is a few megabytes), and
// decoded bytes of all.
const (
	maxDSSEntries    = 10000
	maxDSSEntryBytes = 16 << 20
	maxDSSBytes      = 64 << 20
)

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
	if _, err := io.Copy(dst, io.NewSectionReader(src, 0, size)); err != nil {
		return fmt.Errorf("pades: writing PDF: %w", err)
	}
	if _, err := dst.Write(u.data); err != nil {
		return fmt.Errorf("pades: writing PDF: %w", err)
	}
	return nil
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

// DSSData is validation material for a document security store (ETSI EN
// 319 142-1, 5.4.2: PAdES B-LT), DER-encoded.
type DSSData struct {
	Certs []*x509.Certificate
	CRLs  [][]byte
	OCSPs [][]byte
}

// AddDSS writes to dst the PDF in src followed by an incremental update
// that adds data to the document's DSS (creating it if needed). Entries
// the DSS already holds are not repeated; VRI dictionaries are optional in
// PAdES baseline and not written.
func AddDSS(dst io.Writer, src io.ReaderAt, size int64, data DSSData) error {
	doc, err := pdf.Open(src, size)
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	upd, err := dssUpdate(doc, data)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, io.NewSectionReader(src, 0, size)); err != nil {
		return fmt.Errorf("pades: writing PDF: %w", err)
	}
	if _, err := dst.Write(upd); err != nil {
		return fmt.Errorf("pades: writing PDF: %w", err)
	}
	return nil
}

// dssUpdate returns the bytes of an incremental update after doc that
// rewrites the catalog with a /DSS holding the old entries and data's.
func dssUpdate(doc *pdf.Document, data DSSData) ([]byte, error) {
	v := doc.Latest()
	tr := v.Trailer()
	if tr.Get("Encrypt") != nil {
		return nil, ErrEncrypted
	}
	catalog, catRef, err := v.Catalog()
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	next := max(doc.MaxObjNum()+1, 1)
	if s, ok := tr.Get("Size").(int64); ok && s > int64(next) && s <= pdf.MaxObjects {
		next = int(s)
	}
	objs := make(map[int]outObj)
	old, err := v.Dict(catalog.Get("DSS"))
	if err != nil {
		return nil, fmt.Errorf("pades: reading the DSS: %w", err)
	}
	dss := pdf.NewDict()
	if old != nil {
		dss = old.Clone()
	}
	existing, _, err := readDSS(v)
	if err != nil {
		return nil, fmt.Errorf("pades: reading the DSS: %w", err)
	}
	seen := make(map[string]bool)
	for _, b := range existing.raw {
		seen[string(b)] = true
	}
	add := func(key pdf.Name, items [][]byte) error {
		arr, err := v.Array(dss.Get(key))
		if err != nil {
			return fmt.Errorf("pades: reading the DSS /%s: %w", key, err)
		}
		arr = append(pdf.Array(nil), arr...)
		for _, b := range items {
			if seen[string(b)] {
				continue
			}
			seen[string(b)] = true
			n := next
			next++
			objs[n] = outObj{0, &newStream{dict: pdf.NewDict(), data: b}}
			arr = append(arr, pdf.Ref{Num: n})
		}
		if len(arr) > 0 {
			dss.Set(key, arr)
		}
		return nil
	}
	var certs [][]byte
	for _, c := range data.Certs {
		certs = append(certs, c.Raw)
	}
	for _, kv := range []struct {
		key   pdf.Name
		items [][]byte
	}{{"Certs", certs}, {"CRLs", data.CRLs}, {"OCSPs", data.OCSPs}} {
		if err := add(kv.key, kv.items); err != nil {
			return nil, err
		}
	}
	dssNum := next
	next++
	objs[dssNum] = outObj{0, dss}
	newCatalog := catalog.Clone()
	newCatalog.Set("DSS", pdf.Ref{Num: dssNum})
	if err := declareDSSVersion(doc, newCatalog); err != nil {
		return nil, err
	}
	e, _ := v.Lookup(catRef.Num)
	objs[catRef.Num] = outObj{e.Gen, newCatalog}
	upd, _, err := layoutUpdate(doc, tr, catRef, objs, next)
	return upd, err
}

// dssContents is what a document's DSS holds.
type dssContents struct {
	certs []*x509.Certificate
	crls  []*x509.RevocationList
	ocsps [][]byte
	raw   [][]byte // every entry's data, for de-duplication
}

// readDSS reads the DSS of this revision's catalog. Entries that do not
// parse are skipped and reported in problems: the DSS is unsigned
// material that only adds candidates (never trust anchors), so a broken
// entry weakens nothing.
func readDSS(v *pdf.View) (dssContents, []string, error) {
	var out dssContents
	var problems []string
	catalog, _, err := v.Catalog()
	if err != nil {
		return out, nil, err
	}
	dss, err := v.Dict(catalog.Get("DSS"))
	if err != nil || dss == nil {
		return out, nil, err
	}
	count, total := 0, 0
	for _, key := range []pdf.Name{"Certs", "CRLs", "OCSPs"} {
		arr, err := v.Array(dss.Get(key))
		if err != nil {
			problems = append(problems, fmt.Sprintf("DSS /%s unreadable: %v", key, err))
			continue
		}
		for _, x := range arr {
			if count++; count > maxDSSEntries {
				return out, append(problems, "DSS too large; the rest is ignored"), nil
			}
			obj, err := v.Resolve(x, 0)
			st, ok := obj.(*pdf.Stream)
			if err != nil || !ok {
				problems = append(problems, fmt.Sprintf("DSS /%s entry is not a stream", key))
				continue
			}
			if n, err := v.RawLength(st); err != nil || n > maxDSSEntryBytes {
				problems = append(problems, fmt.Sprintf("DSS /%s entry unreadable or larger than %d bytes", key, maxDSSEntryBytes))
				continue
			}
			data, err := v.Doc.StreamData(st, v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("DSS /%s entry unreadable: %v", key, err))
				continue
			}
			if total += len(data); total > maxDSSBytes {
				return out, append(problems, "DSS too large; the rest is ignored"), nil
			}
			out.raw = append(out.raw, data)
			switch key {
			case "Certs":
				c, err := x509.ParseCertificate(data)
				if err != nil {
					problems = append(problems, fmt.Sprintf("DSS certificate unreadable: %v", err))
					continue
				}
				out.certs = append(out.certs, c)
			case "CRLs":
				c, err := x509.ParseRevocationList(data)
				if err != nil {
					problems = append(problems, fmt.Sprintf("DSS CRL unreadable: %v", err))
					continue
				}
				out.crls = append(out.crls, c)
			case "OCSPs":
				out.ocsps = append(out.ocsps, data)
			}
		}
	}
	return out, problems, nil
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
	if len(rep.Signatures) == 0 {
		return fmt.Errorf("%w: tài liệu chưa có chữ ký nào để thêm dữ liệu kiểm tra dài hạn (no signature to add validation data for)", ErrRefused)
	}
	var data DSSData
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
			for _, crl := range opts.Verify.CRLs {
				if crl != nil && !seen[string(crl.Raw)] && bytes.Equal(crl.RawIssuer, c.RawIssuer) && crl.CheckSignatureFrom(chain[i+1]) == nil {
					seen[string(crl.Raw)] = true
					data.CRLs = append(data.CRLs, crl.Raw)
				}
			}
		}
	}
	for _, s := range rep.Signatures {
		if s.Indication != etsi.TotalPassed {
			return fmt.Errorf("%w: chữ ký %q chưa hợp lệ (%s %s), không thêm dữ liệu kiểm tra dài hạn (validation data is added only to TOTAL-PASSED signatures)", ErrRefused, s.Field, s.Indication, s.SubIndication)
		}
		addChain(s.Chain)
		if s.Timestamp != nil && s.Timestamp.Valid {
			addChain(s.Timestamp.chain)
		}
	}
	for _, ts := range rep.DocumentTimestamps {
		if ts.Valid {
			addChain(ts.chain)
		}
	}
	doc, err := pdf.Open(src, size)
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	upd, err := dssUpdate(doc, data)
	if err != nil {
		return err
	}
	if opts.TSA == nil {
		if _, err := io.Copy(dst, io.NewSectionReader(src, 0, size)); err != nil {
			return fmt.Errorf("pades: writing PDF: %w", err)
		}
		if _, err := dst.Write(upd); err != nil {
			return fmt.Errorf("pades: writing PDF: %w", err)
		}
		return nil
	}
	withDSS := &appendedReaderAt{src: src, size: size, tail: upd}
	return AddDocumentTimestamp(ctx, dst, withDSS, size+int64(len(upd)), DocTimestampOptions{TSA: opts.TSA})
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

// declareDSSVersion makes the catalog say what a DSS needs: PDF 1.7 with
// the ESIC extension level 5 (ETSI EN 319 142-1, 5.4), which readers such
// as pdfcpu check before they read /DSS. A later version is left alone.
func declareDSSVersion(doc *pdf.Document, catalog *pdf.Dict) error {
	version := string(catalog.Name("Version"))
	if version == "" {
		head := make([]byte, min(doc.Size, 1024))
		if _, err := doc.R.ReadAt(head, 0); err != nil && err != io.EOF {
			return fmt.Errorf("pades: reading PDF header: %w", err)
		}
		if i := bytes.Index(head, []byte("%PDF-")); i >= 0 && i+8 <= len(head) {
			version = string(head[i+5 : i+8])
		}
	}
	if version < "1.7" {
		catalog.Set("Version", pdf.Name("1.7"))
	}
	if catalog.Get("Extensions") == nil && version < "2.0" {
		esic := pdf.NewDict()
		esic.Set("BaseVersion", pdf.Name("1.7"))
		esic.Set("ExtensionLevel", int64(5))
		ext := pdf.NewDict()
		ext.Set("ESIC", esic)
		catalog.Set("Extensions", ext)
	}
	return nil
}
