package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"time"
)

// SubFilter names the encoding of a PDF signature's /Contents.
type SubFilter string

// SubFilters this package signs and verifies.
const (
	// SubFilterPKCS7 is adbe.pkcs7.detached: the classic Adobe detached
	// PKCS #7 signature, with the signing time as a signed attribute.
	SubFilterPKCS7 SubFilter = "adbe.pkcs7.detached"
	// SubFilterCAdES is ETSI.CAdES.detached: a PAdES baseline signature
	// (ETSI EN 319 142-1), with signing-certificate-v2 and no signingTime
	// attribute; the time is in the signature dictionary's /M.
	SubFilterCAdES SubFilter = "ETSI.CAdES.detached"
)

// SignOptions says who signs and how.
type SignOptions struct {
	// Signer is the private key; any crypto.Signer (a key file, a PKCS#11
	// token) holding an RSA or ECDSA key.
	Signer crypto.Signer
	// Certificate is the signer's certificate; its key must be Signer's.
	Certificate *x509.Certificate
	// Chain holds the intermediate CAs (and optionally the root) to embed.
	Chain []*x509.Certificate
	// SubFilter defaults to SubFilterCAdES.
	SubFilter SubFilter
	// Reason, Location and Name go into the signature dictionary; Name
	// defaults to the certificate's common name.
	Reason, Location, Name string
	// FieldName names the new signature field; the default is the first
	// free "SignatureN".
	FieldName string
	// Time is the signing time; the zero value means time.Now().
	Time time.Time
	// TSA, if set, time-stamps the signature value: the token goes into
	// the signature as the unsigned attribute signatureTimeStampToken
	// (PAdES B-T), and is the proof of existence verifiers judge the
	// certificate at.
	TSA Timestamper
}

// ErrEncrypted reports an encrypted PDF, which Sign does not handle.
var ErrEncrypted = errors.New("pades: encrypted PDFs are not supported")

// Sign writes to dst the PDF read from src (size bytes) followed by an
// incremental update that adds an invisible signature field signed with
// opts. The original bytes are copied unchanged, so earlier signatures stay
// valid. src is read twice, as a stream, and only the few objects an update
// touches (trailer, catalog, AcroForm, first page) are parsed: memory use
// does not grow with the document. If Sign fails before the first write,
// nothing is written to dst.
func Sign(dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	return SignContext(context.Background(), dst, src, size, opts)
}

// SignContext is Sign with a context for the request to opts.TSA.
func SignContext(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	if opts.Signer == nil || opts.Certificate == nil {
		return errors.New("pades: SignOptions needs a Signer and a Certificate")
	}
	if !samePublicKey(opts.Signer.Public(), opts.Certificate.PublicKey) {
		return errors.New("pades: the signer's key does not match the certificate")
	}
	sf := opts.SubFilter
	if sf == "" {
		sf = SubFilterCAdES
	}
	if sf != SubFilterPKCS7 && sf != SubFilterCAdES {
		return fmt.Errorf("pades: unsupported subfilter %q", sf)
	}
	at := opts.Time
	if at.IsZero() {
		at = time.Now()
	}
	at = at.Truncate(time.Second)
	params := cmsParams{
		signer:     opts.Signer,
		cert:       opts.Certificate,
		chain:      opts.Chain,
		signingAt:  at,
		withTime:   sf == SubFilterPKCS7,
		withESSv2:  true,
		digestHash: crypto.SHA256,
		tsa:        opts.TSA,
	}
	if _, _, err := algorithmsFor(opts.Signer.Public(), params.digestHash); err != nil {
		return err
	}

	doc, err := openDocument(src, size)
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	u, err := buildUpdate(doc, opts, sf, at, estimateCMSSize(params))
	if err != nil {
		return err
	}

	digest, err := u.digest(params.digestHash, src, size)
	if err != nil {
		return err
	}
	der, err := buildCMS(ctx, params, digest)
	if err != nil {
		return err
	}
	return u.finish(dst, src, size, der)
}

// SignFile signs the PDF at inPath into outPath, which is replaced
// atomically (temporary file, fsync, rename); inPath and outPath may be the
// same file.
func SignFile(inPath, outPath string, opts SignOptions) error {
	return SignFileContext(context.Background(), inPath, outPath, opts)
}

