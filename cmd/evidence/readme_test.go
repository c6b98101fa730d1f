package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// TestBundleReadmeChecksWithStockTools: README.txt in a bundle tells a
// recipient on Linux, macOS and Windows how to check it with the tools
// their system has, in English and Japanese, names no docs/ folder the
// recipient does not have, and its commands work as written inside the
// bundle with every tool this machine has (sha256sum; shasum and pwsh
// when installed).
func TestBundleReadmeChecksWithStockTools(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 2})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", srv.Tenant.Victim().UPN, "--bundle", "dir")...)
	if code != ExitOK {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	b, err := os.ReadFile(filepath.Join(dir, "README.txt"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, want := range []string{"sha256sum -c SHA256SUMS", "shasum -a 256 -c SHA256SUMS", "Get-FileHash -Algorithm SHA256", "certutil -hashfile",
		"日本語", "改ざんされていないことの確認", "report.html"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.txt lacks %q", want)
		}
	}
	if strings.Contains(readme, "docs/") {
		t.Error("README.txt points to docs/, which a recipient of the bundle does not have")
	}
	// Run the per-file checks as written, once per system's tool.
	runs := map[string]string{"sha256sum -c SHA256SUMS": "sha256sum", "shasum -a 256 -c SHA256SUMS": "shasum"}
	for _, line := range strings.Split(readme, "\n") {
		if c := strings.TrimSpace(line); strings.HasPrefix(c, "Get-Content SHA256SUMS") {
			runs[c] = "pwsh"
		}
	}
	ran := 0
	for cmdline, tool := range runs {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s not installed: %q not run", tool, cmdline)
			continue
		}
		var c *exec.Cmd
		if tool == "pwsh" {
			c = exec.Command("pwsh", "-NoProfile", "-Command", cmdline)
		} else {
			c = exec.Command("sh", "-c", cmdline)
		}
		c.Dir = dir
		o, err := c.CombinedOutput()
		if err != nil || strings.Contains(string(o), "FAILED") || !strings.Contains(string(o), "OK") {
			t.Errorf("%q in the bundle: %v\n%s", cmdline, err, o)
		}
		ran++
	}
	if ran == 0 {
		t.Fatal("no checking command could run: sha256sum is missing")
	}
	if code, o, _ := invoke(t, nil, "verify", dir); code != ExitOK {
		t.Errorf("the checks changed the bundle: verify exit %d\n%s", code, o)
	}
}
