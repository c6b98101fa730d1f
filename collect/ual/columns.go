package ual

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/tidwall/gjson"
)

// Columns follow the Purview portal's audit export (CreationDate, UserIds,
// Operations, RecordType, Workload, ClientIP, ObjectId, the full AuditData
// as one JSON cell), with the record id and a few flattened keys that
// mailbox-takeover triage reads first.
var Columns = []collect.Column{
	collect.Time("CreationDate (UTC)", "createdDateTime"),
	collect.Str("RecordId", "id"),
	collect.First("UserIds", "userPrincipalName", "userId"),
	collect.Str("Operations", "operation"),
	collect.Str("RecordType", "auditLogRecordType"),
	collect.Str("Workload", "service"),
	collect.Str("ClientIP", "clientIp"),
	collect.Str("ObjectId", "objectId"),
	collect.Str("ResultStatus", "auditData.ResultStatus"),
	collect.First("AppId", "auditData.AppId", "auditData.ApplicationId", "auditData.ClientAppId"),
	collect.Str("UserAgent", "auditData.UserAgent"),
	collect.Str("LogonError", "auditData.LogonError"),
	collect.At("Parameters", "auditData.Parameters", func(v gjson.Result) string {
		var parts []string
		v.ForEach(func(_, p gjson.Result) bool {
			parts = append(parts, p.Get("Name").String()+"="+p.Get("Value").String())
			return true
		})
		return strings.Join(parts, "; ")
	}),
	collect.Raw("AuditData", "auditData"),
}

// Presets are named operation lists for --preset.
var Presets = map[string][]string{
	// mailbox-takeover: what a business-email-compromise responder reads
	// first, see docs/sources.md for why each operation is there.
	"mailbox-takeover": {
		// sign-ins (the only API-readable sign-in trail on Entra ID Free)
		"UserLoggedIn", "UserLoginFailed",
		// inbox rules: created in OWA or PowerShell, or by Outlook (MAPI)
		"New-InboxRule", "Set-InboxRule", "Enable-InboxRule", "Remove-InboxRule", "UpdateInboxRules",
		// mailbox forwarding and delegation
		"Set-Mailbox", "Add-MailboxPermission", "Add-RecipientPermission", "Add-MailboxFolderPermission",
		// reading, sending and covering tracks
		"MailItemsAccessed", "Send", "SendAs", "SendOnBehalf", "SoftDelete", "HardDelete", "MoveToDeletedItems",
		// OAuth consent and persistence
		"Consent to application.", "Add delegated permission grant.", "Add app role assignment grant to user.",
		"Add service principal.", "User registered security info", "Update user.",
		// data taken
		"FileDownloaded", "FileSyncDownloadedFull",
	},
}
