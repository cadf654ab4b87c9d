package edxml

import (
	"bufio"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
)

// Source opens the bytes of attachment a for Write. Write closes what it
// returns.
type Source func(a Attachment) (io.ReadCloser, error)

// xw writes edXML elements with the edXML: prefix, escaping text, and
// keeps the first error.
type xw struct {
	w   *bufio.Writer
	err error
	ind int
}

func (x *xw) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

func (x *xw) indent() { x.raw("\n" + strings.Repeat("  ", x.ind)) }

func (x *xw) open(name string) {
	x.indent()
	x.raw("<edXML:" + name + ">")
	x.ind++
}

func (x *xw) close(name string) {
	x.ind--
	x.indent()
	x.raw("</edXML:" + name + ">")
}

// el writes <edXML:name>text</edXML:name>, and nothing when text is
// empty and the element optional.
func (x *xw) el(name, text string, required bool) {
	if text == "" && !required {
		return
	}
	x.indent()
	x.raw("<edXML:" + name + ">")
	if x.err == nil {
		x.err = xml.EscapeText(x.w, []byte(text))
	}
	x.raw("</edXML:" + name + ">")
}

func (x *xw) org(name string, o Organization) {
	x.open(name)
	x.el("OrganId", o.OrganID, true)
	x.el("OrganizationInCharge", o.OrganizationInCharge, false)
	x.el("OrganName", o.OrganName, false)
	x.el("OrganAdd", o.OrganAdd, false)
	x.el("Email", o.Email, false)
	x.el("Telephone", o.Telephone, false)
	x.el("Fax", o.Fax, false)
	x.el("Website", o.Website, false)
	x.close(name)
}

func (x *xw) staff(s StaffInfo) {
	if s == (StaffInfo{}) {
		return
	}
	x.open("StaffInfo")
	x.el("Department", s.Department, false)
	x.el("Staff", s.Staff, false)
	x.el("Email", s.Email, false)
	x.el("Mobile", s.Mobile, false)
	x.close("StaffInfo")
}

func (x *xw) responseFor(r ResponseFor) {
	x.open("ResponseFor")
	x.el("OrganId", r.OrganID, true)
	x.el("Code", r.Code, false)
	x.el("PromulgationDate", slashDate(r.PromulgationDate), false)
	x.el("DocumentId", r.DocumentID, true)
	x.close("ResponseFor")
}

func (x *xw) traces(list []Trace) {
	for _, t := range list {
		x.open("TraceHeader")
		x.el("OrganId", t.OrganID, true)
		x.el("Timestamp", FormatTimestamp(t.Timestamp), true)
		x.close("TraceHeader")
	}
}

func slashDate(d string) string { return strings.ReplaceAll(d, "-", "/") }

// FormatTimestamp writes t as an edXML timestamp: yyyy/MM/dd HH:mm:ss in
// Vietnam's time.
func FormatTimestamp(t time.Time) string { return t.In(vietnam).Format("2006/01/02 15:04:05") }

func (x *xw) start() {
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.raw(`<edXML:edXML xmlns:edXML="` + Namespace + `">`)
	x.ind = 1
	x.open("edXMLEnvelope")
	x.open("edXMLHeader")
}

