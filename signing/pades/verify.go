package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/pdf"
	"github.com/lienthong/lienthong/signing/revocation"
	"github.com/lienthong/lienthong/signing/tsp"
)

// Verdict is the overall outcome of verifying a PDF's signatures.
type Verdict string

// Verdicts, from best to worst for the sender.
const (
	// VerdictValid: at least one signature, every signature valid, and the
	// last one covers the whole file (earlier ones are covered by later
	// revisions that only add signatures).
	VerdictValid Verdict = "valid"
	// VerdictIndeterminate: no signature failed, but at least one could
	// not be decided (EN 319 102-1 INDETERMINATE: an untrusted chain, a
	// certificate outside its validity without proof of existence,
	// revocation status unknown); the sub-indication says what to do.
	VerdictIndeterminate Verdict = "indeterminate"
	// VerdictInvalid: a signature fails a check (digest, CMS signature,
	// key purpose, revocation), or, with no Revocation checker, any
	// check including the chain and validity.
	VerdictInvalid Verdict = "invalid"
	// VerdictModified: the document was changed after a signature by more
	// than adding further signatures.
	VerdictModified Verdict = "modified"
	// VerdictUnsigned: the PDF holds no signature.
	VerdictUnsigned Verdict = "unsigned"
	// VerdictError: the file could not be read as a PDF.
	VerdictError Verdict = "error"
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Roots are the trust anchors; nil trusts nothing (never the system
	// pool), so every chain is reported untrusted.
	Roots *x509.CertPool
	// Intermediates help build chains from a signer to Roots, besides the
	// certificates the signature carries; they are not anchors.
	Intermediates []*x509.Certificate
	// CRLs, when Revocation is nil, make a checker over them that accepts
	// an issuer with no CRL at all (the rule before revocation checking
	// was required). With Revocation set they are further information
	// (such as a document's DSS), used besides the checker's own.
	CRLs []*x509.RevocationList
	// Revocation decides the revocation status of every certificate of
	// the chain below the anchor (signer and intermediates) from its
	// CRLs, the PDF's DSS and, if configured, fetched information; a CRL
	// counts only if its issuer signed it and it is fresh. Unknown status
	// gives TRY_LATER unless the checker accepts missing information.
	Revocation *revocation.Checker
	// Now gives the validation time: certificates of a signature no
	// trusted timestamp covers are judged at this time, never at the time
	// the signer claims. nil means time.Now.
	Now func() time.Time
	// TSARoots are the trust anchors of time-stamping authorities; a
	// signature or document timestamp is proof of existence only if its
	// TSA chains to one of them. nil trusts no TSA.
	TSARoots *x509.CertPool
	// Chains, if set, remembers the signers' chains verified under Roots
	// and Intermediates, which then must not change while it is in use
	// (see ChainCache); nil builds every chain afresh.
	Chains *ChainCache

	// dssCerts are the certificates of the document's DSS, candidates for
	// chains (never anchors).
	dssCerts []*x509.Certificate

	// sealing: Sign is about to add a signature covering the whole file,
	// so changes after the last signature are judged as if it were there.
	sealing bool
}

// Report is the result of Verify; its JSON form is what
// `ltnode verify --json` prints.
type Report struct {
	Verdict Verdict `json:"verdict"`
	// Indication is the worst of the signatures' indications; empty for
	// an unsigned or unreadable file.
	Indication etsi.Indication   `json:"indication,omitempty"`
	Error      string            `json:"error,omitempty"`
	Signatures []SignatureReport `json:"signatures"`
	// DocumentTimestamps are the document timestamps (SubFilter
	// ETSI.RFC3161, PAdES B-LTA), in file order. They are not signatures:
	// a valid one is proof that the revisions it covers existed at its
	// time; one that is proven broken (TOTAL-FAILED) makes the report
	// TOTAL-FAILED, one that is merely untrusted changes nothing.
	DocumentTimestamps []TimestampReport `json:"document_timestamps,omitempty"`
}

// SignatureReport describes one signature, in signing order.
type SignatureReport struct {
	// Field is the fully qualified name of the signature field.
	Field string `json:"field"`
	// Signer is the signer certificate's subject DN (RFC 2253 form);
	// SignerCN its common name.
	Signer   string `json:"signer"`
	SignerCN string `json:"signer_cn"`
	// SigningTime is the time the signer claims: the CMS signingTime
	// attribute, else the signature dictionary's /M; zero if neither.
	SigningTime time.Time `json:"signing_time,omitzero"`
	SubFilter   string    `json:"subfilter"`
	// DigestValid: the bytes under /ByteRange hash to the signed digest.
	DigestValid bool `json:"digest_valid"`
	// SignatureValid: the CMS signature verifies with the signer's key and
	// its structure is acceptable.
	SignatureValid bool `json:"signature_valid"`
	// ChainTrusted: the signer certificate chains to a trust root.
	ChainTrusted bool `json:"chain_trusted"`
	// ValidAtSigningTime: every certificate of the chain was within its
	// validity period at POETime (the name is kept for the JSON readers;
	// the claimed SigningTime proves nothing).
	ValidAtSigningTime bool `json:"valid_at_signing_time"`
	// POETime is the time the certificates were judged at: the earliest
	// trusted timestamp covering the signature (its signature timestamp
	// or a later document timestamp), else the validation time.
	POETime time.Time `json:"poe_time,omitzero"`
	// Timestamp is the signature timestamp (PAdES B-T), nil if none.
	Timestamp *TimestampReport `json:"timestamp,omitempty"`
	// KeyUsageOK: the certificate allows digitalSignature or
	// nonRepudiation (or has no key usage extension).
	KeyUsageOK bool `json:"key_usage_ok"`
	// Revoked: a trusted CRL revokes a certificate of the chain at or
	// before POETime, or for key or CA compromise at any time.
	Revoked bool `json:"revoked"`
	// CoversWholeDocument: /ByteRange covers every byte of the file except
	// this signature's /Contents.
	CoversWholeDocument bool `json:"covers_whole_document"`
	// ModifiedAfter: bytes follow the signed range (an incremental update
	// after this signature), or the range leaves part of its revision out.
	ModifiedAfter bool `json:"modified_after"`
	// CoveredByLaterSignature: every update after this signature only adds
	// signatures, and a later signature (or document timestamp) covers the
	// whole file, or the updates only add validation data (a DSS), so
	// ModifiedAfter is expected and harmless.
	CoveredByLaterSignature bool `json:"covered_by_later_signature"`
	// Problems are short reasons a clerk can read; empty when all is well.
	Problems []string `json:"problems"`
	// Indication and SubIndication are the EN 319 102-1 outcome of this
	// signature (see signing/etsi).
	Indication    etsi.Indication    `json:"indication"`
	SubIndication etsi.SubIndication `json:"sub_indication,omitempty"`
	// Changes names each object changed after this signature that no
	// rule allows, with the reason ("12 0 obj (page 1 /Contents): content
	// stream changed"); empty when nothing forbidden changed.
	Changes []string `json:"changes,omitempty"`
	// Revocation is the revocation status of each certificate of the
	// chain below the anchor, signer first, and what it rests on.
	Revocation []revocation.Result `json:"revocation,omitempty"`

	// DocMDP is the permission level (1 no changes, 2 form filling and
	// signing, 3 also annotations) when this signature certifies the
	// document; 0 for an approval signature.
	DocMDP int `json:"docmdp,omitempty"`

	// Certificate is the signer's certificate (nil if absent).
	Certificate *x509.Certificate `json:"-"`
	// Chain is the verified chain from signer to root, if any.
	Chain []*x509.Certificate `json:"-"`

	partial bool // the range leaves out bytes of its own revision
	end     int64

	notSigner         bool // a CA or TLS-only certificate signed
	noSigningCert     bool // the ESS attribute names another certificate
	revokedNoPOE      bool // revoked, but the signature may predate it
	revocationUnknown bool // no fresh revocation information
}

func (s *SignatureReport) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// classify sets the EN 319 102-1 indication from the checks' outcomes,
// the most serious first.
func (s *SignatureReport) classify() {
	set := func(i etsi.Indication, sub etsi.SubIndication) { s.Indication, s.SubIndication = i, sub }
	switch {
	case s.Certificate == nil && !s.SignatureValid:
		set(etsi.TotalFailed, etsi.FormatFailure)
	case !s.DigestValid:
		set(etsi.TotalFailed, etsi.HashFailure)
	case !s.SignatureValid:
		set(etsi.TotalFailed, etsi.SigCryptoFailure)
	case s.Revoked && !s.revokedNoPOE:
		set(etsi.TotalFailed, etsi.Revoked)
	case s.partial || (s.ModifiedAfter && !s.CoveredByLaterSignature):
		set(etsi.TotalFailed, etsi.SigConstraintsFailure)
	case s.notSigner:
		// Beyond the standard's table, as SIG_CONSTRAINTS_FAILURE is: no
		// later information turns a CA's or a TLS key into a document
		// signer, so the hub's `--indeterminate flag` must not let it in.
		set(etsi.TotalFailed, etsi.ChainConstraintsFailure)
	case s.noSigningCert:
		set(etsi.Indeterminate, etsi.NoSigningCertificateFound)
	case s.Revoked:
		set(etsi.Indeterminate, etsi.RevokedNoPOE)
	case !s.ChainTrusted:
		set(etsi.Indeterminate, etsi.NoCertificateChainFound)
	case !s.ValidAtSigningTime && s.Certificate != nil && s.POETime.Before(s.Certificate.NotBefore):
		set(etsi.Indeterminate, etsi.NotYetValid)
	case !s.ValidAtSigningTime:
		set(etsi.Indeterminate, etsi.OutOfBoundsNoPOE)
	case !s.KeyUsageOK:
		set(etsi.Indeterminate, etsi.ChainConstraintsFailure)
	case s.revocationUnknown:
		set(etsi.Indeterminate, etsi.TryLater)
	default:
		set(etsi.TotalPassed, etsi.None)
	}
}

func (s *SignatureReport) failed() bool {
	return !s.DigestValid || !s.SignatureValid || !s.ChainTrusted || !s.ValidAtSigningTime || !s.KeyUsageOK || s.Revoked
}

// VerifyFile opens path and verifies it; see Verify.
func VerifyFile(path string, opts VerifyOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		err = fmt.Errorf("pades: %w", err)
		return &Report{Verdict: VerdictError, Error: err.Error(), Signatures: []SignatureReport{}}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		err = fmt.Errorf("pades: %w", err)
		return &Report{Verdict: VerdictError, Error: err.Error(), Signatures: []SignatureReport{}}, err
	}
	return Verify(f, st.Size(), opts)
}

