package graphtest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Permissions the snapshot endpoints require (the least-privileged
// application permission Graph documents for each). Config.Denied names the
// ones the simulated app lacks; those endpoints answer 403.
const (
	PermAuthMethods   = "UserAuthenticationMethod.Read.All"
	PermDirectory     = "Directory.Read.All"
	PermGroupMember   = "GroupMember.Read.All"
	PermApplication   = "Application.Read.All"
	PermMailbox       = "MailboxSettings.Read"
	PermMailBasic     = "Mail.ReadBasic.All"
	PermMail          = "Mail.Read"
	PermRoleMgmt      = "RoleManagement.Read.Directory"
	PermRiskyUser     = "IdentityRiskyUser.Read.All"
	PermRiskEvent     = "IdentityRiskEvent.Read.All"
	PermUserRead      = "User.Read.All"
	PermAuditLogRead  = "AuditLog.Read.All"
	exchangeForbidden = "ErrorAccessDenied"
)

// snapEndpoint describes one snapshot route.
type snapEndpoint struct {
	perm     string
	exchange bool // an Exchange Online (mailbox) endpoint: errors in Exchange's codes
	p2       bool // needs Entra ID P2
	pim      bool // PIM: Entra ID P2, refused with AadPremiumLicenseRequired
	defender bool // Defender XDR: refused when Config.NoDefender
	handle   func(rc *reqCtx) ([]byte, bool, *gerr)
}

// routeSnapshot routes the persistence-snapshot endpoints. ok is false for
// any other path, which the caller routes as before.
func (t *Tenant) routeSnapshot(segs []string) (*endpoint, string, bool) {
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	n := len(segs)
	var se *snapEndpoint
	path := "/v1.0/" + strings.Join(segs, "/")
	switch {
	case n >= 3 && is(0, "users"):
		se = t.routeUserSnapshot(segs[1], segs[2:], path)
	case n == 1 && is(0, "servicePrincipals"):
		se = &snapEndpoint{perm: PermApplication, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			d := t.snapshot()
			return t.serveList(rc, path, &snapList{entity: "servicePrincipal", context: "servicePrincipals", objs: d.spList})
		}}
	case n == 2 && is(0, "servicePrincipals"):
		se = &snapEndpoint{perm: PermApplication, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			o := t.snapshot().sps[strings.ToLower(segs[1])]
			if o == nil {
				return nil, false, notExist(segs[1])
			}
			return t.serveObject(rc, o, "servicePrincipal", "servicePrincipals")
		}}
	case n == 1 && is(0, "applications"):
		se = &snapEndpoint{perm: PermApplication, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "application", context: "applications", objs: t.snapshot().apps})
		}}
	case n == 2 && is(0, "applications"):
		se = &snapEndpoint{perm: PermApplication, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			o := t.application(segs[1])
			if o == nil {
				return nil, false, notExist(segs[1])
			}
			return t.serveObject(rc, o, "application", "applications")
		}}
	case n == 3 && is(0, "applications") && is(2, "owners"):
		se = &snapEndpoint{perm: PermApplication, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			owners, ok := t.appOwners(segs[1])
			if !ok {
				return nil, false, notExist(segs[1])
			}
			return t.serveList(rc, path, &snapList{entity: "directoryObject", context: "directoryObjects", objs: owners})
		}}
	case n == 1 && is(0, "oauth2PermissionGrants"):
		se = &snapEndpoint{perm: PermDirectory, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "oAuth2PermissionGrant", context: "oauth2PermissionGrants",
				filterable: []string{"clientId", "consentType", "principalId", "resourceId"}, objs: t.snapshot().grants})
		}}
	case n == 3 && is(0, "roleManagement") && is(1, "directory") && (is(2, "roleEligibilityScheduleInstances") || is(2, "roleAssignmentScheduleInstances")):
		eligible := is(2, "roleEligibilityScheduleInstances")
		se = &snapEndpoint{perm: PermRoleMgmt, pim: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			d := t.snapshot()
			l := &snapList{entity: "unifiedRoleAssignmentScheduleInstance", context: "roleManagement/directory/roleAssignmentScheduleInstances",
				filterable: []string{"principalId", "roleDefinitionId"}, objs: d.active}
			if eligible {
				l.entity, l.context, l.objs = "unifiedRoleEligibilityScheduleInstance", "roleManagement/directory/roleEligibilityScheduleInstances", d.eligible
			}
			return t.serveList(rc, path, l)
		}}
	case n == 3 && is(0, "identityProtection") && is(1, "riskyUsers"):
		se = &snapEndpoint{perm: PermRiskyUser, p2: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			u := t.lookup(segs[2])
			if u == nil || t.snapshot().users[u.ID].risky == nil {
				return nil, false, notExist(segs[2])
			}
			return t.serveObject(rc, t.snapshot().users[u.ID].risky, "riskyUser", "identityProtection/riskyUsers")
		}}
	case n == 2 && is(0, "identityProtection") && is(1, "riskDetections"):
		se = &snapEndpoint{perm: PermRiskEvent, p2: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveList(rc, path, &snapList{entity: "riskDetection", context: "identityProtection/riskDetections",
				filterable: []string{"userId", "userPrincipalName", "riskEventType"}, objs: t.snapshot().detections})
		}}
	default:
		se = t.routePosture(segs, path)
	}
	if se == nil {
		return nil, "", false
	}
	return &endpoint{class: "directory", faults: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
		if slices.Contains(t.cfg.Denied, se.perm) {
			if se.exchange {
				return nil, false, &gerr{http.StatusForbidden, exchangeForbidden, "Access is denied. Check credentials and try again."}
			}
			return nil, false, &gerr{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
		}
		if se.defender && t.cfg.NoDefender {
			return nil, false, noDefender()
		}
		if (se.p2 || se.pim) && t.cfg.License != LicenseP2 {
			if se.pim {
				return nil, false, &gerr{http.StatusForbidden, "AadPremiumLicenseRequired",
					"The tenant needs an AAD Premium 2 license."}
			}
			if t.cfg.License == LicenseFree {
				return nil, false, &gerr{http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
					"Neither tenant is B2C or tenant doesn't have premium license"}
			}
			return nil, false, &gerr{http.StatusForbidden, "Forbidden",
				"You cannot perform the requested operation, required scopes are missing in the token or the tenant has no Microsoft Entra ID P2 licence."}
		}
		return se.handle(rc)
	}}, "", true
}

