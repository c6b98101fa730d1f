package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestExportOrphansAndLeftovers: export status names every bundle on disk
// that the index does not hold (exit 4), and the next run removes the hidden
// work files interrupted runs left (a half-built bundle, a half-written
// archive, a half-written state) but nothing else: not a grab's, not an
// orphan bundle.
func TestExportOrphansAndLeftovers(t *testing.T) {
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 10, AuditsPerUser: 40, SignInsPerUser: 40, Now: day0})
	stateDir, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day0, "--since", "2d", "--settle", "audits=0s")...)
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	bundle := lastLine(stdout)
	status := func() (int, string) {
		code, stdout, _ := invoke(t, nil, "export", "status", "--state", stateDir, "--out", out, "--now", day0.Add(time.Hour).Format(time.RFC3339))
		return code, stdout
	}
	if code, s := status(); code != ExitOK || strings.Contains(s, "Orphans:") || strings.Contains(s, "Leftovers:") {
		t.Fatalf("clean status: exit %d\n%s", code, s)
	}

	// What interrupted runs leave: two sealed bundles never recorded, and
	// hidden work files.
	b, _ := os.ReadFile(bundle)
	orphanArchive := filepath.Join(out, "evidence-export-20261123T180000Z"+manifest.ArchiveSuffix)
	os.WriteFile(orphanArchive, b, 0o644)
	orphanDir := filepath.Join(out, "evidence-export-20261123T190000Z")
	os.MkdirAll(orphanDir, 0o755)
	os.WriteFile(filepath.Join(orphanDir, manifest.SumsName), []byte("x"), 0o644)
	stage := filepath.Join(out, ".evidence-export-20261123T200000Z.partial")
	os.MkdirAll(filepath.Join(stage, "signins"), 0o755)
	os.WriteFile(filepath.Join(stage, "signins", "interactive.jsonl"), []byte("{}\n"), 0o644)
	halfArchive := filepath.Join(out, ".evidence-export-20261123T200000Z.tar.zst.123.partial")
	os.WriteFile(halfArchive, []byte("half"), 0o644)
	halfState := filepath.Join(stateDir, ".state.json.456.partial")
	os.WriteFile(halfState, []byte("{"), 0o644)
	grabs := filepath.Join(out, ".evidence-20261123T200000Z-3f2a9c1d.partial")
	os.MkdirAll(grabs, 0o755)

	code, s := status()
	if code != ExitVerify || !strings.Contains(s, "Orphans: 2 bundle(s) on disk that the index does not hold") ||
		!strings.Contains(s, orphanArchive) || !strings.Contains(s, orphanDir) || !strings.Contains(s, "Leftovers: 3 work file(s)") {
		t.Fatalf("status with orphans and leftovers: exit %d\n%s", code, s)
	}
	if strings.Contains(s, grabs) {
		t.Errorf("status counts a grab's work directory as an export leftover:\n%s", s)
	}

	srv.Tenant.SetNow(day0.Add(24 * time.Hour))
	code, _, stderr = invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day0.Add(24*time.Hour), "--settle", "audits=0s")...)
	if code != ExitOK && code != ExitIncomplete {
		t.Fatalf("second export: exit %d\n%s", code, stderr)
	}
	for _, p := range []string{stage, halfArchive, halfState} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("the next run left %s (%v)", p, err)
		}
	}
	for _, p := range []string{grabs, orphanArchive, orphanDir} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the next run removed %s, which is not its leftover: %v", p, err)
		}
	}
	if code, s := status(); code != ExitVerify || strings.Contains(s, "Leftovers:") || !strings.Contains(s, "Orphans: 2") {
		t.Errorf("status after the next run: exit %d\n%s", code, s)
	}
}
