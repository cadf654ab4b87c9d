package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/gateway"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pki"
	"github.com/lienthong/lienthong/signing/xmldsig/xmldsigtest"
)

// eoffice is an e-office product calling the gateway with nothing but
// net/http, as the products' SDKs do: parameters in headers, the package
// as a multipart field, JSON answers.
type eoffice struct {
	t      *testing.T
	base   string
	id     string
	secret string
	http   *http.Client
}

// gwAnswer is the SDKs' answer envelope.
type gwAnswer struct {
	Status           string          `json:"status"`
	ErrorCode        string          `json:"ErrorCode"`
	ErrorDesc        string          `json:"ErrorDesc"`
	DocID            string          `json:"DocId"`
	Data             json.RawMessage `json:"data"`
	Verification     json.RawMessage `json:"verification"`
	PackageSignature json.RawMessage `json:"packageSignature"`
	// code is the HTTP status.
	code int
}

type gwItem struct {
	DocID       string `json:"docId"`
	ServiceType string `json:"serviceType"`
	MessageType string `json:"messageType"`
	From        string `json:"from"`
	To          string `json:"to"`
	Status      string `json:"status"`
	StatusCode  string `json:"statusCode"`
	Subject     string `json:"subject"`
}

type gwSent struct {
	SenderDocID       string `json:"senderDocId"`
	FromCode          string `json:"fromCode"`
	ToCode            string `json:"toCode"`
	ReceiveStatus     string `json:"receiveStatus"`
	ReceiveStatusCode string `json:"receiveStatusCode"`
	ReceiveStatusDesc string `json:"receiveStatusDesc"`
}

// addSystem runs `lthub gateway add-system` and returns the credentials
// it prints once.
func addSystem(t *testing.T, dir, code string) (id, secret string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb}
	if rc := m.Run(context.Background(), []string{"gateway", "add-system", "--dir", dir, code}); rc != 0 {
		t.Fatalf("gateway add-system %s exit %d: %s", code, rc, errb.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "X-SystemId: "); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(l, "X-SecretKey: "); ok {
			secret = v
		}
	}
	if !strings.HasPrefix(id, code+".") || len(secret) != 43 {
		t.Fatalf("add-system printed %q", out.String())
	}
	return id, secret
}

// startGatewayHub serves dir with the gateway on TLS and returns it with
// an HTTP client trusting the province root.
func startGatewayHub(t *testing.T, dir string) (*runningHub, *http.Client) {
	t.Helper()
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Gateway: "127.0.0.1:0"})
	roots, err := pki.LoadCertificates(provision.Layout{Dir: dir}.CACert())
	must(t, err)
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(c.CloseIdleConnections)
	return h, c
}

func (e *eoffice) do(op string, headers map[string]string, body io.Reader, contentType string) gwAnswer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+"/"+op, body)
	must(e.t, err)
	if e.id != "" {
		req.Header.Set("X-SystemId", e.id)
	}
	if e.secret != "" {
		req.Header.Set("X-SecretKey", e.secret)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	must(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	must(e.t, err)
	var a gwAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		e.t.Fatalf("%s: HTTP %d, body not JSON: %q", op, resp.StatusCode, raw)
	}
	a.code = resp.StatusCode
	return a
}

// ok calls op and fails the test unless it succeeded.
func (e *eoffice) ok(op string, headers map[string]string) gwAnswer {
	e.t.Helper()
	a := e.do(op, headers, nil, "")
	if a.code != http.StatusOK || a.Status != "OK" || a.ErrorCode != "0" {
		e.t.Fatalf("%s %v: HTTP %d %+v", op, headers, a.code, a)
	}
	return a
}

// sendEdoc uploads pkg as the multipart field field.
func (e *eoffice) sendEdoc(field string, pkg []byte, messageType string) gwAnswer {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if messageType != "" {
		must(e.t, mw.WriteField("messagetype", messageType))
	}
	if field != "" {
		fw, err := mw.CreateFormFile(field, "edoc.edxml")
		must(e.t, err)
		fw.Write(pkg)
	}
	must(e.t, mw.Close())
	return e.do("sendEdoc", nil, &body, mw.FormDataContentType())
}

func (e *eoffice) received() []gwItem {
	e.t.Helper()
	var items []gwItem
	must(e.t, json.Unmarshal(e.ok("getReceivedEdocList", map[string]string{"servicetype": "eDoc", "messagetype": "edoc"}).Data, &items))
	return items
}

