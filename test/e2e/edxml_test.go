package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/edxmlconn"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// edxmlNode is one agency's desk with its edXML folder connector.
type edxmlNode struct {
	code  string
	desk  *desk.Desk
	conn  *edxmlconn.Connector
	watch *edxmlconn.Watcher
	out   string
}

func newEdxmlNode(t *testing.T, addr, dir, code string) *edxmlNode {
	t.Helper()
	c := client(t, addr, dir, code)
	root := t.TempDir()
	reg, err := register.Open(filepath.Join(root, "node.db"), register.Options{})
	must(t, err)
	d, err := desk.New(desk.Config{Client: c, Register: reg, InboxDir: filepath.Join(root, "inbox")})
	must(t, err)
	w := edxmlconn.ForDesk(d, filepath.Join(root, "edxml-in"), filepath.Join(root, "edxml-out"))
	w.Interval = time.Second
	n := &edxmlNode{code: code, desk: d, out: w.Out, conn: w.Conn, watch: w}
	return n
}

// receive fetches what the hub holds and writes it out as edXML; it
// returns the files written.
func (n *edxmlNode) receive(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var files []string
	_, err := n.desk.Receive(ctx, false, desk.Handlers{
		Document: func(in *desk.Incoming) error {
			p, err := n.watch.Document(in.Envelope, in.Accepted, in.Dir)
			files = append(files, p)
			return err
		},
		Notification: func(nt *desk.Notification) error {
			p, err := n.watch.Status(ctx, nt.Body)
			if p != "" {
				files = append(files, p)
			}
			return err
		},
	})
	must(t, err)
	return files
}

// edxmlPackage is testdata/NAME of package edxml (written by hand) with
// the sample province's codes, today's dates and real signed PDFs in
// place of its text attachments.
func edxmlPackage(t *testing.T, dir, name string, pdfs ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "edxml", "testdata", name))
	must(t, err)
	now := time.Now().In(lienthong.Zone())
	s := string(raw)
	r := strings.NewReplacer(
		"000.12.31.H53", commune, "000.13.31.H53", commune2,
		"2026/11/30", now.AddDate(0, 0, -1).Format("2006/01/02"), "2026/12/01", now.Format("2006/01/02"),
		"2026/12/15", now.AddDate(0, 0, 10).Format("2006/01/02"),
		"text/plain", "application/pdf", ".txt<", ".pdf<",
	)
	s = r.Replace(s)
	// Each ContentTransferEncoded gets the next PDF.
	re := regexp.MustCompile(`(<(?:edXML:)?ContentTransferEncoded[^>]*>)[^<]*(<)`)
	s = re.ReplaceAllStringFunc(s, func(m string) string {
		sub := re.FindStringSubmatch(m)
		pdf, err := os.ReadFile(pdfs[0])
		must(t, err)
		pdfs = pdfs[1:]
		enc := base64.StdEncoding.EncodeToString(pdf)
		var b strings.Builder
		b.WriteString(sub[1])
		for len(enc) > 64 { // .NET style line breaks, as in the golden file
			b.WriteString(enc[:64] + "&#13;\n")
			enc = enc[64:]
		}
		b.WriteString(enc)
		b.WriteString(sub[2])
		return b.String()
	})
	return []byte(s)
}

func readEdxml(t *testing.T, path string) (*edxml.Message, map[int][]byte) {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	bufs := map[int]*bytes.Buffer{}
	msg, err := edxml.Read(f, func(a edxml.Attachment) (io.Writer, error) {
		bufs[a.Index] = new(bytes.Buffer)
		return bufs[a.Index], nil
	}, edxml.Limits{})
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	out := map[int][]byte{}
	for i, b := range bufs {
		out[i] = b.Bytes()
	}
	return msg, out
}

