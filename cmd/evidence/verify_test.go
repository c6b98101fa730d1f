package main

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/klauspost/compress/zstd"
)

// sealedDir grabs a small bundle as a directory and returns its path.
func sealedDir(t *testing.T) string {
	t.Helper()
	srv := newSim(t, graphtest.Config{Seed: 5})
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--bundle", "dir")...)
	if code != ExitOK {
		t.Fatalf("grab exit %d\n%s", code, stderr)
	}
	return lastLine(stdout)
}

// TestVerifyNamesTamperedFile: a flipped byte, a deleted file and an added
// file each make verify exit 4 and name the file.
func TestVerifyNamesTamperedFile(t *testing.T) {
	cases := []struct {
		name, file, kind string
		tamper           func(dir, file string) error
	}{
		{"flip", "signins/interactive.jsonl", "changed", func(dir, f string) error {
			p := filepath.Join(dir, f)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x01
			return os.WriteFile(p, b, 0o644)
		}},
		{"delete", "audits/directory.csv", "missing", func(dir, f string) error { return os.Remove(filepath.Join(dir, f)) }},
		{"add", "signins/extra.jsonl", "added", func(dir, f string) error {
			return os.WriteFile(filepath.Join(dir, f), []byte("{}\n"), 0o644)
		}},
		{"manifest", "manifest.json", "changed", func(dir, f string) error {
			p := filepath.Join(dir, f)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, bytes.Replace(b, []byte(`"complete":true`), []byte(`"complete":false`), 1), 0o644)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := sealedDir(t)
			if code, out, _ := invoke(t, nil, "verify", dir); code != ExitOK {
				t.Fatalf("intact bundle: exit %d\n%s", code, out)
			}
			if err := c.tamper(dir, c.file); err != nil {
				t.Fatal(err)
			}
			code, out, _ := invoke(t, nil, "verify", dir)
			if code != ExitVerify {
				t.Fatalf("tampered bundle: exit %d, want %d\n%s", code, ExitVerify, out)
			}
			if !strings.Contains(out, c.kind) || !strings.Contains(out, c.file) {
				t.Fatalf("verify output does not name %s %s:\n%s", c.kind, c.file, out)
			}
			// The archive path reports the same.
			code, out, _ = invoke(t, nil, "verify", "--json", dir)
			if code != ExitVerify || !strings.Contains(out, `"path": "`+c.file+`"`) {
				t.Fatalf("--json: exit %d\n%s", code, out)
			}
		})
	}
}

// TestVerifyRefusesParentPathInTar: an archive entry "../x" is refused by name.
func TestVerifyRefusesParentPathInTar(t *testing.T) {
	dir := sealedDir(t)
	var raw bytes.Buffer
	zw, err := zstd.NewWriter(&raw)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	top := filepath.Base(dir)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	evil := []byte("owned\n")
	if err := tw.WriteHeader(&tar.Header{Name: top + "/../x", Mode: 0o644, Size: int64(len(evil))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(evil)
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "evil.tar.zst")
	if err := os.WriteFile(path, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := invoke(t, nil, "verify", path)
	if code != ExitVerify || !strings.Contains(out, "../x") || !strings.Contains(out, "unsafe") {
		t.Fatalf("exit %d, want %d naming the unsafe entry:\n%s", code, ExitVerify, out)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "x")); err == nil {
		t.Fatal("verify wrote the entry to disk")
	}
}

// TestBadInput: one clear line, the documented exit code, no bundle left.
func TestBadInput(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5})
	since := fixedNow.Add(-24 * time.Hour).Format(time.RFC3339)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"since yesterday", tokenEnv, []string{"--user", "victim@contoso.com", "--since", "yesterday"}, ExitUsage, "--since"},
		{"until before since", tokenEnv, []string{"--user", "victim@contoso.com", "--since", since, "--until", fixedNow.Add(-48 * time.Hour).Format(time.RFC3339)}, ExitUsage, "--until"},
		{"unknown source", tokenEnv, []string{"--user", "victim@contoso.com", "--sources", "signins,mailbox"}, ExitUsage, `unknown source "mailbox"`},
		{"empty sources", tokenEnv, []string{"--user", "victim@contoso.com", "--sources", ""}, ExitUsage, "no source selected"},
		{"no user", tokenEnv, nil, ExitUsage, "--user"},
		{"unknown flag", tokenEnv, []string{"--user", "victim@contoso.com", "--bogus"}, ExitUsage, "unknown flag"},
		{"unknown user", tokenEnv, []string{"--user", "nobody@contoso.com"}, ExitUsage, "nobody@contoso.com"},
		{"wrong token", map[string]string{"EVIDENCE_GRAPH_TOKEN": "wrong-token"}, []string{"--user", "victim@contoso.com"}, ExitFailed, "refused the credentials"},
		{"no token", map[string]string{"EVIDENCE_GRAPH_TOKEN": ""}, []string{"--user", "victim@contoso.com"}, ExitUsage, "EVIDENCE_GRAPH_TOKEN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--retry-base", "1ms"}, c.args...)
			// grabArgs' window is not used here: each case sets its own.
			code, stdout, stderr := invoke(t, c.env, args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "evidence: ") || !strings.Contains(last, c.want) {
				t.Fatalf("last stderr line %q does not say %q", last, c.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Fatalf("stack trace on stderr:\n%s", stderr)
			}
			if stdout != "" {
				t.Fatalf("stdout should be empty on failure, got %q", stdout)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 0 {
				t.Fatalf("failed run left %v in --out", entries)
			}
		})
	}
}

// TestNoTokenInOutputs: the bearer token appears in no file the tool writes
// and in no log line, even with faults, retries and debug logging.
func TestNoTokenInOutputs(t *testing.T) {
	cfg := graphtest.Config{Seed: 9, SignInsPerUser: 600, Faults: graphtest.Faults{Rate5xx: 0.2, RateReset: 0.1, RateTruncate: 0.1, Seed: 2}}
	srv := newSim(t, cfg)
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, append(grabArgs(srv, out, "--user", "victim@contoso.com", "--bundle", "dir", "--page-size", "100", "--max-attempts", "20"), "-v")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// A refused token must not be echoed either.
	_, stdout2, stderr2 := invoke(t, map[string]string{"EVIDENCE_GRAPH_TOKEN": "wrong-" + testToken}, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com")...)
	for name, s := range map[string]string{"stdout": stdout + stdout2, "stderr": stderr + stderr2} {
		if strings.Contains(s, testToken) {
			t.Fatalf("token in %s", name)
		}
	}
	files := 0
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(testToken)) {
			t.Errorf("token in %s", p)
		}
		return nil
	})
	if err != nil || files < 7 {
		t.Fatalf("walked %d files: %v", files, err)
	}
}
