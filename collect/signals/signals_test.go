package signals_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/signals"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
)

var now = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

const token = "signals-test-token"

type result struct {
	src      manifest.Source
	dir      string
	findings snapshot.Report
	tenant   *graphtest.Tenant
}

func run(t *testing.T, cfg graphtest.Config, allUsers bool) result {
	t.Helper()
	return runWith(t, cfg, &signals.Source{}, allUsers, 30*24*time.Hour)
}

// users, when set, replaces the victim as the subject of runWith.
var users []collect.User

// signInsFirst makes runWith collect the subject's interactive sign-ins
// into the bundle before the signals source, as a grab does.
var signInsFirst bool

func runWith(t *testing.T, cfg graphtest.Config, source *signals.Source, allUsers bool, span time.Duration) result {
	t.Helper()
	cfg.Token, cfg.Now, cfg.Seed = token, now, 5
	srv, err := graphtest.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	// The hunting quota (45 calls a minute) is the client's default; the
	// split test makes more calls than that, so the test lifts it.
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(token), Budgets: map[string]collect.Budget{collect.ClassHunting: {}},
		Retry: collect.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxRetryAfter: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	v := srv.Tenant.Victim()
	job := collect.Job{Window: collect.Window{Start: now.Add(-span), End: now}, Now: now, AllUsers: allUsers}
	if !allUsers {
		job.Users = []collect.User{{Requested: v.UPN, ID: v.ID, UPN: v.UPN, Mail: v.Mail}}
		if users != nil {
			job.Users = users
		}
	}
	var sources []manifest.Source
	if signInsFirst {
		si, err := collect.SignIns{}.Collect(context.Background(), c, job, stage)
		if err != nil || si.Status != manifest.StatusCollected {
			t.Fatalf("sign-ins: %v %+v", err, si)
		}
		sources = append(sources, si)
		source.SetPrior(sources)
	}
	src, err := source.Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if vs := srv.Tenant.Violations(); len(vs) > 0 {
		t.Fatalf("requests outside the documented contract:\n%s", strings.Join(vs, "\n"))
	}
	if err := stage.Seal(&manifest.Manifest{Format: manifest.Format, Sources: append(sources, src)}); err != nil {
		t.Fatal(err)
	}
	if vr, err := manifest.VerifyDir(stage.Dir()); err != nil || !vr.OK() {
		t.Fatalf("the bundle does not verify: %v %+v", err, vr.Problems)
	}
	res := result{src: src, dir: stage.Dir(), tenant: srv.Tenant}
	b, err := os.ReadFile(filepath.Join(res.dir, signals.FindingsPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res.findings); err != nil {
		t.Fatal(err)
	}
	return res
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func window(src manifest.Source, part string) manifest.SubWindow {
	for _, w := range src.Windows {
		if strings.HasPrefix(w.Query, part+": ") {
			return w
		}
	}
	return manifest.SubWindow{}
}

// Every part is collected; the victim's incident (alerts expanded) is the
// subject's record, the incident about another user is kept apart and
// counted, and the findings name the open incident and the risky app.
func TestSignalsOnStory(t *testing.T) {
	res := run(t, graphtest.Config{}, false)
	sig := res.tenant.TenantSignals()
	for _, p := range []string{"risky-service-principals", "service-principal-risk-detections", "security-incidents"} {
		if w := window(res.src, p); w.Status != manifest.StatusCollected || w.Records == 0 {
			t.Errorf("%s: %+v", p, w)
		}
	}
	inc := lines(t, filepath.Join(res.dir, "signals", "security-incidents.jsonl"))
	if len(inc) != 1 || !strings.Contains(inc[0], `"id":"`+sig.IncidentID+`"`) || !strings.Contains(inc[0], sig.AlertID) {
		t.Fatalf("subject's incidents: %v", inc)
	}
	// Without the subject's sign-ins in the bundle, the incidents reachable
	// only by the victim's device or IP address are not the subject's.
	apart := lines(t, filepath.Join(res.dir, "signals", "security-incidents-other-users.jsonl"))
	if len(apart) != 4 || !strings.Contains(apart[0], sig.OtherIncidentID) || !strings.Contains(strings.Join(apart, ""), sig.IPIncidentID) {
		t.Errorf("kept apart: %v", apart)
	}
	if w := window(res.src, "security-incidents-other-users"); w.Records != 4 || w.Status != manifest.StatusCollected {
		t.Errorf("other users' window: %+v", w)
	}
	if w := window(res.src, "security-incidents"); w.Records != 1 {
		t.Errorf("subject's incidents window: %+v", w)
	}
	// Alerts: the victim's (updated in the window) is the subject's; bob's
	// recent one is kept apart; bob's 40-day-old one is not asked for.
	alerts := lines(t, filepath.Join(res.dir, "signals", "security-alerts.jsonl"))
	if len(alerts) != 1 || !strings.Contains(alerts[0], `"id":"`+sig.AlertID+`"`) {
		t.Errorf("subject's alerts: %v", alerts)
	}
	apartA := lines(t, filepath.Join(res.dir, "signals", "security-alerts-other-users.jsonl"))
	if len(apartA) != 4 || !strings.Contains(apartA[0], sig.OtherAlertID) || strings.Contains(strings.Join(append(apartA, alerts...), ""), sig.OldAlertID) {
		t.Errorf("alerts kept apart: %v", apartA)
	}
	if w := window(res.src, "security-alerts"); w.Status != manifest.StatusCollected || w.Records != 1 ||
		!strings.Contains(w.Query, "/security/alerts_v2?$filter=lastUpdateDateTime%20ge%202026-10-21T06%3A00%3A00Z") {
		t.Errorf("alerts window: %+v", w)
	}
	var sum int64
	for _, w := range res.src.Windows {
		sum += w.Records
	}
	if res.src.Status != manifest.StatusCollected || res.src.Records != sum || res.src.OutOfScope != 0 ||
		!slices.Contains(res.src.Files, "signals/security-incidents-other-users.jsonl") || !slices.Contains(res.src.Files, "signals/security-alerts-other-users.jsonl") {
		t.Errorf("accounting: %s, records %d (windows %d), out of scope %d, files %v", res.src.Status, res.src.Records, sum, res.src.OutOfScope, res.src.Files)
	}
	got := map[string]snapshot.Finding{}
	for _, f := range res.findings.Findings {
		got[f.Kind] = f
		if len(f.Evidence) != 1 || f.NextStep == "" {
			t.Errorf("%s: evidence %v next %q", f.Kind, f.Evidence, f.NextStep)
		}
	}
	if len(got) != 3 || got[signals.KindOpenIncident].ObjectID != sig.IncidentID || got[signals.KindRiskySP].ObjectID != sig.RiskyServicePrincipalID ||
		got[signals.KindUnresolvedAlert].ObjectID != sig.AlertID || got[signals.KindUnresolvedAlert].Severity != "high" {
		t.Errorf("findings %+v", got)
	}
	if ev := got[signals.KindUnresolvedAlert].Evidence; len(ev) == 1 && (ev[0].File != "signals/security-alerts.jsonl" || ev[0].Line != 1) {
		t.Errorf("alert finding evidence: %+v", ev)
	}
}

// With the subject's sign-ins in the bundle, an incident or alert whose
// only evidence is an IP address (ipEvidence) or a device
// (deviceEvidence.azureAdDeviceId) those sign-ins used is the subject's;
// one naming an address the subject never used, and bob's, stay apart,
// with a reason naming what was matched; a warning lists the incidents
// and alerts that are the subject's by device or address only.
func TestSignalsMatchesByDeviceAndIP(t *testing.T) {
	signInsFirst = true
	defer func() { signInsFirst = false }()
	src := &signals.Source{}
	res := runWith(t, graphtest.Config{}, src, false, 30*24*time.Hour)
	sig := res.tenant.TenantSignals()
	ids := func(file string) []string {
		var out []string
		for _, l := range lines(t, filepath.Join(res.dir, "signals", file)) {
			var r struct{ ID string }
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	if got, want := ids("security-incidents.jsonl"), sorted(sig.IncidentID, sig.IPIncidentID, sig.DeviceIncidentID); !slices.Equal(got, want) {
		t.Errorf("subject's incidents %v, want %v", got, want)
	}
	if got, want := ids("security-incidents-other-users.jsonl"), sorted(sig.OtherIncidentID, sig.UnrelatedIncidentID); !slices.Equal(got, want) {
		t.Errorf("incidents kept apart %v, want %v", got, want)
	}
	if got := ids("security-alerts.jsonl"); len(got) != 3 || !slices.Contains(got, sig.IPAlertID) || !slices.Contains(got, sig.DeviceAlertID) || !slices.Contains(got, sig.AlertID) {
		t.Errorf("subject's alerts %v", got)
	}
	if got := ids("security-alerts-other-users.jsonl"); len(got) != 2 || !slices.Contains(got, sig.OtherAlertID) {
		t.Errorf("alerts kept apart %v", got)
	}
	if w := window(res.src, "security-incidents-other-users"); w.Records != 2 ||
		!regexp.MustCompile(`^first: no alert of the incident names a subject \(victim@contoso.com\) or one of the [1-9]\d* devices and [1-9]\d* IP addresses of the subject's sign-ins$`).MatchString(w.Reason) {
		t.Errorf("kept-apart window: %+v", w)
	}
	warns := strings.Join(src.Warnings(), "\n")
	for _, want := range []string{"signals: 2 incidents are the subject's by a device or IP address", sig.IPIncidentID, sig.DeviceIncidentID, "signals: 2 alerts are", sig.IPAlertID} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings lack %q:\n%s", want, warns)
		}
	}
	open := 0
	for _, f := range res.findings.Findings {
		if f.Kind == signals.KindOpenIncident {
			open++
			if f.ObjectID != sig.IncidentID && f.ObjectID != sig.IPIncidentID {
				t.Errorf("open incident finding for %s", f.ObjectID)
			}
		}
	}
	if open != 2 {
		t.Errorf("%d open incident findings, want the victim's and the one reached by IP", open)
	}
}

// Each hunting row is kept exactly as the simulator served it; the story's
// rows are all there, each once; each answer's schema is kept.
func TestSignalsHuntingOnStory(t *testing.T) {
	res := run(t, graphtest.Config{}, false)
	h := res.tenant.TenantHunting()
	want := map[string][]string{"IdentityLogonEvents": h.AttackerLogons, "CloudAppEvents": {h.InboxRule},
		"EmailEvents": {h.PhishingEmail}, "UrlClickEvents": {h.PhishingClick}}
	for table, ids := range want {
		w := window(res.src, "hunting-"+table)
		if w.Status != manifest.StatusCollected || w.Start != "2026-10-21T06:00:00Z" || w.End != "2026-11-20T06:00:00Z" {
			t.Errorf("%s: window %+v", table, w)
		}
		rows := lines(t, filepath.Join(res.dir, "signals", "hunting-"+table+".jsonl"))
		if int64(len(rows)) != w.Records {
			t.Errorf("%s: %d rows, window says %d", table, len(rows), w.Records)
		}
		seen := map[string]int{}
		for _, r := range rows {
			var row struct{ ReportId string }
			if err := json.Unmarshal([]byte(r), &row); err != nil {
				t.Fatal(err)
			}
			seen[row.ReportId]++
			if served := res.tenant.HuntingRow(table, row.ReportId); r != served {
				t.Errorf("%s row %s not byte-exact:\n got %s\nwant %s", table, row.ReportId, r, served)
			}
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("%s: story row %s seen %d times", table, id, seen[id])
			}
		}
		if seen[h.OldLogon] != 0 {
			t.Errorf("%s: a row older than 30 days was served", table)
		}
	}
	answers := huntingAnswers(t, res.dir)
	if len(answers) != 4 {
		t.Fatalf("answers: %+v", answers)
	}
	for _, ans := range answers {
		if len(ans.Schema) < 3 || ans.Schema[0].Name != "Timestamp" || ans.Schema[0].Type != "DateTime" || ans.Capped {
			t.Errorf("%s: schema %+v", ans.Table, ans.Schema)
		}
		if w := window(res.src, "hunting-"+ans.Table); int64(ans.Rows) != w.Records {
			t.Errorf("%s: answer of %d rows, window %d", ans.Table, ans.Rows, w.Records)
		}
	}
}

type huntingAnswer struct {
	Table  string
	Rows   int
	Capped bool
	Schema []struct{ Name, Type string }
}

func huntingAnswers(t *testing.T, dir string) []huntingAnswer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, signals.HuntingQueriesPath))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Format  string
		Answers []huntingAnswer
	}
	if err := json.Unmarshal(b, &f); err != nil || f.Format != signals.HuntingQueriesFormat {
		t.Fatalf("%s: %v %q", signals.HuntingQueriesPath, err, f.Format)
	}
	return f.Answers
}