// TestEdxmlRoundTrip sends a hand-written edXML package through a real
// hub and writes it out at the recipient: the same package apart from
// the trace headers (and the XMLDSig signature, which is the sender's).
// Then the recipient's steps come back to the sender as status messages.
func TestEdxmlRoundTrip(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender, rcpt := newEdxmlNode(t, h.Addr(), dir, district), newEdxmlNode(t, h.Addr(), dir, commune)
	pdf1, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "Công văn 123"})
	pdf2, _ := writePDF(t, dir, district, "b.pdf", samplepdf.Options{Title: "Phụ lục"})
	pkgPath := filepath.Join(t.TempDir(), "cv123.edxml")
	must(t, os.WriteFile(pkgPath, edxmlPackage(t, dir, "new.edxml", pdf1, pdf2), 0o644))

	imp, err := sender.conn.Import(ctx, pkgPath)
	must(t, err)
	in, inFiles := readEdxml(t, pkgPath)
	if want := edxml.MessageID(in.Package.Header.DocumentID, edxml.BusinessNew, ""); imp.MessageID != want {
		t.Errorf("message id %s, want %s", imp.MessageID, want)
	}
	// Importing the same package again is the same document (idempotent).
	again, err := sender.conn.Import(ctx, pkgPath)
	must(t, err)
	if again.MessageID != imp.MessageID {
		t.Errorf("second import sent %s, want %s", again.MessageID, imp.MessageID)
	}
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 1 {
		t.Errorf("hub holds %d documents after importing twice", st.Documents)
	}

	files := rcpt.receive(t)
	if len(files) != 1 || filepath.Base(files[0]) != imp.MessageID+".edxml" {
		t.Fatalf("recipient wrote %q", files)
	}
	out, outFiles := readEdxml(t, files[0])
	got, want := out.Package, in.Package
	if len(got.Traces) != 1 || got.Traces[0].OrganID != district {
		t.Errorf("trace headers %+v", got.Traces)
	}
	got.Traces, want.Traces, want.Signature = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the package:\n got %+v\nwant %+v", *got, *want)
	}
	if !reflect.DeepEqual(outFiles, inFiles) {
		t.Error("round trip changed the attachments")
	}

	// The recipient's step, as an edXML status at the sender.
	_, err = rcpt.desk.Report(ctx, imp.MessageID, lienthongv1.Status_STATUS_RECEIVED, "")
	must(t, err)
	files = sender.receive(t)
	if len(files) != 1 {
		t.Fatalf("sender wrote %q", files)
	}
	sm, _ := readEdxml(t, files[0])
	if s := sm.Status; s == nil || s.Code != edxml.CodeAccepted || s.From.OrganID != commune || s.ResponseFor.DocumentID != in.Package.Header.DocumentID {
		t.Errorf("status message %+v", sm.Status)
	}
}

