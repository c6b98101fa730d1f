package main

import (
	"bufio"
	"encoding/csv"
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

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
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
	if s.Counts["duplicates_dropped"] < 1 {
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
