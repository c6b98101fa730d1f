package graphtest

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mtURL(s *Server, filter string, extra ...string) string {
	u := s.URL + "/v1.0/admin/exchange/tracing/messageTraces"
	q := []string{}
	if filter != "" {
		q = append(q, "$filter="+url.QueryEscape(filter))
	}
	q = append(q, extra...)
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return u
}

func recvRange(start, end time.Time) string {
	return "receivedDateTime ge " + FormatTime(start) + " and receivedDateTime le " + FormatTime(end)
}

// TestMessageTraceRules: the documented window rules are enforced with
// Graph's 400 error shape.
func TestMessageTraceRules(t *testing.T) {
	s := newTestServer(t, Config{})
	c := newClient(t)
	day := 24 * time.Hour
	cases := []struct {
		name, filter string
		want         int
	}{
		{"10 days", recvRange(testNow.Add(-10*day), testNow), 200},
		{"over 10 days", recvRange(testNow.Add(-10*day-time.Second), testNow), 400},
		{"90 days back", recvRange(testNow.Add(-90*day), testNow.Add(-80*day)), 200},
		{"over 90 days back", recvRange(testNow.Add(-90*day-time.Second), testNow.Add(-81*day)), 400},
		{"end in the future", recvRange(testNow.Add(-day), testNow.Add(time.Second)), 400},
		{"start after end", recvRange(testNow, testNow.Add(-day)), 400},
		{"only ge", "receivedDateTime ge " + FormatTime(testNow.Add(-day)), 400},
		{"only le", "receivedDateTime le " + FormatTime(testNow), 400},
		{"lt", "receivedDateTime ge " + FormatTime(testNow.Add(-day)) + " and receivedDateTime lt " + FormatTime(testNow), 400},
		{"sender", recvRange(testNow.Add(-day), testNow) + " and senderAddress eq 'victim@contoso.com'", 200},
		{"or", "senderAddress eq 'a@b.example' or recipientAddress eq 'a@b.example'", 400},
		{"unknown property", "userId eq 'x'", 400},
	}
	for _, tc := range cases {
		resp, b, err := fetch(t, c, mtURL(s, tc.filter))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.want, b)
			continue
		}
		if tc.want == 400 {
			var e struct {
				Error struct {
					Code, Message string
					InnerError    map[string]string
				}
			}
			if json.Unmarshal(b, &e) != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.InnerError["request-id"] == "" {
				t.Errorf("%s: not Graph's error shape: %s", tc.name, b)
			}
		}
	}
	mustGet(t, c, mtURL(s, "", "$top=5001"), 400)
	mustGet(t, c, mtURL(s, "", "$top=0"), 400)
	mustGet(t, c, mtURL(s, "", "$select=id"), 400)
}

// TestMessageTracePaging: pages of $top rows link by nextLink, give each
// (id, recipient) row of the window exactly once, newest first; without a
// filter only the last 48 hours come back.
func TestMessageTracePaging(t *testing.T) {
	s := newTestServer(t, Config{MailPerUser: 200, ExtraUsers: 6})
	c := newClient(t)
	start, end := testNow.Add(-10*24*time.Hour), testNow
	want := s.Tenant.TraceRows(nil, start, end.Add(tickDur))
	if len(want) < 300 {
		t.Fatalf("only %d rows: paging not exercised", len(want))
	}
	next := mtURL(s, recvRange(start, end), "$top=97")
	var got []TraceRow
	pages := 0
	for next != "" {
		var p struct {
			Next  string `json:"@odata.nextLink"`
			Value []struct {
				ID, RecipientAddress, SenderAddress, ReceivedDateTime string
			}
		}
		if err := json.Unmarshal(mustGet(t, c, next, 200), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Value) > 97 {
			t.Fatalf("page of %d rows", len(p.Value))
		}
		for _, v := range p.Value {
			at, _ := time.Parse(time.RFC3339Nano, v.ReceivedDateTime)
			got = append(got, TraceRow{ID: v.ID, Recipient: v.RecipientAddress, Received: at})
		}
		next, pages = p.Next, pages+1
	}
	if len(got) != len(want) || pages < 4 {
		t.Fatalf("got %d rows in %d pages, want %d", len(got), pages, len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Recipient != want[i].Recipient {
			t.Fatalf("row %d: (%s, %s), want (%s, %s)", i, got[i].ID, got[i].Recipient, want[i].ID, want[i].Recipient)
		}
		if i > 0 && got[i].Received.After(got[i-1].Received) {
			t.Fatalf("row %d is newer than row %d", i, i-1)
		}
	}
	// Tampered skip token.
	mustGet(t, c, mtURL(s, recvRange(start, end), "$top=97", "$skiptoken=AAAA"), 400)

	var p struct {
		Value []struct{ ReceivedDateTime string }
	}
	if err := json.Unmarshal(mustGet(t, c, mtURL(s, "", "$top=5000"), 200), &p); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Tenant.TraceRows(nil, testNow.Add(-48*time.Hour+tickDur), testNow.Add(tickDur))); len(p.Value) != n || n == 0 {
		t.Errorf("no filter: %d rows, want the last 48 hours' %d", len(p.Value), n)
	}
}

