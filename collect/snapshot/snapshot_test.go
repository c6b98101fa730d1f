package snapshot

import (
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/tidwall/gjson"
)

func TestScrubSecrets(t *testing.T) {
	in := `{"id":"a","passwordCredentials":[{"keyId":"k1","secretText":null,"hint":"Ab1"},{"keyId":"k2","secretText":"s3cr\u0065t","hint":"x"}],"displayName":"é \u00e9"}`
	out, n := ScrubSecrets([]byte(in))
	want := `{"id":"a","passwordCredentials":[{"keyId":"k1","secretText":null,"hint":"Ab1"},{"keyId":"k2","secretText":null,"hint":"x"}],"displayName":"é \u00e9"}`
	if n != 1 || string(out) != want {
		t.Fatalf("got %d %s", n, out)
	}
	same := `{"passwordCredentials":[],"keyCredentials":[{"key":null}]}`
	if out, n := ScrubSecrets([]byte(same)); n != 0 || string(out) != same {
		t.Fatalf("changed a record without secrets: %s", out)
	}
}

func TestSuspiciousName(t *testing.T) {
	for s, want := range map[string]bool{".": true, "..": true, " ": true, "": true, "-_-": true, "a": true, "Newsletters": false, "From my manager": false, "社内": false} {
		if suspiciousName(s) != want {
			t.Errorf("suspiciousName(%q) = %v", s, !want)
		}
	}
}

func TestRuleFindings(t *testing.T) {
	w := collect.Window{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	folders := map[string]string{"f-rss": "RSS Feeds", "f-news": "Newsletters", "f-dot": "..."}
	for rule, flagged := range map[string]bool{
		`{"id":"1","displayName":"Newsletters","actions":{"moveToFolder":"f-news"}}`:                                     false,
		`{"id":"2","displayName":"VIP","actions":{"markImportance":"high"}}`:                                             false,
		`{"id":"3","displayName":"Move unknown","actions":{"moveToFolder":"f-unresolved"}}`:                              false,
		`{"id":"4","displayName":"x1","actions":{"redirectTo":[{"emailAddress":{"address":"a@b.example"}}]}}`:            true,
		`{"id":"5","displayName":"cleanup","actions":{"delete":true}}`:                                                   true,
		`{"id":"6","displayName":"feeds","actions":{"moveToFolder":"f-rss"}}`:                                            true,
		`{"id":"7","displayName":"hide","actions":{"copyToFolder":"f-dot"}}`:                                             true,
		`{"id":"8","displayName":"..","actions":{"markAsRead":true}}`:                                                    true,
		`{"id":"9","displayName":"fw","actions":{"forwardAsAttachmentTo":[{"emailAddress":{"address":"c@d.example"}}]}}`: true,
	} {
		f := newFindings(w)
		f.rule(userRef{}, Pointer{}, gjson.Parse(rule), folders)
		if got := len(f.order) == 1; got != flagged {
			t.Errorf("%s: flagged %v", rule, got)
		}
	}
}

func TestWindowEdges(t *testing.T) {
	w := collect.Window{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	f := newFindings(w)
	for ts, in := range map[string]bool{`"2026-11-01T00:00:00Z"`: true, `"2026-11-01T23:59:59.9999999Z"`: true, `"2026-11-02T00:00:00Z"`: false,
		`"2026-10-31T23:59:59.9999999Z"`: false, `null`: false, `"not a time"`: false} {
		if _, got := f.inWindow(gjson.Parse(ts)); got != in {
			t.Errorf("%s in window: %v", ts, got)
		}
	}
}
