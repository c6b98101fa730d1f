package tenant_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/collect/tenant"
	"github.com/evidence-dfir/evidence/manifest"
)

var now = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

const token = "tenant-test-token"

// every part of the source, by file base name.
var parts = []string{"conditional-access-policies", "named-locations", "role-assignments", "role-eligibility-schedules", "domains",
	"domain-federation", "authorization-policy", "cross-tenant-access-policy", "cross-tenant-partners", "authentication-methods-policy",
	"applications", "service-principals", "application-owners", "service-principal-owners"}

type result struct {
	src      manifest.Source
	dir      string
	findings snapshot.Report
	tenant   *graphtest.Tenant
}

// collectTenant runs the tenant source against a simulated tenant over
// HTTP, for the victim over the 30 days before now.
func collectTenant(t *testing.T, cfg graphtest.Config) result { return collectPaged(t, cfg, 0) }

// collectPaged is collectTenant with a page size ($top) for the lists that
// take one.
func collectPaged(t *testing.T, cfg graphtest.Config, pageSize int) result {
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
	root := t.TempDir()
	stage, err := bundle.Create(root, "b")
	if err != nil {
		t.Fatal(err)
	}
	v := srv.Tenant.Victim()
	job := collect.Job{Window: collect.Window{Start: now.Add(-30 * 24 * time.Hour), End: now}, Now: now, PageSize: pageSize,
		Users: []collect.User{{Requested: v.UPN, ID: v.ID, UPN: v.UPN, Mail: v.Mail}}}
	src, err := (&tenant.Source{}).Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if vs := srv.Tenant.Violations(); len(vs) > 0 {
		t.Fatalf("requests outside the documented contract:\n%s", strings.Join(vs, "\n"))
	}
	m := &manifest.Manifest{}
	if err := stage.Seal(m); err != nil {
		t.Fatal(err)
	}
	res := result{src: src, dir: stage.Dir(), tenant: srv.Tenant}
	b, err := os.ReadFile(filepath.Join(res.dir, tenant.FindingsPath))
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
		if w.Scope == "tenant" && strings.HasPrefix(w.Query, part+": ") {
			return w
		}
	}
	return manifest.SubWindow{}
}

// Every part is collected into its own file, with its CSV, one window each,
// every record accounted, and records written as the service sent them.
func TestEveryPartCollected(t *testing.T) {
	res := collectTenant(t, graphtest.Config{})
	var total int64
	for _, p := range parts {
		w := window(res.src, p)
		if w.Status != manifest.StatusCollected {
			t.Errorf("%s: window %+v", p, w)
			continue
		}
		jl := filepath.Join(res.dir, "tenant", p+".jsonl")
		got := lines(t, jl)
		if int64(len(got)) != w.Records || w.Records == 0 {
			t.Errorf("%s: %d lines, window says %d records", p, len(got), w.Records)
		}
		if _, err := os.Stat(strings.TrimSuffix(jl, ".jsonl") + ".csv"); err != nil {
			t.Errorf("%s: no CSV: %v", p, err)
		}
		if !slices.Contains(res.src.Files, "tenant/"+p+".jsonl") || !slices.Contains(res.src.Files, "tenant/"+p+".csv") {
			t.Errorf("%s: files not in the manifest entry: %v", p, res.src.Files)
		}
		total += w.Records
	}
	if res.src.Records != total || res.src.Status != manifest.StatusCollected {
		t.Errorf("source: %d records (%s), parts hold %d", res.src.Records, res.src.Status, total)
	}
	pos := res.tenant.TenantPosture()
	// Principals are expanded; the federation settings are the domain's.
	ra := strings.Join(lines(t, filepath.Join(res.dir, "tenant", "role-assignments.jsonl")), "\n")
	if !strings.Contains(ra, `"principal":{"@odata.type":"#microsoft.graph.servicePrincipal"`) || !strings.Contains(ra, pos.AppRoleAssignmentID) {
		t.Errorf("role assignments lack the expanded principal or the app's assignment: %s", ra)
	}
	fed := lines(t, filepath.Join(res.dir, "tenant", "domain-federation.jsonl"))
	if len(fed) != 1 || !strings.Contains(fed[0], pos.FederationID) {
		t.Errorf("federation: %v", fed)
	}
	csv, err := os.ReadFile(filepath.Join(res.dir, "tenant", "domain-federation.csv"))
	if err != nil || !strings.Contains(string(csv), pos.FederatedDomain) {
		t.Errorf("federation CSV does not name the domain: %s %v", csv, err)
	}
	// Single objects keep Graph's @odata.context, as sent.
	ap := lines(t, filepath.Join(res.dir, "tenant", "authorization-policy.jsonl"))
	if len(ap) != 1 || !strings.HasPrefix(ap[0], `{"@odata.context":"`) {
		t.Errorf("authorization policy: %v", ap)
	}
	// No secret value: only metadata of credentials.
	for _, p := range []string{"applications", "service-principals"} {
		for _, l := range lines(t, filepath.Join(res.dir, "tenant", p+".jsonl")) {
			if strings.Contains(l, `"secretText":"`) {
				t.Errorf("%s holds a secret value: %s", p, l)
			}
		}
	}
	// Microsoft's own service principals are not asked for owners, and the
	// window says how many.
	if w := window(res.src, "service-principal-owners"); !strings.Contains(w.Reason, "2 service principals owned by Microsoft") {
		t.Errorf("service principal owners: %q", w.Reason)
	}
}

