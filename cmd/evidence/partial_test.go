package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// partialCfg is the tenant of the partial-bundle tests, and partialArgs
// the grab's flags: several sources, small pages, so that a fault or a
// signal lands part way through.
var (
	partialCfg  = graphtest.Config{Seed: 52, SignInsPerUser: 60, AuditsPerUser: 40}
	partialArgs = []string{"--sources", "signins,audits,messagetrace,snapshot", "--bundle", "dir", "--page-size", "20", "--user", "victim@contoso.com"}
)

// partialReference runs the uninterrupted grab the partial tests compare
// with, and returns its simulator and bundle.
func partialReference(t *testing.T) (*graphtest.Server, string) {
	t.Helper()
	ref := newSim(t, partialCfg)
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(ref, t.TempDir(), partialArgs...)...)
	if code != ExitOK {
		t.Fatalf("reference run: exit %d\n%s", code, stderr)
	}
	return ref, lastLine(stdout)
}

// recordLines reads every record file of a bundle directory (the .jsonl
// files the manifest counts records of, but the request log and the
// custody log): path -> its lines, sorted.
func recordLines(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, f := range readManifest(t, dir).Files {
		if f.Records == nil || f.Path == manifest.RequestsName || strings.HasPrefix(f.Path, "custody") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		slices.Sort(lines)
		out[f.Path] = lines
	}
	return out
}

// sameRecords compares two bundles record file by record file, byte for
// byte, sorted. The reference ran against another simulator instance: its
// URL (in the @odata.context of some records) is read as the other's.
func sameRecords(t *testing.T, want, got, wantURL, gotURL string) {
	t.Helper()
	w, g := recordLines(t, want), recordLines(t, got)
	for p, lines := range w {
		for i := range lines {
			lines[i] = strings.ReplaceAll(lines[i], wantURL, gotURL)
		}
		slices.Sort(lines)
		w[p] = lines
	}
	total := 0
	for p, wl := range w {
		total += len(wl)
		gl, ok := g[p]
		if !ok {
			t.Errorf("%s: missing from the resumed bundle", p)
			continue
		}
		if !slices.Equal(wl, gl) {
			t.Errorf("%s: %d records, the uninterrupted run has %d", p, len(gl), len(wl))
			for i := range min(len(wl), len(gl)) {
				if wl[i] != gl[i] {
					t.Logf("first difference:\n  want %.400s\n  got  %.400s", wl[i], gl[i])
					break
				}
			}
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			t.Errorf("%s: in the resumed bundle only", p)
		}
	}
	if total == 0 {
		t.Fatal("the uninterrupted run wrote no records: nothing compared")
	}
	t.Logf("%d record files, %d records compared", len(w), total)
}

// checkPartial checks a partial bundle: verify says intact and partial,
// the manifest names why and what is unfinished, and something was
// collected before the stop.
func checkPartial(t *testing.T, dir, reason string) *manifest.Manifest {
	t.Helper()
	m := readManifest(t, dir)
	if m.Partial == nil || m.Partial.Reason != reason || len(m.Partial.Unfinished) == 0 || m.Complete {
		t.Fatalf("partial bundle's manifest: partial %+v complete %v; want reason %q and unfinished sources", m.Partial, m.Complete, reason)
	}
	var collected int64
	for _, s := range m.Sources {
		collected += s.Records
	}
	if collected == 0 {
		t.Errorf("the partial bundle holds no record: the stop came before anything was collected")
	}
	code, out, errs := invoke(t, nil, "verify", dir)
	if code != ExitOK || !strings.Contains(out, "PARTIAL ("+reason+")") {
		t.Fatalf("verify partial bundle: exit %d, want 0 and a PARTIAL line\n%s%s", code, out, errs)
	}
	code, out, errs = invoke(t, nil, "verify", "--json", dir)
	if r := decodeReport(t, out); code != ExitOK || r.Partial == nil || r.Partial.Reason != reason || len(r.Partial.Unfinished) == 0 {
		t.Fatalf("verify --json of a partial bundle: exit %d, partial %+v\n%s", code, r.Partial, errs)
	}
	t.Logf("partial: %d records; unfinished %v", collected, m.Partial.Unfinished)
	return m
}

