package collect_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// TestRetryAfterZeroStormIsOutlasted: a service that answers every request
// 429 "Retry-After: 0" for a stretch of wall time is outlasted, because the
// attempts of one request are spread over at least MinSpan (backoff with
// full jitter alone would fit all eight attempts inside the storm). The
// same storm with a MinSpan shorter than it loses requests, so the test
// proves the spread, not luck.
func TestRetryAfterZeroStormIsOutlasted(t *testing.T) {
	const storm = 150 * time.Millisecond
	run := func(minSpan time.Duration) (ok, failed, storms int) {
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
	ok, failed, storms := run(2 * storm)
	if failed != 0 || ok != 6 || storms == 0 {
		t.Errorf("MinSpan 2×storm: %d ok, %d gave up, %d storms; want 6 ok, 0 gave up, at least one storm", ok, failed, storms)
	}
	if _, failed, _ := run(time.Nanosecond); failed == 0 {
		t.Errorf("MinSpan shorter than the storm: no request gave up; the test does not exercise the storm")
	}
}
