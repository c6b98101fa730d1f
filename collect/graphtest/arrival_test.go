package graphtest

import (
	"testing"
	"time"
)

// TestLateArrival: records become visible only at their event time plus
// their delay; paging serves exactly what ground truth says is visible at
// each clock, and once MaxDelay has passed everything is there.
func TestLateArrival(t *testing.T) {
	start := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	cfg := Config{Seed: 5, SignInsPerUser: 3000, AuditsPerUser: 3000, Now: start,
		Arrival: Arrival{Late: 0.3, MaxDelay: 4 * time.Hour}}
	s := newTestServer(t, cfg)
	plain, err := New(Config{Token: "x", Seed: 5, SignInsPerUser: 3000, AuditsPerUser: 3000, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	ten := s.Tenant
	from := start.Add(-12 * time.Hour)
	u := logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter",
		"activityDateTime ge "+ts(from)+" and activityDateTime le "+ts(start.Add(48*time.Hour)), "$top", "7")

	var lateAtStart []string
	for _, step := range []time.Duration{0, time.Hour, 3 * time.Hour, 4*time.Hour + time.Second} {
		now := start.Add(step)
		ten.SetNow(now)
		plain.SetNow(now)
		want := ten.IDs(StreamAuditsInitiated, "", from, now.Add(time.Hour))
		all := plain.IDs(StreamAuditsInitiated, "", from, now.Add(time.Hour))
		recs, _ := pageAll(t, c, u)
		sameIDs(t, "visible audits at "+now.String(), ids(recs), want)
		if n := ten.Count(StreamAuditsInitiated, "", from, now.Add(time.Hour)); n != len(want) {
			t.Fatalf("Count %d, IDs %d", n, len(want))
		}
		// Whatever is missing is exactly what has not arrived yet.
		visible := map[string]bool{}
		for _, id := range want {
			visible[id] = true
		}
		late := 0
		for _, id := range all {
			if !visible[id] {
				late++
				if d := ten.Delay(id); d <= 0 || d > 4*time.Hour {
					t.Fatalf("record %s hidden with delay %v", id, d)
				}
				if step == 0 {
					lateAtStart = append(lateAtStart, id)
				}
			}
		}
		if step == 0 && late == 0 {
			t.Fatal("no record is late at the start: the premise is not tested")
		}
		if step > 4*time.Hour {
			for _, id := range lateAtStart {
				if !visible[id] {
					t.Fatalf("record %s, late at the start, still missing after MaxDelay", id)
				}
			}
		}
		t.Logf("%v after start: %d visible, %d not yet arrived", step, len(want), late)
	}
}

func TestArrivalValidated(t *testing.T) {
	if _, err := New(Config{Token: "x", Arrival: Arrival{Late: 1.5, MaxDelay: time.Hour}}); err == nil {
		t.Fatal("Late 1.5 accepted")
	}
}
