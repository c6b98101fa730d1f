package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// The incident brief: what the first screen says (verdict, findings), and
// the indicators and key events below it. Every sentence comes from the
// catalogue, keyed by stable codes (finding kinds, rule flags, statuses,
// sign-in error codes), never by translating English at render time.

// Severities in the order the page lists them.
var severityOrder = []string{"high", "medium", "low", "informational"}

func sevRank(s string) int {
	for i, x := range severityOrder {
		if x == s {
			return i
		}
	}
	return len(severityOrder)
}

// FindingKinds are the finding codes the catalogue words ("finding.<code>.
// title", ".why", ".next"): the findings files' kinds, and one per highlight
// rule ("rule-<flag>") for the findings the page derives from records.
var FindingKinds = []string{
	"auth-method-registered-in-window", "inbox-rule-suspicious", "consent-to-unverified-app",
	"app-credential-added-in-window", "app-created-in-window", "device-registered-in-window",
	"guest-created-in-window", "user-at-risk",
	"domain-federated", "ca-policy-disabled", "ca-policy-report-only", "ca-policy-excludes-subject",
	"role-assigned-to-subject", "role-assigned-to-app", "role-eligibility-created-in-window", "users-may-consent-to-any-app",
	"defender-incident-open", "service-principal-at-risk",
}

// kindRank orders findings of one severity: what was done to the
// account first (the snapshot's kinds, then the records' rules), then the
// security team's signals, then the tenant's configuration.
func kindRank(code string) int {
	if strings.HasPrefix(code, "rule-") {
		return 10
	}
	for i, k := range FindingKinds {
		if k == code {
			if i >= 8 && i < 16 { // the tenant's
				return 30 + i
			}
			if i >= 16 { // signals
				return 20 + i
			}
			return i
		}
	}
	return 100
}

// ruleSeverity is the severity of a finding derived from a highlight rule.
var ruleSeverity = map[string]string{
	FlagFailSuccess: "high", FlagRisky: "high", FlagMailBurst: "high", FlagInboxRule: "high",
	FlagConsent: "high", FlagAppCred: "high", FlagMFA: "high", FlagNewIP: "medium", FlagNewCountry: "medium",
	FlagGraphInd: "high",
}

// stateRules are the rules whose subject the findings files also report
// (from the current state): derived only when no findings file is there.
var stateRules = map[string]bool{FlagMFA: true, FlagInboxRule: true, FlagConsent: true, FlagAppCred: true}

// SignInCodes are the sign-in error codes (status.errorCode, "AADSTS" plus
// the number) the page explains ("code.<n>"), as Microsoft documents them:
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
var SignInCodes = []string{"0", "50053", "50055", "50057", "50058", "50074", "50076", "50079", "50097", "50125", "50126", "50140", "50158", "53003", "500121", "530032"}

type sevGroup struct {
	Severity, Label string
	Items           []findingView
}

type findingView struct {
	Code, Severity, SevLabel, Title, Object, UPN, Time, Summary, Why, Next string
	Derived                                                                bool
	Refs                                                                   []refView
}

type refView struct {
	Label, Href, Timeline string
}

type evidenceView struct {
	Anchor, Path, Href, ID, SHA256, Record, Timeline string
	Line                                             int64
	Captured                                         bool
}

type indicatorView struct {
	Kind, KindLabel, Value, First, Last, Sources, Filter string
	Count                                                int64
}

type keyView struct {
	Anchor, Time, ClassLabel, Op, User, IP, Where, Result, ResultLabel, Code, CodeMeaning string
	Flags                                                                                 []flagView
}

type codeRow struct{ Code, Name, Meaning string }

type verdictView struct {
	State, StateClass string
	StateLine         template.HTML
	Signature         template.HTML
	SigClass          string
	Scope             template.HTML
	Summary1          template.HTML
	Summary2          template.HTML
}

