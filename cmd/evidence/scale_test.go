package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// buildBinary builds the evidence command once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "evidence")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// TestScale200kFlatMemory: 200,000 sign-ins for one user, collected from a
// separate `evidence sim` process under a scaled throttling budget, are
// exactly the ground truth with no duplicates, and the grab process's peak
// RSS stays under 150 MB (measured from the kernel's rusage, not guessed).
func TestScale200kFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000-record scale test skipped with -short")
	}
	const n = 200000
	bin := buildBinary(t)
	simNow := fixedNow.Format(time.RFC3339)
	sim := exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--token", testToken, "--seed", "21",
		"--signins-per-user", "200000", "--audits-per-user", "50", "--reports-budget", "5/250ms", "--now", simNow)
	stdout, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url = strings.TrimSpace(url)

	truth, err := graphtest.New(graphtest.Config{Seed: 21, Token: testToken, Now: fixedNow, SignInsPerUser: n, AuditsPerUser: 50})
	if err != nil {
		t.Fatal(err)
	}
	victim := truth.Victim()
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	want := truth.IDs(graphtest.StreamSignIns, victim.ID, start, end)
	if len(want) < n {
		t.Fatalf("ground truth has %d sign-ins, expected at least %d", len(want), n)
	}

	out := t.TempDir()
	grab := exec.Command(bin, "grab", "--graph-url", url, "--auth", "token", "--user", victim.UPN,
		"--since", start.Format(time.RFC3339), "--until", end.Format(time.RFC3339),
		"--budget", "reports=5/250ms", "--retry-base", "1ms", "--bundle", "dir", "--out", out, "--sources", "signins",
		"--signin-kinds", "interactive", "--split", "0") // one window: the file is then newest first throughout
	grab.Env = append(os.Environ(), "EVIDENCE_GRAPH_TOKEN="+testToken)
	var errb strings.Builder
	grab.Stderr = &errb
	resetPeakRSS(t)
	gout, err := grab.Output()
	if err != nil {
		t.Fatalf("grab: %v\n%s", err, errb.String())
	}
	ru := grab.ProcessState.SysUsage().(*syscall.Rusage)
	rssMB := float64(ru.Maxrss) / 1024 // Linux reports KiB
	t.Logf("grab of %d sign-ins: peak RSS %.1f MB, CPU %s", len(want), rssMB, grab.ProcessState.UserTime()+grab.ProcessState.SystemTime())
	if rssMB >= 150 {
		t.Errorf("peak RSS %.1f MB, limit 150 MB", rssMB)
	}
	dir := lastLine(string(gout))
	sameIDs(t, "200k sign-ins", readIDs(t, filepath.Join(dir, "signins", "interactive.jsonl")), want)
	m := readManifest(t, dir)
	if m.Sources[0].Records != int64(len(want)) || !m.Complete {
		t.Fatalf("manifest: %d records, complete=%v", m.Sources[0].Records, m.Complete)
	}
	b, _ := json.Marshal(m.Requests)
	t.Logf("requests: %s", b)
	checkPacing(t, dir, "reports", 5, 250*time.Millisecond)
}

// resetPeakRSS frees the memory this test process no longer uses and resets
// its peak resident set size (Linux: 5 written to /proc/self/clear_refs)
// before a child whose peak RSS is measured starts. os/exec starts children
// with vfork, sharing this process's memory until they exec, and Linux then
// gives the child that memory's peak as its own starting ru_maxrss: without
// the reset a child's figure is the larger of its own peak and the peak of
// whatever ran before it in this test binary (a test of 30 grabs in this
// process made a 81 MB grab read 139-163 MB).
func resetPeakRSS(t *testing.T) {
	t.Helper()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("this process's peak RSS could not be reset (%v): the child's figure may be this process's", err)
	}
}
