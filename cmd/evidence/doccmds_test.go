package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// docBlock is one fenced code block of README.md or docs/*.md.
type docBlock struct {
	file, info, body string
	line             int // of the opening fence, 1-based
}

// docSkip says why TestDocCommands does not run a block with this info
// string (the table "Commands in these docs" of docs/cli.md); "" runs it.
var docSkip = map[string]string{
	"sh":                     "",
	"sh once":                "", // first pass only
	"sh real-tenant":         "needs a Microsoft 365 tenant, an app registration or an Azure subscription",
	"sh host":                "changes the machine outside the working directory",
	"sh suite":               "runs the project's own tests or benchmarks",
	"text":                   "not a command",
	"json":                   "not a command",
	"go":                     "not a command",
	"kusto":                  "not a command",
	"powershell real-tenant": "needs a Microsoft 365 tenant",
}

// docFiles is README.md and every docs/*.md, relative to this package.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return append([]string{"../../README.md"}, files...)
}

// exitComment is a command line ending in "# exit N": it must exit N.
var exitComment = regexp.MustCompile(`(?m)^(\S.*?)\s+# exit (\d+)\b.*$`)

var fenceRE = regexp.MustCompile("^( {0,3})(```+|~~~+)\\s*(.*)$")

// docBlocksOf returns the fenced blocks of one Markdown file (CommonMark
// fences, indented up to three spaces, as inside list items) and fails on
// an indented code block: every example must say what it is.
func docBlocksOf(t *testing.T, file string) []docBlock {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			if i > 0 && strings.TrimSpace(lines[i-1]) == "" && strings.HasPrefix(lines[i], "    ") && strings.TrimSpace(lines[i]) != "" {
				t.Errorf("%s:%d: indented code block: fence it with an info string (docs/cli.md, Commands in these docs)", file, i+1)
			}
			continue
		}
		indent, fence, info := len(m[1]), m[2], strings.TrimSpace(m[3])
		blk := docBlock{file: file, info: info, line: i + 1}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimLeft(lines[i], " "), fence); i++ {
			l := lines[i]
			for k := 0; k < indent && strings.HasPrefix(l, " "); k++ {
				l = l[1:]
			}
			body = append(body, l)
		}
		if i == len(lines) {
			t.Errorf("%s:%d: fence never closed", file, blk.line)
		}
		blk.body = strings.Join(body, "\n")
		out = append(out, blk)
	}
	return out
}

// docScript is the bash session a reader pasting the runnable blocks of one
// file in order would type; once blocks only on the first pass. The
// substitutions are the ones docs/cli.md lists.
func docScript(t *testing.T, blocks []docBlock, pass int, port string, collectorPub string) string {
	t.Helper()
	rep := strings.NewReplacer("go run ./cmd/evidence", "evidence", "./evidence ", "evidence ",
		"127.0.0.1:8080", "127.0.0.1:"+port, "COLLECTOR.pub", collectorPub)
	var s strings.Builder
	s.WriteString("trap 'echo \"doc command failed (exit $?): $BASH_COMMAND\" >&2' ERR\n")
	for _, b := range blocks {
		why, known := docSkip[b.info]
		switch {
		case !known:
			t.Errorf("%s:%d: unknown info string %q (docs/cli.md lists them)", b.file, b.line, b.info)
			continue
		case why != "":
			if pass == 1 && (strings.HasPrefix(b.info, "sh") || strings.HasPrefix(b.info, "powershell")) {
				t.Logf("skipped %s:%d (%s): %s", filepath.Base(b.file), b.line, b.info, why)
			}
			continue
		case b.info == "sh once" && pass > 1:
			continue
		}
		body := exitComment.ReplaceAllString(rep.Replace(b.body), `set +e; $1; rc=$$?; set -e; [ $$rc -eq $2 ] || { echo "exit $$rc, the doc says $2" >&2; false; }`)
		fmt.Fprintf(&s, "echo '### %s:%d (pass %d)' >&2\n%s\n", filepath.Base(b.file), b.line, pass, body)
	}
	return s.String()
}

// runDocScript runs script with bash in dir, with the built binary first on
// PATH as evidence, HOME the directory and a test passphrase in the
// environment; it kills what the script left running (a background sim).
func runDocScript(t *testing.T, bin, dir, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	c.Dir = dir
	c.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "EVIDENCE_KEY_PASSWORD="+docPassphrase, "LANG=C.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	if c.Process != nil {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	return out.String(), err
}