// buildPackage writes an edXML package from sender to recipients with the
// PDF at pdfPath, using the edxml writer as a product's builder would.
func buildPackage(t *testing.T, sender string, to []string, number, pdfPath string) []byte {
	t.Helper()
	info, err := os.Stat(pdfPath)
	must(t, err)
	p := &edxml.Package{Namespace: edxml.Namespace}
	p.Header.From = edxml.Organization{OrganID: sender, OrganName: "UBND xã"}
	for _, c := range to {
		p.Header.To = append(p.Header.To, edxml.Organization{OrganID: c})
	}
	p.Header.Code = edxml.Code{Number: number, Notation: "UBND-VP"}
	p.Header.Promulgation = edxml.Promulgation{Place: "Bến Tre", Date: time.Now().Format("2006-01-02")}
	p.Header.DocumentID = edxml.DocumentID(sender, p.Header.Promulgation.Date, number, "UBND-VP")
	p.Header.DocumentType = edxml.DocumentType{Type: "1", TypeName: "Công văn"}
	p.Header.Subject = "V/v kết nối phần mềm quản lý văn bản " + number
	p.Header.Signer = edxml.SignerInfo{FullName: "Nguyễn Văn A"}
	p.Header.Other.Priority = "0"
	p.Business = edxml.Business{DocumentID: p.Header.DocumentID, DocType: edxml.BusinessNew}
	p.Attachments = []edxml.Attachment{{Index: 0, ContentID: "cid:1", Name: filepath.Base(pdfPath), ContentType: "application/pdf", Size: info.Size()}}
	p.References = []edxml.Reference{{ContentID: "cid:1", ContentType: "application/pdf", AttachmentName: filepath.Base(pdfPath)}}
	var buf bytes.Buffer
	must(t, edxml.Write(&buf, p, func(edxml.Attachment) (io.ReadCloser, error) { return os.Open(pdfPath) }))
	return buf.Bytes()
}

