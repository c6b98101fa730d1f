package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// ualArgs is a grab of the victim's unified audit log over the d before
// fixedNow, scaled for tests (queries polled every few ms).
func ualArgs(srv *graphtest.Server, out string, d time.Duration, extra ...string) []string {
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "dir",
		"--since", fixedNow.Add(-d).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
		"--budget", "reports=5/20ms", "--retry-base", "1ms", "--sources", "ual", "--ual-poll", "5ms",
		"--user", srv.Tenant.Victim().UPN}
	return append(args, extra...)
}

func sameIDSet(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, ground truth %d", len(got), len(want))
	}
	g := append([]string(nil), got...)
	w := append([]string(nil), want...)
	sort.Strings(g)
	sort.Strings(w)
	for i := range g {
		if i > 0 && g[i] == g[i-1] {
			t.Fatalf("record %s written twice", g[i])
		}
		if g[i] != w[i] {
			t.Fatalf("records differ from the ground truth at %s / %s", g[i], w[i])
		}
	}
}

func ualSource(t *testing.T, m *manifest.Manifest) manifest.Source {
	t.Helper()
	for _, s := range m.Sources {
		if s.Name == "ual" {
			return s
		}
	}
	t.Fatal("no ual source in the manifest")
	return manifest.Source{}
}

// TestUAL300k: 90 days holding 300,000 records for the victim, with the
// service's record limit scaled down to 50,000, are collected exactly
// (ground-truth ids, no duplicates), the window split as needed and the
// queries running concurrently.
func TestUAL300k(t *testing.T) {
	if testing.Short() {
		t.Skip("300,000-record test skipped with -short")
	}
	srv := newSim(t, graphtest.Config{Seed: 31, SignInsPerUser: 10, AuditsPerUser: 10,
		UAL: graphtest.UAL{RecordsPerUser: 100000, RecordLimit: 50000, QueryDelay: 50 * time.Millisecond}})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, ualArgs(srv, out, 90*24*time.Hour)...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	want := srv.Tenant.UALIDs(srv.Tenant.Victim().UPN, fixedNow.Add(-90*24*time.Hour), fixedNow)
	if len(want) < 300000 {
		t.Fatalf("ground truth holds only %d records", len(want))
	}
	sameIDSet(t, readIDs(t, filepath.Join(dir, "ual", "records.jsonl")), want)
	m := readManifest(t, dir)
	s := ualSource(t, m)
	st := srv.Tenant.UALStats()
	t.Logf("%d records, %d queries submitted (%d split), %d windows, at most %d queries at once, %d pages", s.Records, s.Submissions, len(s.Superseded), len(s.Windows), st.MaxActive, st.Pages)
	if s.Records != int64(len(want)) || len(s.Superseded) == 0 || st.MaxActive < 2 || int64(st.Created) != s.Submissions {
		t.Fatalf("accounting: %d records, %d superseded, max %d at once, %d created vs %d submissions", s.Records, len(s.Superseded), st.MaxActive, st.Created, s.Submissions)
	}
	if !strings.Contains(stderr, "queries_submitted=") {
		t.Errorf("stderr does not say how many queries were submitted")
	}
	if _, err := os.Stat(filepath.Join(out, "."+filepath.Base(dir)+".resume")); !os.IsNotExist(err) {
		t.Errorf("the resume state was not removed after sealing: %v", err)
	}
}

// TestUALFailedQueryIncomplete: a query that fails makes exactly its window
// incomplete (exit 3, sources[].missing names it with the query id); the
// bundle verifies.
func TestUALFailedQueryIncomplete(t *testing.T) {
	start := fixedNow.Add(-8 * 24 * time.Hour)
	failAt := start.Add(3 * 24 * time.Hour) // inside the second of four 2-day windows
	srv := newSim(t, graphtest.Config{Seed: 32, UAL: graphtest.UAL{RecordsPerUser: 500, FailAt: []time.Time{failAt}}})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, ualArgs(srv, out, 8*24*time.Hour, "--ual-windows", "4")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	s := ualSource(t, readManifest(t, dir))
	wantGap := manifest.NewWindow(start.Add(2*24*time.Hour), start.Add(4*24*time.Hour))
	if len(s.Missing) != 1 || s.Missing[0].Window != wantGap || s.Missing[0].Status != manifest.StatusFailed {
		t.Fatalf("missing %+v, want exactly %v", s.Missing, wantGap)
	}
	var failedID string
	for _, w := range s.Windows {
		if w.Window == wantGap {
			failedID = w.QueryID
		} else if w.Status != manifest.StatusCollected {
			t.Errorf("window %v: %s", w.Window, w.Status)
		}
	}
	if failedID == "" || !strings.Contains(s.Missing[0].Reason, failedID) {
		t.Errorf("the gap's reason %q does not name query %q", s.Missing[0].Reason, failedID)
	}
	if code, vout, _ := invoke(t, nil, "verify", dir); code != ExitOK {
		t.Fatalf("verify exit %d: %s", code, vout)
	}
	if _, err := os.Stat(filepath.Join(out, "."+filepath.Base(dir)+".resume")); !os.IsNotExist(err) {
		t.Errorf("a sealed bundle's resume state was kept")
	}
}

