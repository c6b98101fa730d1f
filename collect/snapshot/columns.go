package snapshot

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/tidwall/gjson"
)

// CSV views of the snapshot parts, for people; the .jsonl files are the
// evidence. Multi-valued fields stay JSON in one cell.

func odataType(name string) collect.Column { return ODataType(name) }

// ODataType is a column holding the record's @odata.type without its
// "#microsoft.graph." prefix.
func ODataType(name string) collect.Column {
	return collect.Func(name, func(r gjson.Result) string {
		return strings.TrimPrefix(r.Get("@odata\\.type").String(), "#microsoft.graph.")
	})
}

// UserColumns is the user object.
var UserColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("User principal name", "userPrincipalName"), collect.Str("Display name", "displayName"),
	collect.Str("Mail", "mail"), collect.Str("Account enabled", "accountEnabled"), collect.Time("Created (UTC)", "createdDateTime"),
	collect.Time("Last password change (UTC)", "lastPasswordChangeDateTime"),
	collect.Time("Sessions valid from (UTC)", "signInSessionsValidFromDateTime"),
	collect.Time("Last sign-in (UTC)", "signInActivity.lastSignInDateTime"),
	collect.Time("Last non-interactive sign-in (UTC)", "signInActivity.lastNonInteractiveSignInDateTime"),
	collect.Time("Last successful sign-in (UTC)", "signInActivity.lastSuccessfulSignInDateTime"),
	collect.Raw("Proxy addresses", "proxyAddresses"), collect.Str("User type", "userType"),
	collect.Str("On-premises sync", "onPremisesSyncEnabled"), collect.Time("On-premises last sync (UTC)", "onPremisesLastSyncDateTime"),
}

// MethodColumns are authentication methods.
var MethodColumns = []collect.Column{
	odataType("Type"), collect.Str("Id", "id"), collect.Str("Display name", "displayName"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Str("Phone number", "phoneNumber"), collect.Str("Phone type", "phoneType"),
	collect.Str("Email", "emailAddress"), collect.Str("Device tag", "deviceTag"), collect.Str("App version", "phoneAppVersion"),
	collect.Str("Model", "model"),
}

// DeviceColumns are registered and owned devices.
var DeviceColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Device ID", "deviceId"), collect.Str("Display name", "displayName"),
	collect.Str("Operating system", "operatingSystem"), collect.Str("OS version", "operatingSystemVersion"),
	collect.Str("Trust type", "trustType"), collect.Str("Compliant", "isCompliant"), collect.Str("Managed", "isManaged"),
	collect.Time("Registered (UTC)", "registrationDateTime"), collect.Time("Approximate last sign-in (UTC)", "approximateLastSignInDateTime"),
	collect.Str("Enabled", "accountEnabled"),
}

// RuleColumns are inbox rules.
var RuleColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Name", "displayName"), collect.Str("Sequence", "sequence"), collect.Str("Enabled", "isEnabled"),
	collect.Raw("Forward to", "actions.forwardTo"), collect.Raw("Forward as attachment to", "actions.forwardAsAttachmentTo"),
	collect.Raw("Redirect to", "actions.redirectTo"), collect.Str("Move to folder", "actions.moveToFolder"),
	collect.Str("Copy to folder", "actions.copyToFolder"), collect.Str("Delete", "actions.delete"),
	collect.Str("Permanent delete", "actions.permanentDelete"), collect.Str("Mark as read", "actions.markAsRead"),
	collect.Raw("Conditions", "conditions"), collect.Raw("Exceptions", "exceptions"),
}

// FolderColumns are the mail folders rules point at.
var FolderColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Display name", "displayName"), collect.Str("Parent folder id", "parentFolderId"),
	collect.Str("Items", "totalItemCount"), collect.Str("Hidden", "isHidden"),
}

// MailboxColumns are mailbox settings.
var MailboxColumns = []collect.Column{
	collect.Str("Automatic replies", "automaticRepliesSetting.status"), collect.Str("External audience", "automaticRepliesSetting.externalAudience"),
	collect.Str("External reply", "automaticRepliesSetting.externalReplyMessage"),
	collect.Str("Internal reply", "automaticRepliesSetting.internalReplyMessage"),
	collect.Str("Time zone", "timeZone"), collect.Str("Language", "language.locale"), collect.Str("Delegate meeting messages", "delegateMeetingMessageDeliveryOptions"),
	collect.Str("Archive folder", "archiveFolder"),
}