// TestGatewayRoundTrip: a commune's e-office product sends a package
// through the gateway to the district (another product on the gateway)
// and the province (an ltnode); both receive it, report their steps, and
// the commune's product sees them; then a node sends to the district's
// product, which receives it as edXML.
func TestGatewayRoundTrip(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	did, dsecret := addSystem(t, dir, district)
	h, hc := startGatewayHub(t, dir)
	base := "https://" + h.GatewayAddr() + "/api/edoc" // any prefix: the product's configured URL
	communeApp := &eoffice{t: t, base: base, id: cid, secret: csecret, http: hc}
	districtApp := &eoffice{t: t, base: base, id: did, secret: dsecret, http: hc}

	pdf, pdfSum := writePDF(t, dir, commune, "cv-15.pdf", samplepdf.Options{Title: "Cong van 15", Pages: 2})
	pkg := buildPackage(t, commune, []string{district, province}, "15", pdf)

	sent := communeApp.sendEdoc("edocFile", pkg, "edoc")
	if sent.code != http.StatusOK || sent.Status != "OK" || sent.DocID == "" {
		t.Fatalf("sendEdoc: HTTP %d %+v", sent.code, sent)
	}
	var verification struct {
		Verdict string `json:"verdict"`
		Files   []struct {
			Name    string   `json:"name"`
			Verdict string   `json:"verdict"`
			Signers []string `json:"signers"`
		} `json:"files"`
	}
	must(t, json.Unmarshal(sent.Verification, &verification))
	if verification.Verdict != "valid" || len(verification.Files) != 1 || verification.Files[0].Name != "cv-15.pdf" {
		t.Fatalf("verification = %s", sent.Verification)
	}
	if string(sent.PackageSignature) != `{"present":false,"valid":false,"trusted":false}` {
		t.Fatalf("packageSignature = %s", sent.PackageSignature)
	}
	// The national SDK's field name and a re-send: the same document.
	again := communeApp.sendEdoc("file_doc", pkg, "")
	if again.code != http.StatusOK || again.DocID != sent.DocID || !strings.Contains(again.ErrorDesc, "duplicate") {
		t.Fatalf("re-send: HTTP %d %+v", again.code, again)
	}

	// The district's product polls, fetches, accepts, finishes.
	items := districtApp.received()
	if len(items) != 1 || items[0].DocID != sent.DocID || items[0].From != commune || items[0].To != district ||
		items[0].Status != "inbox" || items[0].MessageType != "edoc" || items[0].ServiceType != "eDoc" {
		t.Fatalf("district inbox = %+v", items)
	}
	got := districtApp.ok("getEdoc", map[string]string{"docId": sent.DocID, "filePath": "xml"})
	var b64 string
	must(t, json.Unmarshal(got.Data, &b64))
	raw, err := base64.StdEncoding.DecodeString(b64)
	must(t, err)
	var att bytes.Buffer
	msg, err := edxml.Read(bytes.NewReader(raw), func(edxml.Attachment) (io.Writer, error) { return &att, nil }, edxml.Limits{})
	must(t, err)
	if p := msg.Package; p == nil || p.Header.From.OrganID != commune || p.Header.Code.Number != "15" ||
		p.Header.Subject != "V/v kết nối phần mềm quản lý văn bản 15" || len(p.Attachments) != 1 || p.Attachments[0].Name != "cv-15.pdf" {
		t.Fatalf("package from getEdoc = %+v", msg.Package)
	}
	if sum := sha256.Sum256(att.Bytes()); hex.EncodeToString(sum[:]) != pdfSum {
		t.Fatal("the PDF from getEdoc differs from the one sent")
	}
	for _, st := range []string{"inbox", "acceptance", "processing", "done", "done", "inbox"} { // repeats: a product retrying
		a := districtApp.ok("updateStatus", map[string]string{"docId": sent.DocID, "status": st})
		if a.DocID != sent.DocID {
			t.Fatalf("updateStatus %s = %+v", st, a)
		}
	}
	if items := districtApp.received(); len(items) != 0 {
		t.Fatalf("district inbox after acknowledging = %+v", items)
	}

	// The province is an ltnode: it receives the same document and accepts it.
	rc, out, errs := ltnode(t, h.Addr(), dir, province, "inbox", "--out", t.TempDir(), "--json")
	if rc != 0 {
		t.Fatalf("province inbox exit %d: %s", rc, errs)
	}
	if in := inboxLines(t, out); len(in) != 1 || in[0].MessageID != sent.DocID || in[0].Sender != commune {
		t.Fatalf("province inbox = %+v", in)
	}
	if rc, _, errs := ltnode(t, h.Addr(), dir, province, "status", sent.DocID, "received"); rc != 0 {
		t.Fatalf("province status exit %d: %s", rc, errs)
	}

	// The commune's product sees both recipients' steps.
	var rows []gwSent
	must(t, json.Unmarshal(communeApp.ok("getSentEdocList", map[string]string{"docId": sent.DocID}).Data, &rows))
	slices.SortFunc(rows, func(a, b gwSent) int { return strings.Compare(a.ToCode, b.ToCode) })
	if len(rows) != 2 ||
		rows[0].ToCode != province || rows[0].ReceiveStatus != "acceptance" || rows[0].ReceiveStatusCode != "03" ||
		rows[1].ToCode != district || rows[1].ReceiveStatus != "done" || rows[1].ReceiveStatusCode != "06" || rows[1].FromCode != commune {
		t.Fatalf("getSentEdocList = %+v", rows)
	}
	// …and the status notifications, as status messages to fetch and acknowledge.
	var notices []gwItem
	for _, it := range communeApp.received() {
		if it.ServiceType == "status" {
			notices = append(notices, it)
		}
	}
	if len(notices) < 4 {
		t.Fatalf("commune's status notifications = %+v", notices)
	}
	st := communeApp.ok("getEdoc", map[string]string{"docId": notices[0].DocID})
	must(t, json.Unmarshal(st.Data, &b64))
	raw, err = base64.StdEncoding.DecodeString(b64)
	must(t, err)
	smsg, err := edxml.Read(bytes.NewReader(raw), nil, edxml.Limits{})
	must(t, err)
	if smsg.Status == nil || string(smsg.Status.Code) != notices[0].StatusCode {
		t.Fatalf("status message = %+v, notice %+v", smsg.Status, notices[0])
	}
	for _, n := range notices {
		communeApp.ok("updateStatus", map[string]string{"docId": n.DocID, "status": "done"})
	}
	for _, it := range communeApp.received() {
		if it.ServiceType == "status" {
			t.Fatalf("notification left after acknowledging: %+v", it)
		}
	}

	// A node sends to the district; its product receives edXML.
	pdf2, _ := writePDF(t, dir, province, "qd-7.pdf", samplepdf.Options{Title: "Quyet dinh 7"})
	rc, out, errs = ltnode(t, h.Addr(), dir, province, "send", "--to", district, "--file", pdf2,
		"--number", "7", "--notation", "QĐ-UBND", "--subject", "Quyết định 7", "--json")
	if rc != 0 {
		t.Fatalf("province send exit %d: %s", rc, errs)
	}
	fromNode := decodeJSON[sendJSON](t, out)
	items = districtApp.received()
	if len(items) != 1 || items[0].DocID != fromNode.MessageID || items[0].From != province || items[0].Subject != "Quyết định 7" {
		t.Fatalf("district inbox = %+v", items)
	}
	got = districtApp.ok("getEdoc", map[string]string{"docId": fromNode.MessageID})
	must(t, json.Unmarshal(got.Data, &b64))
	raw, err = base64.StdEncoding.DecodeString(b64)
	must(t, err)
	if msg, err := edxml.Read(bytes.NewReader(raw), nil, edxml.Limits{}); err != nil || msg.Package.Header.Code.Notation != "QĐ-UBND" {
		t.Fatalf("package of a node's document: %v %+v", err, msg)
	}
	districtApp.ok("updateStatus", map[string]string{"docId": fromNode.MessageID, "status": "rejection", "description": "Gửi nhầm nơi nhận"})
	rc, out, errs = ltnode(t, h.Addr(), dir, province, "track", fromNode.MessageID, "--json")
	if rc != 0 {
		t.Fatalf("track exit %d: %s", rc, errs)
	}
	if tr := decodeJSON[trackJSON](t, out); len(tr.Recipients) != 1 || tr.Recipients[0].Status != "rejected" {
		t.Fatalf("track = %+v", tr)
	}
}

