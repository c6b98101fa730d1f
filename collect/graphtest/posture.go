package graphtest

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Permissions the tenant posture endpoints require (least-privileged
// application permissions as the catalogue lists them).
const (
	PermPolicy = "Policy.Read.All"
	PermDomain = "Domain.Read.All"
)

// Posture lists what the story plants in the tenant's configuration (the
// tenant source's parts), by id, so tests can check that the findings flag
// exactly these. With Config.CleanPosture none of it is served.
type Posture struct {
	FederatedDomain      string // a domain whose authentication type is Federated
	FederationID         string // its internalDomainFederation object
	DisabledPolicyID     string // conditional access policy in state "disabled"
	ReportOnlyPolicyID   string // in "enabledForReportingButNotEnforced", excluding the victim
	AppRoleAssignmentID  string // directory role assignment to the attacker's service principal
	AppRoleDefinitionID  string // the role assigned (Privileged Role Administrator)
	LegacyConsentPolicy  string // the permission grant policy that lets users consent to any app
	VictimEligibilityID  string // PIM eligibility for Global Administrator given to the victim in the window
	EnabledPolicyIDs     []string
	BenignAssignmentIDs  []string
	BenignEligibilityIDs []string
}

// postureData is what the posture endpoints serve.
type postureData struct {
	caPolicies, namedLocations []*sobj
	assignments, assignmentsX  []*sobj // without and with the principal expanded
	eligible, eligibleX        []*sobj
	domains                    []*sobj
	federation                 map[string][]*sobj // by lower-case domain name
	authorization, crossTenant *sobj
	partners                   []*sobj
	authMethods                *sobj
	spOwners                   map[string][]*sobj // by lower-case service principal id
	truth                      Posture
}

// TenantPosture returns what the story plants in the tenant's
// configuration; zero when Config.CleanPosture is set.
func (t *Tenant) TenantPosture() Posture {
	p := t.snapshot().posture.truth
	p.EnabledPolicyIDs = append([]string(nil), p.EnabledPolicyIDs...)
	p.BenignAssignmentIDs = append([]string(nil), p.BenignAssignmentIDs...)
	p.BenignEligibilityIDs = append([]string(nil), p.BenignEligibilityIDs...)
	return p
}

// buildPosture builds the tenant configuration beside the snapshot d: a
// well-kept tenant, plus, unless Config.CleanPosture, the story's changes
// (a federated domain, a disabled policy, a report-only policy excluding
// the victim, a role for the attacker's app, consent to any app).
func (t *Tenant) buildPosture(d *snapData) *postureData {
	id := func(s string) string { return uuid.NewSHA1(t.ns, []byte("posture/"+s)).String() }
	st := t.story
	a := t.anchor.Truncate(time.Second)
	t0 := a.Add(-5 * 24 * time.Hour)
	victim, admin := t.users[0], t.users[1]
	planted := !t.cfg.CleanPosture
	p := &postureData{federation: map[string][]*sobj{}, spOwners: map[string][]*sobj{}}
	tr := &p.truth
	breakGlass := id("user/break-glass")

	// Conditional access: three enforced policies; the story turns one off
	// and adds a report-only one that leaves the victim out.
	users := func(include []string, exclude ...string) *sobj {
		if exclude == nil {
			exclude = []string{}
		}
		return obj("includeUsers", include, "excludeUsers", exclude, "includeGroups", []string{}, "excludeGroups", []string{},
			"includeRoles", []string{}, "excludeRoles", []string{})
	}
	policy := func(pid, name, state string, created, modified time.Time, u *sobj, controls ...string) *sobj {
		var mod any
		if !modified.IsZero() {
			mod = modified
		}
		return obj("id", pid, "templateId", nil, "displayName", name, "createdDateTime", created, "modifiedDateTime", mod,
			"state", state, "sessionControls", nil,
			"conditions", obj("userRiskLevels", []string{}, "signInRiskLevels", []string{}, "clientAppTypes", []string{"all"},
				"platforms", nil, "locations", nil, "devices", nil,
				"applications", obj("includeApplications", []string{"All"}, "excludeApplications", []string{}, "includeUserActions", []string{}),
				"users", u),
			"grantControls", obj("operator", "OR", "builtInControls", controls, "customAuthenticationFactors", []string{}, "termsOfUse", []string{}))
	}
	mfa, legacy, admins := id("ca/mfa-all"), id("ca/block-legacy"), id("ca/admin-mfa")
	legacyState, legacyMod := "enabled", a.Add(-300*24*time.Hour)
	if planted {
		legacyState, legacyMod = "disabled", t0.Add(20*time.Minute)
		tr.DisabledPolicyID = legacy
	}
	p.caPolicies = []*sobj{
		policy(mfa, "Require MFA for all users", "enabled", a.Add(-400*24*time.Hour), a.Add(-120*24*time.Hour), users([]string{"All"}, breakGlass), "mfa"),
		policy(legacy, "Block legacy authentication", legacyState, a.Add(-400*24*time.Hour), legacyMod, users([]string{"All"}, breakGlass), "block"),
		policy(admins, "Require MFA for administrators", "enabled", a.Add(-380*24*time.Hour), time.Time{}, users([]string{admin.ID}), "mfa"),
	}
	tr.EnabledPolicyIDs = []string{mfa, admins}
	if planted {
		tr.ReportOnlyPolicyID = id("ca/compliant-device")
		p.caPolicies = append(p.caPolicies, policy(tr.ReportOnlyPolicyID, "Require compliant device", "enabledForReportingButNotEnforced",
			t0.Add(22*time.Minute), t0.Add(23*time.Minute), users([]string{"All"}, victim.ID), "compliantDevice"))
	}
	p.namedLocations = []*sobj{obj("@odata.type", "#microsoft.graph.ipNamedLocation", "id", id("loc/offices"), "displayName", "Contoso offices",
		"modifiedDateTime", a.Add(-200*24*time.Hour), "createdDateTime", a.Add(-410*24*time.Hour), "isTrusted", true,
		"ipRanges", []*sobj{obj("@odata.type", "#microsoft.graph.iPv4CidrRange", "cidrAddress", "198.51.100.0/24"),
			obj("@odata.type", "#microsoft.graph.iPv4CidrRange", "cidrAddress", "203.0.113.0/24")})}

	// Directory roles, tenant-wide. Assignments carry no time in Graph.
	userPrincipal := func(u *person) *sobj {
		return obj("@odata.type", "#microsoft.graph.user", "id", u.ID, "accountEnabled", true, "displayName", u.DisplayName,
			"mail", u.Mail, "userPrincipalName", u.UPN, "userType", "Member")
	}
	assignment := func(aid, roleID string, principalID string, principal *sobj) {
		base := obj("id", aid, "principalId", principalID, "directoryScopeId", "/", "roleDefinitionId", roleID)
		x := obj("id", aid, "principalId", principalID, "directoryScopeId", "/", "roleDefinitionId", roleID, "principal", principal)
		p.assignments = append(p.assignments, base)
		p.assignmentsX = append(p.assignmentsX, x)
	}
	adminAssign := id("assign/alice-ga")
	assignment(adminAssign, globalAdminRoleID, admin.ID, userPrincipal(admin))
	tr.BenignAssignmentIDs = []string{adminAssign}
	if planted {
		tr.AppRoleAssignmentID, tr.AppRoleDefinitionID = id("assign/mailsync-pra"), privRoleAdminRoleID
		sp := obj("@odata.type", "#microsoft.graph.servicePrincipal") // expanded principals carry their type
		src := d.sps[st.App.ServicePrincipalID]
		for _, k := range src.keys {
			sp.set(k, rawJSON(src.vals[k]))
		}
		assignment(tr.AppRoleAssignmentID, privRoleAdminRoleID, st.App.ServicePrincipalID, sp)
	}
	eligibility := func(eid, roleID string, u *person, created time.Time) {
		eb := obj("id", eid, "principalId", u.ID, "roleDefinitionId", roleID, "directoryScopeId", "/", "appScopeId", nil,
			"createdUsing", eid, "createdDateTime", created, "modifiedDateTime", nil, "status", "Provisioned", "memberType", "Direct",
			"scheduleInfo", obj("startDateTime", created, "recurrence", nil,
				"expiration", obj("type", "noExpiration", "endDateTime", nil, "duration", nil)))
		ex := obj()
		for _, k := range eb.keys {
			ex.set(k, rawJSON(eb.vals[k]))
		}
		ex.set("principal", userPrincipal(u))
		p.eligible, p.eligibleX = append(p.eligible, eb), append(p.eligibleX, ex)
	}
	elig := id("eligible/alice-pra")
	eligibility(elig, privRoleAdminRoleID, admin, a.Add(-250*24*time.Hour))
	tr.BenignEligibilityIDs = []string{elig}
	if planted {
		tr.VictimEligibilityID = id("eligible/victim-ga")
		eligibility(tr.VictimEligibilityID, globalAdminRoleID, victim, t0.Add(25*time.Minute))
	}

	// Domains: managed ones, and the story's federated domain.
	domain := func(name, auth string, isDefault, initial bool) *sobj {
		return obj("authenticationType", auth, "availabilityStatus", nil, "id", name, "isAdminManaged", true, "isDefault", isDefault,
			"isInitial", initial, "isRoot", true, "isVerified", true, "passwordNotificationWindowInDays", 14,
			"passwordValidityPeriodInDays", 2147483647, "supportedServices", []string{"Email", "OfficeCommunicationsOnline"},
			"state", nil)
	}
	p.domains = []*sobj{domain("contoso.com", "Managed", true, false), domain("contoso.onmicrosoft.com", "Managed", false, true),
		domain("contoso.co.jp", "Managed", false, false)}
	if planted {
		tr.FederatedDomain, tr.FederationID = "contoso-sso.com", id("federation/contoso-sso")
		p.domains = append(p.domains, domain(tr.FederatedDomain, "Federated", false, false))
		p.federation[tr.FederatedDomain] = []*sobj{obj("@odata.type", "#microsoft.graph.internalDomainFederation",
			"id", tr.FederationID, "displayName", "contoso-sso", "issuerUri", "http://sts.contoso-sso.com/adfs/services/trust",
			"metadataExchangeUri", "https://sts.contoso-sso.com/adfs/services/trust/mex",
			"signingCertificate", "MIIC8DCCAdigAwIBAgIQSIMULATEDNOTAREALCERTIFICATE0", "passiveSignInUri", "https://sts.contoso-sso.com/adfs/ls/",
			"preferredAuthenticationProtocol", "wsFed", "activeSignInUri", "https://sts.contoso-sso.com/adfs/services/trust/2005/usernamemixed",
			"signOutUri", "https://sts.contoso-sso.com/adfs/ls/?wa=wsignout1.0", "promptLoginBehavior", "nativeSupport",
			"isSignedAuthenticationRequestRequired", false, "nextSigningCertificate", nil, "federatedIdpMfaBehavior", "acceptIfMfaDoneByFederatedIdp",
			"signingCertificateUpdateStatus", obj("certificateUpdateResult", "success", "lastRunDateTime", t0.Add(30*time.Minute)))}
	}

	// Policies.
	grantPolicy := "ManagePermissionGrantsForSelf.microsoft-user-default-low"
	if planted {
		grantPolicy = "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
		tr.LegacyConsentPolicy = grantPolicy
	}
	p.authorization = obj("@odata.type", "#microsoft.graph.authorizationPolicy", "id", "authorizationPolicy",
		"allowInvitesFrom", "adminsAndGuestInviters", "allowedToSignUpEmailBasedSubscriptions", false, "allowedToUseSSPR", true,
		"allowEmailVerifiedUsersToJoinOrganization", false, "blockMsolPowerShell", true, "displayName", "Authorization Policy",
		"description", "Used to manage authorization related settings across the company.", "guestUserRoleId", "2af84b1e-32c8-42b7-82bc-daa82404023b",
		"defaultUserRolePermissions", obj("allowedToCreateApps", false, "allowedToCreateSecurityGroups", false,
			"allowedToCreateTenants", false, "allowedToReadBitlockerKeysForOwnedDevice", true, "allowedToReadOtherUsers", true,
			"permissionGrantPoliciesAssigned", []string{grantPolicy}))
	p.crossTenant = obj("id", "crossTenantAccessPolicy", "displayName", "CrossTenantAccessPolicy", "allowedCloudEndpoints", []string{},
		"deletedDateTime", nil)
	p.partners = []*sobj{obj("tenantId", id("tenant/fabrikam"), "isServiceProvider", false, "isInMultiTenantOrganization", false,
		"inboundTrust", obj("isMfaAccepted", true, "isCompliantDeviceAccepted", false, "isHybridAzureADJoinedDeviceAccepted", false),
		"b2bCollaborationInbound", nil, "b2bCollaborationOutbound", nil, "b2bDirectConnectInbound", nil, "b2bDirectConnectOutbound", nil,
		"automaticUserConsentSettings", obj("inboundAllowed", false, "outboundAllowed", false), "tenantRestrictions", nil)}
	p.authMethods = obj("id", "authenticationMethodsPolicy", "displayName", "Authentication Methods Policy",
		"description", "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
		"lastModifiedDateTime", a.Add(-90*24*time.Hour), "policyVersion", "1.5", "policyMigrationState", "migrationComplete",
		"reconfirmationInDays", 0,
		"registrationEnforcement", obj("authenticationMethodsRegistrationCampaign", obj("snoozeDurationInDays", 1, "state", "default",
			"excludeTargets", []string{}, "includeTargets", []*sobj{obj("id", "all_users", "targetType", "group", "targetedAuthenticationMethod", "microsoftAuthenticator")})),
		"authenticationMethodConfigurations", []*sobj{
			obj("@odata.type", "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration", "id", "MicrosoftAuthenticator", "state", "enabled"),
			obj("@odata.type", "#microsoft.graph.smsAuthenticationMethodConfiguration", "id", "Sms", "state", "disabled"),
			obj("@odata.type", "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "id", "TemporaryAccessPass", "state", "disabled"),
		})

	// Service principal owners: the attacker's app has none in the tenant;
	// Contoso's own apps are owned by the administrator.
	for _, s := range d.spList {
		var owners []*sobj
		if !strings.EqualFold(s.str("appOwnerOrganizationId"), microsoftTenantID) && s.str("id") != st.App.ServicePrincipalID {
			owners = []*sobj{obj("@odata.type", "#microsoft.graph.user", "id", admin.ID, "displayName", admin.DisplayName, "userPrincipalName", admin.UPN)}
		}
		p.spOwners[strings.ToLower(s.str("id"))] = owners
	}
	return p
}

// routePosture routes the tenant posture endpoints; nil for any other path.
func (t *Tenant) routePosture(segs []string, path string) *snapEndpoint {
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	n := len(segs)
	post := func() *postureData { return t.snapshot().posture }
	list := func(perm, entity, context string, pick func(*postureData) *snapList) *snapEndpoint {
		return &snapEndpoint{perm: perm, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			l := pick(post())
			l.entity, l.context = entity, context
			return t.serveList(rc, path, l)
		}}
	}
	single := func(perm, entity, context string, pick func(*postureData) *sobj) *snapEndpoint {
		return &snapEndpoint{perm: perm, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			return t.serveObject(rc, pick(post()), entity, context)
		}}
	}
	switch {
	case n == 3 && is(0, "identity") && is(1, "conditionalAccess") && is(2, "policies"):
		return list(PermPolicy, "conditionalAccessPolicy", "identity/conditionalAccess/policies",
			func(p *postureData) *snapList { return &snapList{objs: p.caPolicies} })
	case n == 3 && is(0, "identity") && is(1, "conditionalAccess") && is(2, "namedLocations"):
		return list(PermPolicy, "namedLocation", "identity/conditionalAccess/namedLocations",
			func(p *postureData) *snapList { return &snapList{objs: p.namedLocations} })
	case n == 3 && is(0, "roleManagement") && is(1, "directory") && is(2, "roleAssignments"):
		return list(PermRoleMgmt, "unifiedRoleAssignment", "roleManagement/directory/roleAssignments",
			func(p *postureData) *snapList {
				return &snapList{objs: p.assignments, expand: "principal", expanded: p.assignmentsX, filterable: []string{"principalId", "roleDefinitionId"}}
			})
	case n == 3 && is(0, "roleManagement") && is(1, "directory") && is(2, "roleEligibilitySchedules"):
		e := list(PermRoleMgmt, "unifiedRoleEligibilitySchedule", "roleManagement/directory/roleEligibilitySchedules",
			func(p *postureData) *snapList {
				return &snapList{objs: p.eligible, expand: "principal", expanded: p.eligibleX, filterable: []string{"principalId", "roleDefinitionId"}}
			})
		e.pim = true
		return e
	case n == 1 && is(0, "domains"):
		return list(PermDomain, "domain", "domains", func(p *postureData) *snapList { return &snapList{objs: p.domains} })
	case n == 3 && is(0, "domains") && is(2, "federationConfiguration"):
		return &snapEndpoint{perm: PermDomain, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			p := post()
			found := false
			for _, d := range p.domains {
				found = found || strings.EqualFold(d.str("id"), segs[1])
			}
			if !found {
				return nil, false, notExist(segs[1])
			}
			if _, e := parseParams(rc.r.URL.RawQuery); e != nil { // the page documents no query options
				return nil, false, e
			}
			return t.serveList(rc, path, &snapList{entity: "internalDomainFederation",
				context: "domains('" + segs[1] + "')/federationConfiguration", objs: p.federation[strings.ToLower(segs[1])]})
		}}
	case n == 2 && is(0, "policies") && is(1, "authorizationPolicy"):
		return single(PermPolicy, "authorizationPolicy", "policies/authorizationPolicy", func(p *postureData) *sobj { return p.authorization })
	case n == 2 && is(0, "policies") && is(1, "crossTenantAccessPolicy"):
		return single(PermPolicy, "crossTenantAccessPolicy", "policies/crossTenantAccessPolicy", func(p *postureData) *sobj { return p.crossTenant })
	case n == 3 && is(0, "policies") && is(1, "crossTenantAccessPolicy") && is(2, "partners"):
		return list(PermPolicy, "crossTenantAccessPolicyConfigurationPartner", "policies/crossTenantAccessPolicy/partners",
			func(p *postureData) *snapList { return &snapList{objs: p.partners} })
	case n == 2 && is(0, "policies") && is(1, "authenticationMethodsPolicy"):
		return single(PermPolicy, "authenticationMethodsPolicy", "policies/authenticationMethodsPolicy", func(p *postureData) *sobj { return p.authMethods })
	case n == 3 && is(0, "servicePrincipals") && is(2, "owners"):
		return &snapEndpoint{perm: PermApplication, handle: func(rc *reqCtx) ([]byte, bool, *gerr) {
			owners, ok := post().spOwners[strings.ToLower(segs[1])]
			if !ok {
				return nil, false, notExist(segs[1])
			}
			return t.serveList(rc, path, &snapList{entity: "directoryObject", context: "directoryObjects", objs: owners})
		}}
	}
	return t.routeSignals(segs, path)
}