// checkResumed checks the bundle a resume sealed against the reference.
func checkResumed(t *testing.T, refDir, dir, out, refURL, url string, carried bool) {
	t.Helper()
	m := readManifest(t, dir)
	if m.Partial != nil || !m.Complete {
		t.Errorf("resumed bundle: partial %+v, complete %v", m.Partial, m.Complete)
	}
	if carried && !slices.ContainsFunc(m.Warnings, func(w string) bool { return strings.HasPrefix(w, "resumed: ") }) {
		t.Errorf("resumed bundle's warnings name no source carried from the partial bundle: %q", m.Warnings)
	}
	sameRecords(t, refDir, dir, refURL, url)
	if os.Getenv("PARTIAL_KEEP") != "" {
		t.Logf("ref %s resumed %s", refDir, dir)
		t.FailNow()
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".evidence-*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestPartialOn401ThenResume: a token refused after some good answers
// (sim --fail /=401@N) seals what was collected as a partial bundle (exit
// 3) that verifies and says it is partial; `grab --resume` with the token
// valid again ends with the records of an uninterrupted run. As a
// directory and as an archive (the resume reads the partial archive).
func TestPartialOn401ThenResume(t *testing.T) {
	ref, refDir := partialReference(t)
	for _, form := range []string{"dir", "tar"} {
		t.Run(form, func(t *testing.T) {
			cfg := partialCfg
			if err := cfg.AddFail("/=401@30"); err != nil {
				t.Fatal(err)
			}
			srv := newSim(t, cfg)
			out := t.TempDir()
			code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, append(slices.Clone(partialArgs), "--bundle", form)...)...)
			if code != ExitIncomplete {
				t.Fatalf("401 after 30 answers: exit %d, want 3\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "Graph refused the token: it has expired (graph answered 401 InvalidAuthenticationToken") {
				t.Errorf("--auth token: stderr does not say the token expired\n%s", stderr)
			}
			checkPartial(t, asDir(t, lastLine(stdout)), collect.StopCredentials)

			srv.Tenant.Heal() // a new token
			code, stdout, stderr = invoke(t, tokenEnv, "grab", "--resume", out)
			if code != ExitOK {
				t.Fatalf("resume: exit %d\n%s", code, stderr)
			}
			checkResumed(t, refDir, asDir(t, lastLine(stdout)), out, ref.URL, srv.URL, true)
		})
	}
}

// TestPartialKilledAtCommitThenResume: a real grab whose token is refused
// part way, killed (SIGKILL) right after its partial bundle is committed
// (step committed-partial, before the archive), is completed by `grab
// --resume` with the token valid again: the records of an uninterrupted run.
func TestPartialKilledAtCommitThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess kill test skipped with -short")
	}
	ref, refDir := partialReference(t)
	cfg := partialCfg
	if err := cfg.AddFail("/=401@30"); err != nil {
		t.Fatal(err)
	}
	srv := newSim(t, cfg)
	out := t.TempDir()
	env := []string{"EVIDENCE_GRAPH_TOKEN=" + testToken}
	args := grabArgs(srv, out, append(slices.Clone(partialArgs), "--bundle", "tar")...)
	if code, _, stderr := runIn(t, t.TempDir(), append(env, pipeline.EnvKillAt+"="+pipeline.StepCommittedPartial), args...); code != -1 {
		t.Fatalf("the run was not killed at %s: exit %d\n%s", pipeline.StepCommittedPartial, code, stderr)
	}
	leftBehindFails(t, out)
	srv.Tenant.Heal() // a new token
	code, stdout, stderr := runIn(t, t.TempDir(), env, "grab", "--resume", out)
	if code != ExitOK {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	checkResumed(t, refDir, asDir(t, lastLine(stdout)), out, ref.URL, srv.URL, true)
}

// asDir is the bundle at path as a directory: itself, or an archive
// verified (`evidence verify`) and extracted.
func asDir(t *testing.T, path string) string {
	t.Helper()
	if !strings.HasSuffix(path, manifest.ArchiveSuffix) {
		return path
	}
	if code, out, errs := invoke(t, nil, "verify", path); code != ExitOK {
		t.Fatalf("verify %s: exit %d\n%s%s", path, code, out, errs)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), manifest.ArchiveSuffix))
	if err := archive.Extract(f, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTokenExpiredBeforeCollecting: with --auth token, a token refused
// from the first request says so in one line, exit 2, and leaves nothing
// (no bundle, no resume state: nothing was collected).
func TestTokenExpiredBeforeCollecting(t *testing.T) {
	srv := newSim(t, graphtest.Config{Fail: map[string]int{"/": 401}})
	out := t.TempDir()
	code, _, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", "victim@contoso.com")...)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	line := lastLine(stderr)
	if !strings.HasPrefix(line, "evidence: Graph refused the token: it has expired (graph answered 401 InvalidAuthenticationToken") {
		t.Errorf("last line: %s", line)
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("left in --out: %v", left)
	}
}

// TestPartialOnSIGINTThenResume: SIGINT sent to a real `evidence grab`
// process collecting several sources stops it at a page boundary and seals
// a partial bundle (exit 3, "interrupted"); `grab --resume`, again a real
// process, ends with the records of an uninterrupted run.
func TestPartialOnSIGINTThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess signal test skipped with -short")
	}
	bin := evidenceBinary(t)
	ref, refDir := partialReference(t)

	k := &killer{}
	cfg := partialCfg
	cfg.Logger = slog.New(k)
	srv := newSim(t, cfg)
	out := t.TempDir()
	runBin := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "EVIDENCE_GRAPH_TOKEN="+testToken)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		k.arm(30, func() { cmd.Process.Signal(os.Interrupt) })
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), o.String(), e.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, o.String(), e.String()
	}
	code, stdout, stderr := runBin(grabArgs(srv, out, partialArgs...)...)
	if !k.fired.Load() || code != ExitIncomplete {
		t.Fatalf("SIGINT at the 30th answer (sent: %v): exit %d, want 3\n%s", k.fired.Load(), code, stderr)
	}
	checkPartial(t, lastLine(stdout), collect.StopInterrupted)
	if left, _ := filepath.Glob(filepath.Join(out, ".*.partial")); len(left) != 0 {
		t.Errorf("an unsealed staging directory is left beside the partial bundle: %v", left)
	}

	k.arm(0, nil)
	cmd := exec.Command(bin, "grab", "--resume", out)
	cmd.Env = append(os.Environ(), "EVIDENCE_GRAPH_TOKEN="+testToken)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume: %v\n%s", err, e.String())
	}
	checkResumed(t, refDir, lastLine(o.String()), out, ref.URL, srv.URL, true)
}

