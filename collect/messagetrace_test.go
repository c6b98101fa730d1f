package collect_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

var mtNow = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

const mtToken = "mt-test-token"

// mtClient is a collect.Client for url with the message trace budget b.
func mtClient(t testing.TB, url string, b collect.Budget) *collect.Client {
	t.Helper()
	c, err := collect.New(collect.Options{GraphURL: url, Credential: collect.StaticToken(mtToken),
		Budgets: map[string]collect.Budget{collect.ClassMessageTrace: b},
		Retry:   collect.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxRetryAfter: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func victimUser(v graphtest.User) collect.User {
	return collect.User{Requested: v.UPN, ID: v.ID, UPN: v.UPN, Mail: v.Mail, ProxyAddresses: v.ProxyAddresses}
}

func countLines(t testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		n++
	}
	return n
}

// TestMessageTraceClockMovesPastLimit: the service's clock moves on between
// the pre-flight and the oldest slice, so the slice starting exactly 90 days
// back is refused; the collector asks again from the new limit and records
// the cut interval for every query it affects.
func TestMessageTraceClockMovesPastLimit(t *testing.T) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 9, MailPerUser: 300})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant.ServeHTTP(w, r)
		if strings.Contains(r.URL.Path, "messageTraces") && calls.Add(1) == 1 {
			tenant.SetNow(mtNow.Add(30 * time.Second)) // after the pre-flight
		}
	}))
	defer srv.Close()
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	v := tenant.Victim()
	job := collect.Job{Window: collect.Window{Start: mtNow.Add(-collect.MessageTraceMaxAge), End: mtNow}, Users: []collect.User{victimUser(v)}, Now: mtNow}
	src, err := collect.MessageTrace{}.Collect(context.Background(), mtClient(t, srv.URL, collect.Budget{}), job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Missing) != 4 {
		t.Fatalf("want one gap per query of the oldest slice, got %+v", src.Missing)
	}
	g := src.Missing[0]
	end, _ := time.Parse(time.RFC3339Nano, g.End)
	if g.Status != manifest.StatusClamped || g.Start != manifest.FormatTime(job.Window.Start) || end.Before(mtNow.Add(30*time.Second-collect.MessageTraceMaxAge)) ||
		end.After(job.Window.Start.Add(5*time.Minute)) || !strings.Contains(g.Reason, "refused") {
		t.Errorf("gap %+v", g)
	}
	for _, w := range src.Windows {
		if w.Status != manifest.StatusCollected {
			t.Errorf("window %+v", w)
		}
	}
	if err := stage.Seal(&manifest.Manifest{}); err != nil {
		t.Fatal(err)
	}
	got := countLines(t, filepath.Join(stage.Dir(), collect.MessageTracePath))
	want := len(tenant.TraceRows(collect.MailAddresses(victimUser(v)), end, mtNow))
	if got != want || int64(got) != src.Records {
		t.Errorf("%d rows (manifest %d), ground truth from the moved start %d", got, src.Records, want)
	}
	if src.Status != manifest.StatusClamped {
		t.Errorf("status %q", src.Status)
	}
}

// BenchmarkMessageTrace collects a tenant-wide 90-day message trace against
// the simulated tenant under a scaled budget and reports traces/s and the
// ratio to the ceiling the budget allows (requests per second x 5,000 rows
// per page). At the documented budget (100 per 5 minutes) the ceiling is
// 1,667 traces/s.
func BenchmarkMessageTrace(b *testing.B) {
	budget := collect.Budget{Requests: 5, Per: 250 * time.Millisecond}
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 4, ExtraUsers: 96, MailPerUser: 300,
		SignInsPerUser: -1, AuditsPerUser: -1, MessageTrace: graphtest.Budget{Requests: budget.Requests, Per: budget.Per}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	job := collect.Job{Window: collect.Window{Start: mtNow.Add(-collect.MessageTraceMaxAge), End: mtNow}, AllUsers: true, Now: mtNow}
	rows := len(tenant.TraceRows(nil, job.Window.Start, job.Window.End))
	ceiling := float64(budget.Requests) / budget.Per.Seconds() * collect.MessageTraceMaxTop
	var traces int64
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		stage, err := bundle.Create(b.TempDir(), "b")
		if err != nil {
			b.Fatal(err)
		}
		c := mtClient(b, srv.URL, budget)
		time.Sleep(budget.Per) // a fresh budget window for each round
		b.StartTimer()
		t0 := time.Now()
		src, err := collect.MessageTrace{}.Collect(context.Background(), c, job, stage)
		elapsed += time.Since(t0)
		if err != nil || src.Status != manifest.StatusCollected || src.Records != int64(rows) {
			b.Fatalf("err %v status %q records %d, want %d", err, src.Status, src.Records, rows)
		}
		traces += src.Records
		b.StopTimer()
		stage.Abort()
		b.StartTimer()
	}
	rate := float64(traces) / elapsed.Seconds()
	b.ReportMetric(rate, "traces/s")
	b.ReportMetric(rate/ceiling, "ceiling-ratio")
	b.ReportMetric(float64(rows), "traces/op")
}

