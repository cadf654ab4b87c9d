package hubcli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/cliutil"
)

// cert runs `lthub cert renew`: a new TLS certificate for the hub from
// the province CA, agencies untouched.
func (m *Main) cert(_ context.Context, args []string) error {
	if len(args) == 0 || args[0] != "renew" {
		return cliutil.Usagef("cert cần renew")
	}
	fs, dir := m.flags("cert renew")
	var names, ips cliutil.List
	fs.Var(&names, "hub-name", "tên miền của trục (lặp lại được); mặc định giữ các tên của chứng thư hiện tại")
	fs.Var(&ips, "hub-ip", "địa chỉ IP của trục (lặp lại được)")
	localhost := fs.Bool("localhost", false, "thêm localhost, 127.0.0.1 và ::1")
	days := fs.Int("days", 730, "số ngày hiệu lực")
	if _, err := cliutil.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return cliutil.Usagef("cert renew cần --dir D")
	}
	var hosts []string
	if len(names)+len(ips) > 0 || *localhost {
		var err error
		if hosts, err = provision.HubHosts(names, ips, *localhost); err != nil {
			return cliutil.Usagef("%s", lienthong.ErrorMessage(err))
		}
	}
	cert, err := provision.Layout{Dir: *dir}.RenewHub(hosts, provision.IssueOptions{Validity: time.Duration(*days) * 24 * time.Hour})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Đã cấp lại chứng thư của trục cho %s, hết hạn %s; khởi động lại trục để dùng (renewed; restart the hub)\n",
		strings.Join(provision.CertHosts(cert), ", "), cert.NotAfter.Local().Format(time.DateOnly))
	return nil
}

// operator runs `lthub operator add|remove|export`.
func (m *Main) operator(_ context.Context, args []string) error {
	if len(args) == 0 {
		return cliutil.Usagef("operator cần add, remove hoặc export")
	}
	verb := args[0]
	fs, dir := m.flags("operator " + verb)
	out := fs.String("out", "", "add: thư mục ghi chứng thư và khóa (mặc định D/operators-keys/TÊN)")
	p12 := fs.String("p12", "", "add, export: ghi thêm tệp PKCS#12 này để nhập vào trình duyệt")
	passwordFile := fs.String("password-file", "", "tệp chứa mật khẩu cho tệp PKCS#12 (hoặc biến LTHUB_P12_PASSWORD, hoặc nhập khi được hỏi)")
	from := fs.String("from", "", "export: thư mục chứng thư và khóa của người vận hành (mặc định D/operator)")
	days := fs.Int("days", 730, "add: số ngày hiệu lực")
	pos, err := cliutil.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *dir == "" {
		return cliutil.Usagef("operator %s cần --dir D", verb)
	}
	l := provision.Layout{Dir: *dir}
	switch verb {
	case "add":
		if len(pos) != 1 {
			return cliutil.Usagef("operator add cần đúng một tên, vd operator add nguyen-van-a")
		}
		name := pos[0]
		var password string
		if *p12 != "" {
			if password, err = m.password(*passwordFile); err != nil {
				return err
			}
		}
		if *out == "" {
			*out = filepath.Join(*dir, "operators-keys", name)
		}
		id, err := l.IssueOperator(name, provision.IssueOptions{Validity: time.Duration(*days) * 24 * time.Hour})
		if err != nil {
			return err
		}
		if err := l.AddOperator(name, id.Cert); err != nil {
			return err
		}
		if err := provision.WriteIdentity(*out, id); err != nil {
			return err
		}
		if *p12 != "" {
			if err := provision.WritePKCS12(*p12, id, "lienthong "+name, password); err != nil {
				return err
			}
		}
		fmt.Fprintf(m.Stdout, "Đã thêm người vận hành %s (%s); gửi SIGHUP cho trục đang chạy để áp dụng\n", name, *out)
		return nil
	case "remove":
		if len(pos) != 1 {
			return cliutil.Usagef("operator remove cần đúng một tên")
		}
		if err := l.RemoveOperator(pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Đã xóa người vận hành %s; gửi SIGHUP cho trục đang chạy để áp dụng\n", pos[0])
		return nil
	case "export":
		if *p12 == "" {
			return cliutil.Usagef("operator export cần --p12 TỆP")
		}
		if *from == "" {
			*from = l.Operator()
		}
		id, err := provision.LoadIdentity(*from)
		if err != nil {
			return fmt.Errorf("đọc chứng thư vận hành %s: %w", *from, err)
		}
		password, err := m.password(*passwordFile)
		if err != nil {
			return err
		}
		if err := provision.WritePKCS12(*p12, id, "lienthong "+id.Cert.Subject.CommonName, password); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Đã ghi %s: nhập vào trình duyệt để mở trang tổng hợp HTTPS\n", *p12)
		return nil
	default:
		return cliutil.Usagef("operator: lệnh không rõ %q; dùng add, remove hoặc export", verb)
	}
}
