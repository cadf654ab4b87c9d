package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// noticePrefix starts the docId of a status notification in the lists:
// the national SDK delivers status messages through the same
// getReceivedEdocList / getEdoc / updateStatus cycle as documents.
const noticePrefix = "status-"

// timeLayout is how times appear in the lists (Vietnam's time).
const timeLayout = "2006-01-02 15:04:05"

var vietnam = time.FixedZone("ICT", 7*3600)

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vietnam).Format(timeLayout)
}

// statusWord is the SDKs' name of a hub status step.
func statusWord(s lienthongv1.Status, reason string) string {
	switch s {
	case lienthongv1.Status_STATUS_ACCEPTED, lienthongv1.Status_STATUS_DELIVERED:
		return "inbox"
	case lienthongv1.Status_STATUS_RECEIVED:
		return "acceptance"
	case lienthongv1.Status_STATUS_REJECTED:
		if strings.HasPrefix(reason, exchange.CannotStorePrefix) {
			return "fail"
		}
		return "rejection"
	case lienthongv1.Status_STATUS_DONE:
		return "done"
	case lienthongv1.Status_STATUS_REVOKED:
		return "revocation"
	case lienthongv1.Status_STATUS_QUARANTINED:
		return "fail"
	}
	return "processing"
}

func statusCode(s lienthongv1.Status) string {
	c, _ := edxml.CodeOf(s)
	return string(c)
}

// item is one row of getReceivedEdocList.
type item struct {
	DocID       string `json:"docId"`
	ServiceType string `json:"serviceType"`
	MessageType string `json:"messageType"`
	From        string `json:"from"`
	To          string `json:"to"`
	Status      string `json:"status"`
	StatusCode  string `json:"statusCode,omitempty"`
	StatusDesc  string `json:"status_desc"`
	Created     string `json:"created_time"`
	Updated     string `json:"updated_time"`
	Subject     string `json:"subject,omitempty"`
	Code        string `json:"code,omitempty"`
}

func envelopeOf(s *lienthongv1.SignedEnvelope) (*lienthongv1.Envelope, error) {
	env := new(lienthongv1.Envelope)
	if err := proto.Unmarshal(s.GetEnvelope(), env); err != nil {
		return nil, fmt.Errorf("decoding stored envelope: %w", err)
	}
	return env, nil
}

func receiptBody(r *lienthongv1.Receipt) (*lienthongv1.ReceiptBody, error) {
	b := new(lienthongv1.ReceiptBody)
	if err := proto.Unmarshal(r.GetBody(), b); err != nil {
		return nil, fmt.Errorf("decoding receipt: %w", err)
	}
	return b, nil
}

// getReceivedEdocList lists what waits for the caller: documents not yet
// acknowledged, then status notifications about its own documents.
func (g *Gateway) getReceivedEdocList(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	caller, _ := exchange.CallerFrom(ctx)
	// A product may name the receiving agency (organId): it must be the
	// system's own.
	docs, err := g.cfg.Exchange.Inbox(ctx, param(r, "organId", "agency"))
	if err != nil {
		return err
	}
	items := []item{}
	for _, d := range docs {
		env, err := envelopeOf(d.Envelope)
		if err != nil {
			return err
		}
		acc, err := receiptBody(d.Accepted)
		if err != nil {
			return err
		}
		at := formatTime(acc.GetTime().AsTime())
		items = append(items, item{
			DocID: d.MessageID, ServiceType: "eDoc", MessageType: messageTypeOf(edxml.DocTypeOf(env.GetBusinessType())),
			From: d.Sender, To: caller.GetCode(), Status: "inbox", StatusDesc: lienthongv1.Status_STATUS_ACCEPTED.Label(),
			Created: at, Updated: at, Subject: env.GetSubject(), Code: env.GetNumber() + "/" + env.GetNotation(),
		})
	}
	notices, err := g.cfg.Exchange.Notices(ctx)
	if err != nil {
		return err
	}
	for _, n := range notices {
		b, err := receiptBody(n.Receipt)
		if err != nil {
			return err
		}
		at := formatTime(b.GetTime().AsTime())
		items = append(items, item{
			DocID: noticePrefix + n.ReceiptID, ServiceType: "status", MessageType: "status",
			From: b.GetAgency(), To: caller.GetCode(), Status: statusWord(b.GetStatus(), b.GetReason()),
			StatusCode: statusCode(b.GetStatus()), StatusDesc: describe(b.GetStatus(), b.GetReason()),
			Created: at, Updated: at, Code: b.GetMessageId(),
		})
	}
	out := ok("Thành công (success)")
	out.Data = items
	writeJSON(w, http.StatusOK, out)
	return nil
}

