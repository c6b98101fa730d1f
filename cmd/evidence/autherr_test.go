package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// errorLine returns stderr's "evidence:" lines; the failure must be one.
func errorLine(t *testing.T, stderr string) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "evidence:") && !strings.HasPrefix(l, "evidence: warning") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one error line, got %d:\n%s", len(lines), stderr)
	}
	return lines[0]
}

func wantLine(t *testing.T, line string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(line, p) {
			t.Errorf("the error line lacks %q:\n%s", p, line)
		}
	}
}

// TestAuthErrorNoNetwork: a --graph-url where nothing listens fails at the
// first request (no minutes of retries) with exit 2 and one line naming the
// address and what to check; nothing is left in --out.
func TestAuthErrorNoNetwork(t *testing.T) {
	t.Setenv("LC_ALL", "C") // the lines below are the English catalogue's
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out := t.TempDir()
	code, _, stderr := invoke(t, tokenEnv, "grab", "--graph-url", "http://"+addr, "--auth", "token", "--out", out,
		"--user", "victim@contoso.com", "--sources", "signins", "--since", "1d")
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailed, stderr)
	}
	line := errorLine(t, stderr)
	wantLine(t, line, "cannot reach "+addr, "check the network")
	if strings.Contains(line, "gave up after") {
		t.Errorf("retried an address that never answered: %s", line)
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("left %d entries in --out", len(left))
	}
}

// TestAuthErrorAzureCLI: --auth azcli with no az on PATH, and with an az
// that answers as az does before az login: exit 2, one line saying so and
// what to run.
func TestAuthErrorAzureCLI(t *testing.T) {
	t.Setenv("LC_ALL", "C") // the lines below are the English catalogue's
	srv := newSim(t, graphtest.Config{Seed: 2})
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "azcli", "--out", t.TempDir(),
		"--user", srv.Tenant.Victim().UPN, "--sources", "signins", "--since", "1d"}

	t.Setenv("PATH", t.TempDir())
	code, _, stderr := invoke(t, nil, args...)
	if code != ExitFailed {
		t.Fatalf("no az: exit %d, want %d\n%s", code, ExitFailed, stderr)
	}
	wantLine(t, errorLine(t, stderr), "Azure CLI (az) is not installed", "choose another --auth")

	fake := t.TempDir()
	script := "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fake, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", fake+string(os.PathListSeparator)+"/usr/bin:/bin")
	code, _, stderr = invoke(t, nil, args...)
	if code != ExitFailed {
		t.Fatalf("az not signed in: exit %d, want %d\n%s", code, ExitFailed, stderr)
	}
	wantLine(t, errorLine(t, stderr), "Azure CLI is not signed in", "az login")
}

// TestAuthErrorTokenExpired: --auth token with a token Graph answers 401
// "Lifetime validation failed, the token is expired" (the simulator's
// --fail /v1.0=401, Graph's body): exit 2, one line saying the token expired and
// where a fresh one goes.
func TestAuthErrorTokenExpired(t *testing.T) {
	t.Setenv("LC_ALL", "C") // the lines below are the English catalogue's
	srv := newSim(t, graphtest.Config{Seed: 2, Fail: map[string]int{"/v1.0": 401, "/beta": 401}})
	code, _, stderr := invoke(t, tokenEnv, grabArgs(srv, t.TempDir(), "--user", srv.Tenant.Victim().UPN)...)
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailed, stderr)
	}
	wantLine(t, errorLine(t, stderr), "the token", "expired", "EVIDENCE_GRAPH_TOKEN")
}
