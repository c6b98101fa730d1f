// Package report renders report.html, the page a security team, a manager or
// a lawyer reads before opening any record file: what was collected, what is
// missing and why, what looks like the attacker, and how to check the
// bundle.
//
// The page is one self-contained file built with html/template from embedded
// assets: no network access of any kind (a strict Content-Security-Policy
// allows only its own inline style and script, by hash), readable offline
// and printable. Every user-visible string comes from a message catalogue
// (English and Japanese). Records are streamed once through an Analyzer
// that keeps only bounded summaries, so a bundle of millions of records gives
// a page of a few megabytes.
package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	_ "github.com/evidence-dfir/evidence/collect/sources" // the registry isStateSource reads
	"github.com/evidence-dfir/evidence/manifest"
)

// FileName is the page's name at the bundle root.
const FileName = "report.html"

// Signature states.
const (
	SigUnsigned = "unsigned" // no signature file
	SigVerified = "verified" // a signature was checked against a key
	SigPresent  = "present"  // a signature file is there but was not checked
	SigInvalid  = "invalid"  // a signature was checked and does not match
	SigPlanned  = "planned"  // the page is sealed in a bundle about to be signed by Key
)

// Signature is what the page says about the bundle's signature.
type Signature struct {
	State string // one of the Sig* states
	File  string // e.g. SHA256SUMS.sig
	Key   string // the signing key's fingerprint or id, when known
}

// Integrity is the outcome of verifying the bundle before rendering.
type Integrity struct {
	OK       bool
	Files    int
	Bytes    int64
	Problems []string // one line each
}

// Options say how and where the page is rendered.
type Options struct {
	Lang string // "en" or "ja"
	// Embedded: the page is written into the bundle before it is sealed,
	// so the archive's SHA-256 and the integrity check come after it.
	Embedded      bool
	BundleName    string
	ArchiveSHA256 string     // SHA-256 of the .tar.zst the page was rendered from
	SumsSHA256    string     // SHA-256 of SHA256SUMS, when rendered from a sealed bundle
	Signature     Signature  // zero value: unsigned
	Integrity     *Integrity // nil: not checked (embedded)
	// Links to the bundle's files: LinkPrefix is put before each
	// bundle-relative path ("" when the page sits at the bundle root).
	// NoLinks shows file names without links (the files are inside an
	// archive).
	LinkPrefix string
	NoLinks    bool
	Renderer   string    // e.g. "evidence v1.2.0"
	Rendered   time.Time // when the page is rendered
}

//go:embed assets/report.html.tmpl
var pageTemplate string

//go:embed assets/report.css
var pageCSS string

//go:embed assets/report.js
var pageJS string

// CSP is the page's Content-Security-Policy: nothing may be loaded from
// anywhere; only the page's own style and script (by SHA-256) run; images
// only as data: URLs.
func CSP() string {
	return "default-src 'none'; style-src '" + cspHash(pageCSS) + "'; script-src '" + cspHash(pageJS) +
		"'; img-src data:; base-uri 'none'; form-action 'none'"
}

func cspHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

// Render writes the page for the bundle described by m, whose record files
// a has read.
func Render(w io.Writer, m *manifest.Manifest, a *Analyzer, o Options) error {
	cat, err := catalogue(o.Lang)
	if err != nil {
		return err
	}
	v := build(m, a, o, cat)
	t, err := template.New("report").Funcs(cat.funcs()).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	// A page is rendered whole before it is written: a template error never
	// leaves half a page. The template is executed with a marker where the
	// timeline data goes, and the data is written in its place as the page
	// is assembled (a caller's buffer is assembled into directly).
	var tmpl bytes.Buffer
	if err := t.Execute(&tmpl, v); err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	page := tmpl.Bytes()
	i := bytes.Index(page, []byte(timelineMarker))
	if i < 0 || bytes.Count(page, []byte(timelineMarker)) != 1 {
		return fmt.Errorf("rendering the report: the timeline's place is not in the page once")
	}
	out, ok := w.(*bytes.Buffer)
	if !ok {
		out = new(bytes.Buffer)
	}
	out.Grow(len(page) + v.NTimeline*rowBytes + 64<<10) // one allocation, not a doubling
	out.Write(page[:i])
	v.timeline(out)
	out.Write(page[i+len(timelineMarker):])
	if ok {
		return nil
	}
	_, err = w.Write(out.Bytes())
	return err
}

