package graphtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Advanced hunting (POST /v1.0/security/runHuntingQuery): the simulator
// holds four tables of the Defender XDR advanced hunting schema for the
// story, serves the last 30 days of them (the documented retention) and
// answers the documented shape {"schema": [...], "results": [...]}, at most
// Config.HuntingMaxRows rows (default 100,000, the documented cap).
//
// It parses only the query shape the signals source sends (HuntingQuery
// documents it); any other query is refused with 400 and Graph's error
// body, since the simulator cannot run KQL.

// HuntingTables are the tables the simulator serves, with the columns a
// query may filter the subject by.
var HuntingTables = map[string][]string{
	"IdentityLogonEvents": {"AccountUpn"},
	"CloudAppEvents":      {"AccountObjectId"},
	"EmailEvents":         {"RecipientEmailAddress", "SenderFromAddress"},
	"UrlClickEvents":      {"AccountUpn"},
}

// HuntingRetention is how far back advanced hunting data goes.
const HuntingRetention = 30 * 24 * time.Hour

const defaultHuntingMaxRows = 100000

// Hunting lists the story's advanced hunting rows, by table, as ReportIds.
type Hunting struct {
	AttackerLogons []string // IdentityLogonEvents from AttackerIP (3 failed, 1 successful)
	InboxRule      string   // CloudAppEvents: New-InboxRule from the attacker
	PhishingEmail  string   // EmailEvents: the phishing message delivered to the victim
	PhishingClick  string   // UrlClickEvents: the victim's click on its link
	// OldLogon is a benign victim logon 35 days back: older than the 30
	// days advanced hunting keeps, never served.
	OldLogon string
}

type huntRow struct {
	at time.Time
	o  *sobj
}

type huntTable struct {
	schema []byte // [{"name":..,"type":..},...]
	types  map[string]string
	rows   []huntRow // oldest first
}

type huntingData struct {
	tables map[string]*huntTable
	truth  Hunting
}

// TenantHunting returns the story's advanced hunting rows.
func (t *Tenant) TenantHunting() Hunting { return t.snapshot().hunting.truth }

// HuntingRow returns the JSON of the row with the given ReportId in table,
// as the simulator serves it ("" when there is none).
func (t *Tenant) HuntingRow(table, reportID string) string {
	if ht := t.snapshot().hunting.tables[table]; ht != nil {
		for _, r := range ht.rows {
			if r.o.str("ReportId") == reportID {
				return string(r.o.json(nil))
			}
		}
	}
	return ""
}

