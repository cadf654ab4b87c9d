// Package xmldsig verifies the enveloped XML signature (W3C XMLDSig) of
// an edXML package (QCVN 102:2016): one Reference to the whole document
// (URI=""), the enveloped-signature transform, C14N 1.0 or Exclusive
// C14N 1.0, the signer's certificate in KeyInfo/X509Data.
//
// It reads the package twice as a stream (the signature sits in the
// header, before attachments of any size): once to find the signature,
// once to digest the canonical document without it. Memory stays bounded
// by the signature element and the nesting depth, not the package size.
//
// What the public packages show, and what this package does about it:
//   - The national axis SDK's sample (PVN-Organization/API-Gateway-iOffice,
//     resources/edoc_new.edxml) signs with rsa-sha1 and a sha1 digest,
//     SignedInfo in inclusive C14N and the Reference in exclusive C14N;
//     SHA-1 is refused unless Options.AllowSHA1 (legacy senders), with a
//     message naming the flag.
//   - Its Signature element carries no xmlns, so under the package's
//     default namespace it is in the edXML namespace, not XMLDSig's. A
//     Signature element in either is accepted; the quirk is reported.
//   - XMLDSig allows far more (several references, XPath transforms,
//     detached or wrapped signatures): those are refused as unsupported
//     rather than half-checked.
package xmldsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"strings"
	"time"

	_ "crypto/sha1" // registers SHA-1 for crypto.SHA1.New (legacy packages)
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/lienthong/lienthong"
)

// Namespace is the XMLDSig namespace.
const Namespace = "http://www.w3.org/2000/09/xmldsig#"

// Options say what Verify accepts.
type Options struct {
	// AllowSHA1 accepts rsa-sha1 signatures and sha1 digests (legacy
	// senders); without it they are refused.
	AllowSHA1 bool
	// Roots, if set, are the trust anchors the signer's certificate is
	// checked against (Result.Trusted); Intermediates help build chains.
	Roots, Intermediates *x509.CertPool
	// Now is the time the certificate is checked at; nil means time.Now.
	Now func() time.Time
	// MaxSignatureBytes bounds the Signature element (default 1 MiB).
	MaxSignatureBytes int
	// MaxDepth bounds element nesting (default 256).
	MaxDepth int
}

// Result is what Verify found.
type Result struct {
	// Present says the package carries a signature; the other fields are
	// zero when it does not.
	Present bool `json:"present"`
	// Valid says the digest matched and the signature value verified
	// with the certificate's key. Verify returns an error instead of a
	// Result with Valid false, so a returned Present Result is Valid.
	Valid           bool   `json:"valid"`
	SignatureMethod string `json:"signatureMethod,omitempty"`
	DigestMethod    string `json:"digestMethod,omitempty"`
	// Signer is the certificate's subject common name (or the whole
	// subject when it has none).
	Signer      string            `json:"signer,omitempty"`
	Certificate *x509.Certificate `json:"-"`
	// Trusted says the certificate chains to Options.Roots (false when
	// no roots were given); Problems say why not, and list quirks.
	Trusted  bool     `json:"trusted"`
	Problems []string `json:"problems,omitempty"`
}

type algorithm struct {
	name string
	hash crypto.Hash
	ec   bool
	sha1 bool
}

var signatureMethods = map[string]algorithm{
	"http://www.w3.org/2000/09/xmldsig#rsa-sha1":          {"rsa-sha1", crypto.SHA1, false, true},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":   {"rsa-sha256", crypto.SHA256, false, false},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384":   {"rsa-sha384", crypto.SHA384, false, false},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512":   {"rsa-sha512", crypto.SHA512, false, false},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": {"ecdsa-sha256", crypto.SHA256, true, false},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": {"ecdsa-sha384", crypto.SHA384, true, false},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": {"ecdsa-sha512", crypto.SHA512, true, false},
}

