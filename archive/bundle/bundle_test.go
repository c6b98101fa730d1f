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