// TestEdxmlRecall runs the recall flow through a real hub: 13 → 15 at one
// recipient (its copy deleted, marked recalled) and 13 → 16 at another,
// with who may ask and who may answer enforced.
func TestEdxmlRecall(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender := newEdxmlNode(t, h.Addr(), dir, district)
	r1, r2 := newEdxmlNode(t, h.Addr(), dir, commune), newEdxmlNode(t, h.Addr(), dir, commune2)
	pdf1, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "A"})
	pdf2, _ := writePDF(t, dir, district, "b.pdf", samplepdf.Options{Title: "B"})
	pkgPath := filepath.Join(t.TempDir(), "cv.edxml")
	must(t, os.WriteFile(pkgPath, edxmlPackage(t, dir, "new.edxml", pdf1, pdf2), 0o644))
	imp, err := sender.conn.Import(ctx, pkgPath)
	must(t, err)
	id := imp.MessageID

	// Before the recipient fetched it: revoke instead.
	if _, err := sender.desk.RequestRecall(ctx, id, commune, "Sai sót"); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "hãy thu hồi bằng `ltnode revoke`") {
		t.Errorf("recall before fetch: %v", err)
	}
	r1.receive(t)
	r2.receive(t)
	entry, err := r1.desk.Register().ReceivedDoc(id)
	must(t, err)
	if _, err := os.Stat(entry.Dir); err != nil {
		t.Fatal(err)
	}
	// Answering with no request pending.
	if _, err := r1.desk.AnswerRecall(ctx, id, true, ""); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "chưa đề nghị thu hồi") {
		t.Errorf("answer without a request: %v", err)
	}
	// Only the sender asks.
	if _, err := r1.desk.Client().RequestRecall(ctx, id, commune, ""); status.Code(err) != codes.PermissionDenied ||
		!strings.Contains(status.Convert(err).Message(), "chỉ nơi gửi") {
		t.Errorf("recipient asking for a recall: %v", err)
	}
	// Not a recipient of it, or none named.
	if _, err := sender.desk.RequestRecall(ctx, id, deptTC, ""); status.Code(err) != codes.NotFound ||
		!strings.Contains(status.Convert(err).Message(), "không gửi đến cơ quan "+deptTC) {
		t.Errorf("recall from a non-recipient: %v", err)
	}
	if _, err := sender.desk.RequestRecall(ctx, id, "", ""); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(status.Convert(err).Message(), "phải ghi nơi nhận") {
		t.Errorf("recall without a recipient: %v", err)
	}
	for _, r := range []string{commune, commune2} {
		_, err := sender.desk.RequestRecall(ctx, id, r, "Ban hành sai thẩm quyền")
		must(t, err)
	}
	// Only the recipient answers.
	if _, err := sender.desk.Client().ReportStatus(ctx, id, lienthongv1.Status_STATUS_RECALL_AGREED, ""); status.Code(err) != codes.PermissionDenied ||
		!strings.Contains(status.Convert(err).Message(), "chỉ nơi nhận trả lời") {
		t.Errorf("sender answering its own recall: %v", err)
	}
	for _, r := range []*edxmlNode{r1, r2} {
		files := r.receive(t)
		if len(files) != 1 {
			t.Fatalf("%s wrote %q", r.code, files)
		}
		m, _ := readEdxml(t, files[0])
		if s := m.Status; s == nil || s.Code != edxml.CodeRecallRequest || s.From.OrganID != district || s.Description != "Ban hành sai thẩm quyền" {
			t.Errorf("%s: recall request %+v", r.code, m.Status)
		}
		e, err := r.desk.Register().ReceivedDoc(id)
		must(t, err)
		if e.Status != lienthongv1.Status_STATUS_RECALL_REQUESTED {
			t.Errorf("%s: register status %v", r.code, e.Status)
		}
	}
	_, err = r1.desk.AnswerRecall(ctx, id, true, "")
	must(t, err)
	if _, err := r2.desk.AnswerRecall(ctx, id, false, ""); lienthong.ErrorKind(err) != lienthong.KindInvalid {
		t.Errorf("refusing without a reason: %v", err)
	}
	_, err = r2.desk.AnswerRecall(ctx, id, false, "Đã triển khai thực hiện")
	must(t, err)

	// Recall agreed: the copy is gone, the register says recalled, the
	// step is final.
	if _, err := os.Stat(entry.Dir); !os.IsNotExist(err) {
		t.Errorf("recalled document still in %s: %v", entry.Dir, err)
	}
	e1, err := r1.desk.Register().ReceivedDoc(id)
	must(t, err)
	if e1.Status != lienthongv1.Status_STATUS_RECALL_AGREED {
		t.Errorf("register status after agreeing: %v", e1.Status)
	}
	if _, err := r1.desk.Report(ctx, id, lienthongv1.Status_STATUS_IN_PROGRESS, ""); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("step after an agreed recall: %v", err)
	}
	// Recall refused: processing goes on.
	_, err = r2.desk.Report(ctx, id, lienthongv1.Status_STATUS_IN_PROGRESS, "")
	must(t, err)

	// The sender hears 15 from one, 16 from the other, as edXML.
	codesBy := map[string]edxml.StatusCode{}
	for _, f := range sender.receive(t) {
		m, _ := readEdxml(t, f)
		if m.Status.Code == edxml.CodeRecallAgreed || m.Status.Code == edxml.CodeRecallRefused {
			codesBy[m.Status.From.OrganID] = m.Status.Code
		}
	}
	if codesBy[commune] != edxml.CodeRecallAgreed || codesBy[commune2] != edxml.CodeRecallRefused {
		t.Errorf("sender's recall answers %v", codesBy)
	}
	tr, err := sender.desk.Track(ctx, id)
	must(t, err)
	steps := map[string]lienthongv1.Status{}
	for _, r := range tr.Recipients {
		steps[r.GetAgency()] = r.GetStatus()
	}
	if steps[commune] != lienthongv1.Status_STATUS_RECALL_AGREED || steps[commune2] != lienthongv1.Status_STATUS_IN_PROGRESS {
		t.Errorf("hub's steps %v", steps)
	}
}

