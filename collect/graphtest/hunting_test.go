package graphtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var huntNow = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// hunt posts one runHuntingQuery and returns the status and body.
func hunt(t *testing.T, s *Server, query, timespan string) (int, []byte) {
	t.Helper()
	body := map[string]string{"Query": query}
	if timespan != "" {
		body["Timespan"] = timespan
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1.0/security/runHuntingQuery", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func logonQuery(upn string, from, to time.Time) string {
	return "IdentityLogonEvents\n| where Timestamp >= datetime(" + FormatTime(from) + ") and Timestamp < datetime(" + FormatTime(to) +
		")\n| where AccountUpn in~ (\"" + upn + "\")\n| order by Timestamp asc"
}

// The documented answer shape; rows of the last 30 days only, within the
// query's bounds and the Timespan; at most HuntingMaxRows.
func TestHuntingAnswers(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Now: huntNow})
	v := s.Tenant.Victim()
	status, b := hunt(t, s, logonQuery(strings.ToUpper(v.UPN), huntNow.Add(-60*24*time.Hour), huntNow), "")
	var ans struct {
		Schema  []struct{ Name, Type string }
		Results []map[string]any
	}
	if err := json.Unmarshal(b, &ans); status != 200 || err != nil {
		t.Fatalf("%d %v %s", status, err, b)
	}
	if ans.Schema[0].Name != "Timestamp" || len(ans.Results) != 34 { // 30 daily logons + the attacker's 4
		t.Fatalf("schema %v, %d rows", ans.Schema, len(ans.Results))
	}
	for _, r := range ans.Results {
		at, _ := time.Parse(time.RFC3339, r["Timestamp"].(string))
		if at.Before(huntNow.Add(-30 * 24 * time.Hour)) {
			t.Errorf("row older than 30 days: %v", r)
		}
	}
	// The Timespan narrows the query's bounds.
	_, b = hunt(t, s, logonQuery(v.UPN, huntNow.Add(-60*24*time.Hour), huntNow),
		FormatTime(huntNow.Add(-3*24*time.Hour))+"/"+FormatTime(huntNow))
	if err := json.Unmarshal(b, &ans); err != nil || len(ans.Results) != 3 {
		t.Errorf("with a 3-day Timespan: %d rows", len(ans.Results))
	}
	capped := newTestServer(t, Config{Seed: 3, Now: huntNow, HuntingMaxRows: 5})
	_, b = hunt(t, capped, logonQuery(v.UPN, huntNow.Add(-30*24*time.Hour), huntNow), "")
	if err := json.Unmarshal(b, &ans); err != nil || len(ans.Results) != 5 {
		t.Errorf("capped at 5: %d rows", len(ans.Results))
	}
}

// Queries of any other shape, the permission and the licence are refused
// in Graph's error shape.
func TestHuntingRefusals(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Now: huntNow})
	v := s.Tenant.Victim()
	for _, q := range []string{
		"DeviceProcessEvents | take 10",
		strings.Replace(logonQuery(v.UPN, huntNow.Add(-time.Hour), huntNow), "AccountUpn", "AccountName", 1),
		strings.Replace(logonQuery(v.UPN, huntNow.Add(-time.Hour), huntNow), `in~ ("`+v.UPN+`")`, `in~ ("`+v.UPN+`") or 1 == 1`, 1),
		strings.Replace(logonQuery(v.UPN, huntNow.Add(-time.Hour), huntNow), v.UPN, `x"`, 1),
	} {
		status, b := hunt(t, s, q, "")
		var ge graphError
		if status != http.StatusBadRequest || json.Unmarshal(b, &ge) != nil || ge.Error.Code != "BadRequest" || ge.Error.InnerError.RequestID == "" {
			t.Errorf("%q: %d %s", q, status, b)
		}
	}
	for cfg, code := range map[*Config]string{{Denied: []string{PermHunting}}: "Authorization_RequestDenied", {NoDefender: true}: "Forbidden"} {
		cfg.Seed, cfg.Now = 3, huntNow
		srv := newTestServer(t, *cfg)
		status, b := hunt(t, srv, logonQuery(v.UPN, huntNow.Add(-time.Hour), huntNow), "")
		var ge graphError
		if status != http.StatusForbidden || json.Unmarshal(b, &ge) != nil || ge.Error.Code != code {
			t.Errorf("%+v: %d %s", *cfg, status, b)
		}
	}
}

// alerts_v2 serves the documented lastUpdateDateTime ge filter and refuses
// the others.
func TestAlertsFilter(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Now: huntNow})
	c := newClient(t)
	get := func(filter string) (int, []byte) {
		_, b, err := fetch(t, c, s.URL+"/v1.0/security/alerts_v2?$filter="+url.QueryEscape(filter))
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Error *struct{ Code string } }
		_ = json.Unmarshal(b, &st)
		if st.Error != nil {
			return 400, b
		}
		return 200, b
	}
	sig := s.Tenant.TenantSignals()
	_, b := get("lastUpdateDateTime ge " + FormatTime(huntNow.Add(-30*24*time.Hour)))
	if !strings.Contains(string(b), sig.AlertID) || !strings.Contains(string(b), sig.OtherAlertID) || strings.Contains(string(b), sig.OldAlertID) {
		t.Errorf("30 days: %s", b)
	}
	for _, f := range []string{"severity eq 'high'", "lastUpdateDateTime le 2026-11-01T00:00:00Z", "createdDateTime ge 2026-11-01T00:00:00Z"} {
		if status, b := get(f); status != 400 || !strings.Contains(string(b), "BadRequest") {
			t.Errorf("%s: %d %s", f, status, b)
		}
	}
}