// TestPartialStoppedReadingAuditLogThenResume: a grab stopped while an
// audit log query's pages are read (its context cancelled at the third
// page, as a signal does) seals a partial bundle naming the audit log
// unfinished, never a window "collected" with the pages read so far; the
// resume reads on from the saved nextLink and ends with the records of an
// uninterrupted run.
func TestPartialStoppedReadingAuditLogThenResume(t *testing.T) {
	cfg := graphtest.Config{Seed: 52, SignInsPerUser: 10, AuditsPerUser: 10, UAL: graphtest.UAL{RecordsPerUser: 300}}
	args := []string{"--sources", "audits,ual", "--bundle", "dir", "--user", "victim@contoso.com", "--ual-page-size", "20", "--ual-windows", "1", "--ual-poll", "5ms"}
	ref := newSim(t, cfg)
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(ref, t.TempDir(), args...)...)
	if code != ExitOK {
		t.Fatalf("reference grab: exit %d\n%s", code, stderr)
	}
	refDir := lastLine(stdout)

	k := &killer{only: "/records"}
	cfg.Logger = slog.New(k)
	srv := newSim(t, cfg)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k.arm(3, cancel)
	code, stdout, stderr = invokeCtx(ctx, grabArgs(srv, out, args...)...)
	if !k.fired.Load() || code != ExitIncomplete {
		t.Fatalf("stopped at the third page of records (fired: %v): exit %d, want 3\n%s", k.fired.Load(), code, stderr)
	}
	m := checkPartial(t, lastLine(stdout), collect.StopInterrupted)
	if !slices.Contains(m.Partial.Unfinished, "ual") {
		t.Fatalf("the audit log is not named unfinished: %v", m.Partial.Unfinished)
	}
	k.arm(0, nil)
	code, stdout, stderr = invoke(t, tokenEnv, "grab", "--resume", out)
	if code != ExitOK {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	checkResumed(t, refDir, lastLine(stdout), out, ref.URL, srv.URL, false)
}

