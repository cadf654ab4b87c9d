package nodecli

import (
	"crypto"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/signing/pkcs11"
	"github.com/lienthong/lienthong/signing/pki"
)

// tokenFlags are the flags that choose a PKCS#11 token to sign with.
type tokenFlags struct {
	module, tokenLabel, keyLabel, pinFile string
}

func (f *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.module, "pkcs11", "", "ký bằng USB token: thư viện PKCS#11 của token, vd /usr/lib/softhsm/libsofthsm2.so")
	fs.StringVar(&f.tokenLabel, "token-label", "", "nhãn token (bỏ trống khi chỉ cắm một token)")
	fs.StringVar(&f.keyLabel, "key-label", "", "nhãn khóa trên token (bỏ trống khi token chỉ có một khóa)")
	fs.StringVar(&f.pinFile, "pin-file", "", "tệp chứa mã PIN của token (nếu không, lấy từ LTNODE_PIN hoặc hỏi khi chạy)")
}

// signer is the key to sign with, its certificate and the chain to embed.
type signer struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
	// release closes the token; a no-op for a key file.
	release func()
}

// signingKey opens the key to sign with: a token when tf names a module,
// else the key and certificate files; the certificates of chainPath, if
// set, are added to the chain (read first, before a token asks for its
// PIN).
func (m *Main) signingKey(tf tokenFlags, keyPath, certPath, chainPath string) (*signer, error) {
	var more []*x509.Certificate
	if chainPath != "" {
		var err error
		if more, err = pki.LoadCertificates(chainPath); err != nil {
			return nil, err
		}
	}
	if tf.module == "" {
		key, err := pki.LoadKey(keyPath)
		if err != nil {
			return nil, err
		}
		certs, err := pki.LoadCertificates(certPath)
		if err != nil {
			return nil, err
		}
		return &signer{key: key, cert: certs[0], chain: append(certs[1:], more...), release: func() {}}, nil
	}
	pin, err := m.tokenPIN(tf)
	if err != nil {
		return nil, err
	}
	k, err := pkcs11.OpenSigning(pkcs11.Config{Module: tf.module, TokenLabel: tf.tokenLabel, KeyLabel: tf.keyLabel, PIN: pin})
	if err != nil {
		return nil, err
	}
	return &signer{key: k, cert: k.Certificate, chain: more, release: func() { k.Close() }}, nil
}

// tokenPIN reads the PIN from --pin-file, LTNODE_PIN or, on a terminal, a
// prompt that does not echo.
func (m *Main) tokenPIN(tf tokenFlags) (string, error) {
	if tf.pinFile != "" {
		b, err := os.ReadFile(tf.pinFile)
		if err != nil {
			return "", cliutil.Usagef("đọc tệp mã PIN: %v", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if pin := m.Getenv("LTNODE_PIN"); pin != "" {
		return pin, nil
	}
	if m.ReadPIN != nil {
		return m.ReadPIN("Mã PIN của token: ")
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", cliutil.Usagef("cần mã PIN của token: đặt LTNODE_PIN, dùng --pin-file, hoặc chạy trong cửa sổ dòng lệnh để nhập (PIN needed)")
	}
	fmt.Fprint(m.Stderr, "Mã PIN của token: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(m.Stderr)
	if err != nil {
		return "", fmt.Errorf("đọc mã PIN: %w", err)
	}
	return string(b), nil
}
