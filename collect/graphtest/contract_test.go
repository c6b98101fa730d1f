package graphtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/catalog"
)

// concretePath fills an entry's path template with values of the seeded
// tenant (the contract is checked before the resource is looked up).
func concretePath(t *Tenant, e *catalog.Endpoint) string {
	r := strings.NewReplacer("{id}", t.Victim().ID, "{folder}", "inbox", "{message}", "AAMkAD0",
		"{address}", "'evil%40attacker.example'")
	return "/" + e.Version + r.Replace(e.Path)
}

// send sends one request with the test token and returns status and body.
func send(t *testing.T, c *http.Client, method, u string) (int, graphError) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte(`{"displayName":"t","filterStartDateTime":"2026-11-01T00:00:00Z","filterEndDateTime":"2026-11-02T00:00:00Z"}`))
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ge graphError
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &ge); err != nil || ge.Error.Code == "" || ge.Error.InnerError.RequestID == "" {
			t.Errorf("%s %s: %d without Graph's error shape: %s", method, u, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, ge
}

// TestContractPerEntry: for every catalogue entry, the strict tenant refuses
// each documented violation the way Graph does, with Graph's error body, and
// records it: option names sent percent-encoded (as msgraph-sdk-go's URL
// templates hold them), options the page does not document, a $top beyond
// the documented maximum, a $select of a property that version does not
// have, message-trace bounds with fraction digits, and an app-only token
// where no application permission is documented.
func TestContractPerEntry(t *testing.T) {
	for _, e := range catalog.Endpoints {
		t.Run(e.ID, func(t *testing.T) {
			delegated := newTestServer(t, Config{Seed: 3})
			app := newTestServer(t, Config{Seed: 3, TokenKind: TokenApp})
			c := newClient(t)
			u := delegated.URL + concretePath(delegated.Tenant, e)
			type bad struct{ query, code, msg string }
			var cases []bad
			opt := "$top=1"
			if len(e.Options) > 0 {
				opt = e.Options[0] + "=1"
			}
			expandWant := "not supported"
			if e.Expand != nil { // $expand documented: only the listed navigation properties
				expandWant = "Could not find a navigation property named 'owners'"
			}
			cases = append(cases,
				bad{"%24" + strings.TrimPrefix(opt, "$"), "BadRequest", "percent-encoded"},
				bad{"$expand=owners", "BadRequest", expandWant})
			if e.MaxTop > 0 {
				cases = append(cases, bad{"$top=" + itoa(int64(e.MaxTop+1)), "Request_BadRequest", "page size"})
			}
			if e.Select != nil {
				prop := "noSuchProperty"
				if e.ID == "serviceprincipals.get" || e.ID == "serviceprincipals.list" {
					prop = "publisherName" // beta only
				}
				if e.ID == "signins.v1" {
					prop = "authenticationDetails" // beta only
				}
				cases = append(cases, bad{"$select=id," + prop, "BadRequest", "Could not find a property named '" + prop + "'"})
			}
			if e.SecondsProp != "" {
				cases = append(cases, bad{"$filter=" + odataEscape(e.SecondsProp+" ge 2026-11-20T00:00:00Z and "+e.SecondsProp+" le 2026-11-24T06:12:36.9999999Z"),
					"BadRequest", "YYYY-MM-DDThh:mm:ssZ"})
			}
			for _, c2 := range cases {
				before := len(delegated.Tenant.Violations())
				status, ge := send(t, c, e.Method, u+"?"+c2.query)
				if status != http.StatusBadRequest || ge.Error.Code != c2.code || !strings.Contains(ge.Error.Message, c2.msg) {
					t.Errorf("%s ?%s: %d %s %q, want 400 %s containing %q", e.Method, c2.query, status, ge.Error.Code, ge.Error.Message, c2.code, c2.msg)
				}
				if got := len(delegated.Tenant.Violations()); got != before+1 {
					t.Errorf("?%s: %d violations recorded, want %d", c2.query, got, before+1)
				}
			}

			// The token kind: app-only where no application permission exists
			// is 403 Authorization_RequestDenied; elsewhere it passes the
			// contract (whatever the resource then answers).
			status, ge := send(t, c, e.Method, app.URL+concretePath(app.Tenant, e))
			denied := status == http.StatusForbidden && ge.Error.Code == "Authorization_RequestDenied"
			if denied == e.AppOnly() {
				t.Errorf("app-only token: %d %s, want denied=%v (application permission %q)", status, ge.Error.Code, !e.AppOnly(), e.Application)
			}
			if n := len(app.Tenant.Violations()); (n == 1) == e.AppOnly() {
				t.Errorf("app-only token: %d violations recorded", n)
			}
			// A delegated token with no query passes the contract.
			if len(delegated.Tenant.Violations()) != len(cases) {
				t.Fatalf("violations before the clean request: %v", delegated.Tenant.Violations())
			}
			send(t, c, e.Method, u)
			if v := delegated.Tenant.Violations(); len(v) != len(cases) {
				t.Errorf("a clean request was recorded as a violation: %v", v[len(cases):])
			}
		})
	}
}

// A request the tool never makes, though Graph serves it, is refused and
// recorded: every request must go through a catalogue entry.
func TestContractUncatalogued(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3})
	c := newClient(t)
	status, ge := send(t, c, http.MethodGet, s.URL+"/v1.0/users/"+s.Tenant.Victim().ID+"/oauth2PermissionGrants")
	if status != http.StatusBadRequest || !strings.Contains(ge.Error.Message, "catalogue") {
		t.Errorf("/users/{id}/oauth2PermissionGrants: %d %+v", status, ge.Error)
	}
	if len(s.Tenant.Violations()) != 1 {
		t.Errorf("violations: %v", s.Tenant.Violations())
	}
}