// TestGrabStoppedAnywhereThenResume: a grab of every source the simulator
// serves (message trace with its details) stopped at any answer of the service (its context cancelled, as a signal
// does) never loses its place: it seals a partial bundle that verifies and
// names what is unfinished (exit 3), or, stopped before any source was
// collected, exits 2 with nothing sealed (stopped after the last answer it
// needed, it ends complete); either way `grab --resume` (or, stopped while
// connecting, the grab run again) ends with the records of an
// uninterrupted run. Every third answer is tried (every one with
// EVIDENCE_STOP_EVERY=1).
func TestGrabStoppedAnywhereThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("a grab and its resume at every third answer: skipped with -short")
	}
	cfg := graphtest.Config{Seed: 52, SignInsPerUser: 60, AuditsPerUser: 40, UAL: graphtest.UAL{RecordsPerUser: 100}}
	stopAnywhere(t, cfg, everySourceArgs(), ExitOK, false)
}

// TestGrabTokenRefusedAnywhereThenResume is TestGrabStoppedAnywhereThenResume
// with the token refused (401) from any answer on, as one that expires
// mid-run: each partial bundle verifies and names the credentials as the
// stop, and the resume with a token accepted again ends with the records
// of an uninterrupted run.
func TestGrabTokenRefusedAnywhereThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("a grab and its resume at every third answer: skipped with -short")
	}
	cfg := graphtest.Config{Seed: 52, SignInsPerUser: 60, AuditsPerUser: 40, UAL: graphtest.UAL{RecordsPerUser: 100}}
	stopAnywhere(t, cfg, everySourceArgs(), ExitOK, true)
}

// everySourceArgs asks for every source the simulator serves.
func everySourceArgs() []string {
	return append(slices.Clone(partialArgs), "--sources", "signins,audits,messagetrace,snapshot,ual,tenant,signals", "--trace-details",
		"--ual-page-size", "20", "--ual-windows", "2", "--ual-poll", "5ms")
}

// TestGrabStoppedAnywhereOutOfScope is TestGrabStoppedAnywhereThenResume
// against a service that ignores $filter: the records it returns outside
// the asked user and window, kept apart, stay accounted in a stopped
// source too, so each partial bundle verifies (the bundles end incomplete,
// exit 3, for those records).
func TestGrabStoppedAnywhereOutOfScope(t *testing.T) {
	if testing.Short() {
		t.Skip("a grab and its resume at every third answer: skipped with -short")
	}
	cfg := graphtest.Config{Seed: 52, SignInsPerUser: 20, AuditsPerUser: 20, IgnoreFilter: true}
	stopAnywhere(t, cfg, []string{"--sources", "signins,audits,messagetrace", "--bundle", "dir", "--page-size", "200", "--user", "victim@contoso.com"}, ExitIncomplete, false)
}

