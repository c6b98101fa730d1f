package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// traceRow is the identity of a message trace row: (trace id, recipient).
type traceRow struct{ id, recipient string }

func (r traceRow) key() string { return strings.ToLower(r.id) + " " + strings.ToLower(r.recipient) }

func readTraceRows(t *testing.T, path string) []traceRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []traceRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			ID        string `json:"id"`
			Recipient string `json:"recipientAddress"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, traceRow{r.ID, r.Recipient})
	}
	return out
}

// sameTraceRows compares the collected rows with the ground truth as sets,
// failing on a duplicate (id, recipient).
func sameTraceRows(t *testing.T, got []traceRow, want []graphtest.TraceRow) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.key()] {
			t.Fatalf("row (%s, %s) written twice", r.id, r.recipient)
		}
		seen[r.key()] = true
	}
	wantKeys := map[string]bool{}
	for _, r := range want {
		k := traceRow{r.ID, r.Recipient}.key()
		wantKeys[k] = true
		if !seen[k] {
			t.Errorf("ground-truth row (%s, %s, %s -> %s at %s) missing", r.ID, r.Subject, r.Sender, r.Recipient, r.Received)
		}
	}
	for k := range seen {
		if !wantKeys[k] {
			t.Errorf("row %s is not in the ground truth", k)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, ground truth %d", len(got), len(want))
	}
}

func victimAddrs(v graphtest.User) []string {
	return collect.MailAddresses(collect.User{Mail: v.Mail, ProxyAddresses: v.ProxyAddresses, UPN: v.UPN})
}

func sourceNamed(t *testing.T, m *manifest.Manifest, name string) manifest.Source {
	t.Helper()
	for _, s := range m.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("manifest has no source %q", name)
	return manifest.Source{}
}

func mtArgs(srv *graphtest.Server, out string, since time.Time, extra ...string) []string {
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "dir",
		"--since", since.Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
		"--sources", "messagetrace", "--budget", "messagetrace=20/100ms", "--retry-base", "1ms"}
	return append(args, extra...)
}

// TestMessageTrace90Days: a 90-day grab for the victim collects exactly the
// ground truth in both directions, for every address, in slices the
// simulated tenant accepts (it refuses any slice over 10 days, older than
// 90 days or ending in the future), paced to the budget, including the
// phishing mail to 8 recipients (8 rows, one trace id) and the mail the
// victim sent to themself and others.
func TestMessageTrace90Days(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5, MailPerUser: 120, MessageTrace: graphtest.Budget{Requests: 20, Per: 100 * time.Millisecond}})
	victim := srv.Tenant.Victim()
	start := fixedNow.Add(-collect.MessageTraceMaxAge)
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, mtArgs(srv, out, start, "--user", victim.UPN, "--page-size", "40")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	got := readTraceRows(t, filepath.Join(dir, collect.MessageTracePath))
	sameTraceRows(t, got, srv.Tenant.TraceRows(victimAddrs(victim), start, fixedNow))

	story := srv.Tenant.Story().Mail
	count := map[string]int{}
	byKey := map[string]bool{}
	for _, r := range got {
		count[r.id]++
		byKey[r.key()] = true
	}
	if n := count[story.MultiRecipient.TraceID]; n != 8 || len(story.MultiRecipient.Recipients) != 8 {
		t.Errorf("phishing mail to 8 recipients: %d rows", n)
	}
	for _, rc := range story.SelfAndOthers.Recipients {
		if !byKey[traceRow{story.SelfAndOthers.TraceID, rc}.key()] {
			t.Errorf("self-and-others mail: row for %s missing", rc)
		}
	}
	if !byKey[traceRow{story.ProxyInbound.TraceID, "v.user@contoso.com"}.key()] {
		t.Error("the mail received at the proxy address is missing")
	}

	m := readManifest(t, dir)
	s := sourceNamed(t, m, "messagetrace")
	if s.Status != manifest.StatusCollected || len(s.Missing) != 0 || s.Records != int64(len(got)) {
		t.Fatalf("source %+v", s)
	}
	if s.Duplicates < 1 {
		t.Errorf("the self-sent row comes back from both directions, yet no duplicate was dropped: %v", s.Counts)
	}
	// 9 slices x 2 addresses x 2 directions.
	if len(s.Windows) != 36 {
		t.Errorf("%d windows, want 36", len(s.Windows))
	}
	for _, w := range s.Windows {
		ws, _ := time.Parse(time.RFC3339Nano, w.Start)
		we, _ := time.Parse(time.RFC3339Nano, w.End)
		if w.Status != manifest.StatusCollected || we.Sub(ws) > collect.MessageTraceMaxSlice || ws.Before(start) || we.After(fixedNow) {
			t.Errorf("window %+v", w)
		}
	}
	if st := srv.Tenant.Stats(); st.ByStatus[400] != 0 {
		t.Errorf("the tenant refused %d requests", st.ByStatus[400])
	}
	checkPacing(t, dir, "messagetrace", 20, 100*time.Millisecond)

	rows := readCSV(t, filepath.Join(dir, "messagetrace/traces.csv"))
	want := []string{"Received (UTC)", "Sender", "Recipient", "Subject", "Status", "Size", "MessageId", "FromIP", "ToIP", "Direction", "MessageTraceId"}
	if strings.Join(rows[0], "|") != strings.Join(want, "|") {
		t.Fatalf("CSV header %q", rows[0])
	}
	dirs := map[string]string{}
	for _, r := range rows[1:] {
		dirs[strings.ToLower(r[10]+" "+r[2])] = r[9]
	}
	if d := dirs[strings.ToLower(story.SelfAndOthers.TraceID+" "+victim.Mail)]; d != "sent+received" {
		t.Errorf("self-sent row direction %q", d)
	}
	if d := dirs[strings.ToLower(story.MultiRecipient.TraceID+" "+story.MultiRecipient.Recipients[0])]; d != "sent" {
		t.Errorf("phishing row direction %q", d)
	}
	if d := dirs[strings.ToLower(story.ProxyInbound.TraceID+" v.user@contoso.com")]; d != "received" {
		t.Errorf("proxy row direction %q", d)
	}
}

// TestMessageTrace120Days: asking for 120 days collects the 90 the API
// allows, records the 30 lost days as clamped and exits 3.
func TestMessageTrace120Days(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 6, MailPerUser: 60, MessageTrace: graphtest.Budget{Requests: 20, Per: 100 * time.Millisecond}})
	victim := srv.Tenant.Victim()
	since := fixedNow.Add(-120 * 24 * time.Hour)
	limit := fixedNow.Add(-collect.MessageTraceMaxAge)
	code, stdout, stderr := invoke(t, tokenEnv, mtArgs(srv, t.TempDir(), since, "--user", victim.UPN)...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want %d\n%s", code, ExitIncomplete, stderr)
	}
	dir := lastLine(stdout)
	sameTraceRows(t, readTraceRows(t, filepath.Join(dir, collect.MessageTracePath)), srv.Tenant.TraceRows(victimAddrs(victim), limit, fixedNow))
	m := readManifest(t, dir)
	if m.Complete {
		t.Error("manifest says complete")
	}
	s := sourceNamed(t, m, "messagetrace")
	if len(s.Missing) != 1 {
		t.Fatalf("missing %+v", s.Missing)
	}
	g := s.Missing[0]
	if g.Status != manifest.StatusClamped || g.Start != manifest.FormatTime(since) || g.End != manifest.FormatTime(limit) || !strings.Contains(g.Reason, "90-day") {
		t.Errorf("gap %+v, want clamped [%s, %s)", g, manifest.FormatTime(since), manifest.FormatTime(limit))
	}
	if s.Status != manifest.StatusClamped {
		t.Errorf("source status %q", s.Status)
	}
	sort.Slice(s.Windows, func(i, j int) bool { return s.Windows[i].Start < s.Windows[j].Start })
	if s.Windows[0].Start != manifest.FormatTime(limit) {
		t.Errorf("oldest window starts %s, want %s", s.Windows[0].Start, manifest.FormatTime(limit))
	}
}

// TestMessageTraceNoServicePrincipal: a tenant without the message trace
// app's service principal answers 401; that is not a credential failure:
// the other sources are collected, message trace is recorded unavailable
// with the command that fixes it, and the exit code is 3.
func TestMessageTraceNoServicePrincipal(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 2, NoMessageTraceSP: true})
	victim := srv.Tenant.Victim()
	code, stdout, stderr := invoke(t, tokenEnv, mtArgs(srv, t.TempDir(), fixedNow.Add(-30*24*time.Hour),
		"--user", victim.UPN, "--sources", "audits")...) // --sources adds to mtArgs' messagetrace
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want %d\n%s", code, ExitIncomplete, stderr)
	}
	m := readManifest(t, lastLine(stdout))
	if a := sourceNamed(t, m, "audits"); a.Status != manifest.StatusCollected || a.Records == 0 {
		t.Errorf("audits %+v", a)
	}
	s := sourceNamed(t, m, "messagetrace")
	if s.Status != manifest.StatusUnavailable || !strings.Contains(s.Reason, "New-MgServicePrincipal -AppId "+collect.MessageTraceAppID) {
		t.Errorf("messagetrace status %q reason %q", s.Status, s.Reason)
	}
	if len(s.Missing) != 1 || s.Missing[0].Status != manifest.StatusUnavailable || s.Missing[0].Start != m.Requested.Start || s.Missing[0].End != m.Requested.End {
		t.Errorf("missing %+v", s.Missing)
	}
	if !strings.Contains(stderr, "New-MgServicePrincipal") {
		t.Errorf("stderr does not tell the fix:\n%s", stderr)
	}
}

// TestMessageTraceDetails: --trace-details fetches the delivery details of
// every mail sent outside the tenant when they fit one budget window, and
// says how many it skipped when they do not.
func TestMessageTraceDetails(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3, MailPerUser: -1})
	victim := srv.Tenant.Victim()
	story := srv.Tenant.Story().Mail
	// The story's outbound rows to other domains: 8 + 12 + 2 + 3.
	const external = 25
	since := fixedNow.Add(-10 * 24 * time.Hour)

	code, stdout, stderr := invoke(t, tokenEnv, mtArgs(srv, t.TempDir(), since, "--user", victim.UPN, "--trace-details", "--budget", "messagetrace=40/100ms")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	s := sourceNamed(t, readManifest(t, dir), "messagetrace")
	if s.Counts["details_of_interest"] != external || s.Counts["details_fetched"] != external || s.Counts["details_skipped_budget"] != 0 {
		t.Fatalf("counts %v", s.Counts)
	}
	rows := readCSV(t, filepath.Join(dir, "messagetrace/details.csv"))
	recips := map[string]bool{}
	for _, r := range rows[1:] {
		recips[strings.ToLower(r[len(r)-1])] = true
	}
	for _, rc := range story.MultiRecipient.Recipients {
		if !recips[strings.ToLower(rc)] {
			t.Errorf("no details for phishing recipient %s", rc)
		}
	}
	if recips[strings.ToLower(victim.Mail)] {
		t.Error("details fetched for an internal recipient")
	}
	if n := len(readIDs(t, filepath.Join(dir, collect.MessageTraceDetailsPath))); n < 2*external || int64(n) != s.Counts["details_records"] {
		t.Errorf("%d detail records, counts %v", n, s.Counts)
	}

	// A budget of 10 per window: 10 fetched, 15 skipped, exit 3.
	code, stdout, stderr = invoke(t, tokenEnv, mtArgs(srv, t.TempDir(), since, "--user", victim.UPN, "--trace-details", "--budget", "messagetrace=10/50ms")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	s = sourceNamed(t, readManifest(t, lastLine(stdout)), "messagetrace")
	if s.Counts["details_fetched"] != 10 || s.Counts["details_skipped_budget"] != external-10 {
		t.Fatalf("counts %v", s.Counts)
	}
	last := s.Missing[len(s.Missing)-1]
	if last.Scope != "details" || last.Status != manifest.StatusFailed || !strings.Contains(last.Reason, "15 of 25") {
		t.Errorf("gap %+v", last)
	}
	if code, _, _ := invoke(t, tokenEnv, grabArgs(srv, t.TempDir(), "--user", victim.UPN, "--trace-details", "--sources", "audits")...); code != ExitUsage {
		t.Errorf("--trace-details without messagetrace: exit %d", code)
	}
}

// TestMessageTraceFaultsSameBytes: 5xx, resets, truncated bodies and 429
// storms on the message trace endpoint change nothing in the evidence.
func TestMessageTraceFaultsSameBytes(t *testing.T) {
	cfg := graphtest.Config{Seed: 8, MailPerUser: 80, MessageTrace: graphtest.Budget{Requests: 20, Per: 100 * time.Millisecond}}
	clean := newSim(t, cfg)
	cfg.Faults = graphtest.Faults{Rate5xx: 0.1, RateReset: 0.05, RateTruncate: 0.05, Storm429: 0.05, StormLength: 3, Seed: 2}
	faulty := newSim(t, cfg)
	user := clean.Tenant.Victim().UPN
	since := fixedNow.Add(-40 * 24 * time.Hour)
	codeA, outA, errA := invoke(t, tokenEnv, mtArgs(clean, t.TempDir(), since, "--user", user, "--page-size", "30")...)
	codeB, outB, errB := invoke(t, tokenEnv, mtArgs(faulty, t.TempDir(), since, "--user", user, "--page-size", "30", "--max-attempts", "20")...)
	if codeA != ExitOK || codeB != ExitOK {
		t.Fatalf("clean exit %d, faulty exit %d\n%s\n%s", codeA, codeB, errA, errB)
	}
	if st := faulty.Tenant.Stats().Faults; st.Status5xx+st.Reset+st.Truncate+st.Storm429 == 0 {
		t.Fatalf("no fault injected: %+v", st)
	}
	for _, f := range []string{collect.MessageTracePath, "messagetrace/traces.csv"} {
		a, err := os.ReadFile(filepath.Join(lastLine(outA), f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(lastLine(outB), f))
		if err != nil {
			t.Fatal(err)
		}
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s differs between the clean and the faulty run", f)
		}
	}
}
