package nodecli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node/webapp"
)

// knownPKCS11 are the PKCS#11 libraries serve offers by default, where
// installed: SoftHSM2 and OpenSC (Debian's paths).
func knownPKCS11() []string {
	return []string{
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
		"/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
	}
}

// serve is `ltnode serve --http 127.0.0.1:PORT --out DIR`: the clerk's web
// app (package webapp) on the loopback address, with the desk working
// behind it as `ltnode run` does, until ctx ends.
func (m *Main) serve(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("serve")
	listen := fs.String("http", "127.0.0.1:8080", "địa chỉ `HOST:PORT` của trang làm việc (chỉ loopback)")
	out := fs.String("out", "", "thư mục lưu văn bản đến")
	interval := fs.Duration("interval", 5*time.Second, "chu kỳ chuyển hộp thư đi")
	var modules cliutil.List
	fs.Var(&modules, "pkcs11", "thư viện PKCS#11 `FILE` mà trang được dùng để ký bằng thẻ (lặp lại được); mặc định các thư viện thường gặp có trên máy")
	asJSON := fs.Bool("json", false, "in đường dẫn của trang dạng JSON (một dòng: url, listen, agency)")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) > 0 || *interval <= 0 {
		return cliutil.Usagef("serve cần --out DIR (và --interval dương)")
	}
	// Refused before anything is opened: no TLS, no login, so never on
	// the network.
	if err := webapp.CheckListen(*listen); err != nil {
		return cliutil.Usagef("%s", err)
	}
	d, err := s.desk(deskConfig{online: true, inbox: *out})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("mở cổng %s cho trang làm việc (listening): %w", *listen, err)
	}
	if len(modules) == 0 {
		for _, p := range knownPKCS11() {
			if _, err := os.Stat(p); err == nil {
				modules = append(modules, p)
			}
		}
	}
	srv, err := webapp.New(webapp.Config{Listen: ln.Addr().String(), Desk: d, Now: s.now, Interval: *interval, PKCS11Modules: modules,
		Logger: slog.New(slog.NewTextHandler(m.Stderr, nil))})
	if err != nil {
		ln.Close()
		return err
	}
	if *asJSON {
		err = m.printJSONLine(map[string]string{"url": srv.Link(), "listen": ln.Addr().String(), "agency": d.Code()})
	} else {
		_, err = fmt.Fprintf(m.Stdout, "Trang làm việc của văn thư (%s): mở đường dẫn sau trong trình duyệt trên máy này\n%s\n(Ctrl-C để dừng)\n",
			d.Named(ctx, d.Code()), srv.Link())
	}
	if err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ctx, ln)
}
