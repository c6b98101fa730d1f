package collect

import (
	"fmt"

	"github.com/tidwall/gjson"
)

// The CSV views follow the Entra admin center's downloads, column for
// column, as far as the Graph records carry the values (see
// docs/format.md for the mapping and its sources). Columns the portal has
// but Graph does not return stay empty; columns the portal lacks come last.

func locationCol() Column {
	return pathColumn("Location", "location", func(v gjson.Result) string {
		return joinNonEmpty(", ", v.Get("city").String(), v.Get("state").String(), v.Get("countryOrRegion").String())
	})
}

func statusCol() Column {
	return pathColumn("Status", "status", func(v gjson.Result) string {
		code := v.Get("errorCode")
		switch {
		case !code.Exists():
			return ""
		case code.Int() == 0:
			return "Success"
		default:
			return "Failure"
		}
	})
}

// UserSignInColumns are the interactive and non-interactive user sign-in
// tabs' download columns (InteractiveSignIns_*.csv, NonInteractiveSignIns_*.csv).
var UserSignInColumns = concatColumns([]Column{
	Time("Date (UTC)", "createdDateTime"),
	Str("Request ID", "id"),
	Str("User agent", "userAgent"),
	Str("Correlation ID", "correlationId"),
	Str("User ID", "userId"),
	Str("User", "userDisplayName"),
	Str("Username", "userPrincipalName"),
	Str("User type", "userType"),
	Str("Cross tenant access type", "crossTenantAccessType"),
	Str("Incoming token type", "incomingTokenType"),
	Str("Authentication Protocol", "authenticationProtocol"),
	Str("Unique token identifier", "uniqueTokenIdentifier"),
	Str("Original transfer method", "originalTransferMethod"),
	Str("Client credential type", "clientCredentialType"),
	Str("Token Protection - Sign In Session", "tokenProtectionStatusDetails.signInSessionStatus"),
	Str("Token Protection - Sign In Session StatusCode", "tokenProtectionStatusDetails.signInSessionStatusCode"),
}, appResourceStatusColumns(), []Column{
	Str("Client app", "clientAppUsed"),
	Str("Device ID", "deviceDetail.deviceId"),
	Str("Browser", "deviceDetail.browser"),
	Str("Operating System", "deviceDetail.operatingSystem"),
	Str("Compliant", "deviceDetail.isCompliant"),
	Str("Managed", "deviceDetail.isManaged"),
	Str("Join Type", "deviceDetail.trustType"),
	Str("Multifactor authentication result", "status.additionalDetails"),
	Str("Multifactor authentication auth method", "mfaDetail.authMethod"),
	Str("Multifactor authentication auth detail", "mfaDetail.authDetail"),
	Str("Authentication requirement", "authenticationRequirement"),
	Str("Sign-in identifier", "signInIdentifier"),
	Str("Session ID", "sessionId"),
	Str("IP address (seen by resource)", "ipAddressFromResourceProvider"),
	Str("Through Global Secure Access", "isThroughGlobalSecureAccess"),
	Str("Global Secure Access IP address", "globalSecureAccessIpAddress"),
	Str("Autonomous system number", "autonomousSystemNumber"),
	Str("Flagged for review", "flaggedForReview"),
	Str("Token issuer type", "tokenIssuerType"),
	Str("Token issuer name", "tokenIssuerName"),
	Str("Latency", "processingTimeInMilliseconds"),
	Str("Conditional Access", "conditionalAccessStatus"),
	Str("Managed Identity type", "managedServiceIdentity.msiType"),
	Str("Associated Resource Id", "managedServiceIdentity.associatedResourceId"),
	Str("Federated Token Id", "managedServiceIdentity.federatedTokenId"),
	Str("Federated Token Issuer", "managedServiceIdentity.federatedTokenIssuer"),
	// Not in the portal download.
	Raw("Sign-in event types", "signInEventTypes"),
	Str("Risk state", "riskState"),
	Str("Risk level during sign-in", "riskLevelDuringSignIn"),
	Str("Risk level aggregated", "riskLevelAggregated"),
	Raw("Risk event types", "riskEventTypes_v2"),
	Raw("Applied conditional access policies", "appliedConditionalAccessPolicies"),
	Raw("Authentication details", "authenticationDetails"),
})

// appResourceStatusColumns are the columns every sign-in tab of the portal
// download shares, in its order: application, resource, tenants, IP
// address, location and status.
func appResourceStatusColumns() []Column {
	return []Column{
		Str("Application", "appDisplayName"),
		Str("Application ID", "appId"),
		Str("App owner tenant ID", "appOwnerTenantId"),
		Str("Resource", "resourceDisplayName"),
		Str("Resource ID", "resourceId"),
		Str("Resource tenant ID", "resourceTenantId"),
		Str("Resource owner tenant ID", "resourceOwnerTenantId"),
		Str("Home tenant ID", "homeTenantId"),
		Str("Home tenant name", "homeTenantName"),
		Str("IP address", "ipAddress"),
		locationCol(),
		statusCol(),
		Str("Sign-in error code", "status.errorCode"),
		Str("Failure reason", "status.failureReason"),
	}
}

