package record

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		"@SUM(A1:A2)":                "'@SUM(A1:A2)",
		"+1":                         "'+1",
		"-2":                         "'-2",
		"\tx":                        "'\tx",
		"\rx":                        "'\rx",
		"victim@contoso.com":         "victim@contoso.com",
		"":                           "",
		"sōta@contoso.co.jp":         "sōta@contoso.co.jp",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEmptySourceHasHeader: a source without records still gets a CSV that
// names its columns (BOM, header row, CRLF) and an empty JSON Lines file.
func TestEmptySourceHasHeader(t *testing.T) {
	var j, c bytes.Buffer
	if _, err := NewWriter(&j, &c, []Column{Str("Date (UTC)", "createdDateTime"), Note("Matched", "side")}); err != nil {
		t.Fatal(err)
	}
	if j.Len() != 0 {
		t.Errorf("JSON Lines of no record: %q", j.String())
	}
	if got, want := c.String(), "\ufeffDate (UTC),Matched\r\n"; got != want {
		t.Errorf("CSV of no record = %q, want %q", got, want)
	}
}

// TestWriter: the JSON Lines keep the record's bytes; each CSV row holds
// the columns (path, time, raw JSON, computed, note), quoted per RFC 4180
// and neutralised; a record with a newline is refused.
func TestWriter(t *testing.T) {
	var j, c bytes.Buffer
	cols := []Column{
		Str("User", "user.upn"),
		Time("Date (UTC)", "createdDateTime"),
		Raw("List", "list"),
		Func("Len", func(r gjson.Result) string { return strings.Repeat("x", len(r.Get("list").Array())) }),
		Note("Matched", "side"),
	}
	w, err := NewWriter(&j, &c, cols)
	if err != nil {
		t.Fatal(err)
	}
	recs := []string{
		`{"user":{"upn":"=cmd|' /C calc'!A0"},"createdDateTime":"2026-11-15T15:00:41+09:00","list":[1,"a,b"]}`,
		`{"user":{"upn":"sōta@contoso.co.jp"},"createdDateTime":"not a time","list":null}`,
	}
	if err := w.WriteNoted([]byte(recs[0]), map[string]string{"side": "both"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]byte(recs[1])); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]byte("{}\n")); err == nil {
		t.Error("a record ending in a newline was accepted")
	}
	if err := w.Write(nil); err == nil {
		t.Error("an empty record was accepted")
	}
	if j.String() != recs[0]+"\n"+recs[1]+"\n" {
		t.Errorf("JSON Lines bytes changed:\n%s", j.String())
	}
	if !strings.HasPrefix(c.String(), "\ufeff") || strings.Count(c.String(), "\r\n") != 3 {
		t.Fatalf("CSV lacks the BOM or CRLF line ends: %q", c.String())
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"User", "Date (UTC)", "List", "Len", "Matched"},
		{`'=cmd|' /C calc'!A0`, "2026-11-15T06:00:41Z", `[1,"a,b"]`, "xx", "both"},
		{"sōta@contoso.co.jp", "not a time", "", "", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestCSVPath(t *testing.T) {
	if got := CSVPath("signins/interactive.jsonl"); got != "signins/interactive.csv" {
		t.Errorf("CSVPath = %q", got)
	}
}

// TestIndexGetAsGjson: the index answers every path as gjson's Get does on
// the whole record: nested objects and arrays, duplicate keys, absent
// members, paths through scalars, and gjson syntax (served by gjson).
func TestIndexGetAsGjson(t *testing.T) {
	recs := []string{
		`{"a":1,"b":{"c":"x","c":"dup","d":{"e":[1,{"f":"deep"}]}},"arr":[{"k":"User-Agent","v":"ua"},{"k":"x","v":"y"}],"s":"str","n":null}`,
		`{"auditData":{"AppId":"","ApplicationId":"app","Parameters":[{"Name":"p","Value":"1"}]},"userId":"u"}`,
		`{"targetResources":[{"id":"t0","modifiedProperties":[{"displayName":"m0","oldValue":"\"o\"","newValue":"[1]"}]},{"id":"t1"}]}`,
	}
	paths := []string{"a", "b", "b.c", "b.d.e", "b.d.e.0", "b.d.e.1.f", "b.d.e.2", "b.x", "arr.0.k", "arr.1.v", "arr.2.k", "arr.k",
		"s.x", "n.x", "missing", "missing.deeper", "auditData.AppId", "auditData.ApplicationId", "auditData.Parameters", "auditData.Parameters.0.Name",
		"userId", "targetResources.0.modifiedProperties.0.displayName", "targetResources.0.modifiedProperties.0.newValue",
		"targetResources.1.id", "targetResources.1.modifiedProperties.0.displayName", "arr.#.k", "arr.#(k==x).v", "b.d.e.#"}
	var x Index
	for round := 0; round < 2; round++ { // the second round reuses the slices
		for _, rec := range recs {
			r := gjson.Parse(rec)
			x.Reset(r)
			for _, p := range paths {
				want, got := r.Get(p), x.Get(r, p)
				if got.Raw != want.Raw || got.Exists() != want.Exists() || got.String() != want.String() {
					t.Errorf("%s in %s: index %q (exists %v), gjson %q (exists %v)", p, rec, got.Raw, got.Exists(), want.Raw, want.Exists())
				}
			}
		}
	}
}

// TestWriteBatchAsWrite: WriteBatch writes the same JSON Lines and CSV
// bytes as a Write of each record in turn, and on a record it refuses it
// stops there, the records before it written, as Write would.
func TestWriteBatchAsWrite(t *testing.T) {
	cols := []Column{
		Str("User", "user.upn"),
		Time("Date (UTC)", "createdDateTime"),
		Raw("List", "list"),
		First("Who", "user.upn", "user.id"),
		Note("Matched", "side"),
	}
	var recs [][]byte
	for i := range 300 {
		recs = append(recs, []byte(fmt.Sprintf(`{"user":{"upn":"=u%d@contoso.com","id":"%d"},"createdDateTime":"2026-11-15T15:00:%02d+09:00","list":[%d,"a,\"b\""]}`, i, i, i%60, i)))
	}
	write := func(batch bool, recs [][]byte) (string, string, error) {
		var j, c bytes.Buffer
		w, err := NewWriter(&j, &c, cols)
		if err != nil {
			t.Fatal(err)
		}
		if batch {
			err = w.WriteBatch(recs)
		} else {
			for _, r := range recs {
				if err = w.Write(r); err != nil {
					break
				}
			}
		}
		return j.String(), c.String(), err
	}
	j1, c1, err1 := write(false, recs)
	j2, c2, err2 := write(true, recs)
	if err1 != nil || err2 != nil || j1 != j2 || c1 != c2 || strings.Count(c2, "\r\n") != 301 {
		t.Fatalf("WriteBatch wrote other bytes than Write (errors %v, %v)", err1, err2)
	}
	bad := append(append(append([][]byte{}, recs[:100]...), []byte("{}\n")), recs[100:]...)
	j1, c1, err1 = write(false, bad)
	j2, c2, err2 = write(true, bad)
	if err1 == nil || err2 == nil || j1 != j2 || c1 != c2 || strings.Count(j2, "\n") != 100 {
		t.Fatalf("a refused record in a batch: errors %v, %v; %d lines written", err1, err2, strings.Count(j2, "\n"))
	}
}

// FuzzCSVAsEncodingCSV: a row's bytes are those encoding/csv writes with
// UseCRLF, the writer the CSV views were made with before 2026-12-05, so
// every CSV file keeps its bytes (and reference bundles their hashes).
func FuzzCSVAsEncodingCSV(f *testing.F) {
	for _, s := range []string{"", "a", `\.`, " lead", "\tx", "a,b", `{"a":"b","c":[1,2]}`, "x\r\ny", "\r", "\n", `""`, "\u00a0nbsp", "=1+1", "日本語,\"x\"", "a\rb\nc\"d"} {
		f.Add(s, "second", s+s)
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		cells := []string{a, b, c}
		var got, want strings.Builder
		w, err := NewCSV(&got, []string{"h1", "h,2", ""})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Row(append([]string(nil), cells...)); err != nil {
			t.Fatal(err)
		}
		want.WriteString("\ufeff")
		cw := csv.NewWriter(&want)
		cw.UseCRLF = true
		cw.Write([]string{"h1", "h,2", ""}) //nolint:errcheck // strings.Builder
		for i := range cells {
			cells[i] = Neutralize(cells[i])
		}
		cw.Write(cells) //nolint:errcheck
		cw.Flush()
		if got.String() != want.String() {
			t.Fatalf("row of %q:\n got %q\nwant %q", []string{a, b, c}, got.String(), want.String())
		}
	})
}
