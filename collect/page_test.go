package collect

import (
	"bytes"
	"encoding/json"
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

// FuzzParsePageFastMatchesStd: on any input, the fast parser accepts exactly
// what encoding/json accepts and yields the same record bytes and nextLink.
// Run longer with: go test ./collect -run '^$' -fuzz FuzzParsePageFastMatchesStd
func FuzzParsePageFastMatchesStd(f *testing.F) {
	for _, seed := range []string{
		`{"value":[]}`,
		`{"@odata.nextLink":"https://x/y?$skiptoken=a","value":[{"id":"1","a":[1, 2]}]}`,
		`{"value":[{"s":"a \"b\" \\ c\n","n":1.50e3}, {"u":"\u00e9\ud83d\ude00"}]}`,
		"{ \"value\" : [ { \"id\" : \"1\" } ] , \"x\" : { } }",
		`{"value":[{"id":1}],"value":[{"id":2}]}`,
		`{"value":[1]}`, `[]`, `{"value":[{"a":1}]} trailing`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, err1 := parsePageStd(body)
		got, err2 := parsePageFast(body)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("std err %v, fast err %v on %q", err1, err2, body)
		}
		if err1 != nil {
			return
		}
		if want.NextLink != got.NextLink || len(want.Records) != len(got.Records) {
			t.Fatalf("std %q %d records, fast %q %d records on %q", want.NextLink, len(want.Records), got.NextLink, len(got.Records), body)
		}
		for i := range want.Records {
			if string(want.Records[i]) != string(got.Records[i]) {
				t.Fatalf("record %d: std %q fast %q", i, want.Records[i], got.Records[i])
			}
		}
	})
}

// FuzzCompact: compact gives what encoding/json's Compact gives for any
// valid JSON (strings with escaped quotes and backslashes, whitespace
// inside and outside them), and valid JSON without whitespace outside its
// strings is returned as it is.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{ "a" : 1 }`, "{\n\t\"a\": [1, 2,\r\n 3]}", `{"a":"x y"}`, `{"a":"q\"uote" , "b":1}`,
		`{"a":"back\\"}`, `{"a":"back\\\\" ,"b":"\\\" "}`, `["\u00e9 x", "日本 語" ]`, `"just a string"`, `  1  `, `{"a":{"b":[{"c":" "} ]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, raw); err != nil {
			t.Fatal(err)
		}
		got := compact(raw)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compact(%q) = %q, json.Compact %q", raw, got, want.Bytes())
		}
		if bytes.Equal(raw, want.Bytes()) && &got[0] != &raw[0] {
			t.Fatalf("compact(%q) copied a record that had nothing to remove", raw)
		}
	})
}
