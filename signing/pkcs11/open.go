package pkcs11

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"
)

// Errors OpenSigning wraps, one per thing a clerk can fix: install the
// token's driver, plug the token in, retype the PIN, pick another key.
var (
	ErrModule        = errors.New("the PKCS#11 module cannot be loaded")
	ErrNoToken       = errors.New("the token is not present")
	ErrWrongPIN      = errors.New("wrong PIN")
	ErrPINLocked     = errors.New("the PIN is locked")
	ErrNoKey         = errors.New("no such key on the token")
	ErrNoCertificate = errors.New("no certificate for the key on the token")
	ErrCertMismatch  = errors.New("the certificate on the token does not match the key")
)

// SigningKey is a token key with the certificate stored beside it, ready
// for pades.SignOptions. Close it when done.
type SigningKey struct {
	*Key
	Certificate *x509.Certificate
}

// OpenSigning opens the token cfg names, logs in and finds the key to sign
// with and its certificate (read from the token, so the clerk names no
// certificate file). cfg.TokenLabel may be empty when exactly one token is
// plugged in, cfg.KeyLabel when the token holds exactly one key with a
// certificate. Each failure wraps one of the errors above and says in
// Vietnamese what to do.
func OpenSigning(cfg Config) (*SigningKey, error) {
	if cfg.Module == "" {
		return nil, fmt.Errorf("%w: chưa chỉ ra thư viện PKCS#11 của token (no module given)", ErrModule)
	}
	if _, err := os.Stat(cfg.Module); err != nil {
		return nil, fmt.Errorf("%w: không tìm thấy thư viện PKCS#11 %s — cài trình điều khiển của token (module not found: %v)", ErrModule, cfg.Module, err)
	}
	probe, err := probeTokens(cfg.Module)
	if err != nil {
		return nil, err
	}
	if cfg.TokenLabel == "" {
		switch len(probe) {
		case 0:
			return nil, fmt.Errorf("%w: không thấy token nào, hãy cắm token vào máy (no token present)", ErrNoToken)
		case 1:
			cfg.TokenLabel = probe[0].label
		default:
			return nil, fmt.Errorf("%w: có %d token (%s), hãy chọn một bằng --token-label (several tokens present)", ErrNoToken, len(probe), tokenLabels(probe))
		}
	} else if findToken(probe, cfg.TokenLabel) == nil {
		have := "không có token nào"
		if len(probe) > 0 {
			have = "đang có: " + tokenLabels(probe)
		}
		return nil, fmt.Errorf("%w: không thấy token %q, hãy cắm token vào máy (%s) (token not present)", ErrNoToken, cfg.TokenLabel, have)
	}
	if cfg.PIN == "" {
		return nil, fmt.Errorf("%w: chưa nhập mã PIN của token (no PIN given)", ErrWrongPIN)
	}
	tok, err := OpenToken(cfg)
	if err != nil {
		return nil, loginError(cfg, err)
	}
	key, cert, err := tok.findSigningKey(cfg.KeyLabel)
	if err != nil {
		tok.Close()
		return nil, err
	}
	return &SigningKey{Key: &Key{Signer: key, token: tok}, Certificate: cert}, nil
}

// findSigningKey finds the key labelled label (or the only key with a
// certificate when label is empty) and the certificate that matches it.
func (t *Token) findSigningKey(label string) (crypto.Signer, *x509.Certificate, error) {
	pairs, err := t.ctx.FindAllPairedCertificates()
	if err != nil {
		return nil, nil, fmt.Errorf("pkcs11: reading the token's certificates: %w", err)
	}
	if label == "" {
		switch len(pairs) {
		case 0:
			return nil, nil, fmt.Errorf("%w: token không có cặp khóa nào kèm chứng thư số (no key with a certificate)", ErrNoCertificate)
		case 1:
			s, ok := pairs[0].PrivateKey.(crypto11.Signer)
			if ok && !samePublic(pairs[0].Leaf, s) {
				return nil, nil, fmt.Errorf("%w: chứng thư %q trên token không khớp với khóa (certificate does not match the key)", ErrCertMismatch, pairs[0].Leaf.Subject.CommonName)
			}
			if !ok {
				return nil, nil, fmt.Errorf("%w: khóa của %q không ký được (key cannot sign)", ErrNoKey, pairs[0].Leaf.Subject.CommonName)
			}
			return s, pairs[0].Leaf, nil
		default:
			names := make([]string, len(pairs))
			for i, p := range pairs {
				names[i] = p.Leaf.Subject.CommonName
			}
			return nil, nil, fmt.Errorf("%w: token có %d khóa (%s), hãy chọn một bằng --key-label (several keys)", ErrNoKey, len(pairs), strings.Join(names, ", "))
		}
	}
	key, err := t.Signer(label)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range pairs {
		if samePublic(p.Leaf, key) {
			return key, p.Leaf, nil
		}
	}
	cert, err := t.ctx.FindCertificate(nil, []byte(label), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("pkcs11: finding the certificate labelled %q: %w", label, err)
	}
	if cert == nil {
		return nil, nil, fmt.Errorf("%w: khóa %q không có chứng thư số đi kèm trên token (no certificate for the key)", ErrNoCertificate, label)
	}
	if !samePublic(cert, key) {
		return nil, nil, fmt.Errorf("%w: chứng thư %q trên token không khớp với khóa %q (certificate does not match the key)", ErrCertMismatch, cert.Subject.CommonName, label)
	}
	return key, cert, nil
}

