package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Sign-in event types (beta signIn.signInEventTypes), one per Entra admin
// center tab.
const (
	kindInteractive    = "interactiveUser"
	kindNonInteractive = "nonInteractiveUser"
	kindSP             = "servicePrincipal"
	kindMI             = "managedIdentity"
)

var signInKinds = []string{kindInteractive, kindNonInteractive, kindSP, kindMI}

// spApp is an application's service principal (or a managed identity) in
// the tenant: what service principal and managed identity sign-ins name.
type spApp struct {
	idx         int
	name        string
	appID       string // application (client) id
	spID        string // the service principal's object id
	objID       string // the application object's id (owned apps only)
	typ         string // servicePrincipalType: Application or ManagedIdentity
	homeTenant  string
	owner       *person   // owner of the application object, if any
	consentedBy []*person // users with a delegated permission grant to the app
	grantScope  string
	ip          string
	at          *place
	msiType     string // managed identities: systemAssigned or userAssigned
	resourceID  string // managed identities: the associated ARM resource
	story       bool   // sign-ins come from the story only
}

// App returns what a collector learns about an app through
// /users/{id}/oauth2PermissionGrants, /users/{id}/ownedObjects and
// /servicePrincipals/{id}.
func (a *spApp) App() TenantApp {
	return TenantApp{Name: a.name, AppID: a.appID, ServicePrincipalID: a.spID, Type: a.typ}
}

// TenantApp is an application or managed identity of the simulated tenant.
type TenantApp struct {
	Name               string
	AppID              string
	ServicePrincipalID string
	Type               string // Application or ManagedIdentity
}

// buildApps creates the tenant's service principals: an internal app owned
// by the administrator, the attacker's multi-tenant app the victim consents
// to (signing in only in the story), and a managed identity.
func (t *Tenant) buildApps() {
	id := func(s string) string { return uuid.NewSHA1(t.ns, []byte(s)).String() }
	victim, admin := t.users[0], t.users[1]
	t.apps = []*spApp{
		{name: "Contoso HR Sync", appID: id("app/Contoso HR Sync"), spID: id("sp/Contoso HR Sync"), objID: id("appobj/Contoso HR Sync"),
			typ: "Application", homeTenant: t.tenantID, owner: admin, ip: "198.51.100.40", at: &plSeattle},
		{name: maliciousAppName, appID: id("app/" + maliciousAppName), spID: id("sp/" + maliciousAppName),
			typ: "Application", homeTenant: id("tenant/attacker"), consentedBy: []*person{victim},
			grantScope: "Mail.Send Mail.ReadWrite offline_access User.Read", ip: AttackerIP, at: &plAmsterdam, story: true},
		{name: "contoso-func-prod", appID: id("app/contoso-func-prod"), spID: id("sp/contoso-func-prod"),
			typ: "ManagedIdentity", homeTenant: t.tenantID, ip: "20.190.151.9", at: &plRedmond, msiType: "systemAssigned",
			resourceID: "/subscriptions/" + id("subscription") + "/resourceGroups/prod/providers/Microsoft.Web/sites/contoso-func-prod"},
	}
	for i, a := range t.apps {
		a.idx = i
	}
}

// appByID finds a service principal by its object id.
func (t *Tenant) appByID(spID string) *spApp {
	for _, a := range t.apps {
		if strings.EqualFold(a.spID, spID) {
			return a
		}
	}
	return nil
}

// Apps returns the tenant's applications and managed identities.
func (t *Tenant) Apps() []TenantApp {
	out := make([]TenantApp, len(t.apps))
	for i, a := range t.apps {
		out[i] = a.App()
	}
	return out
}

// UserApps returns the apps a user owns or has consented to, as the
// collectors discover them.
//
// The answer follows what the tenant serves: the client service principals
// of the user's consent grants and the applications and service principals
// the user owns, from the one model that serves /users/{id}/
// oauth2PermissionGrants and /users/{id}/ownedObjects (the persistence
// snapshot's), matched to the apps that have sign-in streams.
func (t *Tenant) UserApps(userID string) []TenantApp {
	ids := map[string]bool{}
	if us := t.snapshot().users[strings.ToLower(userID)]; us != nil {
		for _, g := range us.grants {
			ids[strings.ToLower(jsonString(g.vals["clientId"]))] = true
		}
		for _, o := range us.ownedObjs {
			ids[strings.ToLower(jsonString(o.vals["appId"]))] = true
			ids[strings.ToLower(jsonString(o.vals["id"]))] = true
		}
	}
	var out []TenantApp
	for _, a := range t.apps {
		if ids[strings.ToLower(a.spID)] || ids[strings.ToLower(a.appID)] {
			out = append(out, a.App())
		}
	}
	return out
}

