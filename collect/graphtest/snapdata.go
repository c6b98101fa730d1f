package graphtest

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// Persistence lists the persistence artefacts the story seeds in the
// victim's account (what a responder screenshots before remediation) and the
// benign objects beside them, by id, so tests can check that a snapshot
// captured each one and that findings flag exactly the attacker's.
type Persistence struct {
	AuthenticatorMethodID string    // microsoftAuthenticatorAuthenticationMethod registered at Story.MFARegistered.Time
	InboxRuleID           string    // the "." rule forwarding to attacker@protonmail.example (Story.InboxRule.ID)
	ConsentGrantID        string    // oAuth2PermissionGrant to "Mail Sync Pro" (Mail.Send, Mail.ReadWrite, ...)
	AppRoleAssignmentID   string    // appRoleAssignment of the victim to "Mail Sync Pro"
	AppRegistrationID     string    // object id of the victim's app registration "Marketing Dashboard"
	NewSecretKeyID        string    // keyId of the password credential the attacker added to it
	DeviceID              string    // object id of the device the attacker registered
	GuestID               string    // the guest the attacker invited (tenant-wide snapshot)
	MessageID             string    // internetMessageId of the phishing message in the victim's mailbox
	OtherMessageID        string    // internetMessageId of a benign message in the same mailbox
	SecretTime            time.Time // when the new secret was added
	DeviceTime            time.Time // when the device was registered
	GuestTime             time.Time // when the guest was invited

	BenignMethodIDs  []string // the victim's own authentication methods
	BenignRuleIDs    []string // the victim's own inbox rules
	BenignGrantIDs   []string // consents to Microsoft and publisher-verified apps
	BenignKeyIDs     []string // old credentials of app registrations
	BenignDeviceIDs  []string // the victim's corporate laptop
	BenignGuestIDs   []string // a long-standing partner guest
	BenignAppRoleIDs []string // an old app role assignment to a verified app
}

func (p Persistence) clone() Persistence {
	c := p
	for _, s := range []*[]string{&c.BenignMethodIDs, &c.BenignRuleIDs, &c.BenignGrantIDs, &c.BenignKeyIDs, &c.BenignDeviceIDs, &c.BenignGuestIDs, &c.BenignAppRoleIDs} {
		*s = append([]string(nil), *s...)
	}
	return c
}

// Well-known ids.
const (
	microsoftTenantID    = "f8cdef31-a31e-4b4a-93e4-5f571e91255a" // owner of Microsoft's first-party apps
	graphAppID           = "00000003-0000-0000-c000-000000000000"
	graphExplorerAppID   = "de8bc8b5-d9f9-48b1-a8ad-b748da725064"
	passwordMethodID     = "28c10230-6103-485e-b985-444c60001490"
	mobilePhoneMethodID  = "3179e48a-750b-4051-897c-87b9720928f7"
	globalAdminRoleID    = "62e90394-69f5-4237-9190-012177145e10"
	privRoleAdminRoleID  = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	defaultAccessRoleID  = "00000000-0000-0000-0000-000000000000"
	phishingMessageID    = "<CAF7731.phish@mailsyncpro.example>"
	benignMessageID      = "<BN0PR04MB8121.q3report@contoso.com>"
	attackerGuestAddress = "it.support@mailsyncpro.example"
)

// userSnap is what the snapshot endpoints serve for one user.
type userSnap struct {
	methods, registered, owned, rules, grants, roles, ownedObjs, created, memberOf []*sobj
	folders                                                                        map[string]*sobj
	settings                                                                       *sobj
	risky                                                                          *sobj
	messages                                                                       []*sobj
	mime                                                                           map[string][]byte // by message id
}

// snapData is the whole persistence snapshot of the tenant.
type snapData struct {
	users        map[string]*userSnap // by user object id
	sps          map[string]*sobj     // service principals by object id
	spList       []*sobj
	apps         []*sobj
	grants       []*sobj // every oAuth2PermissionGrant
	guests       []*sobj
	eligible     []*sobj
	active       []*sobj
	detections   []*sobj
	truth        Persistence
	emptyMailbox *userSnap
	posture      *postureData // the tenant source's configuration (posture.go)
	signals      *signalsData // the signals source's detections (signals.go)
	hunting      *huntingData // advanced hunting tables (hunting.go)
}

