package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// auditTruth is the union of both sides of a user's audit trail, each id
// once.
func auditTruth(ten *graphtest.Tenant, userID string, start, end time.Time) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range []graphtest.Stream{graphtest.StreamAuditsInitiated, graphtest.StreamAuditsTarget} {
		for _, id := range ten.IDs(s, userID, start, end) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// sameSet: got holds exactly the ids of want, each once.
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d records, ground truth %d", what, len(got), len(want))
	}
	in := map[string]bool{}
	for _, id := range want {
		in[id] = true
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s: duplicate record %s", what, id)
		}
		if !in[id] {
			t.Fatalf("%s: record %s is not in the ground truth", what, id)
		}
		seen[id] = true
	}
}

// blockOrder is the order a source's file must have: its sub-windows in
// the manifest's order (oldest first; the older part of a cut sub-window
// after the newer), each holding the ground truth of its window newest
// first. It also checks each sub-window's record count.
func blockOrder(t *testing.T, s manifest.Source, truth func(scope string, start, end time.Time) []string) []string {
	t.Helper()
	var out []string
	for _, w := range s.Windows {
		start, err1 := time.Parse(time.RFC3339Nano, w.Start)
		end, err2 := time.Parse(time.RFC3339Nano, w.End)
		if err1 != nil || err2 != nil {
			t.Fatalf("sub-window %+v", w)
		}
		ids := truth(w.Scope, start, end)
		if int64(len(ids)) != w.Records {
			t.Fatalf("%s sub-window %s..%s: %d records, ground truth %d", s.Name, w.Start, w.End, w.Records, len(ids))
		}
		out = append(out, ids...)
	}
	return out
}

// readRecords reads a JSON Lines file's id and time property per line.
func readRecords(t *testing.T, path, timeProp string) (ids []string, times []time.Time) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ts, err := time.Parse(time.RFC3339Nano, r[timeProp].(string))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r["id"].(string))
		times = append(times, ts)
	}
	return ids, times
}

func source(t *testing.T, m *manifest.Manifest, name string) manifest.Source {
	t.Helper()
	for _, s := range m.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no source %q in the manifest", name)
	return manifest.Source{}
}

// checkCoverage: per scope, the sub-windows tile want exactly (no gap, no
// overlap), and their records add up to the source's.
func checkCoverage(t *testing.T, s manifest.Source, want manifest.Window) {
	t.Helper()
	byScope := map[string][]manifest.SubWindow{}
	var total int64
	for _, w := range s.Windows {
		byScope[w.Scope] = append(byScope[w.Scope], w)
		total += w.Records
	}
	if total != s.Records {
		t.Errorf("%s: sub-windows hold %d records, source %d", s.Name, total, s.Records)
	}
	for scope, ws := range byScope {
		sort.Slice(ws, func(i, j int) bool { return ws[i].Start < ws[j].Start })
		at := want.Start
		for _, w := range ws {
			if w.Start != at {
				t.Fatalf("%s %s: sub-window %s..%s does not start at %s", s.Name, scope, w.Start, w.End, at)
			}
			at = w.End
		}
		if at != want.End {
			t.Fatalf("%s %s: sub-windows end at %s, want %s", s.Name, scope, at, want.End)
		}
	}
}

