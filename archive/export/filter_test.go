package export

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
)

// countingOutput is a bundle that counts the records it is given.
type countingOutput struct{ n atomic.Int64 }

func (o *countingOutput) Open(path, source string, columns []collect.Column) (collect.Sink, error) {
	return countingSink{o}, nil
}

type countingSink struct{ o *countingOutput }

func (s countingSink) Write(rec []byte) error { s.o.n.Add(1); return nil }

// TestFilterConcurrentWriters: a source writing from several goroutines at
// once (the workspace reads three tables at a time, each into its own file)
// loses no record from the filter's memory. Every id must be remembered for
// the next run's edge: an id lost there is a record the next run's overlap
// re-read writes a second time (seen as one workspace row twice in
// TestExportWorkspaceDiagArchive, about one run in 25). Run with -race too.
func TestFilterConcurrentWriters(t *testing.T) {
	const writers, each = 6, 5000
	inner := &countingOutput{}
	out := newFilterOutput(inner)
	f := newScopeFilter(nil, time.Time{})
	out.use(f)
	var wg sync.WaitGroup
	for w := range writers {
		sink, err := out.Open(fmt.Sprintf("workspace/T%d.jsonl", w), "workspace", nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rec := fmt.Sprintf(`{"TimeGenerated":"2026-11-10T%02d:%02d:%02d.0000000Z","Id":"w%d-%d"}`, i/3600%24, i/60%60, i%60, w, i)
				if err := sink.Write([]byte(rec)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := len(f.ids); got != writers*each || inner.n.Load() != writers*each {
		t.Fatalf("%d records written by %d goroutines: the filter remembers %d ids, the bundle got %d", writers*each, writers, got, inner.n.Load())
	}
}