// briefFindings builds the findings list: those of the findings files, by
// severity, and those derived from highlighted records.
func briefFindings(a *Analyzer, tl timelineResult, anchors anchorMap, byID map[string]string, cat *catalog, href func(string) string) ([]sevGroup, []evidenceView, int, int) {
	var evs []evidenceView
	evAnchor := map[string]string{}
	ref := func(r RecordRef) refView {
		key := r.Path + "\x00" + fmt.Sprint(r.Line) + "\x00" + r.ID
		an, ok := evAnchor[key]
		if !ok {
			an = fmt.Sprintf("e%d", len(evs)+1)
			evAnchor[key] = an
			ev := evidenceView{Anchor: an, Path: r.Path, Href: href(r.Path), ID: r.ID, SHA256: r.SHA256, Line: r.Line, Timeline: byID[r.ID]}
			if b, ok := a.want[r.Path][r.Line]; ok && b != nil {
				ev.Captured = true
				ev.Record = string(b)
			}
			evs = append(evs, ev)
		}
		label := r.Path
		if r.Line > 0 {
			label += fmt.Sprintf(":%d", r.Line)
		}
		return refView{Label: label, Href: "#" + an, Timeline: byID[r.ID]}
	}
	var all []findingView
	for _, f := range a.findings {
		code := f.Kind
		known := cat.has("finding." + code + ".title")
		fv := findingView{Code: code, Severity: f.Severity, Object: f.Object, UPN: f.UPN, Time: fmtStamp(f.Time)}
		if f.Time == "" {
			fv.Time = ""
		}
		switch {
		case known:
			fv.Title, fv.Why, fv.Next = cat.S("finding."+code+".title"), cat.S("finding."+code+".why"), cat.S("finding."+code+".next")
			if cat.lang == "en" && f.NextStep != "" {
				fv.Next = f.NextStep // the source's own, more specific step
			}
		case cat.lang == "en":
			fv.Title, fv.Why, fv.Next = firstOf(f.Title, code), "", f.NextStep
		default:
			fv.Title = cat.S("finding.unknown", code)
		}
		if cat.lang == "en" {
			fv.Summary = joinNonEmpty(" ", f.Title, f.Detail)
		}
		for _, r := range f.Records {
			fv.Refs = append(fv.Refs, ref(r))
		}
		all = append(all, fv)
	}
	// Findings the records show: one per rule and subject (user or sender),
	// linking to the timeline rows.
	type agg struct {
		flag, who  string
		first      time.Time
		rows       []string
		times      []string
		ips        []string
		seenIP     map[string]bool
		n          int
		mailCounts []string
	}
	aggs := map[string]*agg{}
	var order []string
	for _, e := range tl.events {
		for _, fl := range e.Flags {
			if stateRules[fl] && a.findingsFile {
				continue
			}
			k := fl + "\x00" + e.User
			g := aggs[k]
			if g == nil {
				g = &agg{flag: fl, who: e.User, first: e.Time, seenIP: map[string]bool{}}
				aggs[k] = g
				order = append(order, k)
			}
			g.n++
			if len(g.rows) < 20 {
				g.rows = append(g.rows, anchors.of(e))
				g.times = append(g.times, fmtTime(e.Time))
			}
			if e.IP != "" && !g.seenIP[e.IP] && len(g.ips) < 5 {
				g.seenIP[e.IP] = true
				g.ips = append(g.ips, e.IP)
			}
			if e.Note != "" {
				g.mailCounts = append(g.mailCounts, e.Note)
			}
		}
	}
	for _, k := range order {
		g := aggs[k]
		code := "rule-" + g.flag
		fv := findingView{Code: code, Severity: ruleSeverity[g.flag], Object: strings.Join(g.ips, ", "), UPN: g.who, Time: fmtTime(g.first), Derived: true,
			Title: cat.S("finding." + code + ".title"), Why: cat.S("finding." + code + ".why"), Next: cat.S("finding." + code + ".next")}
		fv.Summary = cat.S("finding.derived.summary", g.n)
		if len(g.mailCounts) > 0 {
			fv.Summary = cat.S("finding.derived.burst", strings.Join(g.mailCounts, ", "))
		}
		for i, an := range g.rows {
			fv.Refs = append(fv.Refs, refView{Label: g.times[i], Href: "#" + an, Timeline: an})
		}
		all = append(all, fv)
	}
	// One finding per code and object: two sources reporting the same app
	// credential (the tenant's and the user's snapshot) are one finding
	// with the records of both.
	merged := all[:0]
	at := map[string]int{}
	for _, f := range all {
		key := f.Code + "\x00" + strings.ToLower(f.Object)
		if i, ok := at[key]; ok && !f.Derived && f.Object != "" {
			if merged[i].UPN == "" {
				merged[i].UPN = f.UPN
			}
			merged[i].Refs = append(merged[i].Refs, f.Refs...)
			continue
		}
		at[key] = len(merged)
		merged = append(merged, f)
	}
	all = merged
	sort.SliceStable(all, func(i, j int) bool {
		if a, b := sevRank(all[i].Severity), sevRank(all[j].Severity); a != b {
			return a < b
		}
		return kindRank(all[i].Code) < kindRank(all[j].Code)
	})
	var groups []sevGroup
	high, medium := 0, 0
	for _, f := range all {
		switch f.Severity {
		case "high":
			high++
		case "medium":
			medium++
		}
		f.SevLabel = cat.severity(f.Severity)
		if n := len(groups); n == 0 || groups[n-1].Severity != f.Severity {
			groups = append(groups, sevGroup{Severity: f.Severity, Label: cat.severity(f.Severity)})
		}
		groups[len(groups)-1].Items = append(groups[len(groups)-1].Items, f)
	}
	return groups, evs, high, medium
}