var fractionRE = regexp.MustCompile(`:\d\d\.\d`)

// TestMessageTraceWholeSecondBounds: bounds go out as YYYY-MM-DDThh:mm:ssZ
// (the strict tenant refuses fraction digits), yet the half-open window is
// kept exactly: a row at exactly the window's start is written, a row at
// exactly its end is not, and every row in between is written once.
func TestMessageTraceWholeSecondBounds(t *testing.T) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 9, MailPerUser: 300})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	v := tenant.Victim()
	addrs := collect.MailAddresses(victimUser(v))
	all := tenant.TraceRows(addrs, mtNow.Add(-25*24*time.Hour), mtNow)
	var first, last graphtest.TraceRow
	for _, r := range all { // rows with fraction digits, about 23 days apart
		if r.Received.Nanosecond() == 0 {
			continue
		}
		if first.ID == "" && r.Received.Before(mtNow.Add(-24*24*time.Hour)) {
			first = r
		}
		if r.Received.After(mtNow.Add(-2 * 24 * time.Hour)) {
			last = r
		}
	}
	if first.ID == "" || last.ID == "" {
		t.Fatal("no rows with fraction digits to put on the window's edges")
	}
	w := collect.Window{Start: first.Received, End: last.Received}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	job := collect.Job{Window: w, Users: []collect.User{victimUser(v)}, Now: mtNow}
	src, err := collect.MessageTrace{}.Collect(context.Background(), mtClient(t, srv.URL, collect.Budget{}), job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if v := tenant.Violations(); len(v) > 0 {
		t.Fatalf("requests broke the documented contract: %v", v)
	}
	if src.Status != manifest.StatusCollected || len(src.Windows) < 3*2*len(addrs) {
		t.Fatalf("status %q, %d windows: %+v", src.Status, len(src.Windows), src.Missing)
	}
	for _, sw := range src.Windows {
		if fractionRE.MatchString(sw.Query) {
			t.Errorf("fraction digits in a bound: %s", sw.Query)
		}
	}
	if err := stage.Seal(&manifest.Manifest{}); err != nil {
		t.Fatal(err)
	}
	want := tenant.TraceRows(addrs, w.Start, w.End)
	got := countLines(t, filepath.Join(stage.Dir(), collect.MessageTracePath))
	if got != len(want) || int64(got) != src.Records {
		t.Errorf("%d rows written (manifest %d), ground truth of [%s, %s) %d", got, src.Records, w.Start, w.End, len(want))
	}
	b, err := os.ReadFile(filepath.Join(stage.Dir(), collect.MessageTracePath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), first.ID) {
		t.Errorf("the row at exactly the window's start (%s) is missing", first.Received)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, last.ID) && strings.Contains(line, last.Recipient) {
			t.Errorf("the row at exactly the window's end (%s) was written: %s", last.Received, line)
		}
	}
	var recs int64
	for _, sw := range src.Windows {
		recs += sw.Records
	}
	if recs-src.Duplicates != src.Records || src.Counts["rows_outside_slice_edge"] == 0 {
		t.Errorf("windows hold %d records, %d duplicates, source %d, edge rows %d", recs, src.Duplicates, src.Records, src.Counts["rows_outside_slice_edge"])
	}
}
