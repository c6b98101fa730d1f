package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// fullBundle grabs the seeded compromise for the victim from every source
// the simulator serves but the workspace: a sealed bundle directory with
// the snapshot's, the tenant's and the signals' findings and the phishing
// burst in the message trace.
func fullBundle(t *testing.T, lang string) string {
	t.Helper()
	srv := newSim(t, graphtest.Config{Seed: 1})
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", srv.Tenant.Victim().UPN, "--bundle", "dir", "--lang", lang,
		"--sources", "signins,audits,ual,messagetrace,snapshot,tenant,signals", "--ual-poll", "5ms")...)
	if code != ExitOK {
		t.Fatalf("grab exit %d\n%s", code, stderr)
	}
	return lastLine(stdout)
}

// firstScreen opens page at 1280x800 and returns where the verdict, the
// findings heading and the first finding are.
func firstScreen(t *testing.T, page string) (map[string]any, func(string) map[string]any) {
	t.Helper()
	self := (&url.URL{Scheme: "file", Path: page}).String()
	ctx, l := openPage(t, self)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0,0)`)); err != nil {
		t.Fatal(err)
	}
	geo := eval[map[string]any](t, ctx, `(() => {
		const r = s => { const e = document.querySelector(s); if (!e) return null; const b = e.getBoundingClientRect(); return {top: b.top, bottom: b.bottom}; };
		return {vh: window.innerHeight, vw: window.innerWidth, sw: document.documentElement.scrollWidth,
			verdict: r('#verdict'), findings: r('#findings h2'), first: r('#findings li.finding'),
			text: document.getElementById('verdict').innerText, rows: document.querySelectorAll('#timeline-table tbody tr').length,
			shown: (document.getElementById('f-shown') || {}).textContent}; })()`)
	assertQuiet(t, l, self)
	return geo, func(js string) map[string]any { return eval[map[string]any](t, ctx, js) }
}

func onScreen(t *testing.T, geo map[string]any, what string) {
	t.Helper()
	r, ok := geo[what].(map[string]any)
	if !ok {
		t.Errorf("no %s on the page", what)
		return
	}
	if r["top"].(float64) < 0 || r["bottom"].(float64) > geo["vh"].(float64) {
		t.Errorf("%s at %v..%v px: not within the first %v px", what, r["top"], r["bottom"], geo["vh"])
	}
}

// TestReportBriefFirstScreen: in a 1280x800 window the verdict (complete,
// unsigned, scope, summary) and the findings are on the first screen; the
// summary names the high findings; every finding links to records whose
// targets exist (a record entry on the page, a timeline row, a file of the
// bundle); the phishing burst is a key event and a finding; indicators
// include the attacker's IP and the forwarding target, as CSV too.
func TestReportBriefFirstScreen(t *testing.T) {
	browserPath(t)
	dir := fullBundle(t, "en")
	page := filepath.Join(dir, "report.html")
	geo, js := firstScreen(t, page)
	onScreen(t, geo, "verdict")
	onScreen(t, geo, "findings")
	onScreen(t, geo, "first")
	if geo["sw"].(float64) > geo["vw"].(float64)+1 {
		t.Errorf("the page is %vpx wide in a %vpx window", geo["sw"], geo["vw"])
	}
	text := geo["text"].(string)
	for _, want := range []string{"Complete", "Unsigned", "victim@contoso.com", "high", "Authentication method added", "Suspicious inbox rule", "Consent to an unverified application"} {
		if !strings.Contains(text, want) {
			t.Errorf("the verdict lacks %q:\n%s", want, text)
		}
	}

	// Every finding links to its records, and every link lands.
	links := js(`(() => {
		const out = {findings: 0, bare: [], missing: [], files: [], rows: []};
		document.querySelectorAll('#findings li.finding').forEach(li => {
			out.findings++;
			const refs = li.querySelectorAll('a.ref');
			if (refs.length === 0) out.bare.push(li.querySelector('.f-title').textContent);
			refs.forEach(a => {
				const h = a.getAttribute('href');
				if (/^#t\d+$/.test(h)) { out.rows.push(h.slice(1)); return; }
				const e = document.getElementById(h.slice(1));
				if (!e) { out.missing.push(h); return; }
				e.querySelectorAll('a[href]').forEach(f => { const fh = f.getAttribute('href'); if (!fh.startsWith('#')) out.files.push(fh); });
			});
		});
		return out; })()`)
	if n := links["findings"].(float64); n < 6 {
		t.Errorf("%v findings, the seeded compromise has at least 6", n)
	}
	if b := links["bare"].([]any); len(b) > 0 {
		t.Errorf("findings without records: %v", b)
	}
	if m := links["missing"].([]any); len(m) > 0 {
		t.Errorf("finding links to nothing: %v", m)
	}
	files := links["files"].([]any)
	if len(files) == 0 {
		t.Error("no record of a finding links to its file")
	}
	for _, f := range files {
		p, err := url.PathUnescape(f.(string))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("a finding's record links to %s: %v", f, err)
		}
	}
	for _, id := range links["rows"].([]any) {
		got := js(`(() => { const a = document.querySelector('#findings a.ref[href="#` + id.(string) + `"]'); a.click();
			const r = document.getElementById('` + id.(string) + `'); return {ok: !!r, hl: r ? r.dataset.hl : ''}; })()`)
		if got["ok"] != true || got["hl"] != "1" {
			t.Errorf("finding link #%s: the timeline row is not there or not highlighted: %v", id, got)
		}
	}

	// The phishing burst: a key event and a finding.
	burst := js(`(() => ({key: document.getElementById('key-events').innerText.includes('Burst of outbound mail'),
		finding: !!document.querySelector('#findings li[data-code="rule-mailburst"]')}))()`)
	if burst["key"] != true || burst["finding"] != true {
		t.Errorf("the phishing burst is not highlighted: %v", burst)
	}
	// Key events say whether a sign-in succeeded and what its code means.
	key := js(`(() => ({text: document.getElementById('key-events').innerText}))()`)
	for _, want := range []string{"success", "failure", "50126", "Wrong user name or password"} {
		if !strings.Contains(key["text"].(string), want) {
			t.Errorf("key events lack %q", want)
		}
	}

	// Indicators, and their CSV.
	ind := js(`(() => ({text: document.getElementById('indicators').innerText, csv: decodeURIComponent(document.getElementById('ind-csv').getAttribute('href').split(',').slice(1).join(','))}))()`)
	for _, want := range []string{"185.220.101.47", "attacker@protonmail.example"} {
		if !strings.Contains(ind["text"].(string), want) || !strings.Contains(ind["csv"].(string), want) {
			t.Errorf("indicators (table or CSV) lack %q", want)
		}
	}
	if !strings.HasPrefix(strings.TrimPrefix(ind["csv"].(string), "\ufeff"), "type,value,first_seen_utc,last_seen_utc,count,sources\n") {
		t.Errorf("indicators.csv header: %q", ind["csv"])
	}
	// The page in the bundle names no file the tool never writes.
	b, _ := os.ReadFile(page)
	if strings.Contains(string(b), ".minisig") {
		t.Error("the page names a .minisig file")
	}
}

// englishSentences are the parts of the English catalogue's messages (the
// text between markup and arguments) of the keys keep takes that sentence
// says are sentences.
func englishSentences(t *testing.T, keep func(key string) bool, sentence func(part string) bool) []string {
	t.Helper()
	b, err := os.ReadFile("../../archive/report/i18n/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]string
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	tags := regexp.MustCompile(`<[^>]+>|%\[\d\]s`)
	var out []string
	for k, v := range en {
		if !keep(k) {
			continue
		}
		for _, part := range tags.Split(v, -1) {
			if part = strings.TrimSpace(part); sentence(part) {
				out = append(out, part)
			}
		}
	}
	return out
}

// TestReportJapaneseHasNoEnglishSentences: the Japanese page of the same
// bundle holds no English sentence of the catalogue (findings, reasons,
// next steps, banner notes), none of the findings files' summaries or
// next steps and none of the manifest's reasons or warnings; and
// `report --lang en` next to it does not overwrite it.
func TestReportJapaneseHasNoEnglishSentences(t *testing.T) {
	browserPath(t)
	dir := fullBundle(t, "ja")
	page := filepath.Join(dir, "report.html")
	geo, js := firstScreen(t, page)
	onScreen(t, geo, "verdict")
	onScreen(t, geo, "first")
	body := js(`(() => { document.querySelectorAll('details').forEach(d => d.open = true); return {text: document.body.innerText}; })()`)["text"].(string)

	english := englishSentences(t, func(k string) bool {
		return !strings.HasPrefix(k, "codename.") // error code names are identifiers
	}, func(part string) bool { return len(part) >= 16 && strings.Count(part, " ") >= 2 })
	for _, f := range report.FindingsPaths {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		var doc struct {
			Findings []struct {
				Summary  string `json:"summary"`
				NextStep string `json:"next_step"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, x := range doc.Findings {
			english = append(english, x.Summary, x.NextStep)
		}
	}
	m := readManifest(t, dir)
	english = append(english, m.Warnings...)
	for _, s := range m.Sources {
		english = append(english, s.Reason)
		for _, w := range s.Windows {
			english = append(english, w.Reason)
		}
		for _, g := range s.Missing {
			english = append(english, g.Reason)
		}
	}
	checked := 0
	for _, s := range english {
		if len(s) < 16 || strings.Count(s, " ") < 2 {
			continue
		}
		checked++
		if strings.Contains(body, s) {
			t.Errorf("the Japanese page holds the English %q", s)
		}
	}
	if checked < 200 {
		t.Fatalf("only %d English sentences checked: the scan is broken", checked)
	}
	for _, want := range []string{"検出事項", "次の対応", "重要な理由", "侵害の痕跡"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Japanese page lacks %q", want)
		}
	}

	// report --lang ja and --lang en, default names: two files.
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	defer os.Chdir(wd)
	for _, lang := range []string{"ja", "en"} {
		if code, _, e := invoke(t, nil, "report", "--lang", lang, dir); code != ExitOK {
			t.Fatalf("report --lang %s: exit %d\n%s", lang, code, e)
		}
	}
	name := filepath.Base(dir)
	ja, err1 := os.ReadFile(name + ".report.ja.html")
	enp, err2 := os.ReadFile(name + ".report.html")
	if err1 != nil || err2 != nil || !strings.Contains(string(ja), `lang="ja"`) || !strings.Contains(string(enp), `lang="en"`) {
		t.Errorf("--lang en overwrote --lang ja, or a page is missing: %v %v", err1, err2)
	}
}

