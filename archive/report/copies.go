package report

import (
	"path"
	"strings"

	"github.com/tidwall/gjson"
)

// The long-retention copies: the tables the workspace source reads from a
// Log Analytics workspace (workspace/<Table>.jsonl, rows as the Logs query
// API returns them, docs/sources.md) and the subject's lines the
// diagnostic-settings archive source filters out of the hourly blobs
// (diagarchive/<container>.subject.jsonl, resource-log records whose
// "properties" is the Graph object). They join the timeline under their
// own source names. Their sign-ins are usually the same sign-ins as
// Graph's, so they are shown but do not feed the per-user sign-in rules
// and the "who and where" tables (a sign-in counted twice would fake
// failures before a success).
//
// Microsoft Graph activity logs (every Graph request, from either copy)
// are a class of their own: a request from an IP address or an app id
// among the indicators (the addresses of the highlighted events, the app
// ids of the highlighted sign-ins) is highlighted (FlagGraphInd), and the
// page makes it a finding.

// ClassGraph is a Microsoft Graph activity log record (a Graph request).
const ClassGraph = "graph"

// FlagGraphInd marks a Graph request from an indicator's IP or app id.
const FlagGraphInd = "graphind"

// Graph activity records kept as candidates for FlagGraphInd: the first
// graphPerKey per IP address or app id, graphKept in all. The page says
// how many matching requests it could not show.
const (
	graphPerKey = 20
	graphKept   = 50000
)

// Workspace tables: https://learn.microsoft.com/azure/azure-monitor/reference/tables/<table>
var copyAdapters = []Adapter{
	{Pattern: "workspace/SigninLogs.jsonl", Class: ClassSignIn, Label: kindLabel("src.workspace"), Extract: extractLASignIn},
	{Pattern: "workspace/AADNonInteractiveUserSignInLogs.jsonl", Class: ClassSignIn, Label: kindLabel("src.workspace"), Extract: extractLASignIn},
	{Pattern: "workspace/AADServicePrincipalSignInLogs.jsonl", Class: ClassSignIn, Label: kindLabel("src.workspace"), Extract: extractLASignIn},
	{Pattern: "workspace/AADManagedIdentitySignInLogs.jsonl", Class: ClassSignIn, Label: kindLabel("src.workspace"), Extract: extractLASignIn},
	{Pattern: "workspace/AuditLogs.jsonl", Class: ClassAudit, Label: kindLabel("src.workspace"), Extract: extractLAAudit},
	{Pattern: "workspace/MicrosoftGraphActivityLogs.jsonl", Class: ClassGraph, Label: kindLabel("src.workspace"), Extract: extractLAGraph},
	{Pattern: "workspace/OfficeActivity.jsonl", Class: ClassUAL, Label: kindLabel("src.workspace"), Extract: extractLAOffice},
	{Pattern: "workspace/AADUserRiskEvents.jsonl", Class: ClassAudit, Label: kindLabel("src.workspace"), Extract: extractLARisk},
	{Pattern: "workspace/AADRiskyUsers.jsonl", Class: ClassAudit, Label: kindLabel("src.workspace"), Extract: extractLARisk},
	{Pattern: "diagarchive/*.subject.jsonl", Class: ClassAudit, Label: diagLabel, Extract: extractDiag},
}

func init() { Adapters = append(Adapters, copyAdapters...) }

// diagLabel names a subject file by its container:
// diagarchive/insights-logs-signinlogs.subject.jsonl is
// ("src.diagarchive", "insights-logs-signinlogs").
func diagLabel(file string) (string, string) {
	return "src.diagarchive", strings.TrimSuffix(path.Base(file), ".subject.jsonl")
}

// dyn reads a dynamic column: the Logs query API returns it as a string
// holding JSON; an object or array is taken as it is.
func dyn(r gjson.Result, col string) gjson.Result {
	v := r.Get(col)
	if v.Type == gjson.String {
		if s := strings.TrimSpace(v.Str); strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			return gjson.Parse(s)
		}
	}
	return v
}

// signInResult sets a sign-in's result from its error code.
func signInResult(ev *Event, code gjson.Result, reason string) {
	if !code.Exists() || code.String() == "" {
		return
	}
	ev.Code = code.String()
	switch c := code.Int(); {
	case c == 0 && ev.Code == "0":
		ev.Result = ResultSuccess
	case interrupts[c]:
		ev.Result = ResultInterrupted
		ev.Detail = joinNonEmpty(" ", ev.Code, reason)
	default:
		ev.Result = ResultFailure
		ev.Detail = joinNonEmpty(" ", ev.Code, reason)
	}
}

