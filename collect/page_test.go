package collect

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// TestParsePageFastMatchesStd: the fast page parser gives exactly the bytes
// of the encoding/json reference (json.Compact of each record), on
// hand-made whitespace and escapes and on real pages of the simulated
// tenant, and rejects what the reference rejects.
func TestParsePageFastMatchesStd(t *testing.T) {
	bodies := []string{
		`{"value":[]}`,
		"{ \"value\" : [ {\"a\" : \"x y\\\" \\\\\" , \"b\":[1, 2.50, -0e3, true,null]} ,\n\t{\"c\":{\"d\" :\"\\u00e9 \\n\"}} ] , \"@odata.nextLink\" : \"https://x/?a=1&$skiptoken=b c\"}",
		`{"@odata.context":"c","value":[{"k":"\u003c"}],"value":[{"k":2}]}`,
	}
	srv, err := graphtest.NewServer(graphtest.Config{Seed: 2, Token: "t", Now: time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, path := range []string{"/v1.0/auditLogs/signIns?$top=300", "/beta/auditLogs/signIns?$top=300", "/v1.0/auditLogs/directoryAudits?$top=300"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, string(b))
	}
	for i, body := range bodies {
		want, err1 := parsePageStd([]byte(body))
		got, err2 := parsePageFast([]byte(body))
		if err1 != nil || err2 != nil {
			t.Fatalf("body %d: std %v, fast %v", i, err1, err2)
		}
		if got.NextLink != want.NextLink || len(got.Records) != len(want.Records) {
			t.Fatalf("body %d: nextLink %q/%q, %d/%d records", i, got.NextLink, want.NextLink, len(got.Records), len(want.Records))
		}
		for j := range want.Records {
			if string(got.Records[j]) != string(want.Records[j]) {
				t.Fatalf("body %d record %d:\nfast %s\nstd  %s", i, j, got.Records[j], want.Records[j])
			}
		}
	}
	for _, bad := range []string{``, `[]`, `{"value":[{"id":1}`, `{"value":{}}`, `{"value":[1]}`, `{"value":[]} x`, `{"@odata.nextLink":"x"}`, `{"value":[],"@odata.nextLink":5}`} {
		if _, err := parsePageFast([]byte(bad)); err == nil {
			t.Errorf("fast parser accepted %q", bad)
		}
	}
}