func describe(s lienthongv1.Status, reason string) string {
	if reason == "" {
		return s.Label()
	}
	return s.Label() + ": " + reason
}

// getEdoc answers the package of a document addressed to the caller (or
// the status message of one of its notifications), base64 in "data",
// streamed: the JSON is written around a base64 encoder fed by the
// edXML writer, fed by the stored files (checked as they are read).
func (g *Gateway) getEdoc(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	id := param(r, "docId", "docid")
	if id == "" {
		return errNoDocID
	}
	if rid, isNotice := strings.CutPrefix(id, noticePrefix); isNotice {
		return g.getStatus(ctx, w, id, rid)
	}
	doc, err := g.cfg.Exchange.Delivery(ctx, id)
	if err != nil {
		return err
	}
	env, err := envelopeOf(doc.Envelope)
	if err != nil {
		return err
	}
	acc, err := receiptBody(doc.Accepted)
	if err != nil {
		return err
	}
	p := edxml.FromEnvelope(env)
	p.Traces = []edxml.Trace{{OrganID: doc.Sender, Timestamp: acc.GetTime().AsTime()}}
	open := func(a edxml.Attachment) (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			buf := make([]byte, 32<<10)
			pw.CloseWithError(g.cfg.Exchange.ReadFile(ctx, doc, a.Index, buf, func(b []byte) error {
				_, err := pw.Write(b)
				return err
			}))
		}()
		return pr, nil
	}
	return streamData(w, doc.MessageID, func(out io.Writer) error { return edxml.Write(out, p, open) })
}

// streamData writes the success answer with data = base64 of what
// write produces. A failure after the first byte can only cut the
// answer short: the product sees malformed JSON and asks again.
func streamData(w http.ResponseWriter, docID string, write func(io.Writer) error) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	id, _ := json.Marshal(docID)
	if _, err := io.WriteString(w, `{"status":"OK","ErrorCode":"0","ErrorDesc":"Thành công (success)","DocId":`+string(id)+`,"data":"`); err != nil {
		return nil
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	err := write(enc)
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		// The status line is gone; end the connection so the truncation shows.
		panic(http.ErrAbortHandler)
	}
	io.WriteString(w, "\"}\n")
	return nil
}

// getStatus answers the status message of one of the caller's
// notifications (rid is its receipt id).
func (g *Gateway) getStatus(ctx context.Context, w http.ResponseWriter, docID, rid string) error {
	n, err := g.notice(ctx, rid)
	if err != nil {
		return err
	}
	b, err := receiptBody(n.Receipt)
	if err != nil {
		return err
	}
	tr, err := g.cfg.Exchange.Track(ctx, &lienthongv1.TrackRequest{MessageId: b.GetMessageId()})
	if err != nil {
		return err
	}
	env, err := envelopeOf(tr.GetEnvelope())
	if err != nil {
		return err
	}
	st, err := edxml.FromReceipt(b, env)
	if err != nil {
		return err
	}
	return streamData(w, docID, func(out io.Writer) error { return edxml.WriteStatus(out, st) })
}

// notice finds the caller's unacknowledged notification rid.
func (g *Gateway) notice(ctx context.Context, rid string) (store.Notice, error) {
	notices, err := g.cfg.Exchange.Notices(ctx)
	if err != nil {
		return store.Notice{}, err
	}
	for _, n := range notices {
		if n.ReceiptID == rid {
			return n, nil
		}
	}
	return store.Notice{}, lienthong.Errorf(lienthong.KindNotFound,
		"không có thông báo trạng thái %s%s chờ cơ quan này (đã xác nhận rồi, hoặc không phải của cơ quan này) (no such notification)", noticePrefix, clip(rid))
}

