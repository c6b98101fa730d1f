package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/workspace/lawtest"
	"github.com/evidence-dfir/evidence/manifest"
)

const testWorkspace = "b7d3c1a0-1111-4222-8333-444455556666"

// newLaw starts a simulated workspace holding 90 days of rows for the
// tenant's victim and admin, with the per-query row limit scaled down to
// rowLimit, and returns it with the grab arguments that read it.
func newLaw(t *testing.T, srv *graphtest.Server, rowLimit int, out string) (*lawtest.Server, []string) {
	t.Helper()
	law := lawtest.New(testWorkspace, testToken)
	t.Cleanup(law.Close)
	law.RowLimit = rowLimit
	v, a := srv.Tenant.Victim(), srv.Tenant.Admin()
	lawtest.Seed(law, 7, []lawtest.User{{ID: v.ID, UPN: v.UPN}, {ID: a.ID, UPN: a.UPN}}, fixedNow.Add(-90*24*time.Hour), fixedNow, map[string]int{
		"SigninLogs": 500, "AADNonInteractiveUserSignInLogs": 900, "AADServicePrincipalSignInLogs": 20, "AADManagedIdentitySignInLogs": 20,
		"AuditLogs": 80, "MicrosoftGraphActivityLogs": 600, "AADRiskyUsers": 2, "AADUserRiskEvents": 10, "OfficeActivity": 300})
	ca := filepath.Join(t.TempDir(), "law-ca.pem")
	if err := os.WriteFile(ca, law.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "dir",
		"--since", fixedNow.Add(-90 * 24 * time.Hour).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
		"--budget", "reports=5/20ms", "--retry-base", "1ms", "--sources", "workspace", "--user", v.UPN,
		"--workspace", testWorkspace, "--workspace-url", law.Endpoint(), "--workspace-ca", ca,
		"--split", "0"} // one first query per table over the 90 days
	return law, args
}

// lawTruth is the ground truth of the 90 days for upn.
func lawTruth(law *lawtest.Server, table, upn string) []string {
	return law.Truth(table, upn, fixedNow.Add(-90*24*time.Hour), fixedNow)
}

// sortedLines is the lines of a record file, sorted; none when it does
// not exist.
func sortedLines(t *testing.T, path string) []string {
	t.Helper()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	l := fileLines(t, path)
	slices.Sort(l)
	return l
}

func workspaceSource(t *testing.T, m *manifest.Manifest) manifest.Source {
	t.Helper()
	for _, s := range m.Sources {
		if s.Name == "workspace" {
			return s
		}
	}
	t.Fatal("no workspace source in the manifest")
	return manifest.Source{}
}

// TestWorkspace90Days is issue 21's acceptance for the workspace source: a
// 90-day per-user grab whose tables exceed the per-query row limit collects
// every row of the subject once (equal to the ground truth), records each
// query in the manifest, and exits 0.
func TestWorkspace90Days(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 21, SignInsPerUser: 5, AuditsPerUser: 5})
	out := t.TempDir()
	law, args := newLaw(t, srv, 200, out)
	code, stdout, stderr := invoke(t, tokenEnv, args...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	src := workspaceSource(t, m)
	if !m.Complete || src.Status != manifest.StatusCollected || len(src.Superseded) == 0 || law.Stats().Partial == 0 {
		t.Fatalf("complete=%v status=%s superseded=%d partial answers=%d", m.Complete, src.Status, len(src.Superseded), law.Stats().Partial)
	}
	upn := srv.Tenant.Victim().UPN
	var total int64
	for _, table := range lawtest.TableNames {
		got := sortedLines(t, filepath.Join(dir, "workspace", table+".jsonl"))
		want := lawTruth(law, table, upn)
		if table == "AADServicePrincipalSignInLogs" || table == "AADManagedIdentitySignInLogs" {
			want = nil // no user column: read only tenant-wide
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows in the bundle, ground truth %d", table, len(got), len(want))
		}
		total += int64(len(want))
	}
	if src.Records != total || total == 0 {
		t.Errorf("manifest records %d, ground truth %d", src.Records, total)
	}
	var recorded []string
	for _, w := range append(slices.Clone(src.Windows), src.Superseded...) {
		recorded = append(recorded, w.Query)
	}
	served := law.Queries()
	slices.Sort(recorded)
	slices.Sort(served)
	if !slices.Equal(recorded, served) {
		t.Errorf("the manifest records %d queries, the workspace answered %d", len(recorded), len(served))
	}
	// Every attempt is in requests.jsonl, and no token.
	reqs, err := os.ReadFile(filepath.Join(dir, manifest.RequestsName))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(reqs, []byte(`"source":"workspace"`)); n != law.Stats().Requests {
		t.Errorf("requests.jsonl logs %d workspace requests, the workspace received %d", n, law.Stats().Requests)
	}
	if bytes.Contains(reqs, []byte(testToken)) {
		t.Error("requests.jsonl holds the token")
	}
	if code, vout, _ := invoke(t, nil, "verify", dir); code != ExitOK {
		t.Fatalf("verify exit %d: %s", code, vout)
	}
	t.Logf("%d rows, %d queries answered (%d partial, split)", total, len(served), law.Stats().Partial)
}

// TestWorkspaceMissingTable: a workspace without MicrosoftGraphActivityLogs
// is recorded as such, and the grab is still complete.
func TestWorkspaceMissingTable(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 21, SignInsPerUser: 5, AuditsPerUser: 5})
	out := t.TempDir()
	law, args := newLaw(t, srv, 500000, out)
	law.Omit("MicrosoftGraphActivityLogs")
	code, stdout, stderr := invoke(t, tokenEnv, args...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	src := workspaceSource(t, m)
	if src.Counts["tables_missing"] != 1 || !slices.ContainsFunc(m.Warnings, func(w string) bool {
		return strings.Contains(w, "MicrosoftGraphActivityLogs does not exist")
	}) {
		t.Fatalf("missing table not recorded: counts %v warnings %v", src.Counts, m.Warnings)
	}
	if !slices.ContainsFunc(src.Windows, func(w manifest.SubWindow) bool {
		return w.Scope == "MicrosoftGraphActivityLogs" && strings.Contains(w.Reason, "does not exist in the workspace")
	}) {
		t.Errorf("no window records the missing table: %+v", src.Windows)
	}
}

// TestWorkspaceFlags: the source's flags are checked before any request.
func TestWorkspaceFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sources", "workspace"}, "needs --workspace"},
		{[]string{"--sources", "signins", "--workspace", testWorkspace}, "add workspace to --sources"},
		{[]string{"--sources", "workspace", "--workspace", "not-a-guid"}, "is not a workspace id"},
		// no --sources: --workspace makes the workspace one of the defaults
		{[]string{"--workspace", "not-a-guid"}, "is not a workspace id"},
		{[]string{"--sources", "workspace", "--workspace", testWorkspace, "--workspace-tables", "Heartbeat"}, "unknown table"},
	} {
		args := append([]string{"grab", "--auth", "token", "--graph-url", "http://127.0.0.1:1", "--user", "a@b.example", "--out", t.TempDir()}, c.args...)
		code, _, stderr := invoke(t, tokenEnv, args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want usage error with %q", c.args, code, stderr, c.want)
		}
	}
}
