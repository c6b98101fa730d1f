package collect_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// BenchmarkInteractivePaced collects 50,000 interactive sign-ins of one
// user over 29 days (weekly sub-windows, 1,000 a page) from the simulated
// tenant under a reports budget scaled to 5 requests per 250 ms, client and
// service paced alike, into a bundle stage, as bench/run.sh's grab does for
// its first kind. The simulator runs in the same process, on the same
// cores. It reports records/s, the requests sent, the least time the budget
// allows for them (5 at once, then 5 more every 250 ms) and the ratio of
// that to the collection's wall time (1 = every request went as soon as
// the budget allowed), and the requests answered 429.
func BenchmarkInteractivePaced(b *testing.B) {
	budget := collect.Budget{Requests: 5, Per: 250 * time.Millisecond}
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 21, SignInsPerUser: 50000,
		Reports: graphtest.Budget{Requests: budget.Requests, Per: budget.Per}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	job := collect.Job{Window: collect.Window{Start: mtNow.Add(-29 * 24 * time.Hour), End: mtNow},
		Users: []collect.User{victimUser(tenant.Victim())}, Now: mtNow}
	var records, requests, throttled int64
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		stage, err := bundle.Create(b.TempDir(), "b")
		if err != nil {
			b.Fatal(err)
		}
		c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(mtToken),
			Budgets: map[string]collect.Budget{collect.ClassReports: budget}})
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(budget.Per) // the service's window of the run before is empty
		b.StartTimer()
		start := time.Now()
		src, err := collect.SignIns{Kind: collect.KindInteractive}.Collect(context.Background(), c, job, stage)
		wall += time.Since(start)
		b.StopTimer()
		if err != nil || src.Status != manifest.StatusCollected {
			b.Fatalf("collect: %v, status %q", err, src.Status)
		}
		if err := stage.Seal(&manifest.Manifest{}); err != nil {
			b.Fatal(err)
		}
		records += src.Records
		requests += c.Stats().Requests.Load()
		throttled += c.Stats().Throttled.Load()
		b.StartTimer()
	}
	n := float64(b.N)
	perRun := wall.Seconds() / n
	reqs := int64(float64(requests) / n)
	best := float64((reqs-1)/int64(budget.Requests)) * budget.Per.Seconds()
	b.ReportMetric(float64(records)/n/perRun, "records/s")
	b.ReportMetric(float64(reqs), "requests")
	b.ReportMetric(best, "best_s")
	b.ReportMetric(perRun, "wall_s")
	b.ReportMetric(best/perRun, "ratio")
	b.ReportMetric(float64(throttled)/n, "429s")
}
