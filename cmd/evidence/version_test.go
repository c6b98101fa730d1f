package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// TestVersionFlagAndCommand: `evidence --version` and `evidence version`
// print the same one line, with the Go version the binary was built with.
func TestVersionFlagAndCommand(t *testing.T) {
	code, flagOut, stderr := invoke(t, nil, "--version")
	if code != ExitOK || stderr != "" {
		t.Fatalf("--version: exit %d, stderr %q", code, stderr)
	}
	code, cmdOut, _ := invoke(t, nil, "version")
	if code != ExitOK || cmdOut != flagOut {
		t.Fatalf("version printed %q, --version %q", cmdOut, flagOut)
	}
	if !strings.HasPrefix(flagOut, "evidence ") || !strings.Contains(flagOut, runtime.Version()) || strings.Count(flagOut, "\n") != 1 {
		t.Fatalf("--version: %q", flagOut)
	}
}

// TestPassphraseFile: a key made with --passphrase-file (no environment
// variable, no terminal) signs a bundle given the same file; a file whose
// first line is empty is refused before any request.
func TestPassphraseFile(t *testing.T) {
	t.Setenv(EnvKeyPassword, "")
	os.Unsetenv(EnvKeyPassword)
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte(testPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "k")
	if code, out, stderr := invoke(t, nil, "keygen", "--out", prefix, "--passphrase-file", pass); code != ExitOK || !strings.HasPrefix(out, "SHA256:") {
		t.Fatalf("keygen --passphrase-file: exit %d\n%s%s", code, out, stderr)
	}
	srv := newSim(t, graphtest.Config{Seed: 5})
	code, _, stderr := invoke(t, tokenEnv, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--sources", "audits",
		"--sign-key", prefix+".key", "--passphrase-file", pass)...)
	if code != ExitOK || !strings.Contains(stderr, "Signing with key SHA256:") {
		t.Fatalf("grab --passphrase-file: exit %d\n%s", code, stderr)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := srv.Tenant.Stats().Requests
	code, _, stderr = invoke(t, tokenEnv, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--sources", "audits",
		"--sign-key", prefix+".key", "--passphrase-file", empty)...)
	if code != ExitUsage || !strings.Contains(stderr, "the first line is empty") || srv.Tenant.Stats().Requests != before {
		t.Fatalf("empty passphrase file: exit %d, %d requests\n%s", code, srv.Tenant.Stats().Requests-before, stderr)
	}
}