// TestReport100kRecordsInBrowser: a bundle of 100,000 sign-ins gets a page
// under 20 MB whose first screen renders in the browser, with the verdict
// on it and the whole timeline paged (every record on it, 100 rows drawn).
func TestReport100kRecordsInBrowser(t *testing.T) {
	browserPath(t)
	if testing.Short() {
		t.Skip("100,000-record page skipped with -short")
	}
	const n = 100000
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	dir := signInBundle(t, bundle.Name(end, "0badc0de"), n, 500, start, end)
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, e := invoke(t, nil, "report", "--lang", "en", "-o", page, dir); code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, e)
	}
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page of %d records: %.2f MB", n, float64(fi.Size())/(1<<20))
	if fi.Size() >= 20<<20 {
		t.Errorf("page of %d bytes, limit 20 MB", fi.Size())
	}
	geo, js := firstScreen(t, page)
	onScreen(t, geo, "verdict")
	if geo["rows"].(float64) != 100 || geo["shown"] != "100,000" {
		t.Errorf("timeline: %v rows drawn, %v shown; want 100 of 100,000", geo["rows"], geo["shown"])
	}
	last := js(`(() => { const s = document.getElementById('f-size'); s.value = '2000'; s.dispatchEvent(new Event('change'));
		for (let i = 0; i < 60; i++) document.getElementById('p-next').click();
		return {pos: document.getElementById('p-pos').textContent, rows: document.querySelectorAll('#timeline-table tbody tr').length}; })()`)
	if last["pos"] != "page 50 of 50" || last["rows"].(float64) != 2000 {
		t.Errorf("paging to the end: %v", last)
	}
}

