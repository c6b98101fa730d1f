package tenant

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/tidwall/gjson"
)

// CSV views of the parts, for people; the .jsonl files are the evidence.
// Multi-valued fields stay JSON in one cell.

var odataType = snapshot.ODataType

// parent is the note column naming the object a per-object part's record
// belongs to (the domain of a federation, the app of an owner).
func parent(name string) collect.Column { return collect.NoteColumn(name, "parent") }

// PolicyColumns are conditional access policies.
var PolicyColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Name", "displayName"), collect.Str("State", "state"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Time("Modified (UTC)", "modifiedDateTime"),
	collect.Raw("Include users", "conditions.users.includeUsers"), collect.Raw("Exclude users", "conditions.users.excludeUsers"),
	collect.Raw("Include groups", "conditions.users.includeGroups"), collect.Raw("Exclude groups", "conditions.users.excludeGroups"),
	collect.Raw("Include roles", "conditions.users.includeRoles"), collect.Raw("Exclude roles", "conditions.users.excludeRoles"),
	collect.Raw("Applications", "conditions.applications"), collect.Raw("Locations", "conditions.locations"),
	collect.Raw("Grant controls", "grantControls"), collect.Raw("Session controls", "sessionControls"),
}

// LocationColumns are named locations.
var LocationColumns = []collect.Column{
	odataType("Type"), collect.Str("Id", "id"), collect.Str("Name", "displayName"), collect.Str("Trusted", "isTrusted"),
	collect.Raw("IP ranges", "ipRanges"), collect.Raw("Countries and regions", "countriesAndRegions"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Time("Modified (UTC)", "modifiedDateTime"),
}

// RoleColumns are role assignments and eligibility schedules.
var RoleColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Role definition", "roleDefinitionId"), collect.Str("Principal id", "principalId"),
	collect.Func("Principal type", func(r gjson.Result) string {
		return strings.TrimPrefix(r.Get("principal.@odata\\.type").String(), "#microsoft.graph.")
	}),
	collect.Func("Principal", func(r gjson.Result) string {
		p := r.Get("principal")
		for _, k := range []string{"userPrincipalName", "displayName", "appId"} {
			if v := p.Get(k).String(); v != "" {
				return v
			}
		}
		return ""
	}),
	collect.Str("Directory scope", "directoryScopeId"), collect.Str("Status", "status"), collect.Str("Member type", "memberType"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Raw("Schedule", "scheduleInfo"),
}

// DomainColumns are domains.
var DomainColumns = []collect.Column{
	collect.Str("Domain", "id"), collect.Str("Authentication", "authenticationType"), collect.Str("Verified", "isVerified"),
	collect.Str("Default", "isDefault"), collect.Str("Initial", "isInitial"), collect.Raw("Services", "supportedServices"),
}

// FederationColumns are a federated domain's federation settings.
var FederationColumns = []collect.Column{
	parent("Domain"), collect.Str("Id", "id"), collect.Str("Name", "displayName"), collect.Str("Issuer URI", "issuerUri"),
	collect.Str("Passive sign-in URI", "passiveSignInUri"), collect.Str("Active sign-in URI", "activeSignInUri"),
	collect.Str("Metadata exchange URI", "metadataExchangeUri"), collect.Str("Protocol", "preferredAuthenticationProtocol"),
	collect.Str("MFA behaviour", "federatedIdpMfaBehavior"), collect.Str("Signing certificate", "signingCertificate"),
	collect.Str("Next signing certificate", "nextSigningCertificate"),
}

// AuthorizationColumns are the authorization policy.
var AuthorizationColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Invites from", "allowInvitesFrom"),
	collect.Raw("Permission grant policies", "defaultUserRolePermissions.permissionGrantPoliciesAssigned"),
	collect.Str("Users may create apps", "defaultUserRolePermissions.allowedToCreateApps"),
	collect.Str("Users may create tenants", "defaultUserRolePermissions.allowedToCreateTenants"),
	collect.Str("Guest role", "guestUserRoleId"), collect.Str("MSOnline PowerShell blocked", "blockMsolPowerShell"),
}

// CrossTenantColumns are the cross-tenant access policy.
var CrossTenantColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Name", "displayName"), collect.Raw("Allowed cloud endpoints", "allowedCloudEndpoints"),
}

// PartnerColumns are partner-specific cross-tenant access settings.
var PartnerColumns = []collect.Column{
	collect.Str("Tenant", "tenantId"), collect.Str("Service provider", "isServiceProvider"), collect.Raw("Inbound trust", "inboundTrust"),
	collect.Raw("Automatic user consent", "automaticUserConsentSettings"), collect.Raw("B2B collaboration inbound", "b2bCollaborationInbound"),
	collect.Raw("B2B direct connect inbound", "b2bDirectConnectInbound"),
}

// AuthMethodsPolicyColumns are the authentication methods policy.
var AuthMethodsPolicyColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Time("Modified (UTC)", "lastModifiedDateTime"), collect.Str("Migration state", "policyMigrationState"),
	collect.Raw("Method configurations", "authenticationMethodConfigurations"), collect.Raw("Registration enforcement", "registrationEnforcement"),
}

// CredentialColumns are applications and service principals with their
// credentials' metadata.
var CredentialColumns = []collect.Column{
	odataType("Type"), collect.Str("Id", "id"), collect.Str("App id", "appId"), collect.Str("Name", "displayName"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Str("Owner tenant", "appOwnerOrganizationId"),
	collect.Str("Verified publisher", "verifiedPublisher.displayName"),
	collect.Raw("Password credentials", "passwordCredentials"), collect.Raw("Key credentials", "keyCredentials"),
}

// OwnerColumns are owners of applications and service principals.
var OwnerColumns = []collect.Column{
	parent("Owner of"), odataType("Type"), collect.Str("Id", "id"), collect.Str("Name", "displayName"),
	collect.Str("User principal name", "userPrincipalName"), collect.Str("App id", "appId"),
}
