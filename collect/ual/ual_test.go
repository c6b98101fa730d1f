package ual

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

var fixedNow = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// lastCollect is how long the last run's Collect took (without sealing).
var lastCollect time.Duration

const token = "test-token-ual-0123456789abcdef"

func newSim(t testing.TB, cfg graphtest.Config) *graphtest.Server {
	t.Helper()
	cfg.Token, cfg.Now = token, fixedNow
	if cfg.SignInsPerUser == 0 {
		cfg.SignInsPerUser = 10
	}
	if cfg.AuditsPerUser == 0 {
		cfg.AuditsPerUser = 10
	}
	srv, err := graphtest.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		for _, v := range srv.Tenant.Violations() {
			t.Errorf("request breaks the documented Graph contract: %s", v)
		}
	})
	return srv
}

// run collects the victim's UAL over w into a sealed bundle directory and
// returns the manifest source and the bundle directory.
func run(t testing.TB, srv *graphtest.Server, w collect.Window, src *Source) (manifest.Source, string, error) {
	t.Helper()
	return runBudget(t, srv, w, src, collect.Budget{})
}

// runBudget is run with a client-side budget for polls and record pages.
func runBudget(t testing.TB, srv *graphtest.Server, w collect.Window, src *Source, read collect.Budget) (manifest.Source, string, error) {
	t.Helper()
	out := t.TempDir()
	stage, err := bundle.Create(out, "b")
	if err != nil {
		t.Fatal(err)
	}
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(token), Budgets: map[string]collect.Budget{ClassAuditRead: read},
		Retry: collect.RetryPolicy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxRetryAfter: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if src.Opt.StateDir == "" {
		src.Opt.StateDir = filepath.Join(out, "state")
	}
	if src.Opt.PollInterval == 0 {
		src.Opt.PollInterval = 5 * time.Millisecond
	}
	v := srv.Tenant.Victim()
	job := collect.Job{Window: w, Users: []collect.User{{ID: v.ID, UPN: v.UPN}}, Now: fixedNow}
	t0 := time.Now()
	ms, cerr := src.Collect(context.Background(), c, job, stage)
	lastCollect = time.Since(t0)
	if cerr != nil {
		stage.Abort()
		return ms, "", cerr
	}
	m := &manifest.Manifest{Format: manifest.Format, Sources: []manifest.Source{ms}}
	if err := stage.Seal(m); err != nil {
		t.Fatal(err)
	}
	dir, err := stage.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return ms, dir, nil
}

func readIDs(t testing.TB, path string) []string {
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
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// sameSet checks got holds exactly want's ids, each once.
func sameSet(t testing.TB, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if seen[id] > 1 {
			t.Fatalf("record %s written twice", id)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, ground truth %d", len(got), len(want))
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("ground-truth record %s missing", id)
		}
	}
}

func last(d time.Duration) collect.Window {
	return collect.Window{Start: fixedNow.Add(-d), End: fixedNow}
}

