package pades

import (
	"bytes"
	"context"
	"crypto/x509"
	"slices"
	"time"

	"github.com/lienthong/lienthong/signing/keypurpose"
	"github.com/lienthong/lienthong/signing/revocation"
)

// checkKeyPurpose requires the signer to be an end-entity certificate
// whose key usage and extended key usage allow signing documents (see
// signing/keypurpose).
func (s *checkedSig) checkKeyPurpose() {
	sr := s.rep
	err := keypurpose.CheckSigner(s.cms.Signer)
	sr.KeyUsageOK = err == nil
	if err != nil {
		sr.notSigner = true
		sr.problem("certificate %v", err)
	}
}

// checkRevocationStatus asks opts.Revocation (or a checker over opts.CRLs)
// about every certificate of the chain below the anchor, signer first,
// and records each result. A
// revocation counts at the time at (the proof-of-existence time); a
// revocation after at that the signer's own claimed time does not
// predate is REVOKED, one the claimed time predates REVOKED_NO_POE
// (nothing proves the claim), and unknown status TRY_LATER.
func (s *checkedSig) checkRevocationStatus(ctx context.Context, opts VerifyOptions, at time.Time, ev revocation.Evidence) {
	sr := s.rep
	rc := opts.Revocation
	if rc == nil {
		rc = &revocation.Checker{CRLs: opts.CRLs, AcceptMissing: true, Now: opts.Now}
	} else if len(opts.CRLs) > 0 {
		// Besides the checker's own: the document's (a DSS's) and any the
		// caller adds, checked against the issuer like every CRL.
		ev.CRLs = slices.Clip(ev.CRLs)
		for _, l := range opts.CRLs {
			if !slices.Contains(rc.CRLs, l) {
				ev.CRLs = append(ev.CRLs, l)
			}
		}
	}
	chain := sr.Chain
	if len(chain) == 0 {
		// No trusted chain: still report what the embedded issuer's
		// information says; the indication is decided by the chain.
		chain = []*x509.Certificate{s.cms.Signer}
		for _, c := range s.cms.Certs {
			if c != s.cms.Signer && bytes.Equal(c.RawSubject, s.cms.Signer.RawIssuer) {
				chain = append(chain, c)
				break
			}
		}
	}
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		r := rc.Check(ctx, c, issuer, at, ev)
		sr.Revocation = append(sr.Revocation, r)
		who := "certificate"
		if i > 0 {
			who = "CA certificate " + c.Subject.String()
		}
		switch {
		case r.RevokedBy(at):
			when := r.RevokedAt.UTC().Format("2006-01-02")
			if (sr.SigningTime.IsZero() || sr.SigningTime.Before(r.RevokedAt)) && !r.KeyCompromised() {
				sr.revokedNoPOE = !sr.Revoked // a definite revocation stays definite
				sr.problem("%s revoked on %s; nothing proves the signature was made before", who, when)
			} else {
				sr.revokedNoPOE = false
				sr.problem("%s revoked on %s", who, when)
			}
			sr.Revoked = true
		case r.Status == revocation.StatusRevoked:
			// Revoked only after the time proven (a trusted timestamp's
			// genTime): the information listing the revocation shows the
			// certificate was good then.
		case rc.Accepted(r):
			// Missing information the policy accepts; say what was
			// ignored on the way, if anything.
			for _, p := range r.Problems {
				sr.problem("%s", p)
			}
		case r.Status != revocation.StatusGood:
			sr.revocationUnknown = true
			for _, p := range r.Problems {
				sr.problem("revocation status of %s unknown: %s", c.Subject.String(), p)
			}
		}
	}
}