// timelineMarker holds the timeline data's place in the executed template.
const timelineMarker = "__EVIDENCE_TIMELINE_DATA__"

// view is what the template shows.
type view struct {
	Lang          string
	CSP           string
	CSS           template.CSS
	JS            template.JS
	M             *manifest.Manifest
	O             Options
	Case          []row
	Complete      bool
	Problems      []problem
	Warnings      []string
	Sources       []sourceView
	Key           []keyView
	Classes       []option
	Summarised    []template.HTML
	Chart         template.HTML
	IPs           groupTable
	Countries     groupTable
	Apps          groupTable
	FindingGroups []sevGroup
	NFindings     int
	Evidence      []evidenceView
	Changes       changesView
	FindingsIn    bool // a findings file is in the bundle
	FindingsOK    bool
	Files         []fileView
	Rules         []rule
	Total         int64
	Verdict       verdictView
	Indicators    []indicatorView
	IndicatorsCSV template.URL
	Codes         []codeRow
	TimelineJSON  template.JS         // timelineMarker: the data is written in its place
	timeline      func(*bytes.Buffer) // writes the timeline data
	NTimeline     int
	Results       []option
	Imported      bool
	Imports       []importView
}

type importView struct {
	Name, Path, Kind, First, Last string
	Records                       string
}

type row struct {
	Label template.HTML
	Value template.HTML
	Class string
}

type problem struct {
	Source, Status, StatusLabel, Start, End, Scope, Reason string
}

type sourceView struct {
	Name, Endpoint, Status, StatusLabel, Reason string
	Records, Pages                              int64
	Rows                                        []windowRow
	Files                                       []string
	Mismatch                                    template.HTML
}

type windowRow struct {
	Start, End, Scope, Status, StatusLabel, Reason, Query string
	Records, Pages                                        int64
	Gap                                                   bool
}

type evView struct {
	Anchor, Time, Class, ClassLabel, User, IP, Where, Op, Detail, Result, ResultLabel, File, Href, ID string
	Line                                                                                              int64
	Flags                                                                                             []flagView
}

type flagView struct{ Key, Label string }

type option struct{ Value, Label string }

type groupTable struct {
	Rows  []groupRow
	More  int
	Total int
}

type groupRow struct {
	Key                                    string
	Countries, Apps, Users, IPs            string
	SignIns, Success, Failure, Interrupted int64
	First, Last                            string
	Highlighted                            bool
}

type fileView struct {
	Path, Href, Label string
	Records           int64
	Size              int64
	HasSize           bool
}

type rule struct{ Key, Label, Desc string }

// Time formats on the page: UTC, the offset always written.
const (
	timeFmt = "2006-01-02 15:04:05-07:00"
)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeFmt)
}

// fmtStamp reformats an RFC 3339 manifest time for the page, keeping its
// fractional seconds.
func fmtStamp(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	f := "2006-01-02 15:04:05.999999999-07:00"
	return t.UTC().Format(f)
}

