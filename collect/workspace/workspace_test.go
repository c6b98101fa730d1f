package workspace_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/collect/workspace"
	"github.com/evidence-dfir/evidence/collect/workspace/lawtest"
	"github.com/evidence-dfir/evidence/manifest"
)

const wsID = "b7d3c1a0-1111-4222-8333-444455556666"

// dirOutput writes record files under a directory with the project's
// record writer.
type dirOutput struct {
	dir   string
	files []*os.File
}

func (d *dirOutput) Open(path, _ string, cols []collect.Column) (collect.Sink, error) {
	p := filepath.Join(d.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	j, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	c, err := os.Create(record.CSVPath(p))
	if err != nil {
		return nil, err
	}
	d.files = append(d.files, j, c)
	return record.NewWriter(j, c, cols)
}

func (d *dirOutput) close() {
	for _, f := range d.files {
		f.Close()
	}
}

var (
	subject = lawtest.User{ID: "0f0e0d0c-aaaa-4bbb-8ccc-000000000001", UPN: "alice@contoso.example"}
	other   = lawtest.User{ID: "0f0e0d0c-aaaa-4bbb-8ccc-000000000002", UPN: "bob@contoso.example"}
	start   = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	end     = start.Add(90 * 24 * time.Hour)
)

func setup(t *testing.T, rowLimit int) *lawtest.Server {
	t.Helper()
	s := lawtest.New(wsID, "token-for-the-test")
	t.Cleanup(s.Close)
	s.RowLimit = rowLimit
	lawtest.Seed(s, 21, []lawtest.User{subject, other}, start, end, map[string]int{
		"SigninLogs": 700, "AADNonInteractiveUserSignInLogs": 1300, "AADServicePrincipalSignInLogs": 40, "AADManagedIdentitySignInLogs": 30,
		"AuditLogs": 150, "MicrosoftGraphActivityLogs": 900, "AADRiskyUsers": 3, "AADUserRiskEvents": 20, "OfficeActivity": 400,
	})
	return s
}

func source(s *lawtest.Server) *workspace.Source {
	return &workspace.Source{Opt: workspace.Options{WorkspaceID: wsID, Credential: collect.StaticToken("token-for-the-test"),
		Endpoint: s.Endpoint(), Transport: s.Client(), RetryDelay: 10 * time.Millisecond}}
}

func perUserJob() collect.Job {
	return collect.Job{Window: collect.Window{Start: start, End: end}, Users: []collect.User{{Requested: subject.UPN, ID: subject.ID, UPN: subject.UPN}},
		Split: &collect.Splitting{}} // the whole 90 days in one first query per table
}

// expected is the seeded ground truth of the asked window for upn.
func expected(t *testing.T, s *lawtest.Server, table, upn string) []string {
	t.Helper()
	return s.Truth(table, upn, start, end)
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestPerUserGrabOverRowLimit is the acceptance: a 90-day per-user
// grab whose tables exceed the per-query row limit collects every row of
// the subject once (equal to the seeded ground truth), records every query
// the service answered, and is complete.
func TestPerUserGrabOverRowLimit(t *testing.T) {
	s := setup(t, 250)
	src := source(s)
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, perUserJob(), out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != manifest.StatusCollected {
		t.Fatalf("status %s: %s", m.Status, m.Reason)
	}
	if src.Stats.Split == 0 || s.Stats().Partial == 0 {
		t.Fatalf("no window was split (stats %+v, server %+v): the test does not exceed the row limit", src.Stats, s.Stats())
	}
	var total int64
	for _, table := range lawtest.TableNames {
		got := lines(t, filepath.Join(out.dir, "workspace", table+".jsonl"))
		if table == "AADServicePrincipalSignInLogs" || table == "AADManagedIdentitySignInLogs" {
			if got != nil {
				t.Errorf("%s: a per-user grab wrote %d rows of a table without user columns", table, len(got))
			}
			continue
		}
		// Within a window the rows come in TimeGenerated order.
		slices.Sort(got)
		want := expected(t, s, table, subject.UPN)
		if len(want) == 0 {
			t.Fatalf("%s: no ground truth", table)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows written, %d expected (first differing shown)\n got %.300q\nwant %.300q", table, len(got), len(want), first(got, want), first(want, got))
		}
		total += int64(len(want))
	}
	if m.Records != total {
		t.Errorf("manifest records %d, ground truth %d", m.Records, total)
	}
	// Every answered query is in the manifest, as a window or superseded.
	var recorded []string
	for _, w := range append(slices.Clone(m.Windows), m.Superseded...) {
		recorded = append(recorded, w.Query)
		if w.Query == "" || w.Scope == "" {
			t.Errorf("window %v without query or scope", w.Window)
		}
	}
	served := s.Queries()
	slices.Sort(recorded)
	slices.Sort(served)
	if !slices.Equal(recorded, served) {
		t.Errorf("manifest records %d queries, the service answered %d", len(recorded), len(served))
	}
	for _, w := range m.Superseded {
		if !strings.Contains(w.Reason, "PartialError") {
			t.Errorf("superseded window %v: reason %q does not name the partial result", w.Window, w.Reason)
		}
	}
	// Values exactly as the service sent them: a long beyond float64's
	// integer range, a dynamic column as its JSON string.
	sl := lines(t, filepath.Join(out.dir, "workspace", "SigninLogs.jsonl"))
	if !strings.Contains(sl[0], `"DurationMs":9007199254740993`) || !strings.Contains(sl[0], `"LocationDetails":"{\"city\":\"Tokyo\"`) {
		t.Errorf("row not as sent: %s", sl[0])
	}
	csv, err := os.ReadFile(filepath.Join(out.dir, "workspace", "SigninLogs.csv"))
	if err != nil || !bytes.HasPrefix(csv, []byte("\ufeffTimeGenerated,UserPrincipalName")) {
		t.Errorf("CSV view: %v %.80q", err, csv)
	}
	t.Logf("queries %d (split %d, partial answers %d), rows %d", src.Stats.Queries, src.Stats.Split, src.Stats.Partial, total)
}

func first(a, b []string) string {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return a[i]
		}
	}
	return ""
}