// stopAnywhere runs the grab of args uninterrupted (it must end with exit
// want), then stopped at every third answer and resumed, as
// TestGrabStoppedAnywhereThenResume says: its context cancelled at that
// answer, or, with expire, every answer from that one refused 401.
func stopAnywhere(t *testing.T, cfg graphtest.Config, args []string, want int, expire bool) {
	t.Helper()
	k := &killer{}
	cfg.Logger = slog.New(k)
	ref := newSim(t, cfg)
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(ref, t.TempDir(), args...)...)
	if code != want {
		t.Fatalf("uninterrupted grab: exit %d, want %d\n%s", code, want, stderr)
	}
	refDir, answers := lastLine(stdout), k.n
	every := 3
	if v, err := strconv.Atoi(os.Getenv("EVIDENCE_STOP_EVERY")); err == nil && v > 0 {
		every = v
	}
	check := func(at int, dir, url string) {
		t.Helper()
		m := readManifest(t, dir)
		if m.Partial != nil || (want == ExitOK) != m.Complete {
			t.Fatalf("stopped at answer %d of %d: the bundle at the end: partial %+v, complete %v", at, answers, m.Partial, m.Complete)
		}
		sameRecords(t, refDir, dir, ref.URL, url)
		if t.Failed() {
			t.Fatalf("stopped at answer %d of %d", at, answers)
		}
	}
	reason := collect.StopInterrupted
	if expire {
		reason = collect.StopCredentials
	}
	for at := 1; at <= answers; at += every {
		c := cfg
		ctx, cancel := context.WithCancel(context.Background())
		if expire {
			if err := c.AddFail(fmt.Sprintf("/=401@%d", at-1)); err != nil {
				t.Fatal(err)
			}
		} else {
			k.arm(at, cancel)
		}
		srv := newSim(t, c)
		out := t.TempDir()
		code, stdout, stderr := invokeCtx(ctx, grabArgs(srv, out, args...)...)
		cancel()
		k.arm(0, nil)
		srv.Tenant.Heal() // the token is accepted again for the resume
		var m *manifest.Manifest
		if code == want || code == ExitIncomplete {
			m = readManifest(t, lastLine(stdout))
		}
		switch {
		case code == want && m.Partial == nil: // the stop came after the last answer the grab needed
			check(at, lastLine(stdout), srv.URL)
			continue
		case code == ExitIncomplete:
			if m.Partial == nil || m.Partial.Reason != reason || len(m.Partial.Unfinished) == 0 || m.Complete {
				t.Fatalf("stopped at answer %d of %d: partial %+v, complete %v", at, answers, m.Partial, m.Complete)
			}
			if code, out, errs := invoke(t, nil, "verify", lastLine(stdout)); code != ExitOK {
				t.Fatalf("stopped at answer %d of %d: the partial bundle does not verify: exit %d\n%s%s", at, answers, code, out, errs)
			}
		case code == ExitFailed: // stopped before any source was collected: nothing may be sealed
			if sealed, _ := filepath.Glob(filepath.Join(out, "evidence-*")); len(sealed) != 0 {
				t.Fatalf("stopped at answer %d of %d: exit 2, and yet %v\n%s", at, answers, sealed, stderr)
			}
		default:
			t.Fatalf("stopped at answer %d of %d: exit %d\n%s", at, answers, code, stderr)
		}
		again := []string{"grab", "--resume", out}
		if left, _ := filepath.Glob(filepath.Join(out, ".evidence-*.resume")); len(left) == 0 {
			if code != ExitFailed {
				t.Fatalf("stopped at answer %d of %d: a partial bundle and no state to resume it", at, answers)
			}
			again = grabArgs(srv, out, args...) // stopped while connecting: nothing to resume, the grab is run again
		}
		code, stdout, stderr = invoke(t, tokenEnv, again...)
		if code != want {
			t.Fatalf("stopped at answer %d of %d, then resumed: exit %d, want %d\n%s", at, answers, code, want, stderr)
		}
		check(at, lastLine(stdout), srv.URL)
		if left, _ := filepath.Glob(filepath.Join(out, ".evidence-*")); len(left) != 0 {
			t.Fatalf("stopped at answer %d of %d: left behind: %v", at, answers, left)
		}
	}
	t.Logf("%d answers, stopped at every %d", answers, every)
}

// mountSmallDisk mounts a tmpfs of size bytes on a new directory: a real
// file system that fills up. It skips the test where mounting is refused
// (not root, no CAP_SYS_ADMIN). grow gives it more space, as freeing space
// would.
func mountSmallDisk(t *testing.T, size int64) (dir string, grow func(int64)) {
	t.Helper()
	dir = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small tmpfs, and mount was refused: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir, func(n int64) {
		if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", n), dir).CombinedOutput(); err != nil {
			t.Fatalf("remount: %v %s", err, out)
		}
	}
}

// treeSize is the bytes of the files under dir.
func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return err
	})
	return n
}