// concatColumns joins column lists into a new one.
func concatColumns(parts ...[]Column) []Column {
	var out []Column
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// appSignInHead are the service principal tab's download columns
// (ApplicationSignIns_*.csv).
func appSignInHead() []Column {
	return concatColumns([]Column{
		Time("Date (UTC)", "createdDateTime"),
		Str("Request ID", "id"),
		Str("Correlation ID", "correlationId"),
		Str("Service principal ID", "servicePrincipalId"),
		Str("Service principal name", "servicePrincipalName"),
		Str("Credential key ID", "servicePrincipalCredentialKeyId"),
		Str("Credential thumbprint", "servicePrincipalCredentialThumbprint"),
	}, appResourceStatusColumns(), []Column{
		Str("Conditional Access", "conditionalAccessStatus"),
	})
}

// ServicePrincipalSignInColumns: the service principal tab, then what the
// portal lacks.
var ServicePrincipalSignInColumns = append(appSignInHead(),
	Raw("Sign-in event types", "signInEventTypes"),
	Raw("Applied conditional access policies", "appliedConditionalAccessPolicies"),
)

// ManagedIdentitySignInColumns: the service principal tab's columns plus
// the managed identity fields (no published column list was found for this
// tab; see docs/format.md).
var ManagedIdentitySignInColumns = append(appSignInHead(),
	Str("Managed Identity type", "managedServiceIdentity.msiType"),
	Str("Associated Resource Id", "managedServiceIdentity.associatedResourceId"),
	Str("Federated Token Id", "managedServiceIdentity.federatedTokenId"),
	Str("Federated Token Issuer", "managedServiceIdentity.federatedTokenIssuer"),
	Raw("Sign-in event types", "signInEventTypes"),
	Raw("Applied conditional access policies", "appliedConditionalAccessPolicies"),
)

// AuditColumns follow the Entra admin center's audit log download
// (AuditLogs_*.csv): three targets with five modified properties each and
// six additional details, then the record id, which side of the user's
// trail matched, and the full JSON of the multi-valued fields.
var AuditColumns = func() []Column {
	cols := []Column{
		Time("Date (UTC)", "activityDateTime"),
		Str("CorrelationId", "correlationId"),
		Str("Service", "loggedByService"),
		Str("Category", "category"),
		Str("Activity", "activityDisplayName"),
		Str("Result", "result"),
		Str("ResultReason", "resultReason"),
		At("User Agent", "additionalDetails", func(v gjson.Result) string {
			for _, d := range v.Array() {
				if d.Get("key").String() == "User-Agent" {
					return d.Get("value").String()
				}
			}
			return ""
		}),
		Lookup("ActorType", func(get Getter) string {
			if get("initiatedBy.user.id").String() != "" {
				return "User"
			}
			if get("initiatedBy.app.appId").String() != "" || get("initiatedBy.app.servicePrincipalId").String() != "" {
				return "Application"
			}
			return ""
		}),
		First("ActorDisplayName", "initiatedBy.user.displayName", "initiatedBy.app.displayName"),
		First("ActorObjectId", "initiatedBy.user.id", "initiatedBy.app.servicePrincipalId"),
		Str("ActorUserPrincipalName", "initiatedBy.user.userPrincipalName"),
		First("IPAddress", "initiatedBy.user.ipAddress", "initiatedBy.app.ipAddress"),
		Str("ActorHomeTenantId", "initiatedBy.user.homeTenantId"),
		Str("ActorHomeTenantName", "initiatedBy.user.homeTenantName"),
		Str("ActorServicePrincipalId", "initiatedBy.app.servicePrincipalId"),
		Str("ActorServicePrincipalName", "initiatedBy.app.servicePrincipalName"),
	}
	for t := 1; t <= 3; t++ {
		p := fmt.Sprintf("targetResources.%d.", t-1)
		n := fmt.Sprintf("Target%d", t)
		cols = append(cols, Str(n+"Type", p+"type"), Str(n+"DisplayName", p+"displayName"), Str(n+"ObjectId", p+"id"),
			Str(n+"UserPrincipalName", p+"userPrincipalName"))
		for m := 1; m <= 5; m++ {
			mp := fmt.Sprintf("%smodifiedProperties.%d.", p, m-1)
			mn := fmt.Sprintf("%sModifiedProperty%d", n, m)
			cols = append(cols, Str(mn+"Name", mp+"displayName"), Str(mn+"OldValue", mp+"oldValue"), Str(mn+"NewValue", mp+"newValue"))
		}
	}
	for d := 1; d <= 6; d++ {
		p := fmt.Sprintf("additionalDetails.%d.", d-1)
		cols = append(cols, Str(fmt.Sprintf("AdditionalDetail%dKey", d), p+"key"), Str(fmt.Sprintf("AdditionalDetail%dValue", d), p+"value"))
	}
	return append(cols,
		// Not in the portal download.
		Str("Id", "id"),
		NoteColumn("Matched", SideNote),
		Raw("TargetResources", "targetResources"),
		Raw("AdditionalDetails", "additionalDetails"),
	)
}()