// A window reaching back beyond 30 days: the older part of every hunting
// table is recorded as not collected (retention) over its exact window.
func TestSignalsHuntingRetention(t *testing.T) {
	res := runWith(t, graphtest.Config{}, &signals.Source{}, false, 40*24*time.Hour)
	cut := 0
	for _, w := range res.src.Windows {
		if strings.HasPrefix(w.Query, "hunting-") && w.Status == manifest.StatusClamped {
			cut++
			if w.Start != "2026-10-11T06:00:00Z" || w.End != "2026-10-21T06:00:00Z" || !strings.Contains(w.Reason, "retention") {
				t.Errorf("cut window: %+v", w)
			}
		}
	}
	if cut != 4 || len(res.src.Missing) != 4 || res.src.Status != manifest.StatusClamped {
		t.Errorf("%d cut windows, gaps %+v, status %s", cut, res.src.Missing, res.src.Status)
	}
	for _, w := range res.src.Windows {
		if strings.HasPrefix(w.Query, "hunting-IdentityLogonEvents: POST") && (w.Start != "2026-10-21T06:00:00Z" || w.Status != manifest.StatusCollected) {
			t.Errorf("asked window: %+v", w)
		}
	}
}

// An answer holding as many rows as the cap is never taken as complete:
// its window is asked again in halves until every answer is under the
// cap, and every row is kept once, in the order of the uncapped run.
func TestSignalsHuntingSplitsCappedAnswers(t *testing.T) {
	whole := run(t, graphtest.Config{}, false)
	split := runWith(t, graphtest.Config{HuntingMaxRows: 4}, &signals.Source{HuntingRowLimit: 4}, false, 30*24*time.Hour)
	for _, table := range []string{"IdentityLogonEvents", "CloudAppEvents", "EmailEvents", "UrlClickEvents"} {
		a := lines(t, filepath.Join(whole.dir, "signals", "hunting-"+table+".jsonl"))
		b := lines(t, filepath.Join(split.dir, "signals", "hunting-"+table+".jsonl"))
		if !slices.Equal(a, b) {
			t.Errorf("%s: %d rows split, %d whole", table, len(b), len(a))
		}
	}
	var windows, halves int
	var rows int64
	for _, w := range split.src.Windows {
		if !strings.HasPrefix(w.Query, "hunting-IdentityLogonEvents: ") {
			continue
		}
		windows++
		rows += w.Records
		if w.Status != manifest.StatusCollected || w.Records >= 4 {
			t.Errorf("window %+v", w)
		}
		if strings.Contains(w.Reason, "asked in halves") {
			halves++
		}
	}
	if n := int64(len(lines(t, filepath.Join(whole.dir, "signals", "hunting-IdentityLogonEvents.jsonl")))); windows < 9 || halves != windows || rows != n {
		t.Errorf("%d windows (%d split), %d rows of %d", windows, halves, rows, n)
	}
	t.Logf("IdentityLogonEvents: %d rows in %d windows, cap 4", rows, windows)
	capped := 0
	for _, a := range huntingAnswers(t, split.dir) {
		if a.Capped {
			capped++
		}
	}
	if capped == 0 {
		t.Error("no capped answer recorded")
	}
	t.Logf("%d capped answers asked again in halves", capped)
}