// TestUALFreeTierSignIns: on a tenant without Entra ID P1/P2 the sign-in
// source is unavailable, and the unified audit log's sign-in events are
// written additionally as signins/from-ual.jsonl; the manifest says so.
func TestUALFreeTierSignIns(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 33, License: graphtest.LicenseFree, UAL: graphtest.UAL{RecordsPerUser: 600}})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, ualArgs(srv, out, 30*24*time.Hour, "--sources", "ual,signins", "--preset", "mailbox-takeover")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want 3 (sign-ins unavailable)\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	if m.Sources[0].Name != "signins.interactive" || m.Sources[0].Status != manifest.StatusUnavailable {
		t.Fatalf("sources %+v", m.Sources)
	}
	b, err := os.ReadFile(filepath.Join(dir, "signins", "from-ual.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	attacker := 0
	for _, l := range lines {
		var r struct{ Operation, ClientIP string }
		json.Unmarshal([]byte(l), &r)
		if r.Operation != "UserLoggedIn" && r.Operation != "UserLoginFailed" {
			t.Fatalf("non-sign-in record in from-ual.jsonl: %s", l)
		}
		if strings.Contains(l, `"clientIp":"185.220.101.47"`) {
			attacker++
		}
	}
	if attacker != 4 {
		t.Errorf("%d attacker sign-in events, want 4 (3 failed, 1 successful)", attacker)
	}
	found := false
	for _, w := range m.Warnings {
		found = found || strings.Contains(w, "signins/from-ual.jsonl")
	}
	if !found {
		t.Errorf("manifest warnings do not mention signins/from-ual.jsonl: %q", m.Warnings)
	}
	rec, _ := os.ReadFile(filepath.Join(dir, "ual", "records.jsonl"))
	if !strings.Contains(string(rec), `"operation":"New-InboxRule"`) || strings.Contains(string(rec), `"operation":"FileAccessed"`) {
		t.Errorf("the mailbox-takeover preset was not applied")
	}
}

// TestUALKillAndResume: a grab killed (SIGKILL) while reading records,
// then `grab --resume OUT`, ends with the same records as an uninterrupted
// run, re-using the queries the killed run had created (counted on the
// simulated service).
func TestUALKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess kill test skipped with -short")
	}
	bin := buildBinary(t)
	cfg := graphtest.Config{Seed: 34, SignInsPerUser: 10, AuditsPerUser: 10,
		UAL: graphtest.UAL{RecordsPerUser: 6000, MaxPageSize: 100, Reads: graphtest.Budget{Requests: 10, Per: 50 * time.Millisecond}}}
	// The uninterrupted reference run.
	ref := newSim(t, cfg)
	refOut := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, ualArgs(ref, refOut, 60*24*time.Hour, "--ual-page-size", "100", "--budget", "auditread=10/50ms")...)
	if code != ExitOK {
		t.Fatalf("reference run exit %d\n%s", code, stderr)
	}
	refIDs := readIDs(t, filepath.Join(lastLine(stdout), "ual", "records.jsonl"))
	refCreated := ref.Tenant.UALStats().Created

	srv := newSim(t, cfg)
	out := t.TempDir()
	cmd := exec.Command(bin, ualArgs(srv, out, 60*24*time.Hour, "--ual-page-size", "100", "--budget", "auditread=10/50ms")...)
	cmd.Env = append(os.Environ(), "EVIDENCE_GRAPH_TOKEN="+testToken)
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some pages are read and at least one query is done,
	// but not all.
	deadline := time.Now().Add(60 * time.Second)
	killed := false
	for time.Now().Before(deadline) && !killed {
		time.Sleep(5 * time.Millisecond)
		st := readState(t, out)
		if st == nil {
			continue
		}
		done, paging := 0, 0
		for _, tk := range st.Tasks {
			switch {
			case tk.State == "done":
				done++
			case tk.State == "paging" && tk.Pages > 0:
				paging++
			}
		}
		if done >= 1 && paging >= 1 {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the grab finished or stalled before it could be killed\n%s", errb.String())
	}
	createdBefore := srv.Tenant.UALStats().Created
	code, stdout, stderr = invoke(t, tokenEnv, "grab", "--resume", out)
	if code != ExitOK {
		t.Fatalf("resume exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	sameIDSet(t, readIDs(t, filepath.Join(dir, "ual", "records.jsonl")), refIDs)
	st := srv.Tenant.UALStats()
	s := ualSource(t, readManifest(t, dir))
	t.Logf("reference created %d queries; killed run %d, resumed run %d more, %d re-used", refCreated, createdBefore, st.Created-createdBefore, s.Reused)
	if st.Created != refCreated || s.Reused == 0 || int64(st.Created-createdBefore) != s.Submissions {
		t.Fatalf("queries created: %d in all (reference %d), resumed run submitted %d and re-used %d", st.Created, refCreated, s.Submissions, s.Reused)
	}
	if matches, _ := filepath.Glob(filepath.Join(out, ".evidence-*")); len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
}

type stateProbe struct {
	Tasks []struct {
		State string `json:"state"`
		Pages int64  `json:"pages"`
	} `json:"tasks"`
}

func readState(t *testing.T, out string) *stateProbe {
	found, _ := filepath.Glob(filepath.Join(out, ".evidence-*.resume", "ual", "ual-state.json"))
	if len(found) != 1 {
		return nil
	}
	f, err := os.Open(found[0])
	if err != nil {
		return nil
	}
	defer f.Close()
	var st stateProbe
	if json.NewDecoder(bufio.NewReader(f)).Decode(&st) != nil {
		return nil
	}
	return &st
}