// snapState builds the snapshot data once per tenant.
type snapState struct {
	once sync.Once
	data *snapData
}

func (t *Tenant) snapshot() *snapData {
	t.snap.once.Do(func() { t.snap.data = t.buildSnapshot() })
	return t.snap.data
}

// Persistence returns the seeded persistence artefacts and benign objects.
func (t *Tenant) Persistence() Persistence { return t.snapshot().truth.clone() }

func noPublisher() rawJSON {
	return `{"displayName":null,"verifiedPublisherId":null,"addedDateTime":null}`
}

func (t *Tenant) buildSnapshot() *snapData {
	id := func(s string) string { return uuid.NewSHA1(t.ns, []byte("snapshot/"+s)).String() }
	st := t.story
	a := t.anchor.Truncate(time.Second)
	t0 := a.Add(-5 * 24 * time.Hour)
	victim, admin := t.users[0], t.users[1]
	d := &snapData{users: map[string]*userSnap{}, sps: map[string]*sobj{}}
	tr := &d.truth

	// Service principals.
	sp := func(idv, appID, name, owner, _ string, publisher rawJSON, audience string) *sobj {
		o := obj("id", idv, "accountEnabled", true, "appId", appID, "appDisplayName", name, "appOwnerOrganizationId", owner,
			"displayName", name, "servicePrincipalType", "Application",
			"signInAudience", audience, "verifiedPublisher", publisher, "keyCredentials", rawJSON("[]"), "passwordCredentials", rawJSON("[]"))
		d.sps[idv] = o
		d.spList = append(d.spList, o)
		return o
	}
	graphSP := uuid.NewSHA1(t.ns, []byte("sp/Microsoft Graph")).String()
	sp(graphSP, graphAppID, "Microsoft Graph", microsoftTenantID, "Microsoft Services", noPublisher(), "AzureADMultipleOrgs")
	explorerSP := id("sp/graph-explorer")
	sp(explorerSP, graphExplorerAppID, "Graph Explorer", microsoftTenantID, "Microsoft Services", noPublisher(), "AzureADandPersonalMicrosoftAccount")
	adobeSP := id("sp/adobe")
	sp(adobeSP, id("app/adobe"), "Adobe Acrobat", id("org/adobe"), "Adobe Inc.",
		`{"displayName":"Adobe Inc.","verifiedPublisherId":"1770291","addedDateTime":"2020-06-18T17:28:44Z"}`, "AzureADMultipleOrgs")
	sp(st.App.ServicePrincipalID, st.App.AppID, st.App.Name, id("org/mailsyncpro"), "mailsyncpro", noPublisher(), "AzureADMultipleOrgs")

	// App registrations.
	dashCreated := a.Add(-200 * 24 * time.Hour)
	tr.AppRegistrationID = id("app/marketing-dashboard")
	tr.NewSecretKeyID = id("cred/attacker-secret")
	tr.SecretTime = t0.Add(15 * time.Minute)
	oldKey := id("cred/dashboard-prod")
	dashboard := obj("@odata.type", "#microsoft.graph.application", "id", tr.AppRegistrationID, "appId", id("appid/marketing-dashboard"),
		"createdDateTime", dashCreated, "displayName", "Marketing Dashboard", "publisherDomain", "contoso.com",
		"signInAudience", "AzureADMyOrg", "verifiedPublisher", noPublisher(),
		"keyCredentials", rawJSON("[]"),
		"passwordCredentials", []*sobj{
			obj("customKeyIdentifier", nil, "displayName", "dashboard-prod", "endDateTime", dashCreated.AddDate(2, 0, 0),
				"hint", "Qx7", "keyId", oldKey, "secretText", nil, "startDateTime", dashCreated),
			obj("customKeyIdentifier", nil, "displayName", "sync", "endDateTime", tr.SecretTime.AddDate(2, 0, 0),
				"hint", "k~P", "keyId", tr.NewSecretKeyID, "secretText", nil, "startDateTime", tr.SecretTime),
		})
	if t.cfg.CleanPosture { // a clean tenant: the attacker's secret was never added
		dashboard.set("passwordCredentials", []*sobj{obj("customKeyIdentifier", nil, "displayName", "dashboard-prod",
			"endDateTime", dashCreated.AddDate(2, 0, 0), "hint", "Qx7", "keyId", oldKey, "secretText", nil, "startDateTime", dashCreated)})
		tr.NewSecretKeyID, tr.SecretTime = "", time.Time{}
	}
	botCreated := a.Add(-150 * 24 * time.Hour)
	certKey := id("cred/calendar-bot-cert")
	calendarBot := obj("@odata.type", "#microsoft.graph.application", "id", id("app/calendar-bot"), "appId", id("appid/calendar-bot"),
		"createdDateTime", botCreated, "displayName", "Team Calendar Bot", "publisherDomain", "contoso.com",
		"signInAudience", "AzureADMyOrg", "verifiedPublisher", noPublisher(),
		"keyCredentials", []*sobj{obj("customKeyIdentifier", "9F1C2B7E4D0A63B58E21C7F04A9D3E6B1C8F2A05", "displayName", "CN=calendar-bot",
			"endDateTime", botCreated.AddDate(1, 0, 0), "key", nil, "keyId", certKey, "startDateTime", botCreated,
			"type", "AsymmetricX509Cert", "usage", "Verify")},
		"passwordCredentials", rawJSON("[]"))
	hrCreated := a.Add(-500 * 24 * time.Hour)
	hrKey := id("cred/hr-portal")
	hrPortal := obj("@odata.type", "#microsoft.graph.application", "id", id("app/hr-portal"), "appId", id("appid/hr-portal"),
		"createdDateTime", hrCreated, "displayName", "HR Portal", "publisherDomain", "contoso.com",
		"signInAudience", "AzureADMyOrg", "verifiedPublisher", noPublisher(), "keyCredentials", rawJSON("[]"),
		"passwordCredentials", []*sobj{obj("customKeyIdentifier", nil, "displayName", "portal", "endDateTime", hrCreated.AddDate(2, 0, 0),
			"hint", "M2d", "keyId", hrKey, "secretText", nil, "startDateTime", hrCreated)})
	d.apps = []*sobj{dashboard, calendarBot, hrPortal}
	tr.BenignKeyIDs = []string{oldKey, certKey, hrKey}

	// Groups and roles.
	group := func(g group, created time.Time) *sobj {
		return obj("@odata.type", "#microsoft.graph.group", "id", g.id, "createdDateTime", created, "displayName", g.name,
			"groupTypes", []string{"Unified"}, "mailEnabled", true, "securityEnabled", true)
	}
	role := func(name, template string) *sobj {
		return obj("@odata.type", "#microsoft.graph.directoryRole", "id", id("role/"+name), "displayName", name,
			"roleTemplateId", template)
	}

	// Every user: a password, a mailbox, All Company.
	for _, u := range t.users {
		us := &userSnap{folders: map[string]*sobj{}, mime: map[string][]byte{}}
		us.methods = []*sobj{obj("@odata.type", "#microsoft.graph.passwordAuthenticationMethod", "id", passwordMethodID,
			"password", nil, "createdDateTime", u.created)}
		us.settings = mailboxSettings(u)
		us.memberOf = []*sobj{group(t.groups[0], a.Add(-900*24*time.Hour))}
		d.users[u.ID] = us
	}

	// The victim.
	v := d.users[victim.ID]
	resetAt := st.PasswordReset.Time
	v.methods[0] = obj("@odata.type", "#microsoft.graph.passwordAuthenticationMethod", "id", passwordMethodID,
		"password", nil, "createdDateTime", resetAt)
	benignAuth := id("method/victim-iphone")
	tr.AuthenticatorMethodID = id("method/attacker-authenticator")
	v.methods = append(v.methods,
		obj("@odata.type", "#microsoft.graph.phoneAuthenticationMethod", "id", mobilePhoneMethodID,
			"phoneNumber", "+1 2065550142", "phoneType", "mobile", "smsSignInState", "notAllowedByPolicy"),
		obj("@odata.type", "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id", benignAuth,
			"displayName", "iPhone 15", "deviceTag", "SoftwareTokenActivated", "phoneAppVersion", "6.8.12",
			"createdDateTime", victim.created.Add(3*24*time.Hour)),
		obj("@odata.type", "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id", tr.AuthenticatorMethodID,
			"displayName", "SM-G991B", "deviceTag", "SoftwareTokenActivated", "phoneAppVersion", "6.2401.0119",
			"createdDateTime", st.MFARegistered.Time))
	tr.BenignMethodIDs = []string{passwordMethodID, mobilePhoneMethodID, benignAuth}

	tr.DeviceID = id("device/attacker")
	tr.DeviceTime = t0.Add(9 * time.Minute)
	laptopID := id("device/victim-laptop")
	laptop := obj("@odata.type", "#microsoft.graph.device", "id", laptopID, "accountEnabled", true, "deviceId", victim.laptop.id,
		"displayName", victim.laptop.name, "isCompliant", true, "isManaged", true, "operatingSystem", "Windows",
		"operatingSystemVersion", "10.0.22631.4460", "profileType", "RegisteredDevice", "trustType", "AzureAd",
		"registrationDateTime", victim.created.Add(2*24*time.Hour), "approximateLastSignInDateTime", a.Add(-26*time.Hour))
	rogue := obj("@odata.type", "#microsoft.graph.device", "id", tr.DeviceID, "accountEnabled", true, "deviceId", id("deviceid/attacker"),
		"displayName", "DESKTOP-R8K2QJ1", "isCompliant", false, "isManaged", false, "operatingSystem", "Windows",
		"operatingSystemVersion", "10.0.19045.3803", "profileType", "RegisteredDevice", "trustType", "Workplace",
		"registrationDateTime", tr.DeviceTime, "approximateLastSignInDateTime", tr.DeviceTime.Add(3*time.Minute))
	v.registered = []*sobj{laptop, rogue}
	v.owned = []*sobj{laptop, rogue}
	tr.BenignDeviceIDs = []string{laptopID}

	rss, news := id("folder/rss"), id("folder/newsletters")
	root := id("folder/root")
	v.folders[rss] = obj("id", rss, "displayName", "RSS Subscriptions", "parentFolderId", root, "childFolderCount", 0,
		"unreadItemCount", 0, "totalItemCount", 3, "isHidden", false)
	v.folders[news] = obj("id", news, "displayName", "Newsletters", "parentFolderId", root, "childFolderCount", 0,
		"unreadItemCount", 12, "totalItemCount", 240, "isHidden", false)
	recip := func(addr string) rawJSON {
		return rawJSON(`[{"emailAddress":{"name":"` + addr + `","address":"` + addr + `"}}]`)
	}
	tr.InboxRuleID = st.InboxRule.ID
	newsRule, bossRule := id("rule/newsletters"), id("rule/manager")
	v.rules = []*sobj{
		obj("id", newsRule, "displayName", "Newsletters", "sequence", 1, "isEnabled", true, "hasError", false, "isReadOnly", false,
			"conditions", obj("senderContains", []string{"newsletter@"}),
			"actions", obj("moveToFolder", news, "stopProcessingRules", true)),
		obj("id", bossRule, "displayName", "From my manager", "sequence", 2, "isEnabled", true, "hasError", false, "isReadOnly", false,
			"conditions", obj("fromAddresses", recip(admin.Mail)),
			"actions", obj("markImportance", "high", "stopProcessingRules", false)),
		obj("id", tr.InboxRuleID, "displayName", st.InboxRule.Name, "sequence", 3, "isEnabled", true, "hasError", false, "isReadOnly", false,
			"conditions", rawJSON("{}"),
			"actions", obj("forwardTo", recip(st.InboxRule.ForwardTo), "markAsRead", true, "moveToFolder", rss, "stopProcessingRules", true)),
	}
	tr.BenignRuleIDs = []string{newsRule, bossRule}

	tr.ConsentGrantID = uuid.NewSHA1(t.ns, []byte("story/grant")).String() // the id the consent audit names
	explorerGrant, adobeGrant := id("grant/explorer"), id("grant/adobe")
	grant := func(gid, client, consent, principal, scope string) *sobj {
		var p any
		if principal != "" {
			p = principal
		}
		return obj("clientId", client, "consentType", consent, "id", gid, "principalId", p, "resourceId", graphSP, "scope", scope)
	}
	v.grants = []*sobj{
		grant(explorerGrant, explorerSP, "Principal", victim.ID, "openid profile User.Read"),
		grant(adobeGrant, adobeSP, "Principal", victim.ID, "openid profile email offline_access User.Read"),
		grant(tr.ConsentGrantID, st.App.ServicePrincipalID, "Principal", victim.ID, "Mail.Send Mail.ReadWrite offline_access User.Read"),
	}
	tr.BenignGrantIDs = []string{explorerGrant, adobeGrant}
	tr.AppRoleAssignmentID = id("approle/mailsyncpro")
	adobeRole := id("approle/adobe")
	assign := func(aid, resource, name string, at time.Time) *sobj {
		return obj("id", aid, "deletedDateTime", nil, "appRoleId", defaultAccessRoleID, "createdDateTime", at,
			"principalDisplayName", victim.DisplayName, "principalId", victim.ID, "principalType", "User",
			"resourceDisplayName", name, "resourceId", resource)
	}
	v.roles = []*sobj{
		assign(adobeRole, adobeSP, "Adobe Acrobat", victim.created.Add(30*24*time.Hour)),
		assign(tr.AppRoleAssignmentID, st.App.ServicePrincipalID, st.App.Name, st.AppRoleGrant.Time),
	}
	tr.BenignAppRoleIDs = []string{adobeRole}
	v.ownedObjs = []*sobj{dashboard, calendarBot}
	v.created = []*sobj{dashboard, calendarBot}
	v.memberOf = append(v.memberOf, group(t.groups[1], a.Add(-700*24*time.Hour)))
	v.risky = obj("id", victim.ID, "isDeleted", false, "isProcessing", false,
		"riskLastUpdatedDateTime", st.SuccessfulSignIn.Time.Add(4*time.Minute), "riskLevel", "medium", "riskState", "atRisk",
		"riskDetail", "none", "userDisplayName", victim.DisplayName, "userPrincipalName", victim.UPN)
	for i, typ := range attackerRisk.events {
		d.detections = append(d.detections, obj("id", id("detection/"+typ), "requestId", st.SuccessfulSignIn.ID,
			"correlationId", id("detection-corr/"+typ), "riskEventType", typ, "riskState", "atRisk", "riskLevel", "medium",
			"riskDetail", "none", "source", "IdentityProtection", "detectionTimingType", []string{"realtime", "offline"}[i%2],
			"activity", "signin", "tokenIssuerType", "AzureAD", "ipAddress", AttackerIP,
			"activityDateTime", st.SuccessfulSignIn.Time, "detectedDateTime", st.SuccessfulSignIn.Time.Add(time.Duration(i)*3*time.Minute),
			"lastUpdatedDateTime", st.SuccessfulSignIn.Time.Add(4*time.Minute), "userId", victim.ID,
			"userDisplayName", victim.DisplayName, "userPrincipalName", victim.UPN,
			"location", obj("city", plAmsterdam.city, "state", plAmsterdam.state, "countryOrRegion", plAmsterdam.country)))
	}

	// The victim's mailbox: the phishing message and a benign one.
	tr.MessageID, tr.OtherMessageID = phishingMessageID, benignMessageID
	phish, q3 := id("message/phish"), id("message/q3")
	phishAt, q3At := t0.Add(-20*time.Minute), t0.Add(-26*time.Hour)
	v.messages = []*sobj{
		obj("id", q3, "internetMessageId", benignMessageID, "subject", "Q3 marketing report", "receivedDateTime", q3At, "parentFolderId", id("folder/inbox"),
			"from", obj("emailAddress", obj("name", admin.DisplayName, "address", admin.Mail))),
		obj("id", phish, "internetMessageId", phishingMessageID, "subject", "Your mailbox storage is full - action required",
			"receivedDateTime", phishAt, "parentFolderId", id("folder/inbox"), "from", obj("emailAddress", obj("name", "IT Service Desk", "address", attackerGuestAddress))),
	}
	v.mime[phish] = mime(phishingMessageID, "IT Service Desk <"+attackerGuestAddress+">", victim.Mail, phishAt,
		"Your mailbox storage is full - action required",
		"Your mailbox is 99% full. Sign in to keep receiving mail:\r\nhttps://login.mailsyncpro.example/owa\r\n")
	v.mime[q3] = mime(benignMessageID, admin.DisplayName+" <"+admin.Mail+">", victim.Mail, q3At, "Q3 marketing report",
		"Hi Megan,\r\nthe Q3 numbers are attached in SharePoint.\r\nAlice\r\n")

	// The administrator: a permanent Global Administrator and an eligible role.
	al := d.users[admin.ID]
	al.memberOf = append(al.memberOf, role("Global Administrator", globalAdminRoleID))
	d.active = append(d.active, obj("id", id("pim/active/alice"), "principalId", admin.ID, "roleDefinitionId", globalAdminRoleID,
		"directoryScopeId", "/", "appScopeId", nil, "startDateTime", admin.created, "endDateTime", nil,
		"assignmentType", "Assigned", "memberType", "Direct", "roleAssignmentOriginId", id("pim/origin/alice"),
		"roleAssignmentScheduleId", id("pim/schedule/alice")))
	d.eligible = append(d.eligible, obj("id", id("pim/eligible/alice"), "principalId", admin.ID, "roleDefinitionId", privRoleAdminRoleID,
		"directoryScopeId", "/", "appScopeId", nil, "startDateTime", admin.created.Add(24*time.Hour), "endDateTime", nil,
		"memberType", "Direct", "roleEligibilityScheduleId", id("pim/eligible-schedule/alice")))

	// Tenant-wide: every consent, guests.
	d.grants = append(append([]*sobj{}, v.grants...),
		grant(id("grant/adobe-tenant"), adobeSP, "AllPrincipals", "", "openid profile email offline_access User.Read"))
	tr.BenignGrantIDs = append(tr.BenignGrantIDs, id("grant/adobe-tenant"))
	tr.GuestID, tr.GuestTime = id("guest/attacker"), t0.Add(20*time.Minute)
	partner := id("guest/partner")
	guest := func(gid, name, mail, state string, at time.Time) *sobj {
		upn := ""
		for _, c := range mail {
			if c == '@' {
				upn += "_"
			} else {
				upn += string(c)
			}
		}
		return obj("id", gid, "displayName", name, "mail", mail, "userPrincipalName", upn+"#EXT#@contoso.onmicrosoft.com",
			"userType", "Guest", "createdDateTime", at, "creationType", "Invitation", "externalUserState", state,
			"accountEnabled", true)
	}
	d.guests = []*sobj{
		guest(partner, "Dana Whitfield (Fabrikam)", "dana@fabrikam.example", "Accepted", a.Add(-300*24*time.Hour)),
		guest(tr.GuestID, "IT Support", attackerGuestAddress, "PendingAcceptance", tr.GuestTime),
	}
	tr.BenignGuestIDs = []string{partner}
	d.emptyMailbox = &userSnap{}
	d.posture = t.buildPosture(d)
	d.signals = t.buildSignals(d)
	d.hunting = t.buildHunting()
	return d
}

