package graphtest

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestMillionRecordStream(t *testing.T) {
	const n = 1_000_000
	var s *Server
	if got := allocated(func() { s = newTestServer(t, Config{Seed: 2, SignInsPerUser: n, AuditsPerUser: n}) }); got > 4<<20 {
		t.Errorf("New allocated %d bytes", got)
	}
	ten := s.Tenant
	v := ten.Victim()

	start := time.Now()
	if got := ten.Count(StreamSignIns, v.ID, beginning, ending); got != n+5 {
		t.Fatalf("Count = %d", got)
	}
	if got := ten.Count(StreamSignIns, "", beginning, ending); got != 4*n+5 {
		t.Fatalf("Count(all) = %d", got)
	}
	if got := ten.Count(StreamAuditsTarget, v.ID, beginning, ending); got < n {
		t.Fatalf("Count(audits.target) = %d", got)
	}
	mid := testNow.Add(-13*24*time.Hour - 7*time.Hour)
	half := ten.Count(StreamSignIns, v.ID, mid, ending)
	if half < n*13/30 || half > n*14/30 {
		t.Errorf("Count over the last ~13 days = %d", half)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Count took %v", d)
	}
	if a := testing.AllocsPerRun(20, func() { ten.Count(StreamSignIns, v.ID, mid, ending) }); a > 20 {
		t.Errorf("Count allocates %v times", a)
	}

	// A page from the middle of the stream costs about its own records.
	c := newClient(t)
	f := "userId eq '" + v.ID + "' and createdDateTime le " + ts(mid)
	u := logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", f, "$top", "1000")
	mustGet(t, c, u, 200) // warm the connection
	var body []byte
	got := allocated(func() { body = mustGet(t, c, u, 200) })
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Value) != 1000 || p.NextLink == "" {
		t.Fatalf("page: %d records, nextLink %q", len(p.Value), p.NextLink)
	}
	perRecord := len(body) / 1000
	t.Logf("page: %d bytes of JSON, %d bytes allocated (server and client); the stream would be ~%d MB",
		len(body), got, perRecord*n>>20)
	if got > 64<<20 || got > uint64(perRecord*n/20) {
		t.Errorf("serving a page allocated %d bytes", got)
	}
	var first logRecord
	if err := json.Unmarshal(p.Value[0], &first); err != nil {
		t.Fatal(err)
	}
	if first.time(t).After(mid) {
		t.Errorf("first record %s after the bound", first.CreatedDateTime)
	}
	// The next page continues exactly after it.
	var p2 page
	if err := json.Unmarshal(mustGet(t, c, p.NextLink, 200), &p2); err != nil {
		t.Fatal(err)
	}
	want := ten.IDs(StreamSignIns, v.ID, mid.Add(-2*time.Hour), mid.Add(time.Nanosecond))
	var gotIDs []string
	for _, raw := range append(p.Value, p2.Value...) {
		var r logRecord
		_ = json.Unmarshal(raw, &r)
		gotIDs = append(gotIDs, r.ID)
	}
	if len(want) > len(gotIDs) {
		want = want[:len(gotIDs)]
	}
	sameIDs(t, "two pages", gotIDs[:len(want)], want)
}