// TestGatewayRefusals: wrong or missing credentials, another agency's
// documents, malformed uploads and a package in another agency's name
// each get a precise status and message, and nothing is stored.
func TestGatewayRefusals(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	did, dsecret := addSystem(t, dir, district)
	goneID, goneSecret := addSystem(t, dir, commune2)
	var out, errb bytes.Buffer
	if rc := (&hubcli.Main{Stdout: &out, Stderr: &errb}).Run(context.Background(), []string{"gateway", "remove-system", "--dir", dir, goneID}); rc != 0 {
		t.Fatalf("remove-system exit %d: %s", rc, errb.String())
	}
	out.Reset()
	if rc := (&hubcli.Main{Stdout: &out, Stderr: &errb}).Run(context.Background(), []string{"gateway", "list", "--dir", dir}); rc != 0 ||
		!strings.Contains(out.String(), cid+"  "+commune) || !strings.Contains(out.String(), did+"  "+district) || strings.Contains(out.String(), goneID) {
		t.Fatalf("gateway list exit %d:\n%s%s", rc, out.String(), errb.String())
	}
	h, hc := startGatewayHub(t, dir)
	base := "https://" + h.GatewayAddr()
	communeApp := &eoffice{t: t, base: base, id: cid, secret: csecret, http: hc}
	districtApp := &eoffice{t: t, base: base, id: did, secret: dsecret, http: hc}

	// A document for the province only: the district may not read it.
	pdf, _ := writePDF(t, dir, commune, "cv-16.pdf", samplepdf.Options{Title: "Cong van 16"})
	sent := communeApp.sendEdoc("edocFile", buildPackage(t, commune, []string{province}, "16", pdf), "edoc")
	if sent.code != http.StatusOK {
		t.Fatalf("sendEdoc: HTTP %d %+v", sent.code, sent)
	}
	stats := func() [3]int {
		st, err := h.Store().Stats(context.Background())
		must(t, err)
		spool, err := os.ReadDir(filepath.Join(gateway.SystemsDir(dir), "spool"))
		must(t, err)
		return [3]int{st.Documents, st.Blobs + st.TmpFiles, len(spool)}
	}
	before := stats()
	if before != [3]int{1, 1, 0} {
		t.Fatalf("store after one send = %v", before)
	}

	notMultipart := func(e *eoffice) gwAnswer {
		return e.do("sendEdoc", nil, strings.NewReader("<edXML/>"), "application/xml")
	}
	badMultipart := func(e *eoffice) gwAnswer {
		return e.do("sendEdoc", nil, strings.NewReader("--xyz\r\nContent-Disposition: form-data; name=\"edocFile\"\r\n\r\nabc"), "multipart/form-data; boundary=xyz")
	}
	other := buildPackage(t, district, []string{province}, "17", pdf)
	unsignedPDF, _ := writePDF(t, dir, "", "cv-18.pdf", samplepdf.Options{Title: "Cong van 18"})
	unsigned := buildPackage(t, commune, []string{province}, "18", unsignedPDF)
	for _, tc := range []struct {
		name string
		call func() gwAnswer
		code int
		want string
	}{
		{"no credentials", func() gwAnswer { return (&eoffice{t: t, base: base, http: hc}).do("getReceivedEdocList", nil, nil, "") },
			http.StatusUnauthorized, "missing X-SystemId / X-SecretKey"},
		{"wrong secret", func() gwAnswer {
			return (&eoffice{t: t, base: base, id: cid, secret: dsecret, http: hc}).do("getReceivedEdocList", nil, nil, "")
		}, http.StatusUnauthorized, "invalid X-SystemId or X-SecretKey"},
		{"revoked system", func() gwAnswer {
			return (&eoffice{t: t, base: base, id: goneID, secret: goneSecret, http: hc}).do("getReceivedEdocList", nil, nil, "")
		}, http.StatusUnauthorized, "invalid X-SystemId or X-SecretKey"},
		{"national SDK HMAC", func() gwAnswer {
			return (&eoffice{t: t, base: base, id: cid, http: hc}).do("getReceivedEdocList", map[string]string{"XroadVnpt-hash-header": "ab12"}, nil, "")
		}, http.StatusUnauthorized, "XroadVnpt HMAC authentication not supported"},
		{"another agency's document", func() gwAnswer {
			return districtApp.do("getEdoc", map[string]string{"docId": sent.DocID}, nil, "")
		}, http.StatusNotFound, "không gửi đến cơ quan " + district},
		{"another agency's inbox", func() gwAnswer {
			return districtApp.do("getReceivedEdocList", map[string]string{"organId": province}, nil, "")
		}, http.StatusForbidden, "may read only its own inbox"},
		{"status of another agency's document", func() gwAnswer {
			return districtApp.do("updateStatus", map[string]string{"docId": sent.DocID, "status": "acceptance"}, nil, "")
		}, http.StatusForbidden, "not a party to the message"},
		{"missing docId", func() gwAnswer { return districtApp.do("getEdoc", nil, nil, "") }, http.StatusBadRequest, "missing docId"},
		{"unknown status", func() gwAnswer {
			return districtApp.do("updateStatus", map[string]string{"docId": sent.DocID, "status": "seen"}, nil, "")
		}, http.StatusBadRequest, "unknown status"},
		{"not multipart", func() gwAnswer { return notMultipart(communeApp) }, http.StatusBadRequest, "not a multipart upload"},
		{"bad multipart", func() gwAnswer { return badMultipart(communeApp) }, http.StatusBadRequest, "upload interrupted"},
		{"missing edocFile", func() gwAnswer { return communeApp.sendEdoc("attachment", []byte("x"), "edoc") }, http.StatusBadRequest, "missing edocFile"},
		{"unknown messageType", func() gwAnswer { return communeApp.sendEdoc("edocFile", other, "circular") }, http.StatusBadRequest, "unknown messageType"},
		{"messageType not the package's", func() gwAnswer { return communeApp.sendEdoc("edocFile", other, "revocation") }, http.StatusBadRequest, "messageType does not match the package"},
		{"not edXML", func() gwAnswer { return communeApp.sendEdoc("edocFile", []byte("<html/>"), "edoc") }, http.StatusBadRequest, "edXML"},
		{"From another agency", func() gwAnswer { return communeApp.sendEdoc("edocFile", other, "edoc") },
			http.StatusForbidden, "sender does not match the system's agency"},
		{"unsigned PDF inside", func() gwAnswer { return communeApp.sendEdoc("edocFile", unsigned, "edoc") },
			http.StatusConflict, "unsigned document refused"},
		{"unknown operation", func() gwAnswer { return communeApp.do("deleteEdoc", nil, nil, "") }, http.StatusNotFound, "unknown operation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.call()
			if a.code != tc.code || a.Status != "FAIL" || a.ErrorCode != strconv.Itoa(tc.code) || !strings.Contains(a.ErrorDesc, tc.want) {
				t.Fatalf("HTTP %d %+v, want %d FAIL containing %q", a.code, a, tc.code, tc.want)
			}
			if after := stats(); after != before {
				t.Fatalf("store changed: %v → %v", before, after)
			}
		})
	}
	// The district's list never shows the province's document.
	if items := districtApp.received(); len(items) != 0 {
		t.Fatalf("district inbox = %+v", items)
	}
}

