package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// decodeReport reads stdout as exactly one CLIReport.
func decodeReport(t *testing.T, stdout string) pipeline.CLIReport {
	t.Helper()
	var r pipeline.CLIReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not one CLIReport: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
	if r.Format != pipeline.CLIFormat {
		t.Errorf("format %q", r.Format)
	}
	return r
}

// TestJSONReports: grab, pack, import and verify with --json print one
// object of the documented schema with the bundle, case, tenant,
// completeness, sources and exit code; an incomplete grab says so; a
// failure is JSON too, with its exit code and kind.
func TestJSONReports(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 2})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", srv.Tenant.Victim().UPN, "--bundle", "dir", "--json")...)
	if code != ExitOK {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	g := decodeReport(t, stdout)
	if g.Command != "grab" || g.ExitCode != 0 || !g.OK || g.Complete == nil || !*g.Complete || g.Case == "" ||
		g.Tenant == nil || g.Tenant.Domain != "contoso.com" || g.Window == nil || g.Files == 0 || len(g.Problems) != 0 {
		t.Errorf("grab report: %+v", g)
	}
	if len(g.Sources) != 5 { // four sign-in kinds and audits
		t.Errorf("sources %+v", g.Sources)
	}
	if fi, err := os.Stat(g.Bundle); err != nil || !fi.IsDir() {
		t.Fatalf("bundle %q: %v", g.Bundle, err)
	}

	code, stdout, stderr = invoke(t, nil, "pack", "--json", g.Bundle)
	if code != ExitOK {
		t.Fatalf("pack: exit %d\n%s", code, stderr)
	}
	p := decodeReport(t, stdout)
	if p.Command != "pack" || p.Bundle != g.Bundle+".tar.zst" || p.Case != g.Case || p.SHA256 == "" || p.Files == 0 {
		t.Errorf("pack report: %+v", p)
	}

	code, stdout, _ = invoke(t, nil, "verify", "--json", p.Bundle)
	v := decodeReport(t, stdout)
	if code != ExitOK || v.Command != "verify" || !v.OK || v.Case != g.Case || v.Tenant == nil || v.Tenant.Domain != "contoso.com" ||
		v.Complete == nil || !*v.Complete || v.Seal == nil {
		t.Errorf("verify report (exit %d): %+v", code, v)
	}

	code, stdout, stderr = invoke(t, nil, "import", "--json", "--out", t.TempDir(), filepath.Join("testdata", "AuditLogs_2026-11-20.csv"))
	if code != ExitOK {
		t.Fatalf("import: exit %d\n%s", code, stderr)
	}
	if i := decodeReport(t, stdout); i.Command != "import" || i.Bundle == "" || i.Complete == nil || !*i.Complete {
		t.Errorf("import report: %+v", i)
	}

	// Incomplete: one source refused (403): exit 3, complete false.
	srv403 := newSim(t, graphtest.Config{Seed: 2, Fail: map[string]int{"/auditLogs/directoryAudits": 403}})
	code, stdout, _ = invoke(t, tokenEnv, grabArgs(srv403, t.TempDir(), "--user", srv403.Tenant.Victim().UPN, "--json")...)
	in := decodeReport(t, stdout)
	if code != ExitIncomplete || in.ExitCode != ExitIncomplete || in.OK || in.Complete == nil || *in.Complete {
		t.Errorf("incomplete grab (exit %d): %+v", code, in)
	}

	// A failure: nothing listens at --graph-url.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, stdout, _ = invoke(t, tokenEnv, "grab", "--json", "--graph-url", "http://"+addr, "--auth", "token", "--out", t.TempDir(),
		"--user", "victim@contoso.com", "--sources", "signins", "--since", "1d")
	f := decodeReport(t, stdout)
	if code != ExitFailed || f.ExitCode != ExitFailed || f.OK || f.Error == nil || f.Error.Kind != collect.ProblemNetwork || f.Error.Message == "" {
		t.Errorf("failed grab (exit %d): %+v", code, f)
	}
}

// TestJSONExport: export --json prints the bundle's report, and a run with
// nothing new yet prints a report without a bundle (exit 0).
func TestJSONExport(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 2})
	t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
	stateDir, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := invoke(t, nil, exportArgs(srv, stateDir, out, fixedNow, "--since", fixedNow.Add(-48*time.Hour).Format(time.RFC3339), "--json")...)
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	e := decodeReport(t, stdout)
	if e.Command != "export" || e.Bundle == "" || e.Complete == nil || !*e.Complete || e.Tenant == nil || len(e.Sources) == 0 {
		t.Errorf("export report: %+v", e)
	}
	code, stdout, stderr = invoke(t, nil, exportArgs(srv, stateDir, out, fixedNow, "--json")...)
	if code != ExitOK {
		t.Fatalf("second export: exit %d\n%s", code, stderr)
	}
	if n := decodeReport(t, stdout); n.Command != "export" || n.Bundle != "" || !n.OK {
		t.Errorf("nothing-new report: %+v", n)
	}

	// export status --json: the same facts as the text, and its exit code.
	status := func(wantCode int) map[string]any {
		t.Helper()
		code, stdout, stderr := invoke(t, nil, "export", "status", "--state", stateDir, "--out", out, "--now", fixedNow.Format(time.RFC3339), "--json")
		if code != wantCode {
			t.Fatalf("export status: exit %d, want %d\n%s\n%s", code, wantCode, stdout, stderr)
		}
		r := decodeReport(t, stdout)
		m, ok := r.Status.(map[string]any)
		if r.Command != "export status" || r.ExitCode != wantCode || !ok {
			t.Fatalf("export status report: %+v", r)
		}
		return m
	}
	m := status(ExitOK)
	if m["health"] != "healthy" || m["bundles"] != float64(1) || m["chain_intact"] != true || len(m["sources"].([]any)) == 0 || len(m["problems"].([]any)) != 0 {
		t.Errorf("healthy status: %v", m)
	}
	if err := os.Rename(e.Bundle, e.Bundle+".moved"); err != nil {
		t.Fatal(err)
	}
	m = status(ExitVerify)
	if probs := m["problems"].([]any); m["health"] != "broken" || len(probs) != 1 || !strings.Contains(probs[0].(string), "MISSING") {
		t.Errorf("status with the bundle moved away: %v", m)
	}
}
