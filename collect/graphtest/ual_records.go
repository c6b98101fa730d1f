package graphtest

import (
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// ualKind is one kind of unified audit log record.
type ualKind struct {
	op, service, recType string
	recTypeNum           int64
	dataType             string // @odata.type of auditData
}

var (
	ualMailAccess = ualKind{"MailItemsAccessed", "Exchange", "exchangeItemAggregated", 50, "#microsoft.graph.security.exchangeAggregatedMailboxAuditRecord"}
	ualSend       = ualKind{"Send", "Exchange", "exchangeItem", 2, "#microsoft.graph.security.exchangeMailboxAuditRecord"}
	ualNewRule    = ualKind{"New-InboxRule", "Exchange", "exchangeAdmin", 1, "#microsoft.graph.security.exchangeAdminAuditRecord"}
	ualSetRule    = ualKind{"Set-InboxRule", "Exchange", "exchangeAdmin", 1, "#microsoft.graph.security.exchangeAdminAuditRecord"}
	ualFileAccess = ualKind{"FileAccessed", "SharePoint", "sharePointFileOperation", 6, "#microsoft.graph.security.sharePointFileOperationAuditRecord"}
	ualFileDown   = ualKind{"FileDownloaded", "OneDrive", "sharePointFileOperation", 6, "#microsoft.graph.security.sharePointFileOperationAuditRecord"}
	ualLoggedIn   = ualKind{"UserLoggedIn", "AzureActiveDirectory", "azureActiveDirectoryStsLogon", 15, "#microsoft.graph.security.azureActiveDirectoryStsLogonAuditRecord"}
	ualLoginFail  = ualKind{"UserLoginFailed", "AzureActiveDirectory", "azureActiveDirectoryStsLogon", 15, "#microsoft.graph.security.azureActiveDirectoryStsLogonAuditRecord"}
	ualConsent    = ualKind{"Consent to application.", "AzureActiveDirectory", "azureActiveDirectory", 8, "#microsoft.graph.security.azureActiveDirectoryAuditRecord"}
)

// ualRec is one unified audit log record (microsoft.graph.security.auditLogRecord).
type ualRec struct {
	ualKind
	id       string
	tk       int64
	u        *person
	ip       string
	objectID string
	orgID    string
	params   []kv // Exchange cmdlet parameters
	extra    []kv // further auditData string properties
}

func (r *ualRec) tick() int64      { return r.tk }
func (r *ualRec) recordID() string { return r.id }

func (r *ualRec) appendJSON(w *jw, _ *renderCtx) {
	w.open()
	w.key("@odata.type")
	w.str("#microsoft.graph.security.auditLogRecord")
	w.key("id")
	w.str(r.id)
	w.key("createdDateTime")
	w.ts(r.tk)
	w.key("auditLogRecordType")
	w.str(r.recType)
	w.key("operation")
	w.str(r.op)
	w.key("organizationId")
	w.str(r.orgID)
	w.key("userType")
	w.str("regular")
	w.key("userId")
	w.str(r.u.UPN)
	w.key("service")
	w.str(r.service)
	w.key("objectId")
	w.strN(r.objectID)
	w.key("userPrincipalName")
	w.str(r.u.UPN)
	w.key("clientIp")
	w.str(r.ip)
	w.key("administrativeUnits")
	w.strs(nil)
	w.key("auditData")
	w.open()
	w.key("@odata.type")
	w.str(r.dataType)
	w.key("CreationTime")
	w.str(fromTicks(r.tk).Format("2006-01-02T15:04:05"))
	w.key("Id")
	w.str(r.id)
	w.key("Operation")
	w.str(r.op)
	w.key("OrganizationId")
	w.str(r.orgID)
	w.key("RecordType")
	w.int(r.recTypeNum)
	w.key("ResultStatus")
	if r.op == ualLoginFail.op {
		w.str("Failed")
	} else {
		w.str("Succeeded")
	}
	w.key("UserKey")
	w.str(r.u.ID)
	w.key("UserType")
	w.int(0)
	w.key("Version")
	w.int(1)
	w.key("Workload")
	w.str(r.service)
	w.key("ClientIP")
	w.str(r.ip)
	w.key("UserId")
	w.str(r.u.UPN)
	if r.objectID != "" {
		w.key("ObjectId")
		w.str(r.objectID)
	}
	for _, e := range r.extra {
		w.key(e.key)
		w.str(e.value)
	}
	if len(r.params) > 0 {
		w.key("Parameters")
		w.openA()
		for _, p := range r.params {
			w.open()
			w.key("Name")
			w.str(p.key)
			w.key("Value")
			w.str(p.value)
			w.close()
		}
		w.closeA()
	}
	w.close()
	w.close()
}

// bgUAL is the background unified audit log stream of one user.
type bgUAL struct {
	t  *Tenant
	u  *person
	tl timeline
	o  int64
}

func (s *bgUAL) ord() int64           { return s.o }
func (s *bgUAL) pos(t int64) int64    { return s.tl.pos(t) }
func (s *bgUAL) tickAt(p int64) int64 { return s.tl.at(p) }
func (s *bgUAL) id(g int64) string    { return s.t.recordID("ual", s.u, g) }

func (s *bgUAL) rec(g int64) record {
	u := s.u
	r := rng{s: mix64(s.tl.key ^ uint64(g)*0x9e3779b97f4a7c15 ^ 0x0a1)}
	rec := &ualRec{id: s.id(g), tk: s.tl.at(g), u: u, orgID: s.t.tenantID}
	switch x := r.intn(100); {
	case x < 60:
		rec.ip = u.officeIP
	case x < 90:
		rec.ip = u.homeIP
	default:
		rec.ip = u.mobileIP
	}
	switch x := r.intn(100); {
	case x < 45:
		rec.ualKind = ualMailAccess
		rec.objectID = ""
		rec.extra = []kv{{"MailAccessType", "Bind"}, {"ClientInfoString", "Client=OWA;Action=ViaProxy"}}
	case x < 55:
		rec.ualKind = ualSend
		rec.objectID = "<" + r.uuid4()[:18] + "@contoso.com>"
		rec.extra = []kv{{"ClientInfoString", "Client=OWA;Action=ViaProxy"}}
	case x < 70:
		rec.ualKind = ualFileAccess
		rec.objectID = "https://contoso.sharepoint.com/sites/Projects/Shared Documents/Plan-" + strconv.Itoa(r.intn(400)) + ".docx"
	case x < 80:
		rec.ualKind = ualFileDown
		rec.objectID = "https://contoso-my.sharepoint.com/personal/files/Report-" + strconv.Itoa(r.intn(400)) + ".xlsx"
	case x < 97:
		rec.ualKind = ualLoggedIn
		rec.objectID = "00000002-0000-0ff1-ce00-000000000000"
	default:
		rec.ualKind = ualLoginFail
		rec.objectID = "00000002-0000-0ff1-ce00-000000000000"
		rec.extra = []kv{{"LogonError", "InvalidUserNameOrPassword"}}
	}
	return rec
}

// buildUALStory creates the unified audit log side of the story (times from
// the same T0 as Story): the attacker's sign-ins, the consent, the inbox
// rule "." forwarding to attacker@protonmail.example, its update, mail read
// and sent from the attacker's address, and one benign record exactly at a
// UTC midnight (four days back) for window-edge tests.
func (t *Tenant) buildUALStory() ([]record, []UALEvent) {
	victim := t.users[0]
	st := t.story
	id := func(name string) string { return uuid.NewSHA1(t.ns, []byte("ual-story/"+name)).String() }
	a := t.anchor.Truncate(time.Second)
	t0 := a.Add(-5 * 24 * time.Hour)
	day := a.Truncate(24 * time.Hour)
	var recs []record
	add := func(name string, at time.Time, k ualKind, ip, obj string, extra, params []kv) {
		recs = append(recs, &ualRec{ualKind: k, id: id(name), tk: toTicks(at), u: victim, ip: ip,
			objectID: obj, orgID: t.tenantID, extra: extra, params: params})
	}
	ua := kv{"UserAgent", attackerUA}
	for i, f := range st.FailedSignIns {
		add("login-failed/"+strconv.Itoa(i+1), f.Time, ualLoginFail, AttackerIP, "4765445b-32c6-49b0-83e6-1d93765276ca",
			[]kv{{"LogonError", "InvalidUserNameOrPassword"}, {"IntraSystemId", f.ID}, ua}, nil)
	}
	add("login", st.SuccessfulSignIn.Time, ualLoggedIn, AttackerIP, "4765445b-32c6-49b0-83e6-1d93765276ca",
		[]kv{{"IntraSystemId", st.SuccessfulSignIn.ID}, ua}, nil)
	add("consent", st.Consent.Time, ualConsent, AttackerIP, st.App.ServicePrincipalID,
		[]kv{{"Target", st.App.Name}, {"ConsentContext.IsAdminConsent", "False"}, {"Scope", "Mail.Send Mail.ReadWrite offline_access User.Read"}}, nil)
	add("new-inboxrule", st.InboxRule.Time, ualNewRule, AttackerIP, victim.UPN+`\`+st.InboxRule.Name, nil,
		[]kv{{"AlwaysDeleteOutlookRulesBlob", "False"}, {"Force", "False"}, {"Name", st.InboxRule.Name},
			{"ForwardTo", st.InboxRule.ForwardTo}, {"SubjectOrBodyContainsWords", "invoice;payment;wire"}, {"StopProcessingRules", "True"}})
	add("set-inboxrule", st.InboxRule.Time.Add(2*time.Minute), ualSetRule, AttackerIP, victim.UPN+`\`+st.InboxRule.Name, nil,
		[]kv{{"Identity", st.InboxRule.Name}, {"MarkAsRead", "True"}, {"MoveToFolder", "RSS Subscriptions"}})
	add("mail-access", t0.Add(20*time.Minute), ualMailAccess, AttackerIP, "",
		[]kv{{"MailAccessType", "Sync"}, {"AppId", st.App.AppID}, {"ClientAppId", st.App.AppID}}, nil)
	add("send", t0.Add(25*time.Minute), ualSend, AttackerIP, "<invoice-update@contoso.com>",
		[]kv{{"Subject", "Updated payment details"}, {"AppId", st.App.AppID}}, nil)
	add("midnight", day.Add(-4*24*time.Hour), ualMailAccess, victim.homeIP, "",
		[]kv{{"MailAccessType", "Bind"}}, nil)
	sort.Slice(recs, func(i, j int) bool { return recs[i].tick() < recs[j].tick() })
	events := make([]UALEvent, len(recs))
	for i, r := range recs {
		u := r.(*ualRec)
		events[i] = UALEvent{ID: u.id, Time: fromTicks(u.tk), Operation: u.op, Service: u.service, ClientIP: u.ip}
	}
	return recs, events
}
