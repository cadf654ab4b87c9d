package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/browser"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/nodecli"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pkcs11"
	"github.com/lienthong/lienthong/signing/pki"
)

// clerkDesk is `ltnode serve --http` running for one agency, and a
// browser tab on its pages.
type clerkDesk struct {
	code string
	link string
	tab  *browser.Tab
	out  *syncBuffer
	stop func() int
}

// serveDesk runs `ltnode serve --http 127.0.0.1:0` as code, reads the link
// it prints and opens it in a new headless browser.
func serveDesk(t *testing.T, ctx context.Context, addr, dir, code string) *clerkDesk {
	t.Helper()
	out := new(syncBuffer)
	m := &nodecli.Main{Stdout: out, Stderr: out, Getenv: func(k string) string {
		switch k {
		case "LTNODE_HUB":
			return addr
		case "LTNODE_ID":
			return provision.Layout{Dir: dir}.Agency(code)
		}
		return ""
	}}
	runCtx, cancel := context.WithCancel(context.Background())
	rc := make(chan int, 1)
	go func() {
		rc <- m.Run(runCtx, []string{"serve", "--http", "127.0.0.1:0", "--out", filepath.Join(t.TempDir(), "den"), "--interval", "300ms"})
	}()
	var once sync.Once
	code0 := -1
	d := &clerkDesk{code: code, out: out}
	d.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code0 = <-rc:
			case <-time.After(30 * time.Second):
				t.Errorf("ltnode serve as %s did not stop", code)
			}
		})
		return code0
	}
	t.Cleanup(func() {
		if rc := d.stop(); rc != 0 {
			t.Errorf("ltnode serve as %s exited %d:\n%s", code, rc, out.String())
		}
	})
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+`)
	deadline := time.Now().Add(30 * time.Second)
	for d.link == "" {
		d.link = link.FindString(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("ltnode serve printed no link:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tab, err := browser.NewTab(ctx, 1366, 900)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of %s's page: %q", code, tab.Logs())
		}
		tab.Close()
	})
	d.tab = tab
	d.open(t, ctx, d.link)
	return d
}

// base is the desk's address, without the token.
func (d *clerkDesk) base() string { return d.link[:strings.Index(d.link, "/?token=")] }

func (d *clerkDesk) open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = d.base() + url
	}
	if err := d.tab.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	d.wait(t, ctx, `document.getElementById("main") !== null`)
}

func (d *clerkDesk) eval(t *testing.T, ctx context.Context, js string, out any) {
	t.Helper()
	if err := d.tab.Eval(ctx, js, out); err != nil {
		t.Fatalf("%s: %v", d.code, err)
	}
}

func (d *clerkDesk) text(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	var s string
	d.eval(t, ctx, fmt.Sprintf(`(function(){const e=document.querySelector(%q); return e ? e.textContent.trim() : "<none>"})()`, selector), &s)
	return s
}

func (d *clerkDesk) attr(t *testing.T, ctx context.Context, selector, name string) string {
	t.Helper()
	var s string
	d.eval(t, ctx, fmt.Sprintf(`(function(){const e=document.querySelector(%q); return e ? (e.getAttribute(%q) || "") : "<none>"})()`, selector, name), &s)
	return s
}

func (d *clerkDesk) wait(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := d.tab.WaitFor(wctx, cond); err != nil {
		var body string
		_ = d.tab.Eval(ctx, `location.href + "\n" + document.body.innerText`, &body)
		t.Fatalf("%s: %v\npage: %s", d.code, err, body)
	}
}

func (d *clerkDesk) shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := d.tab.Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// sent waits for the compose page's answer: the result page showing the
// element of id want (accepted, queued), else fails with the error the
// page shows.
func (d *clerkDesk) sent(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	d.wait(t, ctx, fmt.Sprintf(`(location.pathname.startsWith("/di/") && document.getElementById(%q) !== null) ||
		(document.getElementById("send-error") && !document.getElementById("send-error").hidden)`, want))
	if e := d.text(t, ctx, "#send-error"); e != "<none>" && e != "" {
		t.Fatalf("%s: sending failed: %s", d.code, e)
	}
}

// fill sets form fields by selector, as typing would.
func (d *clerkDesk) fill(t *testing.T, ctx context.Context, fields map[string]string) {
	t.Helper()
	for sel, v := range fields {
		d.eval(t, ctx, fmt.Sprintf(`(function(){const e=document.querySelector(%q); if(!e) throw new Error("no "+%q);
			if (e.type === "checkbox" || e.type === "radio") { e.checked = %q === "on"; } else { e.value = %q; }
			e.dispatchEvent(new Event("input", {bubbles:true})); e.dispatchEvent(new Event("change", {bubbles:true})); return true})()`, sel, sel, v, v), nil)
	}
}

func (d *clerkDesk) click(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	d.eval(t, ctx, fmt.Sprintf(`(function(){const e=document.querySelector(%q); if(!e) throw new Error("no "+%q); e.click(); return true})()`, selector, selector), nil)
}

// artefacts is where screenshots go: $LIENTHONG_TEST_ARTEFACTS if set,
// else a temporary folder; named in the log either way.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LIENTHONG_TEST_ARTEFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, t.Name())
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

// jsonFind returns the object of a decoded JSON value whose message_id is
// id (searched at any depth), or nil.
func jsonFind(v any, id string) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		if x["message_id"] == id {
			return x
		}
		for _, e := range x {
			if m := jsonFind(e, id); m != nil {
				return m
			}
		}
	case []any:
		for _, e := range x {
			if m := jsonFind(e, id); m != nil {
				return m
			}
		}
	}
	return nil
}

// trackStatuses is `ltnode track ID --json` as code: each recipient's
// status by agency.
func trackStatuses(t *testing.T, addr, dir, code, id string) map[string]string {
	t.Helper()
	rc, out, errs := ltnode(t, addr, dir, code, "track", id, "--json")
	if rc != 0 {
		t.Fatalf("ltnode track %s: exit %d: %s", id, rc, errs)
	}
	var v struct {
		Recipients []struct{ Agency, Status string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("ltnode track --json: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, r := range v.Recipients {
		m[r.Agency] = r.Status
	}
	return m
}

const softhsmModule = "/usr/lib/softhsm/libsofthsm2.so"

// tokenSigner makes a SoftHSM2 token holding a key labelled "lanh-dao"
// and certifies it with the province CA of hub directory dir, as the
// national CA would a leader's USB token. It returns the token's label and
// PIN and the certificate's PEM file; ok is false (the test logged why)
// when SoftHSM2 is not installed.
func tokenSigner(t *testing.T, dir, commonName string) (label, pin, certFile string, ok bool) {
	t.Helper()
	if _, err := os.Stat(softhsmModule); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (apt-get install softhsm2)", softhsmModule, err)
		}
		t.Logf("not signing with a token: %s not found: apt-get install softhsm2", softhsmModule)
		return "", "", "", false
	}
	tmp := t.TempDir()
	tokens := filepath.Join(tmp, "tokens")
	must(t, os.Mkdir(tokens, 0o700))
	conf := filepath.Join(tmp, "softhsm2.conf")
	must(t, os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600))
	t.Setenv("SOFTHSM2_CONF", conf)
	label, pin = "the-ky-so", "246810"
	if out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "135790").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	tok, err := pkcs11.OpenToken(pkcs11.Config{Module: softhsmModule, TokenLabel: label, PIN: pin})
	must(t, err)
	key, err := tok.GenerateECDSAP256("lanh-dao")
	must(t, err)
	l := provision.Layout{Dir: dir}
	caCerts, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	caKey, err := pki.LoadKey(l.CAKey())
	must(t, err)
	now := time.Now()
	cert, err := (&pki.Authority{Cert: caCerts[0], Key: caKey}).IssueFor(pki.Request{CommonName: commonName,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), Usage: pki.DocumentSigning}, key.Public())
	must(t, err)
	must(t, tok.Close())
	certFile = filepath.Join(tmp, "lanh-dao.pem")
	must(t, os.WriteFile(certFile, pki.CertPEM(cert), 0o644))
	return label, pin, certFile, true
}

// TestClerkWebApp is the clerks' day in two browsers: a commune's clerk
// composes a document in the page, attaches a PDF, signs it there with
// the agency's key file and sends it to the district and to a group; the
// district's page shows it arrive without a reload, opens the PDF and
// reports received → assigned → done, each step showing up in the
// commune's register of documents sent. The hub's refusals (an unsigned
// PDF, an unknown recipient) are shown with its message, and with the hub
// down the document waits in the outbox, the page says so, and goes out
// when the hub is back. Every status shown is compared with ltnode's JSON.
func TestClerkWebApp(t *testing.T) {
	if _, err := browser.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("chromium not installed: apt-get install chromium")
	}
	shots := artefacts(t)
	t.Logf("screenshots in %s", shots)
	dir := initHub(t)
	addr := freeLoopback(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: addr})
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()

	xa := serveDesk(t, ctx, addr, dir, commune)     // UBND xã Đông Hòa
	huyen := serveDesk(t, ctx, addr, dir, district) // UBND huyện Đông Sơn
	huyen.wait(t, ctx, `document.body.dataset.live === "1"`)
	// A mark the page keeps only as long as it is not reloaded.
	huyen.eval(t, ctx, `window.notReloaded = true`, nil)
	if got := huyen.text(t, ctx, "#received tbody"); got != "Chưa có văn bản đến." {
		t.Fatalf("district's inbox at start: %q", got)
	}

	// The commune composes, signs with its key file and sends.
	pdf, _ := writePDF(t, dir, "", "ke-hoach.pdf", samplepdf.Options{Title: "Ke hoach phong chong lut bao"})
	ad := provision.Layout{Dir: dir}.Agency(commune)
	xa.open(t, ctx, "/soan")
	if next := xa.attr(t, ctx, "#so", "value"); next != "1" {
		t.Errorf("suggested number %q, want 1 (empty register)", next)
	}
	for _, label := range []string{"UBND huyện Đông Sơn", "Tất cả UBND xã của UBND huyện Tây Sơn (3)"} {
		var n int
		xa.eval(t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll("#recipients label")).filter(l => l.textContent.trim() === %q).length`, label), &n)
		if n != 1 {
			t.Errorf("recipient tree: %d entries %q, want 1", n, label)
		}
	}
	due := time.Now().In(lienthong.Zone()).AddDate(0, 1, 0)
	xa.fill(t, ctx, map[string]string{
		`input[name="noi-nhan"][value="` + district + `"]`:      "on",
		`input[name="noi-nhan"][value="commune:000.00.32.H53"]`: "on",
		"#ky-hieu": "KH-UBND", "#trich-yeu": "Kế hoạch phòng, chống lụt bão năm 2026", "#nguoi-ky": "Nguyễn Văn An",
		"#han": due.Format(time.DateOnly), `input[name="ky"][value="tep"]`: "on",
	})
	if err := xa.tab.SetFiles(ctx, "#tep", pdf); err != nil {
		t.Fatal(err)
	}
	if err := xa.tab.SetFiles(ctx, "#chung-thu", filepath.Join(ad, "cert.pem")); err != nil {
		t.Fatal(err)
	}
	if err := xa.tab.SetFiles(ctx, "#khoa", filepath.Join(ad, "key.pem")); err != nil {
		t.Fatal(err)
	}
	xa.shot(t, ctx, shots, "1-soan.png")
	xa.click(t, ctx, "#send")
	xa.sent(t, ctx, "accepted")
	xa.shot(t, ctx, shots, "2-da-gui.png")
	var id string
	xa.eval(t, ctx, `document.getElementById("doc").dataset.id`, &id)
	if ind := xa.attr(t, ctx, `#main p[data-field="indication"]`, "data-indication"); ind != "TOTAL-PASSED" {
		t.Errorf("result page: indication %q, want TOTAL-PASSED", ind)
	}
	if signer := xa.text(t, ctx, `#signatures td[data-field="signer"]`); signer == "" || signer == "<none>" {
		t.Errorf("result page names no signer")
	}
	// The hub's receipt, downloaded from the page, verifies offline with
	// the province root and names the document.
	var receiptB64 string
	xa.eval(t, ctx, `(async function(){
		const a = document.querySelector('#accepted a[download]');
		const b = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
		let s = ""; b.forEach(x => s += String.fromCharCode(x)); return btoa(s);
	})()`, &receiptB64)
	rcptRaw, err := base64.StdEncoding.DecodeString(receiptB64)
	must(t, err)
	var rcpt lienthongv1.Receipt
	must(t, proto.Unmarshal(rcptRaw, &rcpt))
	cid, err := node.LoadIdentity(ad)
	must(t, err)
	if tr := node.CheckReceipt(&rcpt, cid.Roots); tr.Err != nil || tr.Body.GetMessageId() != id ||
		tr.Body.GetReceiptId() != xa.text(t, ctx, `#accepted [data-field="receipt_id"]`) {
		t.Errorf("downloaded receipt: %v, message %s, receipt %s", tr.Err, tr.Body.GetMessageId(), tr.Body.GetReceiptId())
	}
	want := map[string]string{district: "accepted", "000.01.32.H53": "accepted", "000.02.32.H53": "accepted", "000.03.32.H53": "accepted"}
	pageStatuses := func(d *clerkDesk) map[string]string {
		var m map[string]string
		d.eval(t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll("#recipients tr[data-agency]")).map(r => [r.dataset.agency, r.querySelector("[data-status]").dataset.status]))`, &m)
		return m
	}
	// The district's page shows it arrive, without a reload.
	huyen.wait(t, ctx, fmt.Sprintf(`document.querySelector('#received tr[data-id=%q]') !== null`, id))
	var kept bool
	huyen.eval(t, ctx, `window.notReloaded === true`, &kept)
	if !kept {
		t.Error("the district's page was reloaded to show the new document")
	}
	if title := huyen.text(t, ctx, "title"); !strings.HasPrefix(title, "(1) Văn bản đến") {
		t.Errorf("title %q, want the unread count (1) first", title)
	}
	row := fmt.Sprintf(`#received tr[data-id=%q] `, id)
	for sel, want := range map[string]string{
		`[data-field="number"]`: "1/KH-UBND", `[data-field="sender"]`: "UBND xã Đông Hòa",
		`[data-field="subject"]`: "Kế hoạch phòng, chống lụt bão năm 2026", `[data-field="status"]`: "đã đến",
		`[data-field="due"]`: due.Format("02/01/2006"),
	} {
		if got := huyen.text(t, ctx, row+sel); got != want {
			t.Errorf("district's inbox %s: %q, want %q", sel, got, want)
		}
	}
	if ind := huyen.attr(t, ctx, row+`[data-field="signatures"] [data-indication]`, "data-indication"); ind != "TOTAL-PASSED" {
		t.Errorf("district's inbox: signature indication %q, want TOTAL-PASSED", ind)
	}
	if signer := huyen.text(t, ctx, row+`[data-field="signatures"] [data-field="signer"]`); !strings.Contains(signer, commune) || !strings.HasSuffix(signer, "+07:00") {
		t.Errorf("district's inbox: signer %q, want the signer's name and the signing time", signer)
	}
	if code := huyen.attr(t, ctx, row+`[data-field="sender"]`, "title"); code != commune {
		t.Errorf("sender's code on hover %q, want %s", code, commune)
	}
	huyen.shot(t, ctx, shots, "3-den.png")
	// Delivered now: the commune's page of the document and ltnode track
	// say the same for each recipient.
	xa.open(t, ctx, "/di/"+id)
	got, tracked := pageStatuses(xa), trackStatuses(t, addr, dir, commune, id)
	want[district] = "delivered"
	if fmt.Sprint(got) != fmt.Sprint(tracked) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses on the commune's page %v; ltnode track --json %v; want %v", got, tracked, want)
	}

	// It opens the document and the PDF.
	huyen.open(t, ctx, "/den/"+id)
	var pdfCheck struct {
		Type   string
		Head   string
		SHA256 string
		Want   string
	}
	huyen.eval(t, ctx, `(async function(){
		const a = document.querySelector('a[data-field="file"]');
		const r = await fetch(a.href);
		const b = await r.arrayBuffer();
		const h = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", b))).map(x => x.toString(16).padStart(2, "0")).join("");
		return {Type: r.headers.get("Content-Type"), Head: new TextDecoder().decode(b.slice(0, 5)), SHA256: h, Want: a.dataset.sha256};
	})()`, &pdfCheck)
	if pdfCheck.Type != "application/pdf" || pdfCheck.Head != "%PDF-" || pdfCheck.SHA256 != pdfCheck.Want || len(pdfCheck.Want) != 64 {
		t.Errorf("the PDF as the browser gets it: %+v", pdfCheck)
	}
	if ind := huyen.attr(t, ctx, `#main p[data-field="indication"]`, "data-indication"); ind != "TOTAL-PASSED" {
		t.Errorf("district's view: indication %q, want TOTAL-PASSED", ind)
	}
	// Opened in the browser's own PDF viewer.
	must(t, huyen.tab.Navigate(ctx, huyen.base()+"/den/"+id+"/tep/0"))
	huyen.wait(t, ctx, `document.contentType === "application/pdf"`)
	time.Sleep(time.Second) // the viewer draws the page; the screenshot is for people
	huyen.shot(t, ctx, shots, "3b-pdf.png")

	// The commune watches its register of documents sent while the
	// district reports each step.
	xa.open(t, ctx, "/di")
	xa.wait(t, ctx, `document.body.dataset.live === "1"`)
	sentCell := func(agency string) string {
		return fmt.Sprintf(`#sent tr[data-id=%q] li[data-agency=%q]`, id, agency)
	}
	for i, s := range []struct{ step, status, extra string }{
		{"received", "received", ""},
		{"assigned", "assigned", "Phòng Tài nguyên và Môi trường"},
		{"done", "done", ""},
	} {
		huyen.open(t, ctx, "/den/"+id)
		if s.extra != "" {
			huyen.fill(t, ctx, map[string]string{`input[name="giao-cho"]`: s.extra})
		}
		huyen.click(t, ctx, fmt.Sprintf(`button[data-step=%q]`, s.step))
		huyen.wait(t, ctx, fmt.Sprintf(`location.pathname === "/den/%s" && document.querySelector('#doc [data-field="status"]').dataset.status === %q`, id, s.status))
		xa.wait(t, ctx, fmt.Sprintf(`(e => e && e.dataset.status === %q)(document.querySelector(%q))`, s.status, sentCell(district)))
		if got := trackStatuses(t, addr, dir, commune, id)[district]; got != s.status {
			t.Errorf("after step %s: ltnode track --json says %q", s.step, got)
		}
		xa.shot(t, ctx, shots, fmt.Sprintf("4-%d-di-%s.png", i+1, s.step))
	}
	if got := huyen.text(t, ctx, `#doc [data-field="status"]`); !strings.HasPrefix(got, "hoàn thành") {
		t.Errorf("district's status text %q", got)
	}
	// The timeline is the hub's receipts of the district's steps.
	var steps []string
	huyen.eval(t, ctx, `Array.from(document.querySelectorAll("#timeline li")).map(li => li.dataset.status)`, &steps)
	if got := strings.Join(steps, " "); !strings.HasSuffix(got, "delivered received assigned done") {
		t.Errorf("district's timeline %q, want … delivered received assigned done", got)
	}
	if got := huyen.text(t, ctx, `#timeline li[data-status="assigned"]`); !strings.Contains(got, "Giao cho: Phòng Tài nguyên và Môi trường") || !strings.Contains(got, "+07:00") {
		t.Errorf("the assignment in the timeline: %q", got)
	}
	huyen.shot(t, ctx, shots, "5-den-xong.png")
	// The district's register as ltnode prints it says the same.
	rc, out, errs := ltnode(t, addr, dir, district, "register", "received", "--json")
	if rc != 0 {
		t.Fatalf("ltnode register received: exit %d: %s", rc, errs)
	}
	var reg any
	must(t, json.Unmarshal([]byte(out), &reg))
	if e := jsonFind(reg, id); e == nil || e["status"] != "done" || e["number"] != "1" {
		t.Errorf("ltnode register received --json: %v, want status done, number 1", e)
	}

	// A leader's token: the PIN is typed in the page.
	nextWant := "2"
	if label, pin, certFile, ok := tokenSigner(t, dir, "Trần Thị Bình"); ok {
		nextWant = "3"
		xa.open(t, ctx, "/soan")
		xa.fill(t, ctx, map[string]string{
			`input[name="noi-nhan"][value="` + district + `"]`: "on", "#ky-hieu": "QĐ-UBND", "#trich-yeu": "Quyết định ký bằng thẻ",
			`input[name="ky"][value="the"]`: "on", "#thu-vien": softhsmModule, "#the": label, "#nhan-khoa": "lanh-dao", "#pin": pin,
		})
		must(t, xa.tab.SetFiles(ctx, "#tep", pdf))
		must(t, xa.tab.SetFiles(ctx, "#chung-thu", certFile))
		xa.click(t, ctx, "#send")
		xa.sent(t, ctx, "accepted")
		var signers []string
		xa.eval(t, ctx, `Array.from(document.querySelectorAll('#signatures td[data-field="signer"]')).map(e => e.textContent)`, &signers)
		if len(signers) != 1 || signers[0] != "Trần Thị Bình" {
			t.Errorf("signed with the token: signers %q, want [Trần Thị Bình]", signers)
		}
		if ind := xa.attr(t, ctx, `#main p[data-field="indication"]`, "data-indication"); ind != "TOTAL-PASSED" {
			t.Errorf("signed with the token: indication %q", ind)
		}
		xa.shot(t, ctx, shots, "5b-ky-bang-the.png")
		// A wrong PIN is the page's error, and nothing is sent.
		xa.open(t, ctx, "/soan")
		xa.fill(t, ctx, map[string]string{
			`input[name="noi-nhan"][value="` + district + `"]`: "on", "#ky-hieu": "QĐ-UBND", "#trich-yeu": "Sai mã PIN",
			`input[name="ky"][value="the"]`: "on", "#thu-vien": softhsmModule, "#the": label, "#nhan-khoa": "lanh-dao", "#pin": "000000",
		})
		must(t, xa.tab.SetFiles(ctx, "#tep", pdf))
		must(t, xa.tab.SetFiles(ctx, "#chung-thu", certFile))
		xa.click(t, ctx, "#send")
		xa.wait(t, ctx, `!document.getElementById("send-error").hidden`)
		if msg := xa.text(t, ctx, "#send-error"); !strings.Contains(msg, "không mở được thẻ ký số") {
			t.Errorf("wrong PIN: the page says %q", msg)
		}
		// A library the node was not told to offer is not loaded, even
		// if the form names it.
		xa.eval(t, ctx, `(function(){const s = document.getElementById("thu-vien"); s.add(new Option("/tmp/khac.so")); s.value = "/tmp/khac.so"; return true})()`, nil)
		xa.fill(t, ctx, map[string]string{"#pin": pin})
		xa.click(t, ctx, "#send")
		xa.wait(t, ctx, `document.getElementById("send-error").textContent.includes("khac.so")`)
		if msg := xa.text(t, ctx, "#send-error"); !strings.Contains(msg, "không nằm trong danh sách") {
			t.Errorf("another PKCS#11 library: the page says %q", msg)
		}
	}

	// Refusals: an unsigned PDF, an unknown recipient; each shown with the
	// hub's message, nothing left in the outbox.
	unsigned, _ := writePDF(t, dir, "", "chua-ky.pdf", samplepdf.Options{Title: "Chua ky"})
	unsignedBytes, err := os.ReadFile(unsigned)
	must(t, err)
	for i, c := range []struct {
		name, to, other string
		sign            bool
		want            string
	}{
		{"unsigned PDF", district, "", false, "chưa ký"},
		{"unknown recipient", "", "000.09.31.H53", true, "000.09.31.H53"},
	} {
		xa.open(t, ctx, "/soan")
		f := map[string]string{"#ky-hieu": "TB-UBND", "#trich-yeu": "Thông báo " + c.name}
		if c.to != "" {
			f[`input[name="noi-nhan"][value="`+c.to+`"]`] = "on"
		}
		if c.other != "" {
			f["#other"] = c.other
		}
		if c.sign {
			f[`input[name="ky"][value="tep"]`] = "on"
			must(t, xa.tab.SetFiles(ctx, "#chung-thu", filepath.Join(ad, "cert.pem")))
			must(t, xa.tab.SetFiles(ctx, "#khoa", filepath.Join(ad, "key.pem")))
		}
		xa.fill(t, ctx, f)
		if c.sign {
			must(t, xa.tab.SetFiles(ctx, "#tep", unsigned))
		} else {
			// Dropped on the page, as from the file manager.
			xa.eval(t, ctx, fmt.Sprintf(`(function(){
				const bin = atob(%q), b = new Uint8Array(bin.length);
				for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
				const dt = new DataTransfer();
				dt.items.add(new File([b], "chua-ky.pdf", {type: "application/pdf"}));
				dt.items.add(new File(["x"], "ghi-chu.txt", {type: "text/plain"}));
				document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
				return true})()`, base64.StdEncoding.EncodeToString(unsignedBytes)), nil)
			if got := xa.text(t, ctx, "#chosen"); !strings.HasPrefix(got, "chua-ky.pdf (") || strings.Contains(got, "ghi-chu") {
				t.Errorf("after the drop the page lists %q, want the PDF only", got)
			}
		}
		xa.click(t, ctx, "#send")
		xa.wait(t, ctx, `!document.getElementById("send-error").hidden`)
		msg := xa.text(t, ctx, "#send-error")
		status := xa.attr(t, ctx, "#send-error", "data-status")
		if !strings.Contains(msg, "Trục từ chối văn bản") || !strings.Contains(strings.ToLower(msg), strings.ToLower(c.want)) || status != "422" {
			t.Errorf("%s: the page says %q (HTTP %s), want the hub's refusal naming %q, 422", c.name, msg, status, c.want)
		}
		xa.shot(t, ctx, shots, fmt.Sprintf("6-%d-tu-choi.png", i+1))
	}
	rc, out, _ = ltnode(t, addr, dir, commune, "register", "outbox", "--json")
	if rc != 0 || strings.Contains(out, "TB-UBND") {
		t.Errorf("after refusals, ltnode register outbox --json (exit %d): %s", rc, out)
	}

	// A page of another origin on the same machine (same site: the
	// SameSite=Strict cookie goes along) can neither read the app nor
	// post to it.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>x</title></head><body>
