package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// fixedNow is the simulated tenant's clock in tests: every run sees the same
// data, so runs can be compared byte for byte.
var fixedNow = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

const testToken = "test-token-9f8e7d6c5b4a39281706f5e4d3c2b1a0"

// invoke runs the CLI in-process and returns exit code, stdout and stderr.
func invoke(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func newSim(t *testing.T, cfg graphtest.Config) *graphtest.Server {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Now.IsZero() {
		cfg.Now = fixedNow
	}
	srv, err := graphtest.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { failOnViolations(t, srv) })
	return srv
}

// failOnViolations fails the test when the tool sent a request that breaks
// the documented Graph contract (collect/catalog): the strict simulator
// answered it like Graph and recorded it.
func failOnViolations(t testing.TB, srv *graphtest.Server) {
	t.Helper()
	for _, v := range srv.Tenant.Violations() {
		t.Errorf("request breaks the documented Graph contract: %s", v)
	}
}

// grabArgs is a grab over [fixedNow-30d, fixedNow) against srv, scaled for
// tests: budgets of 5 requests per 20 ms, retries starting at 1 ms. Its
// sources are signins and audits unless extra names --sources (grab's own
// default, every source, is TestGrabDefaultSources's).
func grabArgs(srv *graphtest.Server, out string, extra ...string) []string {
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out,
		"--since", fixedNow.Add(-30 * 24 * time.Hour).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
		"--budget", "reports=5/20ms", "--retry-base", "1ms"}
	if !slices.ContainsFunc(extra, func(a string) bool { return a == "--sources" || strings.HasPrefix(a, "--sources=") }) {
		args = append(args, "--sources", "signins,audits")
	}
	return append(args, extra...)
}

