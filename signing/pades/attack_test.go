package pades_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf"
	"github.com/lienthong/lienthong/signing/pdf/pdftest"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/revocation"
)

// The attack corpus: each attack of issue 13 (cases 1-7, with variants
// from the published families: incremental saving, signature wrapping,
// shadow hide/replace/hide-and-replace, certification attacks) and benign
// controls, built from a document signed by the leader (Sign, or pdfsig),
// changed by an incremental update, then sealed by a clerk's signature
// that covers the whole file. TestAttacks builds and checks them live;
// with -update it also writes them to testdata/attacks with
// expected.json, which TestAttackCorpus checks.

var updateCorpus = flag.Bool("update", false, "rewrite testdata/attacks from the attack builders")

const corpusDir = "testdata/attacks"

// sigWant is the expected outcome of one signature.
type sigWant struct {
	Field         string             `json:"field"`
	Indication    etsi.Indication    `json:"indication"`
	SubIndication etsi.SubIndication `json:"sub_indication,omitempty"`
	Changes       []string           `json:"changes,omitempty"`
}

// corpusEntry is one file of the corpus and what Verify must say.
type corpusEntry struct {
	File       string        `json:"file"`
	Case       string        `json:"case"`
	About      string        `json:"about"`
	Verdict    pades.Verdict `json:"verdict"`
	Signatures []sigWant     `json:"signatures"`
	// CRLs are PEM files beside the PDF that Verify is given
	// (VerifyOptions.CRLs), for the revocation cases.
	CRLs []string `json:"crls,omitempty"`
}

// corpus is expected.json: the validation time and trust roots the files
// are checked with, and the files.
type corpus struct {
	Now   time.Time     `json:"now"`
	Roots string        `json:"roots"`
	Files []corpusEntry `json:"files"`
	// TSARoots and CRLs, when named, are the TSA anchors and the CRLs
	// the files are checked with (expected-time.json).
	TSARoots string `json:"tsa_roots,omitempty"`
	CRLs     string `json:"crls,omitempty"`
}

func passed(field string) sigWant {
	return sigWant{Field: field, Indication: etsi.TotalPassed}
}

func modified(field string, changes ...string) sigWant {
	return sigWant{Field: field, Indication: etsi.TotalFailed, SubIndication: etsi.SigConstraintsFailure, Changes: changes}
}

// kit builds the documents of the corpus.
type kit struct {
	top *testing.T // owns the NSS database
	p   *testPKI
	nss string // NSS database holding the pdfsig leader's key, made on first use
}

const forged = "BT /F1 18 Tf 72 770 Td (Cong van so 999/GIA-MAO: chi 9.999.000.000 dong) Tj ET"

func (k *kit) sample(t *testing.T, xrefStream bool) []byte { return sample(t, xrefStream) }

// leader signs as the agency's leader (Sign, CAdES, ECDSA).
func (k *kit) leader(t *testing.T, doc []byte) []byte {
	return sign(t, doc, k.p.person.opts(pades.SubFilterCAdES, k.p.now))
}

// certify signs as the leader with a certification of level docMDP,
// locking the fields named.
func (k *kit) certify(t *testing.T, doc []byte, docMDP int, lock ...string) []byte {
	o := k.p.person.opts(pades.SubFilterCAdES, k.p.now)
	o.DocMDP, o.Lock = docMDP, lock
	return sign(t, doc, o)
}