// GrantColumns are delegated permission grants.
var GrantColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Client (service principal id)", "clientId"), collect.Str("Consent type", "consentType"),
	collect.Str("Principal id", "principalId"), collect.Str("Resource id", "resourceId"), collect.Str("Scope", "scope"),
}

// AppRoleColumns are app role assignments.
var AppRoleColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Time("Created (UTC)", "createdDateTime"), collect.Str("Resource", "resourceDisplayName"),
	collect.Str("Resource id", "resourceId"), collect.Str("App role id", "appRoleId"), collect.Str("Principal", "principalDisplayName"),
	collect.Str("Principal type", "principalType"),
}

func creds(key string) collect.Column {
	return collect.Func(key+" (keyId, hint, name, start, end)", func(r gjson.Result) string {
		var parts []string
		for _, c := range r.Get(key).Array() {
			parts = append(parts, strings.Join([]string{c.Get("keyId").String(), c.Get("hint").String(), c.Get("displayName").String(),
				c.Get("startDateTime").String(), c.Get("endDateTime").String()}, " | "))
		}
		return strings.Join(parts, "; ")
	})
}

// ObjectColumns are owned and created directory objects and applications.
var ObjectColumns = []collect.Column{
	odataType("Type"), collect.Str("Id", "id"), collect.Str("App id", "appId"), collect.Str("Display name", "displayName"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Str("Sign-in audience", "signInAudience"),
	collect.Str("Verified publisher", "verifiedPublisher.displayName"), creds("passwordCredentials"), creds("keyCredentials"),
}

// SPColumns are service principals.
var SPColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("App id", "appId"), collect.Str("Display name", "displayName"),
	collect.Str("Owner tenant", "appOwnerOrganizationId"),
	collect.Str("Verified publisher", "verifiedPublisher.displayName"), collect.Str("Verified publisher id", "verifiedPublisher.verifiedPublisherId"),
	collect.Str("Type", "servicePrincipalType"), creds("passwordCredentials"), creds("keyCredentials"),
}

// MemberOfColumns are transitive group and role memberships.
var MemberOfColumns = []collect.Column{
	odataType("Type"), collect.Str("Id", "id"), collect.Str("Display name", "displayName"), collect.Str("Role template id", "roleTemplateId"),
	collect.Raw("Group types", "groupTypes"), collect.Str("Security enabled", "securityEnabled"),
}

// PIMColumns are PIM role eligibility and assignment instances.
var PIMColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Role definition id", "roleDefinitionId"), collect.Str("Scope", "directoryScopeId"),
	collect.Time("Start (UTC)", "startDateTime"), collect.Time("End (UTC)", "endDateTime"), collect.Str("Member type", "memberType"),
	collect.Str("Assignment type", "assignmentType"),
}

// RiskyUserColumns are the Identity Protection user risk.
var RiskyUserColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("User", "userPrincipalName"), collect.Str("Risk level", "riskLevel"), collect.Str("Risk state", "riskState"),
	collect.Str("Risk detail", "riskDetail"), collect.Time("Updated (UTC)", "riskLastUpdatedDateTime"),
}

// RiskDetectionColumns are risk detections.
var RiskDetectionColumns = []collect.Column{
	collect.Time("Detected (UTC)", "detectedDateTime"), collect.Str("Id", "id"), collect.Str("Risk event type", "riskEventType"),
	collect.Str("Risk level", "riskLevel"), collect.Str("Risk state", "riskState"), collect.Str("IP address", "ipAddress"),
	collect.Func("Location", func(r gjson.Result) string {
		var p []string
		for _, k := range []string{"location.city", "location.state", "location.countryOrRegion"} {
			if v := r.Get(k).String(); v != "" {
				p = append(p, v)
			}
		}
		return strings.Join(p, ", ")
	}),
	collect.Str("Request id", "requestId"), collect.Str("Activity", "activity"),
}

// GuestColumns are guest users.
var GuestColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Display name", "displayName"), collect.Str("Mail", "mail"),
	collect.Str("User principal name", "userPrincipalName"), collect.Time("Created (UTC)", "createdDateTime"),
	collect.Str("Creation type", "creationType"), collect.Str("External user state", "externalUserState"),
}
