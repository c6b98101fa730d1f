package graphtest

import (
	"sort"
	"time"

	"github.com/google/uuid"
)

// Event is one seeded record of the compromise story.
type Event struct {
	ID        string    // the record's id, as served
	Time      time.Time // createdDateTime or activityDateTime, UTC
	Activity  string    // activityDisplayName for audits; "Sign-in failure 50126" or "Sign-in success" for sign-ins
	IPAddress string    // ipAddress, or initiatedBy.user.ipAddress
}

// App is the application the attacker makes the victim consent to.
type App struct {
	Name               string   // "Mail Sync Pro"
	AppID              string   // application (client) id
	ServicePrincipalID string   // the id in targetResources
	Permissions        []string // delegated scopes granted: Mail.Send, Mail.ReadWrite, offline_access, User.Read
}

// InboxRule is the mailbox rule the attacker creates; the unified audit log
// serves its New-InboxRule and Set-InboxRule records (Tenant.UALStory).
type InboxRule struct {
	ID        string
	Name      string // "."
	ForwardTo string // "attacker@protonmail.example"
	Time      time.Time
	ClientIP  string
}

// Story is the seeded compromise of the victim. All times are fixed offsets
// from the tenant's initial Now (A, truncated to the second), with
// T0 = A - 5 days and D = A truncated to the UTC day:
//
//	T0+0s, +17s, +41s   3 failed interactive sign-ins (50126) from AttackerIP, app OfficeHome
//	T0+1m32s            successful sign-in from AttackerIP, OfficeHome, Linux/Firefox, risky on P2
//	T0+4m10.1234567s    audit "User registered security info" (Authentication Methods), by the victim from AttackerIP
//	T0+6m3s             audit "Consent to application" to "Mail Sync Pro" (Mail.Send, Mail.ReadWrite, ...)
//	T0+6m3.25s          audit "Add app role assignment grant to user"
//	T0+12m              inbox rule "." forwarding to attacker@protonmail.example (unified audit log)
//	T0+1d3h17m29s       audit "Reset user password" of the victim, initiated by the admin (alice)
//	D-2d 00:00:00       a benign victim sign-in exactly at UTC midnight
//	D-3d 00:00:00       a benign victim-initiated "Update user" audit exactly at UTC midnight
//
// (Should the password reset land on the midnight audit's instant, it moves
// one second later.)
type Story struct {
	Victim            User
	Admin             User // initiator of PasswordReset
	AttackerIP        string
	AttackerCity      string // "Amsterdam"
	AttackerCountry   string // "NL"
	AttackerUserAgent string
	App               App
	FailedSignIns     []Event // oldest first
	SuccessfulSignIn  Event
	MFARegistered     Event
	Consent           Event
	AppRoleGrant      Event
	PasswordReset     Event
	MidnightSignIn    Event
	MidnightAudit     Event
	InboxRule         InboxRule
	Mail              MailBurst // the attacker's mail, as message trace shows it

	// Beta sign-in kinds: the attacker's app using the victim's refresh
	// token (non-interactive) and signing in as itself (service principal),
	// and one record of each kind exactly at a UTC midnight (D-4d
	// non-interactive, D-1d service principal, D-2d managed identity).
	NonInteractiveSignIns    []Event // oldest first
	ServicePrincipalSignIns  []Event // oldest first
	MidnightNonInteractive   Event
	MidnightServicePrincipal Event
	MidnightManagedIdentity  Event
}

func (s Story) clone() Story {
	s.Victim = s.Victim.clone()
	s.Admin = s.Admin.clone()
	s.App.Permissions = append([]string(nil), s.App.Permissions...)
	s.FailedSignIns = append([]Event(nil), s.FailedSignIns...)
	s.Mail = s.Mail.clone()
	s.NonInteractiveSignIns = append([]Event(nil), s.NonInteractiveSignIns...)
	s.ServicePrincipalSignIns = append([]Event(nil), s.ServicePrincipalSignIns...)
	return s
}

// Story constants.
const (
	AttackerIP         = "185.220.101.47"
	attackerUA         = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"
	maliciousAppName   = "Mail Sync Pro"
	inboxRuleForwardTo = "attacker@protonmail.example"
)

var attackerDevice = device{os: "Linux", browser: "Firefox 115.0"}

var attackerRisk = risk{
	detail: "none", aggregated: "medium", during: "medium", state: "atRisk",
	events: []string{"anonymizedIPAddress", "unfamiliarFeatures"},
}

