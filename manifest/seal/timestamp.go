package seal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/digitorus/timestamp"

	"github.com/evidence-dfir/evidence/manifest"
)

// maxTimestampResponse bounds the bytes read from a time-stamp authority.
const maxTimestampResponse = 1 << 20

// CheckTSAURL checks a time-stamp authority URL (--tsa) before anything is
// collected: an absolute http or https URL with a host and nothing after
// the path. The empty string (no time-stamp) passes.
func CheckTSAURL(tsaURL string) error {
	if tsaURL == "" {
		return nil
	}
	u, err := url.Parse(tsaURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || strings.ContainsAny(tsaURL, " \t") {
		return fmt.Errorf("--tsa %q: not an http:// or https:// URL of an RFC 3161 time-stamp authority", tsaURL)
	}
	return nil
}

// RequestTimestamp asks the RFC 3161 time-stamp authority at tsaURL to
// stamp msg: it sends the SHA-256 of msg (never msg itself) with a random
// nonce and certReq set, so that the response carries the TSA certificate
// that `openssl ts -verify -CAfile` needs. It returns the DER response as
// received, after checking it is granted, signed by the certificate it
// carries, for the same SHA-256 and the same nonce.
func RequestTimestamp(ctx context.Context, client *http.Client, tsaURL string, msg []byte) ([]byte, error) {
	if err := CheckTSAURL(tsaURL); err != nil {
		return nil, err
	}
	u, err := url.Parse(tsaURL)
	if err != nil {
		return nil, err
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(msg)
	req := &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: nonce}
	der, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("time-stamp request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, tsaURL, bytes.NewReader(der))
	if err != nil {
		return nil, fmt.Errorf("time-stamp request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampResponse+1))
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority %s: reading the response: %w", u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("time-stamp authority %s: HTTP %d", u.Host, resp.StatusCode)
	}
	if len(body) > maxTimestampResponse {
		return nil, fmt.Errorf("time-stamp authority %s: response larger than %d bytes", u.Host, maxTimestampResponse)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority %s: %s", u.Host, firstLine(err.Error()))
	}
	if err := checkImprint(ts, msg); err != nil {
		return nil, fmt.Errorf("time-stamp authority %s: %w", u.Host, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("time-stamp authority %s: the response does not carry the request's nonce", u.Host)
	}
	if len(ts.Certificates) == 0 {
		return nil, fmt.Errorf("time-stamp authority %s: the response carries no certificate", u.Host)
	}
	return body, nil
}

func checkImprint(ts *timestamp.Timestamp, msg []byte) error {
	if ts.HashAlgorithm != crypto.SHA256 {
		return fmt.Errorf("stamps a %v digest, want SHA-256", ts.HashAlgorithm)
	}
	d := sha256.Sum256(msg)
	if !bytes.Equal(ts.HashedMessage, d[:]) {
		return errors.New("stamps a different SHA-256 than that of SHA256SUMS")
	}
	return nil
}

// TimestampCheck is what checking SHA256SUMS.tsr found.
type TimestampCheck struct {
	// Time is the time the authority vouches for, RFC 3339 UTC.
	Time string `json:"time,omitempty"`
	// Authority is the subject of the signing certificate.
	Authority string `json:"authority,omitempty"`
	// Valid: the token is signed by the certificate it carries and stamps
	// the SHA-256 of the SHA256SUMS present.
	Valid bool `json:"valid"`
	// Trusted: that certificate chains to a trusted root (the system's or
	// those given), with the time-stamping extended key usage.
	Trusted bool `json:"trusted"`
	// Error says why the token is not valid; ChainError why it is not trusted.
	Error      string `json:"error,omitempty"`
	ChainError string `json:"chain_error,omitempty"`
}

// VerifyTimestamp checks a DER time-stamp response for msg. roots adds
// trusted roots to the system's (nil: system roots only).
func VerifyTimestamp(tsr, msg []byte, roots []*x509.Certificate) TimestampCheck {
	var c TimestampCheck
	ts, err := timestamp.ParseResponse(tsr)
	if err != nil {
		c.Error = "not a valid time-stamp response: " + firstLine(err.Error())
		return c
	}
	c.Time = manifest.FormatTime(ts.Time)
	if len(ts.Certificates) == 0 {
		c.Error = "carries no certificate: its signature cannot be checked"
		return c
	}
	if err := checkImprint(ts, msg); err != nil {
		c.Error = err.Error()
		return c
	}
	c.Valid = true
	leaf := ts.Certificates[0]
	inter := x509.NewCertPool()
	for _, cert := range ts.Certificates {
		if slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
			leaf = cert
		} else {
			inter.AddCert(cert)
		}
	}
	c.Authority = leaf.Subject.String()
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, r := range roots {
		pool.AddCert(r)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   ts.Time,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		c.ChainError = firstLine(err.Error())
		return c
	}
	c.Trusted = true
	return c
}

// ReadCertificates reads the PEM certificates in a file (a time-stamp
// authority's roots, for Options.TSARoots); other PEM blocks are skipped.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return out, nil
}