// Refusals (a missing permission, a licence the tenant lacks) are recorded
// per part with Graph's answer and the fix; parts that depend on a refused
// part say so; nothing refused leaves a file.
func TestRefusalsRecorded(t *testing.T) {
	res := collectTenant(t, graphtest.Config{Denied: []string{graphtest.PermPolicy, graphtest.PermDomain}, License: graphtest.LicenseP1})
	want := map[string]string{
		"conditional-access-policies":   "permission: graph answered 403 Authorization_RequestDenied",
		"named-locations":               "fix: grant Policy.Read.All (application)",
		"authorization-policy":          "fix: grant Policy.Read.All (application)",
		"cross-tenant-access-policy":    "permission: graph answered 403",
		"cross-tenant-partners":         "permission: graph answered 403",
		"authentication-methods-policy": "permission: graph answered 403",
		"domains":                       "fix: grant Domain.Read.All (application)",
		"domain-federation":             "needs the ids from the part domains",
		"role-eligibility-schedules":    "licence: the tenant lacks Microsoft Entra ID P2 (graph answered 403 AadPremiumLicenseRequired",
	}
	for p, reason := range want {
		w := window(res.src, p)
		if w.Status != manifest.StatusUnavailable || !strings.Contains(w.Reason, reason) {
			t.Errorf("%s: %s %q, want unavailable with %q", p, w.Status, w.Reason, reason)
		}
		if _, err := os.Stat(filepath.Join(res.dir, "tenant", p+".jsonl")); !os.IsNotExist(err) {
			t.Errorf("%s: a refused part left a file (%v)", p, err)
		}
	}
	for _, p := range []string{"role-assignments", "applications", "service-principals", "application-owners", "service-principal-owners"} {
		if w := window(res.src, p); w.Status != manifest.StatusCollected {
			t.Errorf("%s: %+v", p, w)
		}
	}
	if res.src.Status == manifest.StatusCollected || !strings.Contains(res.src.Reason, "9 of 14 parts not collected") {
		t.Errorf("source: %s %q", res.src.Status, res.src.Reason)
	}
	if len(res.findings.NotChecked) != len(want) {
		t.Errorf("not checked: %+v", res.findings.NotChecked)
	}
}

func kinds(rep snapshot.Report) map[string][]snapshot.Finding {
	out := map[string][]snapshot.Finding{}
	for _, f := range rep.Findings {
		out[f.Kind] = append(out[f.Kind], f)
	}
	return out
}

