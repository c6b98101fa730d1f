package graphtest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// expectError checks status, the exact Graph error shape, and the code.
func expectError(t *testing.T, c *http.Client, u string, status int, codes ...string) graphError {
	t.Helper()
	resp, b, err := fetch(t, c, u)
	if err != nil {
		t.Fatal(err)
	}
	return checkError(t, u, resp, b, status, codes...)
}

var shapeRE = regexp.MustCompile(`^\{"error":\{"code":"[^"]+","message":".+","innerError":\{"date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d","request-id":"[0-9a-f-]{36}","client-request-id":"[0-9a-f-]{36}"\}\}\}$`)

func checkError(t *testing.T, what string, resp *http.Response, b []byte, status int, codes ...string) graphError {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", what, resp.StatusCode, status, b)
	}
	if !shapeRE.Match(b) {
		t.Errorf("%s: not the Graph error shape: %s", what, b)
	}
	if resp.Header.Get("Content-Type") != contentType {
		t.Errorf("%s: Content-Type %q", what, resp.Header.Get("Content-Type"))
	}
	var ge graphError
	if err := json.Unmarshal(b, &ge); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ok := false
	for _, c := range codes {
		ok = ok || ge.Error.Code == c
	}
	if !ok {
		t.Errorf("%s: code %q, want one of %v", what, ge.Error.Code, codes)
	}
	if ge.Error.InnerError.RequestID != resp.Header.Get("request-id") {
		t.Errorf("%s: innerError request-id differs from the header", what)
	}
	return ge
}

func TestUnsupportedFilters(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 10, AuditsPerUser: 10})
	c := newClient(t)
	v := s.Tenant.Victim()
	at := ts(testNow.Add(-time.Hour))
	for _, f := range []string{
		"createdDateTime lt " + at,
		"createdDateTime gt " + at,
		"createdDateTime ne " + at,
		"userId eq '" + v.ID + "' or userId eq 'x'",
		"appDisplayName eq 'OfficeHome'",
		"startswith(userPrincipalName,'victim')",
		"not (userId eq 'x')",
		"(userId eq 'x')",
		"userId ge 'x'",
		"createdDateTime ge '" + at + "'",
		"createdDateTime ge 2026-11-20T08:15:32.12345678Z",
		"createdDateTime ge 2026-11-20",
		"createdDateTime ge yesterday",
		"userId eq " + v.ID,
		"userId eq 'x' and",
		"userId eq 'unterminated",
		"userId",
		"",
		"userId eq 'x' && createdDateTime ge " + at,
		"targetResources/any(t: t/id eq 'x')",
	} {
		ge := expectError(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", f), 400, "Request_UnsupportedQuery", "BadRequest")
		if ge.Error.Message == "" {
			t.Errorf("%q: empty message", f)
		}
	}
	for _, f := range []string{
		"activityDateTime lt " + at,
		"createdDateTime ge " + at,
		"targetResources/any(t: u/id eq '" + v.ID + "')",
		"targetResources/any(t: t/id eq 'a' or t/id eq 'b')",
		"targetResources/all(t: t/id eq 'a')",
		"targetResources/any(t: t/displayName eq 'a')",
		"initiatedBy/user/displayName eq 'Megan Bowen'",
		"category eq 'UserManagement'",
	} {
		expectError(t, c, logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter", f), 400, "Request_UnsupportedQuery", "BadRequest")
	}
	ge := expectError(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "createdDateTime lt "+at), 400, "Request_UnsupportedQuery")
	t.Logf("lt: %s", ge.Error.Message)

	// Everything documented is accepted, including offsets and seven digits.
	for _, f := range []string{
		"createdDateTime ge 2026-11-20T08:15:32Z and createdDateTime le 2026-11-21T08:15:32.1234567Z",
		"createdDateTime eq 2026-11-20T08:15:32Z",
		"createdDateTime ge 2026-11-20T17:15:32%2B09:00",
		"userId eq '" + v.ID + "' and userPrincipalName eq 'victim@contoso.com'",
		"userPrincipalName eq 'o''brien@contoso.com'",
	} {
		mustGet(t, c, s.URL+"/v1.0/auditLogs/signIns?$filter="+escapeKeepPercent(f), 200)
	}
	for _, f := range []string{
		"activityDateTime ge 2026-11-20T08:15:32Z and activityDateTime le 2026-11-21T08:15:32Z",
		"initiatedBy/user/id eq '" + v.ID + "' and targetResources/any(x: x/id eq '" + v.ID + "')",
		"initiatedBy/user/userPrincipalName eq 'victim@contoso.com'",
	} {
		mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter", f), 200)
	}
}

