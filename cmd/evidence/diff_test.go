package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// stateGrab grabs the victim's state sources from srv as of now and returns
// the bundle's path.
func stateGrab(t *testing.T, srv *graphtest.Server, out string, now time.Time) string {
	t.Helper()
	code, stdout, stderr := invoke(t, tokenEnv, "grab", "--graph-url", srv.URL, "--auth", "token", "--out", out,
		"--since", now.Add(-30*24*time.Hour).Format(time.RFC3339), "--until", now.Format(time.RFC3339),
		"--retry-base", "1ms", "--user", "victim@contoso.com", "--sources", "snapshot,tenant,signals")
	if code != ExitOK && code != ExitIncomplete {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	return lastLine(stdout)
}

// TestDiffNamesExactlyThePlantedChanges: two grabs a day apart, with an
// attacker's three changes between them, compare to exactly those three
// objects, each matching a finding of the later bundle (exit 6); a bundle
// compared with itself shows nothing (exit 0).
func TestDiffNamesExactlyThePlantedChanges(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 7})
	dir := t.TempDir()
	day1 := stateGrab(t, srv, filepath.Join(dir, "day1"), fixedNow)

	drift := srv.Tenant.Drift(fixedNow.Add(2 * time.Hour))
	srv.Tenant.SetNow(fixedNow.Add(24 * time.Hour))
	day2 := stateGrab(t, srv, filepath.Join(dir, "day2"), fixedNow.Add(24*time.Hour))

	prefix := testKey(t)
	code, stdout, stderr := invoke(t, keyEnv, "diff", "--json", "--out", filepath.Join(dir, "diff.json"), "--sign-key", prefix+".key", day1, day2)
	if code != ExitAlert {
		t.Fatalf("diff: exit %d, want %d (alert)\n%s\n%s", code, ExitAlert, stdout, stderr)
	}
	var r diff.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("diff --json: %v\n%s", err, stdout)
	}
	if saved, err := os.ReadFile(filepath.Join(dir, "diff.json")); err != nil || string(saved) != stdout {
		t.Fatalf("--out differs from --json (%v)", err)
	}
	pub, err := os.ReadFile(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "allowed_signers"), append([]byte("analyst "), pub...), 0o644); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", "ssh-keygen -Y verify -f allowed_signers -I analyst -n evidence-diff -s diff.json.sig < diff.json")
	sh.Dir = dir
	if b, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(b), `Good "evidence-diff" signature`) {
		t.Fatalf("ssh-keygen -Y verify of the signed comparison: %v\n%s", err, b)
	}
	var got []string
	for _, c := range r.Changes {
		var props []string
		for _, p := range c.Properties {
			props = append(props, p.Path)
		}
		got = append(got, c.Kind+" "+filepath.Base(c.File)+" "+c.ID+" ["+strings.Join(props, ",")+"] alert="+boolStr(len(c.Findings) > 0))
	}
	sort.Strings(got)
	want := []string{
		"appeared inbox-rules.jsonl " + drift.InboxRuleID + " [] alert=true",
		"changed applications.jsonl " + drift.AppID + " [passwordCredentials] alert=true",
		"changed conditional-access-policies.jsonl " + drift.PolicyID + " [modifiedDateTime,state] alert=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Skipped) != 0 {
		t.Fatalf("files not compared: %+v", r.Skipped)
	}

	if testing.Verbose() {
		_, s, _ := invoke(t, nil, "diff", day1, day2)
		t.Log(s)
	}
	code, stdout, stderr = invoke(t, nil, "diff", day2, day2)
	if code != ExitOK || !strings.Contains(stdout, "0 appeared, 0 disappeared, 0 changed") {
		t.Fatalf("a bundle against itself: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestDiffDoesNotCallRefusedPartsGone: a part refused in the later bundle
// (no mailbox permission) is listed as not compared, never as its objects
// having disappeared.
func TestDiffDoesNotCallRefusedPartsGone(t *testing.T) {
	dir := t.TempDir()
	full := newSim(t, graphtest.Config{Seed: 7})
	day1 := stateGrab(t, full, filepath.Join(dir, "day1"), fixedNow)
	denied := newSim(t, graphtest.Config{Seed: 7, Denied: []string{graphtest.PermMailbox}})
	day2 := stateGrab(t, denied, filepath.Join(dir, "day2"), fixedNow)

	code, stdout, stderr := invoke(t, nil, "diff", "--json", day1, day2)
	if code != ExitOK {
		t.Fatalf("diff: exit %d\n%s", code, stderr)
	}
	var r diff.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Changes {
		if c.Kind == diff.Disappeared {
			t.Errorf("reported as disappeared: %s %s", c.File, c.ID)
		}
	}
	found := false
	for _, s := range r.Skipped {
		if strings.HasSuffix(s.File, "inbox-rules.jsonl") && strings.HasPrefix(s.Why, "NEW: inbox-rules not collected") {
			found = true
		}
	}
	if !found {
		t.Fatalf("inbox rules not listed as not compared: %+v", r.Skipped)
	}
}

// TestDiffRefusesATamperedBundle: a bundle that does not verify is not
// compared (exit 4).
func TestDiffRefusesATamperedBundle(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 7})
	dir := t.TempDir()
	b := stateGrab(t, srv, filepath.Join(dir, "b"), fixedNow)
	x := filepath.Join(dir, "x")
	if code, _, stderr := invoke(t, nil, "verify", b); code != ExitOK {
		t.Fatalf("verify: %d %s", code, stderr)
	}
	data, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	bad := x + ".tar.zst"
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := invoke(t, nil, "diff", b, bad)
	if code != ExitVerify {
		t.Fatalf("diff with a tampered bundle: exit %d, want %d\n%s", code, ExitVerify, stderr)
	}
}