func build(m *manifest.Manifest, a *Analyzer, o Options, cat *catalog) *view {
	v := &view{Lang: cat.lang, CSP: CSP(), CSS: template.CSS(pageCSS), JS: template.JS(pageJS), M: m, O: o, Total: a.total}
	upn := map[string]string{}
	for _, u := range m.Users {
		upn[u.ID] = u.UPN
	}
	scope := func(id string) string {
		if id == "" {
			return cat.S("scope.tenant")
		}
		if u, ok := upn[id]; ok {
			return u
		}
		return id
	}
	href := func(p string) string {
		if o.NoLinks || p == "" {
			return ""
		}
		return o.LinkPrefix + p
	}

	// Completeness, exactly as the manifest says.
	v.Complete = m.Complete && !m.Incomplete()
	for _, i := range m.Imports {
		if i.OutOfScope > 0 {
			v.Warnings = append(v.Warnings, cat.S("import.outofscope", i.OriginalName, i.OutOfScope, i.Scope, i.OutOfScopePath, i.SubjectPath))
		}
	}
	for _, s := range m.Sources {
		sv := sourceView{Name: s.Name, Endpoint: s.Endpoint, Status: s.Status, StatusLabel: cat.status(s.Status), Reason: cat.text(s.Reason, s.Status), Records: s.Records, Pages: s.Pages, Files: s.Files}
		for _, w := range s.Windows {
			sv.Rows = append(sv.Rows, windowRow{Start: fmtStamp(w.Start), End: fmtStamp(w.End), Scope: scope(w.Scope), Status: w.Status, StatusLabel: cat.status(w.Status), Reason: cat.text(w.Reason, w.Status), Query: w.Query, Records: w.Records, Pages: w.Pages})
			if w.Status != manifest.StatusCollected {
				v.Problems = append(v.Problems, problem{Source: s.Name, Status: w.Status, StatusLabel: cat.status(w.Status), Start: fmtStamp(w.Start), End: fmtStamp(w.End), Scope: scope(w.Scope), Reason: cat.text(w.Reason, w.Status)})
			}
		}
		for _, g := range s.Missing {
			sv.Rows = append(sv.Rows, windowRow{Start: fmtStamp(g.Start), End: fmtStamp(g.End), Scope: scope(g.Scope), Status: g.Status, StatusLabel: cat.status(g.Status), Reason: cat.text(g.Reason, g.Status), Gap: true})
			v.Problems = append(v.Problems, problem{Source: s.Name, Status: g.Status, StatusLabel: cat.status(g.Status), Start: fmtStamp(g.Start), End: fmtStamp(g.End), Scope: scope(g.Scope), Reason: cat.text(g.Reason, g.Status)})
		}
		if s.Status != manifest.StatusCollected && len(s.Windows) == 0 && len(s.Missing) == 0 {
			v.Problems = append(v.Problems, problem{Source: s.Name, Status: s.Status, StatusLabel: cat.status(s.Status), Start: fmtStamp(m.Requested.Start), End: fmtStamp(m.Requested.End), Reason: cat.text(s.Reason, s.Status)})
		}
		// Cross-check: the records the files hold against the manifest.
		var read int64
		var seen bool
		for _, f := range s.Files {
			if fs := a.files[f]; fs != nil {
				read += fs.Records
				seen = true
			}
		}
		if s.API != nil && len(s.API.FieldsNotHeld) > 0 {
			v.Warnings = append(v.Warnings, cat.S("source.api.fallback", s.Name, s.API.Version, cat.text(s.API.Reason, ""), strings.Join(s.API.FieldsNotHeld, ", ")))
		}
		if s.OutOfScope > 0 {
			var files []string
			for _, f := range s.Files {
				if strings.HasSuffix(f, manifest.OutOfScopeSuffix) {
					files = append(files, f)
				}
			}
			v.Warnings = append(v.Warnings, cat.S("source.outofscope", s.Name, s.OutOfScope, strings.Join(files, ", ")))
		}
		if seen && read != s.Records {
			sv.Mismatch = cat.T("completeness.mismatch", read, s.Records)
			v.Warnings = append(v.Warnings, cat.S("completeness.mismatch.short", s.Name, read, s.Records))
		}
		v.Sources = append(v.Sources, sv)
	}
	if m.Complete && m.Incomplete() {
		v.Warnings = append(v.Warnings, cat.S("banner.contradiction"))
	}
	for _, w := range m.Warnings {
		v.Warnings = append(v.Warnings, cat.text(w, ""))
	}

	v.Case = caseRows(m, a, o, cat)

	// Timeline: every kept event, as data the page's script pages through.
	tl := a.timeline(m)
	classSeen := map[string]bool{}
	for _, ev := range tl.events {
		classSeen[ev.Class] = true
	}
	for _, c := range []string{ClassSignIn, ClassAudit, ClassUAL, ClassMail, ClassGraph} {
		if classSeen[c] || a.byClass[c] > 0 {
			v.Classes = append(v.Classes, option{c, cat.S("class." + c)})
		}
	}
	for _, r := range []string{ResultSuccess, ResultFailure, ResultInterrupted} {
		v.Results = append(v.Results, option{r, cat.S("result." + r)})
	}
	var anchors anchorMap
	v.timeline, anchors = timelineData(tl, a, cat, href)
	v.TimelineJSON = timelineMarker
	v.NTimeline = len(tl.events)
	// byID: the timeline row of each record a findings file names by id
	// (only those: not a map of every event).
	byID := map[string]string{}
	for _, f := range a.findings {
		for _, r := range f.Records {
			if r.ID != "" {
				byID[r.ID] = ""
			}
		}
	}
	codesSeen := map[string]bool{}
	for _, e := range tl.events {
		if e.ID != "" {
			if an, ok := byID[e.ID]; ok && an == "" {
				byID[e.ID] = anchors.of(e)
			}
		}
		if len(e.Flags) == 0 {
			continue
		}
		k := evKey(e, a, cat, anchors.of(e))
		if e.Code != "" && e.Code != "0" {
			codesSeen[e.Code] = true
		}
		v.Key = append(v.Key, k)
	}
	v.Codes = codeTable(codesSeen, cat)
	v.Summarised = summaryNotes(a, tl, cat)

	// Who and where.
	hlIP := map[string]bool{}
	for _, e := range tl.events {
		if len(e.Flags) > 0 && e.IP != "" {
			hlIP[e.IP] = true
		}
	}
	v.IPs = groups(a.ips, cat, hlIP, func(g *GroupStat) bool { return hlIP[g.Key] })
	v.Countries = groups(a.countries, cat, nil, nil)
	v.Apps = groups(a.apps, cat, nil, nil)
	v.Chart = chart(a, m, tl, cat)

	// Findings, indicators and the verdict.
	v.FindingsIn, v.FindingsOK = a.findingsFile, a.findingsOK
	var high, medium int
	v.FindingGroups, v.Evidence, high, medium = briefFindings(a, tl, anchors, byID, cat, href)
	for _, g := range v.FindingGroups {
		v.NFindings += len(g.Items)
	}
	v.Indicators, v.IndicatorsCSV = indicators(a, tl, cat)
	v.Changes = changes(m, a, cat, href)
	v.Imported = len(m.Imports) > 0 && len(m.Sources) == 0
	for _, im := range m.Imports {
		iv := importView{Name: im.OriginalName, Path: im.Path, Kind: im.Kind, First: fmtStamp(im.First), Last: fmtStamp(im.Last), Records: "—"}
		if im.Records != nil {
			iv.Records = num(*im.Records)
		}
		v.Imports = append(v.Imports, iv)
	}
	v.Verdict = verdict(m, v, a, o, tl, high, medium, cat)

	v.Files = fileRows(m, a, cat, href)
	for _, f := range flagOrder {
		v.Rules = append(v.Rules, rule{f, cat.S("flag." + f), cat.S("flagdesc." + f)})
	}
	return v
}

