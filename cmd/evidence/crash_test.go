package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// evidenceBinary builds this command once per test run, so that the
// crash-point tests can kill a real process.
func evidenceBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evidence-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "evidence")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runProcess runs the binary with args and extra environment and returns
// its exit code (-1 when a signal ended it) and stderr.
func runProcess(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(evidenceBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, io.Discard
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stderr.String()
		}
		t.Fatalf("%v: %v", args, err)
	}
	return 0, stderr.String()
}

// exportKillSteps are the named steps of one export cycle, in order: the
// pipeline's and the state machine's.
var exportKillSteps = []string{
	export.StepPlan, pipeline.StepCollected, export.StepCollect, pipeline.StepSealed, export.StepSeal,
	pipeline.StepCommitted, "delivered:tar", export.StepPublish, export.StepCommit,
}

// TestExportCrashPoints kills a real `evidence export` process (SIGKILL)
// at every named step of a cycle, over seven simulated days and for every
// --bundle form, then runs it again as a scheduler would, and compares the
// series with one run without a kill: the same records, none lost, none
// twice, every published bundle in the index and verifying, no work file
// left behind, and `export status` clean.
func TestExportCrashPoints(t *testing.T) {
	for _, form := range []string{"tar", "dir", "blob"} {
		t.Run(form, func(t *testing.T) {
			var extra, env []string
			if form == "blob" {
				az := azuritetest.Start(t)
				az.CreateContainer(t, "evidence")
				sas := az.ContainerSAS(t, "evidence", "racw")
				t.Setenv(blob.EnvSAS, sas)
				t.Setenv(blob.EnvConnectionString, "")
				extra = []string{"--blob-url", az.ContainerURL("evidence") + "/contoso", "--allow-mutable"}
			}
			env = append(env, "EVIDENCE_GRAPH_TOKEN="+testToken)
			day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
			sim := newSim(t, graphtest.Config{Seed: 43, AuditsPerUser: 30, SignInsPerUser: 30, Now: day0})
			crashState, crashOut := t.TempDir(), t.TempDir()
			cleanState, cleanOut := t.TempDir(), t.TempDir()
			blobPrefix := func(args []string, which string) []string {
				out := append([]string(nil), args...)
				for i := range out {
					if i > 0 && out[i-1] == "--blob-url" {
						out[i] += "-" + which
					}
				}
				return out
			}
			steps := append([]string(nil), exportKillSteps...)
			if form == "dir" {
				steps[6] = "delivered:dir"
			}
			if form == "blob" {
				steps[6] = "delivered:blob"
			}
			k, killed, adoptions := 0, map[string]int{}, 0
			for day := 0; day < 7; day++ {
				now := day0.Add(time.Duration(day) * 24 * time.Hour)
				sim.Tenant.SetNow(now)
				args := func(stateDir, out, which string) []string {
					a := exportArgs(sim, stateDir, out, now, "--bundle", form, "--sources", "audits,signins")
					if day == 0 {
						a = append(a, "--since", "2d")
					}
					return append(a, blobPrefix(extra, which)...)
				}
				if code, stderr := runProcess(t, env, args(cleanState, cleanOut, "clean")...); code != ExitOK {
					t.Fatalf("day %d, clean run: exit %d\n%s", day+1, code, stderr)
				}
				// Two kills a day, at the next steps in turn, then a run to the
				// end. A run that finishes before the step (it adopted the
				// bundle the killed run published, and nothing else is new)
				// must exit 0; its step is tried again on the next run.
				// A kill once the bundle is published (delivered, publish):
				// the next run adopts it and collects nothing again.
				published := false
				adoptedNext := func(stderr string) {
					if published && (!strings.Contains(stderr, "export: adopted bundle") || !strings.Contains(stderr, "nothing new to export yet")) {
						t.Errorf("day %d: the run after a kill past publishing did not adopt the bundle without collecting again:\n%s", day+1, stderr)
					}
					if published {
						adoptions++
					}
					published = false
				}
				for kills, tries := 0, 0; kills < 2 && tries < 3; tries++ {
					step := steps[k%len(steps)]
					code, stderr := runProcess(t, append(env, pipeline.EnvKillAt+"="+step), args(crashState, crashOut, "crash")...)
					switch code {
					case -1:
						adoptedNext("") // a run killed right after one that published: it must have adopted first
						killed[step]++
						kills++
						k++
						published = step == export.StepPublish || strings.HasPrefix(step, "delivered:")
					case ExitOK:
						adoptedNext(stderr)
					default:
						t.Fatalf("day %d: the run meant to be killed at %q ended with exit %d\n%s", day+1, step, code, stderr)
					}
				}
				code, stderr := runProcess(t, env, args(crashState, crashOut, "crash")...)
				if code != ExitOK {
					t.Fatalf("day %d, run after the kills: exit %d\n%s", day+1, code, stderr)
				}
				adoptedNext(stderr)
			}

			for _, step := range steps {
				if killed[step] == 0 {
					t.Errorf("no run was killed at step %q", step)
				}
			}
			if adoptions == 0 {
				t.Error("no run was killed after publishing: adoption was not tried")
			}
			if c, k := len(loadDirState(t, cleanState).Index), len(loadDirState(t, crashState).Index); c != k {
				t.Errorf("the series has %d bundles after the kills, %d without: a killed run's interval was collected again", k, c)
			}
			clean, crashed := seriesRecords(t, cleanState), seriesRecords(t, crashState)
			if len(clean) == 0 {
				t.Fatal("the clean series holds no records: the comparison would prove nothing")
			}
			if missing, extra := multisetDiff(clean, crashed); len(missing)+len(extra) > 0 {
				t.Fatalf("after the kills the series differs from the clean one: %d records lost, %d extra (first lost %v, first extra %v)",
					len(missing), len(extra), first(missing), first(extra))
			}
			if code, stderr := runProcess(t, env, "export", "status", "--state", crashState); code != ExitOK {
				t.Fatalf("export status after the kills: exit %d\n%s", code, stderr)
			}
			entries, err := os.ReadDir(crashOut)
			if err != nil {
				t.Fatal(err)
			}
			st := loadDirState(t, crashState)
			indexed := map[string]bool{}
			for _, e := range st.Index {
				indexed[path.Base(filepath.ToSlash(e.Location))] = true
			}
			for _, e := range entries {
				n := e.Name()
				switch {
				case strings.HasPrefix(n, "."):
					t.Errorf("work file left behind in --out: %s", n)
				case strings.HasSuffix(n, ".custody.jsonl"), strings.HasSuffix(n, ".upload.json"):
				case !indexed[n]:
					t.Errorf("%s is in --out but not in the index", n)
				}
			}
		})
	}
}

