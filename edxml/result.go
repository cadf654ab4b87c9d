package edxml

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lienthong/lienthong"
)

// result checks what was read for the fields a package or a status
// message cannot do without, and builds the Message.
func (rd *reader) result() (*Message, error) {
	legacy := rd.ns != Namespace
	missing := func(el, what string) error {
		line := rd.lineOf(el)
		return lienthong.Wrap(lienthong.KindInvalid, &PositionError{Element: el, Line: line},
			"gói edXML thiếu phần tử bắt buộc <%s> (%s), trong phần tử bắt đầu ở dòng %d (missing required field)", el, what, line)
	}
	bad := func(el, format string, args ...any) error {
		line := rd.lineOf(el)
		return lienthong.Wrap(lienthong.KindInvalid, &PositionError{Element: el, Line: line},
			"gói edXML không hợp lệ tại phần tử <%s>, dòng %d: %s", el, line, fmt.Sprintf(format, args...))
	}
	const mh = "edXMLHeader/MessageHeader/"
	if rd.isStatus {
		st := rd.status
		st.Namespace, st.Legacy = rd.ns, legacy
		st.From = rd.hdr.From
		if len(rd.hdr.ResponseFor) > 0 {
			st.ResponseFor = rd.hdr.ResponseFor[0]
		}
		st.Traces, st.Signature = rd.traces, rd.sig
		switch {
		case st.From.OrganID == "":
			return nil, missing(mh+"From/OrganId", "mã định danh nơi báo trạng thái")
		case st.ResponseFor.DocumentID == "" && (st.ResponseFor.OrganID == "" || st.ResponseFor.Code == ""):
			return nil, missing(mh+"ResponseFor/DocumentId", "văn bản được báo trạng thái")
		case st.Timestamp.IsZero():
			return nil, missing(mh+"Timestamp", "thời điểm")
		}
		if _, err := st.Code.Step(); err != nil {
			return nil, bad(mh+"StatusCode", "mã trạng thái %q không có trong QCVN 102:2016; dùng 01, 02, 03, 04, 05, 06, 13, 15 hoặc 16 (unknown status code)", clip(string(st.Code)))
		}
		return &Message{Status: &st}, nil
	}
	h := rd.hdr
	switch {
	case h.From.OrganID == "":
		return nil, missing(mh+"From/OrganId", "mã định danh nơi gửi")
	case len(h.To) == 0 && rd.bus.DocType == BusinessNew:
		return nil, missing(mh+"To", "nơi nhận")
	case h.Code.Number == "":
		return nil, missing(mh+"Code/CodeNumber", "số văn bản")
	case h.Code.Notation == "":
		return nil, missing(mh+"Code/CodeNotation", "ký hiệu văn bản")
	case h.Promulgation.Date == "":
		return nil, missing(mh+"PromulgationInfo/PromulgationDate", "ngày ban hành")
	case h.Subject == "":
		return nil, missing(mh+"Subject", "trích yếu")
	case h.DocumentType.TypeName == "" && h.DocumentType.Type == "":
		return nil, missing(mh+"DocumentType/TypeName", "loại văn bản")
	case rd.bus.DocType != BusinessNew && rd.bus.DocumentID == "":
		return nil, missing("edXMLHeader/TraceHeaderList/Bussiness/DocumentId", "văn bản bị thu hồi, cập nhật hoặc thay thế")
	case len(rd.atts) == 0 && rd.bus.DocType != BusinessRevoke:
		return nil, missing("AttachmentEncoded/Attachment", "tệp đính kèm")
	}
	for i, to := range h.To {
		if to.OrganID == "" {
			return nil, bad(mh+"To", "nơi nhận thứ %d thiếu OrganId (missing required field)", i+1)
		}
	}
	for i := range rd.traces {
		if rd.traces[i].OrganID == "" {
			return nil, missing("edXMLHeader/TraceHeaderList/TraceHeader/OrganId", "cơ quan trên vết chuyển")
		}
	}
	atts := rd.atts
	// Names and content ids missing from an Attachment come from the
	// manifest entry of the same content id, or else of the same position.
	var seen []string
	for i := range atts {
		a := &atts[i]
		var ref *Reference
		for j := range rd.refs {
			if a.ContentID != "" && rd.refs[j].ContentID == a.ContentID {
				ref = &rd.refs[j]
				break
			}
		}
		if ref == nil && a.ContentID == "" && i < len(rd.refs) {
			ref = &rd.refs[i]
		}
		if ref != nil {
			a.ContentID = cmp(a.ContentID, ref.ContentID)
			a.Name = cmp(a.Name, ref.AttachmentName)
			a.ContentType = cmp(a.ContentType, ref.ContentType)
			a.Description = cmp(a.Description, ref.Description)
		}
		if a.Name == "" {
			return nil, bad("AttachmentEncoded/Attachment", "tệp đính kèm thứ %d không có tên (AttachmentName missing)", i+1)
		}
		if a.ContentID != "" {
			if slices.Contains(seen, a.ContentID) {
				return nil, bad("AttachmentEncoded/Attachment/ContentId", "hai tệp đính kèm cùng ContentId %q (duplicate content id)", clip(a.ContentID))
			}
			seen = append(seen, a.ContentID)
		}
	}
	for _, ref := range rd.refs {
		if ref.ContentID != "" && !slices.Contains(seen, ref.ContentID) && len(atts) > 0 {
			return nil, bad("edXMLBody/edXMLManifest/Reference/ContentId", "danh mục ghi tệp %q nhưng gói không có tệp đính kèm đó (manifest names a missing attachment)", clip(ref.ContentID))
		}
	}
	p := &Package{
		Namespace: rd.ns, Legacy: legacy, Header: h, Traces: rd.traces, Business: rd.bus,
		Signature: rd.sig, References: rd.refs, Attachments: atts,
	}
	return &Message{Package: p}, nil
}

// lineOf returns the first line of the element at path el, or of its
// nearest ancestor that was seen.
func (rd *reader) lineOf(el string) int {
	for p := el; p != ""; {
		if l, ok := rd.starts[p]; ok {
			return l
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 1
}

func cmp(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
