package snapshot

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// FindingsFormat names the findings.json schema.
const FindingsFormat = "evidence-findings/1"

// Finding kinds: what the incident guides say to look at before remediation.
const (
	KindAuthMethod    = "auth-method-registered-in-window"
	KindInboxRule     = "inbox-rule-suspicious"
	KindConsent       = "consent-to-unverified-app"
	KindAppCredential = "app-credential-added-in-window"
	KindAppCreated    = "app-created-in-window"
	KindDevice        = "device-registered-in-window"
	KindGuest         = "guest-created-in-window"
	KindRiskyUser     = "user-at-risk"
)

// microsoftTenants own Microsoft's first-party applications, which carry no
// verified publisher but are not third-party consents.
var microsoftTenants = map[string]bool{
	"f8cdef31-a31e-4b4a-93e4-5f571e91255a": true, // Microsoft Services
	"72f988bf-86f1-41af-91ab-2d7cd011db47": true, // Microsoft (corp)
}

// MicrosoftTenant reports whether a tenant id is one of the tenants that
// own Microsoft's first-party applications.
func MicrosoftTenant(id string) bool { return microsoftTenants[strings.ToLower(id)] }

// hidingFolders are the folders the guides name as places attackers' rules
// move mail to so the victim does not see it (compared case-insensitively).
var hidingFolders = map[string]bool{
	"rss subscriptions": true, "rss feeds": true, "archive": true, "conversation history": true,
	"junk email": true, "deleted items": true,
}

// Pointer names the record a finding comes from: the bundle file, the line
// (1-based), the record's id and the SHA-256 of the line's bytes (without
// the newline).
type Pointer struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	ID     string `json:"id,omitempty"`
	SHA256 string `json:"sha256"`
}

// Finding is a hint with evidence pointers, never an action: evidence only
// reads the tenant.
type Finding struct {
	Kind       string    `json:"kind"`
	Severity   string    `json:"severity"` // high, medium
	UserID     string    `json:"user_id,omitempty"`
	UPN        string    `json:"upn,omitempty"`
	Object     string    `json:"object"`               // display name of what is flagged
	ObjectID   string    `json:"object_id"`            // its id
	Credential string    `json:"credential,omitempty"` // keyId, for app credentials
	Time       string    `json:"time,omitempty"`       // the timestamp the finding rests on, RFC 3339 UTC
	Summary    string    `json:"summary"`
	NextStep   string    `json:"next_step,omitempty"` // what the responder should do next
	Evidence   []Pointer `json:"evidence"`
}

// NotChecked is a check that could not run, and why.
type NotChecked struct {
	Check  string `json:"check"`
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
}

// Report is findings.json.
type Report struct {
	Format     string          `json:"format"`
	Window     manifest.Window `json:"window"` // "in the window" means in [start, end)
	Note       string          `json:"note"`
	Findings   []Finding       `json:"findings"`
	NotChecked []NotChecked    `json:"not_checked,omitempty"`
	// RedactedSecrets counts credential secret values the service sent and
	// that were replaced by null before writing (Graph sends none on reads).
	RedactedSecrets int `json:"redacted_secret_values"`
}

type userRef struct{ id, upn string }

type findings struct {
	w        collect.Window
	byKey    map[string]*Finding
	order    []string
	not      []NotChecked
	redacted int
}

func newFindings(w collect.Window) *findings {
	return &findings{w: w, byKey: map[string]*Finding{}}
}

// inWindow parses a Graph timestamp and reports whether it lies in the window.
func (f *findings) inWindow(v gjson.Result) (time.Time, bool) { return InWindow(f.w, v) }

// InWindow parses a Graph timestamp and reports whether it lies in the
// half-open window w ("in the window" of every findings file).
func InWindow(w collect.Window, v gjson.Result) (time.Time, bool) {
	if v.Type != gjson.String {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v.String())
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), !t.Before(w.Start) && t.Before(w.End)
}

