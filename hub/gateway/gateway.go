// Package gateway is the hub's HTTP gateway for e-office products (VNPT
// iOffice, Viettel VOffice, TD.Office, …): the operations, field names and
// status values of the national axis (VDXP) and provincial LGSP SDKs, so
// that a product pointed at a provincial gateway changes its URL and
// credentials and nothing else. Each call is translated into the hub's
// own use cases (hub/exchange): the same checks, limits, signature
// verification, storage and receipts as a node's gRPC call.
//
// Operations (POST, the last path segment names the operation, so any
// prefix the product was configured with works):
//
//	sendEdoc             multipart, the .edxml package as form field edocFile
//	                     (file_doc, the national SDK's name, is accepted);
//	                     messageType edoc|replacement|revocation|update, or
//	                     status for an edXML status message (a step, as
//	                     updateStatus, or the answer 15/16 to a recall)
//	getReceivedEdocList  documents waiting for the caller's agency
//	getEdoc              docId → the package, base64 in "data"
//	updateStatus         docId, status inbox|acceptance|rejection|processing|done|fail
//	getSentEdocList      docId → the recipients' status; without docId the
//	                     status notifications not yet acknowledged
//	getAgenciesList      the directory
//
// Parameters are read from the request headers first (the SDKs send them
// as headers: docId, status, messagetype), then from the form or query.
// Credentials: X-SystemId and X-SecretKey (Systems). Answers are JSON
// shaped as the SDK parses them: status "OK"|"FAIL", ErrorCode ("0" on
// success, else the HTTP status), ErrorDesc (Vietnamese, the English
// gist in parentheses), and DocId or data.
//
// What the public texts say, and where they disagree:
//   - The national axis SDK (SDKVXP 2.0.1, decompiled in
//     PVN-Organization/API-Gateway-iOffice and QuangChuIT/edoc-integrator)
//     posts to endpoint+"/sendEdoc", "/getReceivedEdocList", "/getEdoc",
//     "/updateStatus", "/getSentEdocList"; sends every parameter as an HTTP
//     header; uploads the package as multipart field "file_doc" (the issue
//     and provincial LGSPs say "edocFile": both are accepted); reads
//     "status", "ErrorCode", "ErrorDesc", "DocId", "data" (getEdoc: the
//     package base64-encoded; lists: docId, from, to, status, status_desc,
//     created_time, serviceType, messageType; sent list: senderDocId,
//     fromCode, toCode, receiveStatus, receiveStatusDesc, sentTime, …).
//   - That SDK authenticates with a "systemid" header and an HMAC-SHA256
//     of the other headers keyed by the secret (XroadVnpt-hash-header).
//     Checking it needs the secret in clear on the server, which the
//     credentials-stored-hashed rule forbids, and it signs neither the
//     body nor a nonce (a captured request replays). The gateway takes
//     X-SystemId / X-SecretKey over TLS and answers an HMAC-only request
//     with 401 and a message saying so.
//   - The SDK's example calls updateStatus "done" right after getEdoc (as
//     "downloaded") and "fail" when the download failed; the issue's
//     vocabulary makes done the end of processing (QCVN 06). The gateway
//     follows the issue: done is 06 (after the intermediate steps the hub
//     requires), fail is "could not store it" (a rejection the sender
//     tells from a clerk's), inbox merely acknowledges (01 arrived).
package gateway

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/internal/rpcerr"
)

// Config wires a Gateway.
type Config struct {
	Exchange *exchange.Service
	Auth     *exchange.Authenticator
	Systems  *Systems
	// Key and Cert are the hub's: the gateway signs the envelopes it
	// builds, vouching that an authenticated system of the agency sent
	// the package (the exchange checks that signature as it checks a
	// node's).
	Key  crypto.Signer
	Cert *x509.Certificate
	// Trust returns the anchors and intermediates package signers are
	// checked against; nil checks no chain.
	Trust func() (roots, intermediates *x509.CertPool)
	// AllowSHA1 accepts packages signed with rsa-sha1 (legacy senders).
	AllowSHA1 bool
	// Spool is the directory for uploads being read (emptied by New).
	Spool string
	// Limits bound a package (zero: edxml defaults).
	Limits edxml.Limits
	// MaxSends bounds the uploads spooled at once (default 8): each
	// holds up to a package and its attachments on disk before the
	// exchange's own upload budget sees it.
	MaxSends int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Gateway serves the operations.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	sends chan struct{}
}

// New returns a Gateway; it empties the spool of a previous run.
func New(cfg Config) (*Gateway, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.RemoveAll(cfg.Spool); err != nil {
		return nil, fmt.Errorf("emptying the gateway spool: %w", err)
	}
	if err := os.MkdirAll(cfg.Spool, 0o700); err != nil {
		return nil, fmt.Errorf("creating the gateway spool: %w", err)
	}
	if cfg.MaxSends <= 0 {
		cfg.MaxSends = 8
	}
	return &Gateway{cfg: cfg, log: cfg.Logger, sends: make(chan struct{}, cfg.MaxSends)}, nil
}

