package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exportArgsParse proves a recipe's command line is one export accepts:
// every flag exists and takes the value given, --state is there.
func exportArgsParse(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "export" {
		t.Fatalf("%s: command %q is not an export", where, args)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard}
	cmd := a.exportCmd()
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Fatalf("%s: export refuses its flags: %v (%q)", where, err, args)
	}
	if v, _ := cmd.Flags().GetString("state"); v == "" {
		t.Fatalf("%s: no --state", where)
	}
	if len(cmd.Flags().Args()) != 0 {
		t.Fatalf("%s: stray arguments %q", where, cmd.Flags().Args())
	}
}

func readYAMLDocs(t *testing.T, r io.Reader) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(r)
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestRecipeKubernetes: the CronJob recipe and plan's CronJobs are valid
// YAML, forbid concurrent runs, run as non-root and pass export flags
// export accepts.
func TestRecipeKubernetes(t *testing.T) {
	f, err := os.Open("../../docs/deploy/kubernetes/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := readYAMLDocs(t, f)
	file := filepath.Join(t.TempDir(), "tenants.txt")
	os.WriteFile(file, []byte("contoso.com 200\nfabrikam.onmicrosoft.com\n"), 0o644)
	code, stdout, stderr := invoke(t, nil, "export", "plan", "--tenants", file, "--format", "cronjob")
	if code != ExitOK {
		t.Fatalf("plan: %d %s", code, stderr)
	}
	docs = append(docs, readYAMLDocs(t, strings.NewReader(stdout))...)
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want 2", len(docs))
	}
	for i, d := range docs {
		if d["kind"] != "CronJob" || dig(d, "spec", "concurrencyPolicy") != "Forbid" {
			t.Fatalf("doc %d: kind %v, concurrencyPolicy %v", i, d["kind"], dig(d, "spec", "concurrencyPolicy"))
		}
		pod := dig(d, "spec", "jobTemplate", "spec", "template", "spec")
		if dig(pod, "securityContext", "runAsNonRoot") != true {
			t.Fatalf("doc %d: not runAsNonRoot", i)
		}
		for j := 0; dig(pod, "containers", j) != nil; j++ {
			exportArgsParse(t, "kubernetes", strs(dig(pod, "containers", j, "args")))
		}
	}
}

// TestRecipeContainerApps: the Container Apps job is a scheduled job with a
// managed identity whose export flags parse.
func TestRecipeContainerApps(t *testing.T) {
	f, err := os.Open("../../docs/deploy/containerapps/job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := readYAMLDocs(t, f)[0]
	if dig(d, "properties", "configuration", "triggerType") != "Schedule" || dig(d, "identity", "type") != "UserAssigned" {
		t.Fatalf("not a scheduled job with a managed identity: %v", d)
	}
	args := strs(dig(d, "properties", "template", "containers", 0, "args"))
	exportArgsParse(t, "container apps", args)
	if !strings.Contains(strings.Join(args, " "), "--auth managed-identity") {
		t.Fatal("container apps job does not sign in with its managed identity")
	}
}

// TestRecipeCronAndSystemd: the crontab line and the systemd units carry an
// export command line export accepts; systemd-analyze verifies the units
// when it is installed; the timer catches up missed runs (Persistent=true).
func TestRecipeCronAndSystemd(t *testing.T) {
	f, err := os.Open("../../docs/deploy/cron/evidence-export.cron")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	var fields []string
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || strings.Contains(strings.SplitN(l, " ", 2)[0], "=") {
			continue
		}
		fields = strings.Fields(strings.SplitN(l, ">>", 2)[0])
		if len(fields) < 8 || !strings.HasSuffix(fields[6], "/evidence") {
			t.Fatalf("cron line %q: want 5 time fields, a user and the evidence binary", l)
		}
		exportArgsParse(t, "cron", fields[7:])
		lines++
	}
	if lines != 1 {
		t.Fatalf("%d cron lines", lines)
	}

	unit, err := os.ReadFile("../../docs/deploy/systemd/evidence-export.service")
	if err != nil {
		t.Fatal(err)
	}
	timer, err := os.ReadFile("../../docs/deploy/systemd/evidence-export.timer")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(timer), "\nPersistent=true\n") {
		t.Fatal("timer lacks Persistent=true")
	}
	joined := strings.ReplaceAll(string(unit), "\\\n", " ")
	var start string
	for _, l := range strings.Split(joined, "\n") {
		if strings.HasPrefix(l, "ExecStart=") {
			start = strings.TrimPrefix(l, "ExecStart=")
		}
	}
	fields = strings.Fields(start)
	if len(fields) < 2 {
		t.Fatalf("ExecStart %q", start)
	}
	exportArgsParse(t, "systemd", fields[1:])

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: units checked for their command line only")
	}
	dir := t.TempDir()
	self, _ := os.Executable()
	os.WriteFile(filepath.Join(dir, "evidence-export.service"), []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/evidence", self)), 0o644)
	os.WriteFile(filepath.Join(dir, "evidence-export.timer"), timer, 0o644)
	out, err := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, "evidence-export.service"), filepath.Join(dir, "evidence-export.timer")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestRecipeDockerfile: the image is distroless and runs as non-root. (The
// build itself needs a Docker daemon, which CI may not have.)
func TestRecipeDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"FROM gcr.io/distroless/static-debian12:nonroot", "\nUSER nonroot:nonroot\n", "CGO_ENABLED=0", `ENTRYPOINT ["/usr/local/bin/evidence"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