// escapeKeepPercent encodes spaces and quotes but keeps existing %XX.
func escapeKeepPercent(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			out = append(out, "%20"...)
		case '\'':
			out = append(out, "%27"...)
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

func TestBadOptions(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 10, MaxTop: 500})
	c := newClient(t)
	for _, top := range []string{"0", "-1", "501", "abc", ""} {
		expectError(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$top", top), 400, "Request_BadRequest")
	}
	mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$top", "500"), 200)
	expectError(t, c, s.URL+"/v1.0/auditLogs/signIns?$top=1&$top=2", 400, "BadRequest")
	expectError(t, c, s.URL+"/v1.0/auditLogs/signIns?$expand=x", 400, "BadRequest")
	expectError(t, c, s.URL+"/v1.0/auditLogs/signIns?$select=nope", 400, "BadRequest")
	expectError(t, c, s.URL+"/v1.0/auditLogs/signIns?$orderby=createdDateTime%20asc", 400, "Request_UnsupportedQuery")
	mustGet(t, c, s.URL+"/v1.0/auditLogs/signIns?$orderby=createdDateTime%20desc&api-version=ignored", 200)
}

func TestAuthentication(t *testing.T) {
	s := newTestServer(t, Config{})
	c := newClient(t)
	for _, tc := range []struct{ tok, msg string }{
		{"", "Access token is empty."},
		{"wrong", "Access token validation failure. Invalid audience."},
		{testToken + "x", "Access token validation failure. Invalid audience."},
	} {
		for _, p := range []string{"/v1.0/auditLogs/signIns", "/v1.0/users/victim@contoso.com", "/v1.0/organization", "/v1.0/nowhere"} {
			resp, b, err := fetch(t, c, s.URL+p, tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			ge := checkError(t, p, resp, b, 401, "InvalidAuthenticationToken")
			if ge.Error.Message != tc.msg {
				t.Errorf("%s with %q: message %q", p, tc.tok, ge.Error.Message)
			}
		}
	}
	// Only "Bearer <token>" exactly.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1.0/organization", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("lower-case scheme: %d", resp.StatusCode)
	}
}

func TestFreeLicense(t *testing.T) {
	s := newTestServer(t, Config{License: LicenseFree, AuditsPerUser: 300})
	c := newClient(t)
	ge := expectError(t, c, s.URL+"/v1.0/auditLogs/signIns", 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
	if ge.Error.Message != "Neither tenant is B2C or tenant doesn't have premium license" {
		t.Errorf("message %q", ge.Error.Message)
	}
	ten := s.Tenant
	if n := ten.Count(StreamSignIns, "", beginning, ending); n != 0 {
		t.Errorf("free tenant sign-in count %d", n)
	}
	// Audits are served, but only the last 7 days.
	v := ten.Victim()
	all := ten.Count(StreamAuditsInitiated, v.ID, beginning, ending)
	week := ten.Count(StreamAuditsInitiated, v.ID, testNow.Add(-7*24*time.Hour), ending)
	if all != week || all < 60 || all > 90 {
		t.Errorf("free audits: %d in total, %d in the last week", all, week)
	}
	recs, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter", "initiatedBy/user/id eq '"+v.ID+"'"))
	sameIDs(t, "free audits", ids(recs), ten.IDs(StreamAuditsInitiated, v.ID, beginning, ending))
	for _, r := range recs {
		if r.time(t).Before(testNow.Add(-7 * 24 * time.Hour)) {
			t.Fatalf("record %s older than 7 days", r.ID)
		}
	}
}

func TestP1HidesRisk(t *testing.T) {
	for _, tc := range []struct {
		lic  License
		want string
	}{{LicenseP1, "hidden"}, {LicenseP2, "medium"}} {
		s := newTestServer(t, Config{License: tc.lic, SignInsPerUser: 10})
		c := newClient(t)
		st := s.Tenant.Story()
		b := mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "createdDateTime eq "+ts(st.SuccessfulSignIn.Time)), 200)
		var p struct {
			Value []struct {
				ID                    string `json:"id"`
				RiskLevelDuringSignIn string `json:"riskLevelDuringSignIn"`
			} `json:"value"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Value) == 0 || p.Value[0].ID != st.SuccessfulSignIn.ID || p.Value[0].RiskLevelDuringSignIn != tc.want {
			t.Errorf("%s: %s", tc.lic, b)
		}
	}
}

func TestRouting(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 5})
	c := newClient(t)
	for _, p := range []string{"/v1.0/nothing", "/v1.0/auditLogs/provisioning", "/v1.0/auditLogs", "/v1.0/users/victim@contoso.com/calendars",
		"/beta/auditLogs/directoryAudits", "/v2.0/organization", "/", "/v1.0"} {
		expectError(t, c, s.URL+p, 404, "BadRequest", "Request_ResourceNotFound")
	}
	// Segment names are case-insensitive, as in Graph.
	mustGet(t, c, s.URL+"/v1.0/auditlogs/signins", 200)
	mustGet(t, c, s.URL+"/v1.0/auditLogs/directoryaudits/", 200)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1.0/auditLogs/signIns", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Token: "x", License: "e5"},
		{Token: "x", SignInsPerUser: 1 << 40},
		{Token: "x", ExtraUsers: -1},
		{Token: "x", Faults: Faults{Rate5xx: 2}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	ten, err := New(Config{Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if now := ten.Now(); now.IsZero() || now.Nanosecond() != 0 || now.Location() != time.UTC {
		t.Errorf("default Now %v", now)
	}
}