// severity names a severity in the page's language.
func (c *catalog) severity(s string) string {
	if c.has("sev." + s) {
		return c.S("sev." + s)
	}
	return c.S("sev.other", s)
}

func (c *catalog) has(key string) bool { _, ok := c.msgs[key]; return ok }

// indicators are the values a responder blocks or searches for: the IP
// addresses, user agents, applications and countries of highlighted
// events, and every mail forwarding target, each with what the whole
// bundle says about it.
func indicators(a *Analyzer, tl timelineResult, cat *catalog) ([]indicatorView, template.URL) {
	pick := map[string]bool{}
	for _, e := range tl.events {
		if len(e.Flags) == 0 || e.Note != "" {
			continue
		}
		pick[IndIP+"\x00"+strings.ToLower(e.IP)] = true
		if e.Class == ClassSignIn {
			pick[IndUA+"\x00"+strings.ToLower(e.UA)] = true
			pick[IndApp+"\x00"+strings.ToLower(e.App)] = true
			pick[IndCountry+"\x00"+strings.ToLower(e.Country)] = true
		}
		for _, f := range e.Fwd {
			pick[IndFwd+"\x00"+strings.ToLower(f)] = true
		}
	}
	var list []*indStat
	for k, st := range a.inds {
		if pick[k] || st.Kind == IndFwd {
			list = append(list, st)
		}
	}
	kindRank := map[string]int{IndIP: 0, IndFwd: 1, IndUA: 2, IndApp: 3, IndCountry: 4}
	sort.Slice(list, func(i, j int) bool {
		if kindRank[list[i].Kind] != kindRank[list[j].Kind] {
			return kindRank[list[i].Kind] < kindRank[list[j].Kind]
		}
		if !list[i].First.Equal(list[j].First) {
			return list[i].First.Before(list[j].First)
		}
		return list[i].Value < list[j].Value
	})
	var out []indicatorView
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"type", "value", "first_seen_utc", "last_seen_utc", "count", "sources"}) //nolint:errcheck // strings.Builder
	for _, st := range list {
		var srcs []string
		for s := range st.Sources {
			srcs = append(srcs, s)
		}
		sort.Strings(srcs)
		var labels []string
		for _, s := range srcs {
			labels = append(labels, cat.sourceLabel(s))
		}
		iv := indicatorView{Kind: st.Kind, KindLabel: cat.S("ind." + st.Kind), Value: st.Value, First: fmtTime(st.First), Last: fmtTime(st.Last),
			Count: st.Count, Sources: strings.Join(labels, ", ")}
		if st.Kind == IndIP {
			iv.Filter = st.Value
		}
		out = append(out, iv)
		first, last := "", ""
		if !st.First.IsZero() {
			first, last = st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339)
		}
		w.Write([]string{st.Kind, csvSafe(st.Value), first, last, fmt.Sprint(st.Count), strings.Join(srcs, ";")}) //nolint:errcheck // strings.Builder
	}
	w.Flush()
	return out, template.URL("data:text/csv;charset=utf-8," + url.PathEscape("\ufeff"+b.String()))
}

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (c *catalog) sourceLabel(s string) string {
	if c.has("class." + s) {
		return c.S("class." + s)
	}
	if c.has("src.state." + s) {
		return c.S("src.state." + s)
	}
	return s
}

// codeMeaning explains a sign-in error code, "" when the page does not
// know it.
func (c *catalog) codeMeaning(code string) string {
	if code == "" || !c.has("code."+code) {
		return ""
	}
	return c.S("code." + code)
}

func codeTable(seen map[string]bool, cat *catalog) []codeRow {
	var rows []codeRow
	for _, c := range SignInCodes {
		rows = append(rows, codeRow{Code: c, Name: cat.S("codename." + c), Meaning: cat.S("code." + c)})
	}
	var extra []string
	for c := range seen {
		if !cat.has("code."+c) && c != "" {
			extra = append(extra, c)
		}
	}
	sort.Strings(extra)
	for _, c := range extra {
		rows = append(rows, codeRow{Code: c, Name: "", Meaning: cat.S("code.unknown")})
	}
	return rows
}