// SigninLogs and its kin: the sign-in's properties as columns, ResultType
// the error code.
func extractLASignIn(r gjson.Result, ev *Event) {
	ev.Copy = true
	ev.Time = parseTime(first(r, "TimeGenerated", "CreatedDateTime"))
	ev.ID = first(r, "Id")
	ev.User = first(r, "UserPrincipalName", "ServicePrincipalName", "ServicePrincipalId", "UserId")
	ev.UserKey = first(r, "UserId", "ServicePrincipalId", "UserPrincipalName")
	ev.IP = first(r, "IPAddress")
	ev.App = first(r, "AppDisplayName", "ResourceDisplayName", "AppId")
	ev.AppID = strings.ToLower(first(r, "AppId"))
	ev.Op = "Sign-in"
	loc := dyn(r, "LocationDetails")
	ev.Country, ev.City = first(loc, "countryOrRegion"), first(loc, "city")
	ev.UA = first(r, "UserAgent")
	signInResult(ev, r.Get("ResultType"), first(r, "ResultDescription"))
	if ev.App != "" {
		ev.Detail = joinNonEmpty(" · ", ev.App, ev.Detail)
	}
}

// AuditLogs: the directory audit's properties as columns, InitiatedBy and
// TargetResources dynamic.
func extractLAAudit(r gjson.Result, ev *Event) {
	ev.Time = parseTime(first(r, "TimeGenerated", "ActivityDateTime"))
	ev.ID = first(r, "Id")
	by := dyn(r, "InitiatedBy")
	ev.User = first(by, "user.userPrincipalName", "app.displayName", "user.id", "app.appId")
	ev.UserKey = first(by, "user.id", "app.servicePrincipalId", "user.userPrincipalName", "app.displayName")
	ev.IP = first(by, "user.ipAddress")
	ev.Op = first(r, "OperationName", "ActivityDisplayName")
	var targets []string
	dyn(r, "TargetResources").ForEach(func(_, t gjson.Result) bool {
		if s := first(t, "userPrincipalName", "displayName", "id"); s != "" {
			targets = append(targets, s)
		}
		return len(targets) < 3
	})
	ev.Detail = strings.Join(targets, ", ")
	if res := first(r, "Result"); res != "" && !strings.EqualFold(res, "success") {
		ev.Detail = joinNonEmpty(" · ", ev.Detail, res)
	}
	activityFlag(ev, ev.Op)
}

// MicrosoftGraphActivityLogs:
// https://learn.microsoft.com/azure/azure-monitor/reference/tables/microsoftgraphactivitylogs
func extractLAGraph(r gjson.Result, ev *Event) {
	graphRequest(ev, r, "TimeGenerated", "RequestId", "UserId", "ServicePrincipalId", "AppId", "IPAddress", "RequestMethod", "RequestUri", "ResponseStatusCode", "UserAgent")
}

// graphRequest fills ev from a Graph activity log record whose fields are
// named by the arguments (the table's columns, or the archive's
// properties).
//
// Each name may list alternatives, "a|b": the first present is read.
func graphRequest(ev *Event, r gjson.Result, at, id, user, sp, app, ip, method, uri, status, ua string) {
	get := func(r gjson.Result, names ...string) string {
		var all []string
		for _, n := range names {
			all = append(all, strings.Split(n, "|")...)
		}
		return first(r, all...)
	}
	ev.Class = ClassGraph
	ev.Time = parseTime(get(r, at))
	ev.ID = get(r, id)
	ev.User = get(r, user, sp, app)
	ev.UserKey = ev.User
	ev.AppID = strings.ToLower(get(r, app))
	ev.App = ev.AppID
	ev.IP = get(r, ip)
	ev.UA = get(r, ua)
	ev.Op = joinNonEmpty(" ", get(r, method), get(r, uri))
	var code gjson.Result
	for _, n := range strings.Split(status, "|") {
		if code = r.Get(n); code.Exists() {
			break
		}
	}
	ev.Detail = joinNonEmpty(" · ", code.String(), "app "+ev.AppID)
	switch c := code.Int(); {
	case !code.Exists():
	case c >= 200 && c < 400:
		ev.Result = ResultSuccess
	default:
		ev.Result = ResultFailure
	}
}

// OfficeActivity (Microsoft Sentinel's Office 365 connector): UserId is
// the user principal name, ClientIP the client's address.
func extractLAOffice(r gjson.Result, ev *Event) {
	ev.Time = parseTime(first(r, "TimeGenerated"))
	ev.ID = first(r, "OfficeId", "OfficeObjectId")
	ev.User = first(r, "UserId")
	ev.UserKey = strings.ToLower(ev.User)
	ev.IP = stripPort(first(r, "ClientIP", "Client_IPAddress"))
	ev.Op = first(r, "Operation")
	ev.Detail = joinNonEmpty(" · ", first(r, "OfficeWorkload"), first(r, "ResultStatus"), first(r, "OfficeObjectId"))
	activityFlag(ev, ev.Op)
}

