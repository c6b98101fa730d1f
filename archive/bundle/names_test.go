package bundle

import (
	"strings"
	"testing"
	"time"
)

// TestNamesArePortable: the names hold no character that GNU tar, Windows,
// SharePoint or OneDrive treat specially, and keep their time readable.
func TestNamesArePortable(t *testing.T) {
	at := time.Date(2026, 12, 5, 6, 10, 48, 999_000_000, time.FixedZone("JST", 9*3600))
	for _, c := range []struct{ got, want string }{
		{Name(at, "3c2c65ce-1111-2222-3333-444444444444"), "evidence-20261204T211048Z-3c2c65ce"},
		{ExportName(at, at.Add(24*time.Hour)), "evidence-export-20261204T211048Z--20261205T211048Z"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
		if strings.ContainsAny(c.got, `:\/*?"<>|`) {
			t.Errorf("%q holds a character Windows or tar refuse", c.got)
		}
		if _, err := time.Parse(StampLayout, strings.Split(strings.TrimPrefix(strings.TrimPrefix(c.got, "evidence-export-"), "evidence-"), "-")[0]); err != nil {
			t.Errorf("%q: the stamp does not parse back: %v", c.got, err)
		}
	}
}
