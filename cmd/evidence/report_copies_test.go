package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/evidence-dfir/evidence/collect/diagarchive/diagtest"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/workspace/lawtest"
)

// TestReportShowsTheCopies: a bundle grabbed from Graph's sign-ins, the
// simulated workspace and the diagnostic-settings archive (Azurite) has a
// page whose timeline holds the workspace's tables and the archive's
// subject files under their source names; the Graph requests made from the
// attacker's address (an indicator: the attacker's sign-ins are
// highlighted), in the workspace's MicrosoftGraphActivityLogs and in the
// archive's, are a high finding linking to their timeline rows, with the
// next step, in English and in Japanese; the victim's ordinary Graph
// requests are not. In headless Chromium.
func TestReportShowsTheCopies(t *testing.T) {
	browserPath(t)
	srv := newSim(t, graphtest.Config{Seed: 1})
	v, a := srv.Tenant.Victim(), srv.Tenant.Admin()
	from, to := fixedNow.Add(-7*24*time.Hour), fixedNow

	law := lawtest.New(testWorkspace, testToken)
	t.Cleanup(law.Close)
	lawtest.Seed(law, 7, []lawtest.User{{ID: v.ID, UPN: v.UPN}, {ID: a.ID, UPN: a.UPN}}, from, to, map[string]int{
		"SigninLogs": 20, "AADNonInteractiveUserSignInLogs": 20, "AADServicePrincipalSignInLogs": 2, "AADManagedIdentitySignInLogs": 2,
		"AuditLogs": 5, "MicrosoftGraphActivityLogs": 30, "AADRiskyUsers": 1, "AADUserRiskEvents": 2, "OfficeActivity": 10})
	// Two of the victim's Graph requests come from the attacker's address.
	ga := law.Table("MicrosoftGraphActivityLogs")
	ipCol := -1
	for i, c := range ga.Columns {
		if c.Name == "IPAddress" {
			ipCol = i
		}
	}
	planted := 0
	for i := range ga.Rows {
		if ga.Owner[i] == v.UPN && planted < 2 {
			ga.Rows[i][ipCol], _ = json.Marshal(graphtest.AttackerIP)
			planted++
		}
	}
	law.Put("MicrosoftGraphActivityLogs", ga)
	ca := filepath.Join(t.TempDir(), "law-ca.pem")
	if err := os.WriteFile(ca, law.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	az := azuritetest.Start(t)
	diagtest.Seed(t, diagtest.Plain(az), diagtest.Spec{Tenant: srv.Tenant.TenantID(), Start: from, End: to,
		Users:      []diagtest.User{{ID: v.ID, UPN: v.UPN, Name: v.DisplayName}, {ID: a.ID, UPN: a.UPN, Name: a.DisplayName}},
		Categories: []string{"SignInLogs", "MicrosoftGraphActivityLogs"}, GraphIP: graphtest.AttackerIP})
	env := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, diagarchive.EnvSAS: diagtest.AccountSAS(t, true)}

	out := t.TempDir()
	code, stdout, stderr := invoke(t, env, "grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "dir", "--lang", "en",
		"--since", from.Format(time.RFC3339), "--until", to.Format(time.RFC3339), "--budget", "reports=5/20ms", "--retry-base", "1ms",
		"--user", v.UPN, "--sources", "signins,workspace,diagarchive",
		"--workspace", testWorkspace, "--workspace-url", law.Endpoint(), "--workspace-ca", ca, "--diag-archive", az.Endpoint)
	if code != ExitOK {
		t.Fatalf("grab exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	if c, _, e := invoke(t, nil, "report", "--lang", "ja", "--out", filepath.Join(out, "ja.html"), dir); c != ExitOK {
		t.Fatalf("report --lang ja: exit %d\n%s", c, e)
	}
	read := `(() => {
		document.getElementById('f-size').value = '0'; document.getElementById('f-size').dispatchEvent(new Event('change'));
		const src = new Set(); let graphRows = 0, attacker = 0;
		document.querySelectorAll('#timeline-table tbody tr').forEach(r => { src.add(r.cells[1].innerText.trim());
			if (r.cells[4].innerText.includes('graph.microsoft.com')) { graphRows++; if (r.cells[3].innerText.includes('` + graphtest.AttackerIP + `')) attacker++; } });
		const f = document.querySelector('#findings li[data-code="rule-graphind"]');
		const out = {sources: [...src], graphRows, attacker, finding: f ? f.innerText : '', refs: [], hl: []};
		if (f) f.querySelectorAll('a.ref').forEach(a => { const id = a.getAttribute('href').slice(1); out.refs.push(id);
			const row = document.getElementById(id); out.hl.push(row ? row.cells[3].innerText.trim() : 'missing'); });
		return out; })()`
	pages := map[string]map[string]any{}
	for lang, p := range map[string]string{"en": filepath.Join(dir, "report.html"), "ja": filepath.Join(out, "ja.html")} {
		self := (&url.URL{Scheme: "file", Path: p}).String()
		ctx, l := openPage(t, self)
		pages[lang] = eval[map[string]any](t, ctx, read)
		assertQuiet(t, l, self)
	}
	en := pages["en"]
	srcs := strings.Join(toStrings(en["sources"]), "|")
	for _, want := range []string{"Workspace (SigninLogs)", "Workspace (MicrosoftGraphActivityLogs)", "Workspace (OfficeActivity)",
		"Diagnostic archive (insights-logs-signinlogs)", "Diagnostic archive (insights-logs-microsoftgraphactivitylogs)", "Sign-ins (interactive)"} {
		if !strings.Contains(srcs, want) {
			t.Errorf("the timeline has no row from %q (sources %s)", want, srcs)
		}
	}
	// 2 planted workspace requests and the archive's requests of the
	// victim (at least one per hour) come from the attacker's address.
	if n := en["attacker"].(float64); n < 2+7*24 || en["graphRows"].(float64) <= n {
		t.Errorf("Graph requests on the timeline: %v, from the attacker's address %v", en["graphRows"], n)
	}
	if f := en["finding"].(string); !strings.Contains(f, "Microsoft Graph requests from an indicator") || !strings.Contains(f, "Read the requests") {
		t.Errorf("the Graph finding: %q", f)
	}
	if len(toStrings(en["refs"])) == 0 {
		t.Error("the Graph finding links to no record")
	}
	for _, ip := range toStrings(en["hl"]) {
		if !strings.Contains(ip, graphtest.AttackerIP) {
			t.Errorf("the Graph finding links to a row from %q", ip)
		}
	}
	ja := pages["ja"]
	if f := ja["finding"].(string); !strings.Contains(f, "侵害の痕跡からの Microsoft Graph 要求") || strings.Contains(f, "Read the requests") {
		t.Errorf("the Japanese Graph finding: %q", f)
	}
	if s := strings.Join(toStrings(ja["sources"]), "|"); !strings.Contains(s, "ワークスペース（MicrosoftGraphActivityLogs）") || !strings.Contains(s, "診断設定アーカイブ（insights-logs-signinlogs）") {
		t.Errorf("the Japanese timeline's sources: %s", s)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
