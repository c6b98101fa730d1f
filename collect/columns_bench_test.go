package collect_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/record"
)

// BenchmarkColumns writes records the simulated tenant served through the
// one record writer with each source's CSV columns: the CPU a record costs
// once it is fetched (JSON Lines plus every column). cpu-ns/op is the
// process's CPU time, which other processes on a shared machine do not
// inflate as they do the wall clock. Compare builds with
// `go test -run '^$' -bench Columns -count 6 ./collect/`.
func BenchmarkColumns(b *testing.B) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 7, SignInsPerUser: 2000, AuditsPerUser: 2000})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	for _, tc := range []struct {
		name string
		src  collect.Source
		path string
		cols []collect.Column
	}{
		{"signins", collect.SignIns{Kind: collect.KindInteractive}, collect.KindInteractive.Path, collect.UserSignInColumns},
		{"audits", collect.DirectoryAudits{}, collect.AuditsPath, collect.AuditColumns},
	} {
		recs := benchRecords(b, srv.URL, tenant, tc.src, tc.path)
		b.Run(tc.name, func(b *testing.B) {
			w, err := record.NewWriter(io.Discard, io.Discard, tc.cols)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if err := w.Write(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// benchRecords collects the victim's records of src over 30 days.
func benchRecords(b *testing.B, url string, tenant *graphtest.Tenant, src collect.Source, path string) [][]byte {
	stage, err := bundle.Create(b.TempDir(), "b")
	if err != nil {
		b.Fatal(err)
	}
	defer stage.Abort()
	c, err := collect.New(collect.Options{GraphURL: url, Credential: collect.StaticToken(mtToken), Budgets: map[string]collect.Budget{collect.ClassReports: {}}})
	if err != nil {
		b.Fatal(err)
	}
	job := collect.Job{Window: collect.Window{Start: mtNow.Add(-30 * 24 * time.Hour), End: mtNow}, Users: []collect.User{victimUser(tenant.Victim())}, Now: mtNow}
	if _, err := src.Collect(context.Background(), c, job, stage); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(stage.Dir(), path))
	if err != nil || len(data) == 0 {
		b.Fatalf("no records in %s: %v", path, err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