// TestMissingTable: a workspace without MicrosoftGraphActivityLogs is
// recorded as such, and the run is still complete.
func TestMissingTable(t *testing.T) {
	s := setup(t, 500000)
	s.Omit("MicrosoftGraphActivityLogs")
	src := source(s)
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, perUserJob(), out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != manifest.StatusCollected || m.Counts["tables_missing"] != 1 {
		t.Fatalf("status %s, counts %v", m.Status, m.Counts)
	}
	found := false
	for _, w := range m.Windows {
		if w.Scope == "MicrosoftGraphActivityLogs" {
			found = true
			if !strings.Contains(w.Reason, "does not exist in the workspace") || !strings.Contains(w.Reason, "Failed to resolve table") || w.Records != 0 {
				t.Errorf("missing table recorded as %+v", w)
			}
			if w.Start != manifest.FormatTime(start) || w.End != manifest.FormatTime(end) {
				t.Errorf("missing table's window %v, want the whole asked window", w.Window)
			}
		}
	}
	if !found || !slices.ContainsFunc(src.Warnings(), func(s string) bool { return strings.Contains(s, "MicrosoftGraphActivityLogs does not exist") }) {
		t.Errorf("missing table not recorded: windows %v warnings %v", m.Windows, src.Warnings())
	}
	if _, err := os.Stat(filepath.Join(out.dir, "workspace", "MicrosoftGraphActivityLogs.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a file was written for the missing table: %v", err)
	}
	if n := len(lines(t, filepath.Join(out.dir, "workspace", "SigninLogs.jsonl"))); n != len(expected(t, s, "SigninLogs", subject.UPN)) {
		t.Errorf("SigninLogs: %d rows", n)
	}
}

// TestThrottled: past the request budget the service answers 429 with
// Retry-After; the client waits and every row still arrives.
func TestThrottled(t *testing.T) {
	s := setup(t, 500000)
	s.Budget, s.Period = 3, time.Second
	src := source(s)
	src.Opt.Tables = []string{"SigninLogs", "OfficeActivity", "AADUserRiskEvents"}
	job := perUserJob()
	job.Split = &collect.Splitting{Every: 30 * 24 * time.Hour}
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, job, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != manifest.StatusCollected {
		t.Fatalf("status %s: %s", m.Status, m.Reason)
	}
	if s.Stats().Throttled == 0 || src.Stats.Throttled != int64(s.Stats().Throttled) {
		t.Fatalf("throttled: service %d, collector %d", s.Stats().Throttled, src.Stats.Throttled)
	}
	for _, table := range src.Opt.Tables {
		got := lines(t, filepath.Join(out.dir, "workspace", table+".jsonl"))
		slices.Sort(got)
		if !slices.Equal(got, expected(t, s, table, subject.UPN)) {
			t.Errorf("%s: %d rows", table, len(got))
		}
	}
}

