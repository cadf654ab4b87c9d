package pades

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/signing/etsi"
	"github.com/lienthong/lienthong/signing/tsp"
)

// SubFilterRFC3161 is ETSI.RFC3161: a document timestamp (PAdES B-LTA),
// whose /Contents is an RFC 3161 token over the bytes of /ByteRange.
const SubFilterRFC3161 SubFilter = "ETSI.RFC3161"

// TimestampReport describes one RFC 3161 timestamp: a signature's
// signature timestamp, or a document timestamp.
type TimestampReport struct {
	// Field is the signature field of a document timestamp; empty for a
	// signature timestamp.
	Field string `json:"field,omitempty"`
	// GenTime is the time the TSA vouches for.
	GenTime time.Time `json:"gen_time,omitzero"`
	// TSA names the time-stamping authority.
	TSA string `json:"tsa,omitempty"`
	// Policy and SerialNumber identify the token at its TSA.
	Policy       string `json:"policy,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
	// Valid: the token verifies, covers what it should and its TSA is
	// trusted; only then is GenTime proof of existence.
	Valid bool `json:"valid"`
	// CoversWholeDocument: a document timestamp whose /ByteRange covers
	// every byte of the file except its /Contents.
	CoversWholeDocument bool `json:"covers_whole_document,omitempty"`
	// Indication and SubIndication are the timestamp's own outcome.
	Indication    etsi.Indication    `json:"indication"`
	SubIndication etsi.SubIndication `json:"sub_indication,omitempty"`
	// Problems are short reasons a clerk can read.
	Problems []string `json:"problems"`

	chain []*x509.Certificate // the TSA's verified chain, for AddLTV
}

// checkToken verifies a token's signature and TSA and fills rep; the
// imprint is the caller's to check. It returns whether the token is
// trusted.
func checkToken(tok *tsp.Token, opts VerifyOptions, now time.Time, rep *TimestampReport) bool {
	rep.GenTime = tok.GenTime
	rep.Policy = tok.Policy.String()
	rep.SerialNumber = tok.SerialNumber.String()
	rep.TSA = tok.TSAName
	chain, err := tok.Verify(tsp.VerifyOptions{Roots: opts.TSARoots, Intermediates: opts.dssCerts, Certificates: opts.dssCerts})
	rep.TSA = tok.TSAName
	rep.chain = chain
	if err != nil {
		rep.fail(err)
		return false
	}
	if tok.GenTime.After(now.Add(5 * time.Minute)) {
		rep.Problems = append(rep.Problems, fmt.Sprintf("timestamp time %s lies in the future", tok.GenTime.Format(time.RFC3339)))
		rep.Indication, rep.SubIndication = etsi.Indeterminate, etsi.TimestampOrderFailure
		return false
	}
	return true
}

// fail records why a token is not proof of existence.
func (r *TimestampReport) fail(err error) {
	r.Valid = false
	r.Problems = append(r.Problems, err.Error())
	switch {
	case errors.Is(err, tsp.ErrImprint):
		r.Indication, r.SubIndication = etsi.TotalFailed, etsi.HashFailure
	case errors.Is(err, tsp.ErrSignature):
		r.Indication, r.SubIndication = etsi.TotalFailed, etsi.SigCryptoFailure
	case errors.Is(err, tsp.ErrKeyPurpose):
		r.Indication, r.SubIndication = etsi.Indeterminate, etsi.ChainConstraintsFailure
	case errors.Is(err, tsp.ErrUntrusted):
		r.Indication, r.SubIndication = etsi.Indeterminate, etsi.NoCertificateChainFound
	default:
		r.Indication, r.SubIndication = etsi.TotalFailed, etsi.FormatFailure
	}
}

// checkSignatureTimestamp verifies the signature's signature timestamp:
// its imprint must be the digest of the signature value (RFC 3161
// appendix A). A trusted one is proof the signature existed at GenTime.
func (s *checkedSig) checkSignatureTimestamp(opts VerifyOptions, now time.Time) {
	p := s.cms
	if p == nil || p.SignatureTimestamp == nil {
		return
	}
	rep := &TimestampReport{Problems: []string{}}
	s.rep.Timestamp = rep
	tok, err := tsp.Parse(p.SignatureTimestamp)
	if err != nil {
		rep.fail(err)
	} else if checkToken(tok, opts, now, rep) {
		if err := tok.CheckData(p.Signature); err != nil {
			rep.fail(fmt.Errorf("the signature timestamp covers another signature value: %w", err))
		} else {
			rep.Valid = true
			rep.Indication = etsi.TotalPassed
			s.poe = append(s.poe, tok.GenTime)
		}
	}
	if !rep.Valid {
		s.rep.problem("signature timestamp not used: %s", rep.Problems[0])
	}
}

// prepareDocTimestamp parses a document timestamp's token and chooses the
// hash its /ByteRange is hashed with.
func (s *checkedSig) prepareDocTimestamp() {
	s.docTS = &TimestampReport{Field: s.rep.Field, Problems: []string{}}
	tok, err := tsp.Parse(s.contents)
	if err != nil {
		s.docTS.fail(err)
		return
	}
	s.token = tok
	if tok.Hash.Available() {
		s.h, s.alg = tok.Hash.New(), tok.Hash
		s.hashable = true
	}
}

// checkDocTimestamp verifies a document timestamp once its /ByteRange is
// hashed.
func (s *checkedSig) checkDocTimestamp(opts VerifyOptions, now time.Time) {
	rep := s.docTS
	rep.CoversWholeDocument = s.rep.CoversWholeDocument
	if s.token == nil {
		return
	}
	if !s.gapOK {
		rep.fail(fmt.Errorf("%w: the signed byte range does not match the timestamp value", tsp.ErrFormat))
		return
	}
	if err := s.token.CheckDigest(s.token.Hash, s.h.Sum(nil)); err != nil {
		rep.fail(fmt.Errorf("the document was changed after the timestamp: %w", err))
		return
	}
	// The bytes are intact: a later revision covering the whole file can
	// vouch for the revisions before it, as a signature would.
	s.rep.DigestValid = true
	if !checkToken(s.token, opts, now, rep) {
		return
	}
	rep.Valid = true
	rep.Indication = etsi.TotalPassed
}

// docTimestampPOE adds to s the proof of existence each trusted document
// timestamp over s's revision gives.
func (s *checkedSig) docTimestampPOE(all []*checkedSig) {
	for _, t := range all {
		if t.docTS != nil && t.docTS.Valid && t.rep.end > s.rep.end && s.rep.end > 0 {
			s.poe = append(s.poe, t.token.GenTime)
		}
	}
}

// poeTime is the time s's validity is judged at: the earliest trusted
// timestamp that covers it, else now (EN 319 102-1: without proof of
// existence, the validation time).
func (s *checkedSig) poeTime(now time.Time) (time.Time, bool) {
	var best time.Time
	for _, t := range s.poe {
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	if best.IsZero() {
		return now, false
	}
	return best, true
}

// poeWords says, for a clerk, what time the certificates were judged at.
func (s *checkedSig) poeWords() string {
	if _, ok := s.poeTime(time.Time{}); ok {
		return "the time a trusted timestamp proves (" + s.rep.POETime.UTC().Format(time.RFC3339) + ")"
	}
	return "the validation time (" + s.rep.POETime.UTC().Format(time.RFC3339) + "), as no trusted timestamp proves an earlier one"
}

// addDocTimestamp reports a document timestamp; only a proven failure
// (TOTAL-FAILED) worsens the report's indication and verdict, since an
// untrusted timestamp takes nothing away from the signatures.
func (r *Report) addDocTimestamp(s *checkedSig) {
	ts := *s.docTS
	ts.Problems = append(append([]string{}, s.rep.Problems...), ts.Problems...)
	if ts.Indication == "" {
		ts.Indication, ts.SubIndication = etsi.TotalFailed, etsi.FormatFailure
	}
	if ts.Indication == etsi.TotalFailed {
		r.Verdict = VerdictInvalid
		if etsi.Worse(ts.Indication, r.Indication) || r.Indication == "" {
			r.Indication = ts.Indication
		}
	}
	r.DocumentTimestamps = append(r.DocumentTimestamps, ts)
}
