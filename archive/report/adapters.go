package report

import (
	"path"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Event classes: what a record is, for the timeline, the chart and the rules.
const (
	ClassSignIn = "signin" // a sign-in (any kind)
	ClassAudit  = "audit"  // an Entra directory audit
	ClassUAL    = "ual"    // a unified audit log record
	ClassMail   = "mail"   // a message trace row
)

// Sign-in results.
const (
	ResultSuccess     = "success"
	ResultFailure     = "failure"
	ResultInterrupted = "interrupted" // a sign-in interrupt (MFA or consent prompt), not a failed credential
)

// Highlight rule keys. Each has a catalogue entry "flag.<key>" (label) and
// "flagdesc.<key>" (what the rule looks for).
const (
	FlagNewIP       = "newip"
	FlagNewCountry  = "newcountry"
	FlagFailSuccess = "failsuccess"
	FlagRisky       = "risky"
	FlagMFA         = "mfa"
	FlagInboxRule   = "inboxrule"
	FlagConsent     = "consent"
	FlagAppCred     = "appcred"
	FlagMailBurst   = "mailburst"
)

// flagOrder is the order rules are listed in on the page.
var flagOrder = []string{FlagNewIP, FlagNewCountry, FlagFailSuccess, FlagRisky, FlagMFA, FlagInboxRule, FlagConsent, FlagAppCred, FlagMailBurst, FlagGraphInd}

// Adapter reads one kind of record file: it says which files it takes and
// how to find the time, user, IP, operation and result in a record, and which
// highlight rules a single record triggers by itself. Rules that need more
// than one record (new IP, failures then success, mail bursts) are computed
// by the Analyzer from the fields an adapter extracts.
//
// To show a new source, add one Adapter to Adapters.
type Adapter struct {
	Pattern string // path.Match pattern of bundle-relative .jsonl files, e.g. "signins/*.jsonl"
	Class   string // ClassSignIn, ClassAudit, ClassUAL or ClassMail
	// Label returns the catalogue key (and its argument) naming the source
	// of a file, e.g. ("src.signins", "interactive").
	Label func(file string) (key, arg string)
	// Extract fills ev from the record r. It sets ev.Time to the zero time
	// when the record has no readable time.
	Extract func(r gjson.Result, ev *Event)
}

// Adapters is the table of known record files, first match wins. A bundle
// may hold any subset; files no adapter matches are listed but not read.
var Adapters = []Adapter{
	{Pattern: "signins/*.jsonl", Class: ClassSignIn, Label: kindLabel("src.signins"), Extract: extractSignIn},
	{Pattern: "audits/*.jsonl", Class: ClassAudit, Label: fixedLabel("src.audits"), Extract: extractAudit},
	{Pattern: "ual/*.jsonl", Class: ClassUAL, Label: fixedLabel("src.ual"), Extract: extractUAL},
	{Pattern: "messagetrace/*.jsonl", Class: ClassMail, Label: fixedLabel("src.mail"), Extract: extractMail},
}

// adapterFor returns the adapter reading file, or nil.
func adapterFor(file string) *Adapter {
	for i := range Adapters {
		if ok, _ := path.Match(Adapters[i].Pattern, file); ok {
			return &Adapters[i]
		}
	}
	return nil
}

func fixedLabel(key string) func(string) (string, string) {
	return func(string) (string, string) { return key, "" }
}

// kindLabel names a file by its base name: signins/noninteractive.jsonl is
// ("src.signins", "noninteractive").
func kindLabel(key string) func(string) (string, string) {
	return func(file string) (string, string) {
		return key, strings.TrimSuffix(path.Base(file), ".jsonl")
	}
}

// first returns the first non-empty string among paths of r.
func first(r gjson.Result, paths ...string) string {
	for _, p := range paths {
		if s := firstValue(r.Get(p)); s != "" {
			return s
		}
	}
	return ""
}

// parseTime reads an RFC 3339 time (Graph sends up to 7 fractional digits).
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Some services omit the offset; Graph documents these times as UTC.
		if t2, err2 := time.Parse("2006-01-02T15:04:05.9999999", s); err2 == nil {
			return t2.UTC()
		}
		return time.Time{}
	}
	return t.UTC()
}

// interrupts are sign-in error codes that mean "the user was asked for
// more" (MFA, registration, keep-me-signed-in, device), not a failed
// credential: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
var interrupts = map[int64]bool{50074: true, 50076: true, 50079: true, 50097: true, 50125: true, 50140: true}