// buildHunting builds the advanced hunting tables: the story's rows and a
// benign victim logon every day of the last 35 days, from the office.
func (t *Tenant) buildHunting() *huntingData {
	h := &huntingData{tables: map[string]*huntTable{}}
	st := t.story
	victim := t.users[0]
	a := t.anchor.Truncate(time.Second)
	n := 0
	report := func() string { n++; return fmt.Sprintf("%d", 1000+n) }
	add := func(table string, at time.Time, kv ...any) string {
		ht := h.tables[table]
		if ht == nil {
			ht = &huntTable{types: map[string]string{}}
			h.tables[table] = ht
		}
		id := report()
		var pairs []any
		for i := 0; i+2 < len(kv); i += 3 {
			ht.types[kv[i].(string)] = kv[i+1].(string)
			pairs = append(pairs, kv[i], kv[i+2])
		}
		o := obj(append([]any{"Timestamp", at}, pairs...)...)
		o.set("ReportId", id)
		ht.types["Timestamp"], ht.types["ReportId"] = "DateTime", "String"
		if ht.schema == nil {
			w := jw{}
			w.openA()
			for _, k := range o.keys {
				w.open()
				w.key("name")
				w.str(k)
				w.key("type")
				w.str(ht.types[k])
				w.close()
			}
			w.closeA()
			ht.schema = w.b
		}
		ht.rows = append(ht.rows, huntRow{at, o})
		return id
	}
	logon := func(at time.Time, action string, failure any, ip, country string) string {
		return add("IdentityLogonEvents", at,
			"ActionType", "String", action, "Application", "String", "Microsoft 365", "LogonType", "String", "Interactive",
			"Protocol", "String", nil, "FailureReason", "String", failure, "AccountName", "String", strings.Split(victim.UPN, "@")[0],
			"AccountDomain", "String", "contoso.com", "AccountUpn", "String", victim.UPN, "AccountObjectId", "String", victim.ID,
			"AccountDisplayName", "String", victim.DisplayName, "IPAddress", "String", ip, "Location", "String", country,
			"AdditionalFields", "Dynamic", rawJSON(`{}`))
	}
	for d := 35; d >= 1; d-- {
		id := logon(a.Add(-time.Duration(d)*24*time.Hour).Truncate(24*time.Hour).Add(8*time.Hour+time.Duration(d)*time.Minute),
			"LogonSuccess", nil2(), victim.officeIP, "US")
		if d == 35 {
			h.truth.OldLogon = id
		}
	}
	for _, e := range st.FailedSignIns {
		h.truth.AttackerLogons = append(h.truth.AttackerLogons, logon(e.Time, "LogonFailed", "InvalidUserNameOrPassword", AttackerIP, "NL"))
	}
	h.truth.AttackerLogons = append(h.truth.AttackerLogons, logon(st.SuccessfulSignIn.Time, "LogonSuccess", nil2(), AttackerIP, "NL"))

	r := st.InboxRule
	h.truth.InboxRule = add("CloudAppEvents", r.Time,
		"ActionType", "String", "New-InboxRule", "Application", "String", "Microsoft Exchange Online", "ApplicationId", "Int32", 20893,
		"AccountObjectId", "String", victim.ID, "AccountId", "String", victim.ID, "AccountDisplayName", "String", victim.DisplayName,
		"IPAddress", "String", r.ClientIP, "CountryCode", "String", "NL", "ActivityType", "String", "Create", "ObjectName", "String", r.Name,
		"RawEventData", "Dynamic", rawJSON(`{"Operation":"New-InboxRule","Parameters":[{"Name":"Name","Value":"`+r.Name+`"},{"Name":"ForwardTo","Value":"`+r.ForwardTo+`"}]}`))

	phishAt := a.Add(-5*24*time.Hour - 20*time.Minute)
	h.truth.PhishingEmail = add("EmailEvents", phishAt,
		"NetworkMessageId", "String", "8f6b0c2e-4d1a-4b7e-9c3f-phish0000001", "InternetMessageId", "String", phishingMessageID,
		"SenderFromAddress", "String", attackerGuestAddress, "SenderMailFromAddress", "String", attackerGuestAddress,
		"SenderIPv4", "String", AttackerIP, "RecipientEmailAddress", "String", victim.Mail, "RecipientObjectId", "String", victim.ID,
		"Subject", "String", "Your mailbox storage is full - action required", "EmailDirection", "String", "Inbound",
		"DeliveryAction", "String", "Delivered", "DeliveryLocation", "String", "Inbox/folder", "ThreatTypes", "String", "Phish",
		"DetectionMethods", "String", `{"Phish":["URL detonation reputation"]}`)
	h.truth.PhishingClick = add("UrlClickEvents", phishAt.Add(3*time.Minute),
		"Url", "String", "https://login.mailsyncpro.example/owa", "ActionType", "String", "ClickAllowed", "AccountUpn", "String", victim.UPN,
		"Workload", "String", "Email", "NetworkMessageId", "String", "8f6b0c2e-4d1a-4b7e-9c3f-phish0000001", "IPAddress", "String", victim.officeIP,
		"ThreatTypes", "String", "Phish", "DetectionMethods", "String", "URL detonation reputation", "IsClickedThrough", "Boolean", true,
		"UrlChain", "Dynamic", rawJSON(`["https://login.mailsyncpro.example/owa"]`))
	for _, ht := range h.tables {
		slices.SortStableFunc(ht.rows, func(x, y huntRow) int { return x.at.Compare(y.at) })
	}
	return h
}

func nil2() any { return nil }

// routeHunting is POST /v1.0/security/runHuntingQuery.
func (t *Tenant) routeHunting() *endpoint {
	return &endpoint{class: "hunting", action: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
		if slices.Contains(t.cfg.Denied, PermHunting) {
			return nil, false, &gerr{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
		}
		if t.cfg.NoDefender {
			return nil, false, noDefender()
		}
		if rc.r.Method != http.MethodPost {
			return nil, false, &gerr{http.StatusMethodNotAllowed, "Request_BadRequest", "The requested resource does not support http method 'GET'."}
		}
		return t.runHunting(rc)
	}}
}