// TestMessageTraceStory: the phishing mail to 8 recipients is 8 rows with
// one trace id; the self-sent mail has a row whose sender and recipient are
// the victim; details answer per recipient.
func TestMessageTraceStory(t *testing.T) {
	s := newTestServer(t, Config{MailPerUser: -1})
	c := newClient(t)
	st := s.Tenant.Story()
	filter := recvRange(st.Mail.MultiRecipient.Time.Add(-time.Hour), st.Mail.MultiRecipient.Time.Add(time.Hour)) + " and id eq '" + st.Mail.MultiRecipient.TraceID + "'"
	var p struct {
		Value []struct{ ID, RecipientAddress, SenderAddress, Status string }
	}
	if err := json.Unmarshal(mustGet(t, c, mtURL(s, filter), 200), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Value) != 8 {
		t.Fatalf("%d rows for the 8-recipient mail", len(p.Value))
	}
	self := st.Mail.SelfAndOthers
	rows := s.Tenant.TraceRows([]string{st.Victim.Mail}, self.Time, self.Time.Add(time.Second))
	n := 0
	for _, r := range rows {
		if r.ID == self.TraceID && strings.EqualFold(r.Sender, r.Recipient) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("self-sent rows: %d", n)
	}
	u := s.URL + "/v1.0/admin/exchange/tracing/messageTraces/" + self.TraceID + "/getDetailsByRecipient(recipientAddress='" + self.Recipients[1] + "')"
	var d struct{ Value []struct{ ID, Event string } }
	if err := json.Unmarshal(mustGet(t, c, u, 200), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Value) < 2 || d.Value[0].ID != self.TraceID || d.Value[len(d.Value)-1].Event != "Send external" {
		t.Errorf("details %+v", d.Value)
	}
	mustGet(t, c, s.URL+"/v1.0/admin/exchange/tracing/messageTraces/"+self.TraceID+"/getDetailsByRecipient(recipientAddress='nobody@contoso.com')", 404)
}

// TestMessageTraceBudgetAndPrerequisite: the message trace budget answers
// 429 with Retry-After; a tenant without the service principal answers 401
// naming the app.
func TestMessageTraceBudgetAndPrerequisite(t *testing.T) {
	s := newTestServer(t, Config{MessageTrace: Budget{Requests: 2, Per: time.Hour}})
	c := newClient(t)
	mustGet(t, c, mtURL(s, ""), 200)
	mustGet(t, c, mtURL(s, ""), 200)
	resp, _, err := fetch(t, c, mtURL(s, ""))
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %v %v", resp, err)
	}
	// Other budgets are separate.
	mustGet(t, c, s.URL+"/v1.0/auditLogs/directoryAudits?$top=1", 200)

	n := newTestServer(t, Config{NoMessageTraceSP: true})
	b := mustGet(t, c, mtURL(n, ""), 401)
	if !strings.Contains(string(b), MessageTraceAppID) {
		t.Errorf("401 does not name the app: %s", b)
	}
}
