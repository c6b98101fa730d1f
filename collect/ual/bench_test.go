package ual

import (
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// BenchmarkUAL300k collects 300,000 records (90 days of one user) from the
// simulated audit log query API under its configured budgets: each query
// takes queryDelay, the per-query record limit is 50,000 (scaled down from
// Graph's 1,000,000 so that splitting happens), and query reads plus record
// pages share a budget of readReqs per readPer (client and service paced
// alike). The simulated service runs in the same process, on the same
// cores. It reports records/s, the wall time of Collect (submitting,
// polling, paging, spooling, then writing ual/records.jsonl and .csv; not
// the bundle's seal), and the best wall time those
// budgets allow, as a ratio best/actual (1 = as fast as possible):
//
//	best = queryDelay + (ceil(N/pageSize) + 2*ceil(N/limit)) / (readReqs/readPer)
//
// that is, an oracle that knows the counts submits ceil(N/limit) queries at
// once, waits one query duration, polls each once and reads every page at
// the full read rate (one more page per query for the partial last page).
func BenchmarkUAL300k(b *testing.B) {
	const (
		perUser    = 100000 // per 30 days: 300,000 over 90
		limit      = 50000
		pageSize   = 1000
		queryDelay = 500 * time.Millisecond
		readReqs   = 20
		readPer    = 100 * time.Millisecond
	)
	w := last(90 * 24 * time.Hour)
	var records int64
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv := newSim(b, graphtest.Config{Seed: 40, UAL: graphtest.UAL{RecordsPerUser: perUser, RecordLimit: limit, MaxPageSize: pageSize,
			QueryDelay: queryDelay, Reads: graphtest.Budget{Requests: readReqs, Per: readPer}}})
		src := &Source{Opt: Options{PageSize: pageSize, PollInterval: 20 * time.Millisecond, MaxPoll: 100 * time.Millisecond}}
		b.StartTimer()
		ms, _, err := runBudget(b, srv, w, src, collect.Budget{Requests: readReqs, Per: readPer})
		wall += lastCollect // Collect only: sealing the bundle (fsync) is measured elsewhere
		if err != nil || ms.Status != manifest.StatusCollected {
			b.Fatalf("collect: %v %+v", err, ms.Status)
		}
		records += ms.Records
		if i == 0 {
			b.Logf("%d records, %d queries submitted (%d superseded by splits), %d pages", ms.Records, ms.Submissions, len(ms.Superseded), ms.Pages)
		}
	}
	n := float64(records) / float64(b.N)
	perRun := wall.Seconds() / float64(b.N)
	rate := float64(readReqs) / readPer.Seconds()
	queries := float64((int64(n) + limit - 1) / limit)
	pages := float64((int64(n) + pageSize - 1) / pageSize)
	best := queryDelay.Seconds() + (pages+2*queries)/rate
	b.ReportMetric(n/perRun, "records/s")
	b.ReportMetric(perRun, "wall_s")
	b.ReportMetric(best, "best_s")
	b.ReportMetric(best/perRun, "ratio")
}