// Verify checks every signature of the PDF in r (size bytes). Signatures
// are found through the cross-reference chain of every revision; only the
// objects on the way (trailers, catalogs, AcroForm fields, signature
// dictionaries and what later revisions changed) are parsed, and the
// signed bytes are hashed as a stream.
//
// A file that cannot be read as a PDF gives a report with VerdictError and
// a non-nil error; otherwise the error is nil and the verdict says what was
// found.
func Verify(r io.ReaderAt, size int64, opts VerifyOptions) (*Report, error) {
	return VerifyContext(context.Background(), r, size, opts)
}

// VerifyContext is Verify with a context that bounds the fetching of
// revocation information (see revocation.Fetcher).
func VerifyContext(ctx context.Context, r io.ReaderAt, size int64, opts VerifyOptions) (rep *Report, err error) {
	rep = &Report{Signatures: []SignatureReport{}}
	fail := func(err error) (*Report, error) {
		err = fmt.Errorf("pades: %w", err)
		rep.Verdict, rep.Error = VerdictError, err.Error()
		return rep, err
	}
	doc, err := pdf.Open(r, size)
	if err != nil {
		return fail(err)
	}
	found, err := findSignatures(doc)
	if err != nil {
		return fail(err)
	}
	// The DSS (PAdES B-LT) only adds candidates: certificates for chains,
	// CRLs that still must verify against the issuer in a chain.
	var dssEvidence revocation.Evidence
	if dss, _, err := readDSS(doc.Latest()); err == nil {
		opts.dssCerts = dss.certs
		opts.CRLs = append(append([]*x509.RevocationList(nil), opts.CRLs...), dss.crls...)
		// Its CRLs reach the checker through opts.CRLs; OCSP responses
		// only through the evidence.
		dssEvidence.OCSP = dss.ocsps
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	sigs := make([]*checkedSig, 0, len(found))
	for _, f := range found {
		s := checkSignatureSyntax(doc, f)
		s.evidence = dssEvidence
		sigs = append(sigs, s)
	}
	if err := hashAll(r, size, sigs); err != nil {
		return fail(err)
	}
	for _, s := range sigs {
		s.rep.CoversWholeDocument = s.gapOK && s.rep.end == size
	}
	// Document timestamps first: they give the signatures they cover
	// proof of existence.
	for _, s := range sigs {
		if s.docTS != nil {
			s.checkDocTimestamp(opts, now())
		}
	}
	for _, s := range sigs {
		if s.docTS == nil {
			s.docTimestampPOE(sigs)
			s.checkCMS(ctx, opts, now())
		}
	}
	sort.SliceStable(sigs, func(i, j int) bool { return sigs[i].rep.end < sigs[j].rep.end })
	a := &analyzer{doc: doc, sigs: sigs, sealing: opts.sealing}
	for _, s := range sigs {
		s.rep.DocMDP = docMDP(doc.Latest(), s.found.dict)
	}
	for _, s := range sigs {
		a.coverage(s)
	}
	rep.Verdict = VerdictValid
	modified := false
	signatures := 0
	for _, s := range sigs {
		sr := s.rep
		if s.docTS != nil {
			rep.addDocTimestamp(s)
			continue
		}
		signatures++
		sr.classify()
		if etsi.Worse(sr.Indication, rep.Indication) || rep.Indication == "" {
			rep.Indication = sr.Indication
		}
		if sr.failed() {
			rep.Verdict = VerdictInvalid
		}
		if sr.partial || (sr.ModifiedAfter && !sr.CoveredByLaterSignature) {
			modified = true
		}
		if sr.Problems == nil {
			sr.Problems = []string{}
		}
		rep.Signatures = append(rep.Signatures, *sr)
	}
	if signatures == 0 {
		rep.Verdict, rep.Indication = VerdictUnsigned, ""
	}
	if modified && rep.Verdict == VerdictValid {
		rep.Verdict = VerdictModified
	}
	if rep.Indication == etsi.Indeterminate && (rep.Verdict == VerdictValid || rep.Verdict == VerdictInvalid) {
		rep.Verdict = VerdictIndeterminate
	}
	return rep, nil
}

// foundSig is a signature dictionary reachable from some revision's
// AcroForm.
type foundSig struct {
	field     string
	fieldDict *pdf.Dict // the signature field (for its /Lock)
	dict      *pdf.Dict
	direct    bool  // parsed from the file, so string offsets are file offsets
	key       int64 // identifies the physical object across revisions
	// broken says why a signature field's value could not be read as a
	// signature dictionary; such a signature is reported, FORMAT_FAILURE,
	// never dropped (an unreadable signature is not an unsigned file).
	broken string
}

// findSignatures walks the AcroForm fields of every revision and returns
// each distinct signature dictionary with a value, newest field name first.
func findSignatures(d *pdf.Document) ([]foundSig, error) {
	var out []foundSig
	seen := make(map[int64]bool)
	visits := 0
	for k := range d.Sections {
		v := &pdf.View{Doc: d, K: k}
		fs, n, err := signatureFields(v)
		visits += n
		if visits > maxFieldVisits {
			return nil, pdf.SyntaxErrorf("AcroForm field trees too large")
		}
		if err != nil {
			if k == 0 {
				return nil, err
			}
			// An older revision that does not parse cannot hide anything
			// the newest one shows; skip it.
			continue
		}
		for _, f := range fs {
			if !seen[f.key] {
				seen[f.key] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// signatureFields returns the signature fields with a value in this
// revision, and how many field dictionaries it walked.
func signatureFields(v *pdf.View) ([]foundSig, int, error) {
	catalog, _, err := v.Catalog()
	if err != nil {
		return nil, 0, err
	}
	acro, err := v.Dict(catalog.Get("AcroForm"))
	if err != nil {
		return nil, 0, fmt.Errorf("AcroForm: %w", err)
	}
	if acro == nil {
		return nil, 0, nil
	}
	fields, err := v.Array(acro.Get("Fields"))
	if err != nil {
		return nil, 0, fmt.Errorf("AcroForm /Fields: %w", err)
	}
	var out []foundSig
	count := 0
	var walk func(obj pdf.Object, parent string, ft pdf.Name, depth int) error
	walk = func(obj pdf.Object, parent string, ft pdf.Name, depth int) error {
		count++
		if depth > pdf.MaxDepth || count > maxFieldNodes {
			return pdf.SyntaxErrorf("AcroForm field tree too large")
		}
		fd, err := v.Dict(obj)
		if err != nil || fd == nil {
			return nil // a broken field is not a signature
		}
		full := parent
		if t, ok := fd.Get("T").(*pdf.String); ok {
			if full != "" {
				full += "."
			}
			full += pdf.DecodeText(t.Bytes)
		}
		if n := fd.Name("FT"); n != "" {
			ft = n
		}
		if ft == "Sig" && fd.Get("V") != nil {
			f := foundSig{field: full, fieldDict: fd}
			switch val := fd.Get("V").(type) {
			case pdf.Ref:
				e, ok := v.Lookup(val.Num)
				sd, err := v.Dict(val)
				f.key = e.Off
				if e.Kind == 2 {
					f.key = -int64(val.Num)<<20 - int64(e.Index) - 1
				}
				switch {
				case ok && err == nil && sd != nil:
					f.dict = sd
					f.direct = e.Kind == 1
				case !ok:
					f.broken = fmt.Sprintf("its value %d %d R is not in the file", val.Num, val.Gen)
					f.key = -int64(val.Num)<<20 - 1<<50
				case err != nil:
					f.broken = fmt.Sprintf("its value %d %d R cannot be parsed: %v", val.Num, val.Gen, err)
				default:
					f.broken = fmt.Sprintf("its value %d %d R is not a dictionary", val.Num, val.Gen)
				}
				out = append(out, f)
			case *pdf.Dict:
				if r, ok := obj.(pdf.Ref); ok {
					if e, ok := v.Lookup(r.Num); ok && e.Kind == 1 {
						f.dict, f.direct, f.key = val, true, e.Off+1<<62
						out = append(out, f)
					}
				}
			}
		}
		kids, _ := v.Array(fd.Get("Kids"))
		for _, kid := range kids {
			if kd, err := v.Dict(kid); err != nil || kd == nil || kd.Get("T") == nil {
				continue // a widget of this field, not a field
			}
			if err := walk(kid, full, ft, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range fields {
		if err := walk(f, "", "", 0); err != nil {
			return nil, count, err
		}
	}
	return out, count, nil
}

// checkedSig carries one signature through verification.
type checkedSig struct {
	found    foundSig
	rep      *SignatureReport
	ranges   [][2]int64 // (offset, length)
	contents []byte
	cms      *cms.SignedData
	h        hash.Hash
	alg      crypto.Hash // of h
	hashable bool
	gapOK    bool
	// Document timestamps only: the report and the parsed token.
	docTS *TimestampReport
	token *tsp.Token
	// poe are the times trusted timestamps prove the signature existed at.
	poe []time.Time
	// evidence is the revocation information of the PDF's DSS.
	evidence revocation.Evidence
}

// checkSignatureSyntax reads the signature dictionary: subfilter, byte
// range, contents, and parses the CMS.
func checkSignatureSyntax(doc *pdf.Document, f foundSig) *checkedSig {
	s := &checkedSig{found: f, rep: &SignatureReport{Field: f.field}}
	sr := s.rep
	if f.broken != "" {
		sr.problem("signature field %q cannot be read: %s", f.field, f.broken)
		sr.partial = true
		return s
	}
	sd := f.dict
	sr.SubFilter = string(sd.Name("SubFilter"))
	if m, ok := sd.Get("M").(*pdf.String); ok {
		if t, ok := pdf.ParseDate(pdf.DecodeText(m.Bytes)); ok {
			sr.SigningTime = t.UTC()
		}
	}
	br, _ := sd.Get("ByteRange").(pdf.Array)
	okRanges := len(br) >= 2 && len(br)%2 == 0 && len(br) <= 2*maxByteRanges
	var nums []int64
	for _, x := range br {
		n, ok := x.(int64)
		if !ok || n < 0 || n > doc.Size {
			okRanges = false
			break
		}
		nums = append(nums, n)
	}
	if okRanges {
		for i := 0; i < len(nums); i += 2 {
			if nums[i]+nums[i+1] > doc.Size || (i > 0 && nums[i] < nums[i-2]+nums[i-1]) {
				okRanges = false
				break
			}
			s.ranges = append(s.ranges, [2]int64{nums[i], nums[i+1]})
		}
	}
	if !okRanges {
		s.ranges = nil
		sr.problem("signature has a malformed /ByteRange")
		sr.partial = true
		return s
	}
	last := s.ranges[len(s.ranges)-1]
	sr.end = last[0] + last[1]
	c, _ := sd.Get("Contents").(*pdf.String)
	if c == nil || len(c.Bytes) == 0 {
		sr.problem("signature has no /Contents")
		return s
	}
	s.contents = c.Bytes
	// The one gap must be exactly this dictionary's /Contents string.
	s.gapOK = len(s.ranges) == 2 && f.direct && s.ranges[0][0] == 0 &&
		s.ranges[0][1] == c.Pos && s.ranges[1][0] == c.End
	if !s.gapOK {
		if len(s.ranges) == 2 && s.ranges[0][0] == 0 && f.direct {
			sr.problem("the signed byte range does not match the signature value")
		} else {
			sr.problem("part of the document before this signature is not signed")
			sr.partial = true
		}
	}
	switch SubFilter(sr.SubFilter) {
	case SubFilterPKCS7, SubFilterCAdES:
	case SubFilterRFC3161:
		s.prepareDocTimestamp()
		return s
	default:
		sr.problem("signature format %q is not supported", sr.SubFilter)
		return s
	}
	if err := cms.CheckPadding(c.Bytes); err != nil {
		sr.problem("signature value is not a valid CMS signature: %v", err)
		return s
	}
	p, err := cms.Parse(c.Bytes)
	if err != nil {
		sr.problem("signature value is not a valid CMS signature: %v", err)
		return s
	}
	s.cms = p
	s.alg = p.DigestHash
	switch p.DigestHash {
	case crypto.SHA1:
		s.h = sha1.New()
	case crypto.SHA256:
		s.h = sha256.New()
	default:
		if p.DigestHash.Available() {
			s.h = p.DigestHash.New()
		}
	}
	s.hashable = s.h != nil
	return s
}

// hashAll hashes every signature's byte ranges in one pass over the file,
// reading only bytes some signature covers. Signatures of one digest
// algorithm share a hash state while they have covered the same bytes, so
// the part of the file the second signature has in common with the first
// (all of the first revision, for a seal over a leader's signature) is
// hashed once; the state is cloned where their ranges part.
func hashAll(r io.ReaderAt, size int64, sigs []*checkedSig) error {
	hashable := 0
	for _, s := range sigs {
		if s.hashable {
			hashable++
		}
	}
	if hashable > maxSharedHashes {
		// A hostile file's thousands of signatures would make thousands
		// of segments each to be decided for every signature.
		return hashEach(r, size, sigs)
	}
	var groups []*hashGroup
	var cuts []int64
	for _, s := range sigs {
		if !s.hashable {
			continue
		}
		for _, rg := range s.ranges {
			cuts = append(cuts, rg[0], rg[0]+rg[1])
		}
		i := slices.IndexFunc(groups, func(g *hashGroup) bool { return g.alg == s.alg && g.cloner })
		if i < 0 {
			_, cloner := s.h.(hash.Cloner)
			groups = append(groups, &hashGroup{alg: s.alg, h: s.h, cloner: cloner && s.alg != 0})
			i = len(groups) - 1
		}
		groups[i].sigs = append(groups[i].sigs, s)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var buf []byte
	for k := 0; k+1 < len(cuts); k++ {
		lo, hi := cuts[k], cuts[k+1]
		// Between two cuts each signature covers all of the segment or
		// none of it.
		var writers []hash.Hash
		for _, g := range groups {
			h, err := g.covering(lo)
			if err != nil {
				return err
			}
			if h != nil {
				writers = append(writers, h)
			}
		}
		for _, g := range groups {
			if g.split != nil {
				groups = append(groups, g.split)
				g.split = nil
			}
		}
		if len(writers) == 0 {
			continue
		}
		if buf == nil {
			buf = make([]byte, 64<<10)
		}
		for off := lo; off < hi; {
			n := min(int64(len(buf)), hi-off)
			chunk := buf[:n]
			if _, err := r.ReadAt(chunk, off); err != nil && !(errors.Is(err, io.EOF) && off+n == size) {
				return fmt.Errorf("reading signed bytes: %w", err)
			}
			for _, h := range writers {
				h.Write(chunk)
			}
			off += n
		}
	}
	for _, g := range groups {
		for _, s := range g.sigs {
			s.h = g.h // the signatures of a group covered the same bytes
		}
	}
	return nil
}

// hashEach hashes every signature's byte ranges on its own, in one pass
// over the file up to the end of the last range.
func hashEach(r io.ReaderAt, size int64, sigs []*checkedSig) error {
	var end int64
	for _, s := range sigs {
		if s.hashable {
			end = max(end, s.rep.end)
		}
	}
	buf := make([]byte, 64<<10)
	for off := int64(0); off < end; off += int64(len(buf)) {
		n := min(int64(len(buf)), end-off)
		chunk := buf[:n]
		if _, err := r.ReadAt(chunk, off); err != nil && !(errors.Is(err, io.EOF) && off+n == size) {
			return fmt.Errorf("reading signed bytes: %w", err)
		}
		for _, s := range sigs {
			if !s.hashable {
				continue
			}
			for _, rg := range s.ranges {
				lo, hi := max(rg[0], off), min(rg[0]+rg[1], off+n)
				if lo < hi {
					s.h.Write(chunk[lo-off : hi-off])
				}
			}
		}
	}
	return nil
}

// hashGroup is signatures whose digests so far are of the same bytes.
type hashGroup struct {
	alg    crypto.Hash
	h      hash.Hash
	cloner bool // h can be cloned, so others may join
	sigs   []*checkedSig
	split  *hashGroup // formed by covering, for hashAll to add
}

// covering returns the hash to write the segment starting at off into,
// nil if no signature of g covers it. When only some do, they leave g for
// a group of their own with a clone of the state.
func (g *hashGroup) covering(off int64) (hash.Hash, error) {
	var in, out []*checkedSig
	for _, s := range g.sigs {
		if s.covers(off) {
			in = append(in, s)
		} else {
			out = append(out, s)
		}
	}
	switch {
	case len(in) == 0:
		return nil, nil
	case len(out) == 0:
		return g.h, nil
	}
	c, err := g.h.(hash.Cloner).Clone()
	if err != nil {
		return nil, fmt.Errorf("hashing signed bytes: %w", err)
	}
	g.sigs = out
	g.split = &hashGroup{alg: g.alg, h: c, cloner: true, sigs: in}
	return c, nil
}

// covers reports whether the signed ranges include the byte at off.
func (s *checkedSig) covers(off int64) bool {
	for _, rg := range s.ranges {
		if off >= rg[0] && off < rg[0]+rg[1] {
			return true
		}
	}
	return false
}

// checkCMS verifies the CMS signature, the certificate chain, validity,
// key usage and revocation.
func (s *checkedSig) checkCMS(ctx context.Context, opts VerifyOptions, now time.Time) {
	sr := s.rep
	p := s.cms
	if p == nil {
		return
	}
	sr.Certificate = p.Signer
	if p.Signer != nil {
		sr.Signer = p.Signer.Subject.String()
		sr.SignerCN = p.Signer.Subject.CommonName
	}
	if !p.SigningTime.IsZero() {
		sr.SigningTime = p.SigningTime.UTC()
	}
	if !s.hashable {
		sr.problem("digest algorithm %v is not supported", p.DigestHash)
		return
	}
	digest := s.h.Sum(nil)
	weak := p.DigestHash == crypto.SHA1
	if weak {
		sr.problem("signature uses SHA-1, which is no longer accepted")
	}
	sigOK := true
	if p.Encapsulated {
		sr.problem("signature is not detached")
		sigOK = false
	}
	if p.SignedAttrs != nil {
		sr.DigestValid = bytes.Equal(p.MessageDigest, digest)
		if !sr.DigestValid {
			sr.problem("digest mismatch: the signed bytes were changed")
		}
		if !p.ContentType.Equal(cms.OIDData) {
			sr.problem("signed content type is not id-data")
			sigOK = false
		}
		h := p.DigestHash.New()
		h.Write(p.SignedAttrs)
		if err := p.VerifySignature(h.Sum(nil), p.DigestHash); err != nil {
			sr.problem("signature value does not verify: %v", err)
			sigOK = false
		}
	} else {
		if SubFilter(sr.SubFilter) == SubFilterCAdES {
			sr.problem("CAdES signature without signed attributes")
			sigOK = false
		}
		if err := p.VerifySignature(digest, p.DigestHash); err != nil {
			sr.problem("digest mismatch or bad signature value: %v", err)
			sigOK = false
		} else {
			sr.DigestValid = true
		}
	}
	if p.Signer != nil {
		if err := p.CheckESS(p.Signer); err != nil {
			// EN 319 102-1 5.2.3: the signing certificate is not the
			// one the signed attributes name.
			sr.problem("%v", err)
			sr.noSigningCert = true
		} else if SubFilter(sr.SubFilter) == SubFilterCAdES && !p.HasESS() {
			sr.problem("CAdES signature without the signing-certificate-v2 attribute")
			sigOK = false
		}
	}
	sr.SignatureValid = sigOK && !weak && p.Signer != nil && s.gapOK
	if p.Signer == nil {
		sr.problem("signer certificate is not included in the signature")
		return
	}
	s.checkSignatureTimestamp(opts, now)
	sr.POETime, _ = s.poeTime(now)
	s.checkCertificate(ctx, opts, now)
}

func (s *checkedSig) checkCertificate(ctx context.Context, opts VerifyOptions, now time.Time) {
	sr := s.rep
	leaf := s.cms.Signer
	// The claimed signing time proves nothing (issue 13, case 8): the
	// certificates are judged at the proof of existence.
	at := sr.POETime
	if c := sr.SigningTime; c.After(now.Add(5 * time.Minute)) {
		sr.problem("signing time %s lies in the future", c.Format(time.RFC3339))
	}

	s.checkKeyPurpose()

	sr.ValidAtSigningTime = !at.Before(leaf.NotBefore) && !at.After(leaf.NotAfter) && !at.After(now.Add(5*time.Minute))
	if opts.Roots == nil {
		sr.problem("no trust roots configured")
	} else {
		// The candidates besides the anchors: the trust store's
		// intermediates, then the certificates the signature and the DSS
		// carry.
		extra := make([]*x509.Certificate, 0, len(s.cms.Certs)+len(opts.dssCerts))
		for _, c := range s.cms.Certs {
			if c != leaf {
				extra = append(extra, c)
			}
		}
		extra = append(extra, opts.dssCerts...)
		vo := x509.VerifyOptions{Roots: opts.Roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		cached := opts.Chains.lookupKey(&opts, leaf, extra)
		var chains [][]*x509.Certificate
		var err error
		if chain := opts.Chains.get(cached, leaf, at); chain != nil {
			chains = [][]*x509.Certificate{chain}
		} else {
			vo.Intermediates = x509.NewCertPool()
			for _, c := range opts.Intermediates {
				vo.Intermediates.AddCert(c)
			}
			for _, c := range extra {
				vo.Intermediates.AddCert(c)
			}
			chains, err = leaf.Verify(vo)
			if err == nil {
				opts.Chains.put(cached, chains[0], [][]*x509.Certificate{opts.Intermediates, extra}, at)
			}
		}
		var cie x509.CertificateInvalidError
		if errors.As(err, &cie) && cie.Reason == x509.Expired {
			if sr.ValidAtSigningTime {
				sr.ValidAtSigningTime = false
				sr.problem("a CA certificate of the chain was not valid at %s", s.poeWords())
			}
			// Is the chain trusted otherwise? Try at a moment the leaf
			// was valid.
			vo.CurrentTime = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
			chains, err = leaf.Verify(vo)
		}
		var uae x509.UnknownAuthorityError
		switch {
		case err == nil:
			sr.ChainTrusted = true
			sr.Chain = chains[0]
		case errors.As(err, &uae):
			issuer := leaf.Issuer.String()
			if uae.Cert != nil {
				issuer = uae.Cert.Issuer.String()
			}
			sr.problem("signed by an untrusted CA: %s", issuer)
		default:
			sr.problem("certificate chain is not valid: %v", err)
		}
	}
	switch {
	case at.Before(leaf.NotBefore):
		sr.problem("certificate not yet valid at %s", s.poeWords())
	case at.After(leaf.NotAfter):
		sr.problem("certificate expired on %s, before %s", leaf.NotAfter.UTC().Format("2006-01-02"), s.poeWords())
	}
	s.checkRevocationStatus(ctx, opts, at, s.evidence)
}