// SignFileContext is SignFile with a context for the request to opts.TSA.
func SignFileContext(ctx context.Context, inPath, outPath string, opts SignOptions) error {
	return rewriteFile(inPath, outPath, func(dst io.Writer, src io.ReaderAt, size int64) error {
		return SignContext(ctx, dst, src, size, opts)
	})
}

// rewriteFile writes fn's output for the file at inPath to outPath,
// atomically (temporary file, fsync, rename); inPath and outPath may be
// the same file.
func rewriteFile(inPath, outPath string, fn func(dst io.Writer, src io.ReaderAt, size int64) error) (err error) {
	in, err := os.Open(inPath)
	if err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".pades-*.pdf")
	if err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fn(tmp, in, st.Size()); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	if err := os.Rename(tmp.Name(), outPath); err != nil {
		return fmt.Errorf("pades: %w", err)
	}
	return nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return reflect.DeepEqual(a, b)
}

// update is the bytes of an incremental update, with where the /Contents
// hex string lies (offsets into data).
type update struct {
	data                       []byte
	contentsStart, contentsEnd int
}

// byteRangeWidth is the width each /ByteRange number is padded to, so the
// array can be filled in after the layout is fixed.
const byteRangeWidth = 12

func buildUpdate(doc *document, opts SignOptions, sf SubFilter, at time.Time, cmsSize int) (*update, error) {
	v := doc.latest()
	tr := v.trailer()
	if tr.get("Encrypt") != nil {
		return nil, ErrEncrypted
	}
	catalog, catRef, err := v.catalog()
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	page, pageRef, err := v.firstPage(catalog)
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}

	size := max(doc.maxObjNum()+1, 1)
	if s, ok := tr.get("Size").(int64); ok && s > int64(size) && s <= maxObjects {
		size = int(s)
	}
	next := size
	alloc := func() int { next++; return next - 1 }
	// Objects the update writes, by number: rewritten old ones and new ones.
	objs := make(map[int]outObj)

	sigNum := alloc()
	fieldNum := alloc()

	// The AcroForm: inline in the catalog, indirect, or new.
	var acro *dict
	var acroRef *ref
	switch a := catalog.get("AcroForm").(type) {
	case ref:
		d, err := v.dict(a)
		if err != nil {
			return nil, fmt.Errorf("pades: AcroForm: %w", err)
		}
		if d != nil {
			acro, acroRef = d.clone(), &a
		}
	case *dict:
		acro = a.clone()
	}
	newCatalog := catalog.clone()
	if acro == nil {
		acro = newDict()
		n := alloc()
		acroRef = &ref{n, 0}
		newCatalog.set("AcroForm", *acroRef)
	}
	var fieldNames []string
	fieldsRef, isRef := acro.get("Fields").(ref)
	fields, err := v.array(acro.get("Fields"))
	if err != nil {
		return nil, fmt.Errorf("pades: AcroForm /Fields: %w", err)
	}
	for i, f := range fields {
		if i >= maxFieldNodes {
			break
		}
		if fd, err := v.dict(f); err == nil && fd != nil {
			if t, ok := fd.get("T").(*pdfString); ok {
				fieldNames = append(fieldNames, decodeText(t.b))
			}
		}
	}
	newFields := append(append(array(nil), fields...), ref{fieldNum, 0})
	if isRef {
		e, _ := v.lookup(fieldsRef.num)
		objs[fieldsRef.num] = outObj{e.gen, newFields}
	} else {
		acro.set("Fields", newFields)
	}
	acro.set("SigFlags", int64(3))
	if acroRef != nil {
		e, _ := v.lookup(acroRef.num)
		objs[acroRef.num] = outObj{e.gen, acro}
	} else {
		newCatalog.set("AcroForm", acro)
	}
	if !reflect.DeepEqual(newCatalog, catalog) {
		e, _ := v.lookup(catRef.num)
		objs[catRef.num] = outObj{e.gen, newCatalog}
	}

	// The widget goes into the first page's /Annots.
	newPage := page.clone()
	annotsRef, annotsIsRef := page.get("Annots").(ref)
	annots, err := v.array(page.get("Annots"))
	if err != nil {
		return nil, fmt.Errorf("pades: page /Annots: %w", err)
	}
	newAnnots := append(append(array(nil), annots...), ref{fieldNum, 0})
	if annotsIsRef {
		e, _ := v.lookup(annotsRef.num)
		objs[annotsRef.num] = outObj{e.gen, newAnnots}
	} else {
		newPage.set("Annots", newAnnots)
		e, _ := v.lookup(pageRef.num)
		objs[pageRef.num] = outObj{e.gen, newPage}
	}

	fieldName := opts.FieldName
	prefix := "Signature"
	if sf == SubFilterRFC3161 {
		prefix = "Timestamp"
	}
	if fieldName == "" {
		for i := 1; ; i++ {
			fieldName = prefix + strconv.Itoa(i)
			taken := false
			for _, n := range fieldNames {
				taken = taken || n == fieldName
			}
			if !taken {
				break
			}
		}
	}
	field := newDict()
	field.set("Type", name("Annot"))
	field.set("Subtype", name("Widget"))
	field.set("FT", name("Sig"))
	field.set("T", textString(fieldName))
	field.set("V", ref{sigNum, 0})
	field.set("F", int64(132)) // Print | Locked
	field.set("Rect", array{int64(0), int64(0), int64(0), int64(0)})
	field.set("P", pageRef)
	objs[fieldNum] = outObj{0, field}

	signerName := opts.Name
	if signerName == "" && opts.Certificate != nil {
		signerName = opts.Certificate.Subject.CommonName
	}
	placeholder := bytes.Repeat([]byte("0"), 2*cmsSize)
	brPlaceholder := fmt.Sprintf("[0 %*d %*d %*d]", byteRangeWidth, 0, byteRangeWidth, 0, byteRangeWidth, 0)
	sig := newDict()
	if sf == SubFilterRFC3161 {
		sig.set("Type", name("DocTimeStamp")) // ISO 32000-2, 12.8.5
	} else {
		sig.set("Type", name("Sig"))
	}
	sig.set("Filter", name("Adobe.PPKLite"))
	sig.set("SubFilter", name(sf))
	sig.set("ByteRange", rawToken(brPlaceholder))
	sig.set("Contents", rawToken("<"+string(placeholder)+">"))
	if sf != SubFilterRFC3161 {
		sig.set("M", textString(pdfDate(at)))
	}
	if signerName != "" {
		sig.set("Name", textString(signerName))
	}
	if opts.Reason != "" {
		sig.set("Reason", textString(opts.Reason))
	}
	if opts.Location != "" {
		sig.set("Location", textString(opts.Location))
	}
	objs[sigNum] = outObj{0, sig}

	data, starts, err := layoutUpdate(doc, tr, catRef, objs, next)
	if err != nil {
		return nil, err
	}
	sigStart := starts[sigNum]
	base := doc.size
	// The signature dictionary holds no other string before /Contents.
	cs := bytes.Index(data[sigStart:], []byte("<"+string(placeholder[:64])))
	br := bytes.Index(data[sigStart:], []byte(brPlaceholder))
	if cs < 0 || br < 0 {
		return nil, errors.New("pades: internal error: placeholder not found")
	}
	cs += sigStart
	br += sigStart
	ce := cs + len(placeholder) + 2
	total := base + int64(len(data))
	ranges := fmt.Sprintf("[0 %-*d %-*d %-*d]", byteRangeWidth, base+int64(cs), byteRangeWidth, base+int64(ce), byteRangeWidth, total-(base+int64(ce)))
	if len(ranges) != len(brPlaceholder) {
		return nil, errors.New("pades: document too large for the /ByteRange placeholder")
	}
	copy(data[br:], ranges)
	return &update{data: data, contentsStart: cs, contentsEnd: ce}, nil
}