var digestMethods = map[string]algorithm{
	"http://www.w3.org/2000/09/xmldsig#sha1":        {"sha1", crypto.SHA1, false, true},
	"http://www.w3.org/2001/04/xmlenc#sha256":       {"sha256", crypto.SHA256, false, false},
	"http://www.w3.org/2001/04/xmldsig-more#sha384": {"sha384", crypto.SHA384, false, false},
	"http://www.w3.org/2001/04/xmlenc#sha512":       {"sha512", crypto.SHA512, false, false},
}

// Verify checks the enveloped signature of the document open returns
// (called twice: each call must return the document from its start).
// A document without a signature gives a Result with Present false. A
// signature that does not verify, uses an unsupported construction, or
// uses SHA-1 without Options.AllowSHA1 gives an error with a lienthong
// kind and a message naming the problem.
func Verify(open func() (io.ReadCloser, error), opts Options) (*Result, error) {
	if opts.MaxSignatureBytes <= 0 {
		opts.MaxSignatureBytes = 1 << 20
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 256
	}
	sig, err := find(open, opts)
	if err != nil || sig == nil {
		return &Result{}, err
	}
	res := &Result{Present: true}
	if sig.quirk != "" {
		res.Problems = append(res.Problems, sig.quirk)
	}
	si, err := sig.parse()
	if err != nil {
		return nil, err
	}
	res.SignatureMethod, res.DigestMethod = si.sigAlg.name, si.digestAlg.name
	if (si.sigAlg.sha1 || si.digestAlg.sha1) && !opts.AllowSHA1 {
		return nil, lienthong.Errorf(lienthong.KindFailedPrecondition,
			"gói tin edXML được ký bằng %s/%s: SHA-1 đã lỗi thời nên trục từ chối; hãy ký lại bằng rsa-sha256, hoặc nhờ trung tâm CNTT cho phép tạm với cờ --gateway-allow-sha1 (legacy SHA-1 package signature refused)",
			si.sigAlg.name, si.digestAlg.name)
	}
	// The digest of the document without its signature.
	h := si.digestAlg.hash.New()
	if err := digest(open, h, si.refC14N, sig.index, opts); err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), si.digestValue) != 1 {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"chữ ký số của gói tin edXML không khớp nội dung: gói tin đã bị sửa sau khi ký (package digest mismatch)")
	}
	cert := sig.cert
	if cert == nil {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"chữ ký số của gói tin edXML không kèm chứng thư số (KeyInfo/X509Certificate) nên không kiểm tra được (no signer certificate)")
	}
	sh := si.sigAlg.hash.New()
	sh.Write(si.canonical)
	if err := checkValue(cert.PublicKey, si.sigAlg, sh.Sum(nil), sig.value); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err,
			"chữ ký số của gói tin edXML không hợp lệ với chứng thư %q (signature value invalid)", subjectName(cert))
	}
	res.Valid, res.Certificate, res.Signer = true, cert, subjectName(cert)
	if opts.Roots != nil {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		_, err := cert.Verify(x509.VerifyOptions{Roots: opts.Roots, Intermediates: opts.Intermediates,
			CurrentTime: now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("chứng thư ký gói tin không dẫn tới chứng thư gốc tin cậy của trục: %v (signer not trusted)", err))
		} else {
			res.Trusted = true
		}
	}
	return res, nil
}

func subjectName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

func checkValue(pub crypto.PublicKey, alg algorithm, digest, value []byte) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if alg.ec {
			return errors.New("ECDSA signature method with an RSA key")
		}
		return rsa.VerifyPKCS1v15(pub, alg.hash, digest, value)
	case *ecdsa.PublicKey:
		if !alg.ec {
			return errors.New("RSA signature method with an ECDSA key")
		}
		// XMLDSig writes r and s side by side, each the size of the order.
		if len(value) == 0 || len(value)%2 != 0 {
			return errors.New("malformed ECDSA signature value")
		}
		r := new(big.Int).SetBytes(value[:len(value)/2])
		s := new(big.Int).SetBytes(value[len(value)/2:])
		if !ecdsa.Verify(pub, digest, r, s) {
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return fmt.Errorf("unsupported key type %T", pub)
}