// Handler returns the HTTP handler of the operations.
func (g *Gateway) Handler() http.Handler {
	ops := map[string]func(context.Context, http.ResponseWriter, *http.Request) error{
		"sendEdoc":            g.sendEdoc,
		"getReceivedEdocList": g.getReceivedEdocList,
		"getEdoc":             g.getEdoc,
		"updateStatus":        g.updateStatus,
		"getSentEdocList":     g.getSentEdocList,
		"getAgenciesList":     g.getAgenciesList,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		op, ok := ops[name]
		if !ok {
			g.fail(w, r, lienthong.Errorf(lienthong.KindNotFound,
				"không có thao tác %q; cổng nhận sendEdoc, getReceivedEdocList, getEdoc, updateStatus, getSentEdocList, getAgenciesList (unknown operation)", clip(name)))
			return
		}
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			w.Header().Set("Allow", "POST, GET")
			writeJSON(w, http.StatusMethodNotAllowed, failure(http.StatusMethodNotAllowed, "chỉ nhận POST hoặc GET (method not allowed)"))
			return
		}
		ctx, err := g.authenticate(r)
		if err == nil {
			err = op(ctx, w, r)
		}
		if err != nil {
			g.fail(w, r, err)
		}
	})
}

// authenticate checks the system's credentials and authorises its
// agency exactly as the gRPC edge authorises a certificate's.
func (g *Gateway) authenticate(r *http.Request) (context.Context, error) {
	id, secret := r.Header.Get("X-SystemId"), r.Header.Get("X-SecretKey")
	if secret == "" && r.Header.Get("XroadVnpt-hash-header") != "" {
		return nil, lienthong.Errorf(lienthong.KindUnauthenticated,
			"trục không nhận kiểu xác thực XroadVnpt HMAC của SDK trục quốc gia (cần giữ khóa bí mật dạng rõ trên máy chủ); hãy gửi tiêu đề X-SystemId và X-SecretKey qua HTTPS (XroadVnpt HMAC authentication not supported)")
	}
	sys, err := g.cfg.Systems.Authenticate(id, secret)
	if err != nil {
		return nil, err
	}
	return g.cfg.Auth.AuthorizeSystem(r.Context(), sys.Agency, sys.ID, g.cfg.Cert)
}

// param reads a parameter from the headers, then the query, then a
// url-encoded form body (a multipart body is sendEdoc's, which reads its
// fields as it streams).
func param(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return strings.TrimSpace(v)
		}
	}
	q := r.URL.Query()
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err == nil {
			q = r.Form
		}
	}
	for _, n := range names {
		if v := q.Get(n); v != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// response is the SDKs' answer envelope.
type response struct {
	Status    string `json:"status"`
	ErrorCode string `json:"ErrorCode"`
	ErrorDesc string `json:"ErrorDesc"`
	DocID     string `json:"DocId,omitempty"`
	Data      any    `json:"data,omitempty"`
	// Verification is the hub's check of the document (sendEdoc).
	Verification any `json:"verification,omitempty"`
	// PackageSignature is the check of the package's XMLDSig signature.
	PackageSignature any `json:"packageSignature,omitempty"`
}

func ok(desc string) response { return response{Status: "OK", ErrorCode: "0", ErrorDesc: desc} }

func failure(code int, desc string) response {
	return response{Status: "FAIL", ErrorCode: fmt.Sprint(code), ErrorDesc: desc}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// fail answers err: the one mapping of refusals to HTTP statuses, from
// the gRPC code the hub's use cases (and rpcerr, for the gateway's own
// domain errors) give.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := status.FromError(rpcerr.Status(err))
	code := httpStatus(st)
	attrs := []any{"op", path.Base(r.URL.Path), "http_status", code, "error", st.Message()}
	if id := r.Header.Get("X-SystemId"); id != "" {
		attrs = append(attrs, "system", clip(id))
	}
	if code >= 500 {
		g.log.Error("gateway request failed", attrs...)
	} else {
		g.log.Warn("gateway request refused", attrs...)
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `X-SecretKey realm="lienthong"`)
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			w.Header().Set("Retry-After", fmt.Sprint(int(ri.GetRetryDelay().AsDuration().Seconds())+1))
		}
	}
	msg := st.Message()
	if st.Code() == codes.Internal {
		msg = "lỗi nội bộ của trục, hãy thử lại sau (internal error)"
	}
	writeJSON(w, code, failure(code, msg))
}

func httpStatus(st *status.Status) int {
	switch st.Code() {
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.FailedPrecondition, codes.AlreadyExists:
		return http.StatusConflict
	case codes.ResourceExhausted:
		for _, d := range st.Details() {
			if _, ok := d.(*errdetails.RetryInfo); ok {
				return http.StatusServiceUnavailable
			}
		}
		return http.StatusRequestEntityTooLarge
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusRequestTimeout
	case codes.Canceled:
		return 499
	}
	return http.StatusInternalServerError
}

func clip(s string) string {
	if len(s) > 80 {
		return strings.ToValidUTF8(s[:80], "") + "…"
	}
	return s
}

var errNoDocID = lienthong.Errorf(lienthong.KindInvalid, "thiếu docId: mã văn bản lấy từ getReceivedEdocList hoặc từ kết quả sendEdoc (missing docId)")
