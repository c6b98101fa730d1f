package bundle

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestRecordFiles: the JSONL keeps the record's bytes, the CSV is UTF-8 with
// a BOM, RFC 4180 quoted, neutralised, and non-ASCII survives; Seal hashes
// what was written; the manifest lists the record count.
func TestRecordFiles(t *testing.T) {
	out := t.TempDir()
	st, err := Create(out, "evidence-test")
	if err != nil {
		t.Fatal(err)
	}
	cols := []collect.Column{collect.Str("Username", "userPrincipalName"), collect.Str("App", "appDisplayName"), collect.Raw("Raw", "list")}
	sink, err := st.Open("signins/test.jsonl", "test", cols)
	if err != nil {
		t.Fatal(err)
	}
	recs := []string{
		`{"userPrincipalName":"sōta@contoso.co.jp","appDisplayName":"=HYPERLINK(\"http://evil\",\"x\")","list":[1,"a,b"]}`,
		`{"userPrincipalName":"bob@contoso.com","appDisplayName":"@SUM(1+1)\nnext line","list":null}`,
	}
	for _, r := range recs {
		if err := sink.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Write([]byte("{}\n")); err == nil {
		t.Fatal("a record with a newline was accepted")
	}
	m := &manifest.Manifest{Format: manifest.Format}
	if err := st.Seal(m); err != nil {
		t.Fatal(err)
	}
	dir, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	j, _ := os.ReadFile(filepath.Join(dir, "signins", "test.jsonl"))
	if string(j) != recs[0]+"\n"+recs[1]+"\n" {
		t.Fatalf("jsonl bytes changed:\n%s", j)
	}
	c, _ := os.ReadFile(filepath.Join(dir, "signins", "test.csv"))
	if !strings.HasPrefix(string(c), "\ufeff") || !strings.Contains(string(c), "\r\n") {
		t.Fatal("CSV lacks the BOM or CRLF line ends")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(c), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Username", "App", "Raw"}, {"sōta@contoso.co.jp", `'=HYPERLINK("http://evil","x")`, `[1,"a,b"]`}, {"bob@contoso.com", "'@SUM(1+1)\nnext line", ""}}
	for i := range want {
		for k := range want[i] {
			if rows[i][k] != want[i][k] {
				t.Errorf("row %d col %d = %q, want %q", i, k, rows[i][k], want[i][k])
			}
		}
	}
	res, err := manifest.VerifyDir(dir)
	if err != nil || !res.OK() {
		t.Fatalf("sealed stage does not verify: %v %+v", err, res)
	}
	for _, f := range m.Files {
		if f.Path == "signins/test.jsonl" && (f.Records == nil || *f.Records != 2) {
			t.Fatalf("manifest record count %v", f.Records)
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	out := t.TempDir()
	st, err := Create(out, "evidence-x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create("a.txt", "", MediaText); err != nil {
		t.Fatal(err)
	}
	st.Abort()
	if e, _ := os.ReadDir(out); len(e) != 0 {
		t.Fatalf("abort left %v", e)
	}
	if _, err := Create(out, "../x"); err == nil {
		t.Fatal("a bundle name with a path was accepted")
	}
}

// TestCSVNeutralisesFormulasKeepsUnicode: cells that a spreadsheet would
// evaluate get a leading quote in the CSV view, the JSON Lines record stays
// byte for byte, and non-ASCII text round-trips; audit notes fill the
// Matched column.
func TestCSVNeutralisesFormulasKeepsUnicode(t *testing.T) {
	out := t.TempDir()
	st, err := Create(out, "b")
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"1","createdDateTime":"2026-11-15T06:00:41Z","userAgent":"=HYPERLINK(\"http://evil.example\",\"x\")",` +
		`"userDisplayName":"@SUM(A1:A9)","userPrincipalName":"sōta@contoso.co.jp","appDisplayName":"+cmd","ipAddress":"-1",` +
		`"location":{"city":"千代田区","state":"東京都","countryOrRegion":"JP"},"signInEventTypes":["interactiveUser"]}`
	sink, err := st.Open("signins/interactive.jsonl", "signins.interactive", collect.UserSignInColumns)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Write([]byte(rec)); err != nil {
		t.Fatal(err)
	}
	audit := `{"id":"a1","activityDateTime":"2026-11-15T06:06:03Z","activityDisplayName":"=cmd|' /C calc'!A0","initiatedBy":{"user":{"id":"u","userPrincipalName":"sōta@contoso.co.jp"}}}`
	asink, err := st.Open("audits/directory.jsonl", "audits", collect.AuditColumns)
	if err != nil {
		t.Fatal(err)
	}
	if err := asink.(collect.NotedSink).WriteNoted([]byte(audit), map[string]string{collect.SideNote: "both"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Seal(&manifest.Manifest{Format: manifest.Format}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, ".b.partial")
	b, err := os.ReadFile(filepath.Join(dir, "signins", "interactive.jsonl"))
	if err != nil || string(b) != rec+"\n" {
		t.Fatalf("JSON Lines changed: %q %v", b, err)
	}
	row := readRow(t, filepath.Join(dir, "signins", "interactive.csv"))
	for col, want := range map[string]string{
		"User agent": `'=HYPERLINK("http://evil.example","x")`, "User": "'@SUM(A1:A9)", "Application": "'+cmd", "IP address": "'-1",
		"Username": "sōta@contoso.co.jp", "Location": "千代田区, 東京都, JP", "Date (UTC)": "2026-11-15T06:00:41Z", "Sign-in event types": `["interactiveUser"]`,
	} {
		if row[col] != want {
			t.Errorf("CSV %s = %q, want %q", col, row[col], want)
		}
	}
	arow := readRow(t, filepath.Join(dir, "audits", "directory.csv"))
	if arow["Activity"] != `'=cmd|' /C calc'!A0` || arow["Matched"] != "both" || arow["ActorUserPrincipalName"] != "sōta@contoso.co.jp" || arow["Id"] != "a1" {
		t.Errorf("audit CSV row %v", arow)
	}
}

func readRow(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "\ufeff") || !strings.Contains(string(b), "\r\n") {
		t.Fatalf("%s: no BOM or no CRLF", path)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	out := map[string]string{}
	for i, h := range rows[0] {
		out[h] = rows[1][i]
	}
	return out
}

// TestDropViewsAndTrim: what a partial bundle sealed on a full disk gives
// up: DropMedia removes the CSV views and names them; TrimSource keeps the
// first lines the source counted (records of any size, one larger than the
// write buffer) and drops the rest; the sealed bundle verifies, its
// manifest hashes and counts the records as they are on disk, and the
// records kept are byte for byte those written.
func TestDropViewsAndTrim(t *testing.T) {
	st, err := Create(t.TempDir(), "evidence-trim")
	if err != nil {
		t.Fatal(err)
	}
	sink, err := st.Open("signins/test.jsonl", "test", []collect.Column{collect.Str("Id", "id")})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"id":"big","pad":"` + strings.Repeat("x", 300<<10) + `"}`
	recs := []string{`{"id":"a"}`, big, `{"id":"b"}`, `{"id":"c"}`, `{"id":"d"}`}
	for _, r := range recs {
		if err := sink.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	views, err := st.DropMedia(MediaCSV)
	if err != nil || len(views) != 1 || views[0] != "signins/test.csv" {
		t.Fatalf("DropMedia: %v %v", views, err)
	}
	if cut, err := st.TrimSource("test", nil, 3); err != nil || cut != 2 {
		t.Fatalf("TrimSource: cut %d, %v; want 2", cut, err)
	}
	m := &manifest.Manifest{Format: manifest.Format}
	if err := st.Seal(m); err != nil {
		t.Fatal(err)
	}
	dir, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "signins", "test.csv")); !os.IsNotExist(err) {
		t.Errorf("the dropped view is still there: %v", err)
	}
	j, _ := os.ReadFile(filepath.Join(dir, "signins", "test.jsonl"))
	if string(j) != strings.Join(recs[:3], "\n")+"\n" {
		t.Fatalf("trimmed jsonl: %d bytes, want the first 3 records as written", len(j))
	}
	if len(m.Files) != 1 || m.Files[0].Records == nil || *m.Files[0].Records != 3 || m.Files[0].Size != int64(len(j)) {
		t.Fatalf("manifest files after the trim: %+v", m.Files)
	}
	if res, err := manifest.VerifyDir(dir); err != nil || !res.OK() {
		t.Fatalf("trimmed bundle does not verify: %v %+v", err, res)
	}
}
