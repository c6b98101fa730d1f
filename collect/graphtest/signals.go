package graphtest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Permissions the signals endpoints require.
const (
	PermRiskySP  = "IdentityRiskyServicePrincipal.Read.All"
	PermIncident = "SecurityIncident.Read.All"
	PermAlert    = "SecurityAlert.Read.All"
	PermHunting  = "ThreatHunting.Read.All"
)

// Signals lists what Microsoft's detections raised in the story (the
// signals source's parts), by id. With Config.CleanPosture none is served
// (the benign incident stays).
type Signals struct {
	RiskyServicePrincipalID string // the attacker's app, at risk
	SPDetectionID           string // its risk detection
	IncidentID              string // the open incident naming the victim
	AlertID                 string // its alert
	OtherIncidentID         string // a resolved incident about bob, not the victim
	// OtherAlertID is a resolved alert about bob updated in the last 30
	// days (a second alert of his incident); his first alert is 40 days old.
	OtherAlertID string
	// OldAlertID is bob's 40-day-old alert: alerts_v2 with
	// lastUpdateDateTime ge 30 days back does not return it.
	OldAlertID string
	// IPIncidentID is an open incident whose only evidence is the
	// attacker's IP address (ipEvidence, no user): the victim's only
	// through the address of the victim's sign-ins; IPAlertID its alert.
	IPIncidentID, IPAlertID string
	// DeviceIncidentID is a resolved incident whose only evidence is the
	// victim's laptop (deviceEvidence.azureAdDeviceId, the deviceId the
	// victim's sign-ins record); DeviceAlertID its alert.
	DeviceIncidentID, DeviceAlertID string
	// UnrelatedIncidentID is an incident whose only evidence is an address
	// no sign-in of the victim used: nobody's subject in a per-user grab.
	UnrelatedIncidentID string
}

type signalsData struct {
	riskySPs, spDetections []*sobj
	incidents, incidentsX  []*sobj // without and with alerts expanded
	alerts                 []*sobj // every alert of every incident (alerts_v2), newest update first
	truth                  Signals
}

// TenantSignals returns the story's signals.
func (t *Tenant) TenantSignals() Signals { return t.snapshot().signals.truth }