// TestGatewayPlainHTTPRefused: plain HTTP only on loopback.
func TestGatewayPlainHTTPRefused(t *testing.T) {
	dir := initHub(t)
	_, err := hub.Open(context.Background(), hub.Config{Dir: dir, Listen: "127.0.0.1:0", Gateway: "0.0.0.0:0", GatewayPlainLoopback: true})
	var se *hub.StartError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "plain HTTP refused off loopback") {
		t.Fatalf("hub.Open = %v", err)
	}
}

// TestGatewayPackageSignature: a package's XMLDSig signature is
// verified and reported; a tampered package and a legacy rsa-sha1 one
// are refused with nothing stored, the latter accepted once the hub
// runs with --gateway-allow-sha1.
func TestGatewayPackageSignature(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	h, hc := startGatewayHub(t, dir)
	app := &eoffice{t: t, base: "https://" + h.GatewayAddr(), id: cid, secret: csecret, http: hc}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Văn thư UBND xã 1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pkgFor := func(number string) string {
		pdf, _ := writePDF(t, dir, commune, "cv-"+number+".pdf", samplepdf.Options{Title: "Cong van " + number})
		pkg := string(buildPackage(t, commune, []string{district}, number, pdf))
		if !strings.Contains(pkg, "</edXML:edXMLHeader>") {
			t.Fatalf("package has no edXMLHeader end tag:\n%.600s", pkg)
		}
		return strings.Replace(pkg, "</edXML:edXMLHeader>", xmldsigtest.Placeholder+"</edXML:edXMLHeader>", 1)
	}
	count := func(h *runningHub) int {
		st, err := h.Store().Stats(context.Background())
		must(t, err)
		return st.Documents
	}

	signed := xmldsigtest.Sign(t, pkgFor("21"), key, cert, xmldsigtest.RSASHA256, xmldsigtest.SHA256, xmldsigtest.ExcC14N, crypto.SHA256)
	a := app.sendEdoc("edocFile", []byte(signed), "edoc")
	if a.code != http.StatusOK {
		t.Fatalf("signed package: HTTP %d %+v", a.code, a)
	}
	var sig struct {
		Present, Valid, Trusted bool
		Signer                  string
		SignatureMethod         string
		Problems                []string
	}
	must(t, json.Unmarshal(a.PackageSignature, &sig))
	if !sig.Present || !sig.Valid || sig.Trusted || sig.Signer != "Văn thư UBND xã 1" || sig.SignatureMethod != "rsa-sha256" ||
		len(sig.Problems) != 1 || !strings.Contains(sig.Problems[0], "signer not trusted") {
		t.Fatalf("packageSignature = %s", a.PackageSignature)
	}
	// Recorded with the document, for its recipients and Track.
	doc, err := h.Store().Document(context.Background(), a.DocID)
	must(t, err)
	if v := doc.Verification; v.GetGatewaySystem() != cid || v.GetPackageSignature().GetSigner() != "Văn thư UBND xã 1" ||
		v.GetPackageSignature().GetTrusted() || !bytes.Equal(v.GetPackageSignature().GetCertificate(), cert.Raw) {
		t.Fatalf("stored verification = %v", v)
	}

	legacy := xmldsigtest.Sign(t, pkgFor("22"), key, cert, xmldsigtest.RSASHA1, xmldsigtest.SHA1, xmldsigtest.ExcC14N, crypto.SHA1)
	for _, tc := range []struct {
		name string
		pkg  string
		code int
		want string
	}{
		{"tampered", strings.Replace(xmldsigtest.Sign(t, pkgFor("23"), key, cert, xmldsigtest.RSASHA256, xmldsigtest.SHA256, xmldsigtest.ExcC14N, crypto.SHA256),
			"V/v kết nối", "V/v ngắt kết nối", 1), http.StatusBadRequest, "package digest mismatch"},
		{"rsa-sha1", legacy, http.StatusConflict, "--gateway-allow-sha1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := count(h)
			a := app.sendEdoc("edocFile", []byte(tc.pkg), "edoc")
			if a.code != tc.code || !strings.Contains(a.ErrorDesc, tc.want) {
				t.Fatalf("HTTP %d %+v, want %d containing %q", a.code, a, tc.code, tc.want)
			}
			if after := count(h); after != before {
				t.Fatalf("documents %d → %d", before, after)
			}
		})
	}

	// The legacy sender is accepted by a hub started with the flag.
	h.stop()
	h2 := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Gateway: "127.0.0.1:0", GatewayAllowSHA1: true})
	app.base = "https://" + h2.GatewayAddr()
	a = app.sendEdoc("edocFile", []byte(legacy), "edoc")
	must(t, json.Unmarshal(a.PackageSignature, &sig))
	if a.code != http.StatusOK || !sig.Valid || sig.SignatureMethod != "rsa-sha1" {
		t.Fatalf("legacy package with --gateway-allow-sha1: HTTP %d %+v", a.code, a)
	}
}