func notExist(key string) *gerr {
	return &gerr{http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
}

// routeUserSnapshot routes /users/{id}/... below the user.
func (t *Tenant) routeUserSnapshot(key string, rest []string, path string) *snapEndpoint {
	is := func(i int, name string) bool { return len(rest) > i && strings.EqualFold(rest[i], name) }
	n := len(rest)
	user := func() (*userSnap, *gerr) {
		u := t.lookup(key)
		if u == nil {
			return nil, notExist(key)
		}
		return t.snapshot().users[u.ID], nil
	}
	list := func(perm, entity, context string, pick func(*userSnap) []*sobj, filterable ...string) *snapEndpoint {
		return &snapEndpoint{perm: perm, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			us, e := user()
			if e != nil {
				return nil, false, e
			}
			return t.serveList(rc, path, &snapList{entity: entity, context: context, filterable: filterable, objs: pick(us)})
		}}
	}
	switch {
	case n == 2 && is(0, "authentication") && is(1, "methods"):
		return list(PermAuthMethods, "authenticationMethod", "users('"+key+"')/authentication/methods", func(u *userSnap) []*sobj { return u.methods })
	case n == 1 && is(0, "registeredDevices"):
		return list(PermDirectory, "directoryObject", "directoryObjects", func(u *userSnap) []*sobj { return u.registered })
	case n == 1 && is(0, "ownedDevices"):
		return list(PermDirectory, "directoryObject", "directoryObjects", func(u *userSnap) []*sobj { return u.owned })
	case n == 1 && is(0, "ownedObjects"):
		return list(PermDirectory, "directoryObject", "directoryObjects", func(u *userSnap) []*sobj { return u.ownedObjs })
	case n == 1 && is(0, "createdObjects"):
		return list(PermDirectory, "directoryObject", "directoryObjects", func(u *userSnap) []*sobj { return u.created })
	case n == 1 && is(0, "transitiveMemberOf"):
		return list(PermGroupMember, "directoryObject", "directoryObjects", func(u *userSnap) []*sobj { return u.memberOf })
	case n == 1 && is(0, "oauth2PermissionGrants"):
		return list(PermDirectory, "oAuth2PermissionGrant", "oauth2PermissionGrants", func(u *userSnap) []*sobj { return u.grants })
	case n == 1 && is(0, "appRoleAssignments"):
		return list(PermDirectory, "appRoleAssignment", "users('"+key+"')/appRoleAssignments", func(u *userSnap) []*sobj { return u.roles })
	case n == 3 && is(0, "mailFolders") && is(1, "inbox") && is(2, "messageRules"):
		e := list(PermMailbox, "messageRule", "users('"+key+"')/mailFolders('inbox')/messageRules", func(u *userSnap) []*sobj { return u.rules })
		e.exchange = true
		return e
	case n == 2 && is(0, "mailFolders"):
		return &snapEndpoint{perm: PermMailBasic, exchange: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			us, e := user()
			if e != nil {
				return nil, false, e
			}
			f := us.folders[rest[1]]
			if f == nil {
				return nil, false, &gerr{http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."}
			}
			return t.serveObject(rc, f, "mailFolder", "users('"+key+"')/mailFolders")
		}}
	case n == 1 && is(0, "mailboxSettings"):
		return &snapEndpoint{perm: PermMailbox, exchange: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			us, e := user()
			if e != nil {
				return nil, false, e
			}
			return t.serveObject(rc, us.settings, "mailboxSettings", "users('"+key+"')/mailboxSettings")
		}}
	case n == 1 && is(0, "messages"):
		e := list(PermMailBasic, "message", "users('"+key+"')/messages", func(u *userSnap) []*sobj { return u.messages }, "internetMessageId")
		e.exchange = true
		return e
	case n == 3 && is(0, "messages") && rest[2] == "$value":
		return &snapEndpoint{perm: PermMail, exchange: true, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			us, e := user()
			if e != nil {
				return nil, false, e
			}
			if _, e := parseParams(rc.r.URL.RawQuery); e != nil {
				return nil, false, e
			}
			b, ok := us.mime[rest[1]]
			if !ok {
				return nil, false, &gerr{http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."}
			}
			rc.contentType = "text/plain"
			return b, false, nil
		}}
	}
	return nil
}