// pdfsigLeader signs as the leader with poppler's pdfsig (RSA, PKCS#7).
func (k *kit) pdfsigLeader(t *testing.T, doc []byte) []byte {
	t.Helper()
	needTools(t, "pdfsig", "certutil", "pk12util", "openssl")
	if k.nss == "" {
		k.nss = nssDB(k.top, []*x509.Certificate{k.p.root.Cert}, &k.p.personRSA)
	}
	in := writeTemp(t, "in.pdf", doc)
	out := filepath.Join(t.TempDir(), "out.pdf")
	pdfsigSign(t, k.nss, in, out, "-new-signature-field-name", "Leader")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seal adds the clerk's seal over the whole file. It uses the unchecked
// signer, as an attacker's tool would; when refuse is set the checked
// Sign (what ltnode sign runs) must refuse to seal the same input.
func (k *kit) seal(t *testing.T, doc []byte, refuse bool) []byte {
	t.Helper()
	o := k.p.seal.opts(pades.SubFilterCAdES, k.p.now)
	o.FieldName = "Seal"
	err := pades.Sign(io.Discard, bytes.NewReader(doc), int64(len(doc)), o)
	if refuse != errors.Is(err, pades.ErrRefused) {
		t.Errorf("Sign before the seal: %v, want refused %v", err, refuse)
	}
	return signUnchecked(t, doc, o)
}

func refStr(r pdf.Ref) string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

func obj(r pdf.Ref) string { return fmt.Sprintf("%d %d obj", r.Num, r.Gen) }

// contentOf returns the raw content stream data of the first page.
func contentOf(t *testing.T, d *pdftest.Doc) (pdf.Ref, string) {
	t.Helper()
	c := pdftest.Ref(t, d.Page, "Contents")
	o, err := d.V.Resolve(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := o.(*pdf.Stream)
	n, err := d.V.RawLength(st)
	if err != nil {
		t.Fatal(err)
	}
	return c, string(d.Bytes[st.DataOff : st.DataOff+n])
}

// fontRef returns the first page's /F1 font.
func fontRef(t *testing.T, d *pdftest.Doc) pdf.Ref {
	t.Helper()
	res, err := d.V.Dict(d.Page.Get("Resources"))
	if err != nil {
		t.Fatal(err)
	}
	fonts, err := d.V.Dict(res.Get("Font"))
	if err != nil {
		t.Fatal(err)
	}
	return pdftest.Ref(t, fonts, "F1")
}

// withForm adds, before anyone signs, an indirect AcroForm with a text
// field "SoTien" = 100 (merged with its widget on page 1) and returns the
// document, the AcroForm's and the field's numbers.
func withForm(t *testing.T, doc []byte) ([]byte, int, int) {
	t.Helper()
	u := pdftest.Append(t, doc)
	b := u.Base()
	n := b.NextNum()
	acro, field, ap := n, n+1, n+2
	font := fontRef(t, b)
	u.Set(acro, fmt.Sprintf("<< /Fields [%d 0 R] /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 %s >> >> >>", field, refStr(font)))
	u.Set(field, fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx /T (SoTien) /V (100) /DA (/F1 12 Tf 0 g) /Rect [72 600 272 620] /F 4 /P %s /AP << /N %d 0 R >> >>", refStr(b.PageRef), ap))
	u.Set(ap, pdftest.Stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /F1 %s >> >>", refStr(font)), "/Tx BMC BT /F1 12 Tf 2 5 Td (100) Tj ET EMC"))
	page := b.Page.Clone()
	page.Set("Annots", pdf.Array{pdf.Ref{Num: field}})
	u.SetObject(b.PageRef.Num, page)
	cat := b.Catalog.Clone()
	cat.Set("AcroForm", pdf.Ref{Num: acro})
	u.SetObject(b.CatalogRef.Num, cat)
	return u.Bytes(), acro, field
}

// fill gives field the value v, with a new appearance.
func fill(t *testing.T, doc []byte, field int, v string) []byte {
	t.Helper()
	u := pdftest.Append(t, doc)
	b := u.Base()
	f := b.Dict(t, field).Clone()
	f.Set("V", pdf.TextString(v))
	ap := b.NextNum()
	apd := pdf.NewDict()
	apd.Set("N", pdf.Ref{Num: ap})
	f.Set("AP", apd)
	u.SetObject(field, f)
	u.Set(ap, pdftest.Stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /F1 %s >> >>", refStr(fontRef(t, b))), "/Tx BMC BT /F1 12 Tf 2 5 Td ("+v+") Tj ET EMC"))
	return u.Bytes()
}

// addAnnot adds a FreeText annotation to page 1 and returns the update
// and the annotation's number.
func addAnnot(t *testing.T, doc []byte) ([]byte, int) {
	t.Helper()
	u := pdftest.Append(t, doc)
	b := u.Base()
	n := b.NextNum()
	u.Set(n, fmt.Sprintf("<< /Type /Annot /Subtype /FreeText /Rect [72 700 400 740] /Contents (Da duyet chi 9.999.000.000 dong) /DA (/Helv 14 Tf 0 g) /P %s >>", refStr(b.PageRef)))
	annots, _ := b.V.Array(b.Page.Get("Annots"))
	page := b.Page.Clone()
	page.Set("Annots", append(append(pdf.Array(nil), annots...), pdf.Ref{Num: n}))
	u.SetObject(b.PageRef.Num, page)
	return u.Bytes(), n
}

// addSigField adds an unsigned signature field with a widget at rect on
// page 1, drawing over it; returns the update and the field's number.
func addSigField(t *testing.T, doc []byte, name string, rect [4]int, withAP bool) ([]byte, int) {
	t.Helper()
	u := pdftest.Append(t, doc)
	b := u.Base()
	n := b.NextNum()
	ap := ""
	if withAP {
		ap = fmt.Sprintf(" /AP << /N %d 0 R >>", n+1)
		w, h := rect[2]-rect[0], rect[3]-rect[1]
		u.Set(n+1, pdftest.Stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 %d %d] /Resources << /Font << /F1 %s >> >>", w, h, refStr(fontRef(t, b))),
			fmt.Sprintf("1 1 1 rg 0 0 %d %d re f BT /F1 18 Tf 10 %d Td (Cong van so 999/GIA-MAO) Tj ET", w, h, h-30)))
	}
	u.Set(n, fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s) /Rect [%d %d %d %d] /F 4 /P %s%s >>", name, rect[0], rect[1], rect[2], rect[3], refStr(b.PageRef), ap))
	annots, _ := b.V.Array(b.Page.Get("Annots"))
	page := b.Page.Clone()
	page.Set("Annots", append(append(pdf.Array(nil), annots...), pdf.Ref{Num: n}))
	u.SetObject(b.PageRef.Num, page)
	acroRef, isRef := b.Catalog.Get("AcroForm").(pdf.Ref)
	if !isRef {
		t.Fatal("addSigField: the AcroForm is not an indirect object")
	}
	acro := b.Dict(t, acroRef.Num).Clone()
	fields, _ := b.V.Array(acro.Get("Fields"))
	acro.Set("Fields", append(append(pdf.Array(nil), fields...), pdf.Ref{Num: n}))
	u.SetObject(acroRef.Num, acro)
	return u.Bytes(), n
}

// lastField returns the number of the last field of the AcroForm.
func lastField(t *testing.T, doc []byte) int {
	t.Helper()
	d := pdftest.Load(t, doc)
	acro, err := d.V.Dict(d.Catalog.Get("AcroForm"))
	if err != nil || acro == nil {
		t.Fatalf("AcroForm: %v", err)
	}
	fields, _ := d.V.Array(acro.Get("Fields"))
	r, ok := fields[len(fields)-1].(pdf.Ref)
	if !ok {
		t.Fatal("the last field is not a reference")
	}
	return r.Num
}

// attack is one file of the corpus: build returns the file, the verdict
// and each signature's expected outcome.
type attack struct {
	file, caseNo, about string
	build               func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant)
}

// replaceContent: the leader signs, the page content is replaced (the
// trailer naming it /Info when info is set), the clerk seals.
func replaceContent(leader func(*testing.T, *kit, []byte) []byte, field string, xrefStream, info bool) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		signed := leader(t, k, k.sample(t, xrefStream))
		u := pdftest.Append(t, signed)
		c, _ := contentOf(t, u.Base())
		u.Set(c.Num, pdftest.Stream("", forged))
		if info {
			u.Trailer("Info", refStr(c))
		}
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified(field, obj(c)+" (page 1 /Contents): content stream changed"), passed("Seal")}
	}
}

