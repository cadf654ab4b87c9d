// Package revocation decides whether a certificate was revoked, from CRLs
// (RFC 5280) and OCSP responses (RFC 6960): those of the trust store,
// those a PDF carries in its DSS, and, when a Fetcher is configured, those
// the certificate's CRL distribution points and OCSP responder serve.
//
// The rules are those of issue 13 and EN 319 102-1's freshness check:
//   - a CRL counts only if its issuer is the certificate's issuer (name,
//     key identifier and signature), it understands every critical
//     extension (an issuing-distribution-point scope is honoured, anything
//     else critical refuses the CRL), and, to say "good", only if the time
//     in question lies no later than its nextUpdate: a stale CRL cannot
//     prove a certificate good, which gives TRY_LATER;
//   - a revoked entry counts from any CRL of the issuer, stale or not,
//     because revocation is permanent (certificateHold aside);
//   - an OCSP response counts if it is signed by the issuer or by a
//     responder the issuer delegated (id-kp-OCSPSigning) and is fresh in
//     the same sense;
//   - no usable information gives StatusUnknown, which a verifier reports
//     as TRY_LATER unless its policy accepts missing information.
//
// A Result says what was used (source, origin, validity window) so that it
// can be stored with a verification record.
package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Status is what the revocation information says about a certificate.
type Status string

// Statuses.
const (
	// StatusGood: fresh information from the issuer does not list it.
	StatusGood Status = "good"
	// StatusRevoked: the issuer lists it as revoked (see Result.RevokedAt).
	StatusRevoked Status = "revoked"
	// StatusUnknown: no usable, fresh information; retry later with a
	// newer CRL or OCSP response.
	StatusUnknown Status = "unknown"
)

// Source is the kind of revocation information a Result rests on.
type Source string

// Sources.
const (
	SourceCRL  Source = "crl"
	SourceOCSP Source = "ocsp"
	SourceNone Source = "none"
)

// Reason codes of RFC 5280 section 5.3.1 that void a key at any time.
const (
	reasonKeyCompromise = 1
	reasonCACompromise  = 2
	reasonHold          = 6
)

// Origins of revocation information, as Result.Origin names them (a
// fetched item is named by its URL).
const (
	OriginTrustStore = "trust-store"
	OriginDSS        = "dss"
)

// Evidence is revocation information that travels with a document: the
// CRLs and OCSP responses of a PDF's DSS.
type Evidence struct {
	CRLs []*x509.RevocationList
	OCSP [][]byte
}

// Result is the revocation status of one certificate.
type Result struct {
	// Subject and Serial name the certificate checked; Issuer its issuer.
	Subject string `json:"subject"`
	Serial  string `json:"serial"`
	Issuer  string `json:"issuer"`
	Status  Status `json:"status"`
	Source  Source `json:"source"`
	// Origin is where the information came from: OriginTrustStore,
	// OriginDSS or the URL it was fetched from.
	Origin string `json:"origin,omitempty"`
	// ThisUpdate and NextUpdate are the validity window of the CRL or OCSP
	// response used.
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	// RevokedAt and Reason (RFC 5280 reason code) are set when revoked.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    int       `json:"reason,omitempty"`
	// Problems say why information was not used or is missing, in words
	// a clerk can act on (e.g. "CRL of X expired on 2025-01-01").
	Problems []string `json:"problems,omitempty"`
	// Missing is set with StatusUnknown when no information the issuer
	// signed was found at all (as opposed to stale or refused information).
	Missing bool `json:"missing,omitempty"`

	// Raw is the DER of the CRL or OCSP response used, to be kept with the
	// verification record.
	Raw []byte `json:"-"`

	authentic bool // the information's signature is the issuer's
}

// RevokedBy reports whether the certificate counts as revoked for a
// signature made at t: revoked at or before t, or for key or CA
// compromise at any time (a compromised key voids every claim of time).
func (r Result) RevokedBy(t time.Time) bool {
	if r.Status != StatusRevoked {
		return false
	}
	return r.KeyCompromised() || !r.RevokedAt.After(t)
}

// KeyCompromised reports whether the certificate was revoked because its
// key or its CA's key was compromised.
func (r Result) KeyCompromised() bool {
	return r.Status == StatusRevoked && (r.Reason == reasonKeyCompromise || r.Reason == reasonCACompromise)
}

