package diagtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
)

// OAuthServer is an Azurite blob service over TLS that takes Entra ID
// bearer tokens (--oauth basic: it checks a token's audience, issuer and
// lifetime, not its signature), as the storage service does.
type OAuthServer struct {
	Endpoint  string       // https://127.0.0.1:PORT/devstoreaccount1
	Transport *http.Client // trusts the server's certificate
	Account   Account      // the account, reached with its key
}

// StartOAuth starts the server for the test and stops it when the test
// ends (skipping or failing like azuritetest.Start when Azurite is missing).
func StartOAuth(t *testing.T) *OAuthServer {
	t.Helper()
	bin, err := azuritetest.Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Azurite is needed: %v (CI is set: not skipping)", err)
		}
		t.Skipf("Azurite is needed: %v", err)
	}
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--oauth", "basic", "--cert", cert, "--key", key,
		"--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("azurite-blob exited: %s", bytes.TrimSpace(stderr.Bytes()))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("azurite-blob did not listen within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client := &http.Client{Transport: tr}
	endpoint := fmt.Sprintf("https://%s/%s", addr, azuritetest.Account)
	return &OAuthServer{Endpoint: endpoint, Transport: client, Account: Account{
		ConnectionString: "DefaultEndpointsProtocol=https;AccountName=" + azuritetest.Account + ";AccountKey=" + azuritetest.AccountKey + ";BlobEndpoint=" + endpoint + ";",
		Options:          &container.ClientOptions{ClientOptions: policy.ClientOptions{Transport: client}},
	}}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// Credential is an azcore.TokenCredential (what azidentity's credentials
// are) that answers with an unsigned token for the audience and tenant,
// valid for an hour, and records the scopes it was asked for.
type Credential struct {
	Tenant   string
	Audience string // default https://storage.azure.com
	Scopes   []string
}

// GetToken implements azcore.TokenCredential.
func (c *Credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.Scopes = append(c.Scopes, o.Scopes...)
	now := time.Now()
	aud := c.Audience
	if aud == "" {
		aud = "https://storage.azure.com"
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tok := enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/" + c.Tenant + "/", "tid": c.Tenant,
		"nbf": now.Add(-5 * time.Minute).Unix(), "iat": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"oid": "0b6e0000-0000-4000-8000-000000000001", "appid": "7f3a0000-0000-4000-8000-000000000002",
	}) + ".c2ln"
	return azcore.AccessToken{Token: tok, ExpiresOn: now.Add(time.Hour)}, nil
}