// Each finding fires on the planted story, on exactly the planted object,
// with the record that proves it and a next step.
func TestFindingsOnStory(t *testing.T) {
	res := collectTenant(t, graphtest.Config{})
	pos, per := res.tenant.TenantPosture(), res.tenant.Persistence()
	victim := res.tenant.Victim()
	got := kinds(res.findings)
	want := map[string][]string{ // kind -> object ids
		tenant.KindFederatedDomain:   {pos.FederatedDomain},
		tenant.KindCADisabled:        {pos.DisabledPolicyID},
		tenant.KindCAReportOnly:      {pos.ReportOnlyPolicyID},
		tenant.KindCAExcludesSubject: {pos.ReportOnlyPolicyID},
		tenant.KindRoleToApp:         {pos.AppRoleAssignmentID},
		tenant.KindRoleToSubject:     {pos.VictimEligibilityID},
		tenant.KindEligibleInWindow:  {pos.VictimEligibilityID},
		tenant.KindAppCredential:     {per.AppRegistrationID},
		tenant.KindConsentAnyApp:     {"authorizationPolicy"},
	}
	for k, ids := range want {
		var have []string
		for _, f := range got[k] {
			have = append(have, f.ObjectID)
			if len(f.Evidence) == 0 || f.NextStep == "" || f.Summary == "" {
				t.Errorf("%s %s: evidence %v, next step %q", k, f.ObjectID, f.Evidence, f.NextStep)
			}
			for _, e := range f.Evidence {
				l := lines(t, filepath.Join(res.dir, filepath.FromSlash(e.File)))
				if e.Line < 1 || int(e.Line) > len(l) || (e.ID != "" && !strings.Contains(l[e.Line-1], e.ID)) {
					t.Errorf("%s: pointer %+v does not name its record", k, e)
				}
			}
		}
		sort.Strings(have)
		if strings.Join(have, ",") != strings.Join(ids, ",") {
			t.Errorf("%s: flagged %v, want %v", k, have, ids)
		}
	}
	if len(got) != len(want) {
		t.Errorf("kinds %v, want exactly %d kinds", keys(got), len(want))
	}
	if f := got[tenant.KindAppCredential]; len(f) == 1 && f[0].Credential != per.NewSecretKeyID {
		t.Errorf("credential %s, want %s", f[0].Credential, per.NewSecretKeyID)
	}
	if f := got[tenant.KindCAExcludesSubject]; len(f) == 1 && f[0].UserID != victim.ID {
		t.Errorf("exclusion names %s, want the victim", f[0].UserID)
	}
	if f := got[tenant.KindFederatedDomain]; len(f) == 1 && (len(f[0].Evidence) != 2 || f[0].Evidence[1].File != "tenant/domain-federation.jsonl") {
		t.Errorf("federated domain evidence %+v, want the domain and its federation settings", f[0].Evidence)
	}
}

func keys(m map[string][]snapshot.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A clean tenant (same window, same subject) gives no finding at all.
func TestFindingsSilentOnCleanTenant(t *testing.T) {
	res := collectTenant(t, graphtest.Config{CleanPosture: true})
	if len(res.findings.Findings) != 0 {
		t.Errorf("findings on a clean tenant: %+v", res.findings.Findings)
	}
	for _, p := range parts {
		if p == "domain-federation" { // no federated domain: nothing to ask
			continue
		}
		if w := window(res.src, p); w.Status != manifest.StatusCollected {
			t.Errorf("%s: %+v", p, w)
		}
	}
}

// Lists are read page by page through @odata.nextLink: one record per page
// gives the same records as one page, each once.
func TestPagedByNextLink(t *testing.T) {
	whole, paged := collectTenant(t, graphtest.Config{}), collectPaged(t, graphtest.Config{}, 1)
	for _, p := range []string{"applications", "service-principals"} {
		a := lines(t, filepath.Join(whole.dir, "tenant", p+".jsonl"))
		b := lines(t, filepath.Join(paged.dir, "tenant", p+".jsonl"))
		w := window(paged.src, p)
		if len(a) < 2 || strings.Join(a, "\n") != strings.Join(b, "\n") || w.Pages != int64(len(b)) {
			t.Errorf("%s: %d records in one page, %d in %d pages", p, len(a), len(b), w.Pages)
		}
	}
}