// Write writes p as an edXML package in the standard namespace, whatever
// the namespace it was read in, streaming each attachment's bytes from
// open as base64 (76-character lines). It writes no XMLDSig signature.
// Trace headers are written as p has them.
func Write(w io.Writer, p *Package, open Source) error {
	if err := checkWritable(p); err != nil {
		return err
	}
	x := &xw{w: bufio.NewWriterSize(w, 64<<10)}
	h, b := &p.Header, &p.Business
	x.start()
	x.open("MessageHeader")
	x.org("From", h.From)
	for _, to := range h.To {
		x.org("To", to)
	}
	x.el("DocumentId", h.DocumentID, true)
	x.open("Code")
	x.el("CodeNumber", h.Code.Number, true)
	x.el("CodeNotation", h.Code.Notation, true)
	x.close("Code")
	x.open("PromulgationInfo")
	x.el("Place", h.Promulgation.Place, true)
	x.el("PromulgationDate", slashDate(h.Promulgation.Date), true)
	x.close("PromulgationInfo")
	x.open("DocumentType")
	x.el("Type", h.DocumentType.Type, true)
	x.el("TypeDetail", h.DocumentType.TypeDetail, false)
	x.el("TypeName", h.DocumentType.TypeName, true)
	x.close("DocumentType")
	x.el("Subject", h.Subject, true)
	x.el("Content", h.Content, false)
	x.open("SignerInfo")
	x.el("Competence", h.Signer.Competence, false)
	x.el("Position", h.Signer.Position, false)
	x.el("FullName", h.Signer.FullName, true)
	x.close("SignerInfo")
	x.el("DueDate", slashDate(h.DueDate), false)
	x.open("OtherInfo")
	x.el("Priority", h.Other.Priority, true)
	x.el("SphereOfPromulgation", h.Other.SphereOfPromulgation, false)
	x.el("TyperNotation", h.Other.TyperNotation, false)
	x.el("PromulgationAmount", h.Other.PromulgationAmount, false)
	x.el("PageAmount", h.Other.PageAmount, false)
	x.el("Direction", h.Other.Direction, false)
	if len(h.Other.Appendixes) > 0 {
		x.open("Appendixes")
		for _, a := range h.Other.Appendixes {
			x.el("Appendix", a, true)
		}
		x.close("Appendixes")
	}
	x.close("OtherInfo")
	x.el("SteeringType", h.SteeringType, false)
	if len(h.ToPlaces) > 0 {
		x.open("ToPlaces")
		for _, pl := range h.ToPlaces {
			x.el("Place", pl, true)
		}
		x.close("ToPlaces")
	}
	for _, r := range h.ResponseFor {
		x.responseFor(r)
	}
	x.close("MessageHeader")
	x.open("TraceHeaderList")
	x.traces(p.Traces)
	x.open("Bussiness")
	x.el("DocumentId", b.DocumentID, true)
	x.el("BussinessDocType", fmt.Sprint(int(b.DocType)), true)
	x.el("BussinessDocReason", b.Reason, false)
	x.el("Paper", b.Paper, false)
	x.staff(b.Staff)
	x.el("BussinessDocumentInfo", b.DocumentInfo, false)
	if len(b.Replacements) > 0 {
		x.open("ReplacementInfoList")
		for _, r := range b.Replacements {
			x.open("ReplacementInfo")
			x.el("DocumentId", r.DocumentID, true)
			x.open("OrganIdList")
			for _, id := range r.OrganIDs {
				x.el("OrganId", id, true)
			}
			x.close("OrganIdList")
			x.close("ReplacementInfo")
		}
		x.close("ReplacementInfoList")
	}
	x.close("Bussiness")
	x.close("TraceHeaderList")
	x.close("edXMLHeader")
	x.open("edXMLBody")
	x.indent()
	x.raw(`<edXML:edXMLManifest version="1.0">`)
	x.ind++
	for _, a := range p.Attachments {
		x.open("Reference")
		x.el("ContentId", a.ContentID, true)
		x.el("ContentType", mediaType(a), true)
		x.el("Description", a.Description, false)
		x.el("AttachmentName", a.Name, true)
		x.close("Reference")
	}
	x.close("edXMLManifest")
	x.close("edXMLBody")
	x.close("edXMLEnvelope")
	x.open("AttachmentEncoded")
	for _, a := range p.Attachments {
		x.open("Attachment")
		x.el("ContentId", a.ContentID, true)
		x.el("AttachmentName", a.Name, true)
		x.el("Description", a.Description, false)
		x.el("ContentType", mediaType(a), true)
		x.indent()
		x.raw("<edXML:ContentTransferEncoded>")
		if x.err == nil {
			x.err = x.attachment(a, open)
		}
		x.raw("</edXML:ContentTransferEncoded>")
		x.close("Attachment")
	}
	x.close("AttachmentEncoded")
	x.raw("\n</edXML:edXML>\n")
	if x.err == nil {
		x.err = x.w.Flush()
	}
	return x.err
}

func (x *xw) attachment(a Attachment, open Source) error {
	if open == nil {
		return fmt.Errorf("writing attachment %s: no source", a.Name)
	}
	rc, err := open(a)
	if err != nil {
		return fmt.Errorf("opening attachment %s: %w", a.Name, err)
	}
	defer rc.Close()
	lw := &lineWriter{w: x.w}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, rc); err != nil {
		return fmt.Errorf("writing attachment %s: %w", a.Name, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("writing attachment %s: %w", a.Name, err)
	}
	return lw.err
}

// lineWriter breaks base64 into lines of 76 characters (RFC 2045).
type lineWriter struct {
	w   *bufio.Writer
	col int
	err error
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && l.err == nil {
		if l.col == 76 {
			l.err = l.w.WriteByte('\n')
			l.col = 0
		}
		k := min(76-l.col, len(p))
		_, l.err = l.w.Write(p[:k])
		l.col += k
		p = p[k:]
	}
	return n, l.err
}

// checkWritable refuses a package missing what every reader requires.
func checkWritable(p *Package) error {
	h := &p.Header
	switch {
	case h.From.OrganID == "":
		return lienthong.Errorf(lienthong.KindInvalid, "không viết được gói edXML: thiếu mã nơi gửi (From/OrganId missing)")
	case h.Code.Number == "" || h.Code.Notation == "":
		return lienthong.Errorf(lienthong.KindInvalid, "không viết được gói edXML: thiếu số, ký hiệu (Code missing)")
	case h.Promulgation.Date == "":
		return lienthong.Errorf(lienthong.KindInvalid, "không viết được gói edXML: thiếu ngày ban hành (PromulgationDate missing)")
	case h.Subject == "":
		return lienthong.Errorf(lienthong.KindInvalid, "không viết được gói edXML: thiếu trích yếu (Subject missing)")
	}
	return nil
}

// WriteStatus writes s as an edXML status message in the standard
// namespace.
func WriteStatus(w io.Writer, s *Status) error {
	if _, err := s.Code.Step(); err != nil {
		return err
	}
	if s.From.OrganID == "" || s.ResponseFor.DocumentID == "" {
		return lienthong.Errorf(lienthong.KindInvalid, "không viết được thông điệp trạng thái: thiếu nơi báo hoặc văn bản (From/ResponseFor missing)")
	}
	x := &xw{w: bufio.NewWriter(w)}
	x.start()
	x.open("MessageHeader")
	x.org("From", s.From)
	x.responseFor(s.ResponseFor)
	x.staff(s.Staff)
	x.el("StatusCode", string(s.Code), true)
	x.el("Description", s.Description, false)
	x.el("Timestamp", FormatTimestamp(s.Timestamp), true)
	x.close("MessageHeader")
	if len(s.Traces) > 0 {
		x.open("TraceHeaderList")
		x.traces(s.Traces)
		x.close("TraceHeaderList")
	}
	x.close("edXMLHeader")
	x.open("edXMLBody")
	x.close("edXMLBody")
	x.close("edXMLEnvelope")
	x.raw("\n</edXML:edXML>\n")
	if x.err == nil {
		x.err = x.w.Flush()
	}
	return x.err
}
