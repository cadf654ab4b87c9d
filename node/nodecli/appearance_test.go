package nodecli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node/nodecli"
	"github.com/lienthong/lienthong/signing/appearance"
	"github.com/lienthong/lienthong/signing/appearance/appearancetest"
	"github.com/lienthong/lienthong/signing/pki"
)

// TestSignVisible: ltnode sign --appearance leader (the image placed by
// the name line), then seal (placed from the leader's widget), then copy
// on an attachment; ltnode verify passes each; and each mistake a clerk
// can make gives its message, exit 1 and no output file.
func TestSignVisible(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	dir := t.TempDir()
	root, err := pki.NewRoot(pki.Request{CommonName: "Province Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	rootPEM := filepath.Join(dir, "root.pem")
	leader := newSigner(t, dir, "leader", root, now)
	seal := newSigner(t, dir, "seal", root, now)
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("root.pem", pki.CertPEM(root.Cert))
	decree, err := samplepdf.Bytes(samplepdf.Options{Title: "Quyet dinh so 15/QD-UBND", Pages: 2, Texts: []samplepdf.Text{
		{X: 360, Y: 320, Size: 12, Text: "TM. ỦY BAN NHÂN DÂN"},
		{X: 395, Y: 305, Size: 12, Text: "CHỦ TỊCH"},
		{X: 375, Y: 200, Size: 13, Text: "Nguyễn Văn An"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	in := write("decree.pdf", decree)
	sigPNG := write("chuky.png", appearancetest.SignaturePNG())
	sealPNG := write("condau.png", appearancetest.SealPNG())
	noDPI := write("condau-nodpi.png", appearancetest.SignaturePNG())
	attachment, err := samplepdf.Bytes(samplepdf.Options{Title: "Phu luc"})
	if err != nil {
		t.Fatal(err)
	}
	att := write("phuluc.pdf", attachment)

	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		m := &nodecli.Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		rc := m.Run(context.Background(), args)
		return rc, stdout.String(), stderr.String()
	}
	sign := func(s signer, in, out string, more ...string) (int, string) {
		rc, _, stderr := run(append([]string{"sign", in, out, "--key", s.keyPEM, "--cert", s.cPEM}, more...)...)
		return rc, stderr
	}
	verified := func(path string, n int) {
		t.Helper()
		rc, stdout, stderr := run("verify", path, "--trust", rootPEM)
		if rc != 0 || strings.Count(stdout, "TOTAL-PASSED") != n {
			t.Fatalf("verify %s: exit %d, want %d TOTAL-PASSED:\n%s%s", path, rc, n, stdout, stderr)
		}
	}

	leaderOut := filepath.Join(dir, "leader.pdf")
	if rc, stderr := sign(leader, in, leaderOut, "--appearance", "leader", "--image", sigPNG, "--anchor", "Nguyễn Văn An"); rc != 0 {
		t.Fatalf("sign --appearance leader: exit %d: %s", rc, stderr)
	}
	verified(leaderOut, 1)
	sealed := filepath.Join(dir, "sealed.pdf")
	if rc, stderr := sign(seal, leaderOut, sealed, "--appearance", "seal", "--image", sealPNG); rc != 0 {
		t.Fatalf("sign --appearance seal: exit %d: %s", rc, stderr)
	}
	verified(sealed, 2)
	explicit := filepath.Join(dir, "page2.pdf")
	if rc, stderr := sign(leader, in, explicit, "--appearance", "leader", "--image", sigPNG, "--page", "2", "--rect", "350,100,160,80"); rc != 0 {
		t.Fatalf("sign --page 2 --rect: exit %d: %s", rc, stderr)
	}
	verified(explicit, 1)
	if _, err := appearance.LoadFont(""); err == nil || os.Getenv("CI") == "true" {
		copyOut := filepath.Join(dir, "copy.pdf")
		if rc, stderr := sign(seal, att, copyOut, "--appearance", "copy", "--number", "15/SY-SNV", "--copy-type", "Sao y bản chính", "--copy-agency", "Sở Nội vụ"); rc != 0 {
			t.Fatalf("sign --appearance copy: exit %d: %s", rc, stderr)
		}
		verified(copyOut, 1)
	}

	tests := []struct {
		name string
		in   string
		args []string
		want string
	}{
		{"unknown kind", in, []string{"--appearance", "signature", "--image", sigPNG}, "dùng leader, seal hoặc copy"},
		{"flags without --appearance", in, []string{"--image", sigPNG}, "chưa chọn kiểu chữ ký hiển thị (--appearance)"},
		{"leader without image", in, []string{"--appearance", "leader", "--anchor", "Nguyễn Văn An"}, "cần ảnh PNG (--image)"},
		{"image not PNG", in, []string{"--appearance", "leader", "--image", rootPEM, "--anchor", "Nguyễn Văn An"}, "không phải PNG hợp lệ"},
		{"leader without anchor", in, []string{"--appearance", "leader", "--image", sigPNG}, "cần --anchor"},
		{"anchor not on the page", in, []string{"--appearance", "leader", "--image", sigPNG, "--anchor", "Trần Thị Bình"}, `không tìm thấy dòng "Trần Thị Bình"`},
		{"no room between the lines", in, []string{"--appearance", "leader", "--image", sigPNG, "--anchor", "CHỦ TỊCH"}, "không đủ chỗ cho chữ ký"},
		{"seal with no leader's signature", in, []string{"--appearance", "seal", "--image", sealPNG}, "không tìm thấy chữ ký hiển thị"},
		{"seal image without resolution", leaderOut, []string{"--appearance", "seal", "--image", noDPI}, "không ghi độ phân giải"},
		{"rectangle off the page", in, []string{"--appearance", "leader", "--image", sigPNG, "--rect", "500,700,200,100"}, "nằm ngoài trang 1"},
		{"rectangle over a quarter of the page", in, []string{"--appearance", "leader", "--image", sigPNG, "--rect", "0,0,595,421"}, "khung chữ ký chiếm 35% trang, tối đa 25%"},
		{"bad rectangle", in, []string{"--appearance", "leader", "--image", sigPNG, "--rect", "10,10,0,5"}, "cần x,y,rộng,cao"},
		{"page out of range", in, []string{"--appearance", "leader", "--image", sigPNG, "--page", "9", "--rect", "10,10,100,50"}, "trang 9 không có, tài liệu có 2 trang"},
		{"anchor for the seal", leaderOut, []string{"--appearance", "seal", "--image", sealPNG, "--anchor", "Nguyễn Văn An"}, "--anchor chỉ dùng cho chữ ký của người có thẩm quyền"},
		{"copy details for the leader", in, []string{"--appearance", "leader", "--image", sigPNG, "--anchor", "Nguyễn Văn An", "--number", "15"}, "chỉ dùng cho bản sao, phụ lục"},
		{"font file missing", att, []string{"--appearance", "copy", "--number", "1", "--font", filepath.Join(dir, "none.ttf")}, "không đọc được phông chữ"},
		{"font not TrueType", att, []string{"--appearance", "copy", "--number", "1", "--font", sigPNG}, "không phải phông TrueType dùng được"},
		{"copy without number", att, []string{"--appearance", "copy"}, "cần số và ký hiệu (--number)"},
		{"copy with an image", att, []string{"--appearance", "copy", "--image", sigPNG, "--number", "1"}, "không có ảnh chữ ký"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "bad"+string(rune('a'+i))+".pdf")
			rc, stderr := sign(seal, tc.in, out, tc.args...)
			if rc != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", rc, stderr, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written after a refusal (%v)", out, err)
			}
		})
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, ".pades-*")); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}