// signature is the Signature element found by the first pass.
type signature struct {
	// index is the ordinal of its start element in the document.
	index int
	// tokens is its subtree; outer the namespaces in scope at it.
	tokens []xml.Token
	outer  scope
	quirk  string
	value  []byte
	cert   *x509.Certificate
}

func malformed(err error, src *source) error {
	return lienthong.Wrap(lienthong.KindInvalid, err, "gói tin edXML sai cú pháp XML ở dòng %d, không kiểm tra được chữ ký (malformed XML)", src.line)
}

// walk reads raw tokens, keeping track of nesting and namespaces; fn
// sees each token with its ordinal (for start elements) and the scope of
// its parent element, and returns stop to end the walk. Text reaches fn
// in pieces (xml.CharData of at most about 32 KiB), so memory stays
// bounded by the nesting and the markup, whatever the attachments' size;
// text outside the document element is dropped, as C14N drops it.
func walk(r io.Reader, opts Options, fn func(t xml.Token, index int, parent scope) (stop bool, err error)) error {
	src := newSource(r)
	d := xml.NewDecoder(src)
	d.Strict = true
	scopes := []scope{{}}
	var names []xml.Name
	index := 0
	stopped := false
	// takeText hands the text after the last tag to fn.
	takeText := func() error {
		parent := scopes[len(scopes)-1]
		err := src.text(func(b []byte) error {
			if len(names) == 0 || stopped {
				return nil
			}
			stop, err := fn(xml.CharData(b), -1, parent)
			stopped = stop
			return err
		})
		var le *lienthong.Error
		if err != nil && !errors.As(err, &le) {
			return malformed(err, src)
		}
		return err
	}
	for !stopped {
		if err := takeText(); err != nil || stopped {
			return err
		}
		t, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if len(names) > 0 {
				return malformed(fmt.Errorf("element <%s> not closed", qname(names[len(names)-1])), src)
			}
			return nil
		}
		if err != nil {
			return malformed(err, src)
		}
		parent := scopes[len(scopes)-1]
		i := -1
		switch t := t.(type) {
		case xml.Directive:
			return lienthong.Errorf(lienthong.KindInvalid, "gói tin edXML có khai báo DTD/thực thể (<!%s…>), trục không chấp nhận (DTD not allowed)", clip(string(t)))
		case xml.StartElement:
			if len(names) >= opts.MaxDepth {
				return lienthong.Errorf(lienthong.KindInvalid, "gói tin edXML lồng quá %d cấp ở phần tử <%s>, dòng %d (nesting too deep)", opts.MaxDepth, qname(t.Name), src.line)
			}
			names = append(names, t.Name)
			scopes = append(scopes, parent.with(t))
			i = index
			index++
			if src.prev == '/' && src.last == '>' {
				// An empty element: its end comes next, with no text between.
				if stop, err := fn(t, i, parent); err != nil || stop {
					return err
				}
				end, err := d.RawToken()
				if err != nil {
					return malformed(err, src)
				}
				t2 := end.(xml.EndElement)
				names = names[:len(names)-1]
				scopes = scopes[:len(scopes)-1]
				if stop, err := fn(t2, -1, parent); err != nil || stop {
					return err
				}
				continue
			}
		case xml.EndElement:
			if len(names) == 0 || names[len(names)-1] != t.Name {
				return malformed(fmt.Errorf("unexpected </%s>", qname(t.Name)), src)
			}
			names = names[:len(names)-1]
			scopes = scopes[:len(scopes)-1]
		case xml.CharData:
			// A CDATA section (other text is taken above).
			if len(names) == 0 {
				continue
			}
		}
		stop, err := fn(t, i, parent)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// find is the first pass: it returns the first Signature element, or nil.
func find(open func() (io.ReadCloser, error), opts Options) (*signature, error) {
	r, err := open()
	if err != nil {
		return nil, fmt.Errorf("opening the package: %w", err)
	}
	defer r.Close()
	var sig *signature
	depth, size := 0, 0
	err = walk(r, opts, func(t xml.Token, index int, parent scope) (bool, error) {
		if sig == nil {
			el, ok := t.(xml.StartElement)
			if !ok || el.Name.Local != "Signature" {
				return false, nil
			}
			sig = &signature{index: index, outer: parent}
			if uri := parent.with(el)[el.Name.Space]; uri != Namespace {
				sig.quirk = fmt.Sprintf("phần tử Signature không thuộc không gian tên XMLDSig mà thuộc %q, như gói tin mẫu của trục quốc gia (Signature outside the XMLDSig namespace)", uri)
			}
		}
		t = xml.CopyToken(t)
		sig.tokens = append(sig.tokens, t)
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			size += len(t.Name.Local) + 2
			for _, a := range t.Attr {
				size += len(a.Name.Local) + len(a.Value) + 4
			}
		case xml.CharData:
			size += len(t)
		case xml.EndElement:
			depth--
		}
		if size > opts.MaxSignatureBytes {
			return false, lienthong.Errorf(lienthong.KindTooLarge, "phần chữ ký của gói tin edXML vượt %d byte (signature element too large)", opts.MaxSignatureBytes)
		}
		return depth == 0, nil
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// node is a small tree of the signature's elements, by local name.
type node struct {
	el       xml.StartElement
	text     strings.Builder
	children []*node
	// tokens is the node's own subtree (for SignedInfo), from start to end.
	first, last int
}

func (n *node) child(local string) *node {
	for _, c := range n.children {
		if c.el.Name.Local == local {
			return c
		}
	}
	return nil
}

func (n *node) attr(local string) string {
	for _, a := range n.el.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func (s *signature) tree() *node {
	var stack []*node
	var root *node
	for i, t := range s.tokens {
		switch t := t.(type) {
		case xml.StartElement:
			n := &node{el: t, first: i}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack[len(stack)-1].last = i
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	return root
}

// signedInfo is what the signature says it signed, and how.
type signedInfo struct {
	canonical   []byte
	sigAlg      algorithm
	digestAlg   algorithm
	digestValue []byte
	refC14N     c14nMethod
}

func unsupported(format string, args ...any) error {
	return lienthong.Errorf(lienthong.KindInvalid, "chữ ký số của gói tin edXML dùng cấu trúc trục chưa hỗ trợ: "+format, args...)
}

func (s *signature) parse() (*signedInfo, error) {
	root := s.tree()
	sin := root.child("SignedInfo")
	if sin == nil {
		return nil, unsupported("thiếu SignedInfo (no SignedInfo)")
	}
	cm := sin.child("CanonicalizationMethod")
	if cm == nil {
		return nil, unsupported("thiếu CanonicalizationMethod")
	}
	method, ok := parseC14N(cm.attr("Algorithm"))
	if !ok {
		return nil, unsupported("chuẩn hóa %q (canonicalization)", cm.attr("Algorithm"))
	}
	method.inclusive = prefixList(cm)
	sm := sin.child("SignatureMethod")
	if sm == nil {
		return nil, unsupported("thiếu SignatureMethod")
	}
	si := &signedInfo{}
	if si.sigAlg, ok = signatureMethods[sm.attr("Algorithm")]; !ok {
		return nil, unsupported("thuật toán ký %q (signature method)", sm.attr("Algorithm"))
	}
	var refs []*node
	for _, c := range sin.children {
		if c.el.Name.Local == "Reference" {
			refs = append(refs, c)
		}
	}
	if len(refs) != 1 || refs[0].attr("URI") != "" {
		return nil, unsupported("cần đúng một Reference URI=\"\" tới toàn bộ gói tin, có %d (one enveloped reference expected)", len(refs))
	}
	ref := refs[0]
	// URI="" without further transforms is C14N 1.0 without comments.
	si.refC14N = c14nMethod{}
	enveloped := false
	if ts := ref.child("Transforms"); ts != nil {
		for _, tr := range ts.children {
			alg := tr.attr("Algorithm")
			if alg == transformEnveloped {
				enveloped = true
				continue
			}
			m, ok := parseC14N(alg)
			if !ok {
				return nil, unsupported("phép biến đổi %q (transform)", alg)
			}
			m.inclusive = prefixList(tr)
			// URI="" selects the document without comments (XMLDSig 4.3.3.2).
			m.comments = false
			si.refC14N = m
		}
	}
	if !enveloped {
		return nil, unsupported("Reference không có phép biến đổi enveloped-signature")
	}
	dm := ref.child("DigestMethod")
	if dm == nil {
		return nil, unsupported("thiếu DigestMethod")
	}
	if si.digestAlg, ok = digestMethods[dm.attr("Algorithm")]; !ok {
		return nil, unsupported("thuật toán băm %q (digest method)", dm.attr("Algorithm"))
	}
	var err error
	if si.digestValue, err = decodeBase64(ref.child("DigestValue")); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err, "DigestValue của chữ ký gói tin edXML không đọc được (malformed DigestValue)")
	}
	if s.value, err = decodeBase64(root.child("SignatureValue")); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err, "SignatureValue của chữ ký gói tin edXML không đọc được (malformed SignatureValue)")
	}
	if ki := root.child("KeyInfo"); ki != nil {
		if xd := ki.child("X509Data"); xd != nil {
			if xc := xd.child("X509Certificate"); xc != nil {
				der, err := decodeBase64(xc)
				if err == nil {
					s.cert, err = x509.ParseCertificate(der)
				}
				if err != nil {
					return nil, lienthong.Wrap(lienthong.KindInvalid, err, "chứng thư số trong chữ ký gói tin edXML không đọc được (malformed X509Certificate)")
				}
			}
		}
	}
	// SignedInfo's canonical form, with the namespaces in scope at it.
	outer := s.outer
	for _, t := range s.tokens[:sin.first] {
		if el, ok := t.(xml.StartElement); ok {
			outer = outer.with(el)
		}
	}
	var buf bytes.Buffer
	c := newCanonicalizer(&buf, method, outer)
	for _, t := range s.tokens[sin.first : sin.last+1] {
		c.token(t)
	}
	si.canonical = buf.Bytes()
	return si, nil
}

// prefixList reads an InclusiveNamespaces PrefixList under n.
func prefixList(n *node) []string {
	for _, c := range n.children {
		if c.el.Name.Local == "InclusiveNamespaces" {
			var out []string
			for _, p := range strings.Fields(c.attr("PrefixList")) {
				if p == "#default" {
					p = ""
				}
				out = append(out, p)
			}
			return out
		}
	}
	return nil
}

func decodeBase64(n *node) ([]byte, error) {
	if n == nil {
		return nil, errors.New("missing")
	}
	s := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, n.text.String())
	return base64.StdEncoding.DecodeString(s)
}

// digest is the second pass: the canonical document without the
// Signature element whose start has ordinal skip, into h.
func digest(open func() (io.ReadCloser, error), h hash.Hash, m c14nMethod, skip int, opts Options) error {
	r, err := open()
	if err != nil {
		return fmt.Errorf("opening the package: %w", err)
	}
	defer r.Close()
	c := newCanonicalizer(h, m, nil)
	skipping := 0
	err = walk(r, opts, func(t xml.Token, index int, _ scope) (bool, error) {
		switch t.(type) {
		case xml.StartElement:
			if index == skip || skipping > 0 {
				skipping++
				return false, nil
			}
		case xml.EndElement:
			if skipping > 0 {
				skipping--
				return false, nil
			}
		default:
			if skipping > 0 {
				return false, nil
			}
		}
		c.token(t)
		return false, c.err
	})
	return err
}
