package collect

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParsePageKeepsRecordBytes(t *testing.T) {
	body := `{"@odata.context":"x","@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=abc",` +
		`"value":[{"id":"1","b":"\u003c\u00e9","n":1.50},` + "\n" + ` {"id" : "2", "nested":{"a":[1, 2]}}]}`
	p, err := ParsePage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.NextLink != "https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=abc" {
		t.Fatalf("nextLink %q", p.NextLink)
	}
	want := []string{`{"id":"1","b":"\u003c\u00e9","n":1.50}`, `{"id":"2","nested":{"a":[1,2]}}`}
	if len(p.Records) != len(want) {
		t.Fatalf("got %d records", len(p.Records))
	}
	for i, w := range want {
		if string(p.Records[i]) != w {
			t.Errorf("record %d: got %s want %s (escapes and number forms must survive)", i, p.Records[i], w)
		}
	}
}

func TestParsePageRejects(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{"value":[{"id":1}`, `{"value":{}}`, `{"value":[1]}`, `{"value":[]} x`, `{"@odata.nextLink":"x"}`,
	} {
		if _, err := ParsePage([]byte(body)); err == nil {
			t.Errorf("ParsePage(%q) accepted invalid input", body)
		}
	}
}

func TestRangeFilterIsHalfOpenWithDocumentedOperators(t *testing.T) {
	w := Window{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	got := RangeFilter("createdDateTime", w)
	want := "createdDateTime ge 2026-11-01T00:00:00Z and createdDateTime le 2026-11-01T23:59:59.9999999Z"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if strings.Contains(got, " lt ") || strings.Contains(got, " gt ") {
		t.Fatal("Graph documents only eq, ge and le on audit-log times")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if d, ok := ParseRetryAfter("7", now); !ok || d != 7*time.Second {
		t.Errorf("seconds: %v %v", d, ok)
	}
	if d, ok := ParseRetryAfter("Wed, 25 Nov 2026 12:00:30 GMT", now); !ok || d != 30*time.Second {
		t.Errorf("http-date: %v %v", d, ok)
	}
	if _, ok := ParseRetryAfter("soon", now); ok {
		t.Error("garbage accepted")
	}
}

func TestRedactURL(t *testing.T) {
	in := "https://acct.blob.core.windows.net/c/b?sv=2024&sig=SECRETSIG&se=x&access_token=TOK"
	got := RedactURL(in)
	if strings.Contains(got, "SECRETSIG") || strings.Contains(got, "TOK") {
		t.Fatalf("secret left in %s", got)
	}
	if !strings.Contains(got, "sv=2024") {
		t.Fatalf("non-secret parameter lost: %s", got)
	}
	// Credential words in any parameter name are redacted; OData's paging
	// cursor is kept, since provenance needs it.
	got = RedactURL("https://login.example/t?refresh_token=RT1&api-key=AK2&Code=C3&$skiptoken=PAGE7&%24top=10")
	for _, secret := range []string{"RT1", "AK2", "C3"} {
		if strings.Contains(got, secret) {
			t.Fatalf("%s left in %s", secret, got)
		}
	}
	if !strings.Contains(got, "$skiptoken=PAGE7") || !strings.Contains(got, "%24top=10") {
		t.Fatalf("paging parameters lost: %s", got)
	}
	if s := scrub(`failed: Authorization: Bearer eyJabc.def.ghi rest`); strings.Contains(s, "eyJ") {
		t.Fatalf("token left in %q", s)
	}
}

// TestLimiterNeverExceedsBudget checks the sliding-window property on the
// reserved send times: no window of length Per holds more than Requests.
func TestLimiterNeverExceedsBudget(t *testing.T) {
	b := Budget{Requests: 5, Per: 40 * time.Millisecond}
	l := NewLimiter(b, 0)
	var sent []time.Time
	for i := 0; i < 23; i++ {
		if _, err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, time.Now())
	}
	for i := b.Requests; i < len(sent); i++ {
		if gap := sent[i].Sub(sent[i-b.Requests]); gap < b.Per-time.Millisecond {
			t.Fatalf("requests %d and %d only %v apart: %d requests inside one %v window", i-b.Requests, i, gap, b.Requests+1, b.Per)
		}
	}
	if _, n := l.Waited(); n == 0 {
		t.Fatal("23 requests at 5 per window never waited")
	}
}

func TestParseBudget(t *testing.T) {
	if b, err := ParseBudget("5/10s"); err != nil || b != (Budget{5, 10 * time.Second}) {
		t.Fatalf("%v %v", b, err)
	}
	for _, bad := range []string{"5", "x/10s", "5/x", "0/1s", "5/-1s"} {
		if _, err := ParseBudget(bad); err == nil {
			t.Errorf("ParseBudget(%q) accepted", bad)
		}
	}
}

// TestRedactText: credentials inside free text (a custody detail) are
// removed wherever they sit; the rest of the text stays readable.
func TestRedactText(t *testing.T) {
	for in, want := range map[string]string{
		"uploaded to https://acct.blob.core.windows.net/c/b.tar.zst?sv=2022-11-02&sig=abc%2Bdef&se=2026 today": "uploaded to https://acct.blob.core.windows.net/c/b.tar.zst?sv=2022-11-02&sig=REDACTED&se=2026 today",
		"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net":     "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=REDACTED;EndpointSuffix=core.windows.net",
		"called with Authorization: Bearer eyJ0eXAi.x.y":                                                       "called with Authorization: Bearer REDACTED",
		"USB 4411, bag 17, $skiptoken=abc":                                                                     "USB 4411, bag 17, $skiptoken=abc",
	} {
		if got := RedactText(in); got != want {
			t.Errorf("RedactText(%q)\n got %q\nwant %q", in, got, want)
		}
	}
	if got := RedactDetail("sig", "abc"); got != "REDACTED" {
		t.Errorf("RedactDetail(sig) = %q", got)
	}
	if got := RedactDetail("url", "https://h/p?token=t"); got != "https://h/p?token=REDACTED" {
		t.Errorf("RedactDetail(url) = %q", got)
	}
}

// Defender's advanced hunting is paced at its documented quota (45 calls a
// minute) and given the 200 s a query may run; other classes keep the
// default timeout.
func TestHuntingDefaults(t *testing.T) {
	c, err := New(Options{GraphURL: "http://127.0.0.1:1", Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	if b := c.limiters[ClassHunting].budget; b != (Budget{Requests: 45, Per: time.Minute}) {
		t.Errorf("hunting budget %v", b)
	}
	if c.hunting.Timeout < 200*time.Second || c.http.Timeout >= c.hunting.Timeout || c.hunting.Transport != c.http.Transport {
		t.Errorf("timeouts: hunting %v, others %v", c.hunting.Timeout, c.http.Timeout)
	}
}

// TestLimiterCountsFromSent: a request that left later than the limiter
// let it go (Sent) moves the next request of its slot to one window after
// it really left.
func TestLimiterCountsFromSent(t *testing.T) {
	b := Budget{Requests: 3, Per: 20 * time.Millisecond}
	l := NewLimiter(b, 0)
	var slots []int
	for range 3 {
		slot, _, err := l.reserve(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		slots = append(slots, slot)
	}
	left := time.Now().Add(15 * time.Millisecond) // the first request was written late
	l.Sent(slots[0], left)
	second := l.sent[slots[1]]
	l.Sent(slots[1], time.Now().Add(-time.Hour)) // earlier than reserved: no change
	slot, _, err := l.reserve(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if slot != slots[0] || l.sent[slot].Before(left.Add(b.Per)) {
		t.Fatalf("the 4th request reserved slot %d at %v; the 1st left at %v, so not before %v", slot, l.sent[slot], left, left.Add(b.Per))
	}
	if !l.sent[slots[1]].Equal(second) {
		t.Fatalf("Sent with an earlier time moved slot %d back", slots[1])
	}
}
