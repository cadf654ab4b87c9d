// Package pkcs12 writes PKCS#12 (RFC 7292) files: a private key and its
// certificate chain, protected by a password, as browsers and operating
// systems import them. The key is encrypted with PBES2 (PBKDF2 with
// HMAC-SHA-256, AES-256-CBC); the certificates sit in plain certificate
// bags; the whole is authenticated with an HMAC-SHA-256 MAC. Only the
// encoder is here: the hub writes PKCS#12, it never reads it.
package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Iterations is the PBKDF2 and MAC iteration count.
const Iterations = 200_000

// Object identifiers used in the file.
var (
	oidData               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidCertBag            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidShroudedKeyBag     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidX509Certificate    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidFriendlyName       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidLocalKeyID         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidPBES2              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidSHA256             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	asn1Null              = asn1.RawValue{Tag: asn1.TagNull}
	errNoPassword         = errors.New("pkcs12: empty password")
	errUnsupportedKeyType = errors.New("pkcs12: key cannot be exported (only software RSA, ECDSA and Ed25519 keys)")
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type digestInfo struct {
	Algorithm algorithmIdentifier
	Digest    []byte
}

type macData struct {
	Mac        digestInfo
	MacSalt    []byte
	Iterations int
}

type pfx struct {
	Version  int
	AuthSafe contentInfo
	MacData  macData
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes []attribute   `asn1:"set,optional"`
}

type attribute struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

type certBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm algorithmIdentifier
	Data      []byte
}

type pbes2Params struct {
	KDF    algorithmIdentifier
	Scheme algorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int
	PRF        algorithmIdentifier
}

// Encode returns a PKCS#12 file holding key, its certificate cert and the
// rest of its chain (CA certificates, leaf's issuer first), protected by
// password, with friendlyName shown by the importing browser.
func Encode(key crypto.PrivateKey, cert *x509.Certificate, chain []*x509.Certificate, friendlyName, password string) ([]byte, error) {
	if password == "" {
		return nil, errNoPassword
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnsupportedKeyType, err)
	}
	keyID := sha256.Sum256(cert.Raw)
	attrs, err := bagAttributes(keyID[:20], friendlyName)
	if err != nil {
		return nil, err
	}

	var certBags []safeBag
	for i, c := range append([]*x509.Certificate{cert}, chain...) {
		b, err := asn1.Marshal(certBag{ID: oidX509Certificate, Data: c.Raw})
		if err != nil {
			return nil, fmt.Errorf("pkcs12: encoding certificate bag: %w", err)
		}
		bag := safeBag{ID: oidCertBag, Value: asn1.RawValue{FullBytes: explicit0(b)}}
		if i == 0 {
			bag.Attributes = attrs
		}
		certBags = append(certBags, bag)
	}
	shrouded, err := encryptKey(keyDER, password)
	if err != nil {
		return nil, err
	}
	keyBag := safeBag{ID: oidShroudedKeyBag, Value: asn1.RawValue{FullBytes: explicit0(shrouded)}, Attributes: attrs}

	var safes []contentInfo
	for _, bags := range [][]safeBag{certBags, {keyBag}} {
		der, err := asn1.Marshal(bags)
		if err != nil {
			return nil, fmt.Errorf("pkcs12: encoding safe contents: %w", err)
		}
		ci, err := dataContent(der)
		if err != nil {
			return nil, err
		}
		safes = append(safes, ci)
	}
	authSafe, err := asn1.Marshal(safes)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: encoding authenticated safe: %w", err)
	}
	outer, err := dataContent(authSafe)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	macKey := pkcs12KDF(bmpString(password), salt, 3, Iterations, 32)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(authSafe)
	out, err := asn1.Marshal(pfx{Version: 3, AuthSafe: outer, MacData: macData{
		Mac:     digestInfo{Algorithm: algorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1Null}, Digest: mac.Sum(nil)},
		MacSalt: salt, Iterations: Iterations,
	}})
	if err != nil {
		return nil, fmt.Errorf("pkcs12: encoding PFX: %w", err)
	}
	return out, nil
}

// encryptKey returns the EncryptedPrivateKeyInfo of a PKCS#8 key under
// PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC.
func encryptKey(keyDER []byte, password string) ([]byte, error) {
	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	// PBES2 takes the password as its UTF-8 bytes (RFC 8018), unlike the
	// MAC's PKCS#12 key derivation.
	k, err := pbkdf2.Key(sha256.New, password, salt, Iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: deriving the key encryption key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(keyDER)%aes.BlockSize
	plain := append(bytes.Clone(keyDER), bytes.Repeat([]byte{byte(pad)}, pad)...)
	enc := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(enc, plain)

	kdfParams, err := asn1.Marshal(pbkdf2Params{Salt: salt, Iterations: Iterations, KeyLength: 32,
		PRF: algorithmIdentifier{Algorithm: oidHMACWithSHA256, Parameters: asn1Null}})
	if err != nil {
		return nil, err
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(pbes2Params{
		KDF:    algorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		Scheme: algorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm: algorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		Data:      enc,
	})
}

// bagAttributes are the localKeyId tying the key to its certificate and
// the name the browser shows.
func bagAttributes(keyID []byte, friendlyName string) ([]attribute, error) {
	id, err := asn1.Marshal(keyID)
	if err != nil {
		return nil, err
	}
	attrs := []attribute{{ID: oidLocalKeyID, Value: asn1.RawValue{Tag: asn1.TagSet, Class: asn1.ClassUniversal, IsCompound: true, Bytes: id}}}
	if friendlyName != "" {
		bmp := bmpString(friendlyName)
		name, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagBMPString, Class: asn1.ClassUniversal, Bytes: bmp[:len(bmp)-2]})
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, attribute{ID: oidFriendlyName, Value: asn1.RawValue{Tag: asn1.TagSet, Class: asn1.ClassUniversal, IsCompound: true, Bytes: name}})
	}
	return attrs, nil
}

// dataContent wraps der as a ContentInfo of type data.
func dataContent(der []byte) (contentInfo, error) {
	octets, err := asn1.Marshal(der)
	if err != nil {
		return contentInfo{}, err
	}
	return contentInfo{ContentType: oidData, Content: asn1.RawValue{FullBytes: explicit0(octets)}}, nil
}

// explicit0 wraps der in a [0] EXPLICIT tag.
func explicit0(der []byte) []byte {
	out, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der})
	return out
}

// bmpString is s as UTF-16 big-endian with a terminating zero, the form
// the PKCS#12 key derivation takes passwords in.
func bmpString(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 0, 2*len(u)+2)
	for _, r := range u {
		out = append(out, byte(r>>8), byte(r))
	}
	return append(out, 0, 0)
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2 with SHA-256,
// used for the MAC key (id 3).
func pkcs12KDF(password, salt []byte, id byte, iterations, size int) []byte {
	const v = 64 // SHA-256's block size
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		out := make([]byte, v*((len(b)+v-1)/v))
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	D := bytes.Repeat([]byte{id}, v)
	I := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < size {
		h := sha256.New()
		h.Write(D)
		h.Write(I)
		A := h.Sum(nil)
		for range iterations - 1 {
			s := sha256.Sum256(A)
			A = s[:]
		}
		out = append(out, A...)
		B := fill(A)
		for j := 0; j < len(I); j += v {
			// I_j = (I_j + B + 1) mod 2^(8v)
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(I[j+k]) + int(B[k]) + carry
				I[j+k] = byte(sum)
				carry = sum >> 8
			}
		}
	}
	return out[:size]
}