// buildStory creates the story's records, sorted by time, and its summary.
func (t *Tenant) buildStory() ([]record, []record, Story) {
	victim, admin := t.users[0], t.users[1]
	sid := func(name string) string { return uuid.NewSHA1(t.ns, []byte("story/"+name)).String() }
	corr := func(name string) string { return uuid.NewSHA1(t.ns, []byte("story-correlation/"+name)).String() }
	a := t.anchor.Truncate(time.Second)
	t0 := a.Add(-5 * 24 * time.Hour)
	day := a.Truncate(24 * time.Hour)
	app := App{
		Name:               maliciousAppName,
		AppID:              uuid.NewSHA1(t.ns, []byte("app/"+maliciousAppName)).String(),
		ServicePrincipalID: uuid.NewSHA1(t.ns, []byte("sp/"+maliciousAppName)).String(),
		Permissions:        []string{"Mail.Send", "Mail.ReadWrite", "offline_access", "User.Read"},
	}
	graphSP := uuid.NewSHA1(t.ns, []byte("sp/Microsoft Graph")).String()

	st := Story{
		Victim: victim.User.clone(), Admin: admin.User.clone(),
		AttackerIP: AttackerIP, AttackerCity: plAmsterdam.city, AttackerCountry: plAmsterdam.country,
		AttackerUserAgent: attackerUA, App: app,
	}
	ev := func(r record, activity, ip string) Event {
		return Event{ID: r.recordID(), Time: fromTicks(r.tick()), Activity: activity, IPAddress: ip}
	}

	// Sign-ins.
	var signIns []record
	attempt := func(name string, at time.Time, ok bool) *signInRec {
		r := &signInRec{
			id: sid(name), tk: toTicks(at), u: victim, app: &appOfficeHome, ip: AttackerIP, at: &plAmsterdam,
			dev: &attackerDevice, browser: attackerDevice.browser, corr: corr(name),
			caStatus: "notApplied", policies: policiesNotApplied,
		}
		if ok {
			r.risk = &attackerRisk
		} else {
			r.errorCode, r.failure, r.details = errInvalidPassword, reasonInvalidPassword, detailsInvalidPassword
		}
		signIns = append(signIns, r)
		return r
	}
	for i, off := range []time.Duration{0, 17 * time.Second, 41 * time.Second} {
		r := attempt("signin/failed/"+string(rune('1'+i)), t0.Add(off), false)
		st.FailedSignIns = append(st.FailedSignIns, ev(r, "Sign-in failure 50126", AttackerIP))
	}
	st.SuccessfulSignIn = ev(attempt("signin/success", t0.Add(92*time.Second), true), "Sign-in success", AttackerIP)
	mid := &signInRec{
		id: sid("signin/midnight"), tk: toTicks(day.Add(-2 * 24 * time.Hour)), u: victim, app: &appTeams,
		ip: victim.homeIP, at: victim.homeAt, dev: &victim.laptop, browser: "Rich Client 5.6.0",
		corr: corr("signin/midnight"), caStatus: "notApplied", policies: policiesNotApplied,
	}
	signIns = append(signIns, mid)
	st.MidnightSignIn = ev(mid, "Sign-in success", mid.ip)

	// Directory audits.
	var audits []record
	add := func(r *auditRec) *auditRec {
		r.result = "success"
		audits = append(audits, r)
		return r
	}
	mfa := add(&auditRec{
		id: sid("audit/mfa"), tk: toTicks(t0.Add(4*time.Minute + 10*time.Second + 1234567*tickDur)),
		category: "UserManagement", corr: corr("audit/mfa"),
		resultReason: "User registered Authenticator App with Notification and Code",
		activity:     "User registered security info", service: "Authentication Methods", opType: "Add",
		init: victim, initIP: AttackerIP,
		targets: []target{userTarget(victim)},
	})
	st.MFARegistered = ev(mfa, mfa.activity, AttackerIP)
	consentCorr := corr("audit/consent")
	consent := add(&auditRec{
		id: sid("audit/consent"), tk: toTicks(t0.Add(6*time.Minute + 3*time.Second)),
		category: "ApplicationManagement", corr: consentCorr,
		activity: "Consent to application", service: "Core Directory", opType: "Assign",
		init: victim, initIP: AttackerIP,
		targets: []target{{
			id: app.ServicePrincipalID, name: app.Name, typ: "ServicePrincipal",
			mods: []modProp{
				{"ConsentContext.IsAdminConsent", "", `"False"`},
				{"ConsentContext.IsAppOnly", "", `"False"`},
				{"ConsentContext.OnBehalfOfAll", "", `"False"`},
				{"ConsentContext.Tags", "", `"WindowsAzureActiveDirectoryIntegratedApp"`},
				{"ConsentAction.Permissions", "", `"[] => [[Id: ` + sid("grant") + `, ClientId: ` + app.ServicePrincipalID +
					`, PrincipalId: ` + victim.ID + `, ResourceId: ` + graphSP +
					`, ConsentType: Principal, Scope: Mail.Send Mail.ReadWrite offline_access User.Read, CreatedDateTime: , LastModifiedDateTime ]]; "`},
				{"TargetId.ServicePrincipalNames", "", `"` + app.AppID + `"`},
			},
		}},
		details: []kv{{"User-Agent", attackerUA}, {"AppId", app.AppID}},
	})
	st.Consent = ev(consent, consent.activity, AttackerIP)
	grant := add(&auditRec{
		id: sid("audit/approle"), tk: toTicks(t0.Add(6*time.Minute + 3250*time.Millisecond)),
		category: "ApplicationManagement", corr: consentCorr,
		activity: "Add app role assignment grant to user", service: "Core Directory", opType: "Assign",
		init: victim, initIP: AttackerIP,
		targets: []target{
			{
				id: app.ServicePrincipalID, name: app.Name, typ: "ServicePrincipal",
				mods: []modProp{
					{"AppRole.Id", "", `"00000000-0000-0000-0000-000000000000"`},
					{"AppRole.Value", "", ""},
					{"User.ObjectID", "", `"` + victim.ID + `"`},
					{"User.UPN", "", `"` + victim.UPN + `"`},
				},
			},
			userTarget(victim),
		},
		details: []kv{{"User-Agent", attackerUA}},
	})
	st.AppRoleGrant = ev(grant, grant.activity, AttackerIP)
	midAudit := add(&auditRec{
		id: sid("audit/midnight"), tk: toTicks(day.Add(-3 * 24 * time.Hour)),
		category: "UserManagement", corr: corr("audit/midnight"),
		activity: "Update user", service: "Core Directory", opType: "Update",
		init: victim, initIP: victim.homeIP,
		targets: []target{userTarget(victim,
			modProp{"TelephoneNumber", `["` + victim.mobile + `"]`, `["` + victim.mobile + `"]`},
			modProp{"Included Updated Properties", "", `"TelephoneNumber"`})},
		details: []kv{{"UserType", "Member"}},
	})
	st.MidnightAudit = ev(midAudit, midAudit.activity, midAudit.initIP)
	resetAt := toTicks(t0.Add(27*time.Hour + 17*time.Minute + 29*time.Second))
	if resetAt == midAudit.tk {
		resetAt += ticksPerSecond
	}
	reset := add(&auditRec{
		id: sid("audit/reset"), tk: resetAt,
		category: "UserManagement", corr: corr("audit/reset"),
		activity: "Reset user password", service: "Core Directory", opType: "Update",
		init: admin, initIP: admin.officeIP,
		targets: []target{userTarget(victim)},
		details: []kv{{"UserType", "Member"}},
	})
	st.PasswordReset = ev(reset, reset.activity, admin.officeIP)
	// The administrator rotates the client secret of the app she owns
	// (Contoso HR Sync): what an app-only lookup finds her apps by.
	if hr := t.apps[0]; hr.owner == admin && hr.objID != "" {
		add(&auditRec{
			id: sid("audit/hr-secret"), tk: toTicks(t0.Add(-2*24*time.Hour + 9*time.Hour + 41*time.Minute + 7*time.Second)),
			category: "ApplicationManagement", corr: corr("audit/hr-secret"),
			activity: "Update application – Certificates and secrets management ", service: "Core Directory", opType: "Update",
			init: admin, initIP: admin.officeIP,
			targets: []target{{id: hr.objID, name: hr.name, typ: "Application", mods: []modProp{
				{"KeyDescription", "[]", `"[\"[KeyIdentifier=` + sid("hr-secret-key") + `,KeyType=Password,KeyUsage=Verify,DisplayName=rotation]\"]"`},
				{"Included Updated Properties", "", `"KeyDescription"`},
			}}},
		})
	}

	st.InboxRule = InboxRule{
		ID: sid("inboxrule"), Name: ".", ForwardTo: inboxRuleForwardTo,
		Time: t0.Add(12 * time.Minute), ClientIP: AttackerIP,
	}

	byTick := func(rs []record) {
		sort.Slice(rs, func(i, j int) bool { return rs[i].tick() < rs[j].tick() })
	}
	byTick(signIns)
	byTick(audits)
	return signIns, audits, st
}