// jsonString decodes a JSON string value ("" for anything else).
func jsonString(b []byte) string {
	var v string
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v
}

// bgAppSignIns is the background service principal or managed identity
// sign-in stream of one app.
type bgAppSignIns struct {
	t  *Tenant
	a  *spApp
	tl timeline
	o  int64
}

func (s *bgAppSignIns) ord() int64           { return s.o }
func (s *bgAppSignIns) pos(t int64) int64    { return s.tl.pos(t) }
func (s *bgAppSignIns) tickAt(p int64) int64 { return s.tl.at(p) }
func (s *bgAppSignIns) id(g int64) string {
	return uuid.NewSHA1(s.t.ns, []byte("signins.app/"+s.a.spID+"/"+itoa(g))).String()
}

func (s *bgAppSignIns) kind() string {
	if s.a.typ == "ManagedIdentity" {
		return kindMI
	}
	return kindSP
}

func (s *bgAppSignIns) rec(g int64) record {
	r := rng{s: mix64(s.tl.key ^ uint64(g)*0x9e3779b97f4a7c15 ^ 0x5b1)}
	rec := &signInRec{id: s.id(g), tk: s.tl.at(g), kind: s.kind(), sp: s.a, ip: s.a.ip, at: s.a.at,
		dev: &device{}, app: &appInfo{name: s.a.name, id: s.a.appID, resName: "Microsoft Graph", resID: "00000003-0000-0000-c000-000000000000"},
		caStatus: "notApplied"}
	if r.intn(3) == 0 {
		rec.app.resName, rec.app.resID = "Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
	}
	rec.corr = r.uuid4()
	return rec
}

// appendBeta writes the beta-only properties of a sign-in.
func (r *signInRec) appendBeta(w *jw, rc *renderCtx) {
	s := rc.sel
	kind := r.kind
	if kind == "" {
		kind = kindInteractive
	}
	if w.f(s, "signInEventTypes") {
		w.strs([]string{kind})
	}
	spID, spName := "", ""
	if r.sp != nil {
		spID, spName = r.sp.spID, r.sp.name
	}
	if w.f(s, "servicePrincipalId") {
		w.str(spID)
	}
	if w.f(s, "servicePrincipalName") {
		w.strN(spName)
	}
	if w.f(s, "userType") {
		if r.u != nil {
			w.str("member")
		} else {
			w.null()
		}
	}
	if w.f(s, "userAgent") {
		switch {
		case r.u == nil:
			w.str("")
		case r.dev == &attackerDevice:
			w.str(attackerUA)
		default:
			w.str("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0")
		}
	}
	if w.f(s, "incomingTokenType") {
		switch kind {
		case kindNonInteractive:
			w.str("refreshToken")
		default:
			w.str("none")
		}
	}
	if w.f(s, "authenticationDetails") {
		r.appendAuthDetails(w, kind)
	}
	if w.f(s, "authenticationProtocol") {
		w.str("none")
	}
	if w.f(s, "sessionId") {
		if r.u != nil {
			w.str(uuid.NewSHA1(uuid.NameSpaceOID, []byte("session/"+r.u.ID+"/"+r.corr)).String())
		} else {
			w.str("")
		}
	}
	if w.f(s, "uniqueTokenIdentifier") {
		w.str(strings.TrimRight(base64.RawURLEncoding.EncodeToString([]byte(r.id)), "="))
	}
	if w.f(s, "authenticationRequirement") {
		if r.u != nil && r.u.admin && kind == kindInteractive {
			w.str("multiFactorAuthentication")
		} else {
			w.str("singleFactorAuthentication")
		}
	}
	if w.f(s, "homeTenantId") {
		if r.sp != nil {
			w.str(r.sp.homeTenant)
		} else {
			w.str(rc.tenantID)
		}
	}
	if w.f(s, "resourceTenantId") {
		w.str(rc.tenantID)
	}
	if w.f(s, "managedServiceIdentity") {
		w.open()
		w.key("msiType")
		if r.sp != nil && r.sp.msiType != "" {
			w.str(r.sp.msiType)
			w.key("associatedResourceId")
			w.str(r.sp.resourceID)
		} else {
			w.str("none")
			w.key("associatedResourceId")
			w.null()
		}
		w.key("federatedTokenId")
		w.null()
		w.key("federatedTokenIssuer")
		w.null()
		w.close()
	}
}