// Sign-ins: https://learn.microsoft.com/en-us/graph/api/resources/signin
//
// Sign-ins are most of a large bundle, so the record is walked once, key by
// key, instead of being searched once per field.
func extractSignIn(r gjson.Result, ev *Event) {
	var created, upn, spn, spid, uid, app, appID, risk, ua string
	var loc, status, device gjson.Result
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			ev.ID = v.String()
		case "createdDateTime":
			created = v.String()
		case "userPrincipalName":
			upn = v.String()
		case "servicePrincipalName":
			spn = v.String()
		case "servicePrincipalId":
			spid = v.String()
		case "userId":
			uid = v.String()
		case "ipAddress":
			ev.IP = strings.TrimSpace(v.String())
		case "appDisplayName":
			app = v.String()
		case "appId":
			appID = v.String()
			ev.AppID = strings.ToLower(appID)
		case "riskLevelDuringSignIn":
			risk = v.String()
		case "userAgent":
			ua = v.String()
		case "deviceDetail":
			device = v
		case "homeTenantId":
			ev.Tenant = v.String()
		case "location":
			loc = v
		case "status":
			status = v
		}
		return true
	})
	ev.Time = parseTime(created)
	ev.User = firstOf(upn, spn, spid, uid)
	ev.UserKey = firstOf(uid, spid, upn)
	ev.Country = first(loc, "countryOrRegion")
	ev.City = first(loc, "city")
	ev.App = firstOf(app, appID)
	ev.Op = "Sign-in"
	ev.UA = firstOf(ua, joinNonEmpty(" / ", first(device, "browser"), first(device, "operatingSystem")))
	if code := status.Get("errorCode"); code.Exists() {
		ev.Code = code.String()
		switch c := code.Int(); {
		case c == 0:
			ev.Result = ResultSuccess
		case interrupts[c]:
			ev.Result = ResultInterrupted
			ev.Detail = joinNonEmpty(" ", code.String(), first(status, "failureReason"))
		default:
			ev.Result = ResultFailure
			ev.Detail = joinNonEmpty(" ", code.String(), first(status, "failureReason"))
		}
	}
	if ev.App != "" {
		ev.Detail = joinNonEmpty(" · ", ev.App, ev.Detail)
	}
	switch strings.ToLower(risk) {
	case "high", "medium":
		if ev.Result == ResultSuccess {
			ev.flag(FlagRisky)
		}
	}
}

// firstOf returns the first non-blank value.
func firstOf(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// Activities of directory audits (activityDisplayName) and unified audit
// log operations that a responder looks for, compared case-insensitively
// after trimming a final period (the UAL writes "Consent to application.").
var (
	mfaActivities = set(
		"User registered security info",
		"User registered all required security info",
		"Admin registered security info",
	)
	consentActivities = set(
		"Consent to application",
		"Add delegated permission grant",
		"Add OAuth2PermissionGrant",
	)
	appCredActivities = set(
		"Add service principal credentials",
		"Update application – Certificates and secrets management",
		"Update application - Certificates and secrets management",
	)
	inboxRuleOperations = set(
		"New-InboxRule",
		"Set-InboxRule",
		"UpdateInboxRules",
	)
)

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[normOp(s)] = true
	}
	return m
}

func normOp(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

// activityFlag applies the single-record rules to an activity name.
func activityFlag(ev *Event, activity string) {
	n := normOp(activity)
	switch {
	case mfaActivities[n]:
		ev.flag(FlagMFA)
	case consentActivities[n]:
		ev.flag(FlagConsent)
	case appCredActivities[n]:
		ev.flag(FlagAppCred)
	case inboxRuleOperations[n]:
		ev.flag(FlagInboxRule)
	}
}

// Directory audits: https://learn.microsoft.com/en-us/graph/api/resources/directoryaudit
func extractAudit(r gjson.Result, ev *Event) {
	ev.Time = parseTime(r.Get("activityDateTime").String())
	ev.ID = r.Get("id").String()
	ev.User = first(r, "initiatedBy.user.userPrincipalName", "initiatedBy.app.displayName", "initiatedBy.user.id", "initiatedBy.app.appId")
	ev.UserKey = first(r, "initiatedBy.user.id", "initiatedBy.app.servicePrincipalId", "initiatedBy.user.userPrincipalName", "initiatedBy.app.displayName")
	ev.IP = first(r, "initiatedBy.user.ipAddress")
	ev.Op = first(r, "activityDisplayName")
	var targets []string
	r.Get("targetResources").ForEach(func(_, t gjson.Result) bool {
		if s := first(t, "userPrincipalName", "displayName", "id"); s != "" {
			targets = append(targets, s)
		}
		return len(targets) < 3
	})
	ev.Detail = joinNonEmpty(" · ", strings.Join(targets, ", "), first(r, "resultReason"))
	if res := first(r, "result"); res != "" && !strings.EqualFold(res, "success") {
		ev.Detail = joinNonEmpty(" · ", ev.Detail, res)
	}
	activityFlag(ev, ev.Op)
}

// Unified audit log records (Graph audit log query):
// https://learn.microsoft.com/en-us/graph/api/resources/security-auditlogrecord
//
// The record and its auditData are walked once each, key by key, as
// sign-ins are (an audit log of a few hundred thousand records is most of
// such a bundle): the page of a 300,010-record audit log took 2.5
// CPU-seconds with one lookup per field, 1.8 with the walk (the reference's
// example record alone, BenchmarkExtractUAL: 4.4 to 3.2 microseconds).
// Duplicate keys are read as a path lookup reads them: the first counts,
// and a field of auditData comes from the first auditData that has it
// (TestExtractUALAsByPath, FuzzExtractUALAsByPath).
func extractUAL(r gjson.Result, ev *Event) {
	var created, id, upn, uid, ip, op, svc, obj gjson.Result
	var ads []gjson.Result // every auditData: a path finds a field in a later duplicate when the first lacks it
	keep := func(dst *gjson.Result, v gjson.Result) {
		if !dst.Exists() {
			*dst = v
		}
	}
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "createdDateTime":
			keep(&created, v)
		case "id":
			keep(&id, v)
		case "userPrincipalName":
			keep(&upn, v)
		case "userId":
			keep(&uid, v)
		case "clientIp":
			keep(&ip, v)
		case "operation":
			keep(&op, v)
		case "service":
			keep(&svc, v)
		case "objectId":
			keep(&obj, v)
		case "auditData":
			ads = append(ads, v)
		}
		return true
	})
	var adTime, adUser, adIP, adIPAddr, adOp, adUA, params gjson.Result
	for _, ad := range ads {
		if !ad.IsObject() {
			continue
		}
		ad.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "CreationTime":
				keep(&adTime, v)
			case "UserId":
				keep(&adUser, v)
			case "ClientIP":
				keep(&adIP, v)
			case "ClientIPAddress":
				keep(&adIPAddr, v)
			case "Operation":
				keep(&adOp, v)
			case "UserAgent":
				keep(&adUA, v)
			case "Parameters":
				keep(&params, v)
			}
			return true
		})
	}
	ev.Time = parseTime(firstValue(created, adTime))
	ev.ID = id.String()
	ev.User = firstValue(upn, adUser, uid)
	ev.UserKey = firstValue(uid, upn, adUser)
	ev.IP = stripPort(firstValue(ip, adIP, adIPAddr))
	ev.Op = firstValue(op, adOp)
	names := ualParameters(params, ev)
	ev.Detail = joinNonEmpty(" · ", firstValue(svc), strings.Join(names, ", "))
	ev.UA = firstValue(adUA)
	if len(names) == 0 {
		ev.Detail = joinNonEmpty(" · ", ev.Detail, firstValue(obj))
	}
	activityFlag(ev, ev.Op)
}

