// Package etsi names the outcomes of signature validation as ETSI EN
// 319 102-1 (section 5.1.3) states them: a main indication and, unless it
// is TOTAL-PASSED, a sub-indication saying why. Verifiers in signing/
// report these; the hub's policy and the clerk's tools read them.
//
// One choice goes beyond the standard's table: a signature whose document
// was changed afterwards in a way its allow-list (or DocMDP/FieldMDP)
// does not permit is TOTAL-FAILED with SIG_CONSTRAINTS_FAILURE, and the
// report names the changed objects. EN 319 102-1 lists that sub-indication
// under INDETERMINATE, for constraints a policy may waive; a PDF whose
// signed content was altered is not something a later check can repair,
// so it fails outright, as pyHanko's and the EU DSS validator's
// difference analyses treat it.
package etsi

// Indication is the main outcome of validating one signature.
type Indication string

// Main indications.
const (
	// TotalPassed: every check passed; the signature is valid.
	TotalPassed Indication = "TOTAL-PASSED"
	// TotalFailed: the signature is proven invalid (wrong hash, bad
	// cryptography, revoked before proof of existence, altered content).
	TotalFailed Indication = "TOTAL-FAILED"
	// Indeterminate: the checks could not decide; the sub-indication says
	// what is missing (a fresher CRL, proof of existence, a chain).
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication says why a signature is not TOTAL-PASSED.
type SubIndication string

// Sub-indications of EN 319 102-1 used by lienthong.
const (
	None SubIndication = ""

	// With TotalFailed.
	FormatFailure    SubIndication = "FORMAT_FAILURE"
	HashFailure      SubIndication = "HASH_FAILURE"
	SigCryptoFailure SubIndication = "SIG_CRYPTO_FAILURE"
	Revoked          SubIndication = "REVOKED"
	// SigConstraintsFailure is also used with TotalFailed for content
	// changed after signing; see the package comment.
	SigConstraintsFailure SubIndication = "SIG_CONSTRAINTS_FAILURE"

	// With Indeterminate (some also with TotalFailed, as the standard allows).
	ChainConstraintsFailure        SubIndication = "CHAIN_CONSTRAINTS_FAILURE"
	CertificateChainGeneralFailure SubIndication = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
	CryptoConstraintsFailure       SubIndication = "CRYPTO_CONSTRAINTS_FAILURE"
	Expired                        SubIndication = "EXPIRED"
	NotYetValid                    SubIndication = "NOT_YET_VALID"
	TimestampOrderFailure          SubIndication = "TIMESTAMP_ORDER_FAILURE"
	NoSigningCertificateFound      SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	NoCertificateChainFound        SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	RevokedNoPOE                   SubIndication = "REVOKED_NO_POE"
	RevokedCANoPOE                 SubIndication = "REVOKED_CA_NO_POE"
	OutOfBoundsNoPOE               SubIndication = "OUT_OF_BOUNDS_NO_POE"
	OutOfBoundsNotRevoked          SubIndication = "OUT_OF_BOUNDS_NOT_REVOKED"
	NoPOE                          SubIndication = "NO_POE"
	TryLater                       SubIndication = "TRY_LATER"
	SignedDataNotFound             SubIndication = "SIGNED_DATA_NOT_FOUND"
)

// Worse reports whether a is a worse outcome than b: TOTAL-FAILED, then
// INDETERMINATE, then TOTAL-PASSED. A document's outcome is the worst of
// its signatures'.
func Worse(a, b Indication) bool { return rank(a) > rank(b) }

func rank(i Indication) int {
	switch i {
	case TotalPassed:
		return 0
	case Indeterminate:
		return 1
	case TotalFailed:
		return 2
	}
	return 3
}
