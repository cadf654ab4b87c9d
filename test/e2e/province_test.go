package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/node/register"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// hubName is the name a production hub's certificate carries; the tests
// reach it on loopback.
const hubName = "hub.example.gov.vn"

// provinceDirectory returns the rows of a generated directory of n = 1000
// agencies of H53 (header first): the province, 30 departments with two
// units each, 10 districts and their communes. Communes come before their
// districts, so a parent may follow its children in the file.
func provinceDirectory() [][]string {
	rows := [][]string{{"code", "name", "kind", "parent", "status", "contact"}}
	var communes, districts [][]string
	for d := 31; d <= 40; d++ {
		districts = append(districts, []string{fmt.Sprintf("000.00.%02d.H53", d), fmt.Sprintf("UBND huyện %d", d), "district", "", "active", ""})
		for c := 1; c <= 90 && len(communes) < 899; c++ {
			communes = append(communes, []string{fmt.Sprintf("000.%02d.%02d.H53", c, d), fmt.Sprintf("UBND xã %d-%d", d, c), "commune", "", "", "vanthu@xa.example.gov.vn"})
		}
	}
	rows = append(rows, communes...)
	rows = append(rows, []string{"000.00.00.H53", "UBND tỉnh Thử Nghiệm", "province", "", "active", ""})
	for d := 1; d <= 30; d++ {
		dept := fmt.Sprintf("000.00.%02d.H53", d)
		rows = append(rows, []string{dept, fmt.Sprintf("Sở %d", d), "department", "000.00.00.H53", "active", ""})
		for u := 1; u <= 2; u++ {
			rows = append(rows, []string{fmt.Sprintf("000.%02d.%02d.H53", u, d), fmt.Sprintf("Trung tâm %d-%d", d, u), "unit", dept, "active", ""})
		}
	}
	return append(rows, districts...)
}

func writeCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	w := csv.NewWriter(f)
	must(t, w.WriteAll(rows))
	must(t, f.Close())
}

// dialByName connects as the identity in idDir to the hub at addr (a
// loopback port) by the name hubName, as a node in the province would.
func dialByName(t *testing.T, addr, idDir string) *node.Client {
	t.Helper()
	id, err := node.LoadIdentity(idDir)
	must(t, err)
	_, port, err := net.SplitHostPort(addr)
	must(t, err)
	// The name resolves to the loopback port, as DNS would resolve it to
	// the hub; TLS checks the certificate against the name.
	dns := manual.NewBuilderWithScheme("dns")
	dns.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: addr}}})
	c, err := node.Dial(net.JoinHostPort(hubName, port), id, grpc.WithResolvers(dns))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestProductionProvince runs a province as an IT centre would: init with
