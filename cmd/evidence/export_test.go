package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// exportArgs is an export against srv at the simulated clock now, scaled for
// tests (fast budgets and retries, small pages so that paging happens).
func exportArgs(srv *graphtest.Server, stateDir, out string, now time.Time, extra ...string) []string {
	args := []string{"export", "--graph-url", srv.URL, "--auth", "token", "--state", stateDir, "--out", out,
		"--now", now.Format(time.RFC3339), "--budget", "reports=20/20ms", "--retry-base", "1ms", "--page-size", "40"}
	return append(args, extra...)
}

// invokeCtx runs the CLI with a context the test can cancel.
func invokeCtx(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// killer is a slog handler for the simulator: it counts the requests the
// tenant answers and cancels the armed context at the n-th, as a kill in
// the middle of a run would.
type killer struct {
	mu     sync.Mutex
	n      int
	at     int
	cancel context.CancelFunc
	fired  atomic.Bool
	only   string // when set, only answers to URIs holding it are counted
}

func (k *killer) arm(at int, cancel context.CancelFunc) {
	k.mu.Lock()
	k.n, k.at, k.cancel = 0, at, cancel
	k.fired.Store(false)
	k.mu.Unlock()
}
func (k *killer) Enabled(context.Context, slog.Level) bool { return true }
func (k *killer) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "graphtest request" {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.only != "" {
		counted := false
		r.Attrs(func(a slog.Attr) bool {
			counted = a.Key == "uri" && strings.Contains(a.Value.String(), k.only)
			return a.Key != "uri"
		})
		if !counted {
			return nil
		}
	}
	k.n++
	if k.cancel != nil && k.n == k.at {
		k.cancel()
		k.fired.Store(true)
	}
	return nil
}
func (k *killer) WithAttrs([]slog.Attr) slog.Handler { return k }
func (k *killer) WithGroup(string) slog.Handler      { return k }

// hashTree hashes every file under dirs, so a test can prove a run changed
// nothing.
func hashTree(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				out[p] = "dir"
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			s := sha256.Sum256(b)
			out[p] = hex.EncodeToString(s[:])
			return nil
		})
	}
	return out
}

func sameSnapshot(t *testing.T, what string, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("%s: %s changed", what, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Fatalf("%s: %s appeared", what, k)
		}
	}
}

func loadState(t *testing.T, dir string) *state.State {
	t.Helper()
	st, err := state.Load(context.Background(), &state.Dir{Path: dir})
	if err != nil || st == nil {
		t.Fatalf("state: %v %v", st, err)
	}
	return st
}

// bundleRecords extracts a bundle and returns its manifest and the ids in
// each record file.
func bundleRecords(t *testing.T, path string) (*manifest.Manifest, map[string][]string) {
	t.Helper()
	dest := t.TempDir()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := archive.Extract(f, dest); err != nil {
		t.Fatal(err)
	}
	dir := dest
	m := readManifest(t, dir)
	ids := map[string][]string{}
	for _, file := range m.Files {
		if strings.HasSuffix(file.Path, ".jsonl") && file.Path != manifest.RequestsName {
			ids[file.Path] = readIDs(t, filepath.Join(dir, file.Path))
		}
	}
	return m, ids
}