// A tenant-wide collection keeps every incident as its own; the resolved
// one raises nothing.
func TestSignalsTenantWide(t *testing.T) {
	res := run(t, graphtest.Config{}, true)
	if n := len(lines(t, filepath.Join(res.dir, "signals", "security-incidents.jsonl"))); n != 5 || window(res.src, "security-incidents-other-users").Query != "" {
		t.Errorf("%d incidents; windows %+v", n, res.src.Windows)
	}
	if n := len(lines(t, filepath.Join(res.dir, "signals", "security-alerts.jsonl"))); n != 5 || window(res.src, "security-alerts-other-users").Query != "" {
		t.Errorf("%d alerts", n)
	}
	// Advanced hunting is per subject: not asked, and said so.
	if w := window(res.src, "hunting-IdentityLogonEvents"); w.Query != "" || res.src.Status != manifest.StatusCollected ||
		!slices.ContainsFunc(res.findings.NotChecked, func(n snapshot.NotChecked) bool { return n.Check == "signals advanced-hunting" }) {
		t.Errorf("hunting tenant-wide: %+v, %s, %+v", w, res.src.Status, res.findings.NotChecked)
	}
}

// A clean tenant raises no finding; its only incident (another user's,
// resolved) is kept apart.
func TestSignalsSilentOnCleanTenant(t *testing.T) {
	res := run(t, graphtest.Config{CleanPosture: true}, false)
	if len(res.findings.Findings) != 0 {
		t.Errorf("findings: %+v", res.findings.Findings)
	}
	if res.src.Status != manifest.StatusCollected || window(res.src, "security-incidents-other-users").Records != 1 ||
		window(res.src, "security-alerts").Records != 0 || window(res.src, "security-alerts-other-users").Records != 1 {
		t.Errorf("source: %s, windows %+v", res.src.Status, res.src.Windows)
	}
}