// TestPartialDiskFullThenResume: a grab whose disk fills up part way (a
// real tmpfs of half the bundle's size) gives up the CSV views, which the
// records make again, and seals the records it collected as a partial
// bundle (exit 3) whose manifest names every view left out, as disk full;
// once space is freed, `grab --resume` ends with the records of an
// uninterrupted run and every CSV view. On a disk too small for even the
// records' seal (tiny), the grab exits 2 saying nothing was sealed, leaves
// no unsealed directory, keeps the resume state, and the resume works.
func TestPartialDiskFullThenResume(t *testing.T) {
	ref, refDir := partialReference(t)
	size := treeSize(t, refDir)
	for _, tc := range []struct {
		name string
		disk int64
		want int
	}{
		{"half", size / 2, ExitIncomplete},
		{"tiny", diskTiny, ExitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, grow := mountSmallDisk(t, tc.disk)
			srv := newSim(t, partialCfg)
			code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, partialArgs...)...)
			t.Logf("bundle %d bytes, disk %d bytes: exit %d: %s", size, tc.disk, code, lastLine(stderr))
			if code != tc.want {
				t.Fatalf("disk full: exit %d, want %d\n%s", code, tc.want, stderr)
			}
			var views []string // the CSV views the partial bundle left out
			if code == ExitIncomplete {
				dir := lastLine(stdout)
				m := checkPartial(t, dir, collect.StopDiskFull)
				checkOmitted(t, refDir, dir, m)
				for _, o := range m.Partial.Omitted {
					// the views of sources that finished (an unfinished one is collected again)
					finished := slices.ContainsFunc(m.Files, func(f manifest.File) bool {
						return f.Path == strings.TrimSuffix(o.Path, ".csv")+".jsonl" && !slices.Contains(m.Partial.Unfinished, f.Source)
					})
					if strings.HasSuffix(o.Path, ".csv") && finished {
						views = append(views, o.Path)
					}
				}
			} else {
				if !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, "nothing was sealed") || !strings.Contains(stderr, "grab --resume "+out) {
					t.Errorf("disk full: stderr does not say so, that nothing was sealed, and how to resume\n%s", stderr)
				}
				if left, _ := filepath.Glob(filepath.Join(out, "evidence-*")); len(left) != 0 {
					t.Errorf("nothing was sealed, yet a bundle is there: %v", left)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(out, ".*.partial")); len(left) != 0 {
				t.Errorf("an unsealed staging directory is left: %v", left)
			}
			if st, _ := filepath.Glob(filepath.Join(out, ".evidence-*.resume")); len(st) != 1 {
				t.Fatalf("resume state after a full disk: %v, want one", st)
			}

			grow(4 * size) // space freed
			code, stdout, stderr = invoke(t, tokenEnv, "grab", "--resume", out)
			if code != ExitOK {
				t.Fatalf("resume after freeing space: exit %d\n%s", code, stderr)
			}
			dir := lastLine(stdout)
			checkResumed(t, refDir, dir, out, ref.URL, srv.URL, false)
			for p := range recordLines(t, dir) {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(p, ".jsonl")+".csv"))); err != nil {
					t.Errorf("resumed bundle: the CSV view of %s: %v", p, err)
				}
			}
			// A left-out view whose columns come from the records alone is
			// written again from the carried records, not collected again:
			// the same bytes as the uninterrupted run's.
			var warn string
			for _, w := range readManifest(t, dir).Warnings {
				if strings.HasPrefix(w, "resumed: ") {
					warn = w
				}
			}
			rebuilt := 0
			for _, v := range views {
				if !strings.HasPrefix(v, "signins/") { // the audits' view has a note column (Matched)
					continue
				}
				rebuilt++
				if !strings.Contains(warn, v) {
					t.Errorf("resumed bundle: %s was not written again from the carried records: %q", v, warn)
				}
				want, err1 := os.ReadFile(filepath.Join(refDir, filepath.FromSlash(v)))
				got, err2 := os.ReadFile(filepath.Join(dir, filepath.FromSlash(v)))
				if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
					t.Errorf("resumed bundle: %s differs from the uninterrupted run's (%v, %v)", v, err1, err2)
				}
			}
			t.Logf("views left out %v, %d written again from their records: %s", views, rebuilt, warn)
			if tc.want == ExitIncomplete && rebuilt == 0 {
				t.Error("the partial bundle left out no view of a finished sign-in source: nothing tested the views written again")
			}
		})
	}
}

// diskTiny is a disk too small to seal even the records of a partial
// bundle: the manifest alone does not fit once collection has filled it.
const diskTiny = 24 << 10

// checkOmitted checks that a partial bundle sealed on a full disk names,
// in partial.omitted, every CSV view it leaves out, as disk full, and keeps
// none: every record file whose view the uninterrupted run (refDir) has
// has it named there.
func checkOmitted(t *testing.T, refDir, dir string, m *manifest.Manifest) {
	t.Helper()
	refFiles := map[string]bool{}
	for _, f := range readManifest(t, refDir).Files {
		refFiles[f.Path] = true
	}
	omitted := map[string]bool{}
	for _, o := range m.Partial.Omitted {
		if o.Reason != collect.StopDiskFull {
			t.Errorf("partial.omitted %s: reason %q, want %q", o.Path, o.Reason, collect.StopDiskFull)
		}
		omitted[o.Path] = true
	}
	views := 0
	for _, f := range m.Files {
		if csv := strings.TrimSuffix(f.Path, ".jsonl") + ".csv"; strings.HasSuffix(f.Path, ".jsonl") && refFiles[csv] {
			if !omitted[csv] {
				t.Errorf("%s: its CSV view %s is neither in the bundle nor in partial.omitted", f.Path, csv)
			}
			views++
		}
		if strings.HasSuffix(f.Path, ".csv") {
			t.Errorf("%s: a CSV view kept in a bundle sealed on a full disk", f.Path)
		}
	}
	if views == 0 {
		t.Errorf("the partial bundle has no record file with a CSV view: nothing checked")
	}
	t.Logf("%d CSV views left out; partial.omitted %d files", views, len(omitted))
}