// Checker decides revocation status. The zero value uses no trust-store
// CRLs, fetches nothing and uses time.Now.
type Checker struct {
	// CRLs are the trust store's CRLs; each is still checked against the
	// certificate's issuer before use.
	CRLs []*x509.RevocationList
	// Fetcher, if set, fetches CRLs and OCSP responses the certificate
	// names when nothing offline is fresh. Nil fetches nothing.
	Fetcher *Fetcher
	// Now is the validation time; nil means time.Now.
	Now func() time.Time
	// AcceptMissing is the policy for certificates whose issuer published
	// nothing the checker can find: false (the default) makes them
	// StatusUnknown (TRY_LATER); true lets a verifier treat a Missing
	// result as no obstacle. Stale or refused information is never
	// accepted.
	AcceptMissing bool
	// Signatures, if set, remembers which of CRLs verified against which
	// issuer (see SignatureCache); nil checks every signature every time.
	Signatures *SignatureCache
}

// clockSkew tolerates issuers' clocks running a little ahead.
const clockSkew = 5 * time.Minute

// Accepted reports whether r is no obstacle to a signature: good, or
// missing where the policy accepts that.
func (c *Checker) Accepted(r Result) bool {
	return r.Status == StatusGood || (r.Status == StatusUnknown && r.Missing && c.acceptMissing())
}

func (c *Checker) acceptMissing() bool { return c != nil && c.AcceptMissing }

