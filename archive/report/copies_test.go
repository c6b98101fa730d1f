package report

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// copiesStory adds to story() the long-retention copies: a workspace's
// sign-ins and Graph activity logs, and a diagnostic archive's subject
// files (a sign-in and Graph requests), with Graph requests from the
// attacker's address (an indicator: its sign-ins are highlighted), by the
// app id of a highlighted sign-in, and from a benign address.
func copiesStory() map[string]string {
	f := story()
	m := time.Minute
	// The attacker's highlighted sign-in names an app id.
	f["signins/interactive.jsonl"] = strings.Replace(f["signins/interactive.jsonl"], `"appDisplayName":"OfficeHome","ipAddress":"185.220.101.47","status":{"errorCode":0`,
		`"appDisplayName":"OfficeHome","appId":"4765445B-32C6-49B0-83E6-1D93765276CA","ipAddress":"185.220.101.47","status":{"errorCode":0`, 1)
	law := func(id string, at time.Duration, ip, app string) string {
		return fmt.Sprintf(`{"TenantId":"t","TimeGenerated":%q,"UserId":"id-victim","AppId":%q,"ServicePrincipalId":"sp","IPAddress":%q,"RequestMethod":"GET","RequestUri":"https://graph.microsoft.com/v1.0/me/messages","ResponseStatusCode":200,"RequestId":%q,"Type":"MicrosoftGraphActivityLogs"}`,
			ts(at), app, ip, id)
	}
	f["workspace/MicrosoftGraphActivityLogs.jsonl"] = strings.Join([]string{
		law("ga-attacker", 5*m, "185.220.101.47", "00000000-0000-0000-0000-00000000aaaa"),
		law("ga-app", 7*m, "198.18.0.9", "4765445b-32c6-49b0-83e6-1d93765276ca"),
		law("ga-benign", -50*time.Hour, "192.0.2.10", "00000000-0000-0000-0000-00000000bbbb"),
	}, "\n") + "\n"
	f["workspace/SigninLogs.jsonl"] = fmt.Sprintf(`{"TenantId":"t","TimeGenerated":%q,"UserId":"id-victim","UserPrincipalName":"victim@contoso.com","IPAddress":"192.0.2.10","AppDisplayName":"OfficeHome","AppId":"a","ResultType":"0","LocationDetails":"{\"city\":\"X\",\"countryOrRegion\":\"US\"}","Id":"ws-signin-1","Type":"SigninLogs"}`, ts(-60*time.Hour)) + "\n"
	f["diagarchive/insights-logs-microsoftgraphactivitylogs.subject.jsonl"] = fmt.Sprintf(`{"time":%q,"resourceId":"/tenants/t/providers/Microsoft.aadiam","operationName":"Microsoft Graph Activity","category":"MicrosoftGraphActivityLogs","callerIpAddress":"185.220.101.47","properties":{"timeGenerated":%[1]q,"requestId":"da-attacker","requestMethod":"POST","requestUri":"https://graph.microsoft.com/v1.0/me/sendMail","responseStatusCode":202,"appId":"00000000-0000-0000-0000-00000000cccc","userId":"id-victim","ipAddress":"185.220.101.47"}}`, ts(9*m)) + "\n"
	f["diagarchive/insights-logs-signinlogs.subject.jsonl"] = fmt.Sprintf(`{"time":%q,"category":"SignInLogs","operationName":"Sign-in activity","resultType":"0","callerIpAddress":"192.0.2.10","properties":{"id":"da-signin-1","createdDateTime":%[1]q,"userPrincipalName":"victim@contoso.com","userId":"id-victim","appDisplayName":"OfficeHome","ipAddress":"192.0.2.10","status":{"errorCode":0}}}`, ts(-70*time.Hour)) + "\n"
	return f
}

// TestCopiesOnThePage: the workspace's and the diagnostic archive's
// records are on the timeline under their source names; Graph requests
// from an indicator's IP address or a highlighted sign-in's app id are a
// high finding with their records and the next step, in English and
// Japanese; a Graph request from an ordinary address is not; the copies'
// sign-ins do not count twice in the sign-in rules.
func TestCopiesOnThePage(t *testing.T) {
	a := feed(t, copiesStory())
	m := testManifest()
	flags := flagsOf(a, m)
	for _, id := range []string{"ga-attacker", "ga-app", "da-attacker"} {
		if !strings.Contains(strings.Join(flags[id], ","), FlagGraphInd) {
			t.Errorf("Graph request %s: flags %v, want %s", id, flags[id], FlagGraphInd)
		}
	}
	if len(flags["ga-benign"]) > 0 {
		t.Errorf("a Graph request from an ordinary address is flagged %v", flags["ga-benign"])
	}
	if len(flags["ws-signin-1"]) > 0 || len(flags["da-signin-1"]) > 0 {
		t.Errorf("a copy's sign-in is flagged: %v %v", flags["ws-signin-1"], flags["da-signin-1"])
	}
	if g := a.ips["192.0.2.10"]; g == nil || g.SignIns != 42 {
		t.Errorf("the home address counts %+v sign-ins; the copies' sign-ins must not count twice", g)
	}

	en := render(t, m, a, "en")
	for _, s := range []string{"Workspace (SigninLogs)", "Workspace (MicrosoftGraphActivityLogs)", "Diagnostic archive (insights-logs-microsoftgraphactivitylogs)",
		"Diagnostic archive (insights-logs-signinlogs)", "Graph activity"} {
		if !strings.Contains(en, s) {
			t.Errorf("the English page lacks %q", s)
		}
	}
	finding := regexp.MustCompile(`(?s)<li class="finding sev-high" data-code="rule-graphind">.*?</li>`).FindString(en)
	if finding == "" || !strings.Contains(finding, "Microsoft Graph requests from an indicator") || !strings.Contains(finding, "Read the requests") ||
		strings.Count(finding, `class="ref"`) < 1 {
		t.Errorf("no Graph finding with records and the next step:\n%s", finding)
	}
	ja := render(t, m, a, "ja")
	jf := regexp.MustCompile(`(?s)<li class="finding sev-high" data-code="rule-graphind">.*?</li>`).FindString(ja)
	if !strings.Contains(jf, "侵害の痕跡からの Microsoft Graph 要求") || !strings.Contains(jf, "要求（メソッドと URI）") || strings.Contains(jf, "Read the requests") {
		t.Errorf("the Japanese Graph finding:\n%s", jf)
	}
	for _, s := range []string{"ワークスペース（SigninLogs）", "診断設定アーカイブ（insights-logs-microsoftgraphactivitylogs）"} {
		if !strings.Contains(ja, s) {
			t.Errorf("the Japanese page lacks %q", s)
		}
	}
}
