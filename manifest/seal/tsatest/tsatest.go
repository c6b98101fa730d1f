// Package tsatest runs a local RFC 3161 time-stamp authority over real HTTP
// for tests and the demo: a throw-away root CA and a TSA certificate whose
// extended key usage (timeStamping) is critical, as `openssl ts -verify`
// requires. Responses are made with github.com/digitorus/timestamp.
package tsatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is a running time-stamp authority.
type TSA struct {
	// URL is where time-stamp queries are POSTed.
	URL string
	// CA is the root that signed the TSA certificate; CAPEM the same in PEM,
	// for `openssl ts -verify -CAfile` and `evidence verify --tsa-ca`.
	CA    *x509.Certificate
	CAPEM []byte
	// Requests counts the time-stamps granted.
	Requests atomic.Int64

	srv  *httptest.Server
	cert *x509.Certificate
	key  crypto.Signer
	now  func() time.Time
}

var (
	oidExtKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	testPolicy       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	maxQuery         = int64(64 << 10)
	certValidity     = 24 * time.Hour
	certBackdate     = time.Hour
	contentTypeReply = "application/timestamp-reply"
)

// Start starts a TSA on a loopback port; Close stops it.
func Start() (*TSA, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "evidence test TSA root", Organization: []string{"evidence tests"}},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, err
	}
	tsaTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "evidence test TSA", Organization: []string{"evidence tests"}},
		NotBefore:    now.Add(-certBackdate),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// RFC 3161 2.3: the extended key usage must be critical and hold
		// only timeStamping; crypto/x509 writes it non-critical, so it is
		// given as a raw extension.
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}
	tsaDER, err := x509.CreateCertificate(rand.Reader, tsaTmpl, ca, tsaKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(tsaDER)
	if err != nil {
		return nil, err
	}
	t := &TSA{CA: ca, CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), cert: cert, key: tsaKey, now: time.Now}
	t.srv = httptest.NewServer(http.HandlerFunc(t.serve))
	t.URL = t.srv.URL + "/tsa"
	return t, nil
}

// Close stops the server.
func (t *TSA) Close() { t.srv.Close() }

func (t *TSA) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/tsa" {
		http.Error(w, "POST a time-stamp query to /tsa", http.StatusNotFound)
		return
	}
	if r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "want Content-Type application/timestamp-query", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQuery))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		reply(w, errorResponse(timestamp.BadDataFormat))
		return
	}
	ts := &timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              t.now().UTC(),
		Nonce:             req.Nonce,
		Policy:            testPolicy,
		Accuracy:          time.Second,
		AddTSACertificate: req.Certificates,
	}
	resp, err := ts.CreateResponseWithOpts(t.cert, t.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	t.Requests.Add(1)
	reply(w, resp)
}

func errorResponse(fi timestamp.FailureInfo) []byte {
	b, _ := timestamp.CreateErrorResponse(timestamp.Rejection, fi)
	return b
}

func reply(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", contentTypeReply)
	w.Write(b)
}