// seriesRecords reads every record line of every bundle in an export
// state's index, wherever it was published, as "file\x00line" strings.
func seriesRecords(t *testing.T, stateDir string) []string {
	t.Helper()
	st := loadDirState(t, stateDir)
	var out []string
	for _, e := range st.Index {
		code, _, stderr := invokeCtx(context.Background(), "verify", e.Location)
		if code != ExitOK {
			t.Fatalf("index entry %d, %s, does not verify: exit %d\n%s", e.Seq, e.Location, code, stderr)
		}
		out = append(out, locationRecords(t, e.Location)...)
	}
	return out
}

// locationRecords reads every record line of the bundle at loc (a blob
// URL, read with the storage credential in the environment, an archive or
// a directory) as "file\x00line" strings.
func locationRecords(t *testing.T, loc string) []string {
	t.Helper()
	var out []string
	add := walkRecordLines(&out)
	var err error
	switch {
	case strings.HasPrefix(loc, "http"):
		tg, perr := blob.ParseURL(loc)
		if perr != nil {
			t.Fatal(perr)
		}
		s, serr := pipeline.OpenStore(tg, nil, "", "")
		if serr != nil {
			t.Fatal(serr)
		}
		info, serr := s.Stat(context.Background())
		if serr != nil {
			t.Fatal(serr)
		}
		rc, oerr := s.Open(context.Background(), info.ETag)
		if oerr != nil {
			t.Fatal(oerr)
		}
		err = archive.Walk(rc, add)
		rc.Close()
	case strings.HasSuffix(loc, ".tar.zst"):
		f, oerr := os.Open(loc)
		if oerr != nil {
			t.Fatal(oerr)
		}
		err = archive.Walk(f, add)
		f.Close()
	default:
		err = filepath.WalkDir(loc, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(loc, p)
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return add(filepath.ToSlash(rel), f)
		})
	}
	if err != nil {
		t.Fatalf("read %s: %v", loc, err)
	}
	return out
}

// multisetDiff returns what want holds more often than got (missing) and
// what got holds more often than want (extra).
func multisetDiff(want, got []string) (missing, extra []string) {
	n := map[string]int{}
	for _, s := range want {
		n[s]++
	}
	for _, s := range got {
		n[s]--
	}
	for s, c := range n {
		for ; c > 0; c-- {
			missing = append(missing, s)
		}
		for ; c < 0; c++ {
			extra = append(extra, s)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func first(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	s := l[0]
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return strings.ReplaceAll(s, "\x00", " ")
}