// TestExportTenDays: ten daily runs over a tenant whose records arrive up to
// four hours late, with runs that fail on 5xx answers and runs killed in the
// middle. The union of the sealed bundles is exactly the ground truth (no
// record lost, none twice), late records were recovered by the overlap, the
// overlap's re-reads were de-duplicated, and the index chain verifies.
func TestExportTenDays(t *testing.T) {
	day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	k := &killer{}
	cfg := graphtest.Config{Seed: 21, SignInsPerUser: 900, AuditsPerUser: 600, ExtraUsers: 2, Now: day0,
		Arrival: graphtest.Arrival{Late: 0.3, MaxDelay: 4 * time.Hour}, Logger: slog.New(k)}
	clean := newSim(t, cfg)
	cfg.Logger = nil
	cfg.Faults = graphtest.Faults{Rate5xx: 0.35, Seed: 4}
	faulty := newSim(t, cfg)

	stateDir, out := t.TempDir(), t.TempDir()
	t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
	since := day0.Add(-2 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(11, 12))
	kinds := []string{"ok", "ok", "5xx", "ok", "kill", "ok", "5xx", "kill", "ok", "ok"}
	rng.Shuffle(len(kinds)-2, func(i, j int) { kinds[i+1], kinds[j+1] = kinds[j+1], kinds[i+1] })
	var seen = map[string]int{}
	var now time.Time
	for day, kind := range kinds {
		now = day0.Add(time.Duration(day)*24*time.Hour + time.Duration(rng.IntN(120))*time.Minute)
		clean.Tenant.SetNow(now)
		faulty.Tenant.SetNow(now)
		before := hashTree(t, stateDir, out)
		ctx, cancel := context.WithCancel(context.Background())
		srv := clean
		extra := []string{"--since", since.Format(time.RFC3339)}
		switch kind {
		case "5xx":
			srv = faulty
			extra = append(extra, "--max-attempts", "2")
		case "kill":
			k.arm(3+rng.IntN(4), cancel)
		}
		code, stdout, stderr := invokeCtx(ctx, exportArgs(srv, stateDir, out, now, extra...)...)
		fired := k.fired.Load()
		k.arm(0, nil)
		cancel()
		t.Logf("day %d %s at %s: exit %d", day, kind, now.Format(time.RFC3339), code)
		switch kind {
		case "ok":
			if code != ExitOK {
				t.Fatalf("day %d: exit %d\n%s", day, code, stderr)
			}
		case "5xx":
			if code != ExitOK && code != ExitIncomplete {
				t.Fatalf("day %d (5xx): exit %d\n%s", day, code, stderr)
			}
			if code == ExitIncomplete {
				seen["5xx-incomplete"]++
			}
		case "kill":
			if !fired || code != ExitFailed {
				t.Fatalf("day %d (kill): fired %v, exit %d\n%s", day, fired, code, stderr)
			}
			sameSnapshot(t, "killed run", before, hashTree(t, stateDir, out))
			seen["kill"]++
			continue
		}
		if path := lastLine(stdout); !strings.HasSuffix(path, ".tar.zst") {
			t.Fatalf("day %d: stdout %q", day, stdout)
		}
		if strings.Contains(stderr, "LOST") {
			t.Fatalf("day %d: unexpected loss\n%s", day, stderr)
		}
	}
	if seen["kill"] == 0 || seen["5xx-incomplete"] == 0 {
		t.Fatalf("the failures the test is about did not all happen: %v", seen)
	}

	st := loadState(t, stateDir)
	if p := st.VerifyChain(); len(p) != 0 {
		t.Fatalf("index chain: %v", p)
	}
	union := map[string]map[string]int{}
	var late, dedup int64
	for _, e := range st.Index {
		m, ids := bundleRecords(t, e.Location)
		if m.Export == nil || m.Export.Sequence != e.Seq || m.Export.Previous != e.Prev {
			t.Fatalf("bundle %d: manifest export %+v does not match index entry", e.Seq, m.Export)
		}
		for _, s := range m.Sources {
			if s.Export != nil {
				late += s.Export.Late
				dedup += s.Export.Deduplicated
			}
		}
		for file, list := range ids {
			if union[file] == nil {
				union[file] = map[string]int{}
			}
			for _, id := range list {
				union[file][id]++
			}
		}
	}
	if late == 0 || dedup == 0 {
		t.Fatalf("late records recovered %d, re-read duplicates dropped %d: the overlap was not exercised", late, dedup)
	}
	clean.Tenant.SetNow(now)
	// State is kept per collector: sign-ins per kind (signins.interactive).
	for file, stream := range map[string]graphtest.Stream{"signins/interactive.jsonl": graphtest.StreamSignIns, "audits/directory.jsonl": graphtest.StreamAuditsInitiated} {
		source := map[string]string{"signins/interactive.jsonl": "signins.interactive", "audits/directory.jsonl": "audits"}[file]
		sc := st.Scope(source, state.ScopeTenant)
		if sc == nil {
			t.Fatalf("no state for %s", source)
		}
		wm, err := time.Parse(time.RFC3339, sc.Watermark)
		if err != nil {
			t.Fatal(err)
		}
		truth := clean.Tenant.IDs(stream, "", since, wm)
		got := union[file]
		for id, n := range got {
			if n > 1 {
				t.Fatalf("%s: record %s is in %d bundles", file, id, n)
			}
		}
		missing := 0
		for _, id := range truth {
			if got[id] == 0 {
				missing++
			}
		}
		if missing > 0 || len(got) != len(truth) {
			t.Fatalf("%s: %d records in the bundles, ground truth %d, %d of them missing", file, len(got), len(truth), missing)
		}
		t.Logf("%s: %d records over [%s, %s), exactly the ground truth", file, len(truth), since.Format(time.RFC3339), wm.Format(time.RFC3339))
	}
	t.Logf("%d bundles, %d late records recovered by the overlap, %d re-read duplicates dropped", len(st.Index), late, dedup)

	code, stdout, stderr := invoke(t, nil, "export", "status", "--state", stateDir, "--now", now.Format(time.RFC3339))
	if code != ExitOK || !strings.Contains(stdout, "chain intact") || !strings.Contains(stdout, "all present with the SHA-256") {
		t.Fatalf("status exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestExportFreeSkippedNineDays: a Free tenant (7-day retention, no sign-in
// logs) exported once, then not for nine days: the next run records the
// two lost days, prints them and exits 3; state and status keep them.
func TestExportFreeSkippedNineDays(t *testing.T) {
	day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 8, License: graphtest.LicenseFree, AuditsPerUser: 300, Now: day0})
	stateDir, out := t.TempDir(), t.TempDir()
	code, _, stderr := invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day0, "--backfill")...)
	if code != ExitOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	st := loadState(t, stateDir)
	if st.Tier != export.TierFree {
		t.Fatalf("Free tenant: tier %q", st.Tier)
	}
	for name := range st.Sources { // state is per collector: signins.<kind>
		if strings.HasPrefix(name, "signins") {
			t.Fatalf("Free tenant: sign-ins were exported (%s)", name)
		}
	}
	wm0 := st.Scope("audits", state.ScopeTenant).Watermark
	if wm0 != "2026-11-10T05:30:00Z" {
		t.Fatalf("watermark after the first run %s, want now minus the 30-minute settle", wm0)
	}

	day9 := day0.Add(9 * 24 * time.Hour)
	srv.Tenant.SetNow(day9)
	code, stdout, stderr := invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day9)...)
	if code != ExitIncomplete {
		t.Fatalf("after nine days: exit %d, want 3\n%s", code, stderr)
	}
	// Lost: from the watermark to what a Free tenant still keeps (7 days,
	// less the one-hour safety margin at the retention edge).
	wantStart, wantEnd := "2026-11-10T05:30:00Z", "2026-11-12T07:00:00Z"
	if !strings.Contains(stderr, "LOST audits ["+wantStart+", "+wantEnd+"), 2d1h30m") {
		t.Fatalf("no loud loss report:\n%s", stderr)
	}
	m, _ := bundleRecords(t, lastLine(stdout))
	var gaps []manifest.Gap
	for _, s := range m.Sources {
		if s.Name == "audits" {
			gaps = s.Missing
		}
	}
	if len(gaps) != 1 || gaps[0].Start != wantStart || gaps[0].End != wantEnd || gaps[0].Status != manifest.StatusClamped || m.Complete {
		t.Fatalf("manifest gaps %+v, complete %v", gaps, m.Complete)
	}
	sc := loadState(t, stateDir).Scope("audits", state.ScopeTenant)
	if len(sc.Gaps) != 1 || sc.Gaps[0].Start != wantStart || sc.Gaps[0].End != wantEnd || sc.Gaps[0].Bundle != filepath.Base(lastLine(stdout)) {
		t.Fatalf("state gaps %+v", sc.Gaps)
	}
	if sc.Watermark != "2026-11-19T05:30:00Z" {
		t.Fatalf("watermark %s", sc.Watermark)
	}
	code, stdout, _ = invoke(t, nil, "export", "status", "--state", stateDir, "--now", day9.Format(time.RFC3339))
	if code != ExitOK || !strings.Contains(stdout, "1 lost interval(s) recorded, 2d1h30m") {
		t.Fatalf("status exit %d\n%s", code, stdout)
	}
}