// timelineData is the timeline as compact JSON for the page's script:
// repeated strings once in dictionaries, one array per row. It returns each
// event's anchor at once and the function that writes the data into the
// page as it is assembled (Render), so that the data, the page's largest
// part, is never held twice.
func timelineData(tl timelineResult, a *Analyzer, cat *catalog, href func(string) string) (func(rb *bytes.Buffer), anchorMap) {
	anchors := make(anchorMap, len(tl.events))
	for i, ev := range tl.events {
		anchors[ev] = int32(i)
	}
	return func(rb *bytes.Buffer) { writeTimeline(rb, tl, a, cat, href) }, anchors
}

func writeTimeline(rb *bytes.Buffer, tl timelineResult, a *Analyzer, cat *catalog, href func(string) string) {
	type dict struct {
		idx  map[string]int
		list []string
	}
	mk := func() *dict { return &dict{idx: map[string]int{}} }
	put := func(d *dict, s string) int {
		if i, ok := d.idx[s]; ok {
			return i
		}
		d.idx[s] = len(d.list)
		d.list = append(d.list, s)
		return len(d.list) - 1
	}
	users, ops, apps, wheres, details, ips, codes := mk(), mk(), mk(), mk(), mk(), mk(), mk()
	type fileInfo struct{ Path, Href, Label, Class string }
	fidx := map[string]int{}
	var files []fileInfo
	resIdx := map[string]int{"": 0, ResultSuccess: 1, ResultFailure: 2, ResultInterrupted: 3}
	// The rows are written straight as JSON (a row is an array of numbers
	// and one string), without a value per field in memory.
	rb.Grow(len(tl.events)*rowBytes + 4096)
	rb.WriteString(`{"rows":[`)
	num := func(n int64) { rb.WriteString(strconv.FormatInt(n, 10)); rb.WriteByte(',') }
	for i, ev := range tl.events {
		fi, ok := fidx[ev.File]
		if !ok {
			label := cat.S("class." + ev.Class)
			if fs := a.files[ev.File]; fs != nil {
				label = cat.label(fs.LabelKey, fs.LabelArg)
			}
			fi = len(files)
			fidx[ev.File] = fi
			files = append(files, fileInfo{ev.File, href(ev.File), label, ev.Class})
		}
		op, detail := ev.Op, ev.Detail
		if ev.Class == ClassSignIn {
			op = cat.S("op.signin")
		}
		if ev.Note != "" {
			op = cat.S("op.mailburst")
			detail = cat.S("burst.detail", ev.Note, ev.User)
		}
		if len(detail) > 300 {
			detail = detail[:300] + "…"
		}
		var flags int64
		for b, f := range flagOrder {
			for _, g := range ev.Flags {
				if f == g {
					flags |= 1 << b
				}
			}
		}
		line := ev.Line
		if ev.Note != "" {
			line = 0
		}
		if i > 0 {
			rb.WriteByte(',')
		}
		rb.WriteByte('[')
		for _, n := range []int64{ev.Time.Unix(), int64(fi), int64(put(users, ev.User)), int64(put(ips, ev.IP)), int64(put(wheres, joinNonEmpty(", ", ev.City, ev.Country))),
			int64(put(ops, op)), int64(resIdx[ev.Result]), int64(put(apps, ev.App)), int64(put(details, detail)), line} {
			num(n)
		}
		id, _ := json.Marshal(ev.ID)
		rb.Write(id)
		rb.WriteByte(',')
		num(flags)
		rb.WriteString(strconv.Itoa(put(codes, ev.Code)))
		rb.WriteByte(']')
	}
	rb.WriteString("],")
	var flagLabels, resLabels []string
	for _, f := range flagOrder {
		flagLabels = append(flagLabels, cat.S("flag."+f))
	}
	for _, r := range []string{"", ResultSuccess, ResultFailure, ResultInterrupted} {
		if r == "" {
			resLabels = append(resLabels, "")
			continue
		}
		resLabels = append(resLabels, cat.S("result."+r))
	}
	meanings := make([]string, len(codes.list))
	for i, c := range codes.list {
		meanings[i] = cat.codeMeaning(c)
	}
	data := map[string]any{
		"files": files, "users": users.list, "ips": ips.list, "where": wheres.list, "ops": ops.list, "apps": apps.list,
		"details": details.list, "codes": codes.list, "meanings": meanings, "flags": flagOrder, "flagLabels": flagLabels,
		"results": []string{"", ResultSuccess, ResultFailure, ResultInterrupted}, "resultLabels": resLabels,
		"text": map[string]string{"shown": cat.S("filter.shown"), "page": cat.S("filter.page"), "code": cat.S("col.code")},
	}
	b, _ := json.Marshal(data)
	rb.Write(b[1:]) // the dictionaries, after the rows
}

