package snapshot

import (
	"context"
	"sort"
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// UserSelect are the user properties a responder needs (account state,
// password and session times, addresses, on-premises sync). signInActivity
// is asked for separately: it needs Entra ID P1/P2 and AuditLog.Read.All.
const UserSelect = "id,userPrincipalName,displayName,mail,accountEnabled,createdDateTime,lastPasswordChangeDateTime," +
	"signInSessionsValidFromDateTime,passwordPolicies,proxyAddresses,otherMails,userType,creationType,externalUserState," +
	"onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesImmutableId,onPremisesSamAccountName"

// SPSelect are the service principal properties the findings need; never a
// secret (credentials carry keyId, hint, displayName and dates only). All
// are v1.0 properties: publisherName exists only in beta, and v1.0 answers
// 400 to a $select naming it; verifiedPublisher says who published an app.
const SPSelect = "id,appId,displayName,appOwnerOrganizationId,verifiedPublisher,servicePrincipalType," +
	"signInAudience,accountEnabled,passwordCredentials,keyCredentials"

// user collects one user's snapshot.
func (r *run) user(ctx context.Context, i int, u collect.User) error {
	dir := userDir(i, u)
	uid := esc(u.ID)
	base := r.base + "/users/" + uid
	who := userRef{id: u.ID, upn: u.UPN}
	file := func(name string) string { return dir + "/" + name + ".jsonl" }
	simple := func(name, rel string, cols []collect.Column, on func(Pointer, gjson.Result)) error {
		sw, err := r.fetch(ctx, part{name: name, scope: u.ID, file: file(name), url: base + rel, cols: cols, onRecord: on})
		if err != nil {
			return err
		}
		if !r.add(sw) {
			r.f.notChecked(name, u.ID, sw.Reason)
		}
		return nil
	}

	// The user object, with signInActivity when the tenant's licence allows.
	sw, err := r.fetch(ctx, part{name: "user", scope: u.ID, file: file("user"), url: base + "?$select=" + UserSelect + ",signInActivity", single: true, cols: UserColumns})
	if err != nil {
		return err
	}
	if sw.Status == manifest.StatusUnavailable {
		// Keep the refusal on record as its own part, then read the rest.
		sw.Query = "user.signInActivity: " + strings.TrimPrefix(sw.Query, "user: ")
		r.add(sw)
		if sw, err = r.fetch(ctx, part{name: "user", scope: u.ID, file: file("user"), url: base + "?$select=" + UserSelect, single: true, cols: UserColumns}); err != nil {
			return err
		}
	}
	r.add(sw)

	if err := simple("authentication-methods", "/authentication/methods", MethodColumns, func(p Pointer, rec gjson.Result) { r.f.method(who, p, rec) }); err != nil {
		return err
	}
	for _, rel := range []string{"registeredDevices", "ownedDevices"} {
		name := map[string]string{"registeredDevices": "registered-devices", "ownedDevices": "owned-devices"}[rel]
		if err := simple(name, "/"+rel, DeviceColumns, func(p Pointer, rec gjson.Result) { r.f.device(who, p, rec) }); err != nil {
			return err
		}
	}

	// Inbox rules, then the folders they move or copy to (to name them).
	type ruleRec struct {
		p   Pointer
		rec gjson.Result
	}
	var rules []ruleRec
	sw, err = r.fetch(ctx, part{name: "inbox-rules", scope: u.ID, file: file("inbox-rules"), url: base + "/mailFolders/inbox/messageRules", cols: RuleColumns,
		onRecord: func(p Pointer, rec gjson.Result) { rules = append(rules, ruleRec{p, gjson.Parse(rec.Raw)}) }})
	if err != nil {
		return err
	}
	if !r.add(sw) {
		r.f.notChecked("inbox-rules", u.ID, sw.Reason)
	}
	folders := map[string]string{} // id -> display name
	var folderIDs []string
	for _, rr := range rules {
		for _, k := range []string{"actions.moveToFolder", "actions.copyToFolder"} {
			if id := rr.rec.Get(k).String(); id != "" {
				if _, seen := folders[id]; !seen {
					folders[id] = ""
					folderIDs = append(folderIDs, id)
				}
			}
		}
	}
	sort.Strings(folderIDs)
	unresolved := 0
	for _, id := range folderIDs {
		sw, err := r.fetch(ctx, part{name: "inbox-rule-folders", scope: u.ID, file: file("inbox-rule-folders"), single: true, cols: FolderColumns,
			url:      base + "/mailFolders/" + esc(id) + "?$select=id,displayName,parentFolderId,totalItemCount,isHidden",
			onRecord: func(_ Pointer, rec gjson.Result) { folders[id] = rec.Get("displayName").String() }})
		if err != nil {
			return err
		}
		if !r.add(sw) {
			unresolved++
		}
	}
	if unresolved > 0 {
		r.f.notChecked("inbox-rule-folders", u.ID, "the names of folders that rules move or copy to could not be read, so moves to hiding folders are not flagged")
	}
	for _, rr := range rules {
		r.f.rule(who, rr.p, rr.rec, folders)
	}

	sw, err = r.fetch(ctx, part{name: "mailbox-settings", scope: u.ID, file: file("mailbox-settings"), url: base + "/mailboxSettings", single: true, cols: MailboxColumns})
	if err != nil {
		return err
	}
	r.add(sw)

	// Consents and app role assignments, then the apps they point at.
	type appRef struct {
		p      Pointer
		rec    gjson.Result
		client string // the service principal to judge
		grant  bool
	}
	var refs []appRef
	// The user's consents through the tenant-wide list filtered by
	// principalId: documented with Directory.Read.All for delegated and
	// application callers alike, unlike /users/{id}/oauth2PermissionGrants.
	byPrincipal := &collect.Scope{Require: []collect.Cond{collect.UserCond(u, "principalId")}}
	sw, err = r.fetch(ctx, part{name: "oauth2-permission-grants", scope: u.ID, file: file("oauth2-permission-grants"), cols: GrantColumns, asked: byPrincipal,
		url: r.base + "/oauth2PermissionGrants?$filter=" + collect.QueryEscape("principalId eq "+collect.ODataString(u.ID)),
		onRecord: func(p Pointer, rec gjson.Result) {
			refs = append(refs, appRef{p, gjson.Parse(rec.Raw), rec.Get("clientId").String(), true})
		}})
	if err != nil {
		return err
	}
	if !r.add(sw) {
		r.f.notChecked("oauth2-permission-grants", u.ID, sw.Reason)
	}
	if err := simple("app-role-assignments", "/appRoleAssignments", AppRoleColumns, func(p Pointer, rec gjson.Result) {
		refs = append(refs, appRef{p, gjson.Parse(rec.Raw), rec.Get("resourceId").String(), false})
	}); err != nil {
		return err
	}
	sps, err := r.servicePrincipals(ctx, u.ID, file("service-principals"), func() []string {
		var ids []string
		for _, a := range refs {
			ids = append(ids, a.client)
		}
		return ids
	}())
	if err != nil {
		return err
	}
	for _, a := range refs {
		r.f.consent(who, a.p, a.rec, sps[strings.ToLower(a.client)], a.grant)
	}

	for _, rel := range []string{"ownedObjects", "createdObjects"} {
		name := map[string]string{"ownedObjects": "owned-objects", "createdObjects": "created-objects"}[rel]
		if err := simple(name, "/"+rel, ObjectColumns, func(p Pointer, rec gjson.Result) { r.f.appObject(who, p, rec) }); err != nil {
			return err
		}
	}
	created := len(r.src.Windows) - 1 // the created-objects part, just added
	var roles []string
	if err := simple("transitive-member-of", "/transitiveMemberOf", MemberOfColumns, func(_ Pointer, rec gjson.Result) {
		if rec.Get("@odata\\.type").String() == "#microsoft.graph.directoryRole" {
			roles = append(roles, rec.Get("displayName").String())
		}
	}); err != nil {
		return err
	}
	// Graph returns no createdObjects for users in an administrator role
	// (user-list-createdobjects): "collected, none" is then not "created
	// nothing", and the manifest says so.
	if cw := &r.src.Windows[created]; len(roles) > 0 && cw.Status == manifest.StatusCollected && cw.Records == 0 &&
		strings.HasPrefix(cw.Query, "created-objects:") {
		cw.Reason = "none returned, but the user holds directory roles (" + strings.Join(roles, ", ") +
			"), and Graph returns no createdObjects for users in an administrator role: this does not mean the user created nothing"
	}
	for _, pim := range []struct{ name, rel string }{
		{"pim-eligible-roles", "roleEligibilityScheduleInstances"},
		{"pim-active-roles", "roleAssignmentScheduleInstances"},
	} {
		sw, err := r.fetch(ctx, part{name: pim.name, scope: u.ID, file: file(pim.name), cols: PIMColumns, asked: byPrincipal,
			url: r.base + "/roleManagement/directory/" + pim.rel + "?$filter=" + collect.QueryEscape("principalId eq "+collect.ODataString(u.ID))})
		if err != nil {
			return err
		}
		r.add(sw)
	}
	sw, err = r.fetch(ctx, part{name: "risky-user", scope: u.ID, file: file("risky-user"), single: true, cols: RiskyUserColumns,
		url:      r.base + "/identityProtection/riskyUsers/" + uid,
		missing:  "Identity Protection holds no risk record for this user (404)",
		onRecord: func(p Pointer, rec gjson.Result) { r.f.risky(who, p, rec) }})
	if err != nil {
		return err
	}
	r.add(sw)
	sw, err = r.fetch(ctx, part{name: "risk-detections", scope: u.ID, file: file("risk-detections"), cols: RiskDetectionColumns,
		asked: &collect.Scope{Require: []collect.Cond{collect.UserCond(u, "userId", "userPrincipalName")}},
		url:   r.base + "/identityProtection/riskDetections?$filter=" + collect.QueryEscape("userId eq "+collect.ODataString(u.ID))})
	if err != nil {
		return err
	}
	r.add(sw)
	return nil
}

// servicePrincipals reads each distinct service principal once and returns
// them by lower-case id. Refusals are accounted like any part.
func (r *run) servicePrincipals(ctx context.Context, scope, file string, ids []string) (map[string]gjson.Result, error) {
	out := map[string]gjson.Result{}
	seen := map[string]bool{}
	var list []string
	for _, id := range ids {
		k := strings.ToLower(id)
		if id != "" && !seen[k] {
			seen[k] = true
			list = append(list, id)
		}
	}
	sort.Strings(list)
	for _, id := range list {
		sw, err := r.fetch(ctx, part{name: "service-principals", scope: scope, file: file, single: true, cols: SPColumns,
			url:      r.base + "/servicePrincipals/" + esc(id) + "?$select=" + SPSelect,
			onRecord: func(_ Pointer, rec gjson.Result) { out[strings.ToLower(id)] = gjson.Parse(rec.Raw) }})
		if err != nil {
			return nil, err
		}
		if !r.add(sw) {
			r.f.notChecked("consent-publisher", scope, "service principal "+id+": "+sw.Reason)
		}
	}
	return out, nil
}
