package report

import (
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// TestCollectedWindowsLeaveOutStateReads: the case header's windows are the
// log sources'; the reads of current state (the sources the registry marks
// State: snapshot, the message fetched by id, the tenant's posture) stay
// out of it.
func TestCollectedWindowsLeaveOutStateReads(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	src := func(name string, from, to time.Time) manifest.Source {
		return manifest.Source{Name: name, Status: manifest.StatusCollected,
			Windows: []manifest.SubWindow{{Window: manifest.NewWindow(from, to), Status: manifest.StatusCollected}}}
	}
	m := &manifest.Manifest{Sources: []manifest.Source{
		src("signins.interactive", day(1), day(10)),
		src("audits", day(5), day(12)),
		src("snapshot", day(20), day(20).Add(time.Second)),
		src("message", day(21), day(21).Add(time.Second)),
		src("tenant", day(22), day(22).Add(time.Second)),
	}}
	got := collectedWindows(m)
	if len(got) != 1 || !got[0][0].Equal(day(1)) || !got[0][1].Equal(day(12)) {
		t.Errorf("collected windows %v, want [%s, %s)", got, day(1), day(12))
	}
}
