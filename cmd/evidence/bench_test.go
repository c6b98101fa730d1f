package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// BenchmarkSignInThroughput measures how close sign-in collection comes to
// the ceiling the documented reports budget allows: a simulated tenant that
// enforces the budget (scaled to 5 requests per 100 ms, the documented 5 per
// 10 s) serves 100,000 interactive sign-ins of one user in pages of 1,000,
// and a full grab (collect, write JSON Lines and CSV, seal, verify) runs
// against it. Ceiling = budget x page size = 50,000 records/s. Reported:
// records/s and ceiling-ratio (achieved / ceiling). See docs/performance.md.
func BenchmarkSignInThroughput(b *testing.B) {
	const records, pageSize = 100000, 1000
	budget := graphtest.Budget{Requests: 5, Per: 100 * time.Millisecond}
	ceiling := float64(budget.Requests) / budget.Per.Seconds() * pageSize
	srv, err := graphtest.NewServer(graphtest.Config{Seed: 9, Token: testToken, Now: fixedNow, SignInsPerUser: records,
		NonInteractivePerUser: -1, AuditsPerUser: -1, AppSignIns: -1, Reports: budget})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	b.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
	victim := srv.Tenant.Victim()
	var total int64
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := b.TempDir()
		args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--user", victim.UPN,
			"--since", fixedNow.Add(-30 * 24 * time.Hour).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
			"--sources", "signins", "--signin-kinds", "interactive", "--split", "0", "--max-pages", "0",
			"--page-size", "1000", "--budget", "reports=5/100ms", "--bundle", "dir"}
		var o, e bytes.Buffer
		// Two full budget windows pass between runs, so each starts with
		// the same allowance (the tenant's sliding window is per token).
		time.Sleep(2 * budget.Per)
		start := time.Now()
		if code := run(context.Background(), args, &o, &e); code != ExitOK {
			b.Fatalf("grab exit %d: %s", code, e.String())
		}
		elapsed += time.Since(start)
		total += int64(srv.Tenant.Count(graphtest.StreamSignIns, victim.ID, fixedNow.Add(-30*24*time.Hour), fixedNow))
	}
	rate := float64(total) / elapsed.Seconds()
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(rate/ceiling, "ceiling-ratio")
}
