package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/hub/exchange"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
	"github.com/lienthong/lienthong/signing/xmldsig"
)

// messageTypes are the SDKs' names of the business types.
var messageTypes = map[string]edxml.BusinessDocType{
	"edoc":        edxml.BusinessNew,
	"revocation":  edxml.BusinessRevoke,
	"update":      edxml.BusinessUpdate,
	"replacement": edxml.BusinessReplace,
}

func messageTypeOf(t edxml.BusinessDocType) string {
	for name, bt := range messageTypes {
		if bt == t {
			return name
		}
	}
	return "edoc"
}

// sendEdoc reads the uploaded package into the spool, checks its XML
// signature, converts it and sends it through the exchange as the
// caller's agency. Nothing is stored unless the exchange accepts it; the
// spool files go on every path.
func (g *Gateway) sendEdoc(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	select {
	case g.sends <- struct{}{}:
		defer func() { <-g.sends }()
	default:
		return lienthong.Errorf(lienthong.KindBusy,
			"cổng kết nối đang nhận %d gói tin cùng lúc; hãy gửi lại sau ít phút (gateway busy: %d uploads in progress)", cap(g.sends), cap(g.sends))
	}
	dir, err := os.MkdirTemp(g.cfg.Spool, "send-")
	if err != nil {
		return fmt.Errorf("creating spool: %w", err)
	}
	defer os.RemoveAll(dir)
	pkgPath, sum, fields, err := g.spoolUpload(r, dir)
	if err != nil {
		return err
	}
	mt := param(r, "messagetype", "messageType")
	if mt == "" {
		mt = fields["messagetype"]
	}
	want, known := messageTypes[strings.ToLower(mt)]
	if mt != "" && !known && !strings.EqualFold(mt, "status") {
		return lienthong.Errorf(lienthong.KindInvalid,
			"messageType %q không hợp lệ; dùng edoc, revocation, update, replacement hoặc status (unknown messageType)", clip(mt))
	}
	open := func() (io.ReadCloser, error) { return os.Open(pkgPath) }

	var roots, inter *x509.CertPool
	if g.cfg.Trust != nil {
		roots, inter = g.cfg.Trust()
	}
	sig, err := xmldsig.Verify(open, xmldsig.Options{AllowSHA1: g.cfg.AllowSHA1, Roots: roots, Intermediates: inter, Now: g.cfg.Now})
	if err != nil {
		return err
	}

	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	sink := func(a edxml.Attachment) (io.Writer, error) {
		f, err := os.Create(fmt.Sprintf("%s/att-%d", dir, len(files)))
		if err != nil {
			return nil, fmt.Errorf("spooling attachment: %w", err)
		}
		files = append(files, f)
		return f, nil
	}
	pf, err := os.Open(pkgPath)
	if err != nil {
		return fmt.Errorf("reading the spooled package: %w", err)
	}
	msg, err := edxml.Read(pf, sink, g.cfg.Limits)
	pf.Close()
	if err != nil {
		return err
	}
	if msg.Status != nil {
		if mt != "" && !strings.EqualFold(mt, "status") {
			return lienthong.Errorf(lienthong.KindInvalid,
				"messageType %q nhưng tệp là thông điệp trạng thái edXML (messageType does not match the package)", clip(mt))
		}
		return g.sendStatus(ctx, w, msg.Status)
	}
	p := msg.Package
	if strings.EqualFold(mt, "status") {
		return lienthong.Errorf(lienthong.KindInvalid, "messageType status nhưng tệp là gói văn bản (messageType does not match the package)")
	}
	if mt != "" && p.Business.DocType != want {
		return lienthong.Errorf(lienthong.KindInvalid,
			"messageType %q không khớp với gói tin (BussinessDocType %d, tức %q) (messageType does not match the package)",
			mt, p.Business.DocType, messageTypeOf(p.Business.DocType))
	}
	id := p.MessageID(hex.EncodeToString(sum[:]))
	env, err := p.Envelope(id, nil)
	if err != nil {
		return lienthong.Wrap(lienthong.KindInvalid, err, "không chuyển được gói tin edXML thành văn bản của trục (cannot convert the package)")
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return fmt.Errorf("encoding envelope: %w", err)
	}
	signature, err := envsig.Sign(g.cfg.Key, raw)
	if err != nil {
		return fmt.Errorf("signing envelope: %w", err)
	}
	readers := make([]io.Reader, len(files))
	for i, f := range files {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("reading spooled attachment: %w", err)
		}
		readers[i] = f
	}
	if sig.Present {
		ctx = exchange.WithPackageSignature(ctx, &lienthongv1.PackageSignature{
			Signer: sig.Signer, SignatureMethod: sig.SignatureMethod, DigestMethod: sig.DigestMethod,
			Trusted: sig.Trusted, Problems: sig.Problems, Certificate: sig.Certificate.Raw,
		})
	}
	resp, err := g.cfg.Exchange.SendFiles(ctx, &lienthongv1.SignedEnvelope{Envelope: raw, Signature: signature}, readers)
	if err != nil {
		return err
	}
	caller, _ := exchange.CallerFrom(ctx)
	g.log.Info("gateway document accepted", "system", exchange.SystemFrom(ctx), "agency", caller.GetCode(), "message_id", id,
		"duplicate", resp.GetDuplicate(), "package_signature", sig.Present, "verdict", resp.GetVerification().GetVerdict())
	out := ok("Gửi văn bản thành công (sent)")
	if resp.GetDuplicate() {
		out.ErrorDesc = "Văn bản đã được gửi trước đó, trục trả lại kết quả lần gửi đầu (duplicate)"
	}
	out.DocID = id
	out.Verification = verificationJSON(resp.GetVerification())
	out.PackageSignature = sig
	writeJSON(w, http.StatusOK, out)
	return nil
}