<form id="f" method="post" action="%s/khai-bao"><input name="kieu" value="paper"><input name="so" value="99"><input name="ky-hieu" value="GIA-MAO">
<input name="ngay" value="%s"><input name="csrf" value="doan-bua"></form></body></html>`, xa.base(), time.Now().In(lienthong.Zone()).Format(time.DateOnly))
	}))
	defer evil.Close()
	must(t, xa.tab.Navigate(ctx, evil.URL))
	var read string
	xa.eval(t, ctx, fmt.Sprintf(`fetch(%q, {credentials: "include"}).then(r => "read " + r.status, e => "blocked: " + e.name)`, xa.base()+"/den"), &read)
	if read != "blocked: TypeError" {
		t.Errorf("another origin's script reading /den: %s, want blocked", read)
	}
	xa.eval(t, ctx, `document.getElementById("f").submit(), true`, nil)
	xa.wait(t, ctx, `location.pathname === "/khai-bao" && document.readyState === "complete"`)
	if got, status := xa.text(t, ctx, "#error"), xa.attr(t, ctx, "#error", "data-status"); status != "403" || !strings.Contains(got, "trang của nơi khác") {
		t.Errorf("a form of another origin posting a declaration: %s %q, want 403 and the refusal", status, got)
	}
	xa.shot(t, ctx, shots, "6-3-noi-khac.png")

	// A paper document declared in the page; declared again, the hub
	// says it has it.
	today := time.Now().In(lienthong.Zone()).Format(time.DateOnly)
	for _, want := range []string{"Đã khai báo văn bản 45/QĐ-UBND", "đã được khai báo trước đó"} {
		xa.open(t, ctx, "/khai-bao")
		xa.fill(t, ctx, map[string]string{`#declare input[name="so"]`: "45", `#declare input[name="ky-hieu"]`: "QĐ-UBND",
			`#declare input[name="ngay"]`: today, `#declare input[name="loai"]`: "Quyết định"})
		xa.click(t, ctx, "#declare button")
		xa.wait(t, ctx, `document.getElementById("declared") !== null || document.getElementById("declare-error") !== null`)
		if got := xa.text(t, ctx, "#declared"); !strings.Contains(got, want) {
			t.Errorf("declaring: the page says %q (error: %q), want %q", got, xa.text(t, ctx, "#declare-error"), want)
		}
	}
	// The agency's figures on that page are its register's, as ltnode
	// lists it.
	rc, out, _ = ltnode(t, addr, dir, commune, "register", "sent", "--json")
	var sentList []any
	if err := json.Unmarshal([]byte(out), &sentList); rc != 0 || err != nil {
		t.Fatalf("ltnode register sent --json: exit %d, %v\n%s", rc, err, out)
	}
	if got := xa.text(t, ctx, `#figures [data-field="sent"]`); got != strconv.Itoa(len(sentList)) {
		t.Errorf("figures: sent %s, ltnode register sent --json lists %d", got, len(sentList))
	}
	xa.shot(t, ctx, shots, "6-4-khai-bao.png")

	// The hub goes down: the document waits, the page says so, and it
	// goes out when the hub is back.
	h.stop()
	xa.open(t, ctx, "/soan")
	if next := xa.attr(t, ctx, "#so", "value"); next != nextWant {
		t.Errorf("suggested number %q, want %s", next, nextWant)
	}
	signed, _ := writePDF(t, dir, commune, "bao-cao.pdf", samplepdf.Options{Title: "Bao cao"})
	// The page says the hub is away, and still offers the directory by
	// name, from the register's copy.
	if got := xa.text(t, ctx, "#hub-down"); !strings.Contains(got, "Chưa kết nối được trục") {
		t.Errorf("compose with the hub down says %q", got)
	}
	// First an unsigned one, which the hub will refuse when it is back.
	xa.fill(t, ctx, map[string]string{`input[name="noi-nhan"][value="` + district + `"]`: "on", "#ky-hieu": "CV-UBND", "#trich-yeu": "Chưa ký, chờ trục"})
	must(t, xa.tab.SetFiles(ctx, "#tep", unsigned))
	xa.click(t, ctx, "#send")
	xa.sent(t, ctx, "queued")
	var failingID string
	xa.eval(t, ctx, `location.pathname.slice(4)`, &failingID)
	xa.open(t, ctx, "/soan")
	xa.fill(t, ctx, map[string]string{`input[name="noi-nhan"][value="` + district + `"]`: "on", "#ky-hieu": "BC-UBND", "#trich-yeu": "Báo cáo khi trục dừng"})
	must(t, xa.tab.SetFiles(ctx, "#tep", signed))
	xa.click(t, ctx, "#send")
	xa.sent(t, ctx, "queued")
	var queuedID string
	xa.eval(t, ctx, `location.pathname.slice(4)`, &queuedID)
	if got := xa.text(t, ctx, "#queued"); !strings.Contains(got, "đang chờ trong hộp thư đi") {
		t.Errorf("queued page says %q", got)
	}
	xa.shot(t, ctx, shots, "7-cho.png")
	rc, out, _ = ltnode(t, addr, dir, commune, "register", "outbox", "--json")
	if e := func() map[string]any { var v any; _ = json.Unmarshal([]byte(out), &v); return jsonFind(v, queuedID) }(); rc != 0 || e == nil || e["state"] != "queued" {
		t.Errorf("ltnode register outbox --json (exit %d) for %s: %v", rc, queuedID, e)
	}
	startHubWith(t, hub.Config{Dir: dir, Listen: addr})
	// The page refreshes itself when the outbox forwards it.
	xa.wait(t, ctx, `document.getElementById("accepted") !== null`)
	xa.shot(t, ctx, shots, "8-da-gui-lai.png")
	// The unsigned one is in the outbox, refused with the hub's reason;
	// the clerk drops it.
	xa.open(t, ctx, "/di")
	failedRow := fmt.Sprintf(`#outbox tr[data-id=%q]`, failingID)
	if st, msg := xa.attr(t, ctx, failedRow, "data-state"), xa.text(t, ctx, failedRow+` [data-field="state"]`); st != "failed" || !strings.Contains(msg, "chưa ký") {
		t.Errorf("outbox row of the unsigned document: state %q, %q", st, msg)
	}
	xa.shot(t, ctx, shots, "9-hop-thu-di.png")
	xa.click(t, ctx, failedRow+` form[action$="/bo"] button`)
	xa.wait(t, ctx, fmt.Sprintf(`location.pathname === "/di" && document.readyState === "complete" && document.querySelector(%q) === null`, failedRow))
	rc, out, _ = ltnode(t, addr, dir, commune, "register", "outbox", "--json")
	if rc != 0 || strings.Contains(out, failingID) {
		t.Errorf("after dropping, ltnode register outbox --json (exit %d): %s", rc, out)
	}
	huyen.open(t, ctx, "/den")
	huyen.wait(t, ctx, fmt.Sprintf(`document.querySelector('#received tr[data-id=%q]') !== null`, queuedID))
	// The district refuses it, with a reason the commune reads.
	xa.open(t, ctx, "/di")
	huyen.open(t, ctx, "/den/"+queuedID)
	huyen.fill(t, ctx, map[string]string{`input[name="ly-do"]`: "Sai thẩm quyền, đề nghị gửi Sở Tài chính"})
	huyen.click(t, ctx, `button[data-step="rejected"]`)
	huyen.wait(t, ctx, `document.querySelector('#doc [data-field="status"]').dataset.status === "rejected"`)
	if got := huyen.text(t, ctx, `#doc [data-field="status"]`); got != "từ chối — Sai thẩm quyền, đề nghị gửi Sở Tài chính" {
		t.Errorf("district's status after refusing: %q", got)
	}
	cell := fmt.Sprintf(`#sent tr[data-id=%q] li[data-agency=%q]`, queuedID, district)
	xa.wait(t, ctx, fmt.Sprintf(`(e => e && e.dataset.status === "rejected")(document.querySelector(%q))`, cell))
	if got := xa.text(t, ctx, cell); !strings.Contains(got, "từ chối (Sai thẩm quyền, đề nghị gửi Sở Tài chính)") {
		t.Errorf("commune's register shows %q", got)
	}
	if got := trackStatuses(t, addr, dir, commune, queuedID)[district]; got != "rejected" {
		t.Errorf("ltnode track %s: the district's status %q, want rejected", queuedID, got)
	}
	xa.shot(t, ctx, shots, "10-bi-tu-choi.png")
}
