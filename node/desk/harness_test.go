package desk_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// Agencies of the sample province `lthub init` creates.
const (
	district     = "000.00.31.H53"
	districtName = "UBND huyện Đông Sơn"
	commune      = "000.01.31.H53"
	communeName  = "UBND xã Đông Hòa"
)

// initHub runs `lthub init` into a temporary directory.
func initHub(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	var out, errb bytes.Buffer
	m := &hubcli.Main{Stdout: &out, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"init", "--dir", dir}); code != 0 {
		t.Fatalf("lthub init exit %d: %s", code, errb.String())
	}
	return dir
}

// serveHub serves the hub of dir on listen (a loopback address, port 0
// for any) until stop or the end of the test; it returns the address and
// stop.
func serveHub(t *testing.T, dir, listen string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.Open(ctx, hub.Config{Dir: dir, Listen: listen})
	if err != nil {
		cancel()
		t.Fatalf("hub.Open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("hub.Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return h.Addr(), stop
}

// freeLoopback is a loopback address nothing listens on.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close())
	return addr
}

// agencyDesk is the desk of agency code of the hub directory dir, talking
// to the hub at addr, with its register and inbox in a temporary folder.
func agencyDesk(t *testing.T, dir, addr, code string, signer desk.PDFSigner) *desk.Desk {
	t.Helper()
	id, err := node.LoadIdentity(provision.Layout{Dir: dir}.Agency(code))
	must(t, err)
	c, err := node.Dial(addr, id)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	home := t.TempDir()
	reg, err := register.Open(filepath.Join(home, "node.db"), register.Options{})
	must(t, err)
	d, err := desk.New(desk.Config{Client: c, Register: reg, InboxDir: filepath.Join(home, "inbox"), Signer: signer})
	must(t, err)
	return d
}

// writePDF writes a real PDF, signed with the key of agency signer of
// dir unless signer is "", and returns its path.
func writePDF(t *testing.T, dir, signer, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	b, err := samplepdf.Bytes(samplepdf.Options{Title: "Ke hoach"})
	must(t, err)
	must(t, os.WriteFile(path, b, 0o644))
	if signer != "" {
		must(t, agencySigner(t, dir, signer).SignPDF(context.Background(), path, path))
	}
	return path
}

// agencySigner signs PDFs with the key file of agency code, as
// `ltnode send --sign` does.
func agencySigner(t *testing.T, dir, code string) *desk.PAdES {
	t.Helper()
	ad := provision.Layout{Dir: dir}.Agency(code)
	certs, err := pki.LoadCertificates(filepath.Join(ad, "cert.pem"))
	must(t, err)
	key, err := pki.LoadKey(filepath.Join(ad, "key.pem"))
	must(t, err)
	return &desk.PAdES{Options: pades.SignOptions{Signer: key, Certificate: certs[0], Reason: "Phát hành"}, Now: time.Now}
}

// document is a document to send from the commune.
func document(to string, files ...string) node.Document {
	doc := node.Document{Recipients: []string{to}, Number: "12", Notation: "QĐ-UBND", Subject: "Kế hoạch chuyển đổi số",
		DocumentType: "Quyết định"}
	for _, f := range files {
		doc.Files = append(doc.Files, node.File{Path: f})
	}
	return doc
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
