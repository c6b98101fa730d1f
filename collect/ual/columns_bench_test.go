package ual

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/record"
)

// BenchmarkColumns writes records the simulated audit log served (auditData
// intact) through the one record writer with the audit log's CSV columns:
// the CPU a record costs once it is fetched (JSON Lines plus every column).
// Compare builds with `go test -run '^$' -bench Columns -count 6 ./collect/ual/`.
func BenchmarkColumns(b *testing.B) {
	srv := newSim(b, graphtest.Config{Seed: 3, UAL: graphtest.UAL{RecordsPerUser: 3000}})
	_, dir, err := run(b, srv, last(30*24*time.Hour), &Source{})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, RecordsPath))
	if err != nil {
		b.Fatal(err)
	}
	recs := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	w, err := record.NewWriter(io.Discard, io.Discard, Columns)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)) / int64(len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := w.Write(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, not wall time: on a shared machine the wall clock counts
	// the time other processes held the cores.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
