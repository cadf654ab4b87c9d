package tsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"time"
)

// Request is RFC 3161's TimeStampReq.
type Request struct {
	Version        int
	MessageImprint MessageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional"`
	Extensions     asn1.RawValue         `asn1:"optional,tag:0"`
}

// PKIStatusInfo is RFC 3161's status of a response.
type PKIStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

// Response is RFC 3161's TimeStampResp.
type Response struct {
	Status         PKIStatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// PKI statuses a TSA answers with (RFC 3161, 2.4.2).
const (
	StatusGranted         = 0
	StatusGrantedWithMods = 1
)

// Content types of RFC 3161's HTTP transport (section 3.4).
const (
	ContentTypeQuery = "application/timestamp-query"
	ContentTypeReply = "application/timestamp-reply"
)

// maxResponse bounds a TSA's answer; real tokens are a few kilobytes.
const maxResponse = 1 << 20

// Client asks a TSA over HTTP for time-stamp tokens.
type Client struct {
	// URL is the TSA's HTTP endpoint.
	URL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Timeout bounds one request; zero means 30 seconds.
	Timeout time.Duration
	// Policy, if set, is the TSA policy to ask for.
	Policy asn1.ObjectIdentifier
}

// Timestamp asks the TSA to time-stamp digest (made with h) and returns
// the token's DER after checking that it answers this request: status
// granted, the same messageImprint and nonce, and the TSA certificate
// included. It does not check whether the TSA is trusted; verifiers do.
func (c *Client) Timestamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	oid, err := OIDForHash(h)
	if err != nil {
		return nil, fmt.Errorf("tsp: %w", err)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("tsp: digest of %d bytes for %v", len(digest), h)
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("tsp: nonce: %w", err)
	}
	req := Request{
		Version:        1,
		MessageImprint: MessageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, HashedMessage: digest},
		ReqPolicy:      c.Policy,
		Nonce:          nonce,
		CertReq:        true,
	}
	body, err := asn1.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("tsp: encoding request: %w", err)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("tsp: request to %s: %w", c.URL, err)
	}
	hr.Header.Set("Content-Type", ContentTypeQuery)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("tsp: asking %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tsp: %s answered HTTP %s", c.URL, resp.Status)
	}
	if ct, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || ct != ContentTypeReply {
		ct := resp.Header.Get("Content-Type")
		return nil, fmt.Errorf("tsp: %s answered with content type %q, want %s", c.URL, ct, ContentTypeReply)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("tsp: reading the answer of %s: %w", c.URL, err)
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("tsp: %s answered more than %d bytes", c.URL, maxResponse)
	}
	token, err := parseResponse(data)
	if err != nil {
		return nil, fmt.Errorf("tsp: answer of %s: %w", c.URL, err)
	}
	t, err := Parse(token)
	if err != nil {
		return nil, fmt.Errorf("tsp: token from %s: %w", c.URL, err)
	}
	if err := t.CheckDigest(h, digest); err != nil {
		return nil, fmt.Errorf("tsp: token from %s: %w", c.URL, err)
	}
	if t.Nonce == nil || t.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("tsp: token from %s does not carry the request's nonce", c.URL)
	}
	if t.Certificate == nil {
		return nil, fmt.Errorf("tsp: token from %s does not carry the TSA certificate", c.URL)
	}
	return token, nil
}

// parseResponse returns the token of a granted TimeStampResp.
func parseResponse(data []byte) ([]byte, error) {
	var r Response
	rest, err := asn1.Unmarshal(data, &r)
	if err != nil {
		return nil, fmt.Errorf("%w: TimeStampResp: %v", ErrFormat, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: bytes after the TimeStampResp", ErrFormat)
	}
	if r.Status.Status != StatusGranted && r.Status.Status != StatusGrantedWithMods {
		return nil, fmt.Errorf("request refused (status %d %q, failure bits %x)", r.Status.Status, r.Status.StatusString, r.Status.FailInfo.Bytes)
	}
	if len(r.TimeStampToken.FullBytes) == 0 {
		return nil, errors.New("granted without a token")
	}
	return r.TimeStampToken.FullBytes, nil
}