// the hub's real name and no sample, a 1,000-agency directory imported
// from CSV (a bad row first refused, naming it, with nothing changed),
// certificates issued and bound, documents sent and received by nodes
// calling the hub by name, a rotation whose overlap window lets both
// certificates in and then only the new one, and a node calling the hub
// by a name its certificate lacks told so plainly instead of queuing.
func TestProductionProvince(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "hub")
	rc, out, errOut := lthub(t, "init", "--dir", dir, "--province-name", "tỉnh Thử Nghiệm", "--province-code", "H53", "--hub-name", hubName)
	if rc != 0 || out != "000.00.00.H53\n" {
		t.Fatalf("init: exit %d, printed %q: %s", rc, out, errOut)
	}
	l := provision.Layout{Dir: dir}
	hubCert, err := pki.LoadCertificates(l.HubCert())
	must(t, err)
	if !slices.Equal(hubCert[0].DNSNames, []string{hubName}) || len(hubCert[0].IPAddresses) != 0 {
		t.Errorf("hub certificate names %v %v, want only %s", hubCert[0].DNSNames, hubCert[0].IPAddresses, hubName)
	}
	if _, err := os.Stat(l.Agency(province)); !os.IsNotExist(err) {
		t.Errorf("production init made agency keys: %v", err)
	}
	// The document trust store starts empty: the province CA is for TLS.
	if roots, _ := filepath.Glob(filepath.Join(l.Trust(), "roots", "*")); len(roots) != 0 {
		t.Errorf("production trust store holds %v, want nothing until the IT centre adds the government CAs", roots)
	}
	// A government CA signs documents (with its CRL, as the hub requires).
	now := time.Now()
	gov, err := pki.NewRoot(pki.Request{CommonName: "Government Signing CA (test)", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)})
	must(t, err)
	must(t, pki.WriteFile(filepath.Join(l.Trust(), "roots", "gov.pem"), pki.CertPEM(gov.Cert), 0o644))
	crl, err := gov.CRL(nil, now.Add(-time.Hour), now.Add(-time.Hour), now.Add(365*24*time.Hour), 1)
	must(t, err)
	must(t, pki.WriteFile(filepath.Join(l.Trust(), "crls", "gov.crl"), pki.CRLPEM(crl), 0o644))

	rows := provinceDirectory()
	if len(rows) != 1001 {
		t.Fatalf("generated %d agencies, want 1000", len(rows)-1)
	}
	good := filepath.Join(t.TempDir(), "directory.csv")
	writeCSV(t, good, rows)

	// Stopped hub: a bad row (the 500th agency, line 501) names its row
	// and field, and nothing is stored; a dry run shows the diff only.
	badRows := slices.Clone(rows)
	badRows[500] = slices.Clone(rows[500])
	badRows[500][3] = "000.00.99.H53"
	bad := filepath.Join(t.TempDir(), "bad.csv")
	writeCSV(t, bad, badRows)
	rc, _, errOut = lthub(t, "agency", "import", "--dir", dir, bad)
	if rc != 1 || !strings.Contains(errOut, "dòng 501, cột parent") || !strings.Contains(errOut, "000.00.99.H53 của "+badRows[500][0]+" không có trong danh bạ") {
		t.Fatalf("bad import: exit %d: %s", rc, errOut)
	}
	countAgencies := func(want int) {
		t.Helper()
		rc, out, errOut := lthub(t, "agency", "export", "--dir", dir, "--format", "json")
		if rc != 0 {
			t.Fatalf("export: exit %d: %s", rc, errOut)
		}
		if got := len(decodeJSON[[]map[string]string](t, out)); got != want {
			t.Fatalf("directory holds %d agencies, want %d", got, want)
		}
	}
	countAgencies(1)
	rc, out, errOut = lthub(t, "agency", "import", "--dir", dir, "--dry-run", good)
	if rc != 0 || !strings.Contains(out, "Chưa áp dụng (dry run; nothing changed): thêm 999, sửa 0, giữ nguyên 1") || !strings.Contains(out, "+ 000.01.31.H53 (dòng 2)\n") {
		t.Fatalf("dry run: exit %d:\n%.600s\n%s", rc, out, errOut)
	}
	countAgencies(1)

	clk := &clock{t: now}
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Now: clk.Now})

	// Running hub: the import applies through the admin service and
	// routing sees it at once.
	rc, out, errOut = lthub(t, "agency", "import", "--dir", dir, good)
	if rc != 0 || !strings.Contains(out, "Đã áp dụng (applied): thêm 999") {
		t.Fatalf("import: exit %d:\n%.300s\n%s", rc, out, errOut)
	}
	stored, err := h.Store().Agencies(ctx)
	must(t, err)
	if len(stored) != 1000 {
		t.Fatalf("hub stores %d agencies after the import, want 1000", len(stored))
	}
	// Add, update, show: one agency at a time, seen by nodes at once.
	if rc, out, errOut := lthub(t, "agency", "add", "--dir", dir, "000.00.41.H53", "--name", "UBND huyện 41", "--kind", "district"); rc != 0 || out != "+ 000.00.41.H53\nĐã áp dụng (applied): thêm 1, sửa 0, giữ nguyên 0 (added 1, changed 0, unchanged 0)\n" {
		t.Errorf("add: exit %d: %q %s", rc, out, errOut)
	}
	if rc, out, errOut := lthub(t, "agency", "update", "--dir", dir, "000.00.41.H53", "--contact", "vanthu@h41"); rc != 0 || !strings.Contains(out, `~ 000.00.41.H53: contact: "" → "vanthu@h41"`) {
		t.Errorf("update: exit %d: %q %s", rc, out, errOut)
	}
	if rc, out, errOut := lthub(t, "agency", "add", "--dir", dir, "000.01.42.H53", "--name", "Xã mồ côi", "--kind", "commune"); rc != 1 ||
		!strings.Contains(errOut, "cơ quan cấp trên 000.00.42.H53 của 000.01.42.H53 không có trong danh bạ") || !strings.Contains(errOut, "[NotFound]") {
		t.Errorf("add under a missing parent: exit %d: %q %s", rc, out, errOut)
	}
	if rc, out, _ := lthub(t, "agency", "show", "--dir", dir, "000.00.41.H53"); rc != 0 || !strings.Contains(out, "vanthu@h41") || !strings.Contains(out, "000.00.00.H53") {
		t.Errorf("show: exit %d: %s", rc, out)
	}
	// The same file again changes nothing.
	rc, out, _ = lthub(t, "agency", "import", "--dir", dir, good)
	if rc != 0 || !strings.Contains(out, "thêm 0, sửa 0, giữ nguyên 1000") {
		t.Errorf("second import: exit %d: %.300s", rc, out)
	}
	// A row outside the province, online: refused with its row, the
	// directory unchanged.
	foreign := append(slices.Clone(rows[:3]), []string{"000.00.05.H54", "Sở ngoài tỉnh", "department", "", "", ""})
	fpath := filepath.Join(t.TempDir(), "foreign.csv")
	writeCSV(t, fpath, foreign)
	rc, _, errOut = lthub(t, "agency", "import", "--dir", dir, fpath)
	if rc != 1 || !strings.Contains(errOut, "dòng 4, cột code") || !strings.Contains(errOut, "InvalidArgument") {
		t.Errorf("foreign row: exit %d: %s", rc, errOut)
	}

	const (
		sender   = "000.01.31.H53" // a commune
		receiver = "000.00.31.H53" // its district
	)
	pw := filepath.Join(t.TempDir(), "pw")
	must(t, os.WriteFile(pw, []byte("mật khẩu thử\n"), 0o600))
	// The commune gets a new key and certificate from the hub.
	oldID := filepath.Join(t.TempDir(), "commune-old")
	rc, out, errOut = lthub(t, "agency", "issue", "--dir", dir, sender, "--out", oldID, "--password-file", pw)
	if rc != 0 {
		t.Fatalf("issue: exit %d: %s", rc, errOut)
	}
	if _, err := os.Stat(filepath.Join(oldID, sender+".p12")); err != nil {
		t.Errorf("issue wrote no PKCS#12: %v\n%s", err, out)
	}
	// The district binds a certificate it already holds.
	held, err := l.IssueAgency(receiver, "UBND huyện 31", provision.IssueOptions{})
	must(t, err)
	districtID := filepath.Join(t.TempDir(), "district")
	must(t, provision.WriteIdentity(districtID, held))
	rc, out, errOut = lthub(t, "agency", "bind", "--dir", dir, receiver, filepath.Join(districtID, "cert.pem"))
	if rc != 0 || !strings.Contains(out, "đã gắn chứng thư") {
		t.Fatalf("bind: exit %d: %s%s", rc, out, errOut)
	}
	// A certificate from a CA the hub does not accept for TLS is refused.
	stranger, _, err := gov.Issue(pki.Request{CommonName: "000.02.31.H53", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.ClientAuth})
	must(t, err)
	spath := filepath.Join(t.TempDir(), "stranger.pem")
	must(t, os.WriteFile(spath, pki.CertPEM(stranger), 0o644))
	if rc, _, errOut := lthub(t, "agency", "bind", "--dir", dir, "000.02.31.H53", spath); rc != 1 || !strings.Contains(errOut, "không do CA của tỉnh") {
		t.Errorf("bind of a foreign CA's certificate: exit %d: %s", rc, errOut)
	}
	rc, out, _ = lthub(t, "agency", "list", "--dir", dir)
	if line := lineWith(out, sender); rc != 0 || !strings.Contains(line, held.Cert.NotAfter.Local().Format("2006")) || !strings.HasSuffix(line, "hoạt động") {
		t.Errorf("list line of %s: %q", sender, line)
	}

	// Documents signed with the government CA's certificates travel
	// between nodes that call the hub by name.
	signer, signerKey, err := gov.Issue(pki.Request{CommonName: "Chủ tịch UBND xã 31-1", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), Usage: pki.DocumentSigning})
	must(t, err)
	signedPDF := func(n int) string {
		t.Helper()
		pdf := filepath.Join(t.TempDir(), "cv.pdf")
		f, err := os.Create(pdf)
		must(t, err)
		must(t, samplepdf.Write(f, samplepdf.Options{Title: fmt.Sprintf("Công văn %d", n)}))
		must(t, f.Close())
		must(t, pades.SignFile(pdf, pdf, pades.SignOptions{Signer: signerKey, Certificate: signer, Reason: "Phát hành", Time: time.Now()}))
		return pdf
	}
	sendOne := func(c *node.Client, n int) string {
		t.Helper()
		pdf := signedPDF(n)
		res, err := c.Send(ctx, node.Document{Recipients: []string{receiver}, Number: fmt.Sprint(n), Notation: "UBND", Subject: "Thử liên thông",
			Files: []node.File{{Path: pdf}}}, nil)
		if err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
		return res.MessageID
	}
	rcv := dialByName(t, h.Addr(), districtID)
	receiveAll := func() []string {
		t.Helper()
		var got []string
		must(t, rcv.ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, func(r *node.Received) error {
			got = append(got, r.MessageID)
			return nil
		}))
		return got
	}
	oldClient := dialByName(t, h.Addr(), oldID)
	if listed, err := oldClient.Agencies(ctx, ""); err != nil || len(listed) != 1001 {
		t.Fatalf("a node lists %d agencies (%v), want the 1,000 imported and the one added", len(listed), err)
	}
	id1 := sendOne(oldClient, 1)
	if got := receiveAll(); !slices.Equal(got, []string{id1}) {
		t.Fatalf("district received %v, want [%s]", got, id1)
	}

	// Rotation: both certificates work until the end of the overlap,
	// then only the new one.
	newID := filepath.Join(t.TempDir(), "commune-new")
	until := now.Add(time.Hour).Truncate(time.Second)
	rc, out, errOut = lthub(t, "agency", "rotate", "--dir", dir, sender, "--overlap-until", until.Format(time.RFC3339), "--out", newID, "--password-file", pw)
	if rc != 0 || !strings.Contains(out, "chứng thư cũ còn được nhận đến") {
		t.Fatalf("rotate: exit %d: %s%s", rc, out, errOut)
	}
	newClient := dialByName(t, h.Addr(), newID)
	id2 := sendOne(oldClient, 2)
	id3 := sendOne(newClient, 3)
	if got := receiveAll(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values([]string{id2, id3}))) {
		t.Fatalf("during the overlap the district received %v, want %s and %s", got, id2, id3)
	}
	clk.Set(until.Add(time.Second))
	_, err = oldClient.Agencies(ctx, "")
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "đã được thay bằng chứng thư mới") {
		t.Errorf("old certificate after the overlap: %v, want PermissionDenied", err)
	}
	id4 := sendOne(newClient, 4)
	if got := receiveAll(); !slices.Equal(got, []string{id4}) {
		t.Fatalf("after the overlap the district received %v, want [%s]", got, id4)
	}

	// A node calling the hub by an address its certificate does not name
	// hears that plainly, and the document stays in its outbox.
	var nout, nerr strings.Builder
	m := &nodecli.Main{Stdout: &nout, Stderr: &nerr, Getenv: func(k string) string {
		return map[string]string{"LTNODE_HUB": h.Addr(), "LTNODE_ID": newID}[k]
	}}
	rc = m.Run(ctx, []string{"send", "--to", receiver, "--file", signedPDF(5), "--number", "5", "--notation", "UBND", "--subject", "Gọi sai tên trục"})
	if rc != 1 || !strings.Contains(nerr.String(), "không xác minh được chứng thư TLS của trục") ||
		!strings.Contains(nerr.String(), "x509: cannot validate certificate for 127.0.0.1") || !strings.Contains(nerr.String(), "not a hub outage") {
		t.Errorf("send to the hub by a name its certificate lacks: exit %d\n%s%s", rc, nout.String(), nerr.String())
	}
	nout.Reset()
	nerr.Reset()
	if rc := m.Run(ctx, []string{"inbox", "--out", t.TempDir()}); rc != 1 || !strings.Contains(nerr.String(), "không xác minh được chứng thư TLS của trục") ||
		strings.Contains(nerr.String(), "hub unavailable") {
		t.Errorf("inbox from the hub by a name its certificate lacks: exit %d\n%s%s", rc, nout.String(), nerr.String())
	}
	reg, err := register.Open(filepath.Join(newID, "node.db"), register.Options{})
	must(t, err)
	outbox, err := reg.Outbox()
	must(t, err)
	if len(outbox) != 1 || outbox[0].State != register.Queued {
		t.Errorf("outbox after the name mismatch: %+v, want the document queued", outbox)
	}
}

