package cms_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/lienthong/lienthong/signing/cms"
	"github.com/lienthong/lienthong/signing/pki"
)

// TestRoundTrip checks Parse against what Build wrote, for both key types
// and both attribute sets, and the BER normalizer against the DER it must
// leave alone.
func TestRoundTrip(t *testing.T) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "CMS Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	content := sha256.Sum256([]byte("the signed bytes"))
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
		cert, key, err := root.Issue(pki.Request{CommonName: "CMS Signer", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning, KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		for _, withTime := range []bool{false, true} {
			p := cms.Params{Signer: key, Cert: cert, SigningTime: now, WithSigningTime: withTime, WithESSv2: true, Hash: crypto.SHA256}
			raw, err := cms.Build(p, content[:])
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) > cms.EstimateSize(p) {
				t.Errorf("%d bytes, estimate %d", len(raw), cms.EstimateSize(p))
			}
			c, err := cms.Parse(append(bytes.Clone(raw), 0, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			if c.Signer == nil || c.DigestHash != crypto.SHA256 || !bytes.Equal(c.MessageDigest, content[:]) || len(c.ESS) != 1 || c.ESS[0].Hash != crypto.SHA256 || c.SigningTime.IsZero() != !withTime {
				t.Errorf("parsed %+v", c)
			}
			h := sha256.Sum256(c.SignedAttrs)
			if err := c.VerifySignature(h[:], crypto.SHA256); err != nil {
				t.Errorf("VerifySignature: %v", err)
			}
			h[0] ^= 1
			if err := c.VerifySignature(h[:], crypto.SHA256); err == nil {
				t.Error("VerifySignature accepts a wrong digest")
			}
			der, err := cms.BERToDER(raw)
			if err != nil || !bytes.Equal(der, raw) {
				t.Errorf("BERToDER changed DER input (err %v)", err)
			}
			ber := append(append([]byte{0x30, 0x80}, raw[4:]...), 0, 0)
			if der, err := cms.BERToDER(ber); err != nil || !bytes.Equal(der, raw) {
				t.Errorf("BERToDER(BER) = %v, want the DER", err)
			}
		}
	}
}