// rowBytes is about the length of one timeline row in the page's data
// (ten numbers, an id and a flag mask): the rows are written into a buffer
// of that size per event, so that it does not grow (and copy) on the way.
const rowBytes = 96

// anchorMap gives each timeline event its index on the timeline (its
// anchor, "t" and the index), by pointer: a map of 100,000 strings would
// cost more than the timeline itself.
type anchorMap map[*Event]int32

// of returns e's anchor, "" when e is not on the timeline.
func (m anchorMap) of(e *Event) string {
	i, ok := m[e]
	if !ok {
		return ""
	}
	return "t" + strconv.Itoa(int(i))
}

// verdict words the box at the top.
func verdict(m *manifest.Manifest, v *view, a *Analyzer, o Options, tl timelineResult, high, medium int, cat *catalog) verdictView {
	vv := verdictView{}
	imported := len(m.Imports) > 0 && len(m.Sources) == 0
	switch {
	case imported:
		vv.State, vv.StateClass = cat.S("verdict.imported"), "warn"
		vv.StateLine = cat.T("verdict.imported.line", len(m.Imports), a.total)
	case v.Complete:
		vv.State, vv.StateClass = cat.S("banner.complete"), "ok"
		vv.StateLine = cat.T("verdict.complete.line", len(m.Sources))
	default:
		vv.State, vv.StateClass = cat.S("banner.incomplete"), "bad"
		srcs := map[string]bool{}
		var names []string
		for _, p := range v.Problems {
			if !srcs[p.Source] {
				srcs[p.Source] = true
				names = append(names, p.Source)
			}
		}
		vv.StateLine = cat.T("verdict.incomplete.line", len(v.Problems), strings.Join(names, ", "))
	}
	if o.Integrity != nil && !o.Integrity.OK {
		vv.StateClass = "bad"
	}
	vv.Signature, vv.SigClass = signatureLine(o.Signature, o.Embedded, cat), sigClass(o.Signature)
	var users []string
	for _, u := range m.Users {
		users = append(users, u.UPN)
	}
	who := cat.S("case.users.all")
	switch {
	case len(users) > 0:
		who = strings.Join(users, ", ")
	case imported:
		who = cat.S("verdict.imported.users")
	}
	tenant := joinNonEmpty(" · ", m.Tenant.DisplayName, m.Tenant.Domain)
	if tenant == "" {
		if ts, _ := a.tenants.Top(2); len(ts) > 0 {
			tenant = cat.S("verdict.tenant.records", strings.Join(ts, ", "))
		} else {
			tenant = cat.S("verdict.tenant.unknown")
		}
	}
	start, end := fmtStamp(m.Requested.Start), fmtStamp(m.Requested.End)
	if imported || m.Requested.Start == "" {
		start, end = "—", "—"
		if s, e := chartRange(a, m); !s.IsZero() {
			start, end = fmtTime(s), fmtTime(e)
		}
	}
	vv.Scope = cat.T("verdict.scope", who, tenant, start, end)
	// Line one: what was found.
	var titles []string
	for _, g := range v.FindingGroups {
		for _, f := range g.Items {
			if f.Severity == "high" && len(titles) < 5 {
				titles = append(titles, f.Title)
			}
		}
	}
	switch {
	case high+medium > 0:
		vv.Summary1 = cat.T("verdict.findings", high, medium, strings.Join(uniq(titles), cat.S("list.sep")))
	case len(v.FindingGroups) > 0:
		vv.Summary1 = cat.T("verdict.findings.low")
	default:
		vv.Summary1 = cat.T("verdict.findings.none")
	}
	// Line two: the activity the records show.
	var flagged int
	var first, last time.Time
	ipSeen := map[string]bool{}
	var ips []string
	for _, e := range tl.events {
		if len(e.Flags) == 0 {
			continue
		}
		flagged++
		if first.IsZero() || e.Time.Before(first) {
			first = e.Time
		}
		if e.Time.After(last) {
			last = e.Time
		}
		if e.IP != "" && !ipSeen[e.IP] && len(ips) < 3 {
			ipSeen[e.IP] = true
			ips = append(ips, e.IP)
		}
	}
	if flagged > 0 {
		vv.Summary2 = cat.T("verdict.activity", flagged, fmtTime(first), fmtTime(last), strings.Join(ips, ", "), a.total)
	} else {
		vv.Summary2 = cat.T("verdict.activity.none", a.total)
	}
	return vv
}
