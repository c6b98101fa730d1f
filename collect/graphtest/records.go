package graphtest

import (
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// rng is a tiny splitmix64 generator, one per generated record.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// uuid4 draws a random-looking (version 4) UUID string.
func (r *rng) uuid4() string {
	var u uuid.UUID
	a, b := r.next(), r.next()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// appInfo is a client application and the resource it signs in to.
type appInfo struct {
	name, id, resName, resID, client string
	rich                             bool // desktop or mobile client rather than browser
}

var (
	appExchange   = appInfo{"Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Browser", false}
	appTeams      = appInfo{"Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Graph", "00000003-0000-0000-c000-000000000000", "Mobile Apps and Desktop clients", true}
	appOfficeHome = appInfo{"OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", "Browser", false}
	appOffice     = appInfo{"Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Mobile Apps and Desktop clients", true}
)

// policy is one entry of appliedConditionalAccessPolicies.
type policy struct {
	id, name string
	grant    []string
	result   string
}

const (
	polMFAAdmins   = "5d2a8b1c-7f3e-4c6a-9e21-3b8f0c4d7a15"
	polBlockLegacy = "9b4e6f02-1c8d-4a37-b5e9-6d2f8a0c3e71"
	mfaAdminsName  = "Require MFA for administrators"
	blockLegacy    = "Block legacy authentication"
)

var (
	policiesNotApplied = []policy{
		{polMFAAdmins, mfaAdminsName, nil, "notApplied"},
		{polBlockLegacy, blockLegacy, nil, "notApplied"},
	}
	policiesAdminMFA = []policy{
		{polMFAAdmins, mfaAdminsName, []string{"Mfa"}, "success"},
		{polBlockLegacy, blockLegacy, nil, "notApplied"},
	}
)

// Sign-in failure used for background failures and the attacker's attempts.
const (
	errInvalidPassword     = 50126
	reasonInvalidPassword  = "Invalid username or password or Invalid on-premises username or password."
	detailsInvalidPassword = "The user didn't enter the right credentials. It's expected to see some number of these errors in your logs due to users making mistakes."
)

// risk is the risk assessment of a sign-in; nil means none.
type risk struct {
	detail, aggregated, during, state string
	events                            []string
}

var noRisk = risk{"none", "none", "none", "none", nil}

// signInRec is one sign-in (microsoft.graph.signIn) of any kind. User
// sign-ins have u; service principal and managed identity sign-ins have sp
// instead, and no user.
type signInRec struct {
	id        string
	tk        int64
	kind      string // interactiveUser, nonInteractiveUser, servicePrincipal, managedIdentity
	u         *person
	sp        *spApp
	app       *appInfo
	ip        string
	at        *place
	dev       *device
	browser   string
	corr      string
	errorCode int
	failure   string
	details   string
	caStatus  string
	policies  []policy
	risk      *risk
}

func (r *signInRec) tick() int64      { return r.tk }
func (r *signInRec) recordID() string { return r.id }

// signInFields are the properties of a v1.0 signIn, in Graph's order.
var signInFields = []string{"id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId",
	"appDisplayName", "ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus", "isInteractive",
	"riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "riskEventTypes", "riskEventTypes_v2",
	"resourceDisplayName", "resourceId", "status", "deviceDetail", "location", "appliedConditionalAccessPolicies"}

func (r *signInRec) appendJSON(w *jw, rc *renderCtx) {
	s := rc.sel
	w.open()
	if w.f(s, "id") {
		w.str(r.id)
	}
	if w.f(s, "createdDateTime") {
		w.ts(r.tk)
	}
	if r.u != nil {
		if w.f(s, "userDisplayName") {
			w.str(r.u.DisplayName)
		}
		if w.f(s, "userPrincipalName") {
			w.str(r.u.UPN)
		}
		if w.f(s, "userId") {
			w.str(r.u.ID)
		}
	} else {
		if w.f(s, "userDisplayName") {
			w.null()
		}
		if w.f(s, "userPrincipalName") {
			w.null()
		}
		if w.f(s, "userId") {
			w.str("")
		}
	}
	if w.f(s, "appId") {
		w.str(r.app.id)
	}
	if w.f(s, "appDisplayName") {
		w.str(r.app.name)
	}
	if w.f(s, "ipAddress") {
		w.str(r.ip)
	}
	if w.f(s, "clientAppUsed") {
		w.str(r.app.client)
	}
	if w.f(s, "correlationId") {
		w.str(r.corr)
	}
	if w.f(s, "conditionalAccessStatus") {
		w.str(r.caStatus)
	}
	if w.f(s, "isInteractive") {
		w.boolean(r.kind == kindInteractive || r.kind == "")
	}
	rk := r.risk
	if rk == nil {
		rk = &noRisk
	}
	var events []string
	detail, agg, during := rk.detail, rk.aggregated, rk.during
	if rc.hideRisk {
		detail, agg, during = "hidden", "hidden", "hidden"
	} else {
		events = rk.events
	}
	if w.f(s, "riskDetail") {
		w.str(detail)
	}
	if w.f(s, "riskLevelAggregated") {
		w.str(agg)
	}
	if w.f(s, "riskLevelDuringSignIn") {
		w.str(during)
	}
	if w.f(s, "riskState") {
		w.str(rk.state)
	}
	if w.f(s, "riskEventTypes") {
		w.strs(events)
	}
	if w.f(s, "riskEventTypes_v2") {
		w.strs(events)
	}
	if w.f(s, "resourceDisplayName") {
		w.str(r.app.resName)
	}
	if w.f(s, "resourceId") {
		w.str(r.app.resID)
	}
	if w.f(s, "status") {
		w.open()
		w.key("errorCode")
		w.int(int64(r.errorCode))
		w.key("failureReason")
		w.strN(r.failure)
		w.key("additionalDetails")
		w.strN(r.details)
		w.close()
	}
	if w.f(s, "deviceDetail") {
		d := r.dev
		w.open()
		w.key("deviceId")
		w.str(d.id)
		w.key("displayName")
		w.strN(d.name)
		w.key("operatingSystem")
		w.str(d.os)
		w.key("browser")
		w.str(r.browser)
		w.key("isCompliant")
		w.boolean(d.managed)
		w.key("isManaged")
		w.boolean(d.managed)
		w.key("trustType")
		w.strN(d.trust)
		w.close()
	}
	if w.f(s, "location") {
		p := r.at
		w.open()
		w.key("city")
		w.str(p.city)
		w.key("state")
		w.str(p.state)
		w.key("countryOrRegion")
		w.str(p.country)
		w.key("geoCoordinates")
		w.open()
		w.key("altitude")
		w.null()
		w.key("latitude")
		w.float(p.lat)
		w.key("longitude")
		w.float(p.lon)
		w.close()
		w.close()
	}
	if w.f(s, "appliedConditionalAccessPolicies") {
		w.openA()
		for _, p := range r.policies {
			w.open()
			w.key("id")
			w.str(p.id)
			w.key("displayName")
			w.str(p.name)
			w.key("enforcedGrantControls")
			w.strs(p.grant)
			w.key("enforcedSessionControls")
			w.strs(nil)
			w.key("result")
			w.str(p.result)
			w.close()
		}
		w.closeA()
	}
	if rc.beta {
		r.appendBeta(w, rc)
	}
	w.close()
}

// modProp is one modifiedProperties entry; empty old/new render as null.
type modProp struct{ name, old, new string }

// target is one targetResources entry.
type target struct {
	id, name, typ, upn, groupType string
	mods                          []modProp
}

// kv is one additionalDetails entry.
type kv struct{ key, value string }

// auditRec is one directory audit (microsoft.graph.directoryAudit).
type auditRec struct {
	id                                                      string
	tk                                                      int64
	category, corr, result, resultReason, activity, service string
	opType                                                  string
	init                                                    *person
	initIP                                                  string
	targets                                                 []target
	details                                                 []kv
}

func (r *auditRec) tick() int64      { return r.tk }
func (r *auditRec) recordID() string { return r.id }

// auditFields are the properties of a v1.0 directoryAudit, in Graph's order.
var auditFields = []string{"id", "category", "correlationId", "result", "resultReason", "activityDisplayName",
	"activityDateTime", "loggedByService", "operationType", "initiatedBy", "targetResources", "additionalDetails"}

func (r *auditRec) appendJSON(w *jw, rc *renderCtx) {
	s := rc.sel
	w.open()
	if w.f(s, "id") {
		w.str(r.id)
	}
	if w.f(s, "category") {
		w.str(r.category)
	}
	if w.f(s, "correlationId") {
		w.str(r.corr)
	}
	if w.f(s, "result") {
		w.str(r.result)
	}
	if w.f(s, "resultReason") {
		w.str(r.resultReason)
	}
	if w.f(s, "activityDisplayName") {
		w.str(r.activity)
	}
	if w.f(s, "activityDateTime") {
		w.ts(r.tk)
	}
	if w.f(s, "loggedByService") {
		w.str(r.service)
	}
	if w.f(s, "operationType") {
		w.str(r.opType)
	}
	if w.f(s, "initiatedBy") {
		w.open()
		w.key("app")
		w.null()
		w.key("user")
		if r.init == nil {
			w.null()
		} else {
			w.open()
			w.key("id")
			w.str(r.init.ID)
			w.key("displayName")
			w.str(r.init.DisplayName)
			w.key("userPrincipalName")
			w.str(r.init.UPN)
			w.key("ipAddress")
			w.str(r.initIP)
			w.key("userType")
			w.null()
			w.key("homeTenantId")
			w.str(rc.tenantID)
			w.key("homeTenantName")
			w.null()
			w.close()
		}
		w.close()
	}
	if w.f(s, "targetResources") {
		w.openA()
		for i := range r.targets {
			tr := &r.targets[i]
			w.open()
			w.key("id")
			w.str(tr.id)
			w.key("displayName")
			w.strN(tr.name)
			w.key("type")
			w.str(tr.typ)
			w.key("userPrincipalName")
			w.strN(tr.upn)
			w.key("groupType")
			w.strN(tr.groupType)
			w.key("modifiedProperties")
			w.openA()
			for _, m := range tr.mods {
				w.open()
				w.key("displayName")
				w.str(m.name)
				w.key("oldValue")
				w.strN(m.old)
				w.key("newValue")
				w.strN(m.new)
				w.close()
			}
			w.closeA()
			w.close()
		}
		w.closeA()
	}
	if w.f(s, "additionalDetails") {
		w.openA()
		for _, d := range r.details {
			w.open()
			w.key("key")
			w.str(d.key)
			w.key("value")
			w.str(d.value)
			w.close()
		}
		w.closeA()
	}
	w.close()
}

// targets the audit names, by id (user filter matching).
func (r *auditRec) targetsID(id string) bool {
	for i := range r.targets {
		if strings.EqualFold(r.targets[i].id, id) {
			return true
		}
	}
	return false
}

func userTarget(p *person, mods ...modProp) target {
	return target{id: p.ID, name: p.DisplayName, typ: "User", upn: p.UPN, mods: mods}
}

func groupTarget(g group) target {
	return target{id: g.id, name: g.name, typ: "Group", groupType: "unifiedGroups"}
}

// recordID derives the deterministic id of background record g of a stream.
func (t *Tenant) recordID(stream string, p *person, g int64) string {
	b := make([]byte, 0, 96)
	b = strconv.AppendInt(b, t.cfg.Seed, 10)
	b = append(b, '/')
	b = append(b, p.ID...)
	b = append(b, '/')
	b = append(b, stream...)
	b = append(b, '/')
	b = strconv.AppendInt(b, g, 10)
	return uuid.NewSHA1(t.ns, b).String()
}

// bgSignIns is the background user sign-in stream of one user and kind
// (interactive or non-interactive).
type bgSignIns struct {
	t    *Tenant
	u    *person
	kind string // kindInteractive or kindNonInteractive
	tl   timeline
	o    int64
}

func (s *bgSignIns) ord() int64           { return s.o }
func (s *bgSignIns) pos(t int64) int64    { return s.tl.pos(t) }
func (s *bgSignIns) tickAt(p int64) int64 { return s.tl.at(p) }
func (s *bgSignIns) id(g int64) string {
	if s.kind == kindNonInteractive {
		return s.t.recordID("signins.noninteractive", s.u, g)
	}
	return s.t.recordID("signins", s.u, g)
}

func (s *bgSignIns) rec(g int64) record {
	u := s.u
	r := rng{s: mix64(s.tl.key ^ uint64(g)*0x9e3779b97f4a7c15 ^ 0x5157)}
	rec := &signInRec{id: s.id(g), tk: s.tl.at(g), u: u, kind: s.kind}
	switch x := r.intn(100); {
	case x < 55:
		rec.ip, rec.at, rec.dev = u.officeIP, u.officeAt, &u.laptop
	case x < 88:
		rec.ip, rec.at, rec.dev = u.homeIP, u.homeAt, &u.laptop
		if r.intn(10) < 3 {
			rec.dev = &u.phone
		}
	default:
		rec.ip, rec.at, rec.dev = u.mobileIP, u.mobileAt, &u.phone
	}
	switch x := r.intn(100); {
	case x < 35:
		rec.app = &appExchange
	case x < 65:
		rec.app = &appTeams
	case x < 90:
		rec.app = &appOfficeHome
	default:
		rec.app = &appOffice
	}
	rec.browser = rec.dev.browser
	if rec.app.rich {
		rec.browser = "Rich Client 5.6.0"
	}
	rec.corr = r.uuid4()
	if r.intn(1000) < 30 {
		rec.errorCode, rec.failure, rec.details = errInvalidPassword, reasonInvalidPassword, detailsInvalidPassword
		rec.caStatus, rec.policies = "notApplied", policiesNotApplied
	} else if u.admin {
		rec.caStatus, rec.policies = "success", policiesAdminMFA
	} else {
		rec.caStatus, rec.policies = "notApplied", policiesNotApplied
	}
	return rec
}

// bgAudits is a background directory audit stream: either audits a user
// initiates on their own account (admin == false, init == subject), or
// audits the administrator initiates targeting subject.
type bgAudits struct {
	t             *Tenant
	init, subject *person
	admin         bool
	tl            timeline
	o             int64
}

func (s *bgAudits) ord() int64           { return s.o }
func (s *bgAudits) pos(t int64) int64    { return s.tl.pos(t) }
func (s *bgAudits) tickAt(p int64) int64 { return s.tl.at(p) }
func (s *bgAudits) id(g int64) string    { return s.t.recordID(s.stream(), s.subject, g) }

func (s *bgAudits) stream() string {
	if s.admin {
		return "audits.admin"
	}
	return "audits.self"
}

func (s *bgAudits) rec(g int64) record {
	u, t := s.subject, s.t
	r := rng{s: mix64(s.tl.key ^ uint64(g)*0x9e3779b97f4a7c15 ^ 0xa0d17)}
	rec := &auditRec{
		id: s.id(g), tk: s.tl.at(g), init: s.init,
		result: "success", opType: "Update", category: "UserManagement", service: "Core Directory",
	}
	rec.initIP = s.init.officeIP
	if r.intn(10) < 3 {
		rec.initIP = s.init.homeIP
	}
	rec.corr = r.uuid4()
	memberMods := func(gr group) []modProp {
		return []modProp{
			{"Group.ObjectID", "", `"` + gr.id + `"`},
			{"Group.DisplayName", "", `"` + gr.name + `"`},
		}
	}
	x := r.intn(100)
	switch {
	case !s.admin && x < 40, s.admin && x < 50:
		rec.activity = "Update user"
		if s.admin {
			rec.targets = []target{userTarget(u,
				modProp{"Department", "[]", `["` + u.office + `"]`},
				modProp{"Included Updated Properties", "", `"Department"`})}
		} else {
			rec.targets = []target{userTarget(u,
				modProp{"TelephoneNumber", `["` + u.mobile + `"]`, `["` + u.mobile + `"]`},
				modProp{"Included Updated Properties", "", `"TelephoneNumber"`})}
		}
		rec.details = []kv{{"UserType", "Member"}}
	case !s.admin && x < 65:
		rec.activity = "Change user password"
		rec.targets = []target{userTarget(u)}
		rec.details = []kv{{"UserType", "Member"}}
	case !s.admin && x < 85, s.admin && x < 85:
		gr := t.groups[r.intn(len(t.groups))]
		rec.activity, rec.category, rec.opType = "Add member to group", "GroupManagement", "Assign"
		rec.targets = []target{groupTarget(gr), userTarget(u, memberMods(gr)...)}
	case s.admin:
		gr := t.groups[r.intn(len(t.groups))]
		rec.activity, rec.category, rec.opType = "Remove member from group", "GroupManagement", "Unassign"
		rec.targets = []target{groupTarget(gr), userTarget(u, memberMods(gr)...)}
	default:
		rec.activity, rec.service = "User changed default security info", "Authentication Methods"
		rec.resultReason = "User changed default security info"
		rec.targets = []target{userTarget(u)}
	}
	return rec
}