func evKey(ev *Event, a *Analyzer, cat *catalog, anchor string) keyView {
	k := keyView{Anchor: anchor, Time: fmtTime(ev.Time), User: ev.User, IP: ev.IP, Where: joinNonEmpty(", ", ev.City, ev.Country), Op: ev.Op, Result: ev.Result}
	if fs := a.files[ev.File]; fs != nil {
		k.ClassLabel = cat.label(fs.LabelKey, fs.LabelArg)
	} else {
		k.ClassLabel = cat.S("class." + ev.Class)
	}
	if ev.Class == ClassSignIn {
		k.Op = cat.S("op.signin")
		if ev.App != "" {
			k.Op += " · " + ev.App
		}
	}
	if ev.Note != "" {
		k.Op = cat.S("op.mailburst") + " · " + cat.S("burst.detail", ev.Note, ev.User)
	}
	if ev.Result != "" {
		k.ResultLabel = cat.S("result." + ev.Result)
	}
	if ev.Code != "" && ev.Code != "0" {
		k.Code = ev.Code
		k.CodeMeaning = cat.codeMeaning(ev.Code)
	}
	for _, f := range flagOrder {
		for _, g := range ev.Flags {
			if f == g {
				k.Flags = append(k.Flags, flagView{f, cat.S("flag." + f)})
			}
		}
	}
	return k
}

