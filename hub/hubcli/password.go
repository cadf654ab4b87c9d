package hubcli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lienthong/lienthong/internal/cliutil"
)

// PasswordEnv names the environment variable that may hold the password
// of the PKCS#12 files lthub writes.
const PasswordEnv = "LTHUB_P12_PASSWORD"

// password returns the PKCS#12 password: the first line of file, or
// $LTHUB_P12_PASSWORD, or typed at the terminal (twice). A password is
// never a flag's value, which other users could read in the process
// list.
func (m *Main) password(file string) (string, error) {
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", cliutil.Usagef("đọc --password-file: %v", err)
		}
		pw, _, _ := strings.Cut(string(raw), "\n")
		pw = strings.TrimRight(pw, "\r")
		if pw == "" {
			return "", cliutil.Usagef("--password-file %s rỗng", file)
		}
		return pw, nil
	}
	if pw := m.getenv(PasswordEnv); pw != "" {
		return pw, nil
	}
	in, ok := m.stdin().(*os.File)
	if !ok || !isTerminal(in) {
		return "", cliutil.Usagef("cần mật khẩu cho tệp PKCS#12: --password-file TỆP, biến %s, hoặc chạy trong terminal để nhập", PasswordEnv)
	}
	first, err := prompt(m.Stderr, in, "Mật khẩu cho tệp PKCS#12: ")
	if err != nil {
		return "", err
	}
	again, err := prompt(m.Stderr, in, "Nhập lại: ")
	if err != nil {
		return "", err
	}
	if first != again || first == "" {
		return "", cliutil.Usagef("hai lần nhập mật khẩu không khớp hoặc rỗng")
	}
	return first, nil
}

// prompt reads one line from the terminal in without echo.
func prompt(w io.Writer, in *os.File, label string) (string, error) {
	fmt.Fprint(w, label)
	restore, err := noEcho(in)
	if err != nil {
		return "", fmt.Errorf("tắt hiển thị khi nhập mật khẩu: %w", err)
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	restore()
	fmt.Fprintln(w)
	if err != nil && line == "" {
		return "", fmt.Errorf("đọc mật khẩu: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (m *Main) getenv(k string) string {
	if m.Getenv != nil {
		return m.Getenv(k)
	}
	return os.Getenv(k)
}

func (m *Main) stdin() io.Reader {
	if m.Stdin != nil {
		return m.Stdin
	}
	return os.Stdin
}
