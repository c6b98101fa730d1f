package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestExportBundleForms: `evidence export --bundle tar|dir|blob`, run on
// three simulated days, writes three bundles in the form asked for, each
// verified where it is kept (`evidence verify LOCATION` exits 0), chained
// in the state's index (each manifest names the entry before it), and
// advances the state each day: the index grows by one, no cycle is left
// pending, and the interval's end moves forward.
func TestExportBundleForms(t *testing.T) {
	for _, form := range []string{"tar", "dir", "blob"} {
		t.Run(form, func(t *testing.T) {
			var extra []string
			env := map[string]string{}
			if form == "blob" {
				az := azuritetest.Start(t)
				az.CreateContainer(t, "evidence")
				sas := az.ContainerSAS(t, "evidence", "racw")
				t.Setenv(blob.EnvSAS, sas)
				t.Setenv(blob.EnvConnectionString, "")
				env[blob.EnvSAS] = sas
				extra = []string{"--blob-url", az.ContainerURL("evidence") + "/contoso", "--allow-mutable"}
			}
			t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
			day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
			sim := newSim(t, graphtest.Config{Seed: 41, AuditsPerUser: 60, SignInsPerUser: 60, Now: day0})
			stateDir, out := t.TempDir(), t.TempDir()
			var prevEnd string
			for day := 0; day < 3; day++ {
				now := day0.Add(time.Duration(day) * 24 * time.Hour)
				sim.Tenant.SetNow(now)
				args := append(exportArgs(sim, stateDir, out, now, "--bundle", form), extra...)
				if day == 0 {
					args = append(args, "--since", "2d")
				}
				code, stdout, stderr := invokeCtx(context.Background(), args...)
				if code != ExitOK {
					t.Fatalf("day %d: exit %d\n%s", day+1, code, stderr)
				}
				st := loadDirState(t, stateDir)
				if len(st.Index) != day+1 || st.Pending != nil {
					t.Fatalf("day %d: index has %d entries (pending %v), want %d and none pending", day+1, len(st.Index), st.Pending, day+1)
				}
				if p := st.VerifyChain(); len(p) != 0 {
					t.Fatalf("day %d: chain: %v", day+1, p)
				}
				e := st.Index[day]
				if got := strings.TrimSpace(stdout); got != e.Location {
					t.Fatalf("day %d: printed %q, the index records %q", day+1, got, e.Location)
				}
				switch form {
				case "tar":
					if !strings.HasSuffix(e.Location, ".tar.zst") || filepath.Dir(e.Location) != out {
						t.Fatalf("day %d: location %s is not an archive in --out", day+1, e.Location)
					}
				case "dir":
					if fi, err := os.Stat(e.Location); err != nil || !fi.IsDir() {
						t.Fatalf("day %d: location %s is not a directory: %v", day+1, e.Location, err)
					}
				case "blob":
					if !strings.HasPrefix(e.Location, "http://127.0.0.1:") || !strings.HasSuffix(e.Location, ".tar.zst") {
						t.Fatalf("day %d: location %s is not a blob URL", day+1, e.Location)
					}
					if _, err := os.Stat(filepath.Join(out, e.Bundle)); !os.IsNotExist(err) {
						t.Fatalf("day %d: the local archive %s was kept with --bundle blob", day+1, e.Bundle)
					}
				}
				code, vout, verr := invoke(t, env, "verify", "--json", e.Location)
				if code != ExitOK {
					t.Fatalf("day %d: verify %s: exit %d\n%s\n%s", day+1, e.Location, code, vout, verr)
				}
				if e.Interval.End <= prevEnd {
					t.Fatalf("day %d: the interval ends at %s, not after the day before (%s)", day+1, e.Interval.End, prevEnd)
				}
				prevEnd = e.Interval.End
				code, sout, serr := invoke(t, nil, "export", "status", "--state", stateDir, "--now", now.Format(time.RFC3339))
				if code != ExitOK || !strings.Contains(sout, "chain intact") || (form != "blob" && !strings.Contains(sout, "all present")) {
					t.Fatalf("day %d: export status: exit %d\n%s%s", day+1, code, sout, serr)
				}
				var moved bool
				for _, src := range st.Sources {
					if sc := src.Scopes[state.ScopeTenant]; sc != nil && sc.Watermark == e.Interval.End {
						moved = true
					}
				}
				if !moved {
					t.Fatalf("day %d: no source's watermark is the bundle's end %s", day+1, e.Interval.End)
				}
				var m *manifest.Manifest
				switch form {
				case "tar":
					m, _ = bundleRecords(t, e.Location)
				case "dir":
					m = readManifest(t, e.Location)
				}
				if m != nil && (m.Export == nil || m.Export.Sequence != e.Seq || m.Export.Previous != e.Prev) {
					t.Fatalf("day %d: the manifest's export %+v does not chain to the index entry %d (prev %s)", day+1, m.Export, e.Seq, e.Prev)
				}
			}
		})
	}
}

// loadDirState reads an export state kept in a directory.
func loadDirState(t *testing.T, dir string) *state.State {
	t.Helper()
	s, err := state.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Load(context.Background(), s)
	if err != nil || st == nil {
		t.Fatalf("state %s: %v %v", dir, st, err)
	}
	return st
}
