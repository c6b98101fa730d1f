package collect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// pagesSim serves 1,200 interactive sign-ins of the victim and returns a
// client and the URL of their first page of 100.
func pagesSim(t *testing.T) (*collect.Client, string, *graphtest.Tenant) {
	t.Helper()
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 7, SignInsPerUser: 1200})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(mtToken),
		Budgets: map[string]collect.Budget{collect.ClassReports: {}},
		Retry:   collect.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	w := collect.Window{Start: mtNow.Add(-30 * 24 * time.Hour), End: mtNow}
	filter := "userId eq " + collect.ODataString(tenant.Victim().ID) + " and " + collect.RangeFilter("createdDateTime", w)
	u := srv.URL + "/v1.0/auditLogs/signIns?$filter=" + collect.QueryEscape(filter) + "&$top=100&$orderby=" + collect.QueryEscape("createdDateTime desc")
	return c, u, tenant
}

// TestPagesAheadAsPages: PagesAhead hands fn the same pages, in the same
// order and with the same numbers, as Pages, and sends the same requests;
// an error from fn ends it with that error after that page.
func TestPagesAheadAsPages(t *testing.T) {
	c, u, tenant := pagesSim(t)
	collectAll := func(pages func(context.Context, string, string, string, collect.PageFunc) (int, error)) ([]string, int) {
		var got []string
		n, err := pages(context.Background(), collect.ClassReports, "test", u, func(n int, p *collect.Page) error {
			var recs bytes.Buffer
			for _, r := range p.Records {
				recs.Write(r)
				recs.WriteByte('\n')
			}
			got = append(got, fmt.Sprintf("%d %d %s %s", n, len(p.Records), recs.Bytes(), p.NextLink))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, n
	}
	before := tenant.Stats().Requests
	want, wn := collectAll(c.Pages)
	plain := tenant.Stats().Requests - before
	got, gn := collectAll(c.PagesAhead)
	ahead := tenant.Stats().Requests - before - plain
	if wn < 10 || gn != wn || len(got) != len(want) || ahead != plain {
		t.Fatalf("Pages: %d pages, %d requests; PagesAhead: %d pages, %d requests", wn, plain, gn, ahead)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("page %d differs", i+1)
		}
	}
	stop := errors.New("stop")
	var seen []int
	n, err := c.PagesAhead(context.Background(), collect.ClassReports, "test", u, func(n int, _ *collect.Page) error {
		seen = append(seen, n)
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 || len(seen) != 3 {
		t.Fatalf("fn failing on page 3: %d pages, %v, fn saw %v", n, err, seen)
	}
}

// TestPagesAheadStoppedSaysSo: a walk whose context is cancelled while
// pages remain ends with the cancellation, never as if the collection had
// ended: the page being fetched, or its error, must not vanish in the
// fetcher's race between handing it over and seeing the cancellation
// (which once ended an audit log read "collected" after its first page).
// The race is a coin toss each time, so the walk is stopped many times.
func TestPagesAheadStoppedSaysSo(t *testing.T) {
	c, u, _ := pagesSim(t)
	for i := 0; i < 40; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		n, err := c.PagesAhead(ctx, collect.ClassReports, "test", u, func(n int, _ *collect.Page) error {
			if n == 1 {
				cancel()
			}
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) || n >= 12 {
			t.Fatalf("try %d: cancelled after page 1 of 12: %d pages, err %v", i, n, err)
		}
	}
}