// ualParameters reads an audit log record's auditData.Parameters: the
// first six "Name=Value" for the event's detail, and the addresses mail is
// forwarded or redirected to (an inbox rule's), into ev.Fwd.
func ualParameters(params gjson.Result, ev *Event) (names []string) {
	params.ForEach(func(_, p gjson.Result) bool {
		if n := p.Get("Name").String(); n != "" {
			names = append(names, n+"="+p.Get("Value").String())
		}
		return len(names) < 6
	})
	params.ForEach(func(_, p gjson.Result) bool {
		switch strings.ToLower(p.Get("Name").String()) {
		case "forwardto", "redirectto", "forwardasattachmentto", "forwardingsmtpaddress":
			for _, a := range strings.FieldsFunc(p.Get("Value").String(), func(r rune) bool { return r == ';' || r == ',' }) {
				if a = strings.TrimSpace(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(a)), "smtp:")); a != "" {
					ev.Fwd = append(ev.Fwd, a)
				}
			}
		}
		return true
	})
	return names
}

// firstValue is first for values already found: the first that is neither
// missing, null nor blank, trimmed.
func firstValue(vs ...gjson.Result) string {
	for _, v := range vs {
		if v.Exists() && v.Type != gjson.Null {
			if s := strings.TrimSpace(v.String()); s != "" {
				return s
			}
		}
	}
	return ""
}

// Message traces: https://learn.microsoft.com/en-us/graph/api/resources/exchangemessagetrace
func extractMail(r gjson.Result, ev *Event) {
	ev.Time = parseTime(r.Get("receivedDateTime").String())
	ev.ID = r.Get("id").String()
	ev.User = first(r, "senderAddress")
	ev.UserKey = strings.ToLower(ev.User)
	ev.IP = first(r, "fromIP")
	ev.Op = first(r, "status")
	ev.Detail = joinNonEmpty(" · ", "→ "+first(r, "recipientAddress"), first(r, "subject"))
}

// stripPort turns "1.2.3.4:5678" and "[2001:db8::1]:443" into the address.
func stripPort(s string) string {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			return s[1:i]
		}
	}
	if strings.Count(s, ":") == 1 {
		return s[:strings.Index(s, ":")]
	}
	return s
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// forwardTargets are the addresses a mailbox rule forwards or redirects
// mail to: https://learn.microsoft.com/en-us/graph/api/resources/messageruleactions
func forwardTargets(rule gjson.Result) []string {
	var out []string
	for _, k := range []string{"actions.forwardTo", "actions.redirectTo", "actions.forwardAsAttachmentTo"} {
		rule.Get(k).ForEach(func(_, r gjson.Result) bool {
			if a := strings.TrimSpace(r.Get("emailAddress.address").String()); a != "" {
				out = append(out, strings.ToLower(a))
			}
			return true
		})
	}
	return out
}
