package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackRefusesWhatDoesNotVerify: pack checks the directory in the same
// read that archives it, and a directory that does not verify (a changed
// byte, an added file, a symlink) leaves no archive and exits 4 naming the
// problem, as verify would; the untouched directory packs.
func TestPackRefusesWhatDoesNotVerify(t *testing.T) {
	dir := sealedDir(t)
	cases := []struct {
		name, want string
		tamper     func() func() // returns the undo
	}{
		{"changed byte", "changed signins/interactive.jsonl", func() func() {
			p := filepath.Join(dir, "signins", "interactive.jsonl")
			b, _ := os.ReadFile(p)
			c := append([]byte(nil), b...)
			c[len(c)/2] ^= 1
			os.WriteFile(p, c, 0o644)
			return func() { os.WriteFile(p, b, 0o644) }
		}},
		{"added file", "added notes.txt", func() func() {
			p := filepath.Join(dir, "notes.txt")
			os.WriteFile(p, []byte("x\n"), 0o644)
			return func() { os.Remove(p) }
		}},
		{"symlink", "unsafe link", func() func() {
			p := filepath.Join(dir, "link")
			os.Symlink("/etc/passwd", p)
			return func() { os.Remove(p) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			undo := tc.tamper()
			defer undo()
			out := filepath.Join(t.TempDir(), "x.tar.zst")
			code, _, stderr := invoke(t, nil, "pack", dir, "-o", out)
			if code != ExitVerify || !strings.Contains(stderr, "does not verify, so it is not packed") || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d naming %q\n%s", code, ExitVerify, tc.want, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("an archive was left: %v", err)
			}
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
				t.Errorf("files left beside it: %v", ents)
			}
		})
	}
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	if code, stdout, stderr := invoke(t, nil, "pack", dir, "-o", out); code != ExitOK || lastLine(stdout) != out {
		t.Fatalf("pack of the untouched directory: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := invoke(t, nil, "verify", out); code != ExitOK {
		t.Fatalf("verify of the archive: exit %d\n%s", code, stderr)
	}
}
