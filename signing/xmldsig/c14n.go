package xmldsig

import (
	"encoding/xml"
	"io"
	"slices"
	"strings"
)

// Canonicalization algorithms (W3C C14N 1.0 and Exclusive C14N 1.0).
const (
	C14N10             = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	C14N10Comments     = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
	ExcC14N10          = "http://www.w3.org/2001/10/xml-exc-c14n#"
	ExcC14N10Comments  = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	transformEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

// c14nMethod is a canonicalization chosen by its algorithm URI.
type c14nMethod struct {
	exclusive bool
	comments  bool
	// inclusive lists the prefixes an exclusive canonicalization treats
	// as inclusive (InclusiveNamespaces PrefixList; "#default" is "").
	inclusive []string
}

func parseC14N(uri string) (c14nMethod, bool) {
	switch uri {
	case C14N10:
		return c14nMethod{}, true
	case C14N10Comments:
		return c14nMethod{comments: true}, true
	case ExcC14N10:
		return c14nMethod{exclusive: true}, true
	case ExcC14N10Comments:
		return c14nMethod{exclusive: true, comments: true}, true
	}
	return c14nMethod{}, false
}

// scope maps namespace prefixes ("" for the default) to URIs.
type scope map[string]string

// with returns s plus the declarations of el (s itself when it declares
// none).
func (s scope) with(el xml.StartElement) scope {
	out := s
	copied := false
	for _, a := range el.Attr {
		p, ok := nsDecl(a)
		if !ok {
			continue
		}
		if !copied {
			out = make(scope, len(s)+2)
			for k, v := range s {
				out[k] = v
			}
			copied = true
		}
		out[p] = a.Value
	}
	return out
}

// nsDecl reports whether a is a namespace declaration, and its prefix.
func nsDecl(a xml.Attr) (string, bool) {
	switch {
	case a.Name.Space == "" && a.Name.Local == "xmlns":
		return "", true
	case a.Name.Space == "xmlns":
		return a.Name.Local, true
	}
	return "", false
}

// canonicalizer writes the canonical form of a stream of raw tokens (as
// xml.Decoder.RawToken returns them, prefixes unresolved) whose apex is
// the first element, or the whole document.
type canonicalizer struct {
	w      io.Writer
	method c14nMethod
	// frames hold, per open element, its in-scope and rendered namespaces.
	frames []frame
	// afterRoot says the document element has ended (PIs after it get a
	// newline before them).
	seenRoot, afterRoot bool
	err                 error
}

type frame struct {
	name     xml.Name
	inScope  scope
	rendered scope
}

func newCanonicalizer(w io.Writer, m c14nMethod, outer scope) *canonicalizer {
	if outer == nil {
		outer = scope{}
	}
	return &canonicalizer{w: w, method: m, frames: []frame{{inScope: outer, rendered: scope{}}}}
}

func (c *canonicalizer) write(s string) {
	if c.err == nil {
		_, c.err = io.WriteString(c.w, s)
	}
}

// token canonicalizes one raw token.
func (c *canonicalizer) token(t xml.Token) {
	top := c.frames[len(c.frames)-1]
	inside := len(c.frames) > 1
	switch t := t.(type) {
	case xml.StartElement:
		c.start(t, top)
		c.seenRoot = true
	case xml.EndElement:
		c.write("</" + qname(t.Name) + ">")
		c.frames = c.frames[:len(c.frames)-1]
		if len(c.frames) == 1 {
			c.afterRoot = true
		}
	case xml.CharData:
		if inside {
			c.write(escapeText(string(t)))
		}
	case xml.Comment:
		if c.method.comments {
			c.outside(inside, "<!--"+string(t)+"-->")
		}
	case xml.ProcInst:
		if t.Target == "xml" {
			return
		}
		pi := "<?" + t.Target
		if len(t.Inst) > 0 {
			pi += " " + string(t.Inst)
		}
		c.outside(inside, pi+"?>")
	}
}

// outside writes a comment or PI, with the newline C14N puts between
// nodes outside the document element.
func (c *canonicalizer) outside(inside bool, s string) {
	switch {
	case inside:
		c.write(s)
	case c.afterRoot:
		c.write("\n" + s)
	default:
		c.write(s + "\n")
	}
}

func (c *canonicalizer) start(el xml.StartElement, parent frame) {
	inScope := parent.inScope.with(el)
	rendered := parent.rendered
	var prefixes []string
	if c.method.exclusive {
		// Only the namespaces this element visibly uses, and those the
		// PrefixList names.
		used := map[string]bool{el.Name.Space: true}
		for _, a := range el.Attr {
			if _, ok := nsDecl(a); !ok && a.Name.Space != "" {
				used[a.Name.Space] = true
			}
		}
		for _, p := range c.method.inclusive {
			if _, ok := inScope[p]; ok {
				used[p] = true
			}
		}
		for p := range used {
			prefixes = append(prefixes, p)
		}
	} else {
		for p := range inScope {
			prefixes = append(prefixes, p)
		}
		if _, ok := inScope[""]; !ok {
			prefixes = append(prefixes, "")
		}
	}
	slices.Sort(prefixes) // "" (the default namespace) sorts first
	var decls []string
	copied := false
	for _, p := range prefixes {
		if p == "xml" {
			continue
		}
		uri := inScope[p]
		if p != "" && uri == "" {
			continue // an unbound prefix (or an XML 1.1 undeclaration)
		}
		if rendered[p] == uri {
			continue // already in the output context with this value
		}
		if !copied {
			copied = true
			rendered = make(scope, len(parent.rendered)+2)
			for k, v := range parent.rendered {
				rendered[k] = v
			}
		}
		rendered[p] = uri
		if p == "" {
			decls = append(decls, ` xmlns="`+escapeAttr(uri)+`"`)
		} else {
			decls = append(decls, ` xmlns:`+p+`="`+escapeAttr(uri)+`"`)
		}
	}
	type attr struct{ uri, local, out string }
	var attrs []attr
	for _, a := range el.Attr {
		if _, ok := nsDecl(a); ok {
			continue
		}
		uri := ""
		switch a.Name.Space {
		case "":
		case "xml":
			uri = "http://www.w3.org/XML/1998/namespace"
		default:
			uri = inScope[a.Name.Space]
		}
		attrs = append(attrs, attr{uri, a.Name.Local, " " + qname(a.Name) + `="` + escapeAttr(a.Value) + `"`})
	}
	slices.SortFunc(attrs, func(a, b attr) int {
		if a.uri != b.uri {
			return strings.Compare(a.uri, b.uri)
		}
		return strings.Compare(a.local, b.local)
	})
	c.write("<" + qname(el.Name))
	for _, d := range decls {
		c.write(d)
	}
	for _, a := range attrs {
		c.write(a.out)
	}
	c.write(">")
	c.frames = append(c.frames, frame{name: el.Name, inScope: inScope, rendered: rendered})
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

func escapeText(s string) string { return textEscaper.Replace(s) }
func escapeAttr(s string) string { return attrEscaper.Replace(s) }