// buildSignals builds the Identity Protection and Defender XDR data.
func (t *Tenant) buildSignals(d *snapData) *signalsData {
	id := func(s string) string { return uuid.NewSHA1(t.ns, []byte("signals/"+s)).String() }
	st := t.story
	a := t.anchor.Truncate(time.Second)
	t0 := a.Add(-5 * 24 * time.Hour)
	victim, bob := t.users[0], t.users[2]
	s := &signalsData{}
	tr := &s.truth
	defer func() { // alerts_v2 lists the most recently updated first
		slices.SortStableFunc(s.alerts, func(x, y *sobj) int { return strings.Compare(y.str("lastUpdateDateTime"), x.str("lastUpdateDateTime")) })
	}()

	userEvidence := func(u *person, at time.Time, roles ...string) *sobj {
		if roles == nil {
			roles = []string{}
		}
		return obj("@odata.type", "#microsoft.graph.security.userEvidence", "createdDateTime", at, "verdict", "suspicious",
			"remediationStatus", "none", "remediationStatusDetails", nil, "roles", roles, "detailedRoles", []string{}, "tags", []string{},
			"userAccount", obj("accountName", strings.Split(u.UPN, "@")[0], "domainName", "contoso.com", "userSid", nil,
				"azureAdUserId", u.ID, "userPrincipalName", u.UPN, "displayName", u.DisplayName))
	}
	alert := func(aid, incident, title, status, severity, category string, at time.Time, evidence ...*sobj) *sobj {
		return obj("@odata.type", "#microsoft.graph.security.alert", "id", aid, "providerAlertId", aid, "incidentId", incident,
			"status", status, "severity", severity, "classification", nil, "determination", nil,
			"serviceSource", "microsoftDefenderForCloudApps", "detectionSource", "cloudAppSecurity", "title", title,
			"category", category, "createdDateTime", at, "lastUpdateDateTime", at.Add(10*time.Minute),
			"firstActivityDateTime", at.Add(-5*time.Minute), "lastActivityDateTime", at, "evidence", evidence)
	}
	incident := func(iid, name, status, severity string, created time.Time, alerts []*sobj) {
		base := []any{"@odata.type", "#microsoft.graph.security.incident", "id", iid,
			"incidentWebUrl", "https://security.microsoft.com/incidents/" + iid + "?tid=" + t.tenantID,
			"redirectIncidentId", nil, "tenantId", t.tenantID, "displayName", name, "createdDateTime", created,
			"lastUpdateDateTime", created.Add(time.Hour), "assignedTo", nil, "classification", "unknown", "determination", "unknown",
			"status", status, "severity", severity, "customTags", []string{}, "systemTags", []string{}, "comments", []string{},
			"description", nil, "summary", nil}
		s.incidents = append(s.incidents, obj(base...))
		s.incidentsX = append(s.incidentsX, obj(append(base, "alerts", alerts)...))
		s.alerts = append(s.alerts, alerts...)
	}

	other := "8" + strings.ReplaceAll(id("incident/bob")[:7], "-", "")
	tr.OtherIncidentID = other
	bobAt := a.Add(-40 * 24 * time.Hour)
	tr.OldAlertID, tr.OtherAlertID = id("alert/bob"), id("alert/bob-recent")
	bobRecent := a.Add(-2 * 24 * time.Hour)
	incident(other, "Suspicious inbox manipulation rule involving one user", "resolved", "low", bobAt,
		[]*sobj{alert(tr.OldAlertID, other, "Suspicious inbox manipulation rule", "resolved", "low", "DefenseEvasion", bobAt,
			userEvidence(bob, bobAt, "compromised")),
			alert(tr.OtherAlertID, other, "Suspicious email sending patterns detected", "resolved", "medium", "InitialAccess", bobRecent,
				userEvidence(bob, bobRecent, "compromised"))})

	if t.cfg.CleanPosture {
		return s
	}
	tr.IncidentID = "9" + strings.ReplaceAll(id("incident/victim")[:7], "-", "")
	tr.AlertID = id("alert/victim")
	at := t0.Add(14 * time.Minute)
	incident(tr.IncidentID, "Business email compromise (BEC) financial fraud involving one user", "active", "high", at,
		[]*sobj{alert(tr.AlertID, tr.IncidentID, "Suspicious inbox forwarding rule", "new", "high", "Exfiltration", at,
			userEvidence(victim, at, "compromised"),
			obj("@odata.type", "#microsoft.graph.security.ipEvidence", "createdDateTime", at, "verdict", "suspicious",
				"remediationStatus", "none", "roles", []string{"attacker"}, "ipAddress", AttackerIP, "countryLetterCode", "NL"))})

	ipEvidence := func(ip, country string, at time.Time) *sobj {
		return obj("@odata.type", "#microsoft.graph.security.ipEvidence", "createdDateTime", at, "verdict", "suspicious",
			"remediationStatus", "none", "remediationStatusDetails", nil, "roles", []string{}, "detailedRoles", []string{}, "tags", []string{},
			"ipAddress", ip, "countryLetterCode", country)
	}
	ipAt := t0.Add(40 * time.Minute)
	tr.IPIncidentID, tr.IPAlertID = "7"+strings.ReplaceAll(id("incident/ip")[:7], "-", ""), id("alert/ip")
	incident(tr.IPIncidentID, "Activity from an anonymous proxy IP address", "active", "medium", ipAt,
		[]*sobj{alert(tr.IPAlertID, tr.IPIncidentID, "Activity from anonymous IP addresses", "new", "medium", "InitialAccess", ipAt,
			ipEvidence(AttackerIP, "NL", ipAt))})
	devAt := t0.Add(-3 * 24 * time.Hour)
	tr.DeviceIncidentID, tr.DeviceAlertID = "6"+strings.ReplaceAll(id("incident/device")[:7], "-", ""), id("alert/device")
	incident(tr.DeviceIncidentID, "Suspicious PowerShell command line on one endpoint", "resolved", "low", devAt,
		[]*sobj{alert(tr.DeviceAlertID, tr.DeviceIncidentID, "Suspicious PowerShell command line", "resolved", "low", "Execution", devAt,
			obj("@odata.type", "#microsoft.graph.security.deviceEvidence", "createdDateTime", devAt, "verdict", "unknown",
				"remediationStatus", "none", "remediationStatusDetails", nil, "roles", []string{}, "detailedRoles", []string{}, "tags", []string{},
				"firstSeenDateTime", devAt.Add(-200*24*time.Hour), "mdeDeviceId", strings.ReplaceAll(id("mde/victim-laptop"), "-", ""),
				"azureAdDeviceId", victim.laptop.id, "deviceDnsName", strings.ToLower(victim.laptop.name)+".contoso.com", "osPlatform", "Windows11",
				"osBuild", 22631, "version", "23H2", "healthStatus", "active", "riskScore", "low", "onboardingStatus", "onboarded",
				"defenderAvStatus", "updated", "ipInterfaces", []string{victim.homeIP}, "loggedOnUsers", []any{}))})
	unrelAt := t0.Add(-2 * 24 * time.Hour)
	tr.UnrelatedIncidentID = "5" + strings.ReplaceAll(id("incident/unrelated")[:7], "-", "")
	incident(tr.UnrelatedIncidentID, "Password spray from one IP address", "resolved", "medium", unrelAt,
		[]*sobj{alert(id("alert/unrelated"), tr.UnrelatedIncidentID, "Password spray", "resolved", "medium", "CredentialAccess", unrelAt,
			ipEvidence("198.51.100.200", "US", unrelAt))})

	tr.RiskyServicePrincipalID = st.App.ServicePrincipalID
	s.riskySPs = []*sobj{obj("id", st.App.ServicePrincipalID, "appId", st.App.AppID, "displayName", st.App.Name,
		"isEnabled", true, "isProcessing", false, "riskLastUpdatedDateTime", t0.Add(3*time.Hour), "riskLevel", "high",
		"riskState", "atRisk", "riskDetail", "none", "servicePrincipalType", "Application")}
	tr.SPDetectionID = id("sp-detection/mailsync")
	s.spDetections = []*sobj{obj("id", tr.SPDetectionID, "requestId", id("sp-detection-request"), "correlationId", id("sp-detection-corr"),
		"riskEventType", "suspiciousSignins", "riskState", "atRisk", "riskLevel", "high", "riskDetail", "none", "source", "IdentityProtection",
		"detectionTimingType", "offline", "activity", "servicePrincipal", "ipAddress", AttackerIP,
		"location", obj("city", "Amsterdam", "state", "North Holland", "countryOrRegion", "NL"),
		"activityDateTime", t0.Add(2*time.Hour), "detectedDateTime", t0.Add(3*time.Hour), "lastUpdatedDateTime", t0.Add(3*time.Hour),
		"servicePrincipalId", st.App.ServicePrincipalID, "servicePrincipalDisplayName", st.App.Name, "appId", st.App.AppID,
		"keyIds", []string{}, "additionalInfo", nil)}
	return s
}