// TestPartialNotTaken: when even the smallest window comes back partial,
// the window is failed with the service's reason, never taken as complete.
func TestPartialNotTaken(t *testing.T) {
	s := setup(t, 1)
	src := source(s)
	src.Opt.Tables = []string{"SigninLogs"}
	src.Opt.MinWindow = 45 * 24 * time.Hour
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, perUserJob(), out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != manifest.StatusFailed || !strings.Contains(m.Reason, "cannot be split") || !strings.Contains(m.Reason, "record count limit") {
		t.Fatalf("status %s: %s", m.Status, m.Reason)
	}
	for _, w := range m.Windows {
		if w.Status == manifest.StatusFailed && w.Records != 0 {
			t.Errorf("failed window counts %d records", w.Records)
		}
	}
}

// TestAllUsers reads the service principal and managed identity sign-ins
// too, and every user's rows.
func TestAllUsers(t *testing.T) {
	s := setup(t, 500000)
	src := source(s)
	src.Opt.Tables = []string{"AADServicePrincipalSignInLogs", "AuditLogs"}
	job := perUserJob()
	job.Users, job.AllUsers = nil, true
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, job, out)
	out.close()
	if err != nil || m.Status != manifest.StatusCollected {
		t.Fatalf("%v %s %s", err, m.Status, m.Reason)
	}
	for _, table := range src.Opt.Tables {
		got := lines(t, filepath.Join(out.dir, "workspace", table+".jsonl"))
		slices.Sort(got)
		if want := expected(t, s, table, "*"); !slices.Equal(got, want) {
			t.Errorf("%s: %d rows, want %d", table, len(got), len(want))
		}
	}
}

// TestRefusedToken: a token the service refuses ends the run.
func TestRefusedToken(t *testing.T) {
	s := setup(t, 500000)
	src := source(s)
	src.Opt.Credential = collect.StaticToken("wrong")
	_, err := src.Collect(context.Background(), nil, perUserJob(), &dirOutput{dir: t.TempDir()})
	var fe *collect.FatalError
	if err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "Authorization") {
		t.Fatalf("err %v", err)
	}
	_ = fe
}

// TestOutsideWindowKeptApart: rows a faulty service returns outside the
// asked window are never mixed with the subject's: they go to the table's
// out-of-scope file and make the source incomplete.
func TestOutsideWindowKeptApart(t *testing.T) {
	s := setup(t, 500000)
	s.Leak = 6 * time.Hour
	src := source(s)
	src.Opt.Tables = []string{"SigninLogs"}
	job := perUserJob()
	job.Split = &collect.Splitting{Every: 7 * 24 * time.Hour}
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, job, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	got := lines(t, filepath.Join(out.dir, "workspace", "SigninLogs.jsonl"))
	slices.Sort(got)
	if !slices.Equal(got, expected(t, s, "SigninLogs", subject.UPN)) {
		t.Errorf("SigninLogs: %d rows, want %d", len(got), len(expected(t, s, "SigninLogs", subject.UPN)))
	}
	oos := lines(t, filepath.Join(out.dir, "workspace", "SigninLogs"+manifest.OutOfScopeSuffix))
	if len(oos) == 0 || m.OutOfScope != int64(len(oos)) || !slices.Contains(m.Files, "workspace/SigninLogs"+manifest.OutOfScopeSuffix) {
		t.Fatalf("out of scope: %d rows in the file, manifest %d, files %v", len(oos), m.OutOfScope, m.Files)
	}
	mm := manifest.Manifest{Sources: []manifest.Source{m}}
	if !mm.Incomplete() {
		t.Error("rows outside the window did not make the source incomplete")
	}
}

// TestByteLimit: an answer cut at the service's size limit is split like
// one cut at the row limit, and every row still arrives once.
func TestByteLimit(t *testing.T) {
	s := setup(t, 500000)
	s.ByteLimit = 64 << 10
	src := source(s)
	src.Opt.Tables = []string{"AADNonInteractiveUserSignInLogs"}
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, perUserJob(), out)
	out.close()
	if err != nil || m.Status != manifest.StatusCollected {
		t.Fatalf("%v %s %s", err, m.Status, m.Reason)
	}
	if len(m.Superseded) == 0 || !strings.Contains(m.Superseded[0].Reason, "data size limit") {
		t.Fatalf("no split at the size limit: %+v", m.Superseded)
	}
	got := lines(t, filepath.Join(out.dir, "workspace", "AADNonInteractiveUserSignInLogs.jsonl"))
	slices.Sort(got)
	if want := expected(t, s, "AADNonInteractiveUserSignInLogs", subject.UPN); !slices.Equal(got, want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
}