// spoolUpload copies the package part of a multipart upload to dir and
// returns its path and SHA-256, and the other small fields (names in
// lower case). A second package part is refused.
func (g *Gateway) spoolUpload(r *http.Request, dir string) (string, [32]byte, map[string]string, error) {
	var sum [32]byte
	fields := map[string]string{}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(ct, "multipart/") {
		return "", sum, nil, lienthong.Errorf(lienthong.KindInvalid,
			"sendEdoc cần yêu cầu multipart/form-data có trường edocFile chứa tệp .edxml; Content-Type nhận được: %q (not a multipart upload)", clip(r.Header.Get("Content-Type")))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return "", sum, nil, lienthong.Wrap(lienthong.KindInvalid, err, "yêu cầu multipart không đọc được (malformed multipart)")
	}
	limit := g.cfg.Limits
	if limit.MaxTotal <= 0 {
		limit = edxml.DefaultLimits()
	}
	dst := dir + "/package.edxml"
	found := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", sum, nil, lienthong.Wrap(lienthong.KindInvalid, err, "yêu cầu multipart không đọc được (malformed multipart)")
		}
		name := part.FormName()
		if name != "edocFile" && name != "file_doc" {
			if part.FileName() == "" && len(fields) < 20 {
				v, _ := io.ReadAll(io.LimitReader(part, 1<<10))
				fields[strings.ToLower(name)] = strings.TrimSpace(string(v))
			}
			part.Close()
			continue
		}
		if found {
			return "", sum, nil, lienthong.Errorf(lienthong.KindInvalid, "mỗi lần sendEdoc chỉ gửi một tệp edocFile (more than one package)")
		}
		found = true
		f, err := os.Create(dst)
		if err != nil {
			return "", sum, nil, fmt.Errorf("spooling package: %w", err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(part, limit.MaxTotal+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", sum, nil, lienthong.Wrap(lienthong.KindInvalid, err, "không nhận hết tệp edocFile (upload interrupted)")
		}
		if n > limit.MaxTotal {
			return "", sum, nil, lienthong.Errorf(lienthong.KindTooLarge, "tệp edocFile vượt %d byte (package too large)", limit.MaxTotal)
		}
		if n == 0 {
			return "", sum, nil, lienthong.Errorf(lienthong.KindInvalid, "tệp edocFile rỗng (empty package)")
		}
		copy(sum[:], h.Sum(nil))
	}
	if !found {
		return "", sum, nil, lienthong.Errorf(lienthong.KindInvalid,
			"thiếu trường edocFile: gửi tệp .edxml trong trường multipart tên edocFile (missing edocFile)")
	}
	return dst, sum, fields, nil
}

// verificationJSON is the hub's verification as the product reads it.
func verificationJSON(v *lienthongv1.Verification) any {
	if v == nil {
		return nil
	}
	type file struct {
		Name       string   `json:"name"`
		Verdict    string   `json:"verdict"`
		Indication string   `json:"indication,omitempty"`
		Signers    []string `json:"signers,omitempty"`
		Detail     string   `json:"detail,omitempty"`
	}
	out := struct {
		Verdict    string `json:"verdict"`
		Indication string `json:"indication,omitempty"`
		Files      []file `json:"files"`
	}{Verdict: v.GetVerdict(), Indication: v.GetIndication()}
	for _, f := range v.GetFiles() {
		out.Files = append(out.Files, file{f.GetName(), f.GetVerdict(), f.GetIndication(), f.GetSigners(), f.GetDetail()})
	}
	return out
}

// sendStatus applies an edXML status message a product sent: a step of
// a document addressed to the caller's agency, as updateStatus does, or
// its answer to a recall request (15, 16).
func (g *Gateway) sendStatus(ctx context.Context, w http.ResponseWriter, st *edxml.Status) error {
	caller, _ := exchange.CallerFrom(ctx)
	if st.From.OrganID != caller.GetCode() {
		return lienthong.Errorf(lienthong.KindPermission,
			"thông điệp trạng thái ghi nơi báo (From/OrganId) %q nhưng hệ thống %s được cấp cho cơ quan %s (status From is not the system's agency)",
			clip(st.From.OrganID), exchange.SystemFrom(ctx), caller.GetCode())
	}
	step, err := st.Code.Step()
	if err != nil {
		return err
	}
	if st.ResponseFor.DocumentID == "" {
		return lienthong.Errorf(lienthong.KindInvalid,
			"thông điệp trạng thái thiếu ResponseFor/DocumentId nên không biết văn bản nào (missing ResponseFor/DocumentId)")
	}
	id := edxml.MessageID(st.ResponseFor.DocumentID, edxml.BusinessNew, "")
	switch step {
	case lienthongv1.Status_STATUS_RECALL_REQUESTED:
		return lienthong.Errorf(lienthong.KindInvalid,
			"cổng chưa nhận đề nghị thu hồi (13); hãy gửi gói revocation để thu hồi văn bản (recall requests are not taken through the gateway)")
	case lienthongv1.Status_STATUS_RECALL_AGREED, lienthongv1.Status_STATUS_RECALL_REFUSED:
		if _, err := g.cfg.Exchange.ReportStatus(ctx, &lienthongv1.ReportStatusRequest{MessageId: id, Status: step, Reason: st.Description}); err != nil {
			return err
		}
	default:
		if step, err = g.applyStatus(ctx, id, step, st.Description); err != nil {
			return err
		}
	}
	out := ok("Cập nhật trạng thái thành công (status updated)")
	out.DocID = id
	out.Data = map[string]string{"status": statusWord(step, ""), "statusCode": statusCode(step), "status_desc": step.Label()}
	writeJSON(w, http.StatusOK, out)
	return nil
}