// add records a finding, merging evidence into an existing one with the same
// kind, object and credential (the same app seen as owned and created, say).
func (f *findings) add(n Finding, p Pointer) {
	key := n.Kind + "\x00" + strings.ToLower(n.ObjectID) + "\x00" + n.Credential + "\x00" + n.UserID
	if n.Kind == KindAppCredential || n.Kind == KindAppCreated {
		// An app is one object whoever owns it: flag it once, with every record.
		key = n.Kind + "\x00" + strings.ToLower(n.ObjectID) + "\x00" + n.Credential
	}
	if old := f.byKey[key]; old != nil {
		for _, e := range old.Evidence {
			if e == p {
				return
			}
		}
		old.Evidence = append(old.Evidence, p)
		return
	}
	n.Evidence = []Pointer{p}
	f.byKey[key] = &n
	f.order = append(f.order, key)
}

func (f *findings) notChecked(check, scope, reason string) {
	f.not = append(f.not, NotChecked{Check: check, Scope: scope, Reason: reason})
}

func name(rec gjson.Result) string {
	if s := rec.Get("displayName").String(); s != "" {
		return s
	}
	return rec.Get("id").String()
}

// method flags an authentication method registered in the window. The
// password "method" is left out: its time is the last password change.
func (f *findings) method(u userRef, p Pointer, rec gjson.Result) {
	typ := strings.TrimPrefix(rec.Get("@odata\\.type").String(), "#microsoft.graph.")
	if typ == "passwordAuthenticationMethod" {
		return
	}
	if t, ok := f.inWindow(rec.Get("createdDateTime")); ok {
		f.add(Finding{Kind: KindAuthMethod, Severity: "high", UserID: u.id, UPN: u.upn, Object: name(rec), ObjectID: rec.Get("id").String(),
			Time: collect.FormatTime(t), Summary: fmt.Sprintf("%s %q registered %s, inside the window", typ, name(rec), collect.FormatTime(t))}, p)
	}
}

// device flags a device registered in the window.
func (f *findings) device(u userRef, p Pointer, rec gjson.Result) {
	if t, ok := f.inWindow(rec.Get("registrationDateTime")); ok {
		f.add(Finding{Kind: KindDevice, Severity: "high", UserID: u.id, UPN: u.upn, Object: name(rec), ObjectID: rec.Get("id").String(),
			Time: collect.FormatTime(t), Summary: fmt.Sprintf("device %q (%s, trust %s) registered %s, inside the window",
				name(rec), rec.Get("operatingSystem").String(), rec.Get("trustType").String(), collect.FormatTime(t))}, p)
	}
}