// TestEdxmlBusiness applies update, replace and revoke packages (written
// by hand) to a document sent earlier as edXML.
func TestEdxmlBusiness(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender, rcpt := newEdxmlNode(t, h.Addr(), dir, district), newEdxmlNode(t, h.Addr(), dir, commune)
	pdf := func(name string) string {
		p, _ := writePDF(t, dir, district, name, samplepdf.Options{Title: name})
		return p
	}
	send := func(name string, pdfs ...string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		must(t, os.WriteFile(p, edxmlPackage(t, dir, name, pdfs...), 0o644))
		imp, err := sender.conn.Import(ctx, p)
		if err != nil {
			t.Fatalf("importing %s: %v", name, err)
		}
		return imp.MessageID
	}
	orig := send("new.edxml", pdf("a.pdf"), pdf("b.pdf"))
	rcpt.receive(t)
	upd := send("update.edxml", pdf("c.pdf"))
	repl := send("replace.edxml", pdf("d.pdf"))
	files := rcpt.receive(t)
	if len(files) != 2 {
		t.Fatalf("recipient wrote %q", files)
	}
	for _, f := range files {
		m, _ := readEdxml(t, f)
		if m.Package.Business.DocumentID != edxmlDocID(t) || m.Package.Business.DocType == edxml.BusinessNew {
			t.Errorf("%s: business %+v", f, m.Package.Business)
		}
	}
	rev := send("revoke.edxml", pdf("e.pdf"))
	links, err := h.Store().Links(ctx, orig)
	must(t, err)
	if want := []string{upd, repl, rev}; !sameSet(links, want) {
		t.Errorf("related messages %v, want %v", links, want)
	}
	tr, err := sender.desk.Track(ctx, orig)
	must(t, err)
	// commune2 had not fetched the original: the revocation withdrew it.
	for _, r := range tr.Recipients {
		if r.GetAgency() == commune2 && r.GetStatus() != lienthongv1.Status_STATUS_REVOKED {
			t.Errorf("%s at %v after the revocation", commune2, r.GetStatus())
		}
	}
}

