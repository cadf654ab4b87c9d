// Package cms builds and parses the detached CMS SignedData (RFC 5652) of
// PDF signatures: signed attributes (contentType, messageDigest,
// signingTime, ESS signing-certificate and -v2 of RFC 2634/5035), RSA
// PKCS #1 v1.5, RSA-PSS and ECDSA signatures with SHA-1/256/384/512, and a
// BER-to-DER normalizer for what other signers produce. CheckESS compares
// signing-certificate attributes with whatever hash they name and their
// issuerSerial; CheckPadding refuses anything but zeros after the DER.
//
// It knows nothing of PDF: signing/pades finds the bytes and decides what
// a signature means.
package cms