// A missing permission is recorded per part with Graph's answer and the fix.
func TestSignalsRefusals(t *testing.T) {
	res := run(t, graphtest.Config{Denied: []string{graphtest.PermIncident, graphtest.PermRiskySP, graphtest.PermAlert, graphtest.PermHunting}}, false)
	for p, fix := range map[string]string{"security-incidents": "fix: grant SecurityIncident.Read.All",
		"risky-service-principals": "fix: grant IdentityRiskyServicePrincipal.Read.All", "security-alerts": "fix: grant SecurityAlert.Read.All",
		"hunting-IdentityLogonEvents": "fix: grant ThreatHunting.Read.All", "hunting-CloudAppEvents": "fix: grant ThreatHunting.Read.All",
		"hunting-EmailEvents": "fix: grant ThreatHunting.Read.All", "hunting-UrlClickEvents": "fix: grant ThreatHunting.Read.All"} {
		w := window(res.src, p)
		if w.Status != manifest.StatusUnavailable || !strings.Contains(w.Reason, "403 Authorization_RequestDenied") || !strings.Contains(w.Reason, fix) {
			t.Errorf("%s: %s %q", p, w.Status, w.Reason)
		}
	}
	if w := window(res.src, "service-principal-risk-detections"); w.Status != manifest.StatusCollected {
		t.Errorf("detections: %+v", w)
	}
	refused := 0
	for _, n := range res.findings.NotChecked {
		if strings.HasPrefix(n.Check, "signals ") {
			refused++
		}
	}
	if refused != 7 {
		t.Errorf("not checked: %+v", res.findings.NotChecked)
	}
	for _, f := range []string{"security-alerts.jsonl", "hunting-EmailEvents.jsonl"} {
		if _, err := os.Stat(filepath.Join(res.dir, "signals", f)); err == nil {
			t.Errorf("a refused part left %s", f)
		}
	}
}