// TestGatewayRevocation: a product revokes a document it sent through
// the gateway; the recipient's product, which had not fetched it, sees
// only the revocation, as a node would.
func TestGatewayRevocation(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	did, dsecret := addSystem(t, dir, district)
	h, hc := startGatewayHub(t, dir)
	base := "https://" + h.GatewayAddr()
	communeApp := &eoffice{t: t, base: base, id: cid, secret: csecret, http: hc}
	districtApp := &eoffice{t: t, base: base, id: did, secret: dsecret, http: hc}

	pdf, _ := writePDF(t, dir, commune, "cv-30.pdf", samplepdf.Options{Title: "Cong van 30"})
	orig := communeApp.sendEdoc("edocFile", buildPackage(t, commune, []string{district}, "30", pdf), "edoc")
	if orig.code != http.StatusOK {
		t.Fatalf("sendEdoc: HTTP %d %+v", orig.code, orig)
	}
	// The revocation names the original by its edXML DocumentId.
	p := &edxml.Package{Namespace: edxml.Namespace}
	p.Header.From = edxml.Organization{OrganID: commune}
	p.Header.To = []edxml.Organization{{OrganID: district}}
	p.Header.Code = edxml.Code{Number: "31", Notation: "UBND-VP"}
	p.Header.Promulgation = edxml.Promulgation{Date: time.Now().Format("2006-01-02")}
	p.Header.DocumentID = edxml.DocumentID(commune, p.Header.Promulgation.Date, "31", "UBND-VP")
	p.Header.DocumentType = edxml.DocumentType{Type: "1", TypeName: "Công văn"}
	p.Header.Subject = "Thu hồi công văn 30"
	p.Header.Signer = edxml.SignerInfo{FullName: "Nguyễn Văn A"}
	p.Business = edxml.Business{DocType: edxml.BusinessRevoke, Reason: "Ban hành nhầm",
		DocumentID: edxml.DocumentID(commune, time.Now().Format("2006-01-02"), "30", "UBND-VP")}
	// The hub wants the revocation notice itself as a file, as ltnode send --revokes does.
	notice, _ := writePDF(t, dir, commune, "thu-hoi.pdf", samplepdf.Options{Title: "Thu hoi 30"})
	info, err := os.Stat(notice)
	must(t, err)
	p.Attachments = []edxml.Attachment{{ContentID: "cid:1", Name: "thu-hoi.pdf", ContentType: "application/pdf", Size: info.Size()}}
	p.References = []edxml.Reference{{ContentID: "cid:1", ContentType: "application/pdf", AttachmentName: "thu-hoi.pdf"}}
	var buf bytes.Buffer
	must(t, edxml.Write(&buf, p, func(edxml.Attachment) (io.ReadCloser, error) { return os.Open(notice) }))
	rev := communeApp.sendEdoc("edocFile", buf.Bytes(), "revocation")
	if rev.code != http.StatusOK || rev.DocID == orig.DocID {
		t.Fatalf("revocation: HTTP %d %+v", rev.code, rev)
	}
	items := districtApp.received()
	if len(items) != 1 || items[0].DocID != rev.DocID || items[0].MessageType != "revocation" {
		t.Fatalf("district inbox after the revocation = %+v", items)
	}
	var rows []gwSent
	must(t, json.Unmarshal(communeApp.ok("getSentEdocList", map[string]string{"docId": orig.DocID}).Data, &rows))
	if len(rows) != 1 || rows[0].ToCode != district || rows[0].ReceiveStatus != "revocation" {
		t.Fatalf("original after revocation = %+v", rows)
	}
}

