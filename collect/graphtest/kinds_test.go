package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBetaSignInKinds: /beta serves each kind only under its
// signInEventTypes filter, interactive by default; v1.0 refuses the beta
// property; the story's records land in their kinds; paging is exact.
func TestBetaSignInKinds(t *testing.T) {
	s := newTestServer(t, Config{Seed: 5, SignInsPerUser: 40, NonInteractivePerUser: 130, AppSignIns: 70})
	c := newClient(t)
	ten := s.Tenant
	st := ten.Story()
	v := ten.Victim()
	start, end := testNow.Add(-30*24*time.Hour), testNow.Add(time.Second)
	rng := " and createdDateTime ge " + ts(start) + " and createdDateTime le " + ts(end)
	kind := func(k string) string { return " and signInEventTypes/any(t: t eq '" + k + "')" }
	beta := func(filter string) []logRecord {
		recs, pages := pageAll(t, c, logURL(s.URL, "/beta/auditLogs/signIns", "$filter", filter, "$top", "25"))
		if len(recs) > 25 && pages < 2 {
			t.Fatalf("no paging: %d records in %d pages", len(recs), pages)
		}
		return recs
	}

	inter := beta("userId eq '" + v.ID + "'" + rng)
	sameIDs(t, "beta default = interactive", ids(inter), ten.IDs(StreamSignIns, v.ID, start, end))
	sameIDs(t, "beta interactiveUser", ids(beta("userId eq '"+v.ID+"'"+rng+kind("interactiveUser"))), ids(inter))

	ni := beta("userId eq '" + v.ID + "'" + kind("nonInteractiveUser") + rng)
	sameIDs(t, "non-interactive", ids(ni), ten.IDs(StreamSignInsNonInteractive, v.ID, start, end))
	if len(ni) != 130+len(st.NonInteractiveSignIns)+1 {
		t.Errorf("non-interactive: %d records", len(ni))
	}
	has := func(rs []logRecord, id string) bool {
		for _, r := range rs {
			if r.ID == id {
				return true
			}
		}
		return false
	}
	if !has(ni, st.MidnightNonInteractive.ID) || !has(ni, st.NonInteractiveSignIns[0].ID) || has(ni, st.SuccessfulSignIn.ID) {
		t.Error("story records in the wrong kind")
	}

	mal := st.App.AppID
	sp := beta("appId eq '" + mal + "'" + kind("servicePrincipal") + rng)
	sameIDs(t, "service principal (Mail Sync Pro)", ids(sp), ten.IDs(StreamSignInsServicePrincipal, mal, start, end))
	if len(sp) != len(st.ServicePrincipalSignIns)+1 || !has(sp, st.MidnightServicePrincipal.ID) {
		t.Errorf("Mail Sync Pro sign-ins: %d", len(sp))
	}
	allSP := beta(strings.TrimPrefix(kind("servicePrincipal")+rng, " and "))
	sameIDs(t, "all service principals", ids(allSP), ten.IDs(StreamSignInsServicePrincipal, "", start, end))
	mi := beta(strings.TrimPrefix(kind("managedIdentity")+rng, " and "))
	sameIDs(t, "managed identities", ids(mi), ten.IDs(StreamSignInsManagedIdentity, "", start, end))
	if len(mi) != 70+1 || !has(mi, st.MidnightManagedIdentity.ID) {
		t.Errorf("managed identity sign-ins: %d", len(mi))
	}

	// Property sets: beta records carry signInEventTypes; SP records have no user.
	b := mustGet(t, c, logURL(s.URL, "/beta/auditLogs/signIns", "$filter", "appId eq '"+mal+"'"+kind("servicePrincipal"), "$top", "1"), 200)
	var p struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(b, &p); err != nil || len(p.Value) != 1 {
		t.Fatalf("page: %v %s", err, b)
	}
	r := p.Value[0]
	if et, _ := r["signInEventTypes"].([]any); len(et) != 1 || et[0] != "servicePrincipal" || r["userId"] != "" ||
		r["servicePrincipalName"] != "Mail Sync Pro" || r["appId"] != mal || r["ipAddress"] != AttackerIP {
		t.Errorf("service principal record %v", r)
	}
	b = mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$top", "1"), 200)
	if strings.Contains(string(b), "signInEventTypes") {
		t.Error("v1.0 record carries the beta property signInEventTypes")
	}

	// Graph's error shapes for what is not supported.
	for _, q := range []struct{ path, filter, code string }{
		{"/v1.0/auditLogs/signIns", "signInEventTypes/any(t: t eq 'nonInteractiveUser')", "Request_UnsupportedQuery"},
		{"/beta/auditLogs/signIns", "signInEventTypes/any(t: t ne 'interactiveUser')", "Request_UnsupportedQuery"},
		{"/beta/auditLogs/signIns", "signInEventTypes/any(t: t eq 'robot')", "BadRequest"},
	} {
		resp, body, err := fetch(t, c, logURL(s.URL, q.path, "$filter", q.filter))
		if err != nil {
			t.Fatal(err)
		}
		var ge graphError
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &ge) != nil || ge.Error.Code != q.code {
			t.Errorf("%s %s: %d %s", q.path, q.filter, resp.StatusCode, body)
		}
	}
}

