package envsig

import (
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/pki"
)

func TestSignVerify(t *testing.T) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
		cert, key, err := root.Issue(pki.Request{CommonName: "000.00.31.H53", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		data := []byte("envelope bytes")
		sig, err := Sign(key, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(cert, data, sig); err != nil {
			t.Errorf("key type %d: Verify = %v", kt, err)
		}
		if err := Verify(cert, []byte("envelope bytez"), sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("key type %d: changed data: %v, want ErrBadSignature", kt, err)
		}
		if err := Verify(root.Cert, data, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("key type %d: other key: %v, want ErrBadSignature", kt, err)
		}
	}
}