// pagesSize is the bytes tmpfs charges for the files under dir (whole
// pages).
func pagesSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += (fi.Size() + 4095) / 4096 * 4096
			}
		}
		return err
	})
	return n
}

// TestDiskFullWhileArchiving: the disk fills while the .tar.zst is
// written (a real tmpfs with room for the sealed directory and half the
// archive): exit 2, the error names the sealed directory, which is kept
// and verifies; once space is freed `evidence pack DIR` archives it, and
// its records are those of an uninterrupted run.
func TestDiskFullWhileArchiving(t *testing.T) {
	ref, refDir := partialReference(t)
	archive := filepath.Join(t.TempDir(), "ref.tar.zst")
	if code, _, stderr := invoke(t, nil, "pack", refDir, "-o", archive); code != ExitOK {
		t.Fatalf("pack reference: exit %d\n%s", code, stderr)
	}
	fi, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	room := pagesSize(t, refDir) + 64<<10 + fi.Size()/2
	out, grow := mountSmallDisk(t, room)

	srv := newSim(t, partialCfg)
	code, _, stderr := invoke(t, tokenEnv, grabArgs(srv, out, append(slices.Clone(partialArgs), "--bundle", "tar")...)...)
	t.Logf("directory %d bytes in pages, archive %d, disk %d: exit %d: %s", pagesSize(t, refDir), fi.Size(), room, code, lastLine(stderr))
	if code != ExitFailed {
		t.Fatalf("disk full while archiving: exit %d, want 2\n%s", code, stderr)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "evidence-*"))
	var sealed string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			sealed = d
		}
	}
	if sealed == "" || !strings.Contains(stderr, "bundle sealed in "+sealed) || !strings.Contains(stderr, "evidence pack "+sealed) {
		t.Fatalf("the error does not name the sealed directory (%q) and how to archive it\n%s", sealed, stderr)
	}
	if code, vout, verr := invoke(t, nil, "verify", sealed); code != ExitOK {
		t.Fatalf("the sealed directory left by a full disk does not verify: exit %d\n%s%s", code, vout, verr)
	}
	grow(4 * room) // space freed
	if code, pout, perr := invoke(t, nil, "pack", sealed); code != ExitOK {
		t.Fatalf("pack after freeing space: exit %d\n%s%s", code, pout, perr)
	}
	if code, vout, verr := invoke(t, nil, "verify", sealed+".tar.zst"); code != ExitOK {
		t.Fatalf("the archive packed after freeing space: exit %d\n%s%s", code, vout, verr)
	}
	sameRecords(t, refDir, sealed, ref.URL, srv.URL)
}

