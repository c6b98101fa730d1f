package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPagingMatchesGroundTruth(t *testing.T) {
	s := newTestServer(t, Config{Seed: 7, SignInsPerUser: 2500, AuditsPerUser: 2500})
	c := newClient(t)
	ten := s.Tenant
	v := ten.Victim()

	// Victim's sign-ins: 2,500 background records plus the story's five.
	want := ten.IDs(StreamSignIns, v.ID, beginning, ending)
	if n := ten.Count(StreamSignIns, v.ID, beginning, ending); n != len(want) || n != 2505 {
		t.Fatalf("Count = %d, len(IDs) = %d, want 2505", n, len(want))
	}
	u := logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+v.ID+"'", "$top", "1000")
	recs, pages := pageAll(t, c, u)
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	sameIDs(t, "victim sign-ins", ids(recs), want)
	for i := 1; i < len(recs); i++ {
		if recs[i].time(t).After(recs[i-1].time(t)) {
			t.Fatalf("record %d newer than its predecessor", i)
		}
	}

	// The same through userPrincipalName, upper-cased.
	recs, _ = pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userPrincipalName eq 'VICTIM@contoso.com'", "$top", "1000"))
	sameIDs(t, "victim sign-ins by UPN", ids(recs), want)

	// %24-encoded option names are not options to Graph (Kiota issues 1445,
	// 1651): the strict tenant answers 400 and records the violation.
	q := url.Values{"$filter": {"userPrincipalName eq 'VICTIM@contoso.com'"}, "$top": {"1000"}}
	mustGet(t, c, s.URL+"/v1.0/auditLogs/signIns?"+q.Encode(), 400)

	// Audits initiated by and targeting the victim.
	for _, tc := range []struct {
		stream Stream
		filter string
	}{
		{StreamAuditsInitiated, "initiatedBy/user/id eq '" + v.ID + "'"},
		{StreamAuditsTarget, "targetResources/any(t: t/id eq '" + v.ID + "')"},
		{StreamAuditsTarget, "targetResources/any(x:x/id eq '" + strings.ToUpper(v.ID) + "')"},
	} {
		want := ten.IDs(tc.stream, v.ID, beginning, ending)
		if len(want) < 2500 {
			t.Fatalf("%s: only %d records", tc.stream, len(want))
		}
		recs, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter", tc.filter, "$top", "1000"))
		sameIDs(t, tc.filter, ids(recs), want)
	}

	// Every user's sign-ins merged, default page size.
	all := ten.IDs(StreamSignIns, "", beginning, ending)
	if len(all) != 4*2500+5 {
		t.Fatalf("all sign-ins: %d", len(all))
	}
	recs, pages = pageAll(t, c, s.URL+"/v1.0/auditLogs/signIns")
	sameIDs(t, "all sign-ins", ids(recs), all)
	if pages != 11 {
		t.Errorf("pages = %d, want 11", pages)
	}
}

