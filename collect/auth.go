package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Environment variables that carry secrets. Secrets are read only from the
// environment, never from flags (flags show up in process lists, shell
// history and the manifest's command line).
const (
	EnvGraphToken   = "EVIDENCE_GRAPH_TOKEN"   // --auth token
	EnvClientSecret = "AZURE_CLIENT_SECRET"    // --auth secret
	EnvCertPassword = "EVIDENCE_CERT_PASSWORD" // --auth certificate, encrypted PFX/PEM
)

// AuthMethods lists the --auth choices.
var AuthMethods = []string{"device", "secret", "certificate", "managed-identity", "azcli", "env", "token"}

// StorageAuthMethods are the --auth methods that can sign in to Azure
// storage (blob bundles, a blob --state): all but a Graph bearer token.
func StorageAuthMethods() []string {
	var m []string
	for _, x := range AuthMethods {
		if x != "token" {
			m = append(m, x)
		}
	}
	return m
}

// AuthOptions select and configure a sign-in method.
type AuthOptions struct {
	Method   string
	Tenant   string // tenant id or domain
	ClientID string // app (client) id; for managed identity a user-assigned id
	CertPath string // PEM or PKCS#12 file for --auth certificate
	GraphURL string // chooses the national cloud's authority
	Prompt   io.Writer
}

// Credential returns the azidentity credential for o, and the identity to
// record in the manifest (an app id, never a secret).
func Credential(o AuthOptions) (azcore.TokenCredential, string, error) {
	copts := azcore.ClientOptions{Cloud: CloudFor(o.GraphURL)}
	need := func(what, flag string) error {
		return fmt.Errorf("--auth %s needs %s (%s)", o.Method, flag, what)
	}
	switch o.Method {
	case "token":
		tok := strings.TrimSpace(os.Getenv(EnvGraphToken))
		if tok == "" {
			return nil, "", fmt.Errorf("--auth token: environment variable %s is empty; export the bearer token there", EnvGraphToken)
		}
		return StaticToken(tok), "bearer token from " + EnvGraphToken, nil
	case "device":
		if o.ClientID == "" {
			return nil, "", need("the app registration's client id", "--client-id")
		}
		w := o.Prompt
		if w == nil {
			w = os.Stderr
		}
		c, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: copts, TenantID: o.Tenant, ClientID: o.ClientID,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintln(w, m.Message)
				return err
			},
		})
		return c, "device code, app " + o.ClientID, wrapCred(err)
	case "secret":
		if o.Tenant == "" || o.ClientID == "" {
			return nil, "", need("tenant and client id", "--tenant and --client-id")
		}
		sec := os.Getenv(EnvClientSecret)
		if sec == "" {
			return nil, "", fmt.Errorf("--auth secret: environment variable %s is empty; the client secret is read only from there", EnvClientSecret)
		}
		c, err := azidentity.NewClientSecretCredential(o.Tenant, o.ClientID, sec, &azidentity.ClientSecretCredentialOptions{ClientOptions: copts})
		return c, "app " + o.ClientID + " (client secret)", wrapCred(err)
	case "certificate":
		if o.Tenant == "" || o.ClientID == "" || o.CertPath == "" {
			return nil, "", need("tenant, client id and certificate file", "--tenant, --client-id and --cert")
		}
		data, err := os.ReadFile(o.CertPath)
		if err != nil {
			return nil, "", fmt.Errorf("--cert: %w", err)
		}
		var pw []byte
		if p := os.Getenv(EnvCertPassword); p != "" {
			pw = []byte(p)
		}
		certs, key, err := azidentity.ParseCertificates(data, pw)
		if err != nil {
			return nil, "", fmt.Errorf("--cert %s: cannot read certificate and key (password from %s): %v", o.CertPath, EnvCertPassword, err)
		}
		c, err := azidentity.NewClientCertificateCredential(o.Tenant, o.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: copts})
		return c, "app " + o.ClientID + " (certificate)", wrapCred(err)
	case "managed-identity":
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: copts}
		id := "system-assigned managed identity"
		if o.ClientID != "" {
			mo.ID = azidentity.ClientID(o.ClientID)
			id = "managed identity " + o.ClientID
		}
		c, err := azidentity.NewManagedIdentityCredential(mo)
		return c, id, wrapCred(err)
	case "azcli":
		c, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: o.Tenant})
		return c, "Azure CLI signed-in account", wrapCred(err)
	case "env":
		c, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: copts})
		id := "environment credential"
		if v := os.Getenv("AZURE_CLIENT_ID"); v != "" {
			id += ", app " + v
		}
		return c, id, wrapCred(err)
	case "":
		return nil, "", errors.New("--auth is required: one of " + strings.Join(AuthMethods, ", "))
	default:
		return nil, "", fmt.Errorf("--auth %q is not one of %s", o.Method, strings.Join(AuthMethods, ", "))
	}
}

func wrapCred(err error) error {
	if err != nil {
		return fmt.Errorf("credential: %s", scrub(err.Error()))
	}
	return nil
}

// CloudFor picks the Entra authority for a Graph endpoint (national clouds).
func CloudFor(graphURL string) cloud.Configuration {
	u, err := url.Parse(graphURL)
	if err != nil {
		return cloud.AzurePublic
	}
	switch h := strings.ToLower(u.Hostname()); {
	case strings.HasSuffix(h, "graph.microsoft.us"), strings.HasSuffix(h, "dod-graph.microsoft.us"):
		return cloud.AzureGovernment
	case strings.HasSuffix(h, "chinacloudapi.cn"):
		return cloud.AzureChina
	default:
		return cloud.AzurePublic
	}
}

// StaticToken is a credential that returns one fixed bearer token, for
// scripted use (--auth token) and the simulated tenant.
type StaticToken string

// GetToken implements azcore.TokenCredential.
func (t StaticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TokenSource is any credential the client can use (an azidentity credential
// or StaticToken).
type TokenSource = azcore.TokenCredential