// A tenant without Defender XDR: incidents, alerts and hunting are
// recorded as refused for the licence, with Graph's answer; Identity
// Protection's parts are collected.
func TestSignalsNoDefender(t *testing.T) {
	res := run(t, graphtest.Config{NoDefender: true}, false)
	for _, p := range []string{"security-incidents", "security-alerts", "hunting-IdentityLogonEvents", "hunting-UrlClickEvents"} {
		w := window(res.src, p)
		if w.Status != manifest.StatusUnavailable || !strings.Contains(w.Reason, "licence: the tenant lacks Microsoft Defender XDR (graph answered 403 Forbidden") {
			t.Errorf("%s: %s %q", p, w.Status, w.Reason)
		}
	}
	if w := window(res.src, "risky-service-principals"); w.Status != manifest.StatusCollected {
		t.Errorf("risky service principals: %+v", w)
	}
}

// The checklist items Graph cannot answer are named for the subject, each
// with the exact manual step.
func TestSignalsNotCollectable(t *testing.T) {
	res := run(t, graphtest.Config{CleanPosture: true}, false)
	got := map[string]string{}
	for _, n := range res.findings.NotChecked {
		if name, ok := strings.CutPrefix(n.Check, signals.NotCollectablePrefix); ok && n.Scope == "victim@contoso.com" {
			got[name] = n.Reason
		}
	}
	for name, step := range map[string]string{
		"hidden inbox rules":                  "Get-InboxRule -Mailbox 'victim@contoso.com' -IncludeHidden",
		"mailbox forwarding addresses":        "Get-Mailbox -Identity 'victim@contoso.com' | Format-List ForwardingAddress,ForwardingSmtpAddress,DeliverToMailboxAndForward",
		"mailbox delegates (FullAccess)":      "Get-MailboxPermission -Identity 'victim@contoso.com'",
		"SendAs and SendOnBehalf permissions": "Get-RecipientPermission -Identity 'victim@contoso.com'",
		"app passwords":                       "https://mysignins.microsoft.com/security-info",
	} {
		if !strings.Contains(got[name], "manual step") || !strings.Contains(got[name], step) {
			t.Errorf("%s: %q", name, got[name])
		}
	}
	if len(got) != 5 {
		t.Errorf("not collectable: %v", got)
	}
}

