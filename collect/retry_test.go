package collect_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// stormRun sends six directory requests through a simulator whose 429
// storms ("Retry-After: 0" for the whole storm) last storm of wall time,
// with eight attempts per request spread over at least minSpan. It returns
// how many requests succeeded, how many gave up throttled, and how many
// storms the simulator started.
func stormRun(t *testing.T, storm, minSpan time.Duration) (ok, failed, storms int) {
	t.Helper()
	srv, err := graphtest.NewServer(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 3,
		Faults: graphtest.Faults{Storm429: 0.5, StormFor: storm, Seed: 7}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(mtToken),
		Retry: collect.RetryPolicy{MaxAttempts: 8, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond,
			MaxRetryAfter: time.Minute, MinSpan: minSpan}})
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		_, err := c.GetJSON(context.Background(), collect.ClassDirectory, "test", srv.URL+"/v1.0/users/victim@contoso.com")
		var gu *collect.GaveUpError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &gu) && gu.Throttled:
			failed++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	return ok, failed, srv.Tenant.Stats().Faults.Storms
}

// TestRetryAfterZeroStormIsOutlasted: a service that answers every request
// 429 "Retry-After: 0" for a stretch of wall time is outlasted, because the
// last of a request's attempts waits until MinSpan has passed since the
// first (backoff with full jitter alone, at most 45 ms over eight attempts
// here, would fit inside the storm). The simulator rests ten storms' length
// after each storm, so a slow machine only moves the last attempt later
// into that calm.
func TestRetryAfterZeroStormIsOutlasted(t *testing.T) {
	const storm = 150 * time.Millisecond
	ok, failed, storms := stormRun(t, storm, storm*3/2)
	if failed != 0 || ok != 6 || storms == 0 {
		t.Errorf("MinSpan 1.5 storms: %d ok, %d gave up, %d storms; want 6 ok, 0 gave up, at least one storm", ok, failed, storms)
	}
}

// TestRetryStormLongerThanMinSpanGivesUp is the control: with a storm far
// longer than the attempts' spread, requests give up (throttled), so the
// test above passes because of MinSpan, not because no storm came.
func TestRetryStormLongerThanMinSpanGivesUp(t *testing.T) {
	if _, failed, _ := stormRun(t, time.Minute, time.Nanosecond); failed == 0 {
		t.Errorf("a one-minute storm with a 1 ns MinSpan: no request gave up")
	}
}
