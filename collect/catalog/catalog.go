// Package catalog is the table of every request evidence can send to
// Microsoft Graph: for each, the method, API version and path template, the
// query options and $select properties Microsoft documents for it, the
// least-privileged delegated and application permissions, the Entra role a
// delegated caller needs, the licence, the throttling class and the
// documentation page it comes from.
//
// The Graph client refuses a request that matches no entry or breaks the
// entry's rules, the simulator (collect/graphtest) answers such a request
// like Graph (400 or 403) and logs it, and docs/permissions.md is generated
// from the table. The package is a leaf (standard library only) so that both
// sides can import it.
package catalog

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// NotSupported marks a permission type Microsoft's reference lists as "Not
// supported" for an endpoint.
const NotSupported = "Not supported"

// Throttling classes: each Graph service throttles separately. The names
// are the client's budget classes.
const (
	ClassReports      = "reports"      // identity and access reports: /auditLogs/*
	ClassDirectory    = "directory"    // directory, mailbox and protection reads
	ClassMessageTrace = "messagetrace" // Exchange Online message trace
	ClassAuditQuery   = "auditquery"   // audit log query submissions
	ClassAuditRead    = "auditread"    // audit log query polls and record pages
	ClassSecurity     = "security"     // /security: Defender XDR incidents and alerts
	ClassHunting      = "hunting"      // /security/runHuntingQuery: Defender XDR advanced hunting
)

// Endpoint is one request the tool can make.
type Endpoint struct {
	ID      string // stable name, e.g. "signins.beta"
	Method  string // GET or POST
	Version string // "v1.0" or "beta"
	Path    string // template below the version, "{name}" for one segment (or the value inside a function call)
	Use     string // what the tool asks it for

	// Options are the OData system query options the documentation allows
	// here, with their "$" ("$filter", "$top", ...). $skiptoken comes only
	// from the service's own nextLinks.
	Options []string
	// Select lists the properties of this version the tool may $select;
	// nil when the tool never sends $select here.
	Select []string
	// Expand lists the navigation properties the tool may $expand (as the
	// page's examples do); nil when the tool never sends $expand here.
	Expand []string
	// Filter describes the documented $filter forms the tool sends.
	Filter string
	MaxTop int // largest documented $top; 0 when $top is not an option
	// SecondsProp names a $filter time property whose literals the page
	// documents as YYYY-MM-DDThh:mm:ssZ (no fraction digits).
	SecondsProp string

	Delegated   string // least-privileged delegated permission(s), or NotSupported
	Application string // least-privileged application permission(s), or NotSupported
	Role        string // Entra role a delegated caller needs besides the permission ("" when none)
	Licence     string
	Class       string // throttling class
	Doc         string // the reference page
	Note        string // what the page says that the table cannot
}

// AppOnly reports whether the endpoint can be called with application
// permissions (an unattended, app-only token).
func (e *Endpoint) AppOnly() bool { return e.Application != NotSupported }

// Name is "METHOD /version/path".
func (e *Endpoint) Name() string { return e.Method + " /" + e.Version + e.Path }

const (
	learn = "https://learn.microsoft.com/en-us/graph/api/"
	beta  = "?view=graph-rest-beta"

	readers      = "Global Reader, Reports Reader, Security Reader, Security Operator or Security Administrator"
	dirReader    = "Directory Readers or Global Reader (to read other users)"
	p1           = "Microsoft Entra ID P1 or P2"
	p2           = "Microsoft Entra ID P2"
	anyLicence   = "any"
	mailbox      = "Exchange Online mailbox"
	auditReadAll = "AuditLog.Read.All and Directory.Read.All"
)

var (
	paged       = []string{"$filter", "$top", "$skiptoken", "$orderby"}
	pagedSelect = append(slices.Clone(paged), "$select")
)

// Sign-in properties per version: what $select may name, and what the
// manifest says v1.0 cannot hold. Beta's signIn has every v1.0
// property plus the ones that say how a sign-in was authenticated.
var (
	SignInV1 = []string{"id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId", "appDisplayName",
		"ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus", "isInteractive", "riskDetail",
		"riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "riskEventTypes", "riskEventTypes_v2",
		"resourceDisplayName", "resourceId", "status", "deviceDetail", "location", "appliedConditionalAccessPolicies"}
	SignInBetaOnly = []string{"authenticationDetails", "authenticationRequirement", "authenticationRequirementPolicies",
		"authenticationMethodsUsed", "authenticationProtocol", "incomingTokenType", "sessionId", "uniqueTokenIdentifier",
		"userType", "userAgent", "signInEventTypes", "servicePrincipalId", "servicePrincipalName",
		"managedServiceIdentity", "mfaDetail", "originalTransferMethod", "crossTenantAccessType", "homeTenantId",
		"resourceTenantId", "tokenIssuerType", "tokenIssuerName", "networkLocationDetails", "flaggedForReview",
		"processingTimeInMilliseconds", "signInIdentifier", "signInIdentifierType", "clientCredentialType",
		"federatedCredentialId", "servicePrincipalCredentialKeyId", "servicePrincipalCredentialThumbprint",
		"authenticationContextClassReferences", "authenticationProcessingDetails", "isTenantRestricted",
		"isThroughGlobalSecureAccess", "globalSecureAccessIpAddress", "conditionalAccessAudiences",
		"appOwnerTenantId", "resourceOwnerTenantId", "originalRequestId", "autonomousSystemNumber",
		"ipAddressFromResourceProvider", "privateLinkDetails", "sessionLifetimePolicies", "appTokenProtectionStatus",
		"tokenProtectionStatusDetails", "azureResourceId", "alternateSignInName", "servicePrincipalTokenProtectionStatus"}
	SignInBeta = append(slices.Clone(SignInV1), SignInBetaOnly...)
	// SignInV1Lacks are the beta properties that say how a sign-in was
	// authenticated and by which token: what a bundle of v1.0 sign-ins
	// cannot show (MFA satisfied by a claim, token replay, device code).
	SignInV1Lacks = []string{"authenticationDetails", "authenticationRequirement", "sessionId", "uniqueTokenIdentifier",
		"incomingTokenType", "authenticationProtocol", "userType", "userAgent", "signInEventTypes"}
)