// The queries' text: values are KQL literals, whatever they hold; a table
// whose columns have nothing to be compared with is not asked.
func TestHuntingKQL(t *testing.T) {
	w := collect.Window{Start: now.Add(-time.Hour), End: now}
	name := `o'brien"x\y@contoso.com`
	got, ok := signals.HuntingQueries[2].KQL(w, []string{name}, nil)
	want := "EmailEvents\n| where Timestamp >= datetime(2026-11-20T05:00:00Z) and Timestamp < datetime(2026-11-20T06:00:00Z)\n" +
		`| where RecipientEmailAddress in~ ("o'brien\"x\\y@contoso.com") or SenderFromAddress in~ ("o'brien\"x\\y@contoso.com")` + "\n| order by Timestamp asc"
	if !ok || got != want {
		t.Errorf("KQL:\n%s\nwant\n%s", got, want)
	}
	if _, ok := signals.HuntingQueries[1].KQL(w, []string{name}, nil); ok {
		t.Error("CloudAppEvents asked without an object id")
	}
	// Over HTTP: the simulator reads the escaped literal back (no 400);
	// the subject without an object id leaves CloudAppEvents not asked.
	users = []collect.User{{Requested: name, UPN: name}}
	defer func() { users = nil }()
	res := run(t, graphtest.Config{}, false)
	for _, p := range []string{"hunting-IdentityLogonEvents", "hunting-EmailEvents", "hunting-UrlClickEvents"} {
		if w := window(res.src, p); w.Status != manifest.StatusCollected || w.Records != 0 {
			t.Errorf("%s: %+v", p, w)
		}
	}
	if w := window(res.src, "hunting-CloudAppEvents"); w.Status != manifest.StatusUnavailable || !strings.Contains(w.Reason, "AccountObjectId") {
		t.Errorf("CloudAppEvents: %+v", w)
	}
}
