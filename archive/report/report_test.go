package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/evidence-dfir/evidence/archive/report/reporttest"
	"github.com/evidence-dfir/evidence/manifest"
)

var t0 = time.Date(2026, 11, 15, 6, 0, 0, 0, time.UTC)

func ts(d time.Duration) string { return t0.Add(d).Format("2006-01-02T15:04:05.0000000Z") }

func signIn(id string, at time.Duration, user, ip, country string, code int) string {
	reason := "null"
	if code != 0 {
		reason = `"Error validating credentials due to invalid username or password."`
	}
	return fmt.Sprintf(`{"id":%q,"createdDateTime":%q,"userPrincipalName":"%s@contoso.com","userId":"id-%s","appDisplayName":"OfficeHome","ipAddress":%q,"status":{"errorCode":%d,"failureReason":%s},"location":{"city":"X","countryOrRegion":%q},"riskLevelDuringSignIn":"none"}`,
		id, ts(at), user, user, ip, code, reason, country)
}

// story is a small bundle's record files, each newest first as Graph
// returns them.
func story() map[string]string {
	h, m := time.Hour, time.Minute
	var si []string
	// Baseline: the victim signs in from home for ten days.
	for d := 240 * h; d >= 0; d -= 6 * h {
		si = append(si, signIn(fmt.Sprintf("home-%d", d/h), -d-100*h, "victim", "192.0.2.10", "US", 0))
	}
	// The attack, 100 h after the baseline's end... newest first.
	att := []string{
		signIn("att-ok", 92*time.Second, "victim", "185.220.101.47", "NL", 0),
		signIn("att-f3", 41*time.Second, "victim", "185.220.101.47", "NL", 50126),
		signIn("att-f2", 17*time.Second, "victim", "185.220.101.47", "NL", 50126),
		signIn("att-f1", 0, "victim", "185.220.101.47", "NL", 50126),
		// Two failures and an MFA interrupt before a success: not a pattern.
		signIn("b-ok", -5*h, "bob", "203.0.113.9", "US", 0),
		signIn("b-int", -5*h-m, "bob", "203.0.113.9", "US", 50074),
		signIn("b-f2", -5*h-2*m, "bob", "203.0.113.9", "US", 50126),
		signIn("b-f1", -5*h-3*m, "bob", "203.0.113.9", "US", 50126),
		signIn("b-first", -400*h, "bob", "203.0.113.9", "US", 0),
	}
	audits := []string{
		fmt.Sprintf(`{"id":"aud-cred","activityDateTime":%q,"activityDisplayName":"Add service principal credentials","initiatedBy":{"user":{"id":"id-victim","userPrincipalName":"victim@contoso.com","ipAddress":"185.220.101.47"}},"targetResources":[{"displayName":"Mail Sync Pro"}],"result":"success"}`, ts(8*m)),
		fmt.Sprintf(`{"id":"aud-consent","activityDateTime":%q,"activityDisplayName":"Consent to application","initiatedBy":{"user":{"id":"id-victim","userPrincipalName":"victim@contoso.com","ipAddress":"185.220.101.47"}},"targetResources":[{"displayName":"Mail Sync Pro"}],"result":"success"}`, ts(6*m+3*time.Second)),
		fmt.Sprintf(`{"id":"aud-mfa","activityDateTime":%q,"activityDisplayName":"User registered security info","initiatedBy":{"user":{"id":"id-victim","userPrincipalName":"victim@contoso.com","ipAddress":"185.220.101.47"}},"targetResources":[],"result":"success"}`, ts(4*m)),
		fmt.Sprintf(`{"id":"aud-benign","activityDateTime":%q,"activityDisplayName":"Update user","initiatedBy":{"user":{"id":"id-victim","userPrincipalName":"victim@contoso.com","ipAddress":"192.0.2.10"}},"targetResources":[],"result":"success"}`, ts(-200*h)),
	}
	// A unified audit log record, shaped like Graph's auditLogRecord.
	ual := []string{
		fmt.Sprintf(`{"id":"ual-rule","createdDateTime":%q,"auditLogRecordType":"exchangeAdmin","operation":"New-InboxRule","organizationId":"o","userType":"regular","userId":"victim@contoso.com","service":"Exchange","objectId":"victim\\.","userPrincipalName":"victim@contoso.com","clientIp":"185.220.101.47:51234","administrativeUnits":[],"auditData":{"@odata.type":"#microsoft.graph.security.exchangeAdminAuditRecord","Parameters":[{"Name":"Name","Value":"."},{"Name":"ForwardTo","Value":"attacker@protonmail.example"}]}}`, ts(12*m)),
	}
	// A message trace burst: 35 messages within one hour from the victim.
	var mail []string
	for i := 34; i >= 0; i-- {
		mail = append(mail, fmt.Sprintf(`{"id":"mt-%d","receivedDateTime":%q,"senderAddress":"victim@contoso.com","recipientAddress":"r%d@example.com","subject":"Invoice","status":"delivered","fromIP":"185.220.101.47"}`, i, ts(20*m+time.Duration(i)*time.Minute), i))
	}
	return map[string]string{
		"signins/interactive.jsonl": strings.Join(append(att, si...), "\n") + "\n",
		"audits/directory.jsonl":    strings.Join(audits, "\n") + "\n",
		"ual/records.jsonl":         strings.Join(ual, "\n") + "\n",
		"messagetrace/traces.jsonl": strings.Join(mail, "\n") + "\n",
		"signins/noninteractive.jsonl": signIn("ni-1", -3*h, "victim", "192.0.2.10", "US", 0) + "\n" +
			"this line is not JSON\n",
	}
}