// TestReportOfImportedBundle: an imported download's page shows its own
// state (imported, not "Complete" with "Nothing was collected"), the tenant
// the records name or "not stated", its records on the timeline and the
// findings the rules derive from them.
func TestReportOfImportedBundle(t *testing.T) {
	browserPath(t)
	src := "../../testdata/bundles/v1/imported/imported/InteractiveSignIns_2026-11-15_2026-11-16.csv"
	tmp := t.TempDir()
	csvPath := filepath.Join(tmp, filepath.Base(src))
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, nil, "import", "--out", filepath.Join(tmp, "out"), "--bundle", "dir", "--lang", "en", csvPath)
	if code != ExitOK {
		t.Fatalf("import: exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	geo, js := firstScreen(t, filepath.Join(dir, "report.html"))
	onScreen(t, geo, "verdict")
	onScreen(t, geo, "findings")
	text := geo["text"].(string)
	if !strings.Contains(text, "Imported files") || strings.Contains(text, "Complete") {
		t.Errorf("the verdict of an imported bundle: %q", text)
	}
	page := js(`(() => ({body: document.body.innerText, findings: document.querySelectorAll('#findings li.finding').length,
		codes: Array.from(document.querySelectorAll('#findings li.finding')).map(l => l.dataset.code)}))()`)
	if strings.Contains(page["body"].(string), "Nothing was collected") || strings.Contains(page["body"].(string), "All users of the tenant") {
		t.Error("the page of an imported bundle says nothing was collected, or all users")
	}
	if geo["rows"].(float64) != 4 || geo["shown"] != "4" {
		t.Errorf("timeline of the 4 imported sign-ins: %v rows, %v shown", geo["rows"], geo["shown"])
	}
	if !strings.Contains(page["body"].(string), "185.220.101.47") || !strings.Contains(strings.Join(strs(page["codes"]), ","), "rule-failsuccess") {
		t.Errorf("the imported records' findings: %v", page["codes"])
	}
}