func ourLeader(t *testing.T, k *kit, doc []byte) []byte    { return k.leader(t, doc) }
func pdfsigLeader(t *testing.T, k *kit, doc []byte) []byte { return k.pdfsigLeader(t, doc) }

// metadataContent: before signing, the page content stream declares
// /Type /Metadata (and, with alsoMetadata, the catalog names it as its
// XMP metadata too); after signing it is rewritten.
func metadataContent(leader func(*testing.T, *kit, []byte) []byte, field string, alsoMetadata bool) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.sample(t, false))
		c, data := contentOf(t, u.Base())
		u.Set(c.Num, pdftest.Stream("/Type /Metadata /Subtype /XML", data))
		if alsoMetadata {
			cat := u.Base().Catalog.Clone()
			cat.Set("Metadata", c)
			u.SetObject(u.Base().CatalogRef.Num, cat)
		}
		signed := leader(t, k, u.Bytes())
		a := pdftest.Append(t, signed)
		a.Set(c.Num, pdftest.Stream("/Type /Metadata /Subtype /XML", forged))
		return k.seal(t, a.Bytes(), true), pades.VerdictModified, []sigWant{
			modified(field, obj(c)+" (page 1 /Contents): content stream changed"), passed("Seal")}
	}
}

// danglingXObject: the signed page draws /X9, an XObject that does not
// exist; the update creates it.
func danglingXObject(leader func(*testing.T, *kit, []byte) []byte, field string) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.sample(t, false))
		b := u.Base()
		x := b.NextNum() + 50
		c, data := contentOf(t, b)
		u.Set(c.Num, pdftest.Stream("", data+"\nq /X9 Do Q"))
		page := b.Page.Clone()
		page.Set("Resources", mustParse(t, fmt.Sprintf("<< /Font << /F1 %s >> /XObject << /X9 %d 0 R >> >>", refStr(fontRef(t, b)), x)))
		u.SetObject(b.PageRef.Num, page)
		u.Trailer("Size", fmt.Sprint(x+1))
		signed := leader(t, k, u.Bytes())
		a := pdftest.Append(t, signed)
		a.Set(x, pdftest.Stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 %s >> >>", refStr(fontRef(t, b))), "1 1 1 rg 0 700 595 142 re f 0 g "+forged))
		return k.seal(t, a.Bytes(), true), pades.VerdictModified, []sigWant{
			modified(field, fmt.Sprintf("%d 0 obj (page 1 /Resources /XObject /X9): object added where the signed revision had none", x)), passed("Seal")}
	}
}

