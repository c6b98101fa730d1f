package main

import (
	"runtime"
	"strings"
	"testing"
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
