package report

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/manifest"
)

// diffStory is a diff.json as export seals it: a changed policy (an
// alert), an app credential that appeared (an alert), a guest that
// disappeared, and parts not compared for each reason archive/diff gives.
func diffStory(t *testing.T) string {
	t.Helper()
	r := diff.Result{Format: diff.Format, Old: diff.Bundle{Path: "contoso-2026-11-09.tar.zst"}, New: diff.Bundle{Path: "contoso-2026-11-10"},
		Volatile: diff.Volatile, Compared: []string{"tenant/conditional-access-policies.jsonl"},
		Changes: []diff.Change{
			{Kind: diff.Disappeared, File: "tenant/guests.jsonl", ID: "guest-1", Name: "Old Guest", Old: &diff.Pointer{Line: 3}},
			{Kind: diff.Changed, File: "tenant/conditional-access-policies.jsonl", ID: "pol-1", Name: "Require MFA for admins",
				Properties: []diff.Property{{Path: "state", Old: json.RawMessage(`"enabled"`), New: json.RawMessage(`"disabled"`)}},
				New:        &diff.Pointer{Line: 2}, Findings: []string{"ca-policy-disabled"}},
			{Kind: diff.Appeared, File: "tenant/applications.jsonl", ID: "app-9", Name: "Mail Sync Pro", New: &diff.Pointer{Line: 7}, Findings: []string{"app-credential-added-in-window"}},
		},
		Skipped: []diff.Skipped{
			{File: "tenant/domains.jsonl", Why: "NEW: domains not collected: permission: 403 Forbidden Authorization_RequestDenied"},
			{File: "signals/incidents.jsonl", Why: "not in the OLD bundle (source not asked for, or the object did not exist)"},
			{File: "snapshot/users/u1/inbox-rules.jsonl", Why: "OLD: source snapshot not in the bundle"},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChangesSection: an export bundle's page lists what changed since the
// previous bundle, alerts first with the finding they match, property by
// property, and names the parts not compared; in Japanese without the
// English reasons; a bundle without a comparison has no such section, and
// the first bundle of a series says why nothing was compared.
func TestChangesSection(t *testing.T) {
	files := story()
	files[diff.File] = diffStory(t)
	a := feed(t, files)
	m := testManifest()
	m.Export = &manifest.Export{Sequence: 2, Changes: &manifest.ExportChanges{File: diff.File, Previous: "/exports/contoso-2026-11-09.tar.zst", Appeared: 1, Disappeared: 1, Changed: 1, Alerts: 2}}
	section := regexp.MustCompile(`(?s)<section id="changes".*?</section>`)
	row := regexp.MustCompile(`(?s)<tr class="ch ch-(\w+)( ch-alert)?" data-kind="\w+" data-id="([^"]+)">(.*?)</tr>`)

	en := section.FindString(render(t, m, a, "en"))
	if en == "" {
		t.Fatal("no changes section on the English page")
	}
	var got []string
	for _, r := range row.FindAllStringSubmatch(en, -1) {
		got = append(got, r[1]+r[2]+" "+r[3])
	}
	want := "changed ch-alert pol-1|appeared ch-alert app-9|disappeared guest-1"
	if strings.Join(got, "|") != want {
		t.Fatalf("change rows %q, want %q (alerts first)", strings.Join(got, "|"), want)
	}
	for _, s := range []string{`data-alerts="2"`, "Conditional access policy disabled", "Credential added to an application", "&#34;enabled&#34; → &#34;disabled&#34;",
		"/exports/contoso-2026-11-09.tar.zst", "1 appeared, 1 disappeared, 1 changed; 2 match", "tenant/domains.jsonl", "NEW: domains not collected", `href="diff.json"`} {
		if !strings.Contains(en, s) {
			t.Errorf("the English section lacks %q", s)
		}
	}

	ja := section.FindString(render(t, m, a, "ja"))
	if ja == "" {
		t.Fatal("no changes section on the Japanese page")
	}
	for _, s := range []string{"前回のバンドルからの変更点", "追加", "消滅", "変更", "このバンドル では domains を完全には収集できていません", "Authorization_RequestDenied", "snapshot は 前回のバンドル のソースではありません"} {
		if !strings.Contains(ja, s) {
			t.Errorf("the Japanese section lacks %q", s)
		}
	}
	jaText := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(ja, " ")
	for _, s := range []string{"not collected", "not in the", "source snapshot", "appeared", "Matches a finding", "Conditional access policy disabled"} {
		if strings.Contains(jaText, s) {
			t.Errorf("the Japanese section holds the English %q", s)
		}
	}

	// The first bundle of a series: nothing compared, and why.
	m.Export.Changes = &manifest.ExportChanges{NotCompared: "the first bundle of the series: nothing to compare with"}
	a = feed(t, story())
	if s := section.FindString(render(t, m, a, "ja")); !strings.Contains(s, "シリーズ最初のバンドル") || strings.Contains(s, "nothing to compare") {
		t.Errorf("the first bundle's Japanese section: %s", s)
	}
	// Not an export: no section, no link to it.
	m.Export = nil
	if p := render(t, m, a, "en"); strings.Contains(p, `id="changes"`) || strings.Contains(p, `href="#changes"`) {
		t.Error("a bundle without a comparison has a changes section")
	}
}

// TestSignalsReasonsInJapanese: the signals source's reasons and warnings
// about matching by device and IP address are worded in Japanese.
func TestSignalsReasonsInJapanese(t *testing.T) {
	ja, err := catalogue("ja")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"first: no alert of the incident names a subject (victim@contoso.com) or one of the 2 devices and 7 IP addresses of the subject's sign-ins",
		"first: no evidence of the alert names a subject (victim@contoso.com)",
		"signals: 2 incidents are the subject's by a device or IP address of the subject's sign-ins, not by a user (7fcd6396, 67468444)",
		"signals: 1 alerts are the subject's by a device or IP address of the subject's sign-ins, not by a user (b3e4e654-0c51-50b7-b7c0-a40a57587e71)",
		"signals: the subject's sign-ins name more than 10000 devices or IP addresses; incidents and alerts were matched by the first 10000 of each",
	} {
		got := ja.text(s, "")
		if regexp.MustCompile(`[a-z]{3,} [a-z]{3,}`).MatchString(got) || strings.Contains(got, "manifest.json") {
			t.Errorf("%q is rendered %q", s, got)
		}
	}
}