const docPassphrase = "doc-test passphrase 7f3e"

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// docFixture builds, once, the files the examples of docs/ name (the list
// in docs/cli.md): a signed bundle under the example name as a directory and
// an archive with its custody log, two archives for diff, keys, trusted
// keys, portal downloads and a tenants list.
func docFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	env := map[string]string{"EVIDENCE_KEY_PASSWORD": docPassphrase, "EVIDENCE_GRAPH_TOKEN": testToken}
	for _, k := range []string{"collector", "alice", "bob"} {
		if code, _, e := invoke(t, env, "keygen", "--out", filepath.Join(root, k)); code != ExitOK {
			t.Fatalf("keygen %s: exit %d\n%s", k, code, e)
		}
	}
	srv := newSim(t, graphtest.Config{Seed: 2})
	victim := srv.Tenant.Victim().UPN
	work := t.TempDir()
	code, stdout, stderr := invoke(t, env, grabArgs(srv, work, "--user", victim, "--bundle", "dir", "--sign-key", filepath.Join(root, "collector.key"))...)
	if code != ExitOK {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	const example = "evidence-20261125T015600Z-3f2a9c1d"
	if err := os.Rename(lastLine(stdout), filepath.Join(root, example)); err != nil {
		t.Fatal(err)
	}
	if code, _, e := invoke(t, env, "pack", filepath.Join(root, example)); code != ExitOK {
		t.Fatalf("pack: exit %d\n%s", code, e)
	}
	for _, day := range []string{"day1/evidence-20261204T060000Z-1a2b3c4d", "day2/evidence-20261205T060000Z-5e6f7a8b"} {
		out := t.TempDir()
		code, stdout, stderr := invoke(t, env, grabArgs(srv, out, "--user", victim)...)
		if code != ExitOK {
			t.Fatalf("grab for %s: exit %d\n%s", day, code, stderr)
		}
		archive := lastLine(stdout)
		os.MkdirAll(filepath.Join(root, filepath.Dir(day)), 0o755)
		for _, ext := range []string{".tar.zst", ".custody.jsonl"} {
			if err := os.Rename(strings.TrimSuffix(archive, ".tar.zst")+ext, filepath.Join(root, day+ext)); err != nil {
				t.Fatal(err)
			}
		}
	}
	pub, err := os.ReadFile(filepath.Join(root, "alice.pub"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"allowed_signers": "alice " + string(pub), "tenants.txt": "contoso.com 300\nfabrikam.com\n"}
	for _, f := range []string{"InteractiveSignIns_2026-11-13_2026-11-20.csv", "AuditLogs_2026-11-20.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestDocCommands runs every runnable fenced command of README.md and
// docs/*.md against the simulator, as docs/cli.md ("Commands in these
// docs") says: per file a fresh directory, all blocks in one bash session,
// twice in the same directory. It then checks what the reader is left
// with: the bundles the examples used still verify (no step wrote into
// one), and README.md alone gave two demos, the newest extracted with its
// documented tar command, a bundle that verifies and a report.html whose
// verdict and findings are on the first screen of a headless Chromium.
func TestDocCommands(t *testing.T) {
	for _, tool := range []string{"bash", "zstd", "sha256sum", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true but no %s", tool)
			}
			t.Skipf("no %s on this machine: the documented commands use it", tool)
		}
	}
	bin := buildBinary(t)
	fixture := docFixture(t)
	for _, file := range docFiles(t) {
		blocks := docBlocksOf(t, file)
		runnable := 0
		for _, b := range blocks {
			if b.info == "sh" || b.info == "sh once" {
				runnable++
			}
		}
		if runnable == 0 {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			dir := t.TempDir()
			readme := strings.HasSuffix(file, "README.md")
			if !readme { // README.md starts from nothing; docs/ examples name the fixture's files
				if o, err := exec.Command("cp", "-a", fixture+"/.", dir).CombinedOutput(); err != nil {
					t.Fatalf("copying the fixture: %v\n%s", err, o)
				}
			}
			port := freePort(t)
			for pass := 1; pass <= 2; pass++ {
				out, err := runDocScript(t, bin, dir, docScript(t, blocks, pass, port, filepath.Join(dir, "collector.pub")))
				if err != nil {
					t.Fatalf("%s, pass %d: %v\n%s", file, pass, err, out)
				}
				t.Logf("%s, pass %d: ok (%d runnable blocks)", file, pass, runnable)
			}
			if readme {
				checkReadmeOutcome(t, bin, dir)
				return
			}
			for _, b := range []string{"evidence-20261125T015600Z-3f2a9c1d", "evidence-20261125T015600Z-3f2a9c1d.tar.zst"} {
				// Signed by the collector, extended by alice and bob (custody append).
				args := []string{"verify", filepath.Join(dir, b)}
				for _, k := range []string{"collector", "alice", "bob"} {
					args = append(args, "--pubkey", filepath.Join(dir, k+".pub"))
				}
				if o, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
					t.Errorf("after %s's commands, %s no longer verifies: %v\n%s", file, b, err, o)
				}
			}
		})
	}
}

// checkReadmeOutcome: after README.md's commands ran twice in dir, there
// are at least two demo archives, the newest extracted bundle verifies and
// its report opens with the verdict and findings on the first screen.
func checkReadmeOutcome(t *testing.T, bin, dir string) {
	t.Helper()
	demo := filepath.Join(dir, "evidence-demo")
	archives, _ := filepath.Glob(filepath.Join(demo, "evidence-*.tar.zst"))
	if len(archives) < 2 {
		t.Fatalf("README.md twice left %d archives in evidence-demo, want at least 2", len(archives))
	}
	dirs, _ := filepath.Glob(filepath.Join(demo, "evidence-*[0-9a-f]"))
	var extracted []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			extracted = append(extracted, d)
		}
	}
	if len(extracted) == 0 {
		t.Fatal("README.md's tar command extracted no bundle directory")
	}
	sort.Strings(extracted)
	newest := extracted[len(extracted)-1]
	if o, err := exec.Command(bin, "verify", newest).CombinedOutput(); err != nil {
		t.Fatalf("the extracted %s does not verify: %v\n%s", newest, err, o)
	}
	browserPath(t)
	geo, _ := firstScreen(t, filepath.Join(newest, "report.html"))
	onScreen(t, geo, "verdict")
	onScreen(t, geo, "findings")
	text, _ := geo["text"].(string)
	if !strings.Contains(text, "victim@contoso.com") {
		t.Errorf("the extracted report's verdict does not name the demo's user:\n%s", text)
	}
}
