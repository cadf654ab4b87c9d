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
	"strings"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/keypurpose"
	"github.com/lienthong/lienthong/signing/pdf"
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
	// Verify, when set, is how the document's existing signatures are
	// verified before signing, and each must be TOTAL-PASSED. When nil
	// they are verified without trust roots, and a TOTAL-FAILED one
	// (changed, digest or signature broken, revoked) still stops Sign.
	// Either way a certification that allows no changes (DocMDP P=1)
	// does.
	Verify *VerifyOptions
	// DocMDP, 1 to 3, makes this a certification signature allowing that
	// level of later changes (ISO 32000-1, 12.8.2.2: 1 none, 2 form filling
	// and signing, 3 also annotations); 0 is an approval signature.
	DocMDP int
	// Lock names the form fields this signature locks against later
	// changes (FieldMDP, action Include).
	Lock []string
	// Appearance, when set, makes the signature visible: its widget lies
	// on Appearance.Page at Appearance.Rect and shows the appearance
	// stream Appearance.Build writes, in the same incremental update as
	// the signature (the page's content is not touched). Nil means an
	// invisible signature on the first page.
	Appearance *Appearance

	ess *cms.ESSCertID // tests: the signing-certificate-v2 reference written
}

// Appearance is a visible signature's widget: where it lies and what it
// shows (package signing/appearance builds these).
type Appearance struct {
	// Page is the 1-based page the widget lies on; 0 means 1.
	Page int
	// Rect is the widget's rectangle, llx, lly, urx, ury in the page's
	// default user space (points).
	Rect [4]float64
	// Build adds the objects of the widget's normal appearance (its form
	// XObject and what that uses) to the update through objs, and returns
	// the reference to the form XObject.
	Build func(objs Objects) (pdf.Ref, error)
}

// Objects adds new objects to an incremental update.
type Objects interface {
	// Add adds a direct object (a dictionary, an array) as a new indirect
	// object and returns its reference.
	Add(obj pdf.Object) pdf.Ref
	// AddStream adds a stream with the given dictionary and (already
	// encoded) data; /Length is set from data.
	AddStream(dict *pdf.Dict, data []byte) pdf.Ref
}

// updateObjects is Objects for buildUpdate.
type updateObjects struct {
	alloc func() int
	objs  map[int]outObj
}

func (u updateObjects) Add(obj pdf.Object) pdf.Ref {
	n := u.alloc()
	u.objs[n] = outObj{0, obj}
	return pdf.Ref{Num: n}
}

func (u updateObjects) AddStream(dict *pdf.Dict, data []byte) pdf.Ref {
	n := u.alloc()
	u.objs[n] = outObj{0, &newStream{dict: dict, data: data}}
	return pdf.Ref{Num: n}
}

// ErrEncrypted reports an encrypted PDF, which Sign does not handle.
var ErrEncrypted = errors.New("pades: encrypted PDFs are not supported")

// ErrRefused is wrapped by Sign's error when the document's existing
// signatures forbid signing it: one is not valid, or a certification
// allows no changes. The error's text says which signature and why.
var ErrRefused = errors.New("pades: từ chối ký (refusing to sign)")

// Sign writes to dst the PDF read from src (size bytes) followed by an
// incremental update that adds a signature field (invisible, or visible
// with opts.Appearance) signed with opts. The original bytes are copied
// unchanged, so earlier signatures stay valid. src is read three times as a stream (to verify it, to hash it,
// to copy it) and its objects through the cross-reference chain as needed:
// memory use does not grow with the document. If Sign fails before the
// first write, nothing is written to dst.
//
// Before signing, Sign verifies the signatures the document already has
// (see SignOptions.Verify) and refuses, with ErrRefused, to sign over one
// that is not valid or a certification that forbids it: a clerk's seal
// must not vouch for a document changed after its first signature.
func Sign(dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	return SignContext(context.Background(), dst, src, size, opts)
}

// SignContext is Sign with a context for the request to opts.TSA.
func SignContext(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	if opts.Certificate != nil {
		at := opts.Time
		if at.IsZero() {
			at = time.Now()
		}
		if err := keypurpose.CheckForSigning(opts.Certificate, at); err != nil {
			return fmt.Errorf("%w: chứng thư số này không dùng để ký văn bản được (%w)", ErrRefused, err)
		}
	}
	if err := checkExisting(src, size, opts); err != nil {
		return err
	}
	return signUnchecked(ctx, dst, src, size, opts)
}