func (t *Tenant) runHunting(rc *reqCtx) ([]byte, bool, *gerr) {
	raw, err := io.ReadAll(io.LimitReader(rc.r.Body, 1<<20))
	if err != nil {
		return nil, false, badRequest("The request body could not be read.")
	}
	var body struct {
		Query    *string `json:"Query"`
		Timespan *string `json:"Timespan"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Query == nil {
		return nil, false, badRequest("Invalid request body: the Query parameter is required.")
	}
	q, e := parseHuntingQuery(*body.Query)
	if e != nil {
		return nil, false, e
	}
	now := t.Now()
	lo, hi := q.lo, q.hi
	if body.Timespan != nil {
		s, en, ok := parseTimespan(*body.Timespan)
		if !ok {
			return nil, false, badRequest("Invalid Timespan '%s': the simulator reads only START/END (ISO 8601 instants).", *body.Timespan)
		}
		lo, hi = later(lo, s), earlier(hi, en)
	}
	lo = later(lo, now.Add(-HuntingRetention))
	ht := t.snapshot().hunting.tables[q.table]
	maxRows := t.cfg.HuntingMaxRows
	if maxRows <= 0 {
		maxRows = defaultHuntingMaxRows
	}
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#microsoft.graph.security.huntingQueryResults")
	w.key("schema")
	w.b = append(w.b, ht.schema...)
	w.key("results")
	w.openA()
	served := 0
	for _, r := range ht.rows {
		if r.at.Before(lo) || !r.at.Before(hi) || served == maxRows {
			continue
		}
		match := false
		for col, vals := range q.users {
			v := r.o.str(col)
			match = match || slices.ContainsFunc(vals, func(s string) bool { return strings.EqualFold(s, v) })
		}
		if !match {
			continue
		}
		w.sep()
		w.b = append(w.b, r.o.json(nil)...)
		served++
	}
	w.closeA()
	w.close()
	return w.b, false, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func parseTimespan(s string) (time.Time, time.Time, bool) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	lo, err1 := time.Parse(time.RFC3339Nano, a)
	hi, err2 := time.Parse(time.RFC3339Nano, b)
	return lo, hi, err1 == nil && err2 == nil && !hi.Before(lo)
}

// huntQuery is a parsed query of the shape the signals source sends:
//
//	TABLE
//	| where Timestamp >= datetime(START) and Timestamp < datetime(END)
//	| where COLUMN in~ ("v1", "v2") or COLUMN2 in~ ("v1", "v2")
//	| order by Timestamp asc
type huntQuery struct {
	table  string
	lo, hi time.Time
	users  map[string][]string
}

func parseHuntingQuery(s string) (*huntQuery, *gerr) {
	refuse := func(why string) *gerr {
		return badRequest("Query could not be run by the simulator (%s); it serves only the query shape of the signals source: "+
			"TABLE | where Timestamp >= datetime(START) and Timestamp < datetime(END) | where COLUMN in~ (\"...\") [or ...] | order by Timestamp asc.", why)
	}
	lines := strings.Split(s, "\n")
	if len(lines) != 4 {
		return nil, refuse("not four lines")
	}
	q := &huntQuery{table: strings.TrimSpace(lines[0]), users: map[string][]string{}}
	cols, ok := HuntingTables[q.table]
	if !ok {
		return nil, refuse("unknown table '" + q.table + "'")
	}
	var a, b string
	if _, err := fmt.Sscanf(lines[1], "| where Timestamp >= datetime(%s and Timestamp < datetime(%s", &a, &b); err != nil ||
		!strings.HasSuffix(a, ")") || !strings.HasSuffix(b, ")") {
		return nil, refuse("no Timestamp bounds")
	}
	var err1, err2 error
	q.lo, err1 = time.Parse(time.RFC3339Nano, strings.TrimSuffix(a, ")"))
	q.hi, err2 = time.Parse(time.RFC3339Nano, strings.TrimSuffix(b, ")"))
	if err1 != nil || err2 != nil {
		return nil, refuse("bad datetime literal")
	}
	if lines[3] != "| order by Timestamp asc" {
		return nil, refuse("no order by Timestamp asc")
	}
	cond, ok := strings.CutPrefix(lines[2], "| where ")
	if !ok {
		return nil, refuse("no subject filter")
	}
	for {
		col, rest, ok := strings.Cut(cond, " in~ (")
		if !ok || !slices.Contains(cols, col) {
			return nil, refuse("filter on '" + col + "', not a subject column of " + q.table)
		}
		for {
			v, r, ok := kqlLiteral(rest)
			if !ok {
				return nil, refuse("bad string literal")
			}
			q.users[col] = append(q.users[col], v)
			if r, ok = strings.CutPrefix(r, ", "); ok {
				rest = r
				continue
			}
			if rest, ok = strings.CutPrefix(r, ")"); !ok {
				return nil, refuse("unterminated list")
			}
			break
		}
		if rest == "" {
			return q, nil
		}
		if cond, ok = strings.CutPrefix(rest, " or "); !ok {
			return nil, refuse("unexpected text after a list")
		}
	}
}

// kqlLiteral reads a double-quoted KQL string literal at the start of s.
func kqlLiteral(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\n', '\r':
			return "", "", false
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			e, ok := map[byte]byte{'\\': '\\', '"': '"', '\'': '\'', 'n': '\n', 'r': '\r', 't': '\t'}[s[i]]
			if !ok {
				return "", "", false
			}
			b.WriteByte(e)
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}
