package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
)

func TestEstimateFirstPage(t *testing.T) {
	b := collect.Budget{Requests: 5, Per: 10 * time.Second}
	// 1,000 records covering the newest 3 hours of 30 days: 240,000 records,
	// 240 pages, 239 left at one request every 2 s.
	e := collect.EstimateFirstPage(1000, 3*time.Hour, 30*24*time.Hour, 1000, 1, true, b)
	if e.Records != 240000 || e.Pages != 240 || e.PagesLeft != 239 || e.Duration != 478*time.Second {
		t.Errorf("estimate %+v", e)
	}
	// One page and nothing more: exact.
	e = collect.EstimateFirstPage(17, time.Hour, 30*24*time.Hour, 1000, 1, false, b)
	if e.Records != 17 || e.Pages != 1 || e.PagesLeft != 0 || e.Duration != 0 {
		t.Errorf("single page %+v", e)
	}
	// Split into 5 sub-windows: at least one page each.
	e = collect.EstimateFirstPage(3, 7*24*time.Hour, 30*24*time.Hour, 1000, 5, true, b)
	if e.Pages != 5 || e.PagesLeft != 4 {
		t.Errorf("split %+v", e)
	}
}

func TestRemaining(t *testing.T) {
	e := collect.Estimate{Pages: 100, Budget: collect.Budget{Requests: 5, Per: 10 * time.Second}}
	pct, eta := Remaining(e, 25, 10*time.Second) // faster than the budget: the budget decides
	if pct != 25 || eta != 150*time.Second {
		t.Errorf("%v %v", pct, eta)
	}
	pct, eta = Remaining(e, 25, 100*time.Second) // slower: the rate seen decides
	if pct != 25 || eta != 300*time.Second {
		t.Errorf("%v %v", pct, eta)
	}
	pct, eta = Remaining(e, 120, time.Minute) // more than estimated: one page left
	if pct >= 100 || eta != 2*time.Second {
		t.Errorf("%v %v", pct, eta)
	}
}

// TestPlainLines: without a terminal every line ends with a newline, has no
// terminal control, counts what was reported (not zero), and says what it
// waits for at once when it is not the budget.
func TestPlainLines(t *testing.T) {
	var buf bytes.Buffer
	tr := New(&buf, Auto) // a buffer is no terminal
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	tr.now = func() time.Time { return clock }
	tr.Windows("signins", 0, 2)
	tr.Add("signins", 0, 1)
	tr.Estimated("signins", collect.EstimateFirstPage(1000, time.Hour, 10*time.Hour, 1000, 2, true, collect.Budget{Requests: 5, Per: 10 * time.Second}))
	tr.Add("signins", 1000, 0)
	clock = clock.Add(6 * time.Second)
	tr.Add("signins", 0, 1)
	tr.Add("signins", 1000, 0)
	tr.Waiting("signins", collect.WaitRetryAfter, 30*time.Second)
	tr.Waiting("tenant", collect.WaitRetry+": connection refused", 4*time.Second)
	tr.Flush()
	out := buf.String()
	if strings.ContainsAny(out, "\r\033") || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal control or unterminated line in %q", out)
	}
	for _, want := range []string{
		"signins: first page in: about 10,000 records in 10 pages; at the budget of 5/10s requests that is about 18s\n",
		"signins: 20% (2/10 pages), 1,000 records, window 1/2, 6s elapsed, ETA 24s\n", // the page is counted before its records are written
		"signins: 20% (2/10 pages), 2,000 records, window 1/2, 6s elapsed, ETA 24s, waiting 30s for Retry-After\n",
		"tenant: waiting 4s for retry after an error: connection refused\n",
		"signins: done, 2,000 records, 2 pages, 6s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "tenant: done") {
		t.Errorf("a lookup that only waited is reported done:\n%s", out)
	}
}
