package tenant

import (
	"fmt"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Finding kinds of the tenant source (tenant/findings.json, format
// snapshot.FindingsFormat). App credentials share the snapshot's kind.
const (
	KindFederatedDomain   = "domain-federated"
	KindCADisabled        = "ca-policy-disabled"
	KindCAReportOnly      = "ca-policy-report-only"
	KindCAExcludesSubject = "ca-policy-excludes-subject"
	KindRoleToSubject     = "role-assigned-to-subject"
	KindRoleToApp         = "role-assigned-to-app"
	KindEligibleInWindow  = "role-eligibility-created-in-window"
	KindAppCredential     = snapshot.KindAppCredential
	KindConsentAnyApp     = "users-may-consent-to-any-app"
)

// legacyConsentPolicy is the permission grant policy that lets users
// consent to any app for permissions that need no admin consent
// (Microsoft's "Allow user consent for apps"); the recommended setting is
// microsoft-user-default-low (verified publishers, low-impact permissions).
const legacyConsentPolicy = "microsoft-user-default-legacy"

type findings struct {
	w       collect.Window
	subject map[string]collect.User // by lower-case object id
	byKey   map[string]*snapshot.Finding
	order   []string
	not     []snapshot.NotChecked
}

func newFindings(job collect.Job) *findings {
	f := &findings{w: job.Window, subject: map[string]collect.User{}, byKey: map[string]*snapshot.Finding{}}
	for _, u := range job.Users {
		f.subject[strings.ToLower(u.ID)] = u
	}
	return f
}

func (f *findings) add(n snapshot.Finding, p snapshot.Pointer) {
	key := n.Kind + "\x00" + strings.ToLower(n.ObjectID) + "\x00" + n.Credential + "\x00" + n.UserID
	if old := f.byKey[key]; old != nil {
		old.Evidence = append(old.Evidence, p)
		return
	}
	n.Evidence = []snapshot.Pointer{p}
	f.byKey[key] = &n
	f.order = append(f.order, key)
}

func (f *findings) notChecked(check, reason string) {
	f.not = append(f.not, snapshot.NotChecked{Check: "tenant " + check, Scope: "tenant", Reason: reason})
}

func (f *findings) inWindow(v gjson.Result) (time.Time, bool) { return snapshot.InWindow(f.w, v) }

func name(rec gjson.Result) string {
	if s := rec.Get("displayName").String(); s != "" {
		return s
	}
	return rec.Get("id").String()
}

// policy flags a conditional access policy that is off, only reports, or
// leaves a subject of the collection out.
func (f *findings) policy(p snapshot.Pointer, rec gjson.Result) {
	id, n := rec.Get("id").String(), name(rec)
	mod := ""
	if t, err := time.Parse(time.RFC3339Nano, rec.Get("modifiedDateTime").String()); err == nil {
		mod = collect.FormatTime(t)
	}
	switch rec.Get("state").String() {
	case "disabled":
		f.add(snapshot.Finding{Kind: KindCADisabled, Severity: "medium", Object: n, ObjectID: id, Time: mod,
			Summary:  fmt.Sprintf("conditional access policy %q is disabled (last modified %s)", n, orNone(mod)),
			NextStep: "find who disabled it and when in the directory audits (activity \"Update conditional access policy\"), and re-enable it if that was not a planned change"}, p)
	case "enabledForReportingButNotEnforced":
		f.add(snapshot.Finding{Kind: KindCAReportOnly, Severity: "medium", Object: n, ObjectID: id, Time: mod,
			Summary:  fmt.Sprintf("conditional access policy %q is in report-only mode: it is evaluated but not enforced (last modified %s)", n, orNone(mod)),
			NextStep: "check in the directory audits whether it was switched from enforced to report-only, and enforce it if it should protect users"}, p)
	}
	for _, x := range rec.Get("conditions.users.excludeUsers").Array() {
		u, ok := f.subject[strings.ToLower(x.String())]
		if !ok {
			continue
		}
		f.add(snapshot.Finding{Kind: KindCAExcludesSubject, Severity: "high", UserID: u.ID, UPN: u.UPN, Object: n, ObjectID: id, Time: mod,
			Summary:  fmt.Sprintf("conditional access policy %q (state %s) excludes %s", n, rec.Get("state").String(), u.UPN),
			NextStep: "remove the exclusion unless it is documented (a break-glass account, say) and read the directory audits for who added it"}, p)
	}
}

func orNone(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}

// principal describes a role record's principal from its expanded object.
func principal(rec gjson.Result) (typ, label string) {
	pr := rec.Get("principal")
	typ = strings.TrimPrefix(pr.Get("@odata\\.type").String(), "#microsoft.graph.")
	label = pr.Get("userPrincipalName").String()
	if label == "" {
		label = name(pr)
	}
	if label == "" {
		label = rec.Get("principalId").String()
	}
	return typ, label
}

// roleRecord flags a role held by a subject of the collection, or by an
// application other than Microsoft's own. Assignments carry no time:
// active ones are flagged as they stand; eligibilities also when created in
// the window.
func (f *findings) roleRecord(p snapshot.Pointer, rec gjson.Result, eligible bool) {
	id, role, pid := rec.Get("id").String(), rec.Get("roleDefinitionId").String(), rec.Get("principalId").String()
	typ, label := principal(rec)
	what := "holds the directory role"
	if eligible {
		what = "is eligible (PIM) for the directory role"
	}
	when := ""
	if t, ok := f.inWindow(rec.Get("createdDateTime")); ok {
		when = collect.FormatTime(t)
		f.add(snapshot.Finding{Kind: KindEligibleInWindow, Severity: "high", Object: label, ObjectID: id, Time: when,
			Summary:  fmt.Sprintf("%s %s %s since %s, inside the window", label, what, role, when),
			NextStep: "confirm with the role's owners that the eligibility was requested; remove it and read the PIM audit history otherwise"}, p)
	}
	if u, ok := f.subject[strings.ToLower(pid)]; ok {
		f.add(snapshot.Finding{Kind: KindRoleToSubject, Severity: "high", UserID: u.ID, UPN: u.UPN, Object: role, ObjectID: id, Time: when,
			Summary:  fmt.Sprintf("%s %s %s (directory scope %s)", u.UPN, what, role, rec.Get("directoryScopeId").String()),
			NextStep: "check in the directory audits (\"Add member to role\") when and by whom it was granted; remove it while the account is investigated"}, p)
	}
	isApp := typ == "servicePrincipal" || (typ == "" && rec.Get("principal.servicePrincipalType").Exists())
	if isApp && !snapshot.MicrosoftTenant(rec.Get("principal.appOwnerOrganizationId").String()) {
		f.add(snapshot.Finding{Kind: KindRoleToApp, Severity: "high", Object: label, ObjectID: id, Time: when,
			Summary: fmt.Sprintf("application %q (app id %s, owner tenant %s) %s %s", label, rec.Get("principal.appId").String(),
				rec.Get("principal.appOwnerOrganizationId").String(), what, role),
			NextStep: "an application holding a directory role can act without any user: confirm it is expected, else remove the role and the app's credentials, and read its sign-ins"}, p)
	}
}

func (f *findings) assignment(p snapshot.Pointer, rec gjson.Result)  { f.roleRecord(p, rec, false) }
func (f *findings) eligibility(p snapshot.Pointer, rec gjson.Result) { f.roleRecord(p, rec, true) }

// domain flags a federated domain: sign-ins for its users are decided by
// another identity provider, the classic backdoor when added or changed.
func (f *findings) domain(p snapshot.Pointer, rec gjson.Result) {
	if !strings.EqualFold(rec.Get("authenticationType").String(), "Federated") {
		return
	}
	d := rec.Get("id").String()
	f.add(snapshot.Finding{Kind: KindFederatedDomain, Severity: "high", Object: d, ObjectID: d,
		Summary:  fmt.Sprintf("domain %s is federated: another identity provider issues its users' sign-ins", d),
		NextStep: "confirm the issuer URI and signing certificate (" + Dir + "/domain-federation.jsonl" + ") with the identity team; read the directory audits for \"Set domain authentication\" and \"Set federation settings on domain\""}, p)
}

// federation adds a federated domain's settings to its finding.
func (f *findings) federation(domain string, p snapshot.Pointer, _ gjson.Result) {
	for _, k := range f.order {
		if n := f.byKey[k]; n.Kind == KindFederatedDomain && strings.EqualFold(n.ObjectID, domain) {
			n.Evidence = append(n.Evidence, p)
			return
		}
	}
}

// authorization flags users allowed to consent to any app.
func (f *findings) authorization(p snapshot.Pointer, rec gjson.Result) {
	for _, g := range rec.Get("defaultUserRolePermissions.permissionGrantPoliciesAssigned").Array() {
		if strings.HasSuffix(strings.ToLower(g.String()), "."+legacyConsentPolicy) {
			f.add(snapshot.Finding{Kind: KindConsentAnyApp, Severity: "medium", Object: "authorizationPolicy", ObjectID: rec.Get("id").String(),
				Summary:  fmt.Sprintf("users may consent to any app for permissions that need no admin consent (%s)", g.String()),
				NextStep: "restrict user consent to verified publishers (microsoft-user-default-low) or turn it off, and review the tenant's oauth2PermissionGrants (snapshot --tenant-objects)"}, p)
		}
	}
}

// credentials flags a secret or certificate of an application or service
// principal whose validity starts in the window.
func (f *findings) credentials(p snapshot.Pointer, rec gjson.Result) {
	typ := "application"
	if rec.Get("servicePrincipalType").Exists() || rec.Get("appOwnerOrganizationId").Exists() {
		typ = "service principal"
	}
	for _, k := range []struct{ key, what string }{{"passwordCredentials", "client secret"}, {"keyCredentials", "certificate"}} {
		for _, c := range rec.Get(k.key).Array() {
			t, ok := f.inWindow(c.Get("startDateTime"))
			if !ok {
				continue
			}
			f.add(snapshot.Finding{Kind: KindAppCredential, Severity: "high", Object: name(rec), ObjectID: rec.Get("id").String(),
				Credential: c.Get("keyId").String(), Time: collect.FormatTime(t),
				Summary: fmt.Sprintf("%s %q (keyId %s) added to %s %q, valid from %s", k.what, c.Get("displayName").String(),
					c.Get("keyId").String(), typ, name(rec), collect.FormatTime(t)),
				NextStep: "confirm with the app's owners (" + Dir + "/application-owners.jsonl" + ") that they added it; otherwise remove the credential and read the app's service principal sign-ins"}, p)
		}
	}
}

func (f *findings) report() *snapshot.Report {
	r := &snapshot.Report{Format: snapshot.FindingsFormat, Window: manifest.NewWindow(f.w.Start, f.w.End), NotChecked: f.not,
		Note:     "Hints for the responder about the tenant's configuration, each pointing at the record it comes from. evidence only reads: nothing was changed in the tenant.",
		Findings: []snapshot.Finding{}}
	for _, k := range f.order {
		r.Findings = append(r.Findings, *f.byKey[k])
	}
	r.Sort()
	return r
}