func edxmlDocID(t *testing.T) string {
	t.Helper()
	return district + "," + time.Now().In(lienthong.Zone()).AddDate(0, 0, -1).Format("2006/01/02") + ",123/UBND-VP"
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[strings.ToLower(s)]++
	}
	for _, s := range b {
		m[strings.ToLower(s)]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestEdxmlFolder drops packages into the connector's folder: the good one
// is sent and moved to sent/, each bad one moved to failed/ with a reason
// a clerk can act on, and nothing of them reaches the hub or stays in the
// outbox or the work folder.
func TestEdxmlFolder(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	n := newEdxmlNode(t, h.Addr(), dir, district)
	pdf1, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "A"})
	pdf2, _ := writePDF(t, dir, district, "b.pdf", samplepdf.Options{Title: "B"})
	unsigned, _ := writePDF(t, dir, "", "u.pdf", samplepdf.Options{Title: "U"})
	good := edxmlPackage(t, dir, "new.edxml", pdf1, pdf2)
	must(t, os.MkdirAll(n.watch.In, 0o755))
	drop := map[string][]byte{
		"01-good.edxml":      good,
		"02-malformed.edxml": bytes.Replace(good, []byte("</edXML:Subject>"), []byte("</edXML:Subjec>"), 1),
		"03-not-mine.edxml":  bytes.ReplaceAll(good, []byte("<edXML:OrganId>"+district), []byte("<edXML:OrganId>"+deptTC)),
		"04-bomb.edxml": []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
			`<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol2;</edXML>`),
		"05-unsigned.edxml": bytes.Replace(edxmlPackage(t, dir, "new.edxml", unsigned, unsigned),
			[]byte("123/UBND-VP"), []byte("124/UBND-VP"), -1),
		"06-bad-base64.edxml": bytes.Replace(good, []byte("&#13;"), []byte("*"), 1),
		"07-namespace.edxml":  bytes.ReplaceAll(good, []byte(edxml.Namespace), []byte("http://example.com/edoc")),
		"08-no-subject.edxml": regexp.MustCompile(`<edXML:Subject>[^<]*</edXML:Subject>`).ReplaceAll(good, nil),
		"09-bad-date.edxml": regexp.MustCompile(`<edXML:PromulgationDate>[^<]*<`).ReplaceAll(good,
			[]byte("<edXML:PromulgationDate>31/12/2026<")),
		"10-nesting.edxml": bytes.Replace(good, []byte("<edXML:Content>"),
			[]byte(strings.Repeat("<x>", 1000)+strings.Repeat("</x>", 1000)+"<edXML:Content>"), 1),
		"11-over-size.edxml": bytes.Replace(good, []byte("<edXML:Content>"),
			[]byte("<!--"+strings.Repeat("-x", 600<<10)+"-->"+strings.Repeat("<x>y</x>", 100<<10)+"<edXML:Content>"), 1),
		"notes.txt": []byte("not a package"),
	}
	n.conn.Limits = edxml.Limits{MaxTotal: 1 << 20}
	for name, b := range drop {
		must(t, os.WriteFile(filepath.Join(n.watch.In, name), b, 0o644))
	}
	var events []edxmlconn.Event
	n.watch.Event = func(e edxmlconn.Event) { events = append(events, e) }
	handled, err := n.watch.Scan(ctx)
	must(t, err)
	if handled != 11 || len(events) != 11 {
		t.Fatalf("handled %d packages, %d events", handled, len(events))
	}
	if _, err := os.Stat(filepath.Join(n.watch.In, edxmlconn.SentDir, "01-good.edxml")); err != nil {
		t.Errorf("good package not in sent/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n.watch.In, "notes.txt")); err != nil {
		t.Errorf("notes.txt was touched: %v", err)
	}
	reasons := map[string]string{
		"02-malformed.edxml":  "tại phần tử <edXMLHeader/MessageHeader/Subject>, dòng 45: XML sai cú pháp",
		"03-not-mine.edxml":   "gói ghi nơi gửi " + deptTC + " nhưng nút này là của " + district,
		"04-bomb.edxml":       "không được chứa DTD hoặc khai báo thực thể",
		"05-unsigned.edxml":   "[FailedPrecondition]",
		"06-bad-base64.edxml": "dòng 152: nội dung base64 của tệp đính kèm 1 (cong-van-123.pdf) hỏng ở ký tự thứ 65",
		"07-namespace.edxml":  `không gian tên "http://example.com/edoc" không phải của QCVN 102:2016`,
		"08-no-subject.edxml": "thiếu phần tử bắt buộc <edXMLHeader/MessageHeader/Subject> (trích yếu), trong phần tử bắt đầu ở dòng 6",
		"09-bad-date.edxml":   `<edXMLHeader/MessageHeader/PromulgationInfo/PromulgationDate>, dòng 38: ngày "31/12/2026" sai`,
		"10-nesting.edxml":    "dòng 46: các phần tử lồng nhau quá 32 cấp",
		"11-over-size.edxml":  "gói vượt quá 1048576 byte (package over the size limit)",
	}
	for name, want := range reasons {
		p := filepath.Join(n.watch.In, edxmlconn.FailedDir, name)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s not in failed/: %v", name, err)
			continue
		}
		reason, err := os.ReadFile(p + edxmlconn.ReasonSuffix)
		if err != nil || !strings.Contains(string(reason), want) {
			t.Errorf("%s: reason %q (%v), want it to contain %q", name, reason, err, want)
		}
	}
	left, err := os.ReadDir(n.watch.In)
	must(t, err)
	if len(left) != 3 { // sent/, failed/, notes.txt
		t.Errorf("left in the folder: %v", left)
	}
	st, err := h.Store().Stats(ctx)
	must(t, err)
	if st.Documents != 1 || st.Blobs != 2 {
		t.Errorf("hub store %+v, want the good document only", st)
	}
	out, err := n.desk.Register().Outbox()
	must(t, err)
	if len(out) != 0 {
		t.Errorf("outbox holds %d documents", len(out))
	}
	work, err := os.ReadDir(n.conn.Work)
	must(t, err)
	if len(work) != 0 {
		t.Errorf("work folder holds %v", work)
	}
}