func TestWindowBoundsInclusive(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, SignInsPerUser: 600})
	c := newClient(t)
	ten := s.Tenant
	v := ten.Victim()
	recs, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+v.ID+"'", "$top", "1000"))
	if len(recs) != 605 {
		t.Fatalf("%d records", len(recs))
	}
	for _, w := range [][2]int{{10, 20}, {0, 0}, {100, 400}, {37, 38}, {0, 604}, {599, 604}} {
		newer, older := recs[w[0]], recs[w[1]]
		hi, lo := newer.time(t), older.time(t)
		want := w[1] - w[0] + 1
		// ge/le are inclusive on both bounds.
		f := "userId eq '" + v.ID + "' and createdDateTime ge " + ts(lo) + " and createdDateTime le " + ts(hi)
		got, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", f, "$top", "7"))
		sameIDs(t, f, ids(got), ids(recs[w[0]:w[1]+1]))
		// Count is half-open: [lo, hi+1 tick) holds the same records, [lo, hi) one fewer.
		if n := ten.Count(StreamSignIns, v.ID, lo, hi.Add(100*time.Nanosecond)); n != want {
			t.Errorf("Count[%v, %v] = %d, want %d", lo, hi, n, want)
		}
		if n := ten.Count(StreamSignIns, v.ID, lo, hi); n != want-1 {
			t.Errorf("Count[%v, %v) = %d, want %d", lo, hi, n, want-1)
		}
		if n := ten.Count(StreamSignIns, v.ID, lo.Add(time.Nanosecond), hi.Add(time.Nanosecond)); n != want-1 {
			t.Errorf("Count(%v, %v] = %d, want %d", lo, hi, n, want-1)
		}
		sameIDs(t, "IDs window", ten.IDs(StreamSignIns, v.ID, lo, hi.Add(100*time.Nanosecond)), ids(recs[w[0]:w[1]+1]))
	}
	// eq selects exactly one record.
	r := recs[42]
	got, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "createdDateTime eq "+r.CreatedDateTime))
	if len(got) < 1 || got[0].ID != r.ID && (len(got) < 2 || got[1].ID != r.ID) {
		t.Errorf("eq %s: got %v", r.CreatedDateTime, ids(got))
	}

	// The story's midnight sign-in lies exactly on a UTC midnight.
	m := ten.Story().MidnightSignIn
	if !m.Time.Equal(m.Time.Truncate(24 * time.Hour)) {
		t.Fatalf("midnight sign-in at %v", m.Time)
	}
	day := ten.IDs(StreamSignIns, v.ID, m.Time, m.Time.Add(24*time.Hour))
	if day[len(day)-1] != m.ID {
		t.Errorf("midnight sign-in is not the oldest of its day")
	}
	prev := ten.IDs(StreamSignIns, v.ID, m.Time.Add(-24*time.Hour), m.Time)
	for _, id := range prev {
		if id == m.ID {
			t.Errorf("midnight sign-in counted in the previous day")
		}
	}
	got, _ = pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter",
		"createdDateTime le "+ts(m.Time)+" and createdDateTime ge "+ts(m.Time)))
	if len(got) != 1 || got[0].ID != m.ID || got[0].CreatedDateTime != m.Time.Format("2006-01-02")+"T00:00:00Z" {
		t.Errorf("midnight eq window: %+v", got)
	}
}

func TestConcurrentPaging(t *testing.T) {
	s := newTestServer(t, Config{Seed: 11, SignInsPerUser: 1500, ExtraUsers: 6})
	want := s.Tenant.IDs(StreamSignIns, "", beginning, ending)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t)
			recs, _ := pageAll(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$top", "777"))
			sameIDs(t, "concurrent", ids(recs), want)
		}()
	}
	wg.Wait()
}

func TestNextLinkShape(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 50})
	c := newClient(t)
	v := s.Tenant.Victim()
	f := "userPrincipalName eq '" + v.UPN + "' and createdDateTime ge " + ts(testNow.Add(-20*24*time.Hour))
	b := mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", f, "$top", "5", "$select", "id,createdDateTime"), 200)
	if !strings.HasPrefix(string(b), `{"@odata.context":"`+s.URL+`/v1.0/$metadata#auditLogs/signIns(id,createdDateTime)","@odata.nextLink":"`) {
		t.Fatalf("body starts %.200s", b)
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	nl, err := url.Parse(p.NextLink)
	if err != nil {
		t.Fatal(err)
	}
	if nl.Scheme+"://"+nl.Host != s.URL || nl.Path != "/v1.0/auditLogs/signIns" {
		t.Errorf("nextLink %s", p.NextLink)
	}
	qv := nl.Query()
	if qv.Get("$filter") != f || qv.Get("$top") != "5" || qv.Get("$skiptoken") == "" || qv.Get("$select") != "id,createdDateTime" {
		t.Errorf("nextLink query %v", qv)
	}
	var rec map[string]any
	if err := json.Unmarshal(p.Value[0], &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec) != 2 {
		t.Errorf("$select: record %v", rec)
	}
	// Last page: no nextLink.
	b = mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+v.ID+"'"), 200)
	if strings.Contains(string(b), "nextLink") {
		t.Errorf("single page has a nextLink")
	}
}