// checkExisting verifies the document's signatures for Sign.
func checkExisting(src io.ReaderAt, size int64, opts SignOptions) error {
	vo := VerifyOptions{Now: func() time.Time { return opts.Time }}
	if opts.Time.IsZero() {
		vo.Now = nil
	}
	if opts.Verify != nil {
		vo = *opts.Verify
	}
	vo.sealing = true
	rep, err := Verify(src, size, vo)
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	for _, s := range rep.Signatures {
		why := ""
		if len(s.Problems) > 0 {
			why = ": " + strings.Join(s.Problems, "; ")
		}
		switch {
		case s.DocMDP == 1:
			return fmt.Errorf("%w: tài liệu đã được chứng nhận bằng chữ ký %q, không cho phép thay đổi hay ký thêm (the certification, DocMDP P=1, allows no changes)", ErrRefused, s.Field)
		case s.Indication == etsi.TotalFailed || (opts.Verify != nil && s.Indication != etsi.TotalPassed):
			return fmt.Errorf("%w: chữ ký %q có sẵn trong tài liệu không hợp lệ, không ký thêm (existing signature is %s/%s%s)", ErrRefused, s.Field, s.Indication, s.SubIndication, why)
		}
		if s.DocMDP > 0 && opts.DocMDP > 0 {
			return fmt.Errorf("%w: tài liệu đã được chứng nhận bằng chữ ký %q, không chứng nhận lần hai (a document has one certification signature)", ErrRefused, s.Field)
		}
	}
	if opts.DocMDP > 0 && len(rep.Signatures) > 0 {
		return fmt.Errorf("%w: chữ ký chứng nhận phải là chữ ký đầu tiên (a certification signature must be the first)", ErrRefused)
	}
	return nil
}

// SignUnchecked signs without checking the existing signatures or whether
// the certificate may sign, as an attacker's tool or an older ltnode
// would: it builds the documents a verifier must refuse (test corpora,
// interoperability checks). A clerk's tool uses Sign.
func SignUnchecked(dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
	return signUnchecked(context.Background(), dst, src, size, opts)
}