// TestEdxmlCLI runs ltnode edxml import and export as a clerk would.
func TestEdxmlCLI(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	pdf1, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "A"})
	pdf2, _ := writePDF(t, dir, district, "b.pdf", samplepdf.Options{Title: "B"})
	pkg := filepath.Join(t.TempDir(), "cv.edxml")
	must(t, os.WriteFile(pkg, edxmlPackage(t, dir, "new.edxml", pdf1, pdf2), 0o644))
	rc, stdout, stderr := ltnode(t, h.Addr(), dir, district, "edxml", "import", pkg)
	if rc != 0 || !strings.Contains(stdout, "Đã gửi gói edXML cv.edxml: văn bản 123/UBND-VP") {
		t.Fatalf("edxml import: exit %d\n%s%s", rc, stdout, stderr)
	}
	in, _ := readEdxml(t, pkg)
	id := edxml.MessageID(in.Package.Header.DocumentID, edxml.BusinessNew, "")
	inbox := t.TempDir()
	if rc, stdout, stderr := ltnode(t, h.Addr(), dir, commune, "inbox", "--out", inbox); rc != 0 {
		t.Fatalf("inbox: exit %d\n%s%s", rc, stdout, stderr)
	}
	out := t.TempDir()
	rc, stdout, stderr = ltnode(t, h.Addr(), dir, commune, "edxml", "export", id, "--out", out)
	if rc != 0 || strings.TrimSpace(stdout) != filepath.Join(out, id+".edxml") {
		t.Fatalf("edxml export: exit %d\n%s%s", rc, stdout, stderr)
	}
	m, _ := readEdxml(t, filepath.Join(out, id+".edxml"))
	if m.Package.Header.Subject != in.Package.Header.Subject {
		t.Errorf("exported subject %q", m.Package.Header.Subject)
	}
	// The sender exports the recipient's step as a status message.
	if rc, stdout, stderr := ltnode(t, h.Addr(), dir, commune, "status", id, "received"); rc != 0 {
		t.Fatalf("status: exit %d\n%s%s", rc, stdout, stderr)
	}
	rc, stdout, stderr = ltnode(t, h.Addr(), dir, district, "edxml", "export", id, "--out", out)
	lines := strings.Fields(stdout)
	if rc != 0 || len(lines) != 2 { // 01 delivered, 03 received
		t.Fatalf("edxml export of a sent document: exit %d\n%s%s", rc, stdout, stderr)
	}
	var got []edxml.StatusCode
	for _, l := range lines {
		m, _ := readEdxml(t, l)
		got = append(got, m.Status.Code)
	}
	if !reflect.DeepEqual(got, []edxml.StatusCode{edxml.CodeArrived, edxml.CodeAccepted}) {
		t.Errorf("exported status codes %v", got)
	}
	// A malformed package: exit code and a message with the line.
	bad := filepath.Join(t.TempDir(), "bad.edxml")
	must(t, os.WriteFile(bad, []byte("<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\n<a></b></edXML>"), 0o644))
	rc, _, stderr = ltnode(t, h.Addr(), dir, district, "edxml", "import", bad)
	if rc == 0 || !strings.Contains(stderr, "dòng 2: XML sai cú pháp") {
		t.Errorf("malformed import: exit %d, %s", rc, stderr)
	}
}