// outObj is an object an incremental update writes: an old one rewritten
// or a new one.
type outObj struct {
	gen  int
	body object
}

// newStream is a stream object an update writes, with its data.
type newStream struct {
	dict *dict
	data []byte
}

// layoutUpdate lays out an incremental update after doc: the objects, then
// a cross-reference section of the kind the last one was, whose trailer
// keeps /Root, /Info and /ID and points back with /Prev. next is the first
// unused object number. It returns the update's bytes and where each
// object starts in them.
func layoutUpdate(doc *document, tr *dict, catRef ref, objs map[int]outObj, next int) ([]byte, map[int]int, error) {
	base := doc.size
	var buf bytes.Buffer
	var last [1]byte
	if doc.size > 0 {
		if _, err := doc.r.ReadAt(last[:], doc.size-1); err != nil {
			return nil, nil, fmt.Errorf("pades: reading PDF: %w", err)
		}
		if last[0] != '\n' && last[0] != '\r' {
			buf.WriteByte('\n')
		}
	}
	offsets := make(map[int]xrefEntry)
	starts := make(map[int]int)
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		o := objs[n]
		starts[n] = buf.Len()
		offsets[n] = xrefEntry{kind: 1, off: base + int64(buf.Len()), gen: o.gen}
		fmt.Fprintf(&buf, "%d %d obj\n", n, o.gen)
		if st, ok := o.body.(*newStream); ok {
			d := st.dict.clone()
			d.set("Length", int64(len(st.data)))
			if err := writeObject(&buf, d); err != nil {
				return nil, nil, err
			}
			buf.WriteString("\nstream\n")
			buf.Write(st.data)
			buf.WriteString("\nendstream\nendobj\n")
			continue
		}
		if err := writeObject(&buf, o.body); err != nil {
			return nil, nil, err
		}
		buf.WriteString("\nendobj\n")
	}

	prevXref := doc.sections[0].offset
	trailer := newDict()
	trailer.set("Size", int64(next))
	trailer.set("Root", catRef)
	for _, k := range []name{"Info", "ID"} {
		if x := tr.get(k); x != nil {
			trailer.set(k, x)
		}
	}
	trailer.set("Prev", prevXref)
	if doc.sections[0].stream {
		xrefNum := next
		next++
		trailer.set("Size", int64(next))
		offsets[xrefNum] = xrefEntry{kind: 1, off: base + int64(buf.Len())}
		writeXrefStream(&buf, xrefNum, offsets, trailer)
	} else {
		xrefAt := base + int64(buf.Len())
		writeXrefTable(&buf, offsets)
		buf.WriteString("trailer\n")
		if err := writeObject(&buf, trailer); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(&buf, "\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	}
	return buf.Bytes(), starts, nil
}

func writeXrefTable(buf *bytes.Buffer, offsets map[int]xrefEntry) {
	buf.WriteString("xref\n0 1\n0000000000 65535 f \n")
	nums := sortedNums(offsets)
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		fmt.Fprintf(buf, "%d %d\n", nums[i], j-i+1)
		for _, n := range nums[i : j+1] {
			e := offsets[n]
			fmt.Fprintf(buf, "%010d %05d n \n", e.off, e.gen)
		}
		i = j + 1
	}
}

