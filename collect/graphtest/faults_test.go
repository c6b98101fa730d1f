package graphtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestThrottlingScaled(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 5, Reports: Budget{5, 300 * time.Millisecond}})
	c := newClient(t)
	u := s.URL + "/v1.0/auditLogs/signIns?$top=1"
	start := time.Now()
	for i := 0; i < 5; i++ {
		mustGet(t, c, u, 200)
	}
	if time.Since(start) > 250*time.Millisecond {
		t.Skip("machine too slow for a 300 ms window")
	}
	for i := 0; i < 3; i++ {
		resp, b, err := fetch(t, c, u)
		if err != nil {
			t.Fatal(err)
		}
		ge := checkError(t, "throttled", resp, b, 429, "TooManyRequests")
		if ge.Error.Message != "Too many requests." || resp.Header.Get("Retry-After") != "0" {
			t.Errorf("429: %q, Retry-After %q", ge.Error.Message, resp.Header.Get("Retry-After"))
		}
	}
	// The directory budget is separate (and unlimited here).
	mustGet(t, c, s.URL+"/v1.0/users/victim@contoso.com", 200)
	// Throttled requests did not consume the budget: after one window all five slots are free.
	time.Sleep(310 * time.Millisecond)
	for i := 0; i < 5; i++ {
		mustGet(t, c, u, 200)
	}
	st := s.Tenant.Stats()
	if st.Throttled != 3 || st.ByStatus[429] != 3 || st.ByStatus[200] != 11 {
		t.Errorf("stats %+v", st)
	}
}

func TestThrottlingRetryAfterSeconds(t *testing.T) {
	s := newTestServer(t, Config{Directory: Budget{2, 3 * time.Second}})
	c := newClient(t)
	u := s.URL + "/v1.0/organization"
	mustGet(t, c, u, 200)
	mustGet(t, c, u, 200)
	resp, b, err := fetch(t, c, u)
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, "throttled", resp, b, 429, "TooManyRequests")
	if ra := resp.Header.Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After %q, want 3 (rounded up)", ra)
	}
	// Reports budget unaffected.
	mustGet(t, c, s.URL+"/v1.0/auditLogs/directoryAudits?$top=1", 200)
}

func TestFault5xx(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 5, Faults: Faults{Rate5xx: 1, Seed: 1}})
	c := newClient(t)
	seen := map[int]bool{}
	for i := 0; i < 60; i++ {
		for _, p := range []string{"/v1.0/auditLogs/signIns", "/v1.0/users/victim@contoso.com", "/v1.0/auditLogs/directoryAudits"} {
			resp, b, err := fetch(t, c, s.URL+p)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode < 500 {
				t.Fatalf("%s: %d", p, resp.StatusCode)
			}
			checkError(t, p, resp, b, resp.StatusCode, "ServiceUnavailable", "InternalServerError", "BadGateway", "GatewayTimeout")
			seen[resp.StatusCode] = true
		}
	}
	if !seen[503] || len(seen) < 3 {
		t.Errorf("statuses seen %v", seen)
	}
	// /organization is not subject to faults.
	mustGet(t, c, s.URL+"/v1.0/organization", 200)
	if st := s.Tenant.Stats(); st.Faults.Status5xx != 180 || st.Pages != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultTruncate(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 50, Faults: Faults{RateTruncate: 1}})
	c := newClient(t)
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1.0/auditLogs/signIns?$top=20", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.ContentLength <= 0 {
			t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read: %v", err)
		}
		if int64(len(b)) != resp.ContentLength/2 {
			t.Errorf("got %d bytes of %d", len(b), resp.ContentLength)
		}
	}
	if st := s.Tenant.Stats(); st.Faults.Truncate != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultReset(t *testing.T) {
	s := newTestServer(t, Config{Faults: Faults{RateReset: 1}})
	c := newClient(t)
	for i := 0; i < 3; i++ {
		if _, _, err := fetch(t, c, s.URL+"/v1.0/users/victim@contoso.com"); err == nil {
			t.Fatal("no connection error")
		} else {
			t.Logf("reset: %v", err)
		}
	}
	if st := s.Tenant.Stats(); st.Faults.Reset < 3 {
		t.Errorf("stats %+v", st)
	}
	mustGet(t, c, s.URL+"/v1.0/organization", 200)
}

func TestFaultStormAndLatency(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 5, Faults: Faults{Storm429: 1, StormLength: 3, Latency: 20 * time.Millisecond}})
	c := newClient(t)
	start := time.Now()
	for i := 0; i < 6; i++ {
		resp, b, err := fetch(t, c, s.URL+"/v1.0/auditLogs/signIns")
		if err != nil {
			t.Fatal(err)
		}
		checkError(t, "storm", resp, b, 429, "TooManyRequests")
		if resp.Header.Get("Retry-After") != "0" {
			t.Errorf("storm Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if time.Since(start) < 6*20*time.Millisecond {
		t.Errorf("latency not applied")
	}
	st := s.Tenant.Stats()
	if st.Faults.Storms != 2 || st.Faults.Storm429 != 6 || st.Throttled != 6 || st.Faults.Delayed != 6 {
		t.Errorf("stats %+v", st)
	}
}

// TestFaultsKeepData pages through a faulty tenant, retrying failed pages,
// and still gets exactly the ground truth.
func TestFaultsKeepData(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 400, Seed: 4,
		Faults: Faults{Rate5xx: 0.2, RateReset: 0.1, RateTruncate: 0.1, Storm429: 0.05, StormLength: 2, Seed: 9}})
	v := s.Tenant.Victim()
	want := s.Tenant.IDs(StreamSignIns, v.ID, beginning, ending)
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t)
			var got []string
			u := logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+v.ID+"'", "$top", "37")
			for tries := 0; u != "" && tries < 10000; tries++ {
				resp, b, err := fetch(t, c, u)
				if err != nil || resp.StatusCode != 200 {
					continue
				}
				var p page
				if err := json.Unmarshal(b, &p); err != nil {
					t.Errorf("decode: %v", err)
					return
				}
				for _, raw := range p.Value {
					var r logRecord
					_ = json.Unmarshal(raw, &r)
					got = append(got, r.ID)
				}
				u = p.NextLink
			}
			sameIDs(t, "faulty paging", got, want)
		}()
	}
	wg.Wait()
	st := s.Tenant.Stats()
	if st.Faults.Status5xx == 0 || st.Faults.Reset == 0 || st.Faults.Truncate == 0 || st.Faults.Storm429 == 0 {
		t.Errorf("stats %+v", st)
	}
}