// guestList serves /users?$filter=userType eq 'Guest': the tenant's guests.
func (t *Tenant) guestList(rc *reqCtx) ([]byte, bool, *gerr) {
	return t.serveList(rc, "/v1.0/users", &snapList{entity: "user", context: "users", filterable: []string{"userType"}, objs: t.snapshot().guests})
}

// isGuestFilter reports whether a /users $filter is exactly userType eq 'Guest'.
func isGuestFilter(clauses []clause) bool {
	return len(clauses) == 1 && clauses[0].prop == "userType" && clauses[0].op == "eq" &&
		clauses[0].val.k == tString && strings.EqualFold(clauses[0].val.s, "Guest")
}

// checkUserSelect refuses signInActivity where Graph does: tenants without
// Entra ID P1/P2.
func (t *Tenant) checkUserSelect(names []string) *gerr {
	if slices.Contains(names, "signInActivity") && t.cfg.License == LicenseFree {
		return &gerr{http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			"Neither tenant is B2C or tenant doesn't have premium license"}
	}
	return nil
}

// appendUserExtra writes the user properties a persistence snapshot selects
// beyond the directory basics.
func (t *Tenant) appendUserExtra(w *jw, u *person, name string) {
	st := t.story
	lastPwd := u.created
	if u.ID == st.Victim.ID {
		lastPwd = st.PasswordReset.Time
	}
	switch name {
	case "lastPasswordChangeDateTime", "signInSessionsValidFromDateTime":
		w.ts(toTicks(lastPwd))
	case "passwordPolicies":
		w.null()
	case "otherMails":
		w.strs(nil)
	case "creationType", "externalUserState", "onPremisesLastSyncDateTime", "onPremisesImmutableId", "onPremisesSamAccountName":
		w.null()
	case "onPremisesSyncEnabled":
		w.null()
	case "signInActivity":
		last := t.anchor.Add(-26 * time.Hour).Truncate(time.Second)
		w.open()
		w.key("lastSignInDateTime")
		w.ts(toTicks(last))
		w.key("lastSignInRequestId")
		w.str(uuid.NewSHA1(t.ns, []byte("lastsignin/"+u.ID)).String())
		w.key("lastNonInteractiveSignInDateTime")
		w.ts(toTicks(last.Add(17 * time.Minute)))
		w.key("lastNonInteractiveSignInRequestId")
		w.str(uuid.NewSHA1(t.ns, []byte("lastnisignin/"+u.ID)).String())
		w.key("lastSuccessfulSignInDateTime")
		w.ts(toTicks(last))
		w.key("lastSuccessfulSignInRequestId")
		w.str(uuid.NewSHA1(t.ns, []byte("lastsignin/"+u.ID)).String())
		w.close()
	default:
		w.null()
	}
}

// application returns the app registration with object id key: one of the
// snapshot's, or the application object of a signing-in app (Contoso HR
// Sync); nil when there is none.
func (t *Tenant) application(key string) *sobj {
	for _, a := range t.snapshot().apps {
		if strings.EqualFold(a.str("id"), key) {
			return a
		}
	}
	for _, a := range t.apps {
		if a.objID != "" && strings.EqualFold(a.objID, key) {
			return obj("@odata.type", "#microsoft.graph.application", "id", a.objID, "appId", a.appID, "displayName", a.name,
				"signInAudience", "AzureADMyOrg")
		}
	}
	return nil
}

// appOwners lists the owners of the app registration with object id key:
// the users whose owned objects hold it (or, for a signing-in app, its
// owner). ok is false when no app registration has that id.
func (t *Tenant) appOwners(key string) ([]*sobj, bool) {
	d := t.snapshot()
	for _, a := range t.apps {
		if a.objID != "" && strings.EqualFold(a.objID, key) {
			var out []*sobj
			if a.owner != nil {
				out = append(out, obj("@odata.type", "#microsoft.graph.user", "id", a.owner.ID, "displayName", a.owner.DisplayName,
					"userPrincipalName", a.owner.UPN))
			}
			return out, true
		}
	}
	found := false
	for _, a := range d.apps {
		found = found || strings.EqualFold(a.str("id"), key)
	}
	if !found {
		return nil, false
	}
	var out []*sobj
	for _, p := range t.users {
		us := d.users[strings.ToLower(p.ID)]
		if us == nil {
			continue
		}
		for _, o := range us.ownedObjs {
			if strings.EqualFold(o.str("id"), key) {
				out = append(out, obj("@odata.type", "#microsoft.graph.user", "id", p.ID, "displayName", p.DisplayName,
					"userPrincipalName", p.UPN))
				break
			}
		}
	}
	return out, true
}