// suspiciousName is a rule name made to be overlooked: empty, one
// character, or punctuation and spaces only (".", "..", "-").
func suspiciousName(s string) bool {
	s = strings.TrimSpace(s)
	if len([]rune(s)) <= 1 {
		return true
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func addresses(rec gjson.Result) []string {
	var out []string
	for _, r := range rec.Array() {
		if a := r.Get("emailAddress.address").String(); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// rule flags an inbox rule that forwards, redirects, deletes, moves to a
// hiding folder, or has a name made to be overlooked.
func (f *findings) rule(u userRef, p Pointer, rec gjson.Result, folders map[string]string) {
	var why []string
	act := rec.Get("actions")
	for _, k := range []struct{ key, verb string }{{"forwardTo", "forwards to"}, {"forwardAsAttachmentTo", "forwards as attachment to"}, {"redirectTo", "redirects to"}} {
		if a := addresses(act.Get(k.key)); len(a) > 0 {
			why = append(why, k.verb+" "+strings.Join(a, ", "))
		}
	}
	if act.Get("permanentDelete").Bool() {
		why = append(why, "permanently deletes")
	} else if act.Get("delete").Bool() {
		why = append(why, "deletes")
	}
	for _, k := range []struct{ key, verb string }{{"moveToFolder", "moves to"}, {"copyToFolder", "copies to"}} {
		id := act.Get(k.key).String()
		if id == "" {
			continue
		}
		if n := folders[id]; n != "" && (hidingFolders[strings.ToLower(strings.TrimSpace(n))] || suspiciousName(n)) {
			why = append(why, fmt.Sprintf("%s folder %q", k.verb, n))
		}
	}
	if suspiciousName(rec.Get("displayName").String()) {
		why = append(why, fmt.Sprintf("name %q is made to be overlooked", rec.Get("displayName").String()))
	}
	if len(why) == 0 {
		return
	}
	state := "enabled"
	if !rec.Get("isEnabled").Bool() {
		state = "disabled"
	}
	f.add(Finding{Kind: KindInboxRule, Severity: "high", UserID: u.id, UPN: u.upn, Object: rec.Get("displayName").String(), ObjectID: rec.Get("id").String(),
		Summary: fmt.Sprintf("inbox rule %q (%s) %s", rec.Get("displayName").String(), state, strings.Join(why, "; "))}, p)
}

// consent flags a delegated grant or app role assignment to an app whose
// publisher is not verified (Microsoft's own apps excepted). sp is the
// client (grant) or resource (assignment) service principal; a missing sp
// was already recorded as not checked.
func (f *findings) consent(u userRef, p Pointer, rec, sp gjson.Result, grant bool) {
	if !sp.Exists() {
		return
	}
	if sp.Get("verifiedPublisher.verifiedPublisherId").String() != "" || microsoftTenants[strings.ToLower(sp.Get("appOwnerOrganizationId").String())] {
		return
	}
	what := "app role assignment"
	detail := ""
	if grant {
		what = "delegated permission grant"
		who := "by the user"
		if rec.Get("consentType").String() == "AllPrincipals" {
			who = "for all users (admin consent)"
		}
		detail = fmt.Sprintf(" %s, scopes %q", who, rec.Get("scope").String())
	} else if t, err := time.Parse(time.RFC3339Nano, rec.Get("createdDateTime").String()); err == nil {
		detail = " created " + collect.FormatTime(t)
	}
	f.add(Finding{Kind: KindConsent, Severity: "high", UserID: u.id, UPN: u.upn, Object: name(sp), ObjectID: sp.Get("id").String(),
		Summary: fmt.Sprintf("%s to %q (app id %s, publisher not verified)%s", what, name(sp), sp.Get("appId").String(), detail)}, p)
}

// appObject flags an application or service principal created in the
// window, and each credential whose start lies in the window.
func (f *findings) appObject(u userRef, p Pointer, rec gjson.Result) {
	typ := strings.TrimPrefix(rec.Get("@odata\\.type").String(), "#microsoft.graph.")
	if typ != "" && typ != "application" && typ != "servicePrincipal" {
		return
	}
	if typ == "" {
		typ = "application"
		if rec.Get("servicePrincipalType").Exists() {
			typ = "servicePrincipal"
		}
	}
	if t, ok := f.inWindow(rec.Get("createdDateTime")); ok {
		f.add(Finding{Kind: KindAppCreated, Severity: "medium", UserID: u.id, UPN: u.upn, Object: name(rec), ObjectID: rec.Get("id").String(),
			Time: collect.FormatTime(t), Summary: fmt.Sprintf("%s %q created %s, inside the window", typ, name(rec), collect.FormatTime(t))}, p)
	}
	for _, k := range []struct{ key, what string }{{"passwordCredentials", "client secret"}, {"keyCredentials", "certificate"}} {
		for _, c := range rec.Get(k.key).Array() {
			t, ok := f.inWindow(c.Get("startDateTime"))
			if !ok {
				continue
			}
			hint := ""
			if h := c.Get("hint").String(); h != "" {
				hint = fmt.Sprintf(", hint %q", h)
			}
			f.add(Finding{Kind: KindAppCredential, Severity: "high", UserID: u.id, UPN: u.upn, Object: name(rec), ObjectID: rec.Get("id").String(),
				Credential: c.Get("keyId").String(), Time: collect.FormatTime(t),
				Summary: fmt.Sprintf("%s %q (keyId %s%s) added to %s %q, valid from %s", k.what, c.Get("displayName").String(),
					c.Get("keyId").String(), hint, typ, name(rec), collect.FormatTime(t))}, p)
		}
	}
}

// guest flags a guest created in the window.
func (f *findings) guest(p Pointer, rec gjson.Result) {
	if t, ok := f.inWindow(rec.Get("createdDateTime")); ok {
		f.add(Finding{Kind: KindGuest, Severity: "medium", Object: name(rec), ObjectID: rec.Get("id").String(), Time: collect.FormatTime(t),
			Summary: fmt.Sprintf("guest %q <%s> created %s (%s), inside the window", name(rec), rec.Get("mail").String(),
				collect.FormatTime(t), rec.Get("externalUserState").String())}, p)
	}
}

// risky flags a user Identity Protection holds at risk or compromised.
func (f *findings) risky(u userRef, p Pointer, rec gjson.Result) {
	switch st := rec.Get("riskState").String(); st {
	case "atRisk", "confirmedCompromised":
		f.add(Finding{Kind: KindRiskyUser, Severity: "high", UserID: u.id, UPN: u.upn, Object: rec.Get("userPrincipalName").String(), ObjectID: rec.Get("id").String(),
			Summary: fmt.Sprintf("Identity Protection risk state %s, level %s, updated %s", st, rec.Get("riskLevel").String(), rec.Get("riskLastUpdatedDateTime").String())}, p)
	}
}

// report assembles findings.json, sorted so the same state gives the same bytes.
func (f *findings) report() *Report {
	r := &Report{Format: FindingsFormat, Window: manifest.NewWindow(f.w.Start, f.w.End), RedactedSecrets: f.redacted, NotChecked: f.not,
		Note:     "Hints for the responder, each pointing at the record it comes from. evidence only reads: nothing was changed in the tenant.",
		Findings: []Finding{}}
	for _, k := range f.order {
		r.Findings = append(r.Findings, *f.byKey[k])
	}
	r.Sort()
	return r
}

// Sort orders the findings by kind, time, object, credential and user, so
// the same state gives the same bytes.
func (r *Report) Sort() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Time != b.Time {
			return a.Time < b.Time
		}
		return a.ObjectID+"\x00"+a.Credential+"\x00"+a.UserID < b.ObjectID+"\x00"+b.Credential+"\x00"+b.UserID
	})
}

// writeFindings writes findings.json (canonical JSON) and findings.csv.
func (r *run) writeFindings() error {
	return WriteReport(r.out, FindingsPath, FindingsCSV, Name, r.f.report())
}

// WriteReport writes a findings report as jsonPath (canonical JSON) and
// csvPath (a table) through out, which must also implement Files. Every
// source with findings writes them this way, in the same format.
func WriteReport(out any, jsonPath, csvPath, source string, rep *Report) error {
	files, ok := out.(Files)
	if !ok {
		return fmt.Errorf("%s: the bundle cannot hold %s", source, jsonPath)
	}
	b, err := manifest.Canonical(rep)
	if err != nil {
		return err
	}
	w, err := files.Create(jsonPath, source, "application/json")
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return err
	}
	cw, err := files.Create(csvPath, source, record.MediaCSV)
	if err != nil {
		return err
	}
	return writeFindingsCSV(cw, rep)
}

// writeFindingsCSV writes the findings as a table, with record.CSV like
// every CSV of the bundle.
func writeFindingsCSV(w io.Writer, rep *Report) error {
	c, err := record.NewCSV(w, []string{"Kind", "Severity", "Time (UTC)", "User", "User ID", "Object", "Object ID", "Credential", "Summary", "Next step", "Evidence"})
	if err != nil {
		return err
	}
	for _, f := range rep.Findings {
		var ev []string
		for _, p := range f.Evidence {
			ev = append(ev, fmt.Sprintf("%s:%d", p.File, p.Line))
		}
		if err := c.Row([]string{f.Kind, f.Severity, f.Time, f.UPN, f.UserID, f.Object, f.ObjectID, f.Credential, f.Summary, f.NextStep, strings.Join(ev, " ")}); err != nil {
			return err
		}
	}
	return nil
}