// routeSignals routes the signals endpoints; nil for any other path.
func (t *Tenant) routeSignals(segs []string, path string) *snapEndpoint {
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	n := len(segs)
	sig := func() *signalsData { return t.snapshot().signals }
	switch {
	case n == 2 && is(0, "identityProtection") && is(1, "riskyServicePrincipals"):
		return &snapEndpoint{perm: PermRiskySP, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "riskyServicePrincipal", context: "identityProtection/riskyServicePrincipals", objs: sig().riskySPs})
		}}
	case n == 2 && is(0, "identityProtection") && is(1, "servicePrincipalRiskDetections"):
		return &snapEndpoint{perm: PermRiskEvent, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "servicePrincipalRiskDetection", context: "identityProtection/servicePrincipalRiskDetections",
				objs: sig().spDetections})
		}}
	case n == 2 && is(0, "security") && is(1, "alerts_v2"):
		return &snapEndpoint{perm: PermAlert, defender: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "security.alert", context: "security/alerts_v2", objs: sig().alerts,
				filterFn: alertsFilter(sig().alerts)})
		}}
	case n == 2 && is(0, "security") && is(1, "incidents"):
		return &snapEndpoint{perm: PermIncident, defender: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "security.incident", context: "security/incidents",
				objs: sig().incidents, expand: "alerts", expanded: sig().incidentsX})
		}}
	}
	return nil
}

// alertsFilter answers the $filter alerts_v2 documents and the tool sends,
// lastUpdateDateTime ge an instant; any other filter is refused with 400 as
// the simulator cannot say what Graph would return for it.
func alertsFilter(all []*sobj) func(string) ([]*sobj, string, *gerr) {
	return func(f string) ([]*sobj, string, *gerr) {
		clauses, e := parseFilter(f)
		if e != nil {
			return nil, "", e
		}
		if len(clauses) != 1 || clauses[0].prop != "lastUpdateDateTime" || clauses[0].op != "ge" {
			return nil, "", badRequest("Invalid filter clause: the simulator serves alerts_v2 only with $filter=lastUpdateDateTime ge <DateTimeOffset>, not '%s'.", f)
		}
		lo, e := parseTimestamp("lastUpdateDateTime", clauses[0].val)
		if e != nil {
			return nil, "", e
		}
		var out []*sobj
		for _, o := range all {
			at, err := time.Parse(time.RFC3339Nano, o.str("lastUpdateDateTime"))
			if err == nil && toTicks(at.UTC()) >= lo {
				out = append(out, o)
			}
		}
		return out, "lastUpdateDateTime>=" + itoa(lo), nil
	}
}

// noDefender is the answer of a Defender XDR endpoint in a tenant without
// Microsoft Defender XDR. Graph's exact answer is not documented; the
// simulator answers 403 Forbidden with a message naming the missing
// onboarding, as Defender's services answer a tenant not onboarded.
func noDefender() *gerr {
	return &gerr{http.StatusForbidden, "Forbidden", "Tenant is not onboarded to Microsoft Defender XDR; the tenant needs a Microsoft Defender XDR licence."}
}
