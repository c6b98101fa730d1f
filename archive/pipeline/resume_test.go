package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestResumeState: grab.json is written once and found from the output
// directory; two interrupted grabs there must be told apart; the saved
// command line leaves out --resume.
func TestResumeState(t *testing.T) {
	out := t.TempDir()
	started := time.Date(2026, 12, 5, 6, 10, 48, 0, time.UTC)
	dir := ResumeDirFor(out, "evidence-20261205T061048Z-3c2c65ce")
	args := []string{"--user", "victim@contoso.com", "--sources", "ual"}
	if err := SaveResume(dir, args, started, "3c2c65ce-0000-4000-8000-000000000000"); err != nil {
		t.Fatal(err)
	}
	if err := SaveResume(dir, []string{"--other"}, started.Add(time.Hour), "x"); err != nil {
		t.Fatal(err)
	}
	got, r, st, err := LoadResume(out)
	if err != nil || got != dir || !st.Equal(started) || !slices.Equal(r.Args, args) || !strings.HasPrefix(r.CaseID, "3c2c65ce") {
		t.Fatalf("LoadResume(%s) = %s, %+v, %v, %v", out, got, r, st, err)
	}
	if ResumeStarted(dir) {
		t.Error("no source saved state, yet ResumeStarted")
	}
	if err := os.MkdirAll(filepath.Join(out, ".evidence-20261205T071048Z-aaaaaaaa.resume"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadResume(out); err == nil || !strings.Contains(err.Error(), "several interrupted grabs") {
		t.Errorf("two resume directories: %v", err)
	}
	if _, _, _, err := LoadResume(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no interrupted grab") {
		t.Errorf("none: %v", err)
	}
	if g := GrabArgs([]string{"evidence", "grab", "--resume", "OUT", "--user", "u", "--resume=OUT"}); !slices.Equal(g, []string{"--user", "u"}) {
		t.Errorf("GrabArgs = %q", g)
	}
	if g := GrabArgs([]string{"evidence", "demo"}); g != nil {
		t.Errorf("GrabArgs(demo) = %q", g)
	}
}