func samePublic(cert *x509.Certificate, key crypto.Signer) bool {
	e, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(cert.PublicKey)
}

// loginError turns crypto11's error for a failed login into one that says
// what to do, with the token's own account of the tries left.
func loginError(cfg Config, err error) error {
	var code p11.Error
	if !errors.As(err, &code) {
		return fmt.Errorf("pkcs11: mở token %q: %w", cfg.TokenLabel, err)
	}
	switch code {
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_LEN_RANGE, p11.CKR_PIN_INVALID:
		left := "nhập lại cho đúng"
		if probe, perr := probeTokens(cfg.Module); perr == nil {
			if t := findToken(probe, cfg.TokenLabel); t != nil {
				switch {
				case t.flags&p11.CKF_USER_PIN_LOCKED != 0:
					return fmt.Errorf("%w: mã PIN của token %q đã bị khóa sau quá nhiều lần nhập sai; liên hệ nơi cấp token để mở khóa (PIN locked)", ErrPINLocked, cfg.TokenLabel)
				case t.flags&p11.CKF_USER_PIN_FINAL_TRY != 0:
					left = "chỉ còn MỘT lần thử, nhập sai nữa token sẽ bị khóa (final try)"
				case t.flags&p11.CKF_USER_PIN_COUNT_LOW != 0:
					left = "token báo đã nhập sai nhiều lần, còn ít lần thử (count low)"
				}
			}
		}
		return fmt.Errorf("%w: sai mã PIN của token %q; %s (wrong PIN)", ErrWrongPIN, cfg.TokenLabel, left)
	case p11.CKR_PIN_LOCKED:
		return fmt.Errorf("%w: mã PIN của token %q đã bị khóa; liên hệ nơi cấp token để mở khóa (PIN locked)", ErrPINLocked, cfg.TokenLabel)
	case p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_REMOVED:
		return fmt.Errorf("%w: token %q đã bị rút ra (token removed)", ErrNoToken, cfg.TokenLabel)
	}
	return fmt.Errorf("pkcs11: mở token %q: %w", cfg.TokenLabel, err)
}

type tokenState struct {
	label string
	flags uint
}

// probeTokens lists the tokens present, with their flags, straight through
// the module: crypto11 reports a missing token or a wrong PIN without the
// names and counters a clerk needs.
func probeTokens(module string) ([]tokenState, error) {
	ctx := p11.New(module)
	if ctx == nil {
		return nil, fmt.Errorf("%w: không nạp được thư viện PKCS#11 %s — tệp không phải thư viện của token hoặc thiếu thư viện phụ thuộc (module cannot be loaded)", ErrModule, module)
	}
	defer ctx.Destroy()
	// Another Context in this process (crypto11 shares one per module)
	// may have initialised the module already; then it is not ours to
	// finalise.
	switch err := ctx.Initialize(); {
	case err == nil:
		defer ctx.Finalize()
	case errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)):
	default:
		return nil, fmt.Errorf("%w: khởi tạo thư viện PKCS#11 %s: %v", ErrModule, module, err)
	}
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: listing slots of %s: %w", module, err)
	}
	var out []tokenState
	for _, s := range slots {
		info, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if info.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		out = append(out, tokenState{label: strings.TrimRight(info.Label, " \x00"), flags: info.Flags})
	}
	return out, nil
}

func findToken(ts []tokenState, label string) *tokenState {
	for i := range ts {
		if ts[i].label == label {
			return &ts[i]
		}
	}
	return nil
}

func tokenLabels(ts []tokenState) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = fmt.Sprintf("%q", t.label)
	}
	return strings.Join(names, ", ")
}