func (c *Checker) now() time.Time {
	if c != nil && c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check returns the revocation status of cert, issued by issuer, for a
// signature whose time is at (the proof-of-existence time, or the
// validation time; zero means now). ev is what the document carries.
// Information counts as fresh for at when at is no later than its
// nextUpdate and it was not issued after the validation time.
func (c *Checker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time, ev Evidence) Result {
	now := c.now()
	if at.IsZero() {
		at = now
	}
	res := Result{
		Subject: cert.Subject.String(), Serial: serialString(cert.SerialNumber),
		Issuer: issuer.Subject.String(), Status: StatusUnknown, Source: SourceNone,
	}
	var best *Result
	var stale *Result  // the newest information of the issuer that could not say "good"
	authentic := false // some information the issuer signed was seen
	consider := func(r Result) bool {
		authentic = authentic || r.authentic
		switch {
		case r.Status == StatusRevoked:
			best = &r
			return true
		case r.Status == StatusGood && (best == nil || r.ThisUpdate.After(best.ThisUpdate)):
			best = &r
		default:
			res.Problems = append(res.Problems, r.Problems...)
			if r.authentic && r.Status == StatusUnknown && (stale == nil || r.ThisUpdate.After(stale.ThisUpdate)) {
				stale = &r
			}
		}
		return false
	}
	var crls []originCRL
	if c != nil {
		for _, l := range c.CRLs {
			crls = append(crls, originCRL{l, OriginTrustStore, c.Signatures})
		}
	}
	for _, l := range ev.CRLs {
		// A document's CRLs are new objects each time: nothing to
		// remember.
		crls = append(crls, originCRL{l, OriginDSS, nil})
	}
	for _, l := range crls {
		if l.crl == nil || !bytes.Equal(l.crl.RawIssuer, cert.RawIssuer) {
			continue
		}
		if consider(checkCRL(l.crl, l.origin, l.sigs, cert, issuer, at, now)) {
			return finish(res, best)
		}
	}
	for _, der := range ev.OCSP {
		r, ok := checkOCSP(der, OriginDSS, cert, issuer, at, now)
		if ok && consider(r) {
			return finish(res, best)
		}
	}
	if best == nil && c != nil && c.Fetcher != nil {
		for _, r := range c.Fetcher.fetch(ctx, cert, issuer, at, now) {
			if consider(r) {
				return finish(res, best)
			}
		}
	}
	if best == nil {
		if stale != nil {
			// Unknown, but say what there was: the clerk's remedy names it.
			res.Source, res.Origin, res.ThisUpdate, res.NextUpdate = stale.Source, stale.Origin, stale.ThisUpdate, stale.NextUpdate
		}
		res.Missing = !authentic
		if res.Missing && !c.acceptMissing() {
			res.Problems = append(res.Problems, fmt.Sprintf("no CRL or OCSP response from %s", issuer.Subject.String()))
		}
	}
	return finish(res, best)
}

type originCRL struct {
	crl    *x509.RevocationList
	origin string
	sigs   *SignatureCache
}

// finish fills the certificate's names into the chosen result, keeping
// the problems met on the way when nothing was usable.
func finish(base Result, best *Result) Result {
	if best == nil {
		return base
	}
	r := *best
	r.Subject, r.Serial, r.Issuer = base.Subject, base.Serial, base.Issuer
	return r
}

// checkCRL applies one CRL to cert. A CRL that does not apply gives
// StatusUnknown with the reason in Problems.
func checkCRL(crl *x509.RevocationList, origin string, sigs *SignatureCache, cert, issuer *x509.Certificate, at, now time.Time) Result {
	r := Result{Status: StatusUnknown, Source: SourceCRL, Origin: origin, ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate, Raw: crl.Raw}
	who := issuer.Subject.String()
	refuse := func(format string, args ...any) Result {
		r.Problems = append(r.Problems, fmt.Sprintf("CRL of %s (%s) ignored: %s", who, origin, fmt.Sprintf(format, args...)))
		r.Raw = nil
		return r
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return refuse("issued by another CA")
	}
	if len(crl.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, issuer.SubjectKeyId) {
		return refuse("signed by another key of the issuer")
	}
	if err := sigs.checkCRLSignature(crl, issuer); err != nil {
		return refuse("bad signature: %v", err)
	}
	r.authentic = true
	if crl.ThisUpdate.After(now.Add(clockSkew)) {
		return refuse("issued in the future (%s)", crl.ThisUpdate.UTC().Format(time.RFC3339))
	}
	covers, err := crlScope(crl, cert)
	if err != nil {
		return refuse("%v", err)
	}
	if !covers {
		return refuse("its issuing distribution point does not cover this certificate")
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		for _, ext := range e.Extensions {
			if ext.Critical {
				return refuse("entry extension %v is critical and not understood", ext.Id)
			}
		}
		if e.ReasonCode == reasonHold {
			// On hold is not revoked, and not good either.
			r.Raw = nil
			r.Problems = append(r.Problems, fmt.Sprintf("certificate %s is on hold in the CRL of %s (%s)", cert.Subject.String(), who, origin))
			return r
		}
		r.Status, r.RevokedAt, r.Reason = StatusRevoked, e.RevocationTime, e.ReasonCode
		return r
	}
	if crl.NextUpdate.IsZero() || at.After(crl.NextUpdate) {
		r.Raw = nil
		if crl.NextUpdate.IsZero() {
			r.Problems = append(r.Problems, fmt.Sprintf("CRL of %s (%s) states no nextUpdate; a newer one is needed", who, origin))
		} else {
			r.Problems = append(r.Problems, fmt.Sprintf("CRL of %s (%s) expired on %s", who, origin, crl.NextUpdate.UTC().Format(time.RFC3339)))
		}
		return r
	}
	r.Status = StatusGood
	return r
}

// Object identifiers of CRL extensions.
var (
	oidAuthorityKeyID   = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber        = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidIssuingDistPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidDeltaCRL         = asn1.ObjectIdentifier{2, 5, 29, 27}
)

// issuingDistributionPoint is RFC 5280's IssuingDistributionPoint.
type issuingDistributionPoint struct {
	DistributionPoint asn1.RawValue  `asn1:"optional,tag:0"`
	OnlyUser          bool           `asn1:"optional,tag:1"`
	OnlyCA            bool           `asn1:"optional,tag:2"`
	OnlySomeReasons   asn1.BitString `asn1:"optional,tag:3"`
	Indirect          bool           `asn1:"optional,tag:4"`
	OnlyAttribute     bool           `asn1:"optional,tag:5"`
}

// crlScope reports whether crl covers cert, and an error if a critical
// extension is not understood.
func crlScope(crl *x509.RevocationList, cert *x509.Certificate) (bool, error) {
	covers := true
	for _, ext := range crl.Extensions {
		switch {
		case ext.Id.Equal(oidIssuingDistPoint):
			var idp issuingDistributionPoint
			if rest, err := asn1.Unmarshal(ext.Value, &idp); err != nil || len(rest) > 0 {
				return false, fmt.Errorf("malformed issuing distribution point")
			}
			if idp.OnlySomeReasons.BitLength > 0 || idp.Indirect || idp.OnlyAttribute {
				return false, fmt.Errorf("partitioned or indirect CRLs are not supported")
			}
			if (idp.OnlyUser && cert.IsCA) || (idp.OnlyCA && !cert.IsCA) {
				covers = false
			}
			if len(idp.DistributionPoint.FullBytes) > 0 {
				uris, err := fullNameURIs(idp.DistributionPoint.Bytes)
				if err != nil {
					return false, err
				}
				if !slices.ContainsFunc(uris, func(u string) bool { return slices.Contains(cert.CRLDistributionPoints, u) }) {
					covers = false
				}
			}
		case ext.Id.Equal(oidAuthorityKeyID), ext.Id.Equal(oidCRLNumber):
		case ext.Id.Equal(oidDeltaCRL):
			return false, fmt.Errorf("delta CRLs are not supported")
		case ext.Critical:
			return false, fmt.Errorf("critical extension %v is not understood", ext.Id)
		}
	}
	return covers, nil
}

// fullNameURIs reads the URIs of a DistributionPointName's fullName
// ([0] GeneralNames); a nameRelativeToCRLIssuer is not understood.
func fullNameURIs(b []byte) ([]string, error) {
	var dpn asn1.RawValue
	if _, err := asn1.Unmarshal(b, &dpn); err != nil || dpn.Class != asn1.ClassContextSpecific || dpn.Tag != 0 {
		return nil, fmt.Errorf("issuing distribution point names the CRL in a form not understood")
	}
	var out []string
	rest := dpn.Bytes
	for len(rest) > 0 {
		var gn asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
			return nil, fmt.Errorf("malformed issuing distribution point name")
		}
		if gn.Class == asn1.ClassContextSpecific && gn.Tag == 6 {
			out = append(out, string(gn.Bytes))
		}
	}
	return out, nil
}

