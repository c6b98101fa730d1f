package report

import (
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/report/reporttest"
	"github.com/evidence-dfir/evidence/manifest"
)

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestAnalyzerMemoryIsBounded: past TimelineOrdinary records, what the
// analyzer keeps stays within a bound that does not depend on the number of
// records, and the page is built without holding its timeline data twice.
// The figures are the heap in use after a collection (no clock involved):
// a grab of a million sign-ins stays under 100 MB of RSS only while the
// report's heap does (docs/performance.md, the last line of bench/run.sh).
func TestAnalyzerMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 150,000 sign-ins")
	}
	const n = TimelineOrdinary * 3 / 2
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(reporttest.SignIns(pw, n, 2000, t0.Add(-30*24*time.Hour), t0, 3))
	}()
	before := liveHeap()
	a := NewAnalyzer()
	if err := a.Feed("signins/interactive.jsonl", pr); err != nil {
		t.Fatal(err)
	}
	kept := liveHeap() - before
	if a.total != n || a.ordinary.Len() != TimelineOrdinary {
		t.Fatalf("read %d records and kept %d, want %d and %d", a.total, a.ordinary.Len(), n, TimelineOrdinary)
	}
	// 120 bytes an event and its 36-character id (48 bytes), 100,000 of
	// them, and the groups, pairs and indicators of 2,000 users: about 20 MB.
	// An event with its own copy of every field cost 400 bytes (45 MB).
	const bound = 28 << 20
	t.Logf("%d records: the analyzer keeps %.1f MB (%d bytes an event on the timeline)", n, float64(kept)/(1<<20), kept/TimelineOrdinary)
	if kept > bound {
		t.Errorf("the analyzer keeps %.1f MB after %d records, want under %d MB", float64(kept)/(1<<20), n, bound>>20)
	}
	m := testManifest()
	m.Requested = manifest.NewWindow(t0.Add(-30*24*time.Hour), t0)
	m.Sources[0].Records = n
	page := render(t, m, a, "en")
	if rows := len(timelineRows(t, page)); rows < TimelineOrdinary {
		t.Errorf("%d timeline rows, want at least %d", rows, TimelineOrdinary)
	}
	runtime.KeepAlive(a)
}
