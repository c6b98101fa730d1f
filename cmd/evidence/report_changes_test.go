package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// TestReportShowsTheDayChanges: the second of two daily exports, with the
// attacker's three changes between them (graphtest.Drift), has a page
// whose "Changes since the previous bundle" section comes right after the
// findings and lists exactly those three objects, each an alert naming
// the finding it matches, with the properties that changed; the
// Japanese page of the same archive (evidence report --lang ja) says it
// without an English sentence of the catalogue. In headless Chromium.
func TestReportShowsTheDayChanges(t *testing.T) {
	browserPath(t)
	t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
	day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	sim := newSim(t, graphtest.Config{Seed: 41, AuditsPerUser: 20, SignInsPerUser: 20, Now: day0})
	stateDir, out := t.TempDir(), t.TempDir()
	run := func(now time.Time, more ...string) (int, string, string) {
		sim.Tenant.SetNow(now)
		return invokeCtx(context.Background(), exportArgs(sim, stateDir, out, now, append([]string{"--bundle", "tar", "--user", "victim@contoso.com",
			"--sources", "audits,snapshot,tenant,signals"}, more...)...)...)
	}
	if code, _, stderr := run(day0, "--since", "2d"); code != ExitOK {
		t.Fatalf("day 1: exit %d\n%s", code, stderr)
	}
	drift := sim.Tenant.Drift(day0.Add(2 * time.Hour))
	code, stdout, stderr := run(day0.Add(24 * time.Hour))
	if code != ExitAlert {
		t.Fatalf("day 2: exit %d, want %d\n%s", code, ExitAlert, stderr)
	}
	archivePath := strings.TrimSpace(stdout)

	// The page sealed in the bundle (English), and one rendered from the
	// archive in Japanese.
	dir := t.TempDir()
	f, err := os.Open(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = archive.Walk(f, func(name string, r io.Reader) error {
		if name != report.FileName {
			return nil
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "en.html"), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, e := invoke(t, nil, "report", "--lang", "ja", "--out", filepath.Join(dir, "ja.html"), archivePath); code != ExitOK {
		t.Fatalf("report --lang ja: exit %d\n%s", code, e)
	}
	read := `(() => {
		const s = document.getElementById('changes'); if (!s) return {none: true};
		const top = q => { const e = document.querySelector(q); return e ? e.getBoundingClientRect().top + window.scrollY : -1; };
		document.querySelectorAll('details').forEach(d => d.open = true);
		return {alerts: s.dataset.alerts, text: s.innerText, findings: top('#findings'), changes: top('#changes'), indicators: top('#indicators'),
			nav: !!document.querySelector('nav a[href="#changes"]'),
			rows: [...s.querySelectorAll('tr.ch')].map(r => ({kind: r.dataset.kind, id: r.dataset.id, alert: r.classList.contains('ch-alert'),
				props: r.cells[2].innerText, finding: r.cells[3].innerText}))}; })()`
	pages := map[string]map[string]any{}
	for _, lang := range []string{"en", "ja"} {
		self := (&url.URL{Scheme: "file", Path: filepath.Join(dir, lang+".html")}).String()
		ctx, l := openPage(t, self)
		pages[lang] = eval[map[string]any](t, ctx, read)
		assertQuiet(t, l, self)
	}
	en := pages["en"]
	if en["none"] == true {
		t.Fatal("the page has no changes section")
	}
	if !(en["findings"].(float64) < en["changes"].(float64) && en["changes"].(float64) < en["indicators"].(float64)) || en["nav"] != true {
		t.Errorf("the changes section is not between the findings and the indicators, or not in the navigation: %v", en)
	}
	got := map[string]map[string]any{}
	for _, r := range en["rows"].([]any) {
		row := r.(map[string]any)
		got[row["id"].(string)] = row
	}
	want := map[string]string{drift.InboxRuleID: "appeared", drift.AppID: "changed", drift.PolicyID: "changed"}
	if len(got) != len(want) || en["alerts"] != "3" {
		t.Fatalf("rows %v (alerts %v), want exactly %v, all alerts", en["rows"], en["alerts"], want)
	}
	for id, kind := range want {
		r := got[id]
		if r == nil || r["kind"] != kind || r["alert"] != true || r["finding"] == "" {
			t.Errorf("%s: row %v, want %s, an alert naming its finding", id, r, kind)
		}
	}
	if p := got[drift.PolicyID]["props"].(string); !strings.Contains(p, "state") || !strings.Contains(p, "→") {
		t.Errorf("the changed policy's properties: %q", p)
	}
	if p := got[drift.AppID]["props"].(string); !strings.Contains(p, "passwordCredentials") {
		t.Errorf("the changed application's properties: %q", p)
	}

	ja := pages["ja"]
	text, _ := ja["text"].(string)
	if !strings.Contains(text, "前回のバンドルからの変更点") || len(ja["rows"].([]any)) != 3 {
		t.Fatalf("the Japanese changes section: %v", ja)
	}
	english := englishSentences(t, func(k string) bool {
		return strings.HasPrefix(k, "changes.") || strings.HasPrefix(k, "finding.") || strings.HasPrefix(k, "col.")
	}, func(part string) bool { return len(part) >= 8 && strings.Contains(part, " ") })
	checked := len(english)
	for _, part := range english {
		if strings.Contains(text, part) {
			t.Errorf("the Japanese changes section holds the English %q", part)
		}
	}
	if checked < 40 {
		t.Fatalf("only %d English sentences checked", checked)
	}
}