// TestGrabAllKindsAndSides: a grab for the victim over 30 days collects
// exactly the ground truth of every sign-in kind and of both audit sides,
// with day sub-windows (boundaries on the story's midnight records) that
// are split further when they need more than two pages.
func TestGrabAllKindsAndSides(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3, SignInsPerUser: 1500, NonInteractivePerUser: 6000, AuditsPerUser: 600, AppSignIns: 300,
		Reports: graphtest.Budget{Requests: 5, Per: 50 * time.Millisecond}})
	ten := srv.Tenant
	victim, st := ten.Victim(), ten.Story()
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--bundle", "dir",
		"--page-size", "100", "--split", "1d", "--max-pages", "2", "--budget", "reports=5/50ms")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	m := readManifest(t, dir)
	if m.Tenant.License != "premium" {
		t.Errorf("licence %q", m.Tenant.License)
	}

	kinds := []struct {
		file, source string
		truth        []string
		edge         graphtest.Event
	}{
		{"signins/interactive.jsonl", "signins.interactive", ten.IDs(graphtest.StreamSignIns, victim.ID, start, end), st.MidnightSignIn},
		{"signins/noninteractive.jsonl", "signins.noninteractive", ten.IDs(graphtest.StreamSignInsNonInteractive, victim.ID, start, end), st.MidnightNonInteractive},
		{"signins/serviceprincipal.jsonl", "signins.serviceprincipal", ten.IDs(graphtest.StreamSignInsServicePrincipal, st.App.AppID, start, end), st.MidnightServicePrincipal},
		{"signins/managedidentity.jsonl", "signins.managedidentity", nil, graphtest.Event{}},
	}
	// App sign-ins are queried per app the victim owns or consented to: each
	// sub-window's scope names the app ("user:<id> app:<appId> (...)").
	appOf := func(scope string) string {
		_, rest, _ := strings.Cut(scope, "app:")
		app, _, _ := strings.Cut(rest, " ")
		return app
	}
	streams := map[string]func(scope string, start, end time.Time) []string{
		"signins.interactive": func(_ string, a, b time.Time) []string { return ten.IDs(graphtest.StreamSignIns, victim.ID, a, b) },
		"signins.noninteractive": func(_ string, a, b time.Time) []string {
			return ten.IDs(graphtest.StreamSignInsNonInteractive, victim.ID, a, b)
		},
		"signins.serviceprincipal": func(scope string, a, b time.Time) []string {
			return ten.IDs(graphtest.StreamSignInsServicePrincipal, appOf(scope), a, b)
		},
		"signins.managedidentity": func(string, time.Time, time.Time) []string { return nil },
	}
	for _, k := range kinds {
		ids, times := readRecords(t, filepath.Join(dir, k.file), "createdDateTime")
		s := source(t, m, k.source)
		sameSet(t, k.source, ids, k.truth)
		// Order: sub-windows oldest first, each newest first as Graph sends.
		sameIDs(t, k.source+" order", ids, blockOrder(t, s, streams[k.source]))
		if s.Status != manifest.StatusCollected || s.Records != int64(len(k.truth)) {
			t.Errorf("%s: status %s, %d records", k.source, s.Status, s.Records)
		}
		checkCoverage(t, s, m.Requested)
		t.Logf("%s: %d records, %d pages, %d sub-windows", k.source, s.Records, s.Pages, len(s.Windows))
		if k.edge.ID != "" {
			// The record exactly at a UTC midnight is in the sub-window that
			// starts there, and only once.
			n := 0
			for i, id := range ids {
				if id == k.edge.ID {
					n++
					if !times[i].Equal(k.edge.Time) || k.edge.Time.Truncate(24*time.Hour) != k.edge.Time {
						t.Errorf("%s: edge record at %s", k.source, times[i])
					}
				}
			}
			// (A scope whose records fit in the whole window's first page is
			// one sub-window: it has no boundary to test.)
			found, whole := false, true
			for _, w := range s.Windows {
				found = found || (w.Start == manifest.FormatTime(k.edge.Time) && w.Records > 0)
				whole = whole && w.Window == m.Requested
			}
			if n != 1 || !(found || whole) {
				t.Errorf("%s: midnight record found %d times, boundary sub-window %v", k.source, n, found)
			}
		}
	}
	// A window of several sub-windows is asked whole first: a scope whose
	// records fit in one page costs one request; a larger one keeps that
	// page as its newest sub-window and reads the rest oldest first.
	for _, name := range []string{"signins.serviceprincipal", "signins.managedidentity"} {
		for _, w := range source(t, m, name).Windows {
			if w.Window != m.Requested || w.Pages != 1 {
				t.Errorf("%s %s: sub-window %s..%s, %d pages; want the whole window in one page", name, w.Scope, w.Start, w.End, w.Pages)
			}
		}
	}
	for _, name := range []string{"signins.interactive", "signins.noninteractive"} {
		ws := source(t, m, name).Windows
		if len(ws) < 2 || ws[0].End != m.Requested.End || ws[0].Pages != 1 || !strings.HasPrefix(ws[0].Reason, "the whole window's first page") {
			t.Errorf("%s: first sub-window %+v; want the whole window's first page", name, ws[0])
		}
	}
	if len(kinds[2].truth) != len(st.ServicePrincipalSignIns)+1 {
		t.Fatalf("service principal truth %d", len(kinds[2].truth))
	}
	// Sub-windows over two pages were cut and the rest queried anew.
	cuts := 0
	for _, w := range source(t, m, "signins.noninteractive").Windows {
		if strings.HasPrefix(w.Reason, "cut after 2 pages") {
			cuts++
		}
		if w.Pages > 2 {
			t.Errorf("sub-window %s..%s read %d pages", w.Start, w.End, w.Pages)
		}
	}
	if cuts == 0 {
		t.Error("no sub-window was cut at --max-pages")
	}
	t.Logf("non-interactive sub-windows cut at --max-pages: %d", cuts)

	// Both sides of the audit trail, once each, newest first within each
	// sub-window, side noted.
	ids, times := readRecords(t, filepath.Join(dir, "audits", "directory.jsonl"), "activityDateTime")
	sameSet(t, "audits", ids, auditTruth(ten, victim.ID, start, end))
	at := 0
	for _, w := range source(t, m, "audits").Windows {
		ws, _ := time.Parse(time.RFC3339Nano, w.Start)
		we, _ := time.Parse(time.RFC3339Nano, w.End)
		block := times[at : at+int(w.Records)]
		for i, ts := range block {
			if ts.Before(ws) || !ts.Before(we) || i > 0 && ts.After(block[i-1]) {
				t.Fatalf("audit sub-window %s..%s: record %d at %s out of place", w.Start, w.End, i, ts)
			}
		}
		at += int(w.Records)
	}
	t.Logf("audits: %d records (initiated %d, target %d)", len(ids), ten.Count(graphtest.StreamAuditsInitiated, victim.ID, start, end),
		ten.Count(graphtest.StreamAuditsTarget, victim.ID, start, end))
	rows := readCSV(t, filepath.Join(dir, "audits", "directory.csv"))
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	sides := map[string]string{}
	for _, r := range rows[1:] {
		sides[r[col["Id"]]] = r[col["Matched"]]
	}
	for id, want := range map[string]string{st.Consent.ID: "initiated", st.PasswordReset.ID: "target", st.MFARegistered.ID: "both", st.MidnightAudit.ID: "both"} {
		if sides[id] != want {
			t.Errorf("audit %s matched %q, want %q", id, sides[id], want)
		}
	}
	checkCoverage(t, source(t, m, "audits"), m.Requested)
	checkPacing(t, dir, "reports", 5, 50*time.Millisecond)
}