// checkOCSP applies one OCSP response to cert; ok is false when the
// response is about another certificate (a DSS holds many).
func checkOCSP(der []byte, origin string, cert, issuer *x509.Certificate, at, now time.Time) (Result, bool) {
	r := Result{Status: StatusUnknown, Source: SourceOCSP, Origin: origin}
	who := issuer.Subject.String()
	refuse := func(format string, args ...any) (Result, bool) {
		r.Problems = append(r.Problems, fmt.Sprintf("OCSP response for %s (%s) ignored: %s", cert.Subject.String(), origin, fmt.Sprintf(format, args...)))
		return r, true
	}
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		var pe ocsp.ParseError
		if errors.As(err, &pe) && string(pe) == "no response matching the supplied certificate" {
			return r, false
		}
		return refuse("%v", err)
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return r, false
	}
	if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) {
		// A delegated responder must be entitled to answer for the issuer.
		if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return refuse("responder %s is not authorised by %s (no id-kp-OCSPSigning)", rc.Subject.String(), who)
		}
		if resp.ProducedAt.Before(rc.NotBefore) || resp.ProducedAt.After(rc.NotAfter) {
			return refuse("responder certificate %s was not valid when it answered", rc.Subject.String())
		}
	}
	r.authentic = true
	if resp.ThisUpdate.After(now.Add(clockSkew)) {
		return refuse("issued in the future (%s)", resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	r.ThisUpdate, r.NextUpdate, r.Raw = resp.ThisUpdate, resp.NextUpdate, der
	switch resp.Status {
	case ocsp.Revoked:
		r.Status, r.RevokedAt, r.Reason = StatusRevoked, resp.RevokedAt, resp.RevocationReason
		if r.Reason == reasonHold {
			r.Status = StatusUnknown
			r.Problems = append(r.Problems, fmt.Sprintf("OCSP: certificate %s is on hold", cert.Subject.String()))
		}
		return r, true
	case ocsp.Good:
	default:
		r.Raw = nil
		return refuse("the responder does not know the certificate")
	}
	// Without nextUpdate, newer information is always available (RFC 6960
	// 4.2.2.1): the response is fresh only for times before it was made.
	limit := resp.NextUpdate
	if limit.IsZero() {
		limit = resp.ThisUpdate
	}
	if at.After(limit) {
		r.Raw = nil
		r.Problems = append(r.Problems, fmt.Sprintf("OCSP response for %s (%s) expired on %s", cert.Subject.String(), origin, limit.UTC().Format(time.RFC3339)))
		return r, true
	}
	r.Status = StatusGood
	return r, true
}

func serialString(n *big.Int) string {
	if n == nil {
		return ""
	}
	return fmt.Sprintf("%X", n)
}

// ParseCRLs reads the CRLs in data: PEM "X509 CRL" blocks, or one DER
// CRL. It does not check their signatures; Check does, against the
// issuer of the certificate at hand.
func ParseCRLs(data []byte) ([]*x509.RevocationList, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		crl, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("parsing DER CRL: %w", err)
		}
		return []*x509.RevocationList{crl}, nil
	}
	var out []*x509.RevocationList
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing CRL: %w", err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CRL")
	}
	return out, nil
}
