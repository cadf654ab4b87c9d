package pades

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/lienthong/lienthong/signing/pdf"
)

// Bounds on what Verify reads of a DSS, against hostile files: entries,
// raw bytes of one entry (a national CA's CRL is a few megabytes), and
// decoded bytes of all.
const (
	maxDSSEntries    = 10000
	maxDSSEntryBytes = 16 << 20
	maxDSSBytes      = 64 << 20
)

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
	return writeUpdated(dst, src, size, upd)
}

// writeUpdated writes the PDF in src (size bytes) to dst, followed by an
// incremental update.
func writeUpdated(dst io.Writer, src io.ReaderAt, size int64, update []byte) error {
	if _, err := io.Copy(dst, io.NewSectionReader(src, 0, size)); err != nil {
		return fmt.Errorf("pades: writing PDF: %w", err)
	}
	if _, err := dst.Write(update); err != nil {
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