// TestGrabFreeLicense: on Entra ID Free, sign-ins are unavailable with the
// reason, audits cover the last 7 days with the older part recorded as
// clamped, the exit code is 3 and the bundle verifies.
func TestGrabFreeLicense(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 4, License: graphtest.LicenseFree, AuditsPerUser: 300})
	ten := srv.Tenant
	victim := ten.Victim()
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--split", "1d")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want %d\n%s", code, ExitIncomplete, stderr)
	}
	if !strings.Contains(stderr, "no Entra ID P1/P2") || !strings.Contains(stderr, "evidence import") {
		t.Errorf("stderr does not say what to do instead:\n%s", stderr)
	}
	path := lastLine(stdout)
	if c, o, _ := invoke(t, nil, "verify", path); c != ExitOK {
		t.Fatalf("verify exit %d: %s", c, o)
	}
	dir := t.TempDir()
	extract(t, path, dir)
	m := readManifest(t, dir)
	if m.Complete || m.Tenant.License != "free" {
		t.Fatalf("complete %v, licence %q", m.Complete, m.Tenant.License)
	}
	for _, name := range []string{"signins.interactive", "signins.noninteractive", "signins.serviceprincipal", "signins.managedidentity"} {
		s := source(t, m, name)
		if s.Status != manifest.StatusUnavailable || !strings.Contains(s.Reason, "no Entra ID P1/P2") || s.Records != 0 ||
			len(s.Missing) != 1 || s.Missing[0].Window != m.Requested {
			t.Errorf("%s: %+v", name, s)
		}
	}
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	edge := fixedNow.Add(-7 * 24 * time.Hour)
	a := source(t, m, "audits")
	if a.Status != manifest.StatusClamped || len(a.Missing) != 1 || a.Missing[0].Status != manifest.StatusClamped ||
		a.Missing[0].Window != manifest.NewWindow(start, edge) || !strings.Contains(a.Missing[0].Reason, "7-day retention") {
		t.Fatalf("audits: %+v", a)
	}
	checkCoverage(t, a, manifest.NewWindow(edge, end))
	ids, _ := readRecords(t, filepath.Join(dir, "audits", "directory.jsonl"), "activityDateTime")
	truth := auditTruth(ten, victim.ID, start, end) // the tenant applies its own retention
	if len(truth) == 0 {
		t.Fatal("no audits in the last 7 days: the test proves nothing")
	}
	sameSet(t, "audits (7 days)", ids, truth)
	t.Logf("free tenant: %d audits in the last 7 days, %d sub-windows", len(ids), len(a.Windows))
}

// TestNonASCIIUPN: a UPN with non-ASCII letters round-trips intact into the
// records and the CSV.
func TestNonASCIIUPN(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 6, SignInsPerUser: 20, NonInteractivePerUser: 20})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", "sōta@contoso.co.jp", "--bundle", "dir",
		"--sources", "signins", "--signin-kinds", "interactive,noninteractive")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	if len(m.Users) != 1 || m.Users[0].UPN != "sōta@contoso.co.jp" || len(m.Sources) != 2 {
		t.Fatalf("manifest users %+v, %d sources", m.Users, len(m.Sources))
	}
	for _, f := range []string{"signins/interactive", "signins/noninteractive"} {
		b, err := os.ReadFile(filepath.Join(dir, f+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), `"userPrincipalName":"sōta@contoso.co.jp"`); n != 20 {
			t.Errorf("%s.jsonl: %d records carry the UPN as sent", f, n)
		}
		rows := readCSV(t, filepath.Join(dir, f+".csv"))
		if len(rows) != 21 {
			t.Fatalf("%s.csv: %d rows", f, len(rows))
		}
		for _, r := range rows[1:] {
			if r[6] != "sōta@contoso.co.jp" || r[5] != "田中 颯太" {
				t.Fatalf("%s.csv: Username %q, User %q", f, r[6], r[5])
			}
		}
	}
}

