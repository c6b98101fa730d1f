package graphtest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestFailAnswersTheChosenStatus: Config.Fail answers the chosen status with
// Graph's error body for every path below the rule, with or without the
// version, after the token check; other paths are served.
func TestFailAnswersTheChosenStatus(t *testing.T) {
	srv := newTestServer(t, Config{Fail: map[string]int{"/auditLogs/signIns": 401, "/v1.0/organization": 503}})
	c := newClient(t)
	for _, tc := range []struct {
		path, code string
		status     int
	}{
		{"/v1.0/auditLogs/signIns", "InvalidAuthenticationToken", 401},
		{"/beta/auditLogs/signIns", "InvalidAuthenticationToken", 401},
		{"/v1.0/organization", "ServiceUnavailable", 503},
		{"/v1.0/auditLogs/directoryAudits?$top=1", "", 200},
	} {
		b := mustGet(t, c, srv.URL+tc.path, tc.status)
		if tc.code == "" {
			continue
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("%s: body %s, want error code %s", tc.path, b, tc.code)
		}
	}
	// The token is still checked first.
	resp, _, err := fetch(t, c, srv.URL+"/v1.0/auditLogs/signIns", "wrong")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v %v", resp, err)
	}
}

// TestFailAfterServesFirst: a rule PATH=CODE@N serves the first N requests
// below PATH, then answers every later one with CODE; "/" matches every
// path; a malformed rule is refused.
func TestFailAfterServesFirst(t *testing.T) {
	var cfg Config
	if err := cfg.AddFail("/=401@3"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"/=401@x", "/=401@-1", "auditLogs=401", "/=200", "/=401@"} {
		if err := (&Config{}).AddFail(bad); err == nil {
			t.Errorf("AddFail(%q) accepted", bad)
		}
	}
	srv := newTestServer(t, cfg)
	c := newClient(t)
	for i, want := range []int{200, 200, 200, 401, 401} {
		path := "/v1.0/organization"
		if i%2 == 1 {
			path = "/v1.0/auditLogs/directoryAudits?$top=1"
		}
		mustGet(t, c, srv.URL+path, want)
	}
}

// TestHealEndsTheFault: after Heal the paths a rule failed are served.
func TestHealEndsTheFault(t *testing.T) {
	srv := newTestServer(t, Config{Fail: map[string]int{"/": 401}})
	c := newClient(t)
	mustGet(t, c, srv.URL+"/v1.0/organization", 401)
	srv.Tenant.Heal()
	mustGet(t, c, srv.URL+"/v1.0/organization", 200)
}
