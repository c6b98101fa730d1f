package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/evidence-dfir/evidence/collect/diagarchive/diagtest"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/workspace/lawtest"
)

// TestExportWorkspaceDiagArchive is issue 21 part 3: the daily export
// reads a Log Analytics workspace (the simulated Logs query endpoint) and
// a diagnostic-settings archive (Azurite) with their own watermarks. Over
// three simulated days the series holds every row and every hourly blob
// of its interval exactly once (the workspace's overlap re-read is
// dropped, the archive is read by whole hours); each day both watermarks
// advance; and when the workspace refuses a run (403), its watermark stays
// where it was while the archive's advances, and the next run collects
// the rows the failed run missed.
func TestExportWorkspaceDiagArchive(t *testing.T) {
	day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 45, AuditsPerUser: 2, SignInsPerUser: 2, Now: day0})
	v, a := srv.Tenant.Victim(), srv.Tenant.Admin()
	start, end := day0.Add(-3*24*time.Hour), day0.Add(3*24*time.Hour)

	law := lawtest.New(testWorkspace, testToken)
	t.Cleanup(law.Close)
	lawtest.Seed(law, 11, []lawtest.User{{ID: v.ID, UPN: v.UPN}, {ID: a.ID, UPN: a.UPN}}, start, end, map[string]int{
		"SigninLogs": 60, "AADNonInteractiveUserSignInLogs": 60, "AuditLogs": 20, "MicrosoftGraphActivityLogs": 40, "OfficeActivity": 20})
	ca := filepath.Join(t.TempDir(), "law-ca.pem")
	if err := os.WriteFile(ca, law.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	az := azuritetest.Start(t)
	truth := diagtest.Seed(t, diagtest.Plain(az), diagtest.Spec{Tenant: srv.Tenant.TenantID(), Start: start, End: end,
		Users:      []diagtest.User{{ID: v.ID, UPN: v.UPN, Name: v.DisplayName}, {ID: a.ID, UPN: a.UPN, Name: a.DisplayName}},
		Categories: []string{"SignInLogs", "AuditLogs"}, Append: map[string]bool{"SignInLogs": true}})
	env := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, diagarchive.EnvSAS: diagtest.AccountSAS(t, true)}

	stateDir, out := t.TempDir(), t.TempDir()
	since := day0.Add(-2 * 24 * time.Hour)
	run := func(now time.Time, extra ...string) (int, string) {
		t.Helper()
		srv.Tenant.SetNow(now)
		args := exportArgs(srv, stateDir, out, now, append([]string{"--bundle", "dir", "--sources", "workspace,diagarchive",
			"--workspace", testWorkspace, "--workspace-url", law.Endpoint(), "--workspace-ca", ca, "--diag-archive", az.Endpoint}, extra...)...)
		code, _, stderr := invoke(t, env, args...)
		return code, stderr
	}
	marks := func() (ws, da string) {
		st := loadDirState(t, stateDir)
		if s := st.Scope("workspace", "tenant"); s != nil {
			ws = s.Watermark
		}
		if s := st.Scope("diagarchive", "tenant"); s != nil {
			da = s.Watermark
		}
		return ws, da
	}
	var prevWS, prevDA string
	for day := 0; day < 3; day++ {
		now := day0.Add(time.Duration(day) * 24 * time.Hour)
		var extra []string
		if day == 0 {
			extra = []string{"--since", since.Format(time.RFC3339)}
		}
		if day == 2 { // the workspace refuses this run: its watermark must stay
			law.Forbidden = true
			code, stderr := run(now, extra...)
			law.Forbidden = false
			if code != ExitIncomplete {
				t.Fatalf("day 3, the workspace refusing: exit %d, want %d\n%s", code, ExitIncomplete, stderr)
			}
			ws, da := marks()
			if ws != prevWS || da == prevDA {
				t.Fatalf("day 3, the workspace refusing: watermarks workspace %s (was %s), diagarchive %s (was %s)", ws, prevWS, da, prevDA)
			}
			prevDA = da
		}
		if code, stderr := run(now, extra...); code != ExitOK {
			t.Fatalf("day %d: exit %d\n%s", day+1, code, stderr)
		}
		ws, da := marks()
		wantWS := now.Add(-time.Hour).Format(time.RFC3339)
		wantDA := now.Add(-2 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)
		if ws != wantWS || da != wantDA {
			t.Fatalf("day %d: watermarks workspace %s (want %s), diagarchive %s (want %s)", day+1, ws, wantWS, da, wantDA)
		}
		prevWS, prevDA = ws, da
	}

	// Every row of [since, last workspace watermark) once, every blob of
	// the hours [since, last archive watermark) once, across the series.
	lastWS, _ := time.Parse(time.RFC3339, prevWS)
	lastDA, _ := time.Parse(time.RFC3339, prevDA)
	records := seriesRecords(t, stateDir)
	var want []string
	for _, table := range lawtest.TableNames {
		for _, row := range law.Truth(table, "*", since, lastWS) {
			want = append(want, "workspace/"+table+".jsonl\x00"+row)
		}
	}
	var got []string
	for _, r := range records {
		if strings.HasPrefix(r, "workspace/") {
			got = append(got, r)
		}
	}
	if missing, extra := multisetDiff(want, got); len(missing)+len(extra) > 0 || len(want) == 0 {
		t.Errorf("workspace rows over three days: %d in the series, %d in the workspace; %d missing, %d twice or outside (first missing %v, first extra %v)",
			len(got), len(want), len(missing), len(extra), first(missing), first(extra))
	}
	copies := map[string]int{}
	for _, e := range loadDirState(t, stateDir).Index {
		m := readManifest(t, e.Location)
		for _, f := range m.Files {
			if strings.HasPrefix(f.Path, diagarchive.Dir+"/insights-logs-") && strings.HasSuffix(f.Path, ".json") {
				copies[strings.TrimPrefix(f.Path, diagarchive.Dir+"/")+"\x00"+f.SHA256]++
			}
		}
	}
	blobs := 0
	for _, b := range truth.Blobs {
		if b.Hour.Before(since) || !b.Hour.Before(lastDA) {
			continue
		}
		blobs++
		if n := copies[b.Container+"/"+b.Name+"\x00"+b.SHA256]; n != 1 {
			t.Errorf("blob %s/%s (hour %s) is sealed %d times in the series, byte for byte", b.Container, b.Name, b.Hour.Format(time.RFC3339), n)
		}
		delete(copies, b.Container+"/"+b.Name+"\x00"+b.SHA256)
	}
	for k := range copies {
		t.Errorf("sealed blob outside the archive's hours or not as in the account: %s", strings.ReplaceAll(k, "\x00", " "))
	}
	if blobs == 0 {
		t.Fatal("no archive hour in the series: the comparison would prove nothing")
	}
	t.Logf("%d bundles; %d workspace rows and %d archive blobs, each once; watermarks workspace %s, diagarchive %s",
		len(loadDirState(t, stateDir).Index), len(got), blobs, prevWS, prevDA)
	if code, stdout, _ := invoke(t, nil, "export", "status", "--state", stateDir, "--out", out, "--now", end.Format(time.RFC3339)); code != ExitOK ||
		!strings.Contains(stdout, "workspace: last exported") || !strings.Contains(stdout, "export cannot tell") {
		t.Errorf("status: exit %d\n%s", code, stdout)
	}
}