// extract unpacks a .tar.zst bundle's contents into dest.
func extract(t *testing.T, archivePath, dest string) {
	t.Helper()
	f, err := os.Open(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := archive.Extract(f, dest); err != nil {
		t.Fatal(err)
	}
}

// TestGrabAllUsersAppKinds: with --all-users, service principal and managed
// identity sign-ins are collected tenant-wide.
func TestGrabAllUsersAppKinds(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 8, AppSignIns: 250})
	ten := srv.Tenant
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--all-users", "--bundle", "dir", "--sources", "signins",
		"--signin-kinds", "serviceprincipal,managedidentity", "--page-size", "50")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	for _, k := range []struct {
		file   string
		stream graphtest.Stream
	}{{"signins/serviceprincipal.jsonl", graphtest.StreamSignInsServicePrincipal}, {"signins/managedidentity.jsonl", graphtest.StreamSignInsManagedIdentity}} {
		ids, _ := readRecords(t, filepath.Join(dir, k.file), "createdDateTime")
		truth := ten.IDs(k.stream, "", start, end)
		if len(truth) < 250 {
			t.Fatalf("%s: ground truth only %d", k.file, len(truth))
		}
		sameSet(t, k.file, ids, truth)
		stream := k.stream
		sameIDs(t, k.file+" order", ids, blockOrder(t, source(t, readManifest(t, dir), strings.ReplaceAll(strings.TrimSuffix(k.file, ".jsonl"), "/", ".")), func(_ string, a, b time.Time) []string {
			return ten.IDs(stream, "", a, b)
		}))
	}
}

// TestAuditTargetSideRefused: when the service refuses the target side's
// filter, the initiated side is still collected and every sub-window says
// the target side is missing (exit 3).
func TestAuditTargetSideRefused(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 12, AuditsPerUser: 200, RefuseTargetFilter: true})
	ten := srv.Tenant
	victim := ten.Victim()
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--bundle", "dir", "--sources", "audits")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	ids, _ := readRecords(t, filepath.Join(dir, "audits", "directory.jsonl"), "activityDateTime")
	sameSet(t, "initiated side", ids, ten.IDs(graphtest.StreamAuditsInitiated, victim.ID, start, end))
	a := source(t, readManifest(t, dir), "audits")
	if a.Status != manifest.StatusFailed || len(a.Windows) == 0 {
		t.Fatalf("audits %+v", a)
	}
	for _, w := range a.Windows {
		if w.Status != manifest.StatusFailed || !strings.Contains(w.Reason, "target side's query was refused") {
			t.Fatalf("sub-window %+v", w)
		}
	}
}

// TestGrabClampsToPremiumRetention: on P1/P2, a --since beyond 30 days is
// clamped; the lost interval is recorded for every source and the run is
// incomplete (exit 3), not silently shorter.
func TestGrabClampsToPremiumRetention(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 13, License: graphtest.LicenseP1, SignInsPerUser: 50, NonInteractivePerUser: 50, AuditsPerUser: 30})
	out := t.TempDir()
	since := fixedNow.Add(-45 * 24 * time.Hour)
	args := grabArgs(srv, out, "--user", srv.Tenant.Victim().UPN, "--bundle", "dir", "--since", since.Format(time.RFC3339))
	code, stdout, stderr := invoke(t, tokenEnv, args...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	m := readManifest(t, lastLine(stdout))
	edge := fixedNow.Add(-30 * 24 * time.Hour)
	if m.Tenant.License != "premium" || m.Requested != manifest.NewWindow(since, fixedNow) {
		t.Fatalf("licence %q, requested %+v", m.Tenant.License, m.Requested)
	}
	for _, s := range m.Sources {
		if len(s.Missing) != 1 || s.Missing[0].Window != manifest.NewWindow(since, edge) || s.Missing[0].Status != manifest.StatusClamped ||
			!strings.Contains(s.Missing[0].Reason, "30-day retention") || s.Status != manifest.StatusClamped {
			t.Errorf("%s: status %s, missing %+v", s.Name, s.Status, s.Missing)
		}
		checkCoverage(t, s, manifest.NewWindow(edge, fixedNow))
	}
	if !strings.Contains(strings.Join(m.Warnings, "\n"), "clamped: ["+manifest.FormatTime(since)) {
		t.Errorf("no clamp warning: %v", m.Warnings)
	}
}
