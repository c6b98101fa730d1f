package graphtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// forced answers a request whose path Config.Fail names with the status
// given there, in the error body Graph uses for that status; nil for any
// other request. A rule's path matches the request's path, with or without
// the version segment, case-insensitively, and any path below it
// ("/auditLogs" matches "/v1.0/auditLogs/signIns"; "/" matches every
// path). A rule with Config.FailAfter serves that many matching requests
// first, then fails every one after them (a token that expires mid-run).
func (t *Tenant) forced(r *http.Request) *gerr {
	t.mu.Lock()
	rules := t.cfg.Fail
	t.mu.Unlock()
	if len(rules) == 0 {
		return nil
	}
	p := strings.ToLower(r.URL.Path)
	noVersion := p
	for _, v := range []string{"/v1.0", "/beta"} {
		if strings.HasPrefix(p, v+"/") {
			noVersion = strings.TrimPrefix(p, v)
		}
	}
	for rule, status := range rules {
		norm := "/" + strings.Trim(strings.ToLower(rule), "/")
		for _, q := range []string{p, noVersion} {
			if norm == "/" || q == norm || strings.HasPrefix(q, norm+"/") {
				if t.served(rule) {
					return nil
				}
				return failure(status)
			}
		}
	}
	return nil
}

// Heal ends every Config.Fail rule: the requests that follow are served
// (a new token was issued, the outage is over), so a test can resume a
// run that a fault stopped against the same tenant.
func (t *Tenant) Heal() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.Fail = nil
}

// served counts a request matching rule and reports whether it is still
// among the rule's FailAfter good answers.
func (t *Tenant) served(rule string) bool {
	after := t.cfg.FailAfter[rule]
	if after <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failSeen == nil {
		t.failSeen = map[string]int{}
	}
	t.failSeen[rule]++
	return t.failSeen[rule] <= after
}

// AddFail adds a fault rule as `evidence sim --fail` gives it:
// PATH=CODE (every request below PATH is answered CODE) or PATH=CODE@N
// (the first N requests below PATH are served, every later one is answered
// CODE). PATH starts with "/"; CODE is an HTTP error status (400-599).
func (c *Config) AddFail(rule string) error {
	p, code, ok := strings.Cut(rule, "=")
	code, after, hasAfter := strings.Cut(code, "@")
	n, err := strconv.Atoi(code)
	if !ok || !strings.HasPrefix(p, "/") || err != nil || n < 400 || n > 599 {
		return fmt.Errorf("want PATH=CODE or PATH=CODE@N, a path from / and an HTTP error status, e.g. /auditLogs/signIns=401@3")
	}
	var a int
	if hasAfter {
		if a, err = strconv.Atoi(after); err != nil || a < 0 {
			return fmt.Errorf("@%s: want the number of good answers before the fault, e.g. =401@3", after)
		}
	}
	if c.Fail == nil {
		c.Fail = map[string]int{}
	}
	c.Fail[p] = n
	if a > 0 {
		if c.FailAfter == nil {
			c.FailAfter = map[string]int{}
		}
		c.FailAfter[p] = a
	}
	return nil
}

// failure is Graph's error for a status: the code and message Graph sends
// with it (documented in "Microsoft Graph error responses and resource
// types"; 401 as for an expired token).
func failure(status int) *gerr {
	switch status {
	case http.StatusBadRequest:
		return &gerr{status, "BadRequest", "Invalid request."}
	case http.StatusUnauthorized:
		return &gerr{status, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."}
	case http.StatusForbidden:
		return &gerr{status, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
	case http.StatusNotFound:
		return &gerr{status, "Request_ResourceNotFound", "Resource could not be discovered."}
	case http.StatusTooManyRequests:
		return &gerr{status, "TooManyRequests", "Too many requests."}
	case http.StatusInternalServerError:
		return &gerr{status, "InternalServerError", "An internal server error occurred."}
	case http.StatusBadGateway:
		return &gerr{status, "BadGateway", "The gateway received an invalid response."}
	case http.StatusServiceUnavailable:
		return &gerr{status, "ServiceUnavailable", "Service is temporarily unavailable. Please retry later."}
	case http.StatusGatewayTimeout:
		return &gerr{status, "GatewayTimeout", "The gateway timed out."}
	}
	return &gerr{status, "UnknownError", fmt.Sprintf("Status %d.", status)}
}
