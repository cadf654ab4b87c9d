// Package pades signs PDF documents with PAdES signatures and verifies
// them, without loading the document: it reads the cross-reference chain
// and the handful of objects it needs through an io.ReaderAt and hashes the
// signed bytes as a stream, so a 100 MB attachment costs no more memory
// than a one-page letter.
//
// Sign appends an incremental update holding a signature field (/FT /Sig
// widget: invisible on the first page, or, with SignOptions.Appearance, a
// visible one with its /Rect and /AP on any page), its signature dictionary
// (/Filter /Adobe.PPKLite, /SubFilter adbe.pkcs7.detached or
// ETSI.CAdES.detached) and a cross-reference section of the same kind as
// the document's (table or stream). The signature is a detached CMS
// SignedData (RFC 5652) over the /ByteRange, SHA-256, with the signer's
// chain embedded and the signed attributes contentType, messageDigest,
// signing-certificate-v2 (RFC 5035) and, for adbe.pkcs7.detached,
// signingTime; a PAdES baseline (CAdES) signature carries its time in /M
// only. Keys are crypto.Signers, so a PKCS#11 token signs as well as a key
// file. Earlier signatures stay valid: the original bytes are never
// touched, and the AcroForm and page are extended by rewriting them in the
// update.
//
// Verify finds the signatures of every revision, checks each one's digest,
// CMS signature, chain to the given roots (never the system pool), validity
// and revocation at its proof of existence (the earliest trusted RFC 3161
// timestamp covering it, else the validation time: the signing time a
// signer writes proves nothing), key purpose (signing/keypurpose: no CA
// or TLS-only key signs), the signing-certificate attribute, the
// revocation of every certificate below the anchor (signing/revocation:
// fresh CRLs or OCSP responses of the issuer, else TRY_LATER), and
// whether the document changed after it. An unreadable signature
// dictionary is a FORMAT_FAILURE signature, never an unsigned file.
//
// Verification does each thing once: the byte ranges of all signatures
// are hashed in one pass that reads only covered bytes, the bytes two
// signatures share (a seal over a leader's signature covers all of the
// leader's revision) hashed once; and VerifyOptions.Chains (a ChainCache,
// which signing/trust keeps per trust state) lets a signer's chain be
// built and checked once, while the signature, key purpose, validity at
// the proof of existence and revocation are still decided per document.
//
// A change after a signature is acceptable only when a later signature
// covers the whole file and the difference between the signed revision
// and the final one, walked object by object from the catalog by use, is
// on the allow-list of diff.go (signatures, DSS, document timestamps,
// metadata; form filling and annotations as a certification's DocMDP
// level and FieldMDP locks permit); see Verdict and
// SignatureReport.Changes. Sign verifies the document first and refuses
// to sign over a broken signature or a DocMDP P=1 certification.
//
// Long-term validation: SignOptions.TSA adds a signature timestamp (PAdES
// B-T); AddDSS and AddLTV add a document security store with chains and
// CRLs (B-LT); AddDocumentTimestamp adds an ETSI.RFC3161 document
// timestamp (B-LTA). Verify reads the DSS offline, verifies both kinds of
// timestamp against VerifyOptions.TSARoots and reports them.
//
// The PDF syntax (lexer, objects, cross-reference chain, writer) lives in
// signing/pdf and the CMS layer in signing/cms; this package holds the
// PAdES rules.
//
// Outside tools agree: the tests check this package's signatures with
// poppler's pdfsig (NSS) and pdfcpu's validator, and verify signatures
// made by pdfsig.
//
// Not supported: encrypted PDFs, SHA-1 signatures (refused as insecure),
// and archive timestamps inside CMS (B-LTA uses document timestamps).
package pades