// TestUserApps: grants and owned objects name the apps whose service
// principal sign-ins belong to a user.
func TestUserApps(t *testing.T) {
	s := newTestServer(t, Config{Seed: 5})
	c := newClient(t)
	ten := s.Tenant
	v, admin := ten.Victim(), ten.Admin()
	// One model of the tenant's consents serves every route (the persistence
	// snapshot's): the victim's grants are the attacker's consent plus the
	// benign ones, the same through /users/{id} and through the filtered list.
	type grantList struct {
		Value []struct {
			ID          string `json:"id"`
			ClientID    string `json:"clientId"`
			PrincipalID string `json:"principalId"`
			Scope       string `json:"scope"`
		} `json:"value"`
	}
	var grants grantList
	if err := json.Unmarshal(mustGet(t, c, logURL(s.URL, "/v1.0/oauth2PermissionGrants", "$filter", "principalId eq '"+v.ID+"'"), 200), &grants); err != nil {
		t.Fatal(err)
	}
	if len(grants.Value) == 0 {
		t.Fatal("victim's grants: none through the filtered list")
	}
	truth := ten.Persistence()
	attacker := -1
	for i, g := range grants.Value {
		if g.PrincipalID != v.ID {
			t.Fatalf("grant %d: %+v is not the victim's", i, g)
		}
		if g.ID == truth.ConsentGrantID {
			attacker = i
		}
	}
	if attacker < 0 || !strings.Contains(grants.Value[attacker].Scope, "Mail.Send") {
		t.Fatalf("the consent to Mail Sync Pro (%s) is missing from %+v", truth.ConsentGrantID, grants)
	}
	grants.Value[0] = grants.Value[attacker]
	var sp struct {
		AppID       string `json:"appId"`
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal(mustGet(t, c, s.URL+"/v1.0/servicePrincipals/"+grants.Value[0].ClientID, 200), &sp); err != nil {
		t.Fatal(err)
	}
	if sp.AppID != ten.Story().App.AppID || sp.DisplayName != "Mail Sync Pro" {
		t.Errorf("service principal %+v", sp)
	}
	// UserApps, the ground truth of the app sign-ins a --user grab collects,
	// is exactly what the served grants and owned objects reveal.
	var owned struct {
		Value []struct {
			AppID string `json:"appId"`
		} `json:"value"`
	}
	for _, u := range []User{v, admin} {
		if err := json.Unmarshal(mustGet(t, c, s.URL+"/v1.0/users/"+u.UPN+"/ownedObjects", 200), &owned); err != nil {
			t.Fatal(err)
		}
		var g grantList
		if err := json.Unmarshal(mustGet(t, c, logURL(s.URL, "/v1.0/oauth2PermissionGrants", "$filter", "principalId eq '"+u.ID+"'"), 200), &g); err != nil {
			t.Fatal(err)
		}
		served := map[string]bool{}
		for _, o := range owned.Value {
			served[o.AppID] = true
		}
		for _, gr := range g.Value {
			served[gr.ClientID] = true
		}
		for _, a := range ten.UserApps(u.ID) {
			if !served[a.AppID] && !served[a.ServicePrincipalID] {
				t.Errorf("%s: UserApps names %s, which the served grants and owned objects do not reveal", u.UPN, a.Name)
			}
		}
	}
	found := false
	for _, a := range ten.UserApps(v.ID) {
		found = found || a.AppID == ten.Story().App.AppID
	}
	if !found {
		t.Errorf("the victim's apps lack the consented %s", ten.Story().App.Name)
	}
	mustGet(t, c, s.URL+"/v1.0/servicePrincipals/00000000-0000-0000-0000-000000000000", 404)
}
