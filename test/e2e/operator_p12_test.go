package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/hubcli"
)

// lookTool returns the path of an external tool, skipping the test
// without it (failing under CI=true).
func lookTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: apt-get install %s", name, debianPackage)
		}
		t.Skipf("%s not found: apt-get install %s", name, debianPackage)
	}
	return path
}

// TestOperatorPKCS12OpensDashboard: an operator added with `lthub operator
// add --p12` gets a PKCS#12 file that openssl and NSS (Chromium's
// certificate store) open with its password, and whose certificate and
// key open the HTTPS dashboard; removed, the same certificate is refused.
//
// Headless Chromium does not present a client certificate without a
// policy (AutoSelectCertificateForUrls) installed system-wide under
// /etc/chromium, which a test must not write: with the certificate in its
// NSS store it aborts the handshake rather than ask. So the file is
// imported into an NSS database with pk12util, as Chromium would store
// it, and the dashboard is fetched by a Go TLS client with the key and
// certificate openssl decoded from the file.
func TestOperatorPKCS12OpensDashboard(t *testing.T) {
	openssl := lookTool(t, "openssl", "openssl")
	dir := initHub(t)
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", HTTPS: "127.0.0.1:0"})
	base := "https://" + h.HTTPSAddr()

	tmp := t.TempDir()
	pw := filepath.Join(tmp, "pw")
	must(t, os.WriteFile(pw, []byte("Mật-khẩu 2026\n"), 0o600))
	p12 := filepath.Join(tmp, "nguyen-van-b.p12")
	rc, out, errOut := lthub(t, "operator", "add", "--dir", dir, "nguyen-van-b", "--out", filepath.Join(tmp, "op"), "--p12", p12, "--password-file", pw)
	if rc != 0 || !strings.Contains(out, "SIGHUP") {
		t.Fatalf("operator add: exit %d: %s%s", rc, out, errOut)
	}
	must(t, h.ReloadTrust()) // what SIGHUP does

	if out, err := exec.Command(openssl, "pkcs12", "-info", "-noout", "-in", p12, "-passin", "file:"+pw).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12 -info: %v\n%s", err, out)
	}
	decoded := filepath.Join(tmp, "decoded")
	must(t, os.MkdirAll(decoded, 0o700))
	for _, args := range [][]string{
		{"-clcerts", "-nokeys", "-out", filepath.Join(decoded, "cert.pem")},
		{"-nocerts", "-nodes", "-out", filepath.Join(decoded, "key.pem")},
	} {
		if out, err := exec.Command(openssl, append([]string{"pkcs12", "-in", p12, "-passin", "file:" + pw}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12 %v: %v\n%s", args, err, out)
		}
	}
	if pk12util, err := exec.LookPath("pk12util"); err == nil {
		certutil := lookTool(t, "certutil", "libnss3-tools")
		db := "sql:" + filepath.Join(tmp, "nssdb")
		must(t, os.MkdirAll(filepath.Join(tmp, "nssdb"), 0o700))
		for _, cmd := range [][]string{
			{certutil, "-N", "-d", db, "--empty-password"},
			{pk12util, "-i", p12, "-d", db, "-w", pw},
		} {
			if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", cmd, err, out)
			}
		}
		if out, err := exec.Command(certutil, "-L", "-d", db).CombinedOutput(); err != nil || !strings.Contains(string(out), "lienthong nguyen-van-b") || !strings.Contains(string(out), "u,u,u") {
			t.Errorf("NSS database after the import: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("pk12util not found: apt-get install libnss3-tools")
	} else {
		t.Log("pk12util not found (apt-get install libnss3-tools): NSS import not checked")
	}

	get := func() (int, string) {
		t.Helper()
		resp, err := httpsClient(t, dir, decoded).Get(base + "/")
		must(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp.StatusCode, string(body)
	}
	if code, body := get(); code != http.StatusOK || !strings.Contains(body, "Tình hình liên thông văn bản điện tử") {
		t.Fatalf("dashboard with the exported certificate: %d %.300s", code, body)
	}

	if rc, out, errOut := lthub(t, "operator", "remove", "--dir", dir, "nguyen-van-b"); rc != 0 {
		t.Fatalf("operator remove: exit %d: %s%s", rc, out, errOut)
	}
	must(t, h.ReloadTrust())
	if code, body := get(); code != http.StatusForbidden || !strings.Contains(body, "không có quyền xem trang tổng hợp") {
		t.Errorf("dashboard after the operator was removed: %d %.300s", code, body)
	}

	// The hub's own operator identity exports too; a missing password is
	// a usage error, never a flag.
	exported := filepath.Join(tmp, "it-centre.p12")
	if rc, out, errOut := lthub(t, "operator", "export", "--dir", dir, "--p12", exported, "--password-file", pw); rc != 0 {
		t.Fatalf("operator export: exit %d: %s%s", rc, out, errOut)
	}
	if out, err := exec.Command(openssl, "pkcs12", "-info", "-noout", "-in", exported, "-passin", "file:"+pw).CombinedOutput(); err != nil {
		t.Errorf("openssl on the exported operator file: %v\n%s", err, out)
	}
	var stdout, stderr strings.Builder
	m := &hubcli.Main{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), Getenv: func(string) string { return "" }}
	if rc := m.Run(context.Background(), []string{"operator", "export", "--dir", dir, "--p12", filepath.Join(tmp, "x.p12")}); rc != 2 ||
		!strings.Contains(stderr.String(), "cần mật khẩu cho tệp PKCS#12") {
		t.Errorf("export without a password: exit %d: %s", rc, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(tmp, "x.p12")); !os.IsNotExist(err) {
		t.Errorf("export without a password wrote a file: %v", err)
	}
}