// TestInitFlagsAndCertRenew: init refuses an incomplete production
// set-up; `lthub cert renew` gives the hub new names without touching the
// agencies' certificates; a certificate near its end shows in `agency
// list` and in the hub's log.
func TestInitFlagsAndCertRenew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--hub-name", hubName}, "init cần --province-name và --province-code"},
		{[]string{"--province-name", "tỉnh X", "--province-code", "H53"}, "init cần ít nhất một --hub-name"},
		{[]string{"--sample", "--province-code", "H53"}, "không dùng cùng --province-name/--province-code"},
		{[]string{"--province-name", "tỉnh X", "--province-code", "H53", "--hub-ip", "hub"}, "--hub-ip \"hub\" không phải địa chỉ IP"},
	} {
		if rc, _, errOut := lthub(t, append([]string{"init", "--dir", dir}, tc.args...)...); rc != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("init %v: exit %d: %s", tc.args, rc, errOut)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("refused init left %s behind: %v", dir, err)
	}
	// With no production flag at all, init keeps the design's contract:
	// the development sample province, saying so.
	plain := filepath.Join(t.TempDir(), "plain")
	if rc, out, errOut := lthub(t, "init", "--dir", plain); rc != 0 || len(strings.Fields(out)) != 13 || strings.Fields(out)[0] != "000.00.00.H53" ||
		!strings.Contains(errOut, "tạo tỉnh mẫu để thử nghiệm, như --sample") {
		t.Errorf("plain init: exit %d\n%s%s", rc, out, errOut)
	}
	rc, _, errOut := lthub(t, "init", "--dir", dir, "--province-name", "tỉnh X", "--province-code", "H53", "--hub-name", hubName, "--hub-ip", "10.0.0.5")
	if rc != 0 {
		t.Fatalf("init: exit %d: %s", rc, errOut)
	}
	l := provision.Layout{Dir: dir}
	names := func() []string {
		c, err := pki.LoadCertificates(l.HubCert())
		must(t, err)
		return provision.CertHosts(c[0])
	}
	if got := names(); !slices.Equal(got, []string{hubName, "10.0.0.5"}) {
		t.Errorf("hub certificate names %v", got)
	}
	// An agency certificate expiring in 10 days.
	pw := filepath.Join(t.TempDir(), "pw")
	must(t, os.WriteFile(pw, []byte("x"), 0o600))
	idDir := filepath.Join(t.TempDir(), "id")
	if rc, _, errOut := lthub(t, "agency", "issue", "--dir", dir, province, "--out", idDir, "--password-file", pw, "--days", "10"); rc != 0 {
		t.Fatalf("issue: exit %d: %s", rc, errOut)
	}
	agencyCert, err := os.ReadFile(filepath.Join(idDir, "cert.pem"))
	must(t, err)

	rc, out, errOut := lthub(t, "cert", "renew", "--dir", dir, "--hub-name", "truc.example.gov.vn", "--localhost")
	if rc != 0 || !strings.Contains(out, "truc.example.gov.vn") {
		t.Fatalf("cert renew: exit %d: %s%s", rc, out, errOut)
	}
	if got := names(); !slices.Equal(got, []string{"localhost", "truc.example.gov.vn", "127.0.0.1", "::1"}) {
		t.Errorf("renewed hub certificate names %v", got)
	}
	if after, err := os.ReadFile(filepath.Join(idDir, "cert.pem")); err != nil || string(after) != string(agencyCert) {
		t.Errorf("cert renew touched the agency's certificate: %v", err)
	}

	// A production hub does not start before the IT centre puts the
	// document-signature CAs in its trust store.
	if _, err := hub.Open(context.Background(), hub.Config{Dir: dir, Listen: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "chưa có chứng thư gốc nào") {
		t.Fatalf("hub.Open with an empty trust store: %v", err)
	}
	gov, err := pki.NewRoot(pki.Request{CommonName: "Gov CA", NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	must(t, err)
	must(t, pki.WriteFile(filepath.Join(l.Trust(), "roots", "gov.pem"), pki.CertPEM(gov.Cert), 0o644))

	var logs syncBuffer
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	// The node reaches the renewed hub as localhost, with its unchanged
	// identity.
	id, err := node.LoadIdentity(idDir)
	must(t, err)
	_, port, err := net.SplitHostPort(h.Addr())
	must(t, err)
	c, err := node.Dial(net.JoinHostPort("localhost", port), id)
	must(t, err)
	defer c.Close()
	if _, err := c.Agencies(context.Background(), ""); err != nil {
		t.Errorf("node after the hub's renewal: %v", err)
	}
	if !strings.Contains(logs.String(), "agency certificate expires soon") || !strings.Contains(logs.String(), `"agency":"`+province+`"`) {
		t.Errorf("no expiry warning in the hub's log:\n%s", logs.String())
	}
	rc, out, _ = lthub(t, "agency", "list", "--dir", dir)
	if line := lineWith(out, province); rc != 0 || !strings.Contains(line, "(sắp hết hạn)") {
		t.Errorf("list line %q", line)
	}
}
