package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// docTarCommands returns every shell command in README.md and docs/ that
// runs tar on a bundle, each with the file it comes from: with fenced true
// the lines of fenced sh blocks (TestDocCommands runs those in place), else
// the inline code spans of the prose.
func docTarCommands(t *testing.T, fenced bool) map[string][]string {
	t.Helper()
	tarCall := regexp.MustCompile(`(^|[|;&(]\s*)tar\s+-`)
	span := regexp.MustCompile("`([^`]+)`")
	out := map[string][]string{}
	for _, f := range docFiles(t) {
		var cands []string
		for _, b := range docBlocksOf(t, f) {
			if fenced && strings.HasPrefix(b.info, "sh") {
				for _, line := range strings.Split(b.body, "\n") {
					cands = append(cands, strings.TrimSpace(line))
				}
			}
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if fenced {
				break
			}
			for _, m := range span.FindAllStringSubmatch(line, -1) {
				cands = append(cands, strings.ReplaceAll(m[1], `\|`, "|"))
			}
		}
		for _, c := range cands {
			if tarCall.MatchString(c) && strings.Contains(c, ".tar.zst") {
				out[f] = append(out[f], c)
			}
		}
	}
	return out
}

// TestDocumentedTarCommands: with two bundles in evidence-demo/ (as after
// two demos), every tar command the prose of README.md and docs/ names in
// an inline code span works as written, twice, with GNU tar: the names hold
// no ':' that tar would read as host:file. Placeholders (NAME, X, TMP) are
// the newest bundle's name and a fresh directory. The fenced ones (README's
// extraction, docs/verify.md's) run where they stand in TestDocCommands.
func TestDocumentedTarCommands(t *testing.T) {
	if _, err := exec.LookPath("zstd"); err != nil {
		t.Skip("no zstd: GNU tar --zstd needs it")
	}
	fenced := docTarCommands(t, true)
	if len(fenced["../../README.md"]) == 0 || len(fenced["../../docs/verify.md"]) == 0 {
		t.Fatalf("no fenced tar command in README.md or docs/verify.md for TestDocCommands to run: %q", fenced)
	}
	cmds := docTarCommands(t, false)
	if len(cmds) == 0 {
		t.Fatal("no tar command in the prose of README.md or docs/")
	}
	srv := newSim(t, graphtest.Config{Seed: 2})
	root := t.TempDir()
	demo := filepath.Join(root, "evidence-demo")
	var names []string
	for i := 0; i < 2; i++ {
		code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, demo, "--user", srv.Tenant.Victim().UPN)...)
		if code != ExitOK {
			t.Fatalf("grab %d: exit %d\n%s", i, code, stderr)
		}
		p := lastLine(stdout)
		name := strings.TrimSuffix(filepath.Base(p), ".tar.zst")
		if strings.ContainsAny(name, `:\*?"<>|`) || !regexp.MustCompile(`^evidence-\d{8}T\d{6}Z-[0-9a-f]{8}$`).MatchString(name) {
			t.Fatalf("bundle name %q is not evidence-YYYYMMDDTHHMMSSZ-XXXXXXXX", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	newest := names[len(names)-1]
	for _, n := range names {
		for _, beside := range []string{n + ".custody.jsonl"} {
			if _, err := os.Stat(filepath.Join(demo, beside)); err != nil {
				t.Errorf("%s: %v", beside, err)
			}
		}
	}
	ph := strings.NewReplacer("NAME", newest, "X.tar.zst", newest+".tar.zst", "TMP", "tmp-extract")
	for file, list := range cmds {
		for _, c := range list {
			dir := demo // docs/ commands run beside the archive, README's from the project root
			if strings.HasSuffix(file, "README.md") {
				dir = root
			}
			cmd := ph.Replace(c)
			for run := 1; run <= 2; run++ {
				os.RemoveAll(filepath.Join(demo, "tmp-extract"))
				os.MkdirAll(filepath.Join(demo, "tmp-extract"), 0o755)
				sh := exec.Command("bash", "-euo", "pipefail", "-c", cmd)
				sh.Dir = dir
				out, err := sh.CombinedOutput()
				if run == 1 {
					t.Logf("%s: %s", file, cmd)
				}
				if err != nil {
					t.Errorf("%s: %q (run %d, in %s): %v\n%s", file, cmd, run, dir, err, out)
				}
			}
		}
	}
	// The extracted bundle is the newest one, whole.
	if code, out, _ := invoke(t, nil, "verify", filepath.Join(demo, newest)); code != ExitOK {
		t.Errorf("verify of the extracted %s: exit %d\n%s", newest, code, out)
	}
}

// TestVerifyReadsOldNames: a bundle named the way earlier versions named
// it (evidence-2026-11-20T06:00:00Z-...; ':' in the name) still verifies,
// as a directory and as an archive, and the report renders from it.
func TestVerifyReadsOldNames(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 2})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", srv.Tenant.Victim().UPN, "--bundle", "dir")...)
	if code != ExitOK {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	old := filepath.Join(out, "evidence-2026-11-20T06:00:00Z-"+strings.TrimPrefix(filepath.Base(dir), "evidence-")[len(bundle.StampLayout)+1:])
	if err := os.Rename(dir, old); err != nil {
		t.Fatal(err)
	}
	if code, o, _ := invoke(t, nil, "verify", old); code != ExitOK {
		t.Fatalf("verify %s: exit %d\n%s", old, code, o)
	}
	if code, _, e := invoke(t, nil, "pack", old, "-o", old+".tar.zst"); code != ExitOK {
		t.Fatalf("pack %s: exit %d\n%s", old, code, e)
	}
	if code, o, _ := invoke(t, nil, "verify", old+".tar.zst"); code != ExitOK {
		t.Fatalf("verify %s.tar.zst: exit %d\n%s", old, code, o)
	}
	page := filepath.Join(t.TempDir(), "r.html")
	if code, _, e := invoke(t, nil, "report", "-o", page, old+".tar.zst"); code != ExitOK {
		t.Fatalf("report of the old-named archive: exit %d\n%s", code, e)
	}
}