var tokenEnv = map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func readIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: invalid JSON line: %v", path, err)
		}
		ids = append(ids, r.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func readManifest(t *testing.T, dir string) *manifest.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, manifest.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// checkPacing proves the client kept the budget: in requests.jsonl, the
// attempts of one budget class never hold more than n sends in any sliding
// window of length per (1 ms of slack for clock reads).
func checkPacing(t *testing.T, dir, class string, n int, per time.Duration) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, manifest.RequestsName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sent []time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			Time   string `json:"time"`
			Budget string `json:"budget"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Budget != class {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, ts)
	}
	sort.Slice(sent, func(i, j int) bool { return sent[i].Before(sent[j]) })
	if len(sent) <= n {
		t.Fatalf("only %d %s requests: the budget was never tested", len(sent), class)
	}
	for i := n; i < len(sent); i++ {
		if gap := sent[i].Sub(sent[i-n]); gap < per-time.Millisecond {
			t.Fatalf("%s requests %d..%d were sent within %v: more than %d per %v", class, i-n, i, gap, n, per)
		}
	}
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d records, ground truth %d", what, len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range got {
		if seen[got[i]] {
			t.Fatalf("%s: duplicate record %s", what, got[i])
		}
		seen[got[i]] = true
		if got[i] != want[i] {
			t.Fatalf("%s: record %d is %s, ground truth %s (order as Graph returned)", what, i, got[i], want[i])
		}
	}
}

// TestDemo: the newcomer's command works, and the bundle verifies with
// evidence and with stock tools.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := invoke(t, nil, "demo", "--out", out)
	if code != ExitOK {
		t.Fatalf("demo exit %d\n%s", code, stderr)
	}
	path := lastLine(stdout)
	if !strings.HasSuffix(path, ".tar.zst") || !strings.HasPrefix(filepath.Base(path), "evidence-") {
		t.Fatalf("last stdout line %q is not the bundle", path)
	}
	if code, out, _ := invoke(t, nil, "verify", path); code != ExitOK {
		t.Fatalf("verify exit %d: %s", code, out)
	}
	dest := t.TempDir()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := archive.Extract(f, dest); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sha256sum", "-c", "--strict", manifest.SumsName)
	cmd.Dir = dest
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, b)
	}
	m := readManifest(t, dest)
	// Every source: four sign-in kinds, audits, ual, messagetrace, snapshot, tenant, signals, workspace.
	if !m.Complete || len(m.Sources) != 11 {
		t.Fatalf("demo manifest: complete=%v sources=%d", m.Complete, len(m.Sources))
	}
	// The seeded attacker sign-ins are in the bundle.
	b, err := os.ReadFile(filepath.Join(dest, "signins", "interactive.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(`"185.220.101.47"`)); n < 4 {
		t.Fatalf("expected the 4 seeded attacker sign-ins, found %d", n)
	}
}

// TestGrabMatchesGroundTruth: several pages under a throttling budget give
// exactly the simulated tenant's records, in order, without duplicates.
func TestGrabMatchesGroundTruth(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 7, SignInsPerUser: 4500, AuditsPerUser: 900, Reports: graphtest.Budget{Requests: 5, Per: 100 * time.Millisecond}})
	out := t.TempDir()
	victim := srv.Tenant.Victim()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--bundle", "dir", "--page-size", "500", "--budget", "reports=5/100ms", "--split", "0", "--max-pages", "0")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	sameIDs(t, "sign-ins", readIDs(t, filepath.Join(dir, "signins", "interactive.jsonl")), srv.Tenant.IDs(graphtest.StreamSignIns, victim.ID, start, end))
	sameSet(t, "audits", readIDs(t, filepath.Join(dir, "audits", "directory.jsonl")), auditTruth(srv.Tenant, victim.ID, start, end))
	m := readManifest(t, dir)
	checkPacing(t, dir, "reports", 5, 100*time.Millisecond)
	if len(m.Users) != 1 || m.Users[0].ID != victim.ID || m.Users[0].UPN != victim.UPN {
		t.Errorf("manifest users %+v", m.Users)
	}
	// Every source is complete and its windows account for every record
	// written (sources with several scopes, e.g. service principal sign-ins
	// per app, have one window per scope).
	for _, s := range m.Sources {
		var recs int64
		for _, w := range s.Windows {
			recs += w.Records
			if w.Status != manifest.StatusCollected {
				t.Errorf("%s window %+v not collected", s.Name, w)
			}
		}
		if s.Status != manifest.StatusCollected || len(s.Windows) == 0 || recs-s.Duplicates != s.Records {
			t.Errorf("source accounting %s: status %s, %d windows, %d records in windows, %d duplicates, %d records",
				s.Name, s.Status, len(s.Windows), recs, s.Duplicates, s.Records)
		}
	}
}

// TestFaultsGiveSameBytes: 5xx, resets, truncated bodies and 429 storms
// change nothing in the evidence.
func TestFaultsGiveSameBytes(t *testing.T) {
	cfg := graphtest.Config{Seed: 11, SignInsPerUser: 3000, AuditsPerUser: 1500, Reports: graphtest.Budget{Requests: 5, Per: 20 * time.Millisecond}}
	clean := newSim(t, cfg)
	// Fault seed 2 draws every fault kind within the first requests (seed 3,
	// for one, truncates nothing before draw 122); the check below keeps this
	// premise honest.
	cfg.Faults = graphtest.Faults{Rate5xx: 0.10, RateReset: 0.05, RateTruncate: 0.05, Storm429: 0.05, StormLength: 4, Seed: 2}
	faulty := newSim(t, cfg)
	user := clean.Tenant.Victim().UPN

	outA, outB := t.TempDir(), t.TempDir()
	codeA, stdoutA, errA := invoke(t, tokenEnv, grabArgs(clean, outA, "--user", user, "--bundle", "dir", "--page-size", "50")...)
	codeB, stdoutB, errB := invoke(t, tokenEnv, grabArgs(faulty, outB, "--user", user, "--bundle", "dir", "--page-size", "50", "--max-attempts", "20")...)
	if codeA != ExitOK || codeB != ExitOK {
		t.Fatalf("clean exit %d, faulty exit %d\n%s\n%s", codeA, codeB, errA, errB)
	}
	st := faulty.Tenant.Stats()
	if st.Faults.Status5xx == 0 || st.Faults.Reset == 0 || st.Faults.Truncate == 0 || st.Faults.Storm429 == 0 {
		t.Fatalf("fault injection did not happen: %+v", st.Faults)
	}
	for _, f := range []string{"signins/interactive.jsonl", "audits/directory.jsonl", "signins/interactive.csv", "audits/directory.csv"} {
		a, err := os.ReadFile(filepath.Join(lastLine(stdoutA), f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(lastLine(stdoutB), f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the clean and the faulty run", f)
		}
	}
	m := readManifest(t, lastLine(stdoutB))
	if m.Requests.Retries == 0 {
		t.Errorf("faulty run recorded no retries: %+v", m.Requests)
	}
}

// TestRetryAfterZeroStormLosesNothing: 429 storms answered "Retry-After: 0"
// that last longer than eight attempts' backoff with full jitter (at most
// 127 ms with --retry-base 1ms) are outlasted at the default attempts,
// because the last attempt waits until the minimum span (120 × the base)
// has passed: the records are those of a run without a storm.
func TestRetryAfterZeroStormLosesNothing(t *testing.T) {
	cfg := graphtest.Config{Seed: 11, SignInsPerUser: 200, AuditsPerUser: 100}
	clean := newSim(t, cfg)
	cfg.Faults = graphtest.Faults{Storm429: 0.3, StormFor: 100 * time.Millisecond, Seed: 4}
	stormy := newSim(t, cfg)
	user := clean.Tenant.Victim().UPN
	args := []string{"--user", user, "--bundle", "dir", "--page-size", "50"}
	codeA, stdoutA, errA := invoke(t, tokenEnv, grabArgs(clean, t.TempDir(), args...)...)
	codeB, stdoutB, errB := invoke(t, tokenEnv, grabArgs(stormy, t.TempDir(), args...)...)
	if codeA != ExitOK || codeB != ExitOK {
		t.Fatalf("clean exit %d, stormy exit %d\n%s\n%s", codeA, codeB, errA, errB)
	}
	if st := stormy.Tenant.Stats().Faults; st.Storms == 0 || st.Storm429 == 0 {
		t.Fatalf("no storm came: %+v", st)
	}
	sameRecords(t, lastLine(stdoutA), lastLine(stdoutB), clean.URL, stormy.URL)
}

// readCSV reads a CSV view the tool wrote (UTF-8 BOM stripped).
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestOrganizationRefusedStillCollects: an app without Organization.Read.All
// gets 403 on /organization; the evidence is still collected and sealed,
// with the missing tenant identity in the manifest's warnings.
func TestOrganizationRefusedStillCollects(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3})
	u, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/organization") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer ps.Close()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(&graphtest.Server{URL: ps.URL, Tenant: srv.Tenant}, t.TempDir(),
		"--user", "victim@contoso.com", "--bundle", "dir", "--sources", "audits")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "Organization.Read.All") {
		t.Fatalf("no warning on stderr:\n%s", stderr)
	}
	m := readManifest(t, lastLine(stdout))
	if m.Tenant.ID != "" || len(m.Sources) != 1 || m.Sources[0].Records == 0 || !strings.Contains(strings.Join(m.Warnings, "\n"), "/organization was refused") {
		t.Fatalf("manifest tenant %+v, sources %d, warnings %q", m.Tenant, len(m.Sources), m.Warnings)
	}
}
