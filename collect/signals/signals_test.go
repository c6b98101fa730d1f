package signals_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
	cfg.Token, cfg.Now, cfg.Seed = token, now, 5
	srv, err := graphtest.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(token),
		Retry: collect.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxRetryAfter: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	v := srv.Tenant.Victim()
	job := collect.Job{Window: collect.Window{Start: now.Add(-30 * 24 * time.Hour), End: now}, Now: now, AllUsers: allUsers}
	if !allUsers {
		job.Users = []collect.User{{Requested: v.UPN, ID: v.ID, UPN: v.UPN, Mail: v.Mail}}
	}
	src, err := (&signals.Source{}).Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if vs := srv.Tenant.Violations(); len(vs) > 0 {
		t.Fatalf("requests outside the documented contract:\n%s", strings.Join(vs, "\n"))
	}
	if err := stage.Seal(&manifest.Manifest{}); err != nil {
		t.Fatal(err)
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
	apart := lines(t, filepath.Join(res.dir, "signals", "security-incidents-other-users.jsonl"))
	if len(apart) != 1 || !strings.Contains(apart[0], sig.OtherIncidentID) {
		t.Errorf("kept apart: %v", apart)
	}
	if w := window(res.src, "security-incidents-other-users"); w.Records != 1 || w.Status != manifest.StatusCollected {
		t.Errorf("other users' window: %+v", w)
	}
	if w := window(res.src, "security-incidents"); w.Records != 1 {
		t.Errorf("subject's incidents window: %+v", w)
	}
	if res.src.Status != manifest.StatusCollected || res.src.Records != 4 || res.src.OutOfScope != 0 ||
		!slices.Contains(res.src.Files, "signals/security-incidents-other-users.jsonl") {
		t.Errorf("accounting: %s, records %d, out of scope %d, files %v", res.src.Status, res.src.Records, res.src.OutOfScope, res.src.Files)
	}
	got := map[string]string{}
	for _, f := range res.findings.Findings {
		got[f.Kind] = f.ObjectID
		if len(f.Evidence) != 1 || f.NextStep == "" {
			t.Errorf("%s: evidence %v next %q", f.Kind, f.Evidence, f.NextStep)
		}
	}
	if len(got) != 2 || got[signals.KindOpenIncident] != sig.IncidentID || got[signals.KindRiskySP] != sig.RiskyServicePrincipalID {
		t.Errorf("findings %v", got)
	}
}

// A tenant-wide collection keeps every incident as its own; the resolved
// one raises nothing.
func TestSignalsTenantWide(t *testing.T) {
	res := run(t, graphtest.Config{}, true)
	if n := len(lines(t, filepath.Join(res.dir, "signals", "security-incidents.jsonl"))); n != 2 || window(res.src, "security-incidents-other-users").Query != "" {
		t.Errorf("%d incidents; windows %+v", n, res.src.Windows)
	}
}

// A clean tenant raises no finding; its only incident (another user's,
// resolved) is kept apart.
func TestSignalsSilentOnCleanTenant(t *testing.T) {
	res := run(t, graphtest.Config{CleanPosture: true}, false)
	if len(res.findings.Findings) != 0 {
		t.Errorf("findings: %+v", res.findings.Findings)
	}
	if res.src.Status != manifest.StatusCollected || window(res.src, "security-incidents-other-users").Records != 1 {
		t.Errorf("source: %s, windows %+v", res.src.Status, res.src.Windows)
	}
}

// A missing permission is recorded per part with Graph's answer and the fix.
func TestSignalsRefusals(t *testing.T) {
	res := run(t, graphtest.Config{Denied: []string{graphtest.PermIncident, graphtest.PermRiskySP}}, false)
	for p, fix := range map[string]string{"security-incidents": "fix: grant SecurityIncident.Read.All",
		"risky-service-principals": "fix: grant IdentityRiskyServicePrincipal.Read.All"} {
		w := window(res.src, p)
		if w.Status != manifest.StatusUnavailable || !strings.Contains(w.Reason, "403 Authorization_RequestDenied") || !strings.Contains(w.Reason, fix) {
			t.Errorf("%s: %s %q", p, w.Status, w.Reason)
		}
	}
	if w := window(res.src, "service-principal-risk-detections"); w.Status != manifest.StatusCollected {
		t.Errorf("detections: %+v", w)
	}
	if len(res.findings.NotChecked) != 2 {
		t.Errorf("not checked: %+v", res.findings.NotChecked)
	}
}
