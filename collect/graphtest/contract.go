package graphtest

import (
	"log/slog"
	"net/http"

	"github.com/evidence-dfir/evidence/collect/catalog"
)

// checkContract validates a routed request against the endpoint catalogue
// (collect/catalog) and Microsoft's documented rules, before any budget or
// fault applies: a request the tool may not send is a defect, so it is
// answered as Graph answers it (400, or 403 Authorization_RequestDenied for
// an app-only token where no application permission exists) and recorded
// as a violation, which tests read through Violations.
func (t *Tenant) checkContract(r *http.Request) *gerr {
	ep := catalog.Match(r.Method, r.URL.EscapedPath())
	if ep == nil {
		return t.violation(r, &gerr{http.StatusBadRequest, "BadRequest",
			"Request not in the endpoint catalogue (collect/catalog): " + r.Method + " " + r.URL.Path})
	}
	if v := ep.CheckToken(t.cfg.TokenKind == TokenApp); v != nil {
		return t.violation(r, &gerr{v.Status, v.Code, v.Message})
	}
	if vs := ep.CheckQuery(r.URL.RawQuery); len(vs) > 0 {
		return t.violation(r, &gerr{vs[0].Status, vs[0].Code, vs[0].Message})
	}
	return nil
}

func (t *Tenant) violation(r *http.Request, e *gerr) *gerr {
	line := r.Method + " " + r.URL.RequestURI() + ": " + itoa(int64(e.status)) + " " + e.code + ": " + e.message
	t.mu.Lock()
	t.violations = append(t.violations, line)
	t.mu.Unlock()
	if l := t.cfg.Logger; l != nil {
		l.LogAttrs(r.Context(), slog.LevelWarn, "graphtest: request breaks the documented Graph contract",
			slog.String("method", r.Method), slog.String("uri", r.URL.RequestURI()), slog.String("answer", e.code+": "+e.message))
	}
	return e
}

// Violations lists every request so far that broke the documented contract
// (not in the catalogue, an undocumented or percent-encoded option, a
// $select of a property the version lacks, an app-only token where
// application permissions are not supported), each with the answer given.
// A collector test should end with none.
func (t *Tenant) Violations() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.violations...)
}