// betaSignInFields are the properties of a beta signIn the simulator
// renders: the v1.0 set plus the beta-only ones.
var betaSignInFields = append(append([]string(nil), signInFields...),
	"signInEventTypes", "servicePrincipalId", "servicePrincipalName", "userType", "userAgent", "incomingTokenType",
	"authenticationDetails", "authenticationProtocol", "sessionId", "uniqueTokenIdentifier",
	"authenticationRequirement", "homeTenantId", "resourceTenantId", "managedServiceIdentity")

// buildKindStory adds the story's non-interactive, service principal and
// managed identity sign-ins: the attacker's app refreshing the victim's
// tokens and signing in as itself from the attacker's address after the
// consent, and one record of each kind exactly on a UTC midnight.
func (t *Tenant) buildKindStory(st *Story) (nonInt, sp, mi []record) {
	victim := t.users[0]
	sid := func(name string) string { return uuid.NewSHA1(t.ns, []byte("story/"+name)).String() }
	corr := func(name string) string { return uuid.NewSHA1(t.ns, []byte("story-correlation/"+name)).String() }
	a := t.anchor.Truncate(time.Second)
	t0 := a.Add(-5 * 24 * time.Hour)
	day := a.Truncate(24 * time.Hour)
	mal, mid := t.apps[1], t.apps[2]
	malApp := &appInfo{name: mal.name, id: mal.appID, resName: "Microsoft Graph", resID: "00000003-0000-0000-c000-000000000000", client: "Mobile Apps and Desktop clients", rich: true}
	avoid := func(at, edge time.Time) time.Time { // never land on the midnight edge record's instant
		if at.Equal(edge) {
			return at.Add(time.Second)
		}
		return at
	}
	ev := func(r record, activity, ip string) Event {
		return Event{ID: r.recordID(), Time: fromTicks(r.tick()), Activity: activity, IPAddress: ip}
	}

	niMid := day.Add(-4 * 24 * time.Hour)
	for i := 0; i < 6; i++ {
		name := "signin/noninteractive/" + itoa(int64(i))
		at := avoid(t0.Add(6*time.Minute+30*time.Second+time.Duration(i)*2*time.Hour), niMid)
		r := &signInRec{id: sid(name), tk: toTicks(at), kind: kindNonInteractive, u: victim, app: malApp, ip: AttackerIP,
			at: &plAmsterdam, dev: &attackerDevice, browser: attackerDevice.browser, corr: corr(name),
			caStatus: "notApplied", policies: policiesNotApplied}
		nonInt = append(nonInt, r)
		st.NonInteractiveSignIns = append(st.NonInteractiveSignIns, ev(r, "Non-interactive sign-in (Mail Sync Pro)", AttackerIP))
	}
	m := &signInRec{id: sid("signin/noninteractive/midnight"), tk: toTicks(niMid), kind: kindNonInteractive, u: victim,
		app: &appTeams, ip: victim.homeIP, at: victim.homeAt, dev: &victim.laptop, browser: "Rich Client 5.6.0",
		corr: corr("signin/noninteractive/midnight"), caStatus: "notApplied", policies: policiesNotApplied}
	nonInt = append(nonInt, m)
	st.MidnightNonInteractive = ev(m, "Non-interactive sign-in", m.ip)

	spMid := day.Add(-1 * 24 * time.Hour)
	for i := 0; i < 4; i++ {
		name := "signin/serviceprincipal/" + itoa(int64(i))
		at := avoid(t0.Add(20*time.Minute+time.Duration(i)*26*time.Hour), spMid)
		r := &signInRec{id: sid(name), tk: toTicks(at), kind: kindSP, sp: mal, app: malApp, ip: AttackerIP,
			at: &plAmsterdam, dev: &device{}, corr: corr(name), caStatus: "notApplied"}
		sp = append(sp, r)
		st.ServicePrincipalSignIns = append(st.ServicePrincipalSignIns, ev(r, "Service principal sign-in (Mail Sync Pro)", AttackerIP))
	}
	spm := &signInRec{id: sid("signin/serviceprincipal/midnight"), tk: toTicks(spMid), kind: kindSP, sp: mal, app: malApp,
		ip: AttackerIP, at: &plAmsterdam, dev: &device{}, corr: corr("signin/serviceprincipal/midnight"), caStatus: "notApplied"}
	sp = append(sp, spm)
	st.MidnightServicePrincipal = ev(spm, "Service principal sign-in (Mail Sync Pro)", AttackerIP)

	mim := &signInRec{id: sid("signin/managedidentity/midnight"), tk: toTicks(day.Add(-2 * 24 * time.Hour)), kind: kindMI, sp: mid,
		app: &appInfo{name: mid.name, id: mid.appID, resName: "Azure Key Vault", resID: "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"},
		ip:  mid.ip, at: mid.at, dev: &device{}, corr: corr("signin/managedidentity/midnight"), caStatus: "notApplied"}
	mi = append(mi, mim)
	st.MidnightManagedIdentity = ev(mim, "Managed identity sign-in", mid.ip)
	return nonInt, sp, mi
}

