package graphtest

import (
	"strings"
	"testing"
	"time"
)

func TestStoryServed(t *testing.T) {
	s := newTestServer(t, Config{Seed: 42})
	c := newClient(t)
	ten := s.Tenant
	st := ten.Story()
	v := ten.Victim()
	if st.AttackerIP != "185.220.101.47" || st.Victim.UPN != "victim@contoso.com" || len(st.FailedSignIns) != 3 ||
		st.InboxRule.Name != "." || st.InboxRule.ForwardTo != "attacker@protonmail.example" || st.App.Name != "Mail Sync Pro" {
		t.Fatalf("story %+v", st)
	}
	t0 := st.FailedSignIns[0].Time
	if d := testNow.Sub(t0); d != 5*24*time.Hour {
		t.Errorf("attack starts %v before Now", d)
	}

	// Sign-ins around the attack, oldest last.
	f := "userId eq '" + v.ID + "' and createdDateTime ge " + ts(t0) + " and createdDateTime le " + ts(st.SuccessfulSignIn.Time)
	recs, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", f))
	var attacker []logRecord
	for _, r := range recs {
		if r.IPAddress == st.AttackerIP {
			attacker = append(attacker, r)
		}
	}
	if len(attacker) != 4 {
		t.Fatalf("attacker sign-ins: %+v", recs)
	}
	if attacker[0].ID != st.SuccessfulSignIn.ID || attacker[0].Status.ErrorCode != 0 || attacker[0].AppDisplayName != "OfficeHome" ||
		attacker[0].Location.City != "Amsterdam" || attacker[0].Location.Country != "NL" {
		t.Errorf("success: %+v", attacker[0])
	}
	for i, r := range attacker[1:] {
		want := st.FailedSignIns[2-i]
		if r.ID != want.ID || r.Status.ErrorCode != 50126 || !r.time(t).Equal(want.Time) {
			t.Errorf("failure %d: %+v", i, r)
		}
	}

	// Audits initiated by the victim from the attacker's address.
	f = "initiatedBy/user/id eq '" + v.ID + "' and activityDateTime ge " + ts(t0) + " and activityDateTime le " + ts(t0.Add(time.Hour))
	recs, _ = pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter", f))
	byID := map[string]logRecord{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	for _, e := range []Event{st.MFARegistered, st.Consent, st.AppRoleGrant} {
		r, ok := byID[e.ID]
		if !ok || r.Activity != e.Activity || r.InitiatedBy.User.IPAddress != st.AttackerIP || !r.time(t).Equal(e.Time) {
			t.Errorf("%s: %+v", e.Activity, r)
		}
	}
	if got := byID[st.MFARegistered.ID].ActivityDateTime; !strings.HasSuffix(got, ":10.1234567Z") {
		t.Errorf("MFA timestamp %q", got)
	}
	if got := byID[st.AppRoleGrant.ID].ActivityDateTime; !strings.HasSuffix(got, ":03.25Z") {
		t.Errorf("grant timestamp %q", got)
	}
	consent := byID[st.Consent.ID]
	perms := ""
	for _, tr := range consent.TargetResources {
		for _, m := range tr.ModifiedProperties {
			if m.DisplayName == "ConsentAction.Permissions" {
				perms = m.NewValue
			}
		}
	}
	if !strings.Contains(perms, "Mail.Send") || !strings.Contains(perms, "Mail.ReadWrite") || consent.TargetResources[0].DisplayName != "Mail Sync Pro" {
		t.Errorf("consent: %+v", consent)
	}

	// The reset is the admin's, targets the victim, and is not initiated by the victim.
	in := func(id string, list []string) bool {
		for _, x := range list {
			if x == id {
				return true
			}
		}
		return false
	}
	target := ten.IDs(StreamAuditsTarget, v.ID, beginning, ending)
	initiated := ten.IDs(StreamAuditsInitiated, v.ID, beginning, ending)
	admin := ten.IDs(StreamAuditsInitiated, ten.Admin().ID, beginning, ending)
	if !in(st.PasswordReset.ID, target) || in(st.PasswordReset.ID, initiated) || !in(st.PasswordReset.ID, admin) {
		t.Error("password reset in the wrong streams")
	}
	if in(st.Consent.ID, target) || !in(st.Consent.ID, initiated) || !in(st.AppRoleGrant.ID, target) {
		t.Error("consent audits in the wrong streams")
	}
	if d := st.PasswordReset.Time.Sub(t0); d < 24*time.Hour || d > 48*time.Hour {
		t.Errorf("reset %v after the attack", d)
	}
	// The consent is found by its target, the service principal.
	recs, _ = pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter",
		"targetResources/any(t: t/id eq '"+st.App.ServicePrincipalID+"')"))
	if len(recs) != 2 {
		t.Errorf("audits targeting the app: %d", len(recs))
	}

	// Midnight audit.
	m := st.MidnightAudit
	if !m.Time.Equal(m.Time.Truncate(24*time.Hour)) || !in(m.ID, ten.IDs(StreamAuditsInitiated, v.ID, m.Time, m.Time.Add(time.Nanosecond))) ||
		in(m.ID, ten.IDs(StreamAuditsTarget, v.ID, m.Time.Add(-time.Hour), m.Time)) {
		t.Errorf("midnight audit %+v", m)
	}
}

func TestStoryAtAwkwardNow(t *testing.T) {
	// Now at 20:42:31 would put the reset on the midnight audit; it moves.
	now := time.Date(2026, 3, 1, 20, 42, 31, 0, time.UTC)
	ten, err := New(Config{Token: "x", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	st := ten.Story()
	if st.PasswordReset.Time.Equal(st.MidnightAudit.Time) {
		t.Fatal("reset collides with the midnight audit")
	}
	if got := ten.Count(StreamAuditsTarget, ten.Victim().ID, st.MidnightAudit.Time, st.MidnightAudit.Time.Add(2*time.Second)); got < 2 {
		t.Errorf("count %d", got)
	}
}