// TestForbidden: without read access every table and window is recorded
// unavailable with the fix, and the run goes on.
func TestForbidden(t *testing.T) {
	s := setup(t, 500000)
	s.Forbidden = true
	src := source(s)
	src.Opt.Tables = []string{"SigninLogs", "AuditLogs"}
	job := perUserJob()
	job.Split = &collect.Splitting{Every: 30 * 24 * time.Hour}
	m, err := src.Collect(context.Background(), nil, job, &dirOutput{dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != manifest.StatusUnavailable || !strings.Contains(m.Reason, "Log Analytics Reader") {
		t.Fatalf("status %s: %s", m.Status, m.Reason)
	}
	if len(m.Windows) != 2*4 || s.Stats().Requests != 2 {
		t.Errorf("%d windows recorded, %d requests sent; want 8 windows (2 tables x 4) and one request per table", len(m.Windows), s.Stats().Requests)
	}
	for _, w := range m.Windows {
		if w.Status != manifest.StatusUnavailable || w.Query == "" {
			t.Errorf("window %+v", w)
		}
	}
}

// TestTimeoutSplits: a query the service cannot finish in time (504, after
// the client's retries) is split like a cut result.
func TestTimeoutSplits(t *testing.T) {
	s := setup(t, 500000)
	s.TimeoutOver = 300
	src := source(s)
	src.Opt.Tables = []string{"SigninLogs"}
	src.Opt.MaxRetries = 1
	out := &dirOutput{dir: t.TempDir()}
	m, err := src.Collect(context.Background(), nil, perUserJob(), out)
	out.close()
	if err != nil || m.Status != manifest.StatusCollected {
		t.Fatalf("%v %s %s", err, m.Status, m.Reason)
	}
	if len(m.Superseded) == 0 || !strings.Contains(m.Superseded[0].Reason, "504") {
		t.Fatalf("no split after a timeout: %+v", m.Superseded)
	}
	got := lines(t, filepath.Join(out.dir, "workspace", "SigninLogs.jsonl"))
	slices.Sort(got)
	if want := expected(t, s, "SigninLogs", subject.UPN); !slices.Equal(got, want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
}

// TestConcurrentTablesSameOutput: the tables are queried a few at a time
// (never more than the service's 5 concurrent queries per user), and the
// record files, the manifest entry and the notes are byte for byte those
// of a one-at-a-time run, equal to the ground truth, whatever order the
// answers come in.
func TestConcurrentTablesSameOutput(t *testing.T) {
	type result struct {
		files map[string]string
		src   []byte
		warns []string
		stats lawtest.Stats
	}
	collectWith := func(concurrency int) result {
		s := setup(t, 250)
		s.Latency = 40 * time.Millisecond
		src := source(s)
		src.Opt.Concurrency = concurrency
		out := &dirOutput{dir: t.TempDir()}
		began := time.Now()
		m, err := src.Collect(context.Background(), nil, perUserJob(), out)
		out.close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d at a time: %d queries in %s", concurrency, src.Stats.Queries, time.Since(began).Round(time.Millisecond)) // measured, never asserted
		for _, table := range lawtest.TableNames {
			if table == "AADServicePrincipalSignInLogs" || table == "AADManagedIdentitySignInLogs" {
				continue
			}
			got := lines(t, filepath.Join(out.dir, "workspace", table+".jsonl"))
			slices.Sort(got)
			if want := expected(t, s, table, subject.UPN); !slices.Equal(got, want) {
				t.Errorf("concurrency %d, %s: %d rows, ground truth %d", concurrency, table, len(got), len(want))
			}
		}
		r := result{files: map[string]string{}, warns: src.Warnings(), stats: s.Stats()}
		for _, f := range m.Files {
			b, err := os.ReadFile(filepath.Join(out.dir, filepath.FromSlash(f)))
			if err != nil {
				t.Fatal(err)
			}
			r.files[f] = string(b)
		}
		m.Endpoint = "" // each run has its own server, on its own port
		if r.src, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		return r
	}
	one, many := collectWith(1), collectWith(workspace.DefaultConcurrency)
	if one.stats.MaxConcurrent != 1 {
		t.Errorf("one at a time: the service saw %d queries at once", one.stats.MaxConcurrent)
	}
	if many.stats.MaxConcurrent < 2 || many.stats.MaxConcurrent > workspace.DefaultConcurrency {
		t.Errorf("concurrency %d: the service saw at most %d queries at once", workspace.DefaultConcurrency, many.stats.MaxConcurrent)
	}
	if len(one.files) < 7 || !maps.Equal(one.files, many.files) {
		t.Errorf("the record files differ between one and %d queries at a time (%d and %d files)", workspace.DefaultConcurrency, len(one.files), len(many.files))
	}
	if !bytes.Equal(one.src, many.src) {
		t.Errorf("the manifest entries differ:\none  %.400s\nmany %.400s", one.src, many.src)
	}
	if !slices.Equal(one.warns, many.warns) {
		t.Errorf("the notes differ:\n%q\n%q", one.warns, many.warns)
	}
}