func caseRows(m *manifest.Manifest, a *Analyzer, o Options, cat *catalog) []row {
	var rows []row
	add := func(key string, val template.HTML, class string) {
		rows = append(rows, row{Label: cat.T(key), Value: val, Class: class})
	}
	text := func(s string) template.HTML { return template.HTML(template.HTMLEscapeString(s)) }
	add("case.id", text(m.CaseID), "mono")
	imported := len(m.Imports) > 0 && len(m.Sources) == 0
	tenant := joinNonEmpty(" · ", m.Tenant.DisplayName, m.Tenant.Domain, m.Tenant.ID)
	if tenant == "" {
		if ts, _ := a.tenants.Top(3); len(ts) > 0 {
			tenant = cat.S("verdict.tenant.records", strings.Join(ts, ", "))
		} else {
			tenant = cat.S("verdict.tenant.unknown")
		}
	}
	add("case.tenant", text(tenant), "")
	var users []string
	for _, u := range m.Users {
		users = append(users, joinNonEmpty(" ", u.UPN, "("+u.ID+")"))
	}
	switch {
	case len(users) == 0 && imported:
		add("case.users", cat.T("case.users.asdownloaded"), "")
	case len(users) == 0:
		add("case.users", cat.T("case.users.all"), "")
	default:
		add("case.users", text(strings.Join(users, ", ")), "")
	}
	if m.Requested.Start != "" {
		add("case.requested", cat.T("window.range", fmtStamp(m.Requested.Start), fmtStamp(m.Requested.End)), "")
	}
	coll := collectedWindows(m)
	switch {
	case len(coll) == 0 && len(m.Imports) > 0:
		var parts []string
		for _, im := range m.Imports {
			parts = append(parts, string(cat.T("case.imported.file", im.OriginalName, fmtStamp(im.First), fmtStamp(im.Last))))
		}
		add("case.collected", template.HTML(strings.Join(parts, "<br>")), "")
	case len(coll) == 0:
		add("case.collected", cat.T("case.collected.none"), "bad")
	default:
		var parts []string
		for _, w := range coll {
			parts = append(parts, string(cat.T("window.range", fmtTime(w[0]), fmtTime(w[1]))))
		}
		add("case.collected", template.HTML(strings.Join(parts, "<br>")), "")
	}
	add("case.run", cat.T("window.range.run", fmtStamp(m.CollectionStart), fmtStamp(m.CollectionEnd)), "")
	add("case.examiner", text(joinNonEmpty(" · ", m.Examiner, cat.S("case.host", m.Host), cat.S("case.osuser", m.OSUser))), "")
	add("case.tool", text(joinNonEmpty(" ", m.Tool.Name, m.Tool.Version, paren(m.Tool.Commit), paren(m.Tool.GoVersion))), "")
	add("case.graph", text(joinNonEmpty(" · ", m.Tenant.GraphURL, joinNonEmpty(": ", m.Auth.Method, m.Auth.Identity))), "")
	switch {
	case o.ArchiveSHA256 != "":
		add("case.sha256", cat.T("case.sha256.archive", o.ArchiveSHA256), "mono")
	case o.Embedded:
		add("case.sha256", cat.T("case.sha256.embedded"), "")
	default:
		add("case.sha256", cat.T("case.sha256.dir"), "")
	}
	if o.SumsSHA256 != "" {
		add("case.sums", text(o.SumsSHA256), "mono")
	}
	add("case.signature", signatureLine(o.Signature, o.Embedded, cat), sigClass(o.Signature))
	switch {
	case o.Integrity != nil && o.Integrity.OK:
		add("case.integrity", cat.T("integrity.ok", o.Integrity.Files, o.Integrity.Bytes), "ok")
	case o.Integrity != nil:
		add("case.integrity", cat.T("integrity.bad", len(o.Integrity.Problems)), "bad")
	case o.Embedded:
		add("case.integrity", cat.T("integrity.embedded"), "")
	default:
		add("case.integrity", cat.T("integrity.unchecked"), "")
	}
	add("case.records", cat.T("case.records.value", a.total, len(a.files)), "")
	add("case.rendered", text(joinNonEmpty(" · ", fmtTime(o.Rendered), o.Renderer)), "")
	return rows
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// signatureLine says who signed the bundle, if anyone. The sealing step
// decides the state; this only words it.
func signatureLine(s Signature, embedded bool, cat *catalog) template.HTML {
	switch s.State {
	case SigVerified:
		return cat.T("sig.verified", s.Key, s.File)
	case SigPresent:
		return cat.T("sig.present", s.File, s.Key)
	case SigInvalid:
		return cat.T("sig.invalid", s.File)
	case SigPlanned:
		return cat.T("sig.planned", s.Key, s.File)
	}
	return cat.T("sig.unsigned")
}

func sigClass(s Signature) string {
	switch s.State {
	case SigVerified:
		return "ok"
	case SigInvalid, SigUnsigned:
		return "bad"
	}
	return ""
}

// isStateSource reports whether a manifest source reads current state (the
// registry's Descriptor.State: the persistence snapshot and the message it
// fetches by id, the tenant's posture): its windows are when each read ran,
// not time windows of log data, so the case header leaves them out; the
// completeness table lists them.
func isStateSource(name string) bool {
	d, ok := collect.SourceOf(name)
	return ok && d.State
}

// collectedWindows merges the log sub-windows every source collected.
func collectedWindows(m *manifest.Manifest) [][2]time.Time {
	var ws [][2]time.Time
	for _, s := range m.Sources {
		if isStateSource(s.Name) {
			continue
		}
		for _, w := range s.Windows {
			if w.Status != manifest.StatusCollected {
				continue
			}
			a, err1 := time.Parse(time.RFC3339Nano, w.Start)
			b, err2 := time.Parse(time.RFC3339Nano, w.End)
			if err1 == nil && err2 == nil {
				ws = append(ws, [2]time.Time{a, b})
			}
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i][0].Before(ws[j][0]) })
	var out [][2]time.Time
	for _, w := range ws {
		if n := len(out); n > 0 && !w[0].After(out[n-1][1]) {
			if w[1].After(out[n-1][1]) {
				out[n-1][1] = w[1]
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

func groups(m map[string]*GroupStat, cat *catalog, _ map[string]bool, hl func(*GroupStat) bool) groupTable {
	all := make([]*GroupStat, 0, len(m))
	for _, g := range m {
		all = append(all, g)
	}
	sort.Slice(all, func(i, j int) bool {
		hi, hj := hl != nil && hl(all[i]), hl != nil && hl(all[j])
		if hi != hj {
			return hi
		}
		if all[i].SignIns != all[j].SignIns {
			return all[i].SignIns > all[j].SignIns
		}
		return all[i].Key < all[j].Key
	})
	t := groupTable{Total: len(all)}
	if len(all) > TopN {
		t.More = len(all) - TopN
		all = all[:TopN]
	}
	list := func(s *topSet) string {
		vs, more := s.Top(3)
		out := strings.Join(vs, ", ")
		if more > 0 {
			out += " " + cat.S("more", more)
		}
		return out
	}
	for _, g := range all {
		t.Rows = append(t.Rows, groupRow{
			Key: g.Key, Countries: list(g.Countries), Apps: list(g.Apps), Users: list(g.Users), IPs: list(g.IPs),
			SignIns: g.SignIns, Success: g.Success, Failure: g.Failure, Interrupted: g.Interrupts,
			First: fmtTime(g.First), Last: fmtTime(g.Last), Highlighted: hl != nil && hl(g),
		})
	}
	return t
}

func fileRows(m *manifest.Manifest, a *Analyzer, cat *catalog, href func(string) string) []fileView {
	var out []fileView
	seen := map[string]bool{}
	for _, f := range m.Files {
		fv := fileView{Path: f.Path, Href: href(f.Path), Size: f.Size, HasSize: true}
		if f.Records != nil {
			fv.Records = *f.Records
		}
		if fs := a.files[f.Path]; fs != nil {
			fv.Label = cat.label(fs.LabelKey, fs.LabelArg)
			fv.Records = fs.Records
		}
		seen[f.Path] = true
		out = append(out, fv)
	}
	for _, p := range a.order {
		if seen[p] {
			continue
		}
		fs := a.files[p]
		out = append(out, fileView{Path: p, Href: href(p), Label: cat.label(fs.LabelKey, fs.LabelArg), Records: fs.Records})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func summaryNotes(a *Analyzer, tl timelineResult, cat *catalog) []template.HTML {
	var n []template.HTML
	if other := a.total - a.flaggedRecords(); other > int64(tl.ordinaryShown) {
		n = append(n, cat.T("sum.timeline", tl.ordinaryShown, other))
	}
	if a.hlOverflow > 0 {
		n = append(n, cat.T("sum.highlights", TimelineHighlights, a.hlOverflow))
	}
	if len(a.ips) > TopN || len(a.countries) > TopN || len(a.apps) > TopN {
		n = append(n, cat.T("sum.groups", TopN))
	}
	if a.droppedIPs > 0 || a.dropped > 0 {
		n = append(n, cat.T("sum.dropped", maxKeys, a.droppedIPs+a.dropped))
	}
	var unreadable, untimed int64
	for _, f := range a.files {
		unreadable += f.Unreadable
		untimed += f.Untimed
	}
	if unreadable > 0 {
		n = append(n, cat.T("sum.unreadable", unreadable))
	}
	if untimed > 0 {
		n = append(n, cat.T("sum.untimed", untimed))
	}
	if a.graphMatched > a.graphShown {
		n = append(n, cat.T("sum.graph", a.graphMatched, a.graphShown))
	}
	if tl.binHours > 1 {
		n = append(n, cat.T("sum.chartbins", tl.binHours))
	}
	return n
}

// timelineResult is the merged, sorted timeline.
type timelineResult struct {
	events        []*Event
	ordinaryShown int
	binHours      int
}

// timeline applies the rules that need every record (new IP or country,
// mail bursts), then merges highlighted and kept ordinary events, oldest
// first.
func (a *Analyzer) timeline(m *manifest.Manifest) timelineResult {
	if !a.finished {
		a.finish()
	}
	var out []*Event
	for _, e := range a.highlights {
		out = append(out, e)
	}
	shown := 0
	for i := 0; i < a.ordinary.Len(); i++ {
		e := a.ordinary.at(i)
		if a.highlights[e.key()] != nil {
			continue
		}
		out = append(out, e)
		shown++
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	start, end := chartRange(a, m)
	hours := int(end.Sub(start)/time.Hour) + 1
	bin := 1
	if hours > maxBars {
		bin = (hours + maxBars - 1) / maxBars
	}
	return timelineResult{events: out, ordinaryShown: shown, binHours: bin}
}

// finish runs the rules that need the whole bundle. It runs once.
func (a *Analyzer) finish() {
	a.finished = true
	baseline := map[string]time.Time{}
	for k, u := range a.users {
		b := u.last.Sub(u.first) / 4
		if b > baselineMax {
			b = baselineMax
		}
		baseline[k] = u.first.Add(b)
	}
	for _, rule := range []struct {
		m    map[pairKey]*pairState
		flag string
	}{{a.pairs, FlagNewIP}, {a.cpairs, FlagNewCountry}} {
		keys := make([]pairKey, 0, len(rule.m))
		for k := range rule.m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { // as "user\x00value" strings sort
			if keys[i].user != keys[j].user {
				return keys[i].user < keys[j].user
			}
			return keys[i].value < keys[j].value
		})
		for _, k := range keys {
			p := rule.m[k]
			if p.firstOK != nil && p.firstOK.Time.After(baseline[k.user]) {
				p.firstOK.flag(rule.flag)
				a.highlight(p.firstOK)
			}
		}
	}
	keys := make([]string, 0, len(a.senders))
	for k, n := range a.senders {
		if n >= burstPerHour {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		sender, hour, _ := strings.Cut(k, "\x00")
		var h int64
		fmt.Sscan(hour, &h)
		ev := &Event{Time: time.Unix(h, 0).UTC(), Who: &Who{User: sender, UserKey: sender}, Where: &Where{},
			What: &What{Class: ClassMail, File: a.mailFile[sender], Note: fmt.Sprint(a.senders[k])}}
		ev.flag(FlagMailBurst)
		a.highlight(ev)
	}
	a.graphRule()
	// What only the rules needed is released before the page is built (the
	// page's own data is the largest part of a report's memory).
	a.users, a.pairs, a.cpairs, a.senders, a.mailFile, a.graphBy, a.indSeen = nil, nil, nil, nil, nil, nil, nil
	a.strs, a.who, a.where, a.what = map[string]string{}, map[Who]*Who{}, map[Where]*Where{}, map[What]*What{}
}
