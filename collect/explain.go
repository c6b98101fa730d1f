package collect

import (
	"errors"

	"github.com/evidence-dfir/evidence/collect/msg"

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
	What string // in English (--json); Error() speaks the locale's language
	Fix  string
	Code string // the AADSTS code the service gave, if any
	arg  string // the host or the code What names
}

// problem is the Problem of kind, its texts from the catalogue (collect/msg).
func problem(kind, code, arg string) *Problem {
	p := &Problem{Kind: kind, Code: code, arg: arg}
	p.What, p.Fix = p.texts("en")
	return p
}

func (p *Problem) texts(lang string) (what, fix string) {
	k := "problem." + p.Kind
	if p.arg != "" {
		return msg.In(lang, k+".what", p.arg), msg.In(lang, k+".fix")
	}
	return msg.In(lang, k+".what"), msg.In(lang, k+".fix")
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

// Error is the one line, in the locale's language: what happened, then what
// to do.
func (p *Problem) Error() string {
	what, fix := p.texts(msg.Locale())
	return what + ": " + fix
}

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
	text := err.Error()
	code := ""
	if m := aadsts.FindStringSubmatch(text); m != nil {
		code = "AADSTS" + m[1]
	}
	switch {
	case strings.Contains(text, "Azure CLI not found"), strings.Contains(text, "AzureCLICredential") && strings.Contains(text, "not found on path"):
		return problem(ProblemAzCLIMissing, "", "")
	case strings.Contains(text, "az login"):
		return problem(ProblemAzCLILogin, "", "")
	case strings.Contains(text, "expired_token") || code == "AADSTS70020" || deviceCodeEnded(err):
		return problem(ProblemDeviceCodeExpired, code, "")
	case code == "AADSTS90002" || code == "AADSTS90023" || code == "AADSTS50128" || code == "AADSTS50059" || code == "AADSTS900023":
		return problem(ProblemWrongTenant, code, code)
	case code == "AADSTS700016":
		return problem(ProblemAppNotInTenant, code, code)
	case code == "AADSTS50020" || code == "AADSTS90072" || code == "AADSTS50034":
		return problem(ProblemAccountNotInTenant, code, code)
	}
	var ge *GraphError
	if errors.As(err, &ge) && ge.Status == 401 && (strings.Contains(ge.Message, "expired") || strings.Contains(ge.Message, "Lifetime validation failed")) {
		return problem(ProblemTokenExpired, "", ge.Error()) // with Graph's answer, at the start or mid-run
	}
	if host, ok := offline(err); ok {
		return problem(ProblemNetwork, "", host)
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