func mailboxSettings(u *person) *sobj {
	tz := "Pacific Standard Time"
	if u.loc == "JP" {
		tz = "Tokyo Standard Time"
	}
	dt := func(s string) rawJSON { return rawJSON(`{"dateTime":"` + s + `","timeZone":"UTC"}`) }
	return obj("archiveFolder", uuid.NewSHA1(uuid.NameSpaceOID, []byte("archive/"+u.ID)).String(), "timeZone", tz,
		"automaticRepliesSetting", obj("status", "disabled", "externalAudience", "all",
			"scheduledStartDateTime", dt("2026-01-01T00:00:00.0000000"), "scheduledEndDateTime", dt("2026-01-02T00:00:00.0000000"),
			"internalReplyMessage", "", "externalReplyMessage", ""),
		"language", obj("locale", u.lang, "displayName", map[string]string{"en-US": "English (United States)", "ja-JP": "日本語 (日本)"}[u.lang]),
		"dateFormat", "M/d/yyyy", "timeFormat", "h:mm tt", "delegateMeetingMessageDeliveryOptions", "sendToDelegateOnly",
		"userPurpose", "user")
}

// mime renders a small RFC 5322 message.
func mime(msgID, from, to string, at time.Time, subject, body string) []byte {
	return []byte("Received: from mail.example (203.0.113.9) by contoso.mail.protection.outlook.com; " + at.UTC().Format(time.RFC1123Z) + "\r\n" +
		"From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: " + at.UTC().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: " + msgID + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body)
}