// updateStatus applies the SDKs' status word to a document addressed
// to the caller, walking the hub's steps that the word implies (the
// exchange checks each one), or acknowledges a status notification.
func (g *Gateway) updateStatus(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	id, word := param(r, "docId", "docid"), strings.ToLower(param(r, "status"))
	reason := param(r, "description", "reason")
	if id == "" {
		return errNoDocID
	}
	if rid, isNotice := strings.CutPrefix(id, noticePrefix); isNotice {
		if _, err := g.notice(ctx, rid); err != nil {
			return err
		}
		if _, err := g.cfg.Exchange.Ack(ctx, &lienthongv1.AckRequest{ReceiptId: rid}); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ok("Đã xác nhận thông báo trạng thái (notification acknowledged)"))
		return nil
	}
	var target lienthongv1.Status
	switch word {
	case "inbox":
		target = lienthongv1.Status_STATUS_DELIVERED
	case "acceptance":
		target = lienthongv1.Status_STATUS_RECEIVED
	case "rejection", "fail":
		target = lienthongv1.Status_STATUS_REJECTED
	case "processing":
		target = lienthongv1.Status_STATUS_IN_PROGRESS
	case "done":
		target = lienthongv1.Status_STATUS_DONE
	default:
		return lienthong.Errorf(lienthong.KindInvalid,
			"status %q không hợp lệ; dùng inbox, acceptance, rejection, processing, done hoặc fail (unknown status)", clip(word))
	}
	if word == "fail" {
		if reason == "" {
			reason = "phần mềm quản lý văn bản của nơi nhận không nhận được văn bản"
		}
		if _, err := g.cfg.Exchange.ReportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: id, Status: target, Reason: reason, CannotStore: true}); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ok("Đã báo nơi gửi: không nhận được văn bản (reported as not stored)"))
		return nil
	}
	cur, err := g.applyStatus(ctx, id, target, reason)
	if err != nil {
		return err
	}
	out := ok("Cập nhật trạng thái thành công (status updated)")
	out.DocID = id
	out.Data = map[string]string{"status": statusWord(cur, ""), "statusCode": statusCode(cur), "status_desc": cur.Label()}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// applyStatus moves the caller's delivery of id to target, walking the