// signUnchecked is Sign without checking the existing signatures.
func signUnchecked(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, opts SignOptions) error {
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
	if opts.DocMDP < 0 || opts.DocMDP > 3 {
		return fmt.Errorf("pades: DocMDP %d: use 1, 2 or 3 (or 0 for an approval signature)", opts.DocMDP)
	}
	at := opts.Time
	if at.IsZero() {
		at = time.Now()
	}
	at = at.Truncate(time.Second)
	params := cms.Params{
		Signer:          opts.Signer,
		Cert:            opts.Certificate,
		Chain:           opts.Chain,
		SigningTime:     at,
		WithSigningTime: sf == SubFilterPKCS7,
		WithESSv2:       true,
		Hash:            crypto.SHA256,
		ESS:             opts.ess,
	}
	if opts.TSA != nil {
		params.SignatureTimestamp = func(sig []byte) ([]byte, error) { return signatureTimestamp(ctx, opts.TSA, sig) }
	}
	if _, _, err := cms.AlgorithmsFor(opts.Signer.Public(), params.Hash); err != nil {
		return err
	}

	doc, err := pdf.Open(src, size)
	if err != nil {
		return fmt.Errorf("pades: reading PDF: %w", err)
	}
	u, err := buildUpdate(doc, opts, sf, at, cms.EstimateSize(params))
	if err != nil {
		return err
	}

	digest, err := u.digest(params.Hash, src, size)
	if err != nil {
		return err
	}
	der, err := cms.Build(params, digest)
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

func buildUpdate(doc *pdf.Document, opts SignOptions, sf SubFilter, at time.Time, cmsSize int) (*update, error) {
	v := doc.Latest()
	tr := v.Trailer()
	if tr.Get("Encrypt") != nil {
		return nil, ErrEncrypted
	}
	catalog, catRef, err := v.Catalog()
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	page, pageRef, err := v.FirstPage(catalog)
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	if ap := opts.Appearance; ap != nil && ap.Page > 1 {
		pages, err := v.Pages(catalog)
		if err != nil {
			return nil, fmt.Errorf("pades: %w", err)
		}
		if ap.Page > len(pages) {
			return nil, fmt.Errorf("pades: trang %d không có, tài liệu có %d trang (page out of range)", ap.Page, len(pages))
		}
		pageRef = pages[ap.Page-1]
		if page, err = v.Dict(pageRef); err != nil {
			return nil, fmt.Errorf("pades: page %d: %w", ap.Page, err)
		}
	}

	size := max(doc.MaxObjNum()+1, 1)
	if s, ok := tr.Get("Size").(int64); ok && s > int64(size) && s <= pdf.MaxObjects {
		size = int(s)
	}
	next := size
	alloc := func() int { next++; return next - 1 }
	// Objects the update writes, by number: rewritten old ones and new ones.
	objs := make(map[int]outObj)

	sigNum := alloc()
	fieldNum := alloc()

	// The AcroForm: inline in the catalog, indirect, or new.
	var acro *pdf.Dict
	var acroRef *pdf.Ref
	switch a := catalog.Get("AcroForm").(type) {
	case pdf.Ref:
		d, err := v.Dict(a)
		if err != nil {
			return nil, fmt.Errorf("pades: AcroForm: %w", err)
		}
		if d != nil {
			acro, acroRef = d.Clone(), &a
		}
	case *pdf.Dict:
		acro = a.Clone()
	}
	newCatalog := catalog.Clone()
	if acro == nil {
		acro = pdf.NewDict()
		n := alloc()
		acroRef = &pdf.Ref{Num: n}
		newCatalog.Set("AcroForm", *acroRef)
	}
	var fieldNames []string
	fieldsRef, isRef := acro.Get("Fields").(pdf.Ref)
	fields, err := v.Array(acro.Get("Fields"))
	if err != nil {
		return nil, fmt.Errorf("pades: AcroForm /Fields: %w", err)
	}
	for i, f := range fields {
		if i >= maxFieldNodes {
			break
		}
		if fd, err := v.Dict(f); err == nil && fd != nil {
			if t, ok := fd.Get("T").(*pdf.String); ok {
				fieldNames = append(fieldNames, pdf.DecodeText(t.Bytes))
			}
		}
	}
	newFields := append(append(pdf.Array(nil), fields...), pdf.Ref{Num: fieldNum})
	if isRef {
		e, _ := v.Lookup(fieldsRef.Num)
		objs[fieldsRef.Num] = outObj{e.Gen, newFields}
	} else {
		acro.Set("Fields", newFields)
	}
	acro.Set("SigFlags", int64(3))
	if acroRef != nil {
		e, _ := v.Lookup(acroRef.Num)
		objs[acroRef.Num] = outObj{e.Gen, acro}
	} else {
		newCatalog.Set("AcroForm", acro)
	}
	catEntry, _ := v.Lookup(catRef.Num)
	catGen := catEntry.Gen
	if !reflect.DeepEqual(newCatalog, catalog) {
		objs[catRef.Num] = outObj{catGen, newCatalog}
	}

	// The widget goes into the first page's /Annots.
	newPage := page.Clone()
	annotsRef, annotsIsRef := page.Get("Annots").(pdf.Ref)
	annots, err := v.Array(page.Get("Annots"))
	if err != nil {
		return nil, fmt.Errorf("pades: page /Annots: %w", err)
	}
	newAnnots := append(append(pdf.Array(nil), annots...), pdf.Ref{Num: fieldNum})
	if annotsIsRef {
		e, _ := v.Lookup(annotsRef.Num)
		objs[annotsRef.Num] = outObj{e.Gen, newAnnots}
	} else {
		newPage.Set("Annots", newAnnots)
		e, _ := v.Lookup(pageRef.Num)
		objs[pageRef.Num] = outObj{e.Gen, newPage}
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
	field := pdf.NewDict()
	field.Set("Type", pdf.Name("Annot"))
	field.Set("Subtype", pdf.Name("Widget"))
	field.Set("FT", pdf.Name("Sig"))
	field.Set("T", pdf.TextString(fieldName))
	field.Set("V", pdf.Ref{Num: sigNum})
	field.Set("F", int64(132)) // Print | Locked
	field.Set("Rect", pdf.Array{int64(0), int64(0), int64(0), int64(0)})
	field.Set("P", pageRef)
	if ap := opts.Appearance; ap != nil {
		r := ap.Rect
		if !(r[2] > r[0] && r[3] > r[1]) {
			return nil, fmt.Errorf("pades: khung chữ ký %v không hợp lệ (the rectangle needs llx < urx and lly < ury)", r)
		}
		if share := pageShare(v, page, r); share > maxWidgetShare {
			// The difference analysis would call a widget this large a
			// change when the next signature is verified.
			return nil, fmt.Errorf("pades: khung chữ ký chiếm %.0f%% trang, tối đa %.0f%% (a visible signature may cover at most a quarter of its page)", 100*share, 100*maxWidgetShare)
		}
		field.Set("Rect", pdf.Array{pdf.Num(r[0]), pdf.Num(r[1]), pdf.Num(r[2]), pdf.Num(r[3])})
		if ap.Build != nil {
			n, err := ap.Build(updateObjects{alloc: alloc, objs: objs})
			if err != nil {
				return nil, fmt.Errorf("pades: building the signature's appearance: %w", err)
			}
			apd := pdf.NewDict()
			apd.Set("N", n)
			field.Set("AP", apd)
		}
	}
	objs[fieldNum] = outObj{0, field}

	signerName := opts.Name
	if signerName == "" && opts.Certificate != nil {
		signerName = opts.Certificate.Subject.CommonName
	}
	placeholder := bytes.Repeat([]byte("0"), 2*cmsSize)
	brPlaceholder := fmt.Sprintf("[0 %*d %*d %*d]", byteRangeWidth, 0, byteRangeWidth, 0, byteRangeWidth, 0)
	sig := pdf.NewDict()
	if sf == SubFilterRFC3161 {
		sig.Set("Type", pdf.Name("DocTimeStamp")) // ISO 32000-2, 12.8.5
	} else {
		sig.Set("Type", pdf.Name("Sig"))
	}
	sig.Set("Filter", pdf.Name("Adobe.PPKLite"))
	sig.Set("SubFilter", pdf.Name(sf))
	sig.Set("ByteRange", pdf.Raw(brPlaceholder))
	sig.Set("Contents", pdf.Raw("<"+string(placeholder)+">"))
	if sf != SubFilterRFC3161 {
		sig.Set("M", pdf.TextString(pdf.FormatDate(at)))
	}
	if signerName != "" {
		sig.Set("Name", pdf.TextString(signerName))
	}
	if opts.Reason != "" {
		sig.Set("Reason", pdf.TextString(opts.Reason))
	}
	if opts.Location != "" {
		sig.Set("Location", pdf.TextString(opts.Location))
	}
	var sigRefs pdf.Array
	if opts.DocMDP > 0 {
		sigRefs = append(sigRefs, sigReference("DocMDP", func(p *pdf.Dict) { p.Set("P", int64(opts.DocMDP)) }))
		perms := pdf.NewDict()
		perms.Set("DocMDP", pdf.Ref{Num: sigNum})
		newCatalog.Set("Perms", perms)
		objs[catRef.Num] = outObj{catGen, newCatalog}
	}
	if len(opts.Lock) > 0 {
		var names pdf.Array
		for _, f := range opts.Lock {
			names = append(names, pdf.TextString(f))
		}
		lock := pdf.NewDict()
		lock.Set("Type", pdf.Name("SigFieldLock"))
		lock.Set("Action", pdf.Name("Include"))
		lock.Set("Fields", names)
		field.Set("Lock", lock)
		sigRefs = append(sigRefs, sigReference("FieldMDP", func(p *pdf.Dict) {
			p.Set("Action", pdf.Name("Include"))
			p.Set("Fields", names)
		}))
	}
	if sigRefs != nil {
		sig.Set("Reference", sigRefs)
	}
	objs[sigNum] = outObj{0, sig}

	data, starts, err := layoutUpdate(doc, tr, catRef, objs, next)
	if err != nil {
		return nil, err
	}
	sigStart := starts[sigNum]
	base := doc.Size
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

// pageShare is the share of the page's /MediaBox (Letter when it has
// none, as the difference analysis assumes) rectangle r covers.
func pageShare(v *pdf.View, page *pdf.Dict, r [4]float64) float64 {
	box := [4]float64{0, 0, 612, 792}
	if o, err := v.Inherited(page, "MediaBox"); err == nil {
		if a, ok := o.(pdf.Array); ok && len(a) == 4 {
			var b [4]float64
			ok := true
			for i, x := range a {
				x, _ = v.Resolve(x, 0)
				f, isNum := pdf.Number(x)
				b[i], ok = f, ok && isNum
			}
			if ok {
				box = b
			}
		}
	}
	area := abs(box[2]-box[0]) * abs(box[3]-box[1])
	if area == 0 {
		return 1
	}
	return abs(r[2]-r[0]) * abs(r[3]-r[1]) / area
}

// outObj is an object an incremental update writes: an old one rewritten
// or a new one.
type outObj struct {
	gen  int
	body pdf.Object
}

// newStream is a stream object an update writes, with its data.
type newStream struct {
	dict *pdf.Dict
	data []byte
}

// layoutUpdate lays out an incremental update after doc: the objects, then
// a cross-reference section of the kind the last one was, whose trailer
// keeps /Root, /Info and /ID and points back with /Prev. next is the first
// unused object number. It returns the update's bytes and where each
// object starts in them.
func layoutUpdate(doc *pdf.Document, tr *pdf.Dict, catRef pdf.Ref, objs map[int]outObj, next int) ([]byte, map[int]int, error) {
	base := doc.Size
	var buf bytes.Buffer
	var last [1]byte
	if doc.Size > 0 {
		if _, err := doc.R.ReadAt(last[:], doc.Size-1); err != nil {
			return nil, nil, fmt.Errorf("pades: reading PDF: %w", err)
		}
		if last[0] != '\n' && last[0] != '\r' {
			buf.WriteByte('\n')
		}
	}
	offsets := make(map[int]pdf.XrefEntry)
	starts := make(map[int]int)
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		o := objs[n]
		starts[n] = buf.Len()
		offsets[n] = pdf.XrefEntry{Kind: 1, Off: base + int64(buf.Len()), Gen: o.gen}
		fmt.Fprintf(&buf, "%d %d obj\n", n, o.gen)
		if st, ok := o.body.(*newStream); ok {
			d := st.dict.Clone()
			d.Set("Length", int64(len(st.data)))
			if err := pdf.WriteObject(&buf, d); err != nil {
				return nil, nil, err
			}
			buf.WriteString("\nstream\n")
			buf.Write(st.data)
			buf.WriteString("\nendstream\nendobj\n")
			continue
		}
		if err := pdf.WriteObject(&buf, o.body); err != nil {
			return nil, nil, err
		}
		buf.WriteString("\nendobj\n")
	}

	prevXref := doc.Sections[0].Offset
	trailer := pdf.NewDict()
	trailer.Set("Size", int64(next))
	trailer.Set("Root", catRef)
	for _, k := range []pdf.Name{"Info", "ID"} {
		if x := tr.Get(k); x != nil {
			trailer.Set(k, x)
		}
	}
	trailer.Set("Prev", prevXref)
	if doc.Sections[0].Stream {
		xrefNum := next
		next++
		trailer.Set("Size", int64(next))
		offsets[xrefNum] = pdf.XrefEntry{Kind: 1, Off: base + int64(buf.Len())}
		pdf.WriteXrefStream(&buf, xrefNum, offsets, trailer)
	} else {
		xrefAt := base + int64(buf.Len())
		pdf.WriteXrefTable(&buf, offsets)
		buf.WriteString("trailer\n")
		if err := pdf.WriteObject(&buf, trailer); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(&buf, "\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	}
	return buf.Bytes(), starts, nil
}

// sigReference is a signature reference dictionary (ISO 32000-1, table
// 253) with the given transform; params fills its /TransformParams.
func sigReference(method pdf.Name, params func(*pdf.Dict)) *pdf.Dict {
	p := pdf.NewDict()
	p.Set("Type", pdf.Name("TransformParams"))
	params(p)
	p.Set("V", pdf.Name("1.2"))
	r := pdf.NewDict()
	r.Set("Type", pdf.Name("SigRef"))
	r.Set("TransformMethod", method)
	r.Set("TransformParams", p)
	return r
}