// TestExportConcurrentRefused: while one export runs, a second one on the
// same state exits 2 with a clear message and changes nothing.
func TestExportConcurrentRefused(t *testing.T) {
	day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 9, AuditsPerUser: 300, SignInsPerUser: 300, Now: day0,
		Faults: graphtest.Faults{Latency: 30 * time.Millisecond}})
	stateDir, out := t.TempDir(), t.TempDir()
	t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
	done := make(chan [3]string)
	go func() {
		code, stdout, stderr := invokeCtx(context.Background(), exportArgs(srv, stateDir, out, day0, "--backfill")...)
		done <- [3]string{string(rune('0' + code)), stdout, stderr}
	}()
	for i := 0; ; i++ { // wait until the first run holds the lock
		if _, err := os.Stat(filepath.Join(stateDir, state.LockInfo)); err == nil {
			break
		}
		if i > 2000 {
			t.Fatal("the first export never took the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	out2 := t.TempDir()
	before := hashTree(t, out2)
	stateFiles, _ := os.ReadDir(stateDir)
	code, stdout, stderr := invokeCtx(context.Background(), exportArgs(srv, stateDir, out2, day0, "--backfill")...)
	if code != ExitFailed || stdout != "" || !strings.Contains(stderr, "another export is running on state "+stateDir) ||
		!strings.Contains(stderr, "this run changed nothing") || !strings.Contains(stderr, "pid ") {
		t.Fatalf("second export: exit %d\nstdout %q\nstderr %s", code, stdout, stderr)
	}
	sameSnapshot(t, "second run's --out", before, hashTree(t, out2))
	if after, _ := os.ReadDir(stateDir); len(after) != len(stateFiles) {
		t.Fatalf("second run changed the state directory")
	}
	first := <-done
	if first[0] != "0" {
		t.Fatalf("first export: exit %s\n%s", first[0], first[2])
	}
	if len(loadState(t, stateDir).Index) != 1 {
		t.Fatal("first export did not commit")
	}
}

// TestExportStatus: status shows each source's watermark, its age and the
// next expiry risk, and fails on a changed or missing bundle.
func TestExportStatus(t *testing.T) {
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 10, AuditsPerUser: 120, SignInsPerUser: 120, Now: day0})
	stateDir, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day0, "--since", "3d", "--settle", "audits=0s")...)
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	bundlePath := lastLine(stdout)
	later := day0.Add(26 * time.Hour)
	code, stdout, _ = invoke(t, nil, "export", "status", "--state", stateDir, "--now", later.Format(time.RFC3339))
	for _, want := range []string{
		"tenant contoso.com",
		"Entra ID P1/P2",
		"audits: last exported 2026-11-23T06:00Z (1d2h ago); data older than 2026-10-25T08:00Z is already gone on Entra ID P1/P2; the oldest data not yet exported expires 2026-12-23T06:00Z (in 28d22h)",
		"signins.interactive: last exported 2026-11-23T05:30Z (1d2h30m ago)",
		"Index: 1 bundles (0 incomplete), chain intact",
		"Bundles: 1 kept locally, all present",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	if code != ExitOK {
		t.Fatalf("status exit %d", code)
	}
	// Forty days later the watermark is past retention: exit 3, loudly.
	code, stdout, _ = invoke(t, nil, "export", "status", "--state", stateDir, "--now", day0.Add(40*24*time.Hour).Format(time.RFC3339))
	if code != ExitIncomplete || !strings.Contains(stdout, "LOST: [2026-11-23T06:00Z, 2026-12-03T06:00Z) is no longer kept") {
		t.Fatalf("status after 40 days: exit %d\n%s", code, stdout)
	}
	// A changed bundle is found.
	if err := os.WriteFile(bundlePath, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = invoke(t, nil, "export", "status", "--state", stateDir, "--now", later.Format(time.RFC3339))
	if code != ExitVerify || !strings.Contains(stdout, "CHANGED") {
		t.Fatalf("status with a changed bundle: exit %d\n%s", code, stdout)
	}
}
