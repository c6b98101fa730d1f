package graphtest

import (
	"fmt"
	"net/http"
	"strings"
)

// forced answers a request whose path Config.Fail names with the status
// given there, in the error body Graph uses for that status; nil for any
// other request. A rule's path matches the request's path, with or without the version segment, case-insensitively, and any
// path below it ("/auditLogs" matches "/v1.0/auditLogs/signIns").
func (t *Tenant) forced(r *http.Request) *gerr {
	if len(t.cfg.Fail) == 0 {
		return nil
	}
	p := strings.ToLower(r.URL.Path)
	noVersion := p
	for _, v := range []string{"/v1.0", "/beta"} {
		if strings.HasPrefix(p, v+"/") {
			noVersion = strings.TrimPrefix(p, v)
		}
	}
	for rule, status := range t.cfg.Fail {
		rule = "/" + strings.Trim(strings.ToLower(rule), "/")
		for _, q := range []string{p, noVersion} {
			if q == rule || strings.HasPrefix(q, rule+"/") {
				return failure(status)
			}
		}
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
