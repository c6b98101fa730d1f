package collect

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"net"
	"regexp"
	"strings"
)

// Problem is a failure to reach the service or to sign in, said as what
// happened and what to do about it. Kind is stable (docs/cli.md, "Sign-in
// and network errors"; --json); What and Fix are for people.
type Problem struct {
	Kind string // network, azcli-missing, azcli-login, device-code-expired, wrong-tenant, app-not-in-tenant, account-not-in-tenant, token-expired
	What string
	Fix  string
	Code string // the AADSTS code the service gave, if any
}

// Problem kinds.
const (
	ProblemNetwork            = "network"
	ProblemAzCLIMissing       = "azcli-missing"
	ProblemAzCLILogin         = "azcli-login"
	ProblemDeviceCodeExpired  = "device-code-expired"
	ProblemWrongTenant        = "wrong-tenant"
	ProblemAppNotInTenant     = "app-not-in-tenant"
	ProblemAccountNotInTenant = "account-not-in-tenant"
	ProblemTokenExpired       = "token-expired"
)

// Error is the one line: what happened, then what to do.
func (p *Problem) Error() string { return p.What + ": " + p.Fix }

var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// Explain recognises, in an error from signing in or from the first
// requests, the conditions a person can fix: no network, the Azure CLI
// missing or not signed in, a device code that expired, a tenant that does
// not exist or does not hold the app or the account (Entra's AADSTS codes,
// learn.microsoft.com/entra/identity-platform/reference-error-codes), and
// an expired bearer token. It returns nil for anything else. The result
// names no secret: only the host, the code and the flags to change.
func Explain(err error) *Problem {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	msg := err.Error()
	code := ""
	if m := aadsts.FindStringSubmatch(msg); m != nil {
		code = "AADSTS" + m[1]
	}
	switch {
	case strings.Contains(msg, "Azure CLI not found"), strings.Contains(msg, "AzureCLICredential") && strings.Contains(msg, "not found on path"):
		return &Problem{Kind: ProblemAzCLIMissing, What: "--auth azcli: the Azure CLI (az) is not installed or not on PATH",
			Fix: "install it (learn.microsoft.com/cli/azure/install-azure-cli) and run az login, or choose another --auth"}
	case strings.Contains(msg, "az login"):
		return &Problem{Kind: ProblemAzCLILogin, What: "--auth azcli: the Azure CLI is not signed in",
			Fix: "run az login --tenant TENANT --allow-no-subscriptions, then run this command again"}
	case strings.Contains(msg, "expired_token") || code == "AADSTS70020" || deviceCodeEnded(err):
		return &Problem{Kind: ProblemDeviceCodeExpired, Code: code, What: "--auth device: the device code expired (or the sign-in was declined) before the sign-in at the address shown was finished",
			Fix: "run the command again and complete the sign-in within the time the message gives (15 minutes)"}
	case code == "AADSTS90002" || code == "AADSTS90023" || code == "AADSTS50128" || code == "AADSTS50059" || code == "AADSTS900023":
		return &Problem{Kind: ProblemWrongTenant, Code: code, What: "sign-in refused (" + code + "): the tenant does not exist or is not written correctly",
			Fix: "check --tenant (the tenant id, or a verified domain such as contoso.onmicrosoft.com)"}
	case code == "AADSTS700016":
		return &Problem{Kind: ProblemAppNotInTenant, Code: code, What: "sign-in refused (" + code + "): the app --client-id is not registered in this tenant",
			Fix: "check --client-id and --tenant: the app registration must be in (or consented to by) the tenant you collect from (docs/permissions.md)"}
	case code == "AADSTS50020" || code == "AADSTS90072" || code == "AADSTS50034":
		return &Problem{Kind: ProblemAccountNotInTenant, Code: code, What: "sign-in refused (" + code + "): the account that signed in does not belong to tenant --tenant",
			Fix: "sign in with an account of that tenant, or give --tenant the tenant the account belongs to"}
	}
	var ge *GraphError
	if errors.As(err, &ge) && ge.Status == 401 && (strings.Contains(ge.Message, "expired") || strings.Contains(ge.Message, "Lifetime validation failed")) {
		return &Problem{Kind: ProblemTokenExpired, What: "Graph refused the token: it has expired (" + ge.Error() + ")",
			Fix: "get a fresh access token (with --auth token: export it again in " + EnvGraphToken + ") or sign in again"}
	}
	if host, ok := offline(err); ok {
		return &Problem{Kind: ProblemNetwork, What: "cannot reach " + host + " (no network, name not resolved, or the connection refused)",
			Fix: "check the network, a proxy (HTTPS_PROXY) or firewall, and --graph-url"}
	}
	return nil
}

// deviceCodeEnded reports whether err is the device code flow's token
// endpoint refusing the code while it was polled: Entra answers 400 with
// expired_token (or authorization_declined), which MSAL reads and azidentity
// then cannot show, so the endpoint and the status are what is left.
func deviceCodeEnded(err error) bool {
	var af *azidentity.AuthenticationFailedError
	if !errors.As(err, &af) || af.RawResponse == nil || af.RawResponse.Request == nil {
		return false
	}
	return strings.HasPrefix(af.Error(), "DeviceCodeCredential") && af.RawResponse.StatusCode == 400 &&
		strings.HasSuffix(af.RawResponse.Request.URL.Path, "/oauth2/v2.0/token")
}

// offline reports whether err is a failure to connect at all (name
// resolution or dial), and to which host.
func offline(err error) (string, bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Name, true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		if op.Addr != nil {
			return op.Addr.String(), true
		}
		return "the service", true
	}
	return "", false
}