// handleOwnedObjects serves /users/{id}/ownedObjects: the application
// objects the user owns.
func (t *Tenant) handleOwnedObjects(rc *reqCtx, key string) ([]byte, bool, *gerr) {
	if _, e := parseParams(rc.r.URL.RawQuery, "$select", "$top"); e != nil {
		return nil, false, e
	}
	u := t.lookup(key)
	if u == nil {
		return nil, false, notFoundUser(key)
	}
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#directoryObjects")
	w.key("value")
	w.openA()
	for _, a := range t.apps {
		if a.owner != u {
			continue
		}
		w.open()
		w.key("@odata.type")
		w.str("#microsoft.graph.application")
		w.key("id")
		w.str(a.objID)
		w.key("appId")
		w.str(a.appID)
		w.key("displayName")
		w.str(a.name)
		w.close()
	}
	w.closeA()
	w.close()
	return w.b, true, nil
}

// handleServicePrincipal serves /servicePrincipals/{id}.
func (t *Tenant) handleServicePrincipal(rc *reqCtx, key string) ([]byte, bool, *gerr) {
	if _, e := parseParams(rc.r.URL.RawQuery, "$select"); e != nil {
		return nil, false, e
	}
	a := t.appByID(key)
	if a == nil {
		return nil, false, &gerr{http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
	}
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#servicePrincipals/$entity")
	w.key("id")
	w.str(a.spID)
	w.key("appId")
	w.str(a.appID)
	w.key("displayName")
	w.str(a.name)
	w.key("servicePrincipalType")
	w.str(a.typ)
	w.key("appOwnerOrganizationId")
	w.str(a.homeTenant)
	w.close()
	return w.b, false, nil
}

func notFoundUser(key string) *gerr {
	return &gerr{http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
}

// appendAuthDetails writes beta's authenticationDetails: how each step of a
// user's sign-in was satisfied. Interactive sign-ins show the password step
// (and, for the administrator, the MFA step); non-interactive ones show the
// requirement satisfied by a claim in the refresh token; app sign-ins none.
func (r *signInRec) appendAuthDetails(w *jw, kind string) {
	w.openA()
	step := func(method, detail string, ok bool, result, requirement string) {
		w.open()
		w.key("authenticationStepDateTime")
		w.ts(r.tk)
		w.key("authenticationMethod")
		w.str(method)
		w.key("authenticationMethodDetail")
		w.strN(detail)
		w.key("succeeded")
		w.boolean(ok)
		w.key("authenticationStepResultDetail")
		w.str(result)
		w.key("authenticationStepRequirement")
		w.str(requirement)
		w.close()
	}
	switch {
	case r.u == nil:
	case kind == kindNonInteractive:
		step("Previously satisfied", "", true, "First factor requirement satisfied by claim in the token", "Primary authentication")
	case r.errorCode != 0:
		step("Password", "Password in the cloud", false, "Invalid username or password or Invalid on-premise username or password.", "Primary authentication")
	default:
		step("Password", "Password in the cloud", true, "Correct password", "Primary authentication")
		if r.u.admin {
			step("Mobile app notification", "", true, "MFA successfully completed", "Multifactor authentication")
		}
	}
	w.closeA()
}
