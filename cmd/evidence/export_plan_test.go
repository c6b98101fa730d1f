package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/export"
)

// TestExportPlanKeepsSharedBudget: 60 tenants are spread so that no more
// tenants run at once than the app's shared budget allows (122 requests per
// 10 s across tenants, 5 per tenant: 24 at once), and a list that does not
// fit in a day is refused with the number of app registrations it needs.
func TestExportPlanKeepsSharedBudget(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "tenant%02d.onmicrosoft.com %d\n", i, 100+10*i)
	}
	file := filepath.Join(dir, "tenants.txt")
	os.WriteFile(file, []byte(b.String()), 0o644)
	code, stdout, stderr := invoke(t, nil, "export", "plan", "--tenants", file, "--start", "01:00")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	at := map[string]int{}
	tenants := 0
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.Contains(line, "evidence export --state") {
			continue
		}
		f := strings.Fields(line)
		at[f[1]+":"+f[0]]++
		tenants++
	}
	if tenants != 60 || len(at) != 3 {
		t.Fatalf("%d tenants in %d start times, want 60 in 3:\n%s", tenants, len(at), stdout)
	}
	for when, n := range at {
		if rate := float64(n) * 5 / 10; rate > 12.2 {
			t.Fatalf("%d tenants start at %s: %.1f requests/s, over the app's 12.2", n, when, rate)
		}
	}
	// Slowest tenant: 690 requests at 0.5/s, plus half again and 5 minutes: 39.5 min -> 40-minute slots.
	for _, want := range []string{"0 1 * * *", "40 1 * * *", "20 2 * * *", "3 shards of at most 24 tenants, one every 40m"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = invoke(t, nil, "export", "plan", "--tenants", file, "--format", "cronjob", "--image", "registry.example/evidence:1.0")
	if code != ExitOK || strings.Count(stdout, "kind: CronJob") != 3 || strings.Count(stdout, "concurrencyPolicy: Forbid") != 3 || strings.Count(stdout, "- name: tenant") != 60 {
		t.Fatalf("cronjob plan: exit %d\n%s", code, stdout)
	}

	b.Reset()
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "t%04d.onmicrosoft.com 3000\n", i)
	}
	os.WriteFile(file, []byte(b.String()), 0o644)
	code, _, stderr = invoke(t, nil, "export", "plan", "--tenants", file)
	if code != ExitUsage || !strings.Contains(stderr, "cannot keep up") || !strings.Contains(stderr, "app registrations") {
		t.Fatalf("over capacity: exit %d: %s", code, stderr)
	}
}

// TestDurationFlagsShareOneGrammar: --settle and --overlap read durations
// as --split and --since do (weeks, fractions of a day), and name the bad
// value in one line.
func TestDurationFlagsShareOneGrammar(t *testing.T) {
	got, err := export.ParseDurations("--settle", []string{"audits=2w", "ual=1.5d", "signins=90m"})
	if err != nil {
		t.Fatal(err)
	}
	if got["audits"] != 14*24*time.Hour || got["ual"] != 36*time.Hour || got["signins"] != 90*time.Minute {
		t.Errorf("--settle parsed as %v", got)
	}
	if _, err := export.ParseDurations("--settle", []string{"audits=-2w"}); err == nil || !strings.Contains(err.Error(), `"-2w" is not a duration`) {
		t.Errorf("--settle audits=-2w: %v", err)
	}
}