// TestPartialDiskFullLeavesOutReport: on a disk that fills so late that the
// records of the partial bundle fit but report.html does not, the page is
// left out too, named in partial.omitted as disk full, and the partial
// bundle still verifies; once space is freed the resume writes it. The
// disk sizes are tried from small to large (the collection fills a disk at
// a point the sizes alone do not tell) until one leaves the page out.
func TestPartialDiskFullLeavesOutReport(t *testing.T) {
	ref, refDir := partialReference(t)
	page := fileSize(t, filepath.Join(refDir, "report.html"))
	for size := int64(diskTiny); size <= treeSize(t, refDir); size += page / 8 {
		out, grow := mountSmallDisk(t, size)
		srv := newSim(t, partialCfg)
		code, stdout, _ := invoke(t, tokenEnv, grabArgs(srv, out, partialArgs...)...)
		if code != ExitIncomplete {
			continue
		}
		dir := lastLine(stdout)
		m := readManifest(t, dir)
		if m.Partial == nil || !slices.ContainsFunc(m.Partial.Omitted, func(o manifest.Omitted) bool { return o.Path == "report.html" }) {
			continue
		}
		t.Logf("disk of %d bytes (page %d bytes): %s", size, page, pipeline.PartialLine(m.Partial))
		checkPartial(t, dir, collect.StopDiskFull)
		checkOmitted(t, refDir, dir, m)
		if _, err := os.Stat(filepath.Join(dir, "report.html")); !os.IsNotExist(err) {
			t.Errorf("report.html is named left out, yet it is there: %v", err)
		}
		grow(4 * treeSize(t, refDir))
		code, stdout, stderr := invoke(t, tokenEnv, "grab", "--resume", out)
		if code != ExitOK {
			t.Fatalf("resume after freeing space: exit %d\n%s", code, stderr)
		}
		resumed := lastLine(stdout)
		checkResumed(t, refDir, resumed, out, ref.URL, srv.URL, false)
		if fileSize(t, filepath.Join(resumed, "report.html")) == 0 {
			t.Error("the resumed bundle has no report.html")
		}
		return
	}
	t.Fatal("no disk size left report.html out of a partial bundle: the test tested nothing")
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestDiskFullAtSealThenResume: a disk that fills after every record was
// written, while the bundle is being sealed (README.txt, manifest.json,
// SHA256SUMS, the custody log), loses no record: the bundle is sealed
// partial without the files made from the records (the CSV views,
// report.html), exit 3, no source unfinished, and it verifies; once space
// is freed, `grab --resume` carries every source, asks Graph for no record
// again, and writes those files: the same records as an uninterrupted run.
// Before 2026-12-05 such a disk ended the run with exit 2 and nothing
// sealed. The disk sizes are tried from the uninterrupted bundle's size
// down, four pages at a time, until the disk fills during the collection:
// no size may end with nothing sealed.
func TestDiskFullAtSealThenResume(t *testing.T) {
	ref, refDir := partialReference(t)
	refM := readManifest(t, refDir)
	total := pagesSize(t, refDir)
	found := map[string]bool{} // the files whose write filled the disk at the seal
	resumed := false
	// Each size is a subtest, so that its disk and its simulator are
	// released when it ends, not when the whole test does.
	stop, mounted := false, false
	for size := total; size > total/2 && !stop; size -= 16 << 10 { // four pages a step: about 30 runs
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			out, grow := mountSmallDisk(t, size)
			mounted = true
			srv := newSim(t, partialCfg)
			code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, partialArgs...)...)
			if code == ExitOK {
				return
			}
			if code != ExitIncomplete {
				t.Fatalf("disk of %d bytes: exit %d, nothing sealed: %s", size, code, lastLine(stderr))
			}
			dir := lastLine(stdout)
			m := readManifest(t, dir)
			if m.Partial == nil || len(m.Partial.Unfinished) != 0 {
				stop = true // the disk filled during the collection: TestPartialDiskFullThenResume
				return
			}
			what := m.Partial.Detail
			if i := strings.Index(what, ": no space left"); i > 0 {
				what = filepath.Base(what[:i])
			}
			if !found[what] {
				t.Logf("disk of %d bytes (bundle %d): %s", size, total, pipeline.PartialLine(m.Partial))
			}
			found[what] = true
			if m.Partial.Reason != collect.StopDiskFull || m.Complete || !strings.Contains(stderr, "while sealing") {
				t.Fatalf("partial %+v, complete %v; stderr:\n%s", m.Partial, m.Complete, stderr)
			}
			for i, s := range m.Sources {
				if i >= len(refM.Sources) || s.Name != refM.Sources[i].Name || s.Records != refM.Sources[i].Records || s.Status != refM.Sources[i].Status {
					t.Fatalf("source %d of the partial bundle: %s %d records %s; the uninterrupted run's: %+v", i, s.Name, s.Records, s.Status, refM.Sources)
				}
			}
			checkOmitted(t, refDir, dir, m)
			if code, out, errs := invoke(t, nil, "verify", dir); code != ExitOK || !strings.Contains(out, "PARTIAL ("+collect.StopDiskFull+")") {
				t.Fatalf("verify the partial bundle: exit %d\n%s%s", code, out, errs)
			}
			if resumed {
				return
			}
			grow(4 * total)
			code, stdout, stderr = invoke(t, tokenEnv, "grab", "--resume", out)
			if code != ExitOK {
				t.Fatalf("resume after freeing space: exit %d\n%s", code, stderr)
			}
			checkResumed(t, refDir, lastLine(stdout), out, ref.URL, srv.URL, true)
			resumed = true
		})
		if !mounted {
			t.Skip("a full disk needs a small tmpfs, and mount was refused")
		}
		if t.Failed() {
			return
		}
	}
	if len(found) == 0 {
		t.Fatal("no disk size filled while the bundle was sealed: the test tested nothing")
	}
	t.Logf("the disk filled at the seal writing: %v", slices.Sorted(maps.Keys(found)))
}