// steps the hub requires on the way (acknowledge; received before in
// progress or done), each checked by the exchange. It returns the step
// reached. Repeating the current step, or "delivered" past it, is a
// no-op: products retry.
func (g *Gateway) applyStatus(ctx context.Context, id string, target lienthongv1.Status, reason string) (lienthongv1.Status, error) {
	cur, err := g.current(ctx, id)
	if err != nil {
		return 0, err
	}
	report := func(s lienthongv1.Status, why string) error {
		_, err := g.cfg.Exchange.ReportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: id, Status: s, Reason: why})
		if err == nil {
			cur = s
		}
		return err
	}
	if target == lienthongv1.Status_STATUS_DELIVERED && cur != lienthongv1.Status_STATUS_ACCEPTED {
		return cur, nil
	}
	if cur == target {
		return cur, nil
	}
	if cur == lienthongv1.Status_STATUS_ACCEPTED {
		if _, err := g.cfg.Exchange.Ack(ctx, &lienthongv1.AckRequest{MessageId: id}); err != nil {
			return cur, err
		}
		cur = lienthongv1.Status_STATUS_DELIVERED
	}
	// processing and done come after acceptance (03) in the hub's graph;
	// a product that skips it has accepted the document.
	if cur == lienthongv1.Status_STATUS_DELIVERED && (target == lienthongv1.Status_STATUS_ASSIGNED ||
		target == lienthongv1.Status_STATUS_IN_PROGRESS || target == lienthongv1.Status_STATUS_DONE) {
		if err := report(lienthongv1.Status_STATUS_RECEIVED, ""); err != nil {
			return cur, err
		}
	}
	if cur != target {
		if err := report(target, reason); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

// current is the caller's step on document id, as Track shows it.
func (g *Gateway) current(ctx context.Context, id string) (lienthongv1.Status, error) {
	caller, _ := exchange.CallerFrom(ctx)
	tr, err := g.cfg.Exchange.Track(ctx, &lienthongv1.TrackRequest{MessageId: id})
	if err != nil {
		return 0, err
	}
	for _, rs := range tr.GetRecipients() {
		if rs.GetAgency() == caller.GetCode() {
			return rs.GetStatus(), nil
		}
	}
	return 0, lienthong.Errorf(lienthong.KindNotFound, "văn bản %s không gửi đến cơ quan %s (no such delivery)", clip(id), caller.GetCode())
}

// sentRow is one row of getSentEdocList: one recipient of one document.
type sentRow struct {
	ServiceType       string `json:"serviceType"`
	MessageType       string `json:"messageType"`
	SenderDocID       string `json:"senderDocId"`
	ReceiverDocID     string `json:"receiverDocId"`
	FromCode          string `json:"fromCode"`
	ToCode            string `json:"toCode"`
	Title             string `json:"title,omitempty"`
	Notation          string `json:"notation,omitempty"`
	SentTime          string `json:"sentTime,omitempty"`
	ReceivedTime      string `json:"receivedTime,omitempty"`
	SendStatus        string `json:"sendStatus"`
	SendStatusDesc    string `json:"sendStatusDesc"`
	ReceiveStatus     string `json:"receiveStatus"`
	ReceiveStatusCode string `json:"receiveStatusCode,omitempty"`
	ReceiveStatusDesc string `json:"receiveStatusDesc"`
}

// getSentEdocList answers, for one sent document (docId), each
// recipient's step; without docId, the status notifications the caller
// has not acknowledged yet.
func (g *Gateway) getSentEdocList(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	id := param(r, "docId", "docid")
	rows := []sentRow{}
	if id == "" {
		notices, err := g.cfg.Exchange.Notices(ctx)
		if err != nil {
			return err
		}
		caller, _ := exchange.CallerFrom(ctx)
		for _, n := range notices {
			b, err := receiptBody(n.Receipt)
			if err != nil {
				return err
			}
			rows = append(rows, sentRow{ServiceType: "eDoc", MessageType: "status", SenderDocID: b.GetMessageId(), ReceiverDocID: b.GetMessageId(),
				FromCode: caller.GetCode(), ToCode: b.GetAgency(), ReceivedTime: formatTime(b.GetTime().AsTime()),
				SendStatus: "done", SendStatusDesc: "trục đã chuyển",
				ReceiveStatus: statusWord(b.GetStatus(), b.GetReason()), ReceiveStatusCode: statusCode(b.GetStatus()),
				ReceiveStatusDesc: describe(b.GetStatus(), b.GetReason())})
		}
	} else {
		tr, err := g.cfg.Exchange.Track(ctx, &lienthongv1.TrackRequest{MessageId: id})
		if err != nil {
			return err
		}
		env, err := envelopeOf(tr.GetEnvelope())
		if err != nil {
			return err
		}
		// The reason of each recipient's latest step is in its receipts.
		reasons := map[string]string{}
		var sent time.Time
		for _, rc := range tr.GetReceipts() {
			b, err := receiptBody(rc)
			if err != nil {
				return err
			}
			if b.GetStatus() == lienthongv1.Status_STATUS_ACCEPTED {
				sent = b.GetTime().AsTime()
			}
			reasons[b.GetAgency()] = b.GetReason()
		}
		for _, rs := range tr.GetRecipients() {
			reason := reasons[rs.GetAgency()]
			rows = append(rows, sentRow{ServiceType: "eDoc", MessageType: messageTypeOf(edxml.DocTypeOf(env.GetBusinessType())),
				SenderDocID: id, ReceiverDocID: id, FromCode: env.GetSender(), ToCode: rs.GetAgency(),
				Title: env.GetSubject(), Notation: env.GetNumber() + "/" + env.GetNotation(),
				SentTime: formatTime(sent), ReceivedTime: formatTime(rs.GetTime().AsTime()),
				SendStatus: "done", SendStatusDesc: "trục đã tiếp nhận",
				ReceiveStatus: statusWord(rs.GetStatus(), reason), ReceiveStatusCode: statusCode(rs.GetStatus()),
				ReceiveStatusDesc: describe(rs.GetStatus(), reason)})
		}
	}
	out := ok("Thành công (success)")
	out.Data = rows
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getAgenciesList answers the directory, as ListAgencies does.
func (g *Gateway) getAgenciesList(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	// Every page: the e-office product asked for the whole list.
	resp := &lienthongv1.ListAgenciesResponse{}
	for req := (&lienthongv1.ListAgenciesRequest{Under: param(r, "under", "pcode")}); ; {
		page, err := g.cfg.Exchange.ListAgencies(ctx, req)
		if err != nil {
			return err
		}
		resp.Agencies = append(resp.Agencies, page.GetAgencies()...)
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	type agency struct {
		Code   string `json:"code"`
		Name   string `json:"name"`
		PCode  string `json:"pcode,omitempty"`
		Status string `json:"status"`
	}
	list := []agency{}
	for _, a := range resp.GetAgencies() {
		st := "active"
		if a.GetStatus() != lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE {
			st = "suspended"
		}
		var parent string
		if c, err := lienthong.ParseCode(a.GetCode()); err == nil {
			if p, ok := c.Parent(); ok {
				parent = p.String()
			}
		}
		list = append(list, agency{Code: a.GetCode(), Name: a.GetName(), PCode: parent, Status: st})
	}
	out := ok("Thành công (success)")
	out.Data = list
	writeJSON(w, http.StatusOK, out)
	return nil
}
