package signals

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/snapshot"
)

// NotCollectablePrefix starts the check of every not_checked item that no
// Graph API can answer: the gap is named in the bundle, with the manual
// step that closes it.
const NotCollectablePrefix = "not collectable through Graph: "

// manualCheck is a checklist item with no Graph API and the Exchange Online
// PowerShell (or portal) step that answers it for one mailbox.
type manualCheck struct {
	name, why string
	// step is the manual step for one mailbox; "{id}" is replaced by the
	// subject's address, quoted for PowerShell. all is the step for every
	// mailbox (a tenant-wide collection).
	step, all string
	// where the step is taken ("" is Exchange Online PowerShell).
	where string
}

// manualChecks are the items of the compromise checklists (Microsoft's
// "Responding to a compromised email account" and the peers' checklists)
// that Graph does not expose.
var manualChecks = []manualCheck{
	{name: "hidden inbox rules",
		why:  "Graph's messageRules list only the rules Outlook shows; a rule hidden through MAPI is listed only by Exchange Online PowerShell",
		step: "Get-InboxRule -Mailbox {id} -IncludeHidden | Format-List Name,Identity,Enabled,Priority,From,SentTo,SubjectContainsWords,ForwardTo,ForwardAsAttachmentTo,RedirectTo,MoveToFolder,DeleteMessage,StopProcessingRules",
		all:  "Get-Mailbox -ResultSize Unlimited | ForEach-Object { Get-InboxRule -Mailbox $_.UserPrincipalName -IncludeHidden }"},
	{name: "mailbox forwarding addresses",
		why:  "the mailbox's ForwardingAddress and ForwardingSmtpAddress (forwarding set by an administrator or in Outlook on the web) are not in Graph's mailboxSettings",
		step: "Get-Mailbox -Identity {id} | Format-List ForwardingAddress,ForwardingSmtpAddress,DeliverToMailboxAndForward",
		all:  "Get-Mailbox -ResultSize Unlimited | Where-Object { $_.ForwardingAddress -or $_.ForwardingSmtpAddress } | Format-List UserPrincipalName,ForwardingAddress,ForwardingSmtpAddress,DeliverToMailboxAndForward"},
	{name: "mailbox delegates (FullAccess)",
		why:  "mailbox permissions granted to other users are an Exchange setting with no Graph API",
		step: "Get-MailboxPermission -Identity {id} | Where-Object { -not $_.IsInherited -and $_.User -notlike 'NT AUTHORITY\\SELF' }",
		all:  "Get-Mailbox -ResultSize Unlimited | Get-MailboxPermission | Where-Object { -not $_.IsInherited -and $_.User -notlike 'NT AUTHORITY\\SELF' }"},
	{name: "SendAs and SendOnBehalf permissions",
		why:  "who may send as or on behalf of the mailbox is an Exchange setting with no Graph API",
		step: "Get-RecipientPermission -Identity {id} | Where-Object { $_.Trustee -notlike 'NT AUTHORITY\\SELF' }; Get-Mailbox -Identity {id} | Format-List GrantSendOnBehalfTo",
		all:  "Get-RecipientPermission -ResultSize Unlimited | Where-Object { $_.Trustee -notlike 'NT AUTHORITY\\SELF' }"},
	{name: "app passwords",
		why: "app passwords (per-user MFA, for legacy clients) have no Graph API: neither their existence nor their creation time is readable",
		step: "ask the user to open https://mysignins.microsoft.com/security-info, which lists the user's app passwords; in the Entra admin center, " +
			"Per-user multifactor authentication > service settings shows whether users may create them; sign-ins with one are legacy-authentication sign-ins (signins/, clientAppUsed)",
		all:   "Entra admin center > Per-user multifactor authentication > service settings: whether users may create app passwords; each user's Security info page lists theirs",
		where: "the user's Security info page and the Entra admin center"},
}

// psQuote is s as a PowerShell single-quoted string (a quote doubled).
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// notCollectable names every manual check for each subject (or once for
// the tenant), so the gap is explicit in the findings report.
func notCollectable(job collect.Job) []snapshot.NotChecked {
	var out []snapshot.NotChecked
	for _, m := range manualChecks {
		where := m.where
		if where == "" {
			where = "Exchange Online PowerShell, after Connect-ExchangeOnline"
		}
		if job.AllUsers {
			out = append(out, snapshot.NotChecked{Check: NotCollectablePrefix + m.name, Scope: "tenant",
				Reason: m.why + "; manual step (" + where + "): " + m.all})
			continue
		}
		for _, u := range job.Users {
			id := u.UPN
			if id == "" {
				id = u.Requested
			}
			out = append(out, snapshot.NotChecked{Check: NotCollectablePrefix + m.name, Scope: id,
				Reason: m.why + "; manual step (" + where + "): " + strings.ReplaceAll(m.step, "{id}", psQuote(id))})
		}
	}
	return out
}
