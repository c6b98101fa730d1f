package collect_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/evidence-dfir/evidence/collect"
)

var graphScope = policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}

func wantProblem(t *testing.T, err error, kind string) *collect.Problem {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	p := collect.Explain(err)
	if p == nil || p.Kind != kind {
		t.Fatalf("Explain(%v) = %+v, want kind %s", err, p, kind)
	}
	if strings.Contains(p.Error(), "\n") || p.What == "" || p.Fix == "" {
		t.Errorf("not one line saying what and what to do: %q", p.Error())
	}
	return p
}

// TestExplainNoNetwork: a connection to a loopback port nobody listens on
// is "cannot reach", with the address.
func TestExplainNoNetwork(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = http.Get("http://" + addr + "/v1.0/organization")
	p := wantProblem(t, err, collect.ProblemNetwork)
	if !strings.Contains(p.What, addr) {
		t.Errorf("%q does not name %s", p.What, addr)
	}
}

// TestExplainAzureCLI: azidentity's Azure CLI credential, with no az on
// PATH and with an az that answers as az does when nobody ran az login.
func TestExplainAzureCLI(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	c, err := azidentity.NewAzureCLICredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetToken(context.Background(), graphScope)
	wantProblem(t, err, collect.ProblemAzCLIMissing)

	fake := t.TempDir()
	script := "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fake, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", fake+string(os.PathListSeparator)+"/usr/bin:/bin")
	c, err = azidentity.NewAzureCLICredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetToken(context.Background(), graphScope)
	wantProblem(t, err, collect.ProblemAzCLILogin)
}

// entra is a local Entra ID token service over TLS: OpenID configuration,
// the device code endpoint, and a token endpoint answering tokenErr.
func entra(t *testing.T, tokenErr map[string]any) (*httptest.Server, azcore.ClientOptions) {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		tenant := parts[0]
		base := srv.URL + "/" + tenant
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			json.NewEncoder(w).Encode(map[string]any{
				"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
				"issuer":                        srv.URL + "/{tenantid}/v2.0", "tenant_region_scope": "EU",
			})
		case strings.HasSuffix(r.URL.Path, "/devicecode"):
			json.NewEncoder(w).Encode(map[string]any{"device_code": "dc-test", "user_code": "ABCD-EFGH",
				"verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 1,
				"message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."})
		case strings.HasSuffix(r.URL.Path, "/token"):
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(tokenErr)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client()}
}

// TestExplainDeviceCodeExpired: azidentity's device code flow, polling a
// token endpoint that answers expired_token as Entra does after 15 minutes.
func TestExplainDeviceCodeExpired(t *testing.T) {
	_, copts := entra(t, map[string]any{"error": "expired_token", "error_codes": []int{70020},
		"error_description": "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired."})
	var prompted string
	c, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{ClientOptions: copts,
		TenantID: "contoso.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555", DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error { prompted = m.UserCode; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetToken(context.Background(), graphScope)
	p := wantProblem(t, err, collect.ProblemDeviceCodeExpired)
	if prompted != "ABCD-EFGH" {
		t.Errorf("the flow did not show the code: %q", prompted)
	}
	t.Log(p.Error())
}

// TestExplainWrongTenant: a client secret sign-in that Entra refuses with
// AADSTS90002 (no such tenant), 700016 (the app is not in the tenant) and
// 50020 (the account is not in the tenant).
func TestExplainWrongTenant(t *testing.T) {
	for code, kind := range map[string]string{
		"90002":  collect.ProblemWrongTenant,
		"700016": collect.ProblemAppNotInTenant,
		"50020":  collect.ProblemAccountNotInTenant,
	} {
		_, copts := entra(t, map[string]any{"error": "invalid_request", "error_description": "AADSTS" + code + ": refused for the test."})
		c, err := azidentity.NewClientSecretCredential("contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", "not-a-real-secret",
			&azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetToken(context.Background(), graphScope)
		p := wantProblem(t, err, kind)
		if p.Code != "AADSTS"+code {
			t.Errorf("code %q, want AADSTS%s", p.Code, code)
		}
		if strings.Contains(p.Error(), "not-a-real-secret") {
			t.Error("the line names the secret")
		}
	}
}