// TestEdxmlRun runs `ltnode run --edxml-in --edxml-out` for a sender and
// a recipient: a package dropped into the sender's folder comes out of
// the recipient's as edXML, and the recipient's step comes back to the
// sender's as a status message.
func TestEdxmlRun(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type folders struct{ in, out, inbox string }
	start := func(code string) (folders, func()) {
		root := t.TempDir()
		f := folders{filepath.Join(root, "in"), filepath.Join(root, "out"), filepath.Join(root, "inbox")}
		var stdout, stderr bytes.Buffer
		m := &nodecli.Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
			switch k {
			case "LTNODE_HUB":
				return h.Addr()
			case "LTNODE_ID":
				return provision.Layout{Dir: dir}.Agency(code)
			}
			return ""
		}}
		done := make(chan int, 1)
		go func() {
			done <- m.Run(ctx, []string{"run", "--out", f.inbox, "--edxml-in", f.in, "--edxml-out", f.out, "--interval", "100ms"})
		}()
		return f, func() {
			if rc := <-done; rc != 0 {
				t.Errorf("ltnode run (%s): exit %d\n%s%s", code, rc, stdout.String(), stderr.String())
			}
		}
	}
	sf, waitS := start(district)
	rf, waitR := start(commune)
	pdf1, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "A"})
	pdf2, _ := writePDF(t, dir, district, "b.pdf", samplepdf.Options{Title: "B"})
	pkg := edxmlPackage(t, dir, "new.edxml", pdf1, pdf2)
	must(t, os.MkdirAll(sf.in, 0o755))
	must(t, os.WriteFile(filepath.Join(sf.in, ".cv.tmp"), pkg, 0o644))
	must(t, os.Rename(filepath.Join(sf.in, ".cv.tmp"), filepath.Join(sf.in, "cv.edxml")))
	pkgCopy := filepath.Join(t.TempDir(), "cv.edxml")
	must(t, os.WriteFile(pkgCopy, pkg, 0o644))
	in, _ := readEdxml(t, pkgCopy)
	id := edxml.MessageID(in.Package.Header.DocumentID, edxml.BusinessNew, "")

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("still waiting for %s", what)
			}
		}
	}
	exists := func(p string) func() bool {
		return func() bool { _, err := os.Stat(p); return err == nil }
	}
	waitFor("the recipient's edXML", exists(filepath.Join(rf.out, id+".edxml")))
	waitFor("the package in sent/", exists(filepath.Join(sf.in, edxmlconn.SentDir, "cv.edxml")))
	out, _ := readEdxml(t, filepath.Join(rf.out, id+".edxml"))
	if out.Package.Header.Subject != in.Package.Header.Subject {
		t.Errorf("recipient's subject %q", out.Package.Header.Subject)
	}
	if rc, stdout, stderr := ltnode(t, h.Addr(), dir, commune, "--db", filepath.Join(t.TempDir(), "x.db"), "status", id, "received"); rc != 0 {
		t.Fatalf("status: exit %d\n%s%s", rc, stdout, stderr)
	}
	var status string
	waitFor("the sender's status message", func() bool {
		m, _ := filepath.Glob(filepath.Join(sf.out, id+"."+commune+".03.*.status.edxml"))
		if len(m) == 1 {
			status = m[0]
		}
		return len(m) == 1
	})
	sm, _ := readEdxml(t, status)
	if sm.Status.Code != edxml.CodeAccepted || sm.Status.From.OrganID != commune {
		t.Errorf("status %+v", sm.Status)
	}
	cancel()
	waitS()
	waitR()
}