func feed(t testing.TB, files map[string]string) *Analyzer {
	t.Helper()
	a := NewAnalyzer()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := a.Feed(n, strings.NewReader(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func testManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Format: manifest.Format, CaseID: "3f2a9c1d-0000-4000-8000-000000000000",
		Tenant:    manifest.Tenant{Domain: "contoso.com", ID: "tid", GraphURL: "https://graph.microsoft.com"},
		Requested: manifest.NewWindow(t0.Add(-500*time.Hour), t0.Add(100*time.Hour)),
		Users:     []manifest.User{{Requested: "victim@contoso.com", ID: "id-victim", UPN: "victim@contoso.com"}},
		Sources: []manifest.Source{{Name: "signins.interactive", Status: manifest.StatusCollected, Records: 50,
			Files:   []string{"signins/interactive.jsonl"},
			Windows: []manifest.SubWindow{{Window: manifest.NewWindow(t0.Add(-500*time.Hour), t0.Add(100*time.Hour)), Scope: "id-victim", Status: manifest.StatusCollected, Records: 50, Pages: 1}}}},
		Complete:        true,
		CollectionStart: manifest.FormatTime(t0.Add(100 * time.Hour)), CollectionEnd: manifest.FormatTime(t0.Add(100*time.Hour + time.Minute)),
	}
}

func render(t testing.TB, m *manifest.Manifest, a *Analyzer, lang string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, m, a, Options{Lang: lang, Embedded: true, Renderer: "evidence test"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// flagsOf returns, for each record id on the timeline, its flags.
func flagsOf(a *Analyzer, m *manifest.Manifest) map[string][]string {
	out := map[string][]string{}
	for _, e := range a.timeline(m).events {
		id := e.ID
		if e.Note != "" {
			id = "burst:" + e.User
		}
		out[id] = append([]string(nil), e.Flags...)
		sort.Strings(out[id])
	}
	return out
}

// TestRules: each highlight rule fires on what a responder looks for, and
// not on look-alikes (two failures, an MFA interrupt, a known IP).
func TestRules(t *testing.T) {
	m := testManifest()
	a := feed(t, story())
	got := flagsOf(a, m)
	want := map[string]string{
		"att-ok":                   "failsuccess newcountry newip",
		"att-f1":                   "failsuccess",
		"att-f2":                   "failsuccess",
		"att-f3":                   "failsuccess",
		"aud-mfa":                  FlagMFA,
		"aud-consent":              FlagConsent,
		"aud-cred":                 FlagAppCred,
		"ual-rule":                 FlagInboxRule,
		"burst:victim@contoso.com": FlagMailBurst,
	}
	for id, w := range want {
		if g := strings.Join(got[id], " "); g != w {
			t.Errorf("%s: flags %q, want %q", id, g, w)
		}
	}
	for _, id := range []string{"b-ok", "b-f1", "b-f2", "b-int", "b-first", "home-0", "aud-benign", "ni-1"} {
		if len(got[id]) != 0 {
			t.Errorf("%s flagged %v: a false alarm", id, got[id])
		}
	}
	if a.files["signins/noninteractive.jsonl"].Unreadable != 1 {
		t.Error("the non-JSON line was not counted as unreadable")
	}
	// The UAL client IP loses its port; the burst says how many messages.
	for _, e := range a.timeline(m).events {
		if e.ID == "ual-rule" && e.IP != "185.220.101.47" {
			t.Errorf("UAL client IP %q", e.IP)
		}
		if e.Note != "" && e.Note != "35" {
			t.Errorf("burst of %s messages, want 35", e.Note)
		}
	}
}

// TestCatalogues: English and Japanese have the same keys with the same
// arguments, every key the template or the code uses exists, and a
// rendered page holds no missing-key marker in either language.
func TestCatalogues(t *testing.T) {
	en, err := catalogue("en")
	if err != nil {
		t.Fatal(err)
	}
	ja, err := catalogue("ja")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(en.keys()) != fmt.Sprint(ja.keys()) {
		t.Fatalf("catalogue keys differ:\nen %v\nja %v", en.keys(), ja.keys())
	}
	verbs := regexp.MustCompile(`%\[\d\]s`)
	for _, k := range en.keys() {
		a, b := verbs.FindAllString(en.msgs[k], -1), verbs.FindAllString(ja.msgs[k], -1)
		sort.Strings(a)
		sort.Strings(b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: arguments %v in English, %v in Japanese", k, a, b)
		}
		if strings.Contains(strings.ReplaceAll(en.msgs[k], "%[", ""), "%") || strings.Contains(strings.ReplaceAll(ja.msgs[k], "%[", ""), "%") {
			t.Errorf("%s: a %% that is not an indexed argument", k)
		}
		same := map[string]bool{"filter.ip": true, "window.range": true, "window.range.run": true} // the same in both languages
		if ja.msgs[k] == en.msgs[k] && !same[k] && !strings.HasPrefix(k, "codename.") {            // error code names are identifiers
			t.Errorf("%s is not translated: %q", k, ja.msgs[k])
		}
	}
	// Keys the code builds from parts.
	var dynamic []string
	for _, f := range flagOrder {
		dynamic = append(dynamic, "flag."+f, "flagdesc."+f)
	}
	for _, s := range []string{manifest.StatusCollected, manifest.StatusClamped, manifest.StatusUnavailable, manifest.StatusFailed} {
		dynamic = append(dynamic, "status."+s)
	}
	for _, c := range []string{ClassSignIn, ClassAudit, ClassUAL, ClassMail} {
		dynamic = append(dynamic, "class."+c)
	}
	for _, r := range []string{ResultSuccess, ResultFailure, ResultInterrupted} {
		dynamic = append(dynamic, "result."+r)
	}
	for _, ad := range Adapters {
		k, _ := ad.Label("x/y.jsonl")
		dynamic = append(dynamic, k)
	}
	src, _ := os.ReadFile("report.go")
	used := regexp.MustCompile(`(?:T|S)\("([a-z.]+)"`).FindAllStringSubmatch(string(src)+pageTemplate, -1)
	for _, u := range regexp.MustCompile(`\{\{-?\s*(?:T|S) "([a-z.]+)"`).FindAllStringSubmatch(pageTemplate, -1) {
		used = append(used, u)
	}
	for _, u := range regexp.MustCompile(`"((?:h|col)\.[a-z]+)"`).FindAllStringSubmatch(pageTemplate, -1) {
		used = append(used, u)
	}
	for _, u := range used {
		if !strings.HasSuffix(u[1], ".") { // a prefix completed in code, checked above
			dynamic = append(dynamic, u[1])
		}
	}
	if len(used) < 80 {
		t.Fatalf("found only %d uses of the catalogue: the scan is broken", len(used))
	}
	for _, k := range dynamic {
		if _, ok := en.msgs[k]; !ok {
			t.Errorf("key %q is used but not in the catalogue", k)
		}
	}
	m := testManifest()
	m.Complete = false
	m.Sources[0].Status = manifest.StatusUnavailable
	m.Sources[0].Missing = []manifest.Gap{{Window: m.Requested, Status: manifest.StatusClamped, Reason: "older than the tenant's 7-day retention"}}
	a := feed(t, story())
	for _, lang := range Languages {
		page := render(t, m, a, lang)
		if i := regexp.MustCompile(`\[[a-z]+(\.[a-z]+)+\]`).FindString(page); i != "" {
			t.Errorf("%s page holds a missing key %s", lang, i)
		}
	}
}

// TestPageIsSelfContained: the page loads nothing: a strict CSP whose
// hashes match the inline style and script, no src, no link, no url().
func TestPageIsSelfContained(t *testing.T) {
	page := render(t, testManifest(), feed(t, story()), "en")
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]+)">`).FindStringSubmatch(page)
	if csp == nil {
		t.Fatal("no Content-Security-Policy meta tag")
	}
	policy := html.UnescapeString(csp[1])
	if !strings.HasPrefix(policy, "default-src 'none';") || strings.Contains(policy, "unsafe") {
		t.Errorf("policy %q is not strict", policy)
	}
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	for what, body := range map[string][]string{"style": style, "script": script} {
		if body == nil {
			t.Fatalf("no inline %s", what)
		}
		h := sha256.Sum256([]byte(body[1]))
		if !strings.Contains(policy, "sha256-"+base64.StdEncoding.EncodeToString(h[:])) {
			t.Errorf("the CSP does not allow the page's own %s", what)
		}
	}
	for _, bad := range []string{" src=", "<link", "url(", "@import", "<iframe", "<object", "<embed"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if n, data := strings.Count(page, "<script"), strings.Count(page, `<script type="application/json" id="tl-data">`); n != 2 || data != 1 {
		t.Errorf("%d script elements (%d of them data), want the one inline script and the timeline's data", n, data)
	}
}

// TestLargeInputIsSummarised: beyond the limits the page says what it cut,
// and stays small; the chart and tables still count every record.
func TestLargeInputIsSummarised(t *testing.T) {
	var b bytes.Buffer
	const n = 30000
	if err := reporttest.SignIns(&b, n, 300, t0.Add(-30*24*time.Hour), t0, 1); err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer()
	if err := a.Feed("signins/interactive.jsonl", &b); err != nil {
		t.Fatal(err)
	}
	m := testManifest()
	m.Requested = manifest.NewWindow(t0.Add(-30*24*time.Hour), t0)
	m.Sources[0].Records = n
	page := render(t, m, a, "en")
	rows := len(timelineRows(t, page))
	if rows != n {
		t.Errorf("%d timeline rows of %d records: below TimelineOrdinary every record is on the timeline", rows, n)
	}
	if strings.Contains(page, "Summarised: the timeline shows every highlighted event but only the newest") {
		t.Error("the page says the timeline was summarised, but it holds every record")
	}
	var counted int64
	for _, g := range a.ips {
		counted += g.SignIns
	}
	if counted != n {
		t.Errorf("the IP groups count %d sign-ins of %d", counted, n)
	}
	if strings.Contains(page, "The record files hold") {
		t.Error("a record count mismatch was reported where there is none")
	}
	t.Logf("%d records: page %d bytes, %d timeline rows", n, len(page), rows)
}

// BenchmarkAnalyzeAndRender1M reads a million sign-ins (20 files of 50,000,
// from memory) and renders the page; it reports seconds per million records.
func BenchmarkAnalyzeAndRender1M(b *testing.B) {
	var buf bytes.Buffer
	if err := reporttest.SignIns(&buf, 50000, 2000, t0.Add(-30*24*time.Hour), t0, 7); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	m := testManifest()
	m.Requested = manifest.NewWindow(t0.Add(-30*24*time.Hour), t0)
	b.SetBytes(int64(len(data)) * 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := NewAnalyzer()
		for f := 0; f < 20; f++ {
			if err := a.Feed(fmt.Sprintf("signins/part%02d.jsonl", f), bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := Render(&out, m, a, Options{Lang: "en"}); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.ReportMetric(float64(out.Len()), "page-bytes")
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/1M-records")
}

// TestFindingsOfEverySource: the tenant and signals sources write findings
// in the snapshot's format; the page shows them all, with the next step.
func TestFindingsOfEverySource(t *testing.T) {
	a := NewAnalyzer()
	for _, f := range []struct{ path, kind, next string }{
		{"snapshot/findings.json", "inbox-rule-suspicious", ""},
		{"tenant/findings.json", "domain-federated", "confirm the issuer URI"},
		{"signals/findings.json", "defender-incident-open", "open the incident"},
	} {
		if !Wants(f.path) {
			t.Fatalf("%s is not read", f.path)
		}
		body := `{"format":"evidence-findings/1","findings":[{"kind":"` + f.kind + `","severity":"high","summary":"` + f.kind +
			` seen","next_step":"` + f.next + `","evidence":[{"file":"x.jsonl","line":1,"id":"i"}]}]}`
		if err := a.Feed(f.path, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	page := render(t, testManifest(), a, "en")
	for _, want := range []string{"inbox-rule-suspicious seen", "domain-federated seen", "defender-incident-open seen", "confirm the issuer URI", "open the incident"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// timelineRows returns the timeline's rows from the page's data.
func timelineRows(t testing.TB, page string) [][]any {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="tl-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no timeline data in the page")
	}
	var d struct{ Rows [][]any }
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("timeline data: %v", err)
	}
	return d.Rows
}

// TestJapaneseReasons: every form of reason and warning the collectors
// write is worded in Japanese without its English sentence; a window cut
// at the service's clock is not called a retention loss; an unknown reason
// keeps only its technical tokens.
func TestJapaneseReasons(t *testing.T) {
	ja, err := catalogue("ja")
	if err != nil {
		t.Fatal(err)
	}
	english := regexp.MustCompile(`[A-Za-z]+ [a-z]+ [a-z]+ [a-z]+`)
	for _, c := range []struct{ in, status, want, not string }{
		{"older than the tenant's 7-day retention (Entra ID Free)", "clamped", "保持期間", ""},
		{"older than the 30-day maximum retention of Entra ID logs", "clamped", "最大保持期間", ""},
		{"later than the service's clock (2026-11-20T06:00:00Z): message trace refuses an end in the future", "clamped", "サービスの時計", "保持期間により"},
		{"older than message trace's 90-day limit (the service's clock read 2026-11-20T06:00:00Z, so the oldest start it accepts is 2026-08-22T06:00:00Z)", "clamped", "90 日", ""},
		{"licence: tenant has no Entra ID P1/P2, so sign-in logs cannot be read through Graph (Authentication_RequestFromNonPremiumTenantOrB2CTenant)", "unavailable", "Authentication_RequestFromNonPremiumTenantOrB2CTenant", ""},
		{"licence: sign-in logs readable, so Entra ID P1 or P2 (30-day retention)", "", "P1 または P2", ""},
		{"ual: 4 audit log queries submitted by this run (4 over all runs of this collection), 0 re-used from an interrupted run; the tenant allows at least 200 submissions per 24 h", "", "監査ログ", ""},
		{"first: no alert of the incident names a subject (victim@contoso.com)", "collected", "victim@contoso.com", ""},
		{"2 service principals owned by Microsoft's tenants not asked (first-party apps have no owners in the tenant)", "collected", "サービス プリンシパル", ""},
		{"permission: Graph 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.", "unavailable", "Authorization_RequestDenied", ""},
		{"throttling budget: gave up after 8 attempts over 5m0s: Graph 429 TooManyRequests", "failed", "429", ""},
		{"Graph 503 ServiceUnavailable: The service is temporarily unavailable.", "failed", "503", ""},
	} {
		got := ja.text(c.in, c.status)
		if !strings.Contains(got, c.want) || (c.not != "" && strings.Contains(got, c.not)) || english.MatchString(got) {
			t.Errorf("%q in Japanese: %q (want %q, not %q, no English sentence)", c.in, got, c.want, c.not)
		}
	}
	if s := ja.status(manifest.StatusClamped); strings.Contains(s, "保持期間により") {
		t.Errorf("the clamped status reads as a retention loss: %q", s)
	}
	en, _ := catalogue("en")
	if got := en.text("older than the tenant's 7-day retention (Entra ID Free)", "clamped"); got != "older than the tenant's 7-day retention (Entra ID Free)" {
		t.Errorf("the English page rewrote a reason: %q", got)
	}
}

// TestFeedSameForAnyWorkers: a file read by one extract worker or by
// several, in batches cut anywhere (lines that are not JSON, blank, too
// long, CRLF), gives the same counts and the same page.
func TestFeedSameForAnyWorkers(t *testing.T) {
	var buf bytes.Buffer
	if err := reporttest.SignIns(&buf, 3000, 40, t0.Add(-30*24*time.Hour), t0, 3); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	var data strings.Builder
	for i, l := range lines {
		data.WriteString(l)
		switch i % 700 {
		case 3:
			data.WriteString("not json\n")
		case 5:
			data.WriteString("\r\n")
		case 9:
			if i == 9 { // once: past maxLine by more than the read buffer
				data.WriteString("{" + strings.Repeat("x", maxLine+300<<10) + "}\n")
			}
		case 11:
			data.WriteString(strings.TrimSuffix(l, "\n") + "\r\n")
		}
	}
	m := testManifest()
	m.Requested = manifest.NewWindow(t0.Add(-30*24*time.Hour), t0)
	page := func(procs int) (string, FileStat) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		a := NewAnalyzer()
		if err := a.Feed("signins/interactive.jsonl", iotest.HalfReader(strings.NewReader(data.String()))); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Render(&out, m, a, Options{Lang: "en"}); err != nil {
			t.Fatal(err)
		}
		return out.String(), *a.files["signins/interactive.jsonl"]
	}
	one, fs1 := page(1)
	four, fs4 := page(4)
	if fs1.Records != int64(strings.Count(data.String(), "\n")) || fs1.Unreadable != 5*2+1 {
		t.Errorf("one worker: %d records, %d unreadable", fs1.Records, fs1.Unreadable)
	}
	if fs1 != fs4 {
		t.Errorf("file stats differ: one worker %+v, four %+v", fs1, fs4)
	}
	if one != four {
		t.Error("the page differs between one extract worker and four")
	}
}
