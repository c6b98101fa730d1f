package manifest

import "testing"

// TestSummarize: totals are the windows' sums less the duplicates; the
// status is the first window not collected, else the first gap.
func TestSummarize(t *testing.T) {
	s := Source{Duplicates: 2, Windows: []SubWindow{
		{Status: StatusCollected, Pages: 2, Records: 10},
		{Status: StatusFailed, Reason: "throttled", Pages: 1, Records: 3},
		{Status: StatusClamped, Reason: "retention", Pages: 0, Records: 0},
	}, Missing: []Gap{{Status: StatusUnavailable, Reason: "licence"}}}
	s.Summarize()
	if s.Records != 11 || s.Pages != 3 || s.Status != StatusFailed || s.Reason != "throttled" {
		t.Errorf("summarized as %d records, %d pages, %s (%s)", s.Records, s.Pages, s.Status, s.Reason)
	}
	s = Source{Status: StatusFailed, Reason: "stale", Windows: []SubWindow{{Status: StatusCollected, Pages: 1, Records: 4}},
		Missing: []Gap{{Status: StatusClamped, Reason: "older than the tenant's 30-day retention"}}}
	s.Summarize()
	if s.Records != 4 || s.Pages != 1 || s.Status != StatusClamped || s.Reason != "older than the tenant's 30-day retention" {
		t.Errorf("with a gap: %d records, %d pages, %s (%s)", s.Records, s.Pages, s.Status, s.Reason)
	}
	s = Source{Windows: []SubWindow{{Status: StatusCollected, Pages: 1, Records: 4}}}
	s.Summarize()
	if s.Status != StatusCollected || s.Reason != "" {
		t.Errorf("all collected: %s (%s)", s.Status, s.Reason)
	}
}