// TestStoryAndColumns: the seeded mailbox takeover is in ual/records.jsonl
// exactly as served (auditData intact), and the CSV shows it.
func TestStoryAndColumns(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3, UAL: graphtest.UAL{RecordsPerUser: 400}})
	w := last(30 * 24 * time.Hour)
	ms, dir, err := run(t, srv, w, &Source{Opt: Options{CaseID: "case-1"}})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, readIDs(t, filepath.Join(dir, RecordsPath)), srv.Tenant.UALIDs(srv.Tenant.Victim().UPN, w.Start, w.End))
	if ms.Status != manifest.StatusCollected || ms.Submissions != DefaultConcurrency || ms.Duplicates != 0 {
		t.Fatalf("source %+v", ms)
	}
	b, err := os.ReadFile(filepath.Join(dir, RecordsPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"operation":"New-InboxRule"`, `{"Name":"ForwardTo","Value":"attacker@protonmail.example"}`, `"operation":"Consent to application."`, `"clientIp":"185.220.101.47"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("records lack %s", want)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "ual/records.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(csv), "\ufeffCreationDate (UTC),RecordId,UserIds,Operations,RecordType,Workload,ClientIP,ObjectId") ||
		!strings.Contains(string(csv), "Name=.; ForwardTo=attacker@protonmail.example") {
		t.Errorf("CSV header or flattened parameters missing:\n%.400s", csv)
	}
	for _, sw := range ms.Windows {
		if sw.QueryID == "" || !strings.Contains(sw.Query, `"userPrincipalNameFilters":["victim@contoso.com"]`) || !strings.Contains(sw.Query, `"displayName":"evidence case-1"`) {
			t.Errorf("window accounting %+v", sw)
		}
	}
}

// TestSplitOnRecordLimit: queries that reach the service's limit are split
// until every window fits, and the result is exactly the ground truth.
func TestSplitOnRecordLimit(t *testing.T) {
	for _, hide := range []bool{false, true} {
		srv := newSim(t, graphtest.Config{Seed: 4, UAL: graphtest.UAL{RecordsPerUser: 3000, RecordLimit: 1000, HideLimitFields: hide}})
		w := last(30 * 24 * time.Hour)
		src := &Source{Opt: Options{Windows: 1, Concurrency: 3, RecordLimit: 1000, PageSize: 200}}
		ms, dir, err := run(t, srv, w, src)
		if err != nil {
			t.Fatal(err)
		}
		sameSet(t, readIDs(t, filepath.Join(dir, RecordsPath)), srv.Tenant.UALIDs(srv.Tenant.Victim().UPN, w.Start, w.End))
		if ms.Status != manifest.StatusCollected || len(ms.Superseded) == 0 || int64(len(ms.Windows)+len(ms.Superseded)) != ms.Submissions {
			t.Fatalf("hide=%v: status %s, %d windows, %d superseded, %d submissions", hide, ms.Status, len(ms.Windows), len(ms.Superseded), ms.Submissions)
		}
		for _, sw := range ms.Windows {
			if sw.Records >= 1000 {
				t.Errorf("window %v kept %d records: a capped result was accepted", sw.Window, sw.Records)
			}
		}
		if st := srv.Tenant.UALStats(); !hide && st.Limited == 0 {
			t.Errorf("the simulator never reported the limit: %+v", st)
		}
	}
}

// TestDuplicatesDropped: windows that share an instant (the service's end is
// inclusive) return the record on it twice; it is written once and counted.
func TestDuplicatesDropped(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5, UAL: graphtest.UAL{RecordsPerUser: 100}})
	var mid time.Time
	for _, e := range srv.Tenant.UALStory() {
		if e.Time.Equal(e.Time.Truncate(24 * time.Hour)) {
			mid = e.Time
		}
	}
	if mid.IsZero() {
		t.Fatal("no story record on a midnight")
	}
	w := collect.Window{Start: mid.Add(-48 * time.Hour), End: mid.Add(48 * time.Hour)}
	ms, dir, err := run(t, srv, w, &Source{Opt: Options{Windows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if ms.Windows[0].Window.End != manifest.FormatTime(mid) {
		t.Fatalf("windows %+v do not meet at %s", ms.Windows, mid)
	}
	if ms.Duplicates != 1 {
		t.Fatalf("duplicates %d, want 1", ms.Duplicates)
	}
	sameSet(t, readIDs(t, filepath.Join(dir, RecordsPath)), srv.Tenant.UALIDs(srv.Tenant.Victim().UPN, w.Start, w.End))
}

// TestFailedAndStuckQueries: a failed query and one that never finishes
// make exactly their windows incomplete, with the query id; the rest is
// collected.
func TestFailedAndStuckQueries(t *testing.T) {
	w := last(8 * 24 * time.Hour)
	parts := splitWindow(w, 4)
	failAt, stuckAt := parts[1].Start.Add(time.Hour), parts[3].Start.Add(time.Hour)
	srv := newSim(t, graphtest.Config{Seed: 6, UAL: graphtest.UAL{RecordsPerUser: 300, FailAt: []time.Time{failAt}, StuckAt: []time.Time{stuckAt}}})
	ms, dir, err := run(t, srv, w, &Source{Opt: Options{Windows: 4, QueryTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status != manifest.StatusFailed || len(ms.Missing) != 2 {
		t.Fatalf("status %s missing %+v", ms.Status, ms.Missing)
	}
	if ms.Missing[0].Window != manifest.NewWindow(parts[1].Start, parts[1].End) || !strings.Contains(ms.Missing[0].Reason, "ended failed") ||
		ms.Missing[1].Window != manifest.NewWindow(parts[3].Start, parts[3].End) || !strings.Contains(ms.Missing[1].Reason, "did not finish within") {
		t.Fatalf("missing %+v", ms.Missing)
	}
	var want []string
	for i, p := range parts {
		sw := ms.Windows[i]
		if i == 1 || i == 3 {
			if sw.Status != manifest.StatusFailed || !strings.Contains(sw.Reason, sw.QueryID) || sw.QueryID == "" {
				t.Errorf("window %d %+v", i, sw)
			}
			continue
		}
		want = append(want, srv.Tenant.UALIDs(srv.Tenant.Victim().UPN, p.Start, p.End)...)
	}
	sameSet(t, readIDs(t, filepath.Join(dir, RecordsPath)), want)
}

// TestServiceFilterForms: beta takes serviceFilter, v1.0 serviceFilters;
// whichever version is used, the collector ends with the accepted form
// and one query per service.
func TestServiceFilterForms(t *testing.T) {
	for _, ver := range []string{"beta", "v1.0"} {
		srv := newSim(t, graphtest.Config{Seed: 7, UAL: graphtest.UAL{RecordsPerUser: 200}})
		src := &Source{Opt: Options{APIVersion: ver, Windows: 1, Services: []string{"Exchange", "AzureActiveDirectory"}}}
		ms, dir, err := run(t, srv, last(10*24*time.Hour), src)
		if err != nil {
			t.Fatal(err)
		}
		if ms.Status != manifest.StatusCollected || len(ms.Windows) != 2 {
			t.Fatalf("%s: %+v", ver, ms)
		}
		want := map[string]string{"beta": `"serviceFilter":"Exchange"`, "v1.0": `"serviceFilters":["Exchange"]`}[ver]
		if !strings.Contains(ms.Windows[0].Query+ms.Windows[1].Query, want) {
			t.Errorf("%s: accepted bodies %q, %q lack %s", ver, ms.Windows[0].Query, ms.Windows[1].Query, want)
		}
		b, _ := os.ReadFile(filepath.Join(dir, RecordsPath))
		if strings.Contains(string(b), `"service":"SharePoint"`) || !strings.Contains(string(b), `"service":"Exchange"`) {
			t.Errorf("%s: service filter not applied", ver)
		}
	}
}

// TestSubmissionCap: a run never submits more than --ual-max-queries; the
// windows left over are failed in the manifest, saying why.
func TestSubmissionCap(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 8, UAL: graphtest.UAL{RecordsPerUser: 100}})
	ms, _, err := run(t, srv, last(8*24*time.Hour), &Source{Opt: Options{Windows: 4, Concurrency: 1, MaxQueries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if st := srv.Tenant.UALStats(); st.Created != 2 || ms.Submissions != 2 {
		t.Fatalf("created %d, submissions %d, want 2", st.Created, ms.Submissions)
	}
	if len(ms.Missing) != 2 || !strings.Contains(ms.Missing[0].Reason, "--ual-max-queries") {
		t.Fatalf("missing %+v", ms.Missing)
	}
}

// TestThrottledSubmissions: a 429 on submissions (the tenant's budget) is
// waited out and retried; nothing is lost.
func TestThrottledSubmissions(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 9, UAL: graphtest.UAL{RecordsPerUser: 100, Submissions: graphtest.Budget{Requests: 2, Per: time.Second}}})
	w := last(8 * 24 * time.Hour)
	ms, dir, err := run(t, srv, w, &Source{Opt: Options{Windows: 4}})
	if err != nil || ms.Status != manifest.StatusCollected {
		t.Fatalf("%v %+v", err, ms)
	}
	if srv.Tenant.Stats().Throttled == 0 || ms.Submissions != int64(srv.Tenant.UALStats().Created) {
		t.Fatalf("throttled %d, submissions %d, created %d", srv.Tenant.Stats().Throttled, ms.Submissions, srv.Tenant.UALStats().Created)
	}
	sameSet(t, readIDs(t, filepath.Join(dir, RecordsPath)), srv.Tenant.UALIDs(srv.Tenant.Victim().UPN, w.Start, w.End))
}

// TestResumeAfterQueryVanished: a resumed run whose saved query no longer
// exists on the service (404) submits it again instead of failing.
func TestResumeAfterQueryVanished(t *testing.T) {
	w := last(4 * 24 * time.Hour)
	stuck := newSim(t, graphtest.Config{Seed: 10, UAL: graphtest.UAL{RecordsPerUser: 100, StuckAt: []time.Time{w.Start.Add(time.Hour)}}})
	dir := filepath.Join(t.TempDir(), "state")
	c, err := collect.New(collect.Options{GraphURL: stuck.URL, Credential: collect.StaticToken(token)})
	if err != nil {
		t.Fatal(err)
	}
	v := stuck.Tenant.Victim()
	job := collect.Job{Window: w, Users: []collect.User{{ID: v.ID, UPN: v.UPN}}, Now: fixedNow}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for stuck.Tenant.UALStats().Created == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Source{Opt: Options{Windows: 1, PollInterval: 5 * time.Millisecond, StateDir: dir}}).Collect(ctx, c, job, stage); err == nil {
		t.Fatal("the interrupted collection did not report its cancellation")
	}
	stage.Abort()

	fresh := newSim(t, graphtest.Config{Seed: 10, UAL: graphtest.UAL{RecordsPerUser: 100}})
	ms, bdir, err := run(t, fresh, w, &Source{Opt: Options{Windows: 1, StateDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status != manifest.StatusCollected || ms.Reused != 0 || ms.Submissions != 1 {
		t.Fatalf("status %s, reused %d, submissions %d", ms.Status, ms.Reused, ms.Submissions)
	}
	sameSet(t, readIDs(t, filepath.Join(bdir, RecordsPath)), fresh.Tenant.UALIDs(v.UPN, w.Start, w.End))
}

// TestWrittenWhileRead: a query the service says is within its record limit
// (isRecordCountLimitExceeded: false) is written into the bundle while its
// pages are read, when the windows before it are written; the bundle's
// bytes are those of a run whose service leaves the limit fields out, where
// each query is written only after its last page.
func TestWrittenWhileRead(t *testing.T) {
	var files [2][]string
	for i, hide := range []bool{false, true} {
		srv := newSim(t, graphtest.Config{Seed: 6, UAL: graphtest.UAL{RecordsPerUser: 3000, MaxPageSize: 100, HideLimitFields: hide}})
		src := &Source{Opt: Options{Windows: 4, Concurrency: 2, PageSize: 100}}
		// pages paced so that the assembler is waiting when each one lands
		ms, dir, err := runBudget(t, srv, last(30*24*time.Hour), src, collect.Budget{Requests: 1, Per: 3 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if ms.Status != manifest.StatusCollected || ms.Records < 2000 || len(ms.Superseded) != 0 {
			t.Fatalf("hide=%v: status %s, %d records, %d superseded", hide, ms.Status, ms.Records, len(ms.Superseded))
		}
		switch f := src.Stats.Followed; {
		case !hide && f == 0:
			t.Errorf("no query was written while its pages were read (%d windows)", len(ms.Windows))
		case hide && f != 0:
			t.Errorf("%d queries were written while read although the service did not say they were complete", f)
		}
		for _, p := range []string{RecordsPath, collect.CSVPath(RecordsPath)} {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			files[i] = append(files[i], string(b))
		}
	}
	for j := range files[0] {
		if files[0][j] != files[1][j] {
			t.Errorf("file %d differs between the run written while read and the one written after (%d and %d bytes)", j, len(files[0][j]), len(files[1][j]))
		}
	}
}

// TestResumeFollowsSavedNextLink: a read stopped part way resumes from the
// @odata.nextLink the service gave, followed as given like every later one
// (only its path is checked against the catalogue). Here the service spells
// its skip token %24skiptoken (a handler in front of the simulator rewrites
// the links on the way out and back on the way in), which the catalogue
// refuses in a query the tool builds; the resumed run starts from the saved
// link and the bundle holds every record once.
func TestResumeFollowsSavedNextLink(t *testing.T) {
	w := last(4 * 24 * time.Hour)
	srv := newSim(t, graphtest.Config{Seed: 10, UAL: graphtest.UAL{RecordsPerUser: 1000}})
	dir := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithCancel(context.Background())
	var linked, stopped atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "%24skiptoken=") {
			linked.Add(1)
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%24skiptoken=", "$skiptoken=", 1)
			// the first run stops, this page unanswered, once the state
			// holds a link to resume from
			for i := 0; stopped.Load() == 0 && i < 500; i++ {
				if b, _ := os.ReadFile(filepath.Join(dir, stateName)); strings.Contains(string(b), "%24skiptoken") {
					stopped.Store(1)
					cancel()
					<-r.Context().Done()
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		rec := httptest.NewRecorder()
		srv.Tenant.ServeHTTP(rec, r)
		body := strings.Replace(rec.Body.String(), "$skiptoken=", "%24skiptoken=", 1)
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.Header().Del("Content-Length")
		rw.WriteHeader(rec.Code)
		io.WriteString(rw, body)
	}))
	defer front.Close()
	c, err := collect.New(collect.Options{GraphURL: front.URL, Credential: collect.StaticToken(token)})
	if err != nil {
		t.Fatal(err)
	}
	v := srv.Tenant.Victim()
	job := collect.Job{Window: w, Users: []collect.User{{ID: v.ID, UPN: v.UPN}}, Now: fixedNow}
	opt := Options{Windows: 1, PageSize: 10, PollInterval: 5 * time.Millisecond, StateDir: dir}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	if ms0, err := (&Source{Opt: opt}).Collect(ctx, c, job, stage); err == nil || stopped.Load() == 0 {
		t.Fatalf("the first run was not stopped part way (%v; %d links followed; %+v)", err, linked.Load(), ms0)
	}
	stage.Abort()
	before := linked.Load()

	stage, err = bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := (&Source{Opt: opt}).Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if err := stage.Seal(&manifest.Manifest{Format: manifest.Format, Sources: []manifest.Source{ms}}); err != nil {
		t.Fatal(err)
	}
	bdir, err := stage.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status != manifest.StatusCollected || ms.Submissions != 0 || linked.Load() == before { // the query of the first run, read on
		t.Fatalf("status %s, submissions %d, links followed %d then %d", ms.Status, ms.Submissions, before, linked.Load())
	}
	sameSet(t, readIDs(t, filepath.Join(bdir, RecordsPath)), srv.Tenant.UALIDs(v.UPN, w.Start, w.End))
}