// writeXrefStream writes an uncompressed cross-reference stream object
// (ISO 32000-1, 7.5.8) holding offsets, the trailer entries and startxref.
func writeXrefStream(buf *bytes.Buffer, num int, offsets map[int]xrefEntry, trailer *dict) {
	nums := sortedNums(offsets)
	var maxOff int64
	for _, e := range offsets {
		maxOff = max(maxOff, e.off)
	}
	w := 1
	for ; w < 8 && maxOff >= 1<<(8*w); w++ {
	}
	var index array
	var data []byte
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		index = append(index, int64(nums[i]), int64(j-i+1))
		for _, n := range nums[i : j+1] {
			e := offsets[n]
			data = append(data, 1)
			for k := w - 1; k >= 0; k-- {
				data = append(data, byte(e.off>>(8*k)))
			}
			data = append(data, byte(e.gen>>8), byte(e.gen))
		}
		i = j + 1
	}
	xs := trailer.clone()
	xs.set("Type", name("XRef"))
	xs.set("W", array{int64(1), int64(w), int64(2)})
	xs.set("Index", index)
	xs.set("Length", int64(len(data)))
	fmt.Fprintf(buf, "%d 0 obj\n", num)
	writeObject(buf, xs) // only names, numbers, refs and arrays: cannot fail
	buf.WriteString("\nstream\n")
	buf.Write(data)
	buf.WriteString("\nendstream\nendobj\n")
	fmt.Fprintf(buf, "startxref\n%d\n%%%%EOF\n", offsets[num].off)
}