// AADUserRiskEvents and AADRiskyUsers: Identity Protection's view.
func extractLARisk(r gjson.Result, ev *Event) {
	ev.Time = parseTime(first(r, "TimeGenerated", "DetectedDateTime", "RiskLastUpdatedDateTime"))
	ev.ID = first(r, "Id")
	ev.User = first(r, "UserPrincipalName", "UserId", "Id")
	ev.UserKey = first(r, "UserId", "Id", "UserPrincipalName")
	ev.IP = first(r, "IpAddress", "IPAddress")
	ev.Op = joinNonEmpty(" ", first(r, "RiskEventType", "Type"), first(r, "RiskState"))
	ev.Detail = joinNonEmpty(" · ", first(r, "RiskLevel"), first(r, "RiskDetail"))
}

// extractDiag reads a resource-log record of the diagnostic-settings
// archive (https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema):
// "category" says what "properties" holds, the Graph object as Graph
// serves it for sign-ins and audits.
func extractDiag(r gjson.Result, ev *Event) {
	p := r.Get("properties")
	switch cat := r.Get("category").String(); cat {
	case "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs", "ADFSSignInLogs":
		ev.Class = ClassSignIn
		extractSignIn(p, ev)
		ev.Copy = true
		ev.AppID = strings.ToLower(first(p, "appId"))
		if ev.IP == "" {
			ev.IP = first(r, "callerIpAddress")
		}
	case "AuditLogs", "ProvisioningLogs":
		ev.Class = ClassAudit
		extractAudit(p, ev)
	case "MicrosoftGraphActivityLogs":
		// The archive's properties are the table's columns; their case is
		// not documented, both are read.
		graphRequest(ev, p, "timeGenerated|TimeGenerated", "requestId|RequestId", "userId|UserId", "servicePrincipalId|ServicePrincipalId",
			"appId|AppId", "ipAddress|IPAddress", "requestMethod|RequestMethod", "requestUri|RequestUri", "responseStatusCode|ResponseStatusCode", "userAgent|UserAgent")
		if ev.IP == "" {
			ev.IP = first(r, "callerIpAddress")
		}
	default:
		ev.Class = ClassAudit
		ev.ID = first(p, "id")
		ev.User = first(p, "userPrincipalName", "userId", "id")
		ev.UserKey = first(p, "userId", "id", "userPrincipalName")
		ev.IP = first(p, "ipAddress")
		ev.Op = joinNonEmpty(" ", cat, first(p, "riskEventType", "riskState"))
		ev.Detail = joinNonEmpty(" · ", first(p, "riskLevel"), first(p, "riskDetail"))
	}
	if ev.Time.IsZero() {
		ev.Time = parseTime(first(r, "time"))
	}
}

// graphKey is what the analyzer keeps of the Graph requests from one IP
// address or app id.
type graphKey struct {
	n   int64
	evs []Event
}

// graphCandidate keeps a Graph request as a candidate for FlagGraphInd.
func (a *Analyzer) graphCandidate(ev *Event) {
	if a.graphBy == nil {
		a.graphBy = map[string]*graphKey{}
	}
	for _, k := range []string{"ip\x00" + ev.IP, "app\x00" + ev.AppID} {
		if strings.HasSuffix(k, "\x00") {
			continue
		}
		g := a.graphBy[k]
		if g == nil {
			if len(a.graphBy) >= maxKeys {
				a.graphLost++
				continue
			}
			g = &graphKey{}
			a.graphBy[k] = g
		}
		g.n++
		if len(g.evs) < graphPerKey && a.graphStored < graphKept {
			g.evs = append(g.evs, *ev)
			a.graphStored++
		}
	}
}

// graphRule highlights the Graph requests from the IP addresses of the
// highlighted events and the app ids of the highlighted sign-ins. It runs
// after the other rules (finish).
func (a *Analyzer) graphRule() {
	if len(a.graphBy) == 0 {
		return
	}
	keys := map[string]bool{}
	for _, e := range a.highlights {
		if e.Class == ClassGraph || e.Note != "" {
			continue
		}
		if e.IP != "" {
			keys["ip\x00"+e.IP] = true
		}
		if e.Class == ClassSignIn && e.AppID != "" {
			keys["app\x00"+strings.ToLower(e.AppID)] = true
		}
	}
	seen := map[string]bool{}
	for k := range keys {
		g := a.graphBy[k]
		if g == nil {
			continue
		}
		for i := range g.evs {
			e := g.evs[i]
			if seen[e.key()] {
				continue
			}
			seen[e.key()] = true
			e.flag(FlagGraphInd)
			a.highlight(&e)
		}
		a.graphMatched += g.n
	}
	a.graphShown = int64(len(seen))
}