// statusFile is an edXML status message as a product writes it (by hand
// from the field list).
func statusFile(from, code, description, documentID, number string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>` + from + `</OrganId></From>
        <ResponseFor>
          <OrganId>` + district + `</OrganId>
          <Code>` + number + `/UBND-VP</Code>
          <DocumentId>` + documentID + `</DocumentId>
        </ResponseFor>
        <StatusCode>` + code + `</StatusCode>
        <Description>` + description + `</Description>
        <Timestamp>` + edxml.FormatTimestamp(time.Now()) + `</Timestamp>
      </MessageHeader>
    </edXMLHeader>
  </edXMLEnvelope>
</edXML>
`)
}

// TestEdxmlStatusFiles: products report steps by dropping status
// messages into the folder: the recipient's 03, the sender's 13 and the
// recipient's 16 each reach the other side as edXML; a status about an
// unknown document fails with a reason.
func TestEdxmlStatusFiles(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	sender, rcpt := newEdxmlNode(t, h.Addr(), dir, district), newEdxmlNode(t, h.Addr(), dir, commune)
	pdf1, _ := writePDF(t, dir, district, "a.pdf", samplepdf.Options{Title: "A"})
	pdf2, _ := writePDF(t, dir, district, "b.pdf", samplepdf.Options{Title: "B"})
	pkg := filepath.Join(t.TempDir(), "cv.edxml")
	must(t, os.WriteFile(pkg, edxmlPackage(t, dir, "new.edxml", pdf1, pdf2), 0o644))
	imp, err := sender.conn.Import(ctx, pkg)
	must(t, err)
	docID := imp.Package.Header.DocumentID
	rcpt.receive(t)

	drop := func(n *edxmlNode, name string, b []byte) {
		t.Helper()
		must(t, os.MkdirAll(n.watch.In, 0o755))
		must(t, os.WriteFile(filepath.Join(n.watch.In, name), b, 0o644))
		if _, err := n.watch.Scan(ctx); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(n *edxmlNode, code edxml.StatusCode, from, description string) {
		t.Helper()
		for _, f := range n.receive(t) {
			m, _ := readEdxml(t, f)
			if s := m.Status; s != nil && s.Code == code && s.From.OrganID == from && s.Description == description {
				return
			}
		}
		t.Errorf("%s got no status %s from %s (%q)", n.code, code, from, description)
	}
	drop(rcpt, "03.edxml", statusFile(commune, "03", "Đã vào sổ", docID, "123"))
	expect(sender, edxml.CodeAccepted, commune, "Đã vào sổ")
	drop(sender, "13.edxml", statusFile(district, "13", "Sai thể thức", docID, "123"))
	expect(rcpt, edxml.CodeRecallRequest, district, "Sai thể thức")
	drop(rcpt, "16.edxml", statusFile(commune, "16", "Đã phân công xử lý", docID, "123"))
	expect(sender, edxml.CodeRecallRefused, commune, "Đã phân công xử lý")
	for _, n := range []*edxmlNode{sender, rcpt} {
		sent, err := os.ReadDir(filepath.Join(n.watch.In, edxmlconn.SentDir))
		must(t, err)
		failed, _ := os.ReadDir(filepath.Join(n.watch.In, edxmlconn.FailedDir))
		if len(failed) != 0 || len(sent) == 0 {
			t.Errorf("%s: sent %v, failed %v", n.code, sent, failed)
		}
	}
	drop(rcpt, "unknown.edxml", statusFile(commune, "05", "", district+",2020/01/01,9/UBND-VP", "9"))
	reason, err := os.ReadFile(filepath.Join(rcpt.watch.In, edxmlconn.FailedDir, "unknown.edxml"+edxmlconn.ReasonSuffix))
	if err != nil || !strings.Contains(string(reason), "không tìm thấy văn bản "+district+",2020/01/01,9/UBND-VP") {
		t.Errorf("status about an unknown document: %q, %v", reason, err)
	}
}
