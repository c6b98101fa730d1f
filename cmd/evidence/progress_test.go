package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/progress"
)

// progressEvents reads the --progress json events among stderr's lines.
func progressEvents(t *testing.T, stderr string) []progress.Event {
	t.Helper()
	var evs []progress.Event
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var ev progress.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("progress line is not an event: %v\n%s", err, line)
		}
		if _, err := time.Parse(time.RFC3339, ev.Time); err != nil || !strings.HasSuffix(ev.Time, "Z") {
			t.Errorf("event time %q is not UTC RFC 3339", ev.Time)
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestProgressEventsFromGrab: the --progress json events of a real grab agree
// with the manifest (records and pages of every source), carry an estimate,
// a percent and an ETA once a source's first page is in, and say what the
// grab waits for: its own throttling budget, and the service's 429s when the
// client is allowed more than the simulator's budget.
func TestProgressEventsFromGrab(t *testing.T) {
	for _, tc := range []struct {
		name, budget, reason string
	}{
		{"own budget", "reports=5/100ms", collect.WaitBudget},
		{"simulator's budget exhausted", "reports=50/100ms", collect.WaitRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSim(t, graphtest.Config{Seed: 7, SignInsPerUser: 3000, AuditsPerUser: 300, Reports: graphtest.Budget{Requests: 5, Per: 100 * time.Millisecond}})
			out := t.TempDir()
			code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", srv.Tenant.Victim().UPN, "--bundle", "dir",
				"--page-size", "200", "--budget", tc.budget, "--progress", "json")...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			m := readManifest(t, lastLine(stdout))
			evs := progressEvents(t, stderr)
			done := map[string]progress.Event{}
			estimated := map[string]bool{}
			waits := map[string]int{}
			for _, ev := range evs {
				switch ev.Event {
				case progress.EventEstimate:
					estimated[ev.Source] = true
					// (queries answered in their first page may hold no record)
					if ev.EstPages < 1 || ev.EstPages < ev.Pages || ev.EstRecords < ev.Records || ev.Budget == "" || ev.EstS == nil {
						t.Errorf("estimate without its figures: %+v", ev)
					}
				case progress.EventPage:
					if estimated[ev.Source] && (ev.ETAS == nil || ev.Percent == nil || *ev.Percent > 100) {
						t.Errorf("page event after the estimate without ETA or percent: %+v", ev)
					}
				case progress.EventDone:
					if _, twice := done[ev.Source]; twice {
						t.Errorf("%s done twice", ev.Source)
					}
					done[ev.Source] = ev
				case progress.EventWait:
					waits[ev.Waiting]++
				default:
					t.Errorf("unknown event %q", ev.Event)
				}
			}
			for _, s := range m.Sources {
				ev, ok := done[s.Name]
				if !ok {
					t.Errorf("no done event for %s", s.Name)
					continue
				}
				if ev.Records != s.Records || ev.Pages != s.Pages || ev.Percent == nil || *ev.Percent != 100 {
					t.Errorf("%s: done event %d records, %d pages; manifest %d records, %d pages", s.Name, ev.Records, ev.Pages, s.Records, s.Pages)
				}
				if s.Pages > 0 && !estimated[s.Name] {
					t.Errorf("%s: no estimate from its first page", s.Name)
				}
			}
			t.Logf("%d events, %d sources done, waits %v", len(evs), len(done), waits)
			if waits[tc.reason] == 0 {
				t.Errorf("no event waits for %q; waits: %v", tc.reason, waits)
			}
		})
	}
}