// TestGatewayDamagedFile: a stored file found damaged while a product
// fetches it cuts the answer short (never a whole damaged file) and
// quarantines the document, as a node's delivery does: it leaves the
// product's list and the sender's product sees "fail".
func TestGatewayDamagedFile(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	did, dsecret := addSystem(t, dir, district)
	h, hc := startGatewayHub(t, dir)
	base := "https://" + h.GatewayAddr()
	communeApp := &eoffice{t: t, base: base, id: cid, secret: csecret, http: hc}
	districtApp := &eoffice{t: t, base: base, id: did, secret: dsecret, http: hc}

	pdf, sum := writePDF(t, dir, commune, "cv-40.pdf", samplepdf.Options{Title: "Cong van 40", PadBytes: 200 << 10})
	sent := communeApp.sendEdoc("edocFile", buildPackage(t, commune, []string{district}, "40", pdf), "edoc")
	if sent.code != http.StatusOK {
		t.Fatalf("sendEdoc: HTTP %d %+v", sent.code, sent)
	}
	damageBlob(t, dir, sum)

	req, err := http.NewRequest(http.MethodPost, base+"/getEdoc", nil)
	must(t, err)
	req.Header.Set("X-SystemId", did)
	req.Header.Set("X-SecretKey", dsecret)
	req.Header.Set("docId", sent.DocID)
	resp, err := hc.Do(req)
	if err == nil {
		raw, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil && json.Valid(raw) {
			t.Fatalf("getEdoc of a damaged file answered whole: HTTP %d %.200s", resp.StatusCode, raw)
		}
	}
	// The document has left the list; the recipient is told why.
	if items := districtApp.received(); len(items) != 1 || items[0].ServiceType != "status" || items[0].Status != "fail" {
		t.Fatalf("district inbox after the quarantine = %+v", items)
	}
	var rows []gwSent
	must(t, json.Unmarshal(communeApp.ok("getSentEdocList", map[string]string{"docId": sent.DocID}).Data, &rows))
	if len(rows) != 1 || rows[0].ReceiveStatus != "fail" || !strings.Contains(rows[0].ReceiveStatusDesc, "hỏng trên trục") {
		t.Fatalf("sender's view after the quarantine = %+v", rows)
	}
}

// untilQuote reads r up to (not including) the first '"'.
type untilQuote struct {
	r    *bufio.Reader
	done bool
}

func (u *untilQuote) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		b, err := u.r.ReadByte()
		if err != nil {
			return n, err
		}
		if b == '"' {
			u.done = true
			break
		}
		p[n] = b
		n++
	}
	if n == 0 && u.done {
		return 0, io.EOF
	}
	return n, nil
}

// A package with a 100 MB attachment goes through the gateway, in and
// out, while the heap of the process (hub, gateway and the product's
// client) stays under 64 MB: upload, spool, edXML reading, exchange,
// edXML writing and the base64 answer all stream.
func TestGatewayHundredMegabytePackage(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB transfer skipped in -short mode")
	}
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	did, dsecret := addSystem(t, dir, district)
	h, hc := startGatewayHub(t, dir)
	base := "https://" + h.GatewayAddr()
	pdf, sum := writePDF(t, dir, commune, "ban-do.pdf", samplepdf.Options{Title: "Ban do quy hoach", PadBytes: 100 << 20})
	pkgPath := filepath.Join(t.TempDir(), "ban-do.edxml")
	f, err := os.Create(pkgPath)
	must(t, err)
	info, err := os.Stat(pdf)
	must(t, err)
	p := &edxml.Package{Namespace: edxml.Namespace}
	p.Header.From = edxml.Organization{OrganID: commune}
	p.Header.To = []edxml.Organization{{OrganID: district}}
	p.Header.Code = edxml.Code{Number: "100", Notation: "QH-UBND"}
	p.Header.Promulgation = edxml.Promulgation{Date: time.Now().Format("2006-01-02")}
	p.Header.DocumentID = edxml.DocumentID(commune, p.Header.Promulgation.Date, "100", "QH-UBND")
	p.Header.DocumentType = edxml.DocumentType{Type: "1", TypeName: "Quyết định"}
	p.Header.Subject = "Bản đồ quy hoạch"
	p.Header.Signer = edxml.SignerInfo{FullName: "Nguyễn Văn A"}
	p.Attachments = []edxml.Attachment{{ContentID: "cid:1", Name: "ban-do.pdf", ContentType: "application/pdf", Size: info.Size()}}
	must(t, edxml.Write(f, p, func(edxml.Attachment) (io.ReadCloser, error) { return os.Open(pdf) }))
	must(t, f.Close())

	runtime.GC()
	s := sampleHeap(2 * time.Millisecond)
	// Upload as a product would, streaming the file into the multipart body.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("edocFile", "ban-do.edxml")
		if err == nil {
			var in *os.File
			if in, err = os.Open(pkgPath); err == nil {
				_, err = io.Copy(fw, in)
				in.Close()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, base+"/sendEdoc", pr)
	must(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-SystemId", cid)
	req.Header.Set("X-SecretKey", csecret)
	req.Header.Set("messagetype", "edoc")
	resp, err := hc.Do(req)
	must(t, err)
	var sent gwAnswer
	must(t, json.NewDecoder(resp.Body).Decode(&sent))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || sent.Status != "OK" {
		t.Fatalf("sendEdoc: HTTP %d %+v", resp.StatusCode, sent)
	}

	// Fetch it back, decoding the base64 "data" and the package as they stream.
	req, err = http.NewRequest(http.MethodPost, base+"/getEdoc", nil)
	must(t, err)
	req.Header.Set("X-SystemId", did)
	req.Header.Set("X-SecretKey", dsecret)
	req.Header.Set("docId", sent.DocID)
	resp, err = hc.Do(req)
	must(t, err)
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var head []byte
	for !bytes.HasSuffix(head, []byte(`"data":"`)) {
		b, err := br.ReadByte()
		if err != nil || len(head) > 4096 {
			t.Fatalf("getEdoc: HTTP %d, no data in %q (%v)", resp.StatusCode, head, err)
		}
		head = append(head, b)
	}
	h256 := sha256.New()
	msg, err := edxml.Read(base64.NewDecoder(base64.StdEncoding, &untilQuote{r: br}),
		func(edxml.Attachment) (io.Writer, error) { return h256, nil }, edxml.Limits{})
	must(t, err)
	peak := s.Stop()
	if msg.Package == nil || len(msg.Package.Attachments) != 1 || hex.EncodeToString(h256.Sum(nil)) != sum {
		t.Fatalf("package back: %+v", msg.Package)
	}
	t.Logf("peak live heap during a 100 MB sendEdoc + getEdoc: %.1f MB", float64(peak)/(1<<20))
	if peak >= 64<<20 {
		t.Errorf("peak heap %.1f MB, want < 64 MB", float64(peak)/(1<<20))
	}
}

// TestGatewayServeFlags runs `lthub serve --gateway` as an operator
// would: the gateway answers a product; plain HTTP off loopback stops
// the start with the reason.
func TestGatewayServeFlags(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *hub.Hub, 1)
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb, Ready: func(h *hub.Hub) { ready <- h }}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--gateway-plain-loopback", "--log-level", "error"})
	}()
	var h *hub.Hub
	select {
	case h = <-ready:
	case rc := <-done:
		t.Fatalf("serve exit %d: %s", rc, errb.String())
	}
	if !strings.Contains(out.String(), "lthub: e-office gateway on http://"+h.GatewayAddr()+"/") {
		t.Fatalf("serve printed %q", out.String())
	}
	app := &eoffice{t: t, base: "http://" + h.GatewayAddr(), id: cid, secret: csecret, http: &http.Client{Timeout: time.Minute}}
	var agencies []struct{ Code, Name, Status string }
	must(t, json.Unmarshal(app.ok("getAgenciesList", nil).Data, &agencies))
	if len(agencies) != len(provision.SampleProvince()) || agencies[0].Status != "active" {
		t.Fatalf("getAgenciesList = %+v", agencies)
	}
	cancel()
	if rc := <-done; rc != 0 {
		t.Fatalf("serve exit %d after cancel: %s", rc, errb.String())
	}

	errb.Reset()
	rc := (&hubcli.Main{Stdout: &out, Stderr: &errb}).Run(context.Background(),
		[]string{"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--gateway", "0.0.0.0:0", "--gateway-plain-loopback"})
	if rc == 0 || !strings.Contains(errb.String(), "plain HTTP refused off loopback") {
		t.Fatalf("serve with plain HTTP off loopback: exit %d, %s", rc, errb.String())
	}
}