// mustParse parses one direct object.
func mustParse(t *testing.T, s string) pdf.Object {
	t.Helper()
	doc := []byte("%PDF-1.4\n1 0 obj\n" + s + "\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n")
	doc = fmt.Appendf(doc, "%d\n%%%%EOF\n", bytes.Index(doc, []byte("xref")))
	d, err := pdf.Open(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := d.Latest().Get(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// hiddenXref plants, before the leader signs, a cross-reference table in
// a stream that nothing uses, naming page 1's content at an offset past
// the end of the signed bytes and the leader's section as /Prev; after
// signing the content is appended there and startxref points at the
// planted table (viaSection: an appended section's /Prev does).
func hiddenXref(viaSection bool) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		base := k.sample(t, false)
		b := pdftest.Load(t, base)
		c, _ := contentOf(t, b)
		planted := func(objOff, prev int64) string {
			return fmt.Sprintf("xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \ntrailer\n<< /Size 60 /Root %s /Prev %010d >>\n", c.Num, objOff, refStr(b.CatalogRef), prev)
		}
		build := func(objOff, prev int64) []byte {
			return pdftest.Append(t, base).Set(b.NextNum(), pdftest.Stream("", planted(objOff, prev))).Bytes()
		}
		const pad = 64
		trial := k.leader(t, build(0, 0))
		end := int64(len(trial))
		prev := pdftest.Load(t, trial).StartXref()
		doc := build(end+pad, prev)
		signed := k.leader(t, doc)
		if int64(len(signed)) != end || pdftest.Load(t, signed).StartXref() != prev {
			t.Fatal("hiddenXref: the signature's layout moved")
		}
		x := int64(bytes.Index(signed[len(base):], []byte(fmt.Sprintf("xref\n0 1\n0000000000 65535 f \n%d 1\n", c.Num)))) + int64(len(base))
		a := pdftest.Append(t, signed).Pad(pad).Set(c.Num, pdftest.Stream("", forged))
		var out []byte
		if viaSection {
			out = a.Prev(x).Bytes()
		} else {
			out = a.OnlyStartXref(x).Bytes()
		}
		return k.seal(t, out, true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("cross-reference section at offset %d: lies inside the signed bytes (a hidden update)", x)), passed("Seal")}
	}
}

// reroutedPrev: the author corrects the draft in an update, the leader
// signs; the attacker's update re-declares the leader's objects but sends
// /Prev to the draft, skipping the correction.
func reroutedPrev(leader func(*testing.T, *kit, []byte) []byte, field string) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		draft := k.sample(t, false)
		d := pdftest.Load(t, draft)
		u := pdftest.Append(t, draft)
		c, _ := contentOf(t, d)
		u.Set(c.Num, pdftest.Stream("", "BT /F1 18 Tf 72 770 Td (Cong van so 123/UBND-VP: chi 100.000 dong) Tj ET"))
		signed := leader(t, k, u.Bytes())
		s := pdftest.Load(t, signed)
		a := pdftest.Append(t, signed).Prev(d.StartXref())
		for num, e := range s.Doc.Sections[0].Entries {
			if e.Kind == 1 {
				a.Entry(num, e.Off)
			}
		}
		return k.seal(t, a.Bytes(), true), pades.VerdictModified, []sigWant{
			modified(field, fmt.Sprintf("cross-reference chain: skips the signed revision's section at offset %d (/Prev re-routed)", s.StartXref())), passed("Seal")}
	}
}

// repointedAcroForm: the catalog's indirect /AcroForm re-pointed to a new
// dictionary with /NeedAppearances, another /DA and a new field replacing
// the signed one.
func repointedAcroForm(leader func(*testing.T, *kit, []byte) []byte, field string) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, acro, fieldNum := withForm(t, k.sample(t, false))
		signed := leader(t, k, doc)
		u := pdftest.Append(t, signed)
		b := u.Base()
		n := b.NextNum()
		old := b.Dict(t, acro)
		fields, _ := b.V.Array(old.Get("Fields"))
		nf := pdf.Array{pdf.Ref{Num: n + 1}}
		for _, f := range fields {
			if f != (pdf.Ref{Num: fieldNum}) {
				nf = append(nf, f)
			}
		}
		na := old.Clone()
		na.Set("Fields", nf)
		na.Set("NeedAppearances", true)
		na.Set("DA", pdf.TextString("/F1 0 Tf 1 0 0 rg"))
		u.SetObject(n, na)
		f := b.Dict(t, fieldNum).Clone()
		f.Set("V", pdf.TextString("9.999.000.000"))
		u.SetObject(n+1, f)
		cat := b.Catalog.Clone()
		cat.Set("AcroForm", pdf.Ref{Num: n})
		u.SetObject(b.CatalogRef.Num, cat)
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified(field, fmt.Sprintf("%d 0 obj (AcroForm): /NeedAppearances added", n), fmt.Sprintf("%d 0 obj (AcroForm /Fields form field \"SoTien\"): added", n+1)), passed("Seal")}
	}
}

// fullPageWidget: an unsigned signature field added after the leader
// signed, its widget's appearance covering page 1.
func fullPageWidget(leader func(*testing.T, *kit, []byte) []byte, field string) func(*testing.T, *kit) ([]byte, pades.Verdict, []sigWant) {
	return func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		out, n := addSigField(t, leader(t, k, k.sample(t, false)), "Overlay", [4]int{0, 0, 595, 842}, true)
		return k.seal(t, out, true), pades.VerdictModified, []sigWant{
			modified(field, fmt.Sprintf("%d 0 obj (AcroForm /Fields signature field \"Overlay\"): added, its widget covers 100%% of the page", n)), passed("Seal")}
	}
}