func TestSkipTokenTampering(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 50})
	c := newClient(t)
	users := s.Tenant.Users()
	b := mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+users[0].ID+"'", "$top", "10"), 200)
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	nl, _ := url.Parse(p.NextLink)
	tok := nl.Query().Get("$skiptoken")
	check := func(name, u string) {
		t.Helper()
		resp, body, err := fetch(t, c, u)
		if err != nil {
			t.Fatal(err)
		}
		var ge graphError
		_ = json.Unmarshal(body, &ge)
		if resp.StatusCode != 400 || ge.Error.Code != "Request_BadRequest" || ge.Error.Message != "Invalid skip token" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	// Flip one character anywhere in the token.
	for _, i := range []int{0, 3, len(tok) / 2, len(tok) - 1} {
		bad := []byte(tok)
		if bad[i] == 'A' {
			bad[i] = 'B'
		} else {
			bad[i] = 'A'
		}
		check("tampered", logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+users[0].ID+"'", "$top", "10", "$skiptoken", string(bad)))
	}
	check("garbage", logURL(s.URL, "/v1.0/auditLogs/signIns", "$skiptoken", "not-a-token"))
	// Replayed with another filter, or on the other endpoint.
	check("other filter", logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+users[1].ID+"'", "$top", "10", "$skiptoken", tok))
	check("no filter", logURL(s.URL, "/v1.0/auditLogs/signIns", "$skiptoken", tok))
	check("other endpoint", logURL(s.URL, "/v1.0/auditLogs/directoryAudits", "$filter", "initiatedBy/user/id eq '"+users[0].ID+"'", "$skiptoken", tok))
	// A different $top, or equivalent spacing, is fine.
	mustGet(t, c, logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId  eq  '"+users[0].ID+"'", "$top", "3", "$skiptoken", tok), 200)
	// Another tenant (other seed) refuses it.
	s2 := newTestServer(t, Config{Seed: 99, SignInsPerUser: 50})
	check("other tenant", logURL(s2.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+users[0].ID+"'", "$skiptoken", tok))
}

func TestSetNowRevealsAndRetires(t *testing.T) {
	s := newTestServer(t, Config{SignInsPerUser: 300})
	ten := s.Tenant
	v := ten.Victim()
	before := ten.Count(StreamSignIns, v.ID, beginning, ending)
	if before != 305 {
		t.Fatalf("before: %d", before)
	}
	ten.SetNow(testNow.Add(3 * 24 * time.Hour))
	newer := ten.Count(StreamSignIns, v.ID, testNow, ending)
	older := ten.Count(StreamSignIns, v.ID, beginning, testNow.Add(-27*24*time.Hour))
	if newer < 15 || newer > 45 || older != 0 {
		t.Errorf("after 3 days: %d new records, %d older than retention", newer, older)
	}
	recs, _ := pageAll(t, newClient(t), logURL(s.URL, "/v1.0/auditLogs/signIns", "$filter", "userId eq '"+v.ID+"'"))
	sameIDs(t, "after SetNow", ids(recs), ten.IDs(StreamSignIns, v.ID, beginning, ending))
}

func TestDeterminism(t *testing.T) {
	a, _ := New(Config{Token: "x", Seed: 5, Now: testNow})
	b, _ := New(Config{Token: "y", Seed: 5, Now: testNow})
	c, _ := New(Config{Token: "x", Seed: 6, Now: testNow})
	ia := a.IDs(StreamAuditsTarget, a.Victim().ID, beginning, ending)
	sameIDs(t, "same seed", b.IDs(StreamAuditsTarget, b.Victim().ID, beginning, ending), ia)
	if ic := c.IDs(StreamAuditsTarget, c.Victim().ID, beginning, ending); len(ic) > 0 && ic[0] == ia[0] {
		t.Error("different seeds share record ids")
	}
	if a.Victim().ID == c.Victim().ID {
		t.Error("different seeds share user ids")
	}
}

func TestOrganizationAndHeaders(t *testing.T) {
	s := newTestServer(t, Config{})
	c := newClient(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1.0/organization", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("client-request-id", "11111111-2222-3333-4444-555555555555")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("client-request-id") != "11111111-2222-3333-4444-555555555555" || len(resp.Header.Get("request-id")) != 36 {
		t.Errorf("ids: %v", resp.Header)
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(testNow) {
		t.Errorf("Date %q", resp.Header.Get("Date"))
	}
	b := mustGet(t, c, s.URL+"/v1.0/organization", 200)
	var org struct {
		Context string `json:"@odata.context"`
		Value   []struct {
			ID              string `json:"id"`
			DisplayName     string `json:"displayName"`
			VerifiedDomains []struct {
				Name      string `json:"name"`
				IsDefault bool   `json:"isDefault"`
				IsInitial bool   `json:"isInitial"`
				Type      string `json:"type"`
			} `json:"verifiedDomains"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &org); err != nil {
		t.Fatal(err)
	}
	if org.Context != s.URL+"/v1.0/$metadata#organization" || len(org.Value) != 1 || org.Value[0].ID != s.Tenant.TenantID() ||
		org.Value[0].DisplayName != "Contoso" || org.Value[0].VerifiedDomains[0].Name != "contoso.com" ||
		!org.Value[0].VerifiedDomains[0].IsDefault || !org.Value[0].VerifiedDomains[1].IsInitial {
		t.Errorf("organization: %s", b)
	}
}