// Service principal properties the tool selects. publisherName exists only
// in beta; v1.0 has verifiedPublisher.
var (
	ServicePrincipalV1 = []string{"id", "appId", "displayName", "appOwnerOrganizationId", "verifiedPublisher",
		"servicePrincipalType", "signInAudience", "accountEnabled", "passwordCredentials", "keyCredentials",
		"appDisplayName", "createdDateTime", "homepage", "replyUrls", "servicePrincipalNames", "tags"}
	ServicePrincipalBetaOnly = []string{"publisherName"}
)

// Endpoints is the catalogue, in the order of docs/permissions.md.
var Endpoints = []*Endpoint{
	{ID: "organization", Method: "GET", Version: "v1.0", Path: "/organization", Use: "tenant id, name and verified domains",
		Options: []string{"$select"}, Select: []string{"id", "displayName", "verifiedDomains"},
		Delegated: "User.Read", Application: "Organization.Read.All", Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "organization-get"},
	{ID: "users.get", Method: "GET", Version: "v1.0", Path: "/users/{id}", Use: "resolve a user; the snapshot's user object",
		Options: []string{"$select"}, Select: []string{"id", "userPrincipalName", "displayName", "mail", "accountEnabled",
			"createdDateTime", "lastPasswordChangeDateTime", "signInSessionsValidFromDateTime", "passwordPolicies",
			"proxyAddresses", "otherMails", "userType", "creationType", "externalUserState", "onPremisesSyncEnabled",
			"onPremisesLastSyncDateTime", "onPremisesImmutableId", "onPremisesSamAccountName", "signInActivity"},
		Delegated: "User.Read.All", Application: "User.Read.All", Role: dirReader, Licence: anyLicence + " (signInActivity: " + p1 + " and AuditLog.Read.All)",
		Class: ClassDirectory, Doc: learn + "user-get"},
	{ID: "users.list", Method: "GET", Version: "v1.0", Path: "/users", Use: "guest accounts (--tenant-objects)",
		Options: []string{"$filter", "$select", "$top", "$skiptoken"}, MaxTop: 999, Filter: "userType eq 'Guest'",
		Select: []string{"id", "displayName", "mail", "userPrincipalName", "userType", "createdDateTime", "creationType",
			"externalUserState", "accountEnabled", "proxyAddresses"},
		Delegated: "User.Read.All", Application: "User.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "user-list"},
	{ID: "signins.v1", Method: "GET", Version: "v1.0", Path: "/auditLogs/signIns",
		Use:     "licence probe; interactive sign-ins when beta is refused",
		Options: pagedSelect, MaxTop: 1000, Select: SignInV1,
		Filter:    "userId eq '{id}' and createdDateTime ge {start} and createdDateTime le {end}",
		Delegated: "AuditLog.Read.All", Application: "AuditLog.Read.All", Role: readers, Licence: p1, Class: ClassReports,
		Doc:  learn + "signin-list",
		Note: "v1.0 returns interactive sign-ins only and has no authenticationDetails, sessionId, uniqueTokenIdentifier, incomingTokenType, authenticationProtocol or signInEventTypes; earlier versions of the page required Directory.Read.All as well (a known issue), which the audits need anyway"},
	{ID: "signins.beta", Method: "GET", Version: "beta", Path: "/auditLogs/signIns", Use: "sign-ins of all four kinds",
		Options: pagedSelect, MaxTop: 1000, Select: SignInBeta,
		Filter:    "signInEventTypes/any(t: t eq '{kind}') and userId eq '{id}' (or appId eq '{appId}') and createdDateTime ge {start} and createdDateTime le {end}",
		Delegated: "AuditLog.Read.All", Application: "AuditLog.Read.All", Role: readers, Licence: p1, Class: ClassReports,
		Doc:  learn + "signin-list" + beta,
		Note: "returns interactive sign-ins only unless signInEventTypes is filtered explicitly"},
	{ID: "audits", Method: "GET", Version: "v1.0", Path: "/auditLogs/directoryAudits", Use: "directory audits",
		Options: pagedSelect, MaxTop: 1000, Select: []string{"id", "category", "correlationId", "result", "resultReason",
			"activityDisplayName", "activityDateTime", "loggedByService", "operationType", "initiatedBy", "targetResources", "additionalDetails"},
		Filter:    "initiatedBy/user/id eq '{id}' | targetResources/any(t: t/id eq '{id}'), and activityDateTime ge {start} and activityDateTime le {end}",
		Delegated: auditReadAll, Application: auditReadAll, Role: readers, Licence: anyLicence + " (Free keeps 7 days, P1/P2 30)",
		Class: ClassReports, Doc: learn + "directoryaudit-list"},
	{ID: "grants.list", Method: "GET", Version: "v1.0", Path: "/oauth2PermissionGrants",
		Use:     "a user's delegated consents (principalId eq); every consent (--tenant-objects)",
		Options: []string{"$filter", "$top", "$skiptoken"}, MaxTop: 999, Filter: "principalId eq '{id}'",
		Delegated: "Directory.Read.All", Application: "Directory.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "oauth2permissiongrant-list"},
	{ID: "serviceprincipals.get", Method: "GET", Version: "v1.0", Path: "/servicePrincipals/{id}", Use: "the app behind a consent or role assignment",
		Options: []string{"$select"}, Select: ServicePrincipalV1,
		Delegated: "Application.Read.All", Application: "Application.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "serviceprincipal-get"},
	{ID: "serviceprincipals.list", Method: "GET", Version: "v1.0", Path: "/servicePrincipals", Use: "every service principal (--tenant-objects)",
		Options: []string{"$filter", "$select", "$top", "$skiptoken"}, MaxTop: 999, Select: ServicePrincipalV1,
		Delegated: "Application.Read.All", Application: "Application.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "serviceprincipal-list"},
	{ID: "applications.list", Method: "GET", Version: "v1.0", Path: "/applications", Use: "every app registration (--tenant-objects)",
		Options: []string{"$filter", "$select", "$top", "$skiptoken"}, MaxTop: 999,
		Select: []string{"id", "appId", "displayName", "createdDateTime", "publisherDomain", "signInAudience", "verifiedPublisher",
			"passwordCredentials", "keyCredentials"},
		Delegated: "Application.Read.All", Application: "Application.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "application-list"},
	{ID: "applications.get", Method: "GET", Version: "v1.0", Path: "/applications/{id}",
		Use:     "the appId of an app registration named in the user's audits (app-only route)",
		Options: []string{"$select"}, Select: []string{"id", "appId", "displayName"},
		Delegated: "Application.Read.All", Application: "Application.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "application-get"},
	{ID: "applications.owners", Method: "GET", Version: "v1.0", Path: "/applications/{id}/owners",
		Use:     "owners of an app registration found in the user's audits (app-only route)",
		Options: []string{"$select", "$top", "$skiptoken"}, MaxTop: 999, Select: []string{"id", "userPrincipalName", "displayName", "appId"},
		Delegated: "Application.Read.All", Application: "Application.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc:  learn + "application-list-owners",
		Note: "the page names Application.ReadWrite.OwnedBy as least privileged for applications, which reads only apps the caller owns; Application.Read.All reads all"},
	{ID: "users.ownedObjects", Method: "GET", Version: "v1.0", Path: "/users/{id}/ownedObjects",
		Use:     "apps and service principals the user owns (delegated callers only)",
		Options: []string{"$select", "$top", "$skiptoken"}, MaxTop: 999, Select: []string{"id", "appId", "displayName"},
		Delegated: "Directory.Read.All", Application: NotSupported, Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc:  learn + "user-list-ownedobjects",
		Note: "User.Read suffices for the caller's own objects; another user's need Directory.Read.All"},
	{ID: "users.createdObjects", Method: "GET", Version: "v1.0", Path: "/users/{id}/createdObjects", Use: "objects the user created",
		Options: []string{"$top", "$skiptoken"}, MaxTop: 999,
		Delegated: "Directory.Read.All", Application: "User.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc:  learn + "user-list-createdobjects",
		Note: "returns nothing for users in an administrator role: 'collected, none' is not 'created nothing'"},
	{ID: "users.authenticationMethods", Method: "GET", Version: "v1.0", Path: "/users/{id}/authentication/methods", Use: "registered authentication methods",
		Options: []string{"$top", "$skiptoken"}, MaxTop: 999,
		Delegated: "UserAuthenticationMethod.Read.All", Application: "UserAuthenticationMethod.Read.All",
		Role: "Authentication Administrator, Privileged Authentication Administrator or Global Reader", Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "authentication-list-methods"},
	{ID: "users.registeredDevices", Method: "GET", Version: "v1.0", Path: "/users/{id}/registeredDevices", Use: "devices the user registered",
		Options: []string{"$top", "$skiptoken"}, MaxTop: 999,
		Delegated: "Directory.Read.All", Application: "Directory.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "user-list-registereddevices"},
	{ID: "users.ownedDevices", Method: "GET", Version: "v1.0", Path: "/users/{id}/ownedDevices", Use: "devices the user owns",
		Options: []string{"$top", "$skiptoken"}, MaxTop: 999,
		Delegated: "Directory.Read.All", Application: "Directory.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "user-list-owneddevices"},
	{ID: "users.messageRules", Method: "GET", Version: "v1.0", Path: "/users/{id}/mailFolders/inbox/messageRules", Use: "inbox rules",
		Options:   []string{"$skiptoken"},
		Delegated: "MailboxSettings.Read", Application: "MailboxSettings.Read", Licence: mailbox, Class: ClassDirectory,
		Doc: learn + "mailfolder-list-messagerules"},
	{ID: "users.mailFolder", Method: "GET", Version: "v1.0", Path: "/users/{id}/mailFolders/{folder}", Use: "the folder an inbox rule moves or copies to",
		Options: []string{"$select"}, Select: []string{"id", "displayName", "parentFolderId", "totalItemCount", "isHidden"},
		Delegated: "Mail.ReadBasic", Application: "Mail.ReadBasic.All", Licence: mailbox, Class: ClassDirectory,
		Doc: learn + "mailfolder-get"},
	{ID: "users.mailboxSettings", Method: "GET", Version: "v1.0", Path: "/users/{id}/mailboxSettings", Use: "automatic replies and mailbox settings",
		Delegated: "MailboxSettings.Read", Application: "MailboxSettings.Read", Licence: mailbox, Class: ClassDirectory,
		Doc: learn + "user-get-mailboxsettings"},
	{ID: "users.appRoleAssignments", Method: "GET", Version: "v1.0", Path: "/users/{id}/appRoleAssignments", Use: "app roles assigned to the user",
		Options: []string{"$top", "$skiptoken"}, MaxTop: 999,
		Delegated: "Directory.Read.All", Application: "Directory.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "user-list-approleassignments"},
	{ID: "users.transitiveMemberOf", Method: "GET", Version: "v1.0", Path: "/users/{id}/transitiveMemberOf", Use: "group and directory role memberships",
		Options: []string{"$top", "$skiptoken"}, MaxTop: 999,
		Delegated: "GroupMember.Read.All", Application: "GroupMember.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "user-list-transitivememberof"},
	{ID: "pim.eligible", Method: "GET", Version: "v1.0", Path: "/roleManagement/directory/roleEligibilityScheduleInstances", Use: "PIM eligible roles",
		Options: []string{"$filter", "$top", "$skiptoken"}, MaxTop: 999, Filter: "principalId eq '{id}'",
		Delegated: "RoleManagement.Read.Directory", Application: "RoleManagement.Read.Directory", Role: "Global Reader or Privileged Role Administrator",
		Licence: p2, Class: ClassDirectory, Doc: learn + "rbacapplication-list-roleeligibilityscheduleinstances"},
	{ID: "pim.active", Method: "GET", Version: "v1.0", Path: "/roleManagement/directory/roleAssignmentScheduleInstances", Use: "PIM active roles",
		Options: []string{"$filter", "$top", "$skiptoken"}, MaxTop: 999, Filter: "principalId eq '{id}'",
		Delegated: "RoleManagement.Read.Directory", Application: "RoleManagement.Read.Directory", Role: "Global Reader or Privileged Role Administrator",
		Licence: p2, Class: ClassDirectory, Doc: learn + "rbacapplication-list-roleassignmentscheduleinstances"},
	{ID: "riskyUsers.get", Method: "GET", Version: "v1.0", Path: "/identityProtection/riskyUsers/{id}", Use: "Identity Protection's risk record of the user",
		Delegated: "IdentityRiskyUser.Read.All", Application: "IdentityRiskyUser.Read.All", Role: "Security Reader, Security Operator or Global Reader",
		Licence: p2, Class: ClassDirectory, Doc: learn + "riskyuser-get"},
	{ID: "riskDetections.list", Method: "GET", Version: "v1.0", Path: "/identityProtection/riskDetections", Use: "risk detections of the user",
		Options: []string{"$filter", "$top", "$skiptoken"}, MaxTop: 999, Filter: "userId eq '{id}'",
		Delegated: "IdentityRiskEvent.Read.All", Application: "IdentityRiskEvent.Read.All", Role: "Security Reader, Security Operator or Global Reader",
		Licence: p2, Class: ClassDirectory, Doc: learn + "riskdetection-list"},
	{ID: "users.messages", Method: "GET", Version: "v1.0", Path: "/users/{id}/messages", Use: "find a message by internetMessageId (--message-id)",
		Options: []string{"$filter", "$select", "$top", "$skiptoken"}, MaxTop: 1000, Filter: "internetMessageId eq '{id}'",
		Select:    []string{"id", "internetMessageId", "subject", "receivedDateTime", "from", "parentFolderId"},
		Delegated: "Mail.ReadBasic", Application: "Mail.ReadBasic.All", Licence: mailbox, Class: ClassDirectory,
		Doc: learn + "user-list-messages"},
	{ID: "users.messageMIME", Method: "GET", Version: "v1.0", Path: "/users/{id}/messages/{message}/$value", Use: "the message as .eml (--message-id)",
		Delegated: "Mail.Read", Application: "Mail.Read", Licence: mailbox, Class: ClassDirectory,
		Doc: learn + "message-get"},
	{ID: "messagetrace.list", Method: "GET", Version: "v1.0", Path: "/admin/exchange/tracing/messageTraces", Use: "message traces",
		Options: []string{"$filter", "$top", "$skiptoken"}, MaxTop: 5000, SecondsProp: "receivedDateTime",
		Filter:    "receivedDateTime ge YYYY-MM-DDThh:mm:ssZ and receivedDateTime le YYYY-MM-DDThh:mm:ssZ (at most 10 days, at most 90 days back, not after now) and senderAddress|recipientAddress eq '{address}'",
		Delegated: "ExchangeMessageTrace.Read.All", Application: "ExchangeMessageTrace.Read.All", Role: "Exchange Administrator or Global Reader",
		Licence: "Exchange Online; a service principal for app 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373", Class: ClassMessageTrace,
		Doc: learn + "messagetracingroot-list-messagetraces"},
	{ID: "messagetrace.details", Method: "GET", Version: "v1.0", Path: "/admin/exchange/tracing/messageTraces/{id}/getDetailsByRecipient(recipientAddress={address})",
		Use: "delivery details of a trace sent outside the tenant", Options: []string{"$skiptoken"},
		Delegated: "ExchangeMessageTrace.Read.All", Application: "ExchangeMessageTrace.Read.All", Role: "Exchange Administrator or Global Reader",
		Licence: "Exchange Online", Class: ClassMessageTrace, Doc: learn + "exchangemessagetrace-getdetailsbyrecipient"},
}

// Tenant posture (collect/tenant): the configuration an attacker changes
// to stay in. Each entry sends only $skiptoken (from the service's own
// nextLink) unless it names more; the pages document further options the
// tool does not need.
const (
	policyReadAll = "Policy.Read.All"
	domainReadAll = "Domain.Read.All"
	roleRead      = "RoleManagement.Read.Directory"
)

// TenantEndpoints are the tenant source's requests, in collection order.
var TenantEndpoints = []*Endpoint{
	{ID: "ca.policies", Method: "GET", Version: "v1.0", Path: "/identity/conditionalAccess/policies", Use: "every conditional access policy (tenant source)",
		Options: []string{"$skiptoken"}, Delegated: policyReadAll, Application: policyReadAll, Licence: p1, Class: ClassDirectory,
		Doc:  learn + "conditionalaccessroot-list-policies",
		Note: "the page also documents $skip, $top, $count, $filter, $orderby and $select; the tool reads every policy whole"},
	{ID: "ca.namedLocations", Method: "GET", Version: "v1.0", Path: "/identity/conditionalAccess/namedLocations", Use: "every named location (tenant source)",
		Options: []string{"$skiptoken"}, Delegated: policyReadAll, Application: policyReadAll, Licence: p1, Class: ClassDirectory,
		Doc:  learn + "conditionalaccessroot-list-namedlocations",
		Note: "the page also documents $count, $filter, $orderby, $select, $skip and $top"},
	{ID: "roles.assignments", Method: "GET", Version: "v1.0", Path: "/roleManagement/directory/roleAssignments",
		Use: "every directory role assignment, principal expanded (tenant source)", Options: []string{"$expand", "$skiptoken"}, Expand: []string{"principal"},
		Delegated: roleRead, Application: roleRead, Licence: anyLicence, Class: ClassDirectory,
		Doc:  learn + "rbacapplication-list-roleassignments",
		Note: "the page documents $filter, $expand and $select (no $top); $expand=principal as in its first example. A role assignment carries no creation time: when it was made is in the directory audits"},
	{ID: "roles.eligibilitySchedules", Method: "GET", Version: "v1.0", Path: "/roleManagement/directory/roleEligibilitySchedules",
		Use: "every PIM role eligibility, principal expanded (tenant source)", Options: []string{"$expand", "$skiptoken"}, Expand: []string{"principal"},
		Delegated: roleRead, Application: roleRead, Licence: p2, Class: ClassDirectory,
		Doc:  learn + "rbacapplication-list-roleeligibilityschedules",
		Note: "the page documents $select, $filter and $expand; it lists RoleEligibilitySchedule.Read.Directory before RoleManagement.Read.Directory, which role assignments need anyway and which covers this read"},
	{ID: "domains.list", Method: "GET", Version: "v1.0", Path: "/domains", Use: "every domain and its authentication type (tenant source)",
		Options: []string{"$skiptoken"}, Delegated: domainReadAll, Application: domainReadAll, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "domain-list"},
	{ID: "domains.federation", Method: "GET", Version: "v1.0", Path: "/domains/{id}/federationConfiguration",
		Use:       "a federated domain's federation settings: issuer, sign-in URIs, signing certificates (tenant source)",
		Delegated: domainReadAll, Application: domainReadAll,
		Role:    "Global Reader, Security Reader, Domain Name Administrator, External Identity Provider Administrator, Hybrid Identity Administrator or Security Administrator",
		Licence: anyLicence, Class: ClassDirectory, Doc: learn + "domain-list-federationconfiguration",
		Note: "the page: no OData query options; the collection holds one object"},
	{ID: "policies.authorization", Method: "GET", Version: "v1.0", Path: "/policies/authorizationPolicy",
		Use: "who may consent, invite and create apps (tenant source)", Delegated: policyReadAll, Application: policyReadAll,
		Licence: anyLicence, Class: ClassDirectory, Doc: learn + "authorizationpolicy-get"},
	{ID: "policies.crossTenant", Method: "GET", Version: "v1.0", Path: "/policies/crossTenantAccessPolicy",
		Use: "the cross-tenant access policy (tenant source)", Delegated: policyReadAll, Application: policyReadAll,
		Licence: anyLicence, Class: ClassDirectory, Doc: learn + "crosstenantaccesspolicy-get"},
	{ID: "policies.crossTenantPartners", Method: "GET", Version: "v1.0", Path: "/policies/crossTenantAccessPolicy/partners",
		Use: "every partner-specific cross-tenant access configuration (tenant source)", Options: []string{"$skiptoken"},
		Delegated: policyReadAll, Application: policyReadAll, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "crosstenantaccesspolicy-list-partners"},
	{ID: "policies.authenticationMethods", Method: "GET", Version: "v1.0", Path: "/policies/authenticationMethodsPolicy",
		Use: "the authentication methods policy (tenant source)", Delegated: policyReadAll, Application: policyReadAll,
		Licence: anyLicence, Class: ClassDirectory, Doc: learn + "authenticationmethodspolicy-get",
		Note: "the page names Policy.Read.AuthenticationMethod as least privileged; Policy.Read.All, which the other policies need, covers it"},
	{ID: "serviceprincipals.owners", Method: "GET", Version: "v1.0", Path: "/servicePrincipals/{id}/owners",
		Use: "owners of every service principal (tenant source)", Options: []string{"$skiptoken"},
		Delegated: "Application.Read.All", Application: "Application.Read.All", Role: dirReader, Licence: anyLicence, Class: ClassDirectory,
		Doc: learn + "serviceprincipal-list-owners"},
}

// SignalsEndpoints are the signals source's requests (collect/signals):
// what Microsoft's own detections already raised.
var SignalsEndpoints = []*Endpoint{
	{ID: "signals.riskyServicePrincipals", Method: "GET", Version: "v1.0", Path: "/identityProtection/riskyServicePrincipals",
		Use: "service principals Identity Protection holds at risk (signals source)", Options: []string{"$skiptoken"},
		Delegated: "IdentityRiskyServicePrincipal.Read.All", Application: "IdentityRiskyServicePrincipal.Read.All", Role: securityReaders,
		Licence: workloadID, Class: ClassDirectory, Doc: learn + "identityprotectionroot-list-riskyserviceprincipals"},
	{ID: "signals.servicePrincipalRiskDetections", Method: "GET", Version: "v1.0", Path: "/identityProtection/servicePrincipalRiskDetections",
		Use: "risk detections of service principals (signals source)", Options: []string{"$skiptoken"},
		Delegated: "IdentityRiskEvent.Read.All", Application: "IdentityRiskEvent.Read.All", Role: securityReaders,
		Licence: workloadID, Class: ClassDirectory, Doc: learn + "identityprotectionroot-list-serviceprincipalriskdetections",
		Note: "the page documents $filter and $select; the tool reads every detection"},
	{ID: "signals.incidents", Method: "GET", Version: "v1.0", Path: "/security/incidents",
		Use:     "Defender XDR incidents with their alerts; those naming the subject kept apart from the rest (signals source)",
		Options: []string{"$expand", "$skiptoken"}, Expand: []string{"alerts"},
		Delegated: "SecurityIncident.Read.All", Application: "SecurityIncident.Read.All",
		Licence: "Microsoft Defender XDR", Class: ClassSecurity, Doc: learn + "security-list-incidents",
		Note: "the page documents $count, $filter, $skip, $top and $expand, and $expand=alerts in its second example; the throttling page lists 150 requests per minute per app per tenant for alerts on /security and nothing for incidents, so the tool paces incidents the same"},
	{ID: "signals.alerts", Method: "GET", Version: "v1.0", Path: "/security/alerts_v2",
		Use:     "Defender XDR alerts updated since the window start; those naming the subject kept apart from the rest (signals source)",
		Options: []string{"$filter", "$skiptoken"}, Filter: "lastUpdateDateTime ge START",
		Delegated: "SecurityAlert.Read.All", Application: "SecurityAlert.Read.All",
		Licence: "Microsoft Defender XDR", Class: ClassSecurity, Doc: learn + "security-list-alerts_v2",
		Note: "the page documents $count, $filter, $skip and $top, $filter on assignedTo, classification, determination, createdDateTime, lastUpdateDateTime, severity, serviceSource and status, and paging by @odata.nextLink (the tool sends only $filter, the largest $top not being documented; $skiptoken only as the service's nextLinks carry it); " +
			"the tool asks lastUpdateDateTime ge the window start, because an alert raised before the window and updated in it (new evidence, a status or classification change) belongs to the case, and createdDateTime would miss it; " +
			"the throttling page lists 150 requests per minute per app per tenant for alerts"},
	{ID: "signals.huntingQuery", Method: "POST", Version: "v1.0", Path: "/security/runHuntingQuery",
		Use:       "advanced hunting: the subject's IdentityLogonEvents, CloudAppEvents, EmailEvents and UrlClickEvents, one query per table and window (signals source)",
		Delegated: "ThreatHunting.Read.All", Application: "ThreatHunting.Read.All",
		Licence: "Microsoft Defender XDR", Class: ClassHunting, Doc: learn + "security-security-runhuntingquery",
		Note: "body {Query, Timespan}; the answer is {schema, results}, not paged. Limits (Defender XDR advanced hunting API page, https://learn.microsoft.com/defender-xdr/api-advanced-hunting, and Defender for Endpoint's, https://learn.microsoft.com/defender-endpoint/api/run-advanced-query-api): " +
			"data of the last 30 days only, at most 100,000 rows per result, at least 45 calls per minute per tenant, a CPU quota per 15-minute cycle, a request may run up to 200 s (the XDR page: 3 minutes), 429 when the call or CPU quota is reached; " +
			"the tool records the part of the window older than 30 days as not collected and splits a window whose answer holds 100,000 rows until every answer is under the limit"},
}

const (
	securityReaders = "Global Reader, Security Operator, Security Reader or Security Administrator"
	workloadID      = "Microsoft Entra Workload ID Premium"
)

func init() {
	Endpoints = append(Endpoints, TenantEndpoints...)
	Endpoints = append(Endpoints, SignalsEndpoints...)
	for _, v := range []string{"beta", "v1.0"} {
		docView := ""
		if v == "beta" {
			docView = beta
		}
		Endpoints = append(Endpoints,
			&Endpoint{ID: "auditquery.create." + v, Method: "POST", Version: v, Path: "/security/auditLog/queries", Use: "submit a unified audit log query",
				Delegated: "AuditLogsQuery.Read.All", Application: "AuditLogsQuery.Read.All", Role: "Compliance Administrator or a Purview audit role",
				Licence: "Purview Audit (Standard)", Class: ClassAuditQuery, Doc: learn + "security-auditcoreroot-post-auditlogqueries" + docView},
			&Endpoint{ID: "auditquery.get." + v, Method: "GET", Version: v, Path: "/security/auditLog/queries/{id}", Use: "poll a unified audit log query",
				Delegated: "AuditLogsQuery.Read.All", Application: "AuditLogsQuery.Read.All", Role: "Compliance Administrator or a Purview audit role",
				Licence: "Purview Audit (Standard)", Class: ClassAuditRead, Doc: learn + "security-auditlogquery-get" + docView},
			&Endpoint{ID: "auditquery.records." + v, Method: "GET", Version: v, Path: "/security/auditLog/queries/{id}/records", Use: "read a query's records",
				Options: []string{"$top", "$skiptoken"}, MaxTop: 1000,
				Delegated: "AuditLogsQuery.Read.All", Application: "AuditLogsQuery.Read.All", Role: "Compliance Administrator or a Purview audit role",
				Licence: "Purview Audit (Standard)", Class: ClassAuditRead, Doc: learn + "security-auditlogquery-list-records" + docView,
				Note: "the page size is not documented; the tool sends $top as peers do"},
		)
	}
}

// ByID returns the entry with id, or nil.
func ByID(id string) *Endpoint {
	for _, e := range Endpoints {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// Match finds the entry of a request: method, and the URL path below the
// service root ("/v1.0/users/abc"). Segment names match case-insensitively,
// as Graph matches them; "{name}" matches one segment (or the value inside a
// function call's parentheses).
func Match(method, escapedPath string) *Endpoint {
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	if len(segs) < 2 {
		return nil
	}
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	version, rest := segs[0], segs[1:]
	for _, e := range Endpoints {
		if e.Version != version || !strings.EqualFold(e.Method, method) {
			continue
		}
		tmpl := strings.Split(strings.Trim(e.Path, "/"), "/")
		if len(tmpl) != len(rest) {
			continue
		}
		ok := true
		for i, t := range tmpl {
			if !segMatch(t, rest[i]) {
				ok = false
				break
			}
		}
		if ok {
			return e
		}
	}
	return nil
}

func segMatch(tmpl, seg string) bool {
	open := strings.IndexByte(tmpl, '{')
	if open < 0 {
		return strings.EqualFold(tmpl, seg)
	}
	close := strings.IndexByte(tmpl, '}')
	prefix, suffix := tmpl[:open], tmpl[close+1:]
	if len(seg) < len(prefix)+len(suffix)+1 {
		return false
	}
	return strings.EqualFold(seg[:len(prefix)], prefix) && strings.EqualFold(seg[len(seg)-len(suffix):], suffix)
}

// Violation is one way a request breaks its entry's documented rules.
type Violation struct {
	Status  int    // the answer Graph gives: 400 or 403
	Code    string // Graph's error code
	Message string
}

func (v Violation) Error() string { return fmt.Sprintf("%d %s: %s", v.Status, v.Code, v.Message) }

// CheckQuery checks a raw query string (as sent on the wire) against the
// entry: option names with a literal "$" (a percent-encoded "%24filter" is
// not an option name to Graph), only documented options, each once, $top in
// range and $select of properties of this version only. Parameters without
// "$" are not OData options and are not checked here.
func (e *Endpoint) CheckQuery(rawQuery string) []Violation {
	var out []Violation
	bad := func(format string, a ...any) {
		out = append(out, Violation{Status: 400, Code: "BadRequest", Message: fmt.Sprintf(format, a...)})
	}
	badTop := func(val string) {
		out = append(out, Violation{Status: 400, Code: "Request_BadRequest",
			Message: fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", val, e.MaxTop)})
	}
	seen := map[string]bool{}
	if rawQuery == "" {
		return nil
	}
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		rawName, rawVal, _ := strings.Cut(part, "=")
		if len(rawName) >= 3 && strings.EqualFold(rawName[:3], "%24") {
			bad("Query option '%s' is sent percent-encoded; Graph reads only '$%s' as an OData option, so it would be ignored.", rawName, rawName[3:])
			continue
		}
		if !strings.HasPrefix(rawName, "$") {
			continue
		}
		name := rawName
		if !slices.Contains(e.Options, name) {
			bad("The query parameter '%s' is not supported by %s (documented: %s).", name, e.Name(), strings.Join(e.Options, ", "))
			continue
		}
		if seen[name] {
			bad("Query option '%s' was specified more than once, but it must be specified at most once.", name)
			continue
		}
		seen[name] = true
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			bad("The query specified in the URI is not valid.")
			continue
		}
		switch name {
		case "$top":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || (e.MaxTop > 0 && n > e.MaxTop) {
				badTop(val)
			}
		case "$filter":
			if e.SecondsProp == "" {
				break
			}
			for _, m := range timeLiteral.FindAllStringSubmatch(val, -1) {
				if strings.EqualFold(m[1], e.SecondsProp) && !secondsForm.MatchString(m[2]) {
					bad("Invalid filter: %s must be given as YYYY-MM-DDThh:mm:ssZ, not '%s'.", e.SecondsProp, m[2])
				}
			}
		case "$expand":
			for _, p := range strings.Split(val, ",") {
				if p = strings.TrimSpace(p); !slices.ContainsFunc(e.Expand, func(s string) bool { return strings.EqualFold(s, p) }) {
					bad("Could not find a navigation property named '%s' on type 'microsoft.graph.%s' that the tool may expand (documented here: %s).",
						p, entityOf(e), strings.Join(e.Expand, ", "))
				}
			}
		case "$select":
			if e.Select == nil {
				break
			}
			for _, p := range strings.Split(val, ",") {
				p = strings.TrimSpace(p)
				if !slices.ContainsFunc(e.Select, func(s string) bool { return strings.EqualFold(s, p) }) {
					bad("Could not find a property named '%s' on type 'microsoft.graph.%s' in %s.", p, entityOf(e), e.Version)
				}
			}
		}
	}
	return out
}

var (
	timeLiteral = regexp.MustCompile(`(?i)\b([a-z]+)\s+(?:eq|ne|ge|gt|le|lt)\s+([0-9][^\s)]*)`)
	secondsForm = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
)

// CheckToken says whether a token of this kind may call the endpoint:
// app-only tokens are refused where application permissions are not
// supported, as Graph refuses them (403 Authorization_RequestDenied).
func (e *Endpoint) CheckToken(appOnly bool) *Violation {
	if appOnly && !e.AppOnly() {
		return &Violation{Status: 403, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}
	}
	return nil
}

func entityOf(e *Endpoint) string {
	switch {
	case e.ID == "users.messages":
		return "message"
	case e.ID == "users.mailFolder":
		return "mailFolder"
	case e.ID == "organization":
		return "organization"
	case e.ID == "users.ownedObjects", e.ID == "applications.owners", e.ID == "serviceprincipals.owners":
		return "directoryObject"
	case strings.HasPrefix(e.ID, "signins"):
		return "signIn"
	case strings.HasPrefix(e.ID, "serviceprincipals"):
		return "servicePrincipal"
	case strings.HasPrefix(e.ID, "applications"):
		return "application"
	case strings.HasPrefix(e.ID, "users"):
		return "user"
	}
	return "entity"
}