// attacks is the corpus; the file names say the case.
var attacks = []attack{
	{"c1-info-content.pdf", "1", "page content replaced, the trailer naming it /Info", replaceContent(ourLeader, "Signature1", false, true)},
	{"c1-info-content-xrefstream.pdf", "1", "the same on a document with cross-reference streams", replaceContent(ourLeader, "Signature1", true, true)},
	{"c1-info-content-pdfsig.pdf", "1", "the same over a pdfsig signature", replaceContent(pdfsigLeader, "Leader", false, true)},
	{"c1-info-font.pdf", "1", "the page's font replaced, the trailer naming it /Info", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		signed := k.leader(t, k.sample(t, false))
		u := pdftest.Append(t, signed)
		f := fontRef(t, u.Base())
		u.Set(f.Num, "<< /Type /Font /Subtype /Type1 /BaseFont /Symbol >>").Trailer("Info", refStr(f))
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", obj(f)+" (page 1 /Resources /Font /F1 /BaseFont): changed"), passed("Seal")}
	}},
	{"inc-content-replaced.pdf", "1", "incremental saving: page content replaced, nothing disguised", replaceContent(ourLeader, "Signature1", false, false)},
	{"c2-metadata-typed-content.pdf", "2", "content stream declaring /Type /Metadata rewritten", metadataContent(ourLeader, "Signature1", false)},
	{"c2-metadata-typed-content-catalog.pdf", "2", "the same stream also the catalog's /Metadata", metadataContent(ourLeader, "Signature1", true)},
	{"c2-metadata-typed-content-pdfsig.pdf", "2", "the same over a pdfsig signature", metadataContent(pdfsigLeader, "Leader", false)},
	{"c3-hidden-xref.pdf", "3", "startxref names a cross-reference table planted inside the signed bytes", hiddenXref(false)},
	{"c3-prev-into-signed-bytes.pdf", "3", "an appended section's /Prev names a table planted inside the signed bytes", hiddenXref(true)},
	{"c3-prev-rerouted.pdf", "3", "/Prev re-routed past the signed revision to the draft", reroutedPrev(ourLeader, "Signature1")},
	{"c3-prev-rerouted-pdfsig.pdf", "3", "the same over a pdfsig signature", reroutedPrev(pdfsigLeader, "Leader")},
	{"c4-dangling-xobject.pdf", "4", "an XObject the signed page draws but did not exist is created", danglingXObject(ourLeader, "Signature1")},
	{"c4-dangling-xobject-pdfsig.pdf", "4", "the same over a pdfsig signature", danglingXObject(pdfsigLeader, "Leader")},
	{"c4-dangling-offset.pdf", "4", "the signed revision's xref places a drawn XObject past the end of the signed bytes, where it is appended later", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		base := k.sample(t, false)
		b := pdftest.Load(t, base)
		x := b.NextNum() + 50
		build := func(off int64) []byte {
			u := pdftest.Append(t, base)
			c, data := contentOf(t, b)
			u.Set(c.Num, pdftest.Stream("", data+"\nq /X9 Do Q"))
			page := b.Page.Clone()
			page.Set("Resources", mustParse(t, fmt.Sprintf("<< /Font << /F1 %s >> /XObject << /X9 %d 0 R >> >>", refStr(fontRef(t, b)), x)))
			u.SetObject(b.PageRef.Num, page)
			return u.Entry(x, off).Bytes()
		}
		const pad = 64
		end := int64(len(k.leader(t, build(0))))
		signed := k.leader(t, build(end+pad))
		if int64(len(signed)) != end {
			t.Fatal("the signature's layout moved")
		}
		a := pdftest.Append(t, signed).Pad(pad).Set(x, pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842]", "1 1 1 rg 0 700 595 142 re f")).OnlyStartXref(pdftest.Load(t, signed).StartXref())
		return k.seal(t, a.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (page 1 /Resources /XObject /X9): object added where the signed revision had none", x)), passed("Seal")}
	}},
	{"c4-dangling-annotation.pdf", "4", "a dangling /Annots entry filled with a FreeText annotation", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.sample(t, false))
		b := u.Base()
		n := b.NextNum() + 50
		page := b.Page.Clone()
		page.Set("Annots", pdf.Array{pdf.Ref{Num: n}})
		u.SetObject(b.PageRef.Num, page).Trailer("Size", fmt.Sprint(n+1))
		signed := k.leader(t, u.Bytes())
		a := pdftest.Append(t, signed).Set(n, fmt.Sprintf("<< /Type /Annot /Subtype /FreeText /Rect [0 700 595 842] /Contents (Chi 9.999.000.000 dong) /DA (/Helv 18 Tf 0 g) /P %s >>", refStr(b.PageRef)))
		return k.seal(t, a.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (page 1 /Annots /FreeText annotation): added; annotations need a certification that allows them (DocMDP P=3)", n)), passed("Seal")}
	}},
	{"c5-acroform-repointed.pdf", "5", "the catalog's indirect /AcroForm re-pointed to a new one (NeedAppearances, /DA, a new field with another value)", repointedAcroForm(ourLeader, "Signature1")},
	{"c5-acroform-repointed-pdfsig.pdf", "5", "the same over a pdfsig signature", repointedAcroForm(pdfsigLeader, "Leader")},
	{"c5-field-filled.pdf", "5", "a form field filled in after an approval signature", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, _, field := withForm(t, k.sample(t, false))
		out := fill(t, k.leader(t, doc), field, "9.999.000.000")
		return k.seal(t, out, true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /Fields form field \"SoTien\"): filled in; form filling needs a certification that allows it (DocMDP P=2 or 3)", field)), passed("Seal")}
	}},
	{"c5-needappearances.pdf", "5", "/NeedAppearances set in the signed AcroForm", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, acro, _ := withForm(t, k.sample(t, false))
		u := pdftest.Append(t, k.leader(t, doc))
		a := u.Base().Dict(t, acro).Clone()
		a.Set("NeedAppearances", true)
		u.SetObject(acro, a)
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm): /NeedAppearances added", acro)), passed("Seal")}
	}},
	{"c5-da-changed.pdf", "5", "the AcroForm's default appearance /DA changed", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, acro, _ := withForm(t, k.sample(t, false))
		u := pdftest.Append(t, k.leader(t, doc))
		a := u.Base().Dict(t, acro).Clone()
		a.Set("DA", pdf.TextString("/F1 0 Tf 1 1 1 rg"))
		u.SetObject(acro, a)
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /DA): changed", acro)), passed("Seal")}
	}},
	{"c6-fullpage-sig-widget.pdf", "6", "an unsigned signature field whose widget's appearance covers the page", fullPageWidget(ourLeader, "Signature1")},
	{"c6-fullpage-sig-widget-pdfsig.pdf", "6", "the same over a pdfsig signature", fullPageWidget(pdfsigLeader, "Leader")},
	{"c6-empty-sig-field-appearance.pdf", "6", "an empty signature field in the signed revision given a page-size appearance", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, _, _ := withForm(t, k.sample(t, false))
		doc, n := addSigField(t, doc, "Empty", [4]int{0, 0, 595, 842}, false)
		u := pdftest.Append(t, k.leader(t, doc))
		b := u.Base()
		f := b.Dict(t, n).Clone()
		ap := b.NextNum()
		apd := pdf.NewDict()
		apd.Set("N", pdf.Ref{Num: ap})
		f.Set("AP", apd)
		u.SetObject(n, f)
		u.Set(ap, pdftest.Stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 %s >> >>", refStr(fontRef(t, b))), "1 1 1 rg 0 0 595 842 re f 0 g "+forged))
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /Fields signature field \"Empty\"): /AP changed", n)), passed("Seal")}
	}},
	{"c7-docmdp-p1-then-signed.pdf", "7", "a certification with DocMDP P=1, then another signature", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		signed := k.certify(t, k.sample(t, false), 1)
		out := k.seal(t, signed, true)
		return out, pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /Fields signature field \"Seal\"): added; the certification by signature \"Signature1\" (DocMDP P=1) allows no changes", lastField(t, out))), passed("Seal")}
	}},
	{"c7-docmdp-p1-then-pdfsig.pdf", "7", "a certification with DocMDP P=1, then a pdfsig signature", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		out := k.pdfsigLeader(t, k.certify(t, k.sample(t, false), 1))
		return out, pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /Fields signature field \"Leader\"): added; the certification by signature \"Signature1\" (DocMDP P=1) allows no changes", lastField(t, out))), passed("Leader")}
	}},
	{"c7-docmdp-p1-filled.pdf", "7", "a certification with DocMDP P=1, then a form field filled in", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, _, field := withForm(t, k.sample(t, false))
		out := k.seal(t, fill(t, k.certify(t, doc, 1), field, "9.999.000.000"), true)
		return out, pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /Fields form field \"SoTien\"): the certification by signature \"Signature1\" (DocMDP P=1) allows no changes", field),
				fmt.Sprintf("%d 0 obj (AcroForm /Fields signature field \"Seal\"): added; the certification by signature \"Signature1\" (DocMDP P=1) allows no changes", lastField(t, out))), passed("Seal")}
	}},
	{"c7-docmdp-p2-annotation.pdf", "7", "a certification with DocMDP P=2, then an annotation added", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		out, n := addAnnot(t, k.certify(t, k.sample(t, false), 2))
		return k.seal(t, out, true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (page 1 /Annots /FreeText annotation): added; annotations need a certification that allows them (DocMDP P=3)", n)), passed("Seal")}
	}},
	{"c7-fieldmdp-locked-filled.pdf", "7", "a certification with DocMDP P=2 locking the field (FieldMDP), then the field filled in", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, _, field := withForm(t, k.sample(t, false))
		out := fill(t, k.certify(t, doc, 2, "SoTien"), field, "9.999.000.000")
		return k.seal(t, out, true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (AcroForm /Fields form field \"SoTien\"): filled in, but signature \"Signature1\" locks it (FieldMDP)", field)), passed("Seal")}
	}},
	{"inc-page-added.pdf", "inc", "incremental saving: a page added", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		b := u.Base()
		n := b.NextNum()
		pagesRef := pdftest.Ref(t, b.Catalog, "Pages")
		pages := b.Dict(t, pagesRef.Num).Clone()
		kids, _ := b.V.Array(pages.Get("Kids"))
		pages.Set("Kids", append(append(pdf.Array(nil), kids...), pdf.Ref{Num: n}))
		pages.Set("Count", int64(len(kids)+1))
		u.SetObject(pagesRef.Num, pages)
		u.Set(n, fmt.Sprintf("<< /Type /Page /Parent %s /MediaBox [0 0 595 842] /Resources << /Font << /F1 %s >> >> /Contents %d 0 R >>", refStr(pagesRef), refStr(fontRef(t, b)), n+1))
		u.Set(n+1, pdftest.Stream("", forged))
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", obj(pagesRef)+" (catalog /Pages /Count): changed"), passed("Seal")}
	}},
	{"inc-openaction.pdf", "inc", "incremental saving: an /OpenAction added to the catalog", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		b := u.Base()
		cat := b.Catalog.Clone()
		cat.Set("OpenAction", mustParse(t, "<< /S /JavaScript /JS (app.alert('ok')) >>"))
		u.SetObject(b.CatalogRef.Num, cat)
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", obj(b.CatalogRef)+" (catalog): /OpenAction added"), passed("Seal")}
	}},
	{"inc-annotation-added.pdf", "inc", "an annotation added after an approval signature", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		out, n := addAnnot(t, k.leader(t, k.sample(t, false)))
		return k.seal(t, out, true), pades.VerdictModified, []sigWant{
			modified("Signature1", fmt.Sprintf("%d 0 obj (page 1 /Annots /FreeText annotation): added; annotations need a certification that allows them (DocMDP P=3)", n)), passed("Seal")}
	}},
	{"inc-content-freed.pdf", "inc", "the page content object freed", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		c, _ := contentOf(t, u.Base())
		u.Free(c.Num)
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", obj(c)+" (page 1 /Contents): object deleted"), passed("Seal")}
	}},
	{"inc-catalog-replaced.pdf", "inc", "the trailer's /Root pointed at a new catalog", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		b := u.Base()
		n := b.NextNum()
		u.SetObject(n, b.Catalog.Clone()).Trailer("Root", fmt.Sprintf("%d 0 R", n))
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", "trailer (trailer /Root): document catalog replaced"), passed("Seal")}
	}},
	{"shadow-overlay-resource.pdf", "shadow", "shadow replace: an overlay XObject added to the page's resources and drawn", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		b := u.Base()
		page := b.Page.Clone()
		page.Set("Resources", mustParse(t, fmt.Sprintf("<< /Font << /F1 %s >> /XObject << /X1 %d 0 R >> >>", refStr(fontRef(t, b)), b.NextNum())))
		u.SetObject(b.PageRef.Num, page)
		u.Set(b.NextNum(), pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842]", "1 1 1 rg 0 0 595 842 re f"))
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", obj(b.PageRef)+" (page 1 /Resources): /XObject added"), passed("Seal")}
	}},
	{"names-javascript.pdf", "inc", "document-level JavaScript added through /Names", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		b := u.Base()
		cat := b.Catalog.Clone()
		cat.Set("Names", mustParse(t, "<< /JavaScript << /Names [(a) << /S /JavaScript /JS (this.print()) >>] >> >>"))
		u.SetObject(b.CatalogRef.Num, cat)
		return k.seal(t, u.Bytes(), true), pades.VerdictModified, []sigWant{
			modified("Signature1", obj(b.CatalogRef)+" (catalog): /Names added"), passed("Seal")}
	}},

	// Benign controls: all TOTAL-PASSED.
	{"ok-two-signatures.pdf", "benign", "leader then seal", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		return k.seal(t, k.leader(t, k.sample(t, false)), false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-two-signatures-xrefstream.pdf", "benign", "leader then seal, cross-reference streams", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		return k.seal(t, k.leader(t, k.sample(t, true)), false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-three-signatures.pdf", "benign", "leader, seal, second seal", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		two := k.seal(t, k.leader(t, k.sample(t, false)), false)
		return sign(t, two, k.p.sealEC.opts(pades.SubFilterPKCS7, k.p.now)), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal"), passed("Signature2")}
	}},
	{"ok-pdfsig-then-seal.pdf", "benign", "pdfsig leader, then our seal", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		return k.seal(t, k.pdfsigLeader(t, k.sample(t, false)), false), pades.VerdictValid, []sigWant{passed("Leader"), passed("Seal")}
	}},
	{"ok-info-changed.pdf", "benign", "the /Info dictionary's title changed", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		info := pdftest.Ref(t, u.Base().V.Trailer(), "Info")
		u.Set(info.Num, "<< /Title (Cong van so 123/UBND-VP, ban chinh) /Producer (lienthong samplepdf) >>")
		return k.seal(t, u.Bytes(), false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-xmp-metadata-added.pdf", "benign", "an XMP metadata stream added to the catalog", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		u := pdftest.Append(t, k.leader(t, k.sample(t, false)))
		b := u.Base()
		n := b.NextNum()
		cat := b.Catalog.Clone()
		cat.Set("Metadata", pdf.Ref{Num: n})
		u.SetObject(b.CatalogRef.Num, cat)
		u.Set(n, pdftest.Stream("/Type /Metadata /Subtype /XML", `<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>`))
		return k.seal(t, u.Bytes(), false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-sig-field-added.pdf", "benign", "an empty signature field with a small widget added", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		out, _ := addSigField(t, k.leader(t, k.sample(t, false)), "ChoKy", [4]int{350, 40, 550, 100}, true)
		return k.seal(t, out, false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-docmdp-p2-signed.pdf", "benign", "a certification with DocMDP P=2, then another signature", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		return k.seal(t, k.certify(t, k.sample(t, false), 2), false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-docmdp-p2-filled.pdf", "benign", "a certification with DocMDP P=2, then a form field filled in", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, _, field := withForm(t, k.sample(t, false))
		out := fill(t, k.certify(t, doc, 2), field, "250.000")
		return k.seal(t, out, false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-fieldmdp-other-field-filled.pdf", "benign", "DocMDP P=2 locking another field, then this one filled in", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		doc, _, field := withForm(t, k.sample(t, false))
		out := fill(t, k.certify(t, doc, 2, "NgayKy"), field, "250.000")
		return k.seal(t, out, false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
	{"ok-docmdp-p3-annotation.pdf", "benign", "a certification with DocMDP P=3, then an annotation added", func(t *testing.T, k *kit) ([]byte, pades.Verdict, []sigWant) {
		out, _ := addAnnot(t, k.certify(t, k.sample(t, false), 3))
		return k.seal(t, out, false), pades.VerdictValid, []sigWant{passed("Signature1"), passed("Seal")}
	}},
}

// checkReport compares a report with the expected outcome.
func checkReport(t *testing.T, rep *pades.Report, verdict pades.Verdict, sigs []sigWant) {
	t.Helper()
	var got []sigWant
	for _, s := range rep.Signatures {
		got = append(got, sigWant{Field: s.Field, Indication: s.Indication, SubIndication: s.SubIndication, Changes: s.Changes})
	}
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(sigs, "", " ")
	if rep.Verdict != verdict || !bytes.Equal(g, w) {
		var problems []string
		for _, s := range rep.Signatures {
			problems = append(problems, s.Problems...)
		}
		t.Errorf("verdict %s, want %s\n got %s\nwant %s\nproblems %q", rep.Verdict, verdict, g, w, problems)
	}
}

// TestAttacks builds every file of the corpus with a fresh PKI and checks
// the verdict, indication, sub-indication and changed objects of each
// signature; with -update it rewrites testdata/attacks.
func TestAttacks(t *testing.T) {
	k := &kit{top: t, p: newTestPKI(t)}
	opts := k.p.verifyOptions()
	c := corpus{Now: opts.Now().UTC(), Roots: "roots.pem"}
	for _, a := range attacks {
		t.Run(strings.TrimSuffix(a.file, ".pdf"), func(t *testing.T) {
			doc, verdict, sigs := a.build(t, k)
			rep := verify(t, doc, opts)
			checkReport(t, rep, verdict, sigs)
			c.Files = append(c.Files, corpusEntry{File: a.file, Case: a.caseNo, About: a.about, Verdict: verdict, Signatures: sigs})
			if *updateCorpus {
				if err := os.WriteFile(filepath.Join(corpusDir, a.file), doc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if !*updateCorpus {
		return
	}
	if err := os.WriteFile(filepath.Join(corpusDir, c.Roots), pki.CertPEM(k.p.root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpusDir, "expected.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAttackCorpus verifies the files under testdata/attacks against
// every expected*.json there (expected.json is this file's; other parts of
// the verifier add their own, each with its roots and validation time).
func TestAttackCorpus(t *testing.T) {
	lists, err := filepath.Glob(filepath.Join(corpusDir, "expected*.json"))
	if err != nil || len(lists) == 0 {
		t.Fatalf("no expected*.json in %s: %v", corpusDir, err)
	}
	total := 0
	for _, list := range lists {
		b, err := os.ReadFile(list)
		if err != nil {
			t.Fatal(err)
		}
		var c corpus
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", list, err)
		}
		roots, err := pki.LoadCertificates(filepath.Join(corpusDir, c.Roots))
		if err != nil {
			t.Fatal(err)
		}
		base := pades.VerifyOptions{Roots: newPool(roots), Now: func() time.Time { return c.Now }}
		if c.TSARoots != "" {
			tsaRoots, err := pki.LoadCertificates(filepath.Join(corpusDir, c.TSARoots))
			if err != nil {
				t.Fatal(err)
			}
			base.TSARoots = newPool(tsaRoots)
		}
		if c.CRLs != "" {
			data, err := os.ReadFile(filepath.Join(corpusDir, c.CRLs))
			if err != nil {
				t.Fatal(err)
			}
			if base.CRLs, err = revocation.ParseCRLs(data); err != nil {
				t.Fatal(err)
			}
		}
		total += len(c.Files)
		for _, e := range c.Files {
			t.Run(strings.TrimSuffix(e.File, ".pdf"), func(t *testing.T) {
				opts := base
				opts.CRLs = slices.Clone(base.CRLs)
				for _, f := range e.CRLs {
					data, err := os.ReadFile(filepath.Join(corpusDir, f))
					if err != nil {
						t.Fatal(err)
					}
					crls, err := revocation.ParseCRLs(data)
					if err != nil {
						t.Fatal(err)
					}
					opts.CRLs = append(opts.CRLs, crls...)
				}
				rep, err := pades.VerifyFile(filepath.Join(corpusDir, e.File), opts)
				if err != nil {
					t.Fatal(err)
				}
				checkReport(t, rep, e.Verdict, e.Signatures)
			})
		}
	}
	if total < 30 {
		t.Errorf("%d files in the corpus, want at least 30", total)
	}
}

func newPool(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}