// TestGatewayStatusMessage: a product may also report a step by sending
// an edXML status message to sendEdoc; one naming another agency as its
// From is refused.
func TestGatewayStatusMessage(t *testing.T) {
	dir := initHub(t)
	cid, csecret := addSystem(t, dir, commune)
	did, dsecret := addSystem(t, dir, district)
	h, hc := startGatewayHub(t, dir)
	base := "https://" + h.GatewayAddr()
	communeApp := &eoffice{t: t, base: base, id: cid, secret: csecret, http: hc}
	districtApp := &eoffice{t: t, base: base, id: did, secret: dsecret, http: hc}
	pdf, _ := writePDF(t, dir, commune, "cv-50.pdf", samplepdf.Options{Title: "Cong van 50"})
	sent := communeApp.sendEdoc("edocFile", buildPackage(t, commune, []string{district}, "50", pdf), "edoc")
	if sent.code != http.StatusOK {
		t.Fatalf("sendEdoc: HTTP %d %+v", sent.code, sent)
	}
	statusMsg := func(from string, code edxml.StatusCode) []byte {
		var buf bytes.Buffer
		must(t, edxml.WriteStatus(&buf, &edxml.Status{
			Namespace: edxml.Namespace, From: edxml.Organization{OrganID: from}, Code: code,
			ResponseFor: edxml.ResponseFor{OrganID: commune, Code: "50/UBND-VP", PromulgationDate: time.Now().Format("2006-01-02"),
				DocumentID: edxml.DocumentID(commune, time.Now().Format("2006-01-02"), "50", "UBND-VP")},
			Description: "Đã vào sổ", Timestamp: time.Now(),
		}))
		return buf.Bytes()
	}
	if a := districtApp.sendEdoc("edocFile", statusMsg(commune, edxml.CodeAccepted), "status"); a.code != http.StatusForbidden ||
		!strings.Contains(a.ErrorDesc, "status From is not the system's agency") {
		t.Fatalf("status in another agency's name: HTTP %d %+v", a.code, a)
	}
	a := districtApp.sendEdoc("edocFile", statusMsg(district, edxml.CodeAccepted), "status")
	if a.code != http.StatusOK || a.DocID != sent.DocID {
		t.Fatalf("status message: HTTP %d %+v", a.code, a)
	}
	var rows []gwSent
	must(t, json.Unmarshal(communeApp.ok("getSentEdocList", map[string]string{"docId": sent.DocID}).Data, &rows))
	if len(rows) != 1 || rows[0].ReceiveStatus != "acceptance" || !strings.Contains(rows[0].ReceiveStatusDesc, "Đã vào sổ") {
		t.Fatalf("getSentEdocList = %+v", rows)
	}
}
