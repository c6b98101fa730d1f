package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
)

func readFindings(t *testing.T, dir string) *snapshot.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, snapshot.FindingsPath))
	if err != nil {
		t.Fatal(err)
	}
	var r snapshot.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// lineAt returns line n (1-based) of a bundle file.
func lineAt(t *testing.T, dir, file string, n int64) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	if n < 1 || int(n) > len(lines) {
		t.Fatalf("%s has no line %d", file, n)
	}
	return lines[n-1]
}

// checkPointers proves every finding points at a real record: the line's
// SHA-256 and id match.
func checkPointers(t *testing.T, dir string, r *snapshot.Report) {
	t.Helper()
	for _, f := range r.Findings {
		if len(f.Evidence) == 0 {
			t.Errorf("finding %s %s has no evidence", f.Kind, f.ObjectID)
		}
		for _, p := range f.Evidence {
			line := lineAt(t, dir, p.File, p.Line)
			sum := sha256.Sum256(line)
			if hex.EncodeToString(sum[:]) != p.SHA256 {
				t.Errorf("finding %s: pointer %s:%d sha256 does not match the line", f.Kind, p.File, p.Line)
			}
			if p.ID != "" && !bytes.Contains(line, []byte(`"id":"`+p.ID+`"`)) {
				t.Errorf("finding %s: line %s:%d does not hold id %s", f.Kind, p.File, p.Line, p.ID)
			}
		}
	}
}

// grepBundle reports the bundle files that contain needle.
func grepBundle(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

type flag struct{ kind, object, credential string }

func findingSet(r *snapshot.Report) map[flag]bool {
	out := map[flag]bool{}
	for _, f := range r.Findings {
		out[flag{f.Kind, f.ObjectID, f.Credential}] = true
	}
	return out
}

// TestSnapshotCapturesAndFlagsStory is the acceptance run: grab --user victim
// --sources snapshot captures every seeded persistence artefact, findings.json
// flags each one and nothing benign, no secret or unasked-for message is
// written, and attachments are recorded.
func TestSnapshotCapturesAndFlagsStory(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3})
	per := srv.Tenant.Persistence()
	story := srv.Tenant.Story()
	victim := srv.Tenant.Victim()

	note := filepath.Join(t.TempDir(), "phish report (1).eml")
	noteBody := []byte("From: someone\r\nSubject: forwarded phish\r\n\r\nsee attachment\r\n")
	if err := os.WriteFile(note, noteBody, 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 11, 19, 22, 14, 5, 123456789, time.UTC)
	if err := os.Chtimes(note, mtime, mtime); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--sources", "snapshot", "--bundle", "dir",
		"--attach", note, "--message-id", strings.Trim(per.MessageID, "<>"))...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	if !m.Complete || len(m.Sources) != 2 || m.Sources[0].Name != "snapshot" || m.Sources[1].Name != "message" {
		t.Fatalf("manifest: complete=%v sources=%+v", m.Complete, m.Sources)
	}

	// Every seeded artefact is in the snapshot, in the file it belongs to.
	udir := filepath.Join(dir, "snapshot", "users", victim.ID)
	for file, ids := range map[string][]string{
		"authentication-methods.jsonl":   append([]string{per.AuthenticatorMethodID}, per.BenignMethodIDs...),
		"inbox-rules.jsonl":              append([]string{per.InboxRuleID}, per.BenignRuleIDs...),
		"oauth2-permission-grants.jsonl": {per.ConsentGrantID, per.BenignGrantIDs[0], per.BenignGrantIDs[1]},
		"app-role-assignments.jsonl":     append([]string{per.AppRoleAssignmentID}, per.BenignAppRoleIDs...),
		"owned-objects.jsonl":            {per.AppRegistrationID, per.NewSecretKeyID, per.BenignKeyIDs[0]},
		"registered-devices.jsonl":       append([]string{per.DeviceID}, per.BenignDeviceIDs...),
		"owned-devices.jsonl":            {per.DeviceID},
		"service-principals.jsonl":       {story.App.ServicePrincipalID},
		"user.jsonl":                     {victim.ID, "signInActivity", "lastPasswordChangeDateTime"},
	} {
		b, err := os.ReadFile(filepath.Join(udir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if !bytes.Contains(b, []byte(id)) {
				t.Errorf("%s lacks %s", file, id)
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(udir, "inbox-rules.jsonl")); !bytes.Contains(b, []byte(`"displayName":"."`)) || !bytes.Contains(b, []byte("attacker@protonmail.example")) {
		t.Errorf("inbox rule %q forwarding to the attacker not captured", ".")
	}

	// findings.json flags exactly the attacker's artefacts.
	rep := readFindings(t, dir)
	checkPointers(t, dir, rep)
	want := map[flag]bool{
		{snapshot.KindAuthMethod, per.AuthenticatorMethodID, ""}:                true,
		{snapshot.KindInboxRule, per.InboxRuleID, ""}:                           true,
		{snapshot.KindConsent, story.App.ServicePrincipalID, ""}:                true,
		{snapshot.KindAppCredential, per.AppRegistrationID, per.NewSecretKeyID}: true,
		{snapshot.KindDevice, per.DeviceID, ""}:                                 true,
		{snapshot.KindRiskyUser, victim.ID, ""}:                                 true,
	}
	got := findingSet(rep)
	for f := range want {
		if !got[f] {
			t.Errorf("not flagged: %+v", f)
		}
	}
	for f := range got {
		if !want[f] {
			t.Errorf("false flag: %+v", f)
		}
	}
	benign := slices.Concat(per.BenignMethodIDs, per.BenignRuleIDs, per.BenignGrantIDs, per.BenignKeyIDs, per.BenignDeviceIDs, per.BenignAppRoleIDs)
	for _, f := range rep.Findings {
		if slices.Contains(benign, f.ObjectID) || slices.Contains(benign, f.Credential) {
			t.Errorf("benign object flagged: %+v", f)
		}
		if f.Kind == snapshot.KindConsent && (len(f.Evidence) != 2 || !strings.Contains(f.Summary, "Mail.Send")) {
			t.Errorf("consent finding should cite the grant (with Mail.Send) and the app role assignment: %+v", f)
		}
	}
	if len(rep.NotChecked) != 0 || rep.RedactedSecrets != 0 {
		t.Errorf("not checked %+v, redacted %d", rep.NotChecked, rep.RedactedSecrets)
	}

	// No secret value, token or unasked-for message anywhere in the bundle.
	if hits := grepBundle(t, dir, []byte(testToken)); len(hits) > 0 {
		t.Errorf("bearer token written to %v", hits)
	}
	if hits := grepBundle(t, dir, []byte(`"secretText":"`)); len(hits) > 0 {
		t.Errorf("secretText value written to %v", hits)
	}
	if hits := grepBundle(t, dir, []byte("Q3 numbers")); len(hits) > 0 {
		t.Errorf("MIME of a message not asked for written to %v", hits)
	}
	if hits := grepBundle(t, dir, []byte(per.OtherMessageID)); len(hits) > 0 {
		t.Errorf("a message not asked for is recorded in %v", hits)
	}

	// Attachments: the examiner's file and the phishing message.
	if len(m.Attachments) != 2 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	msg, file := m.Attachments[0], m.Attachments[1]
	eml, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(msg.Path)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(eml)
	if msg.Kind != manifest.AttachmentMessage || msg.InternetMessageID != per.MessageID || msg.UserID != victim.ID ||
		!bytes.Contains(eml, []byte("Message-ID: "+per.MessageID)) || msg.SHA256 != hex.EncodeToString(sum[:]) || msg.Size != int64(len(eml)) {
		t.Errorf("message attachment %+v", msg)
	}
	sum = sha256.Sum256(noteBody)
	if file.Kind != manifest.AttachmentFile || file.OriginalName != "phish report (1).eml" || file.Path != "attachments/01-phish_report__1_.eml" ||
		file.Size != int64(len(noteBody)) || file.SHA256 != hex.EncodeToString(sum[:]) || file.ModTime != "2026-11-19T22:14:05.123456789Z" {
		t.Errorf("file attachment %+v", file)
	}
	copied, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.Path)))
	if err != nil || !bytes.Equal(copied, noteBody) {
		t.Errorf("attached file not copied as is: %v", err)
	}
	for _, a := range m.Attachments {
		ok := false
		for _, f := range m.Files {
			ok = ok || f.Path == a.Path && f.SHA256 == a.SHA256 && f.Size == a.Size
		}
		if !ok {
			t.Errorf("attachment %s not sealed in files[] with the same hash", a.Path)
		}
	}
}

// TestSnapshotUnavailableParts: a Free tenant without mailbox permissions
// still gets a sealed snapshot of what could be read; every refused part is
// in the manifest with its reason, and the exit code is 3.
func TestSnapshotUnavailableParts(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3, License: graphtest.LicenseFree, Denied: []string{graphtest.PermMailbox, graphtest.PermMail}})
	per := srv.Tenant.Persistence()
	victim := srv.Tenant.Victim()
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--sources", "snapshot", "--bundle", "dir",
		"--message-id", per.MessageID)...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	if code, out, _ := invoke(t, nil, "verify", dir); code != ExitOK {
		t.Fatalf("verify %d: %s", code, out)
	}
	m := readManifest(t, dir)
	reasons := map[string]string{}
	for _, w := range m.Sources[0].Windows {
		name, _, _ := strings.Cut(w.Query, ":")
		if w.Status != manifest.StatusCollected {
			if w.Status != manifest.StatusUnavailable || w.Reason == "" {
				t.Errorf("%s: status %s reason %q", name, w.Status, w.Reason)
			}
			reasons[name] = w.Reason
		}
	}
	for name, want := range map[string]string{
		"user.signInActivity": "licence",
		"inbox-rules":         "ErrorAccessDenied",
		"mailbox-settings":    "ErrorAccessDenied",
		"pim-eligible-roles":  "P2",
		"pim-active-roles":    "P2",
		"risky-user":          "licence",
		"risk-detections":     "licence",
	} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reason %q, want it to mention %q", name, reasons[name], want)
		}
	}
	if len(reasons) != 7 {
		t.Errorf("unavailable parts %v", reasons)
	}
	if m.Sources[0].Status != manifest.StatusUnavailable || m.Complete {
		t.Errorf("snapshot status %s, complete %v", m.Sources[0].Status, m.Complete)
	}
	if m.Sources[1].Name != "message" || m.Sources[1].Status != manifest.StatusUnavailable || len(m.Attachments) != 0 {
		t.Errorf("message source %+v, attachments %+v", m.Sources[1], m.Attachments)
	}
	// What could be read is sealed, and still flagged.
	udir := filepath.Join(dir, "snapshot", "users", victim.ID)
	if _, err := os.Stat(filepath.Join(udir, "inbox-rules.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a refused part left a file: %v", err)
	}
	rep := readFindings(t, dir)
	checkPointers(t, dir, rep)
	got := findingSet(rep)
	if !got[flag{snapshot.KindAuthMethod, per.AuthenticatorMethodID, ""}] || !got[flag{snapshot.KindDevice, per.DeviceID, ""}] {
		t.Errorf("findings %+v", rep.Findings)
	}
	checked := map[string]bool{}
	for _, n := range rep.NotChecked {
		checked[n.Check] = true
	}
	if !checked["inbox-rules"] {
		t.Errorf("not_checked %+v lacks inbox-rules", rep.NotChecked)
	}
	if b, _ := os.ReadFile(filepath.Join(udir, "user.jsonl")); !bytes.Contains(b, []byte(victim.ID)) || bytes.Contains(b, []byte("signInActivity")) {
		t.Errorf("user object not captured without signInActivity: %s", b)
	}
}

// TestSnapshotTenantObjects: --tenant-objects adds the tenant's guests, app
// registrations, service principals and consents; the attacker's guest and
// the new secret are flagged once each, nothing benign.
func TestSnapshotTenantObjects(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5})
	per := srv.Tenant.Persistence()
	story := srv.Tenant.Story()
	victim := srv.Tenant.Victim()
	out := t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", victim.UPN, "--sources", "snapshot", "--tenant-objects",
		"--bundle", "dir", "--page-size", "2")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	for _, f := range []string{"guests", "applications", "service-principals", "oauth2-permission-grants"} {
		if _, err := os.Stat(filepath.Join(dir, "snapshot", "tenant", f+".jsonl")); err != nil {
			t.Error(err)
		}
	}
	rep := readFindings(t, dir)
	checkPointers(t, dir, rep)
	count := map[flag]int{}
	for _, f := range rep.Findings {
		count[flag{f.Kind, f.ObjectID, f.Credential}]++
	}
	for _, f := range []flag{
		{snapshot.KindGuest, per.GuestID, ""},
		{snapshot.KindAppCredential, per.AppRegistrationID, per.NewSecretKeyID},
		{snapshot.KindConsent, story.App.ServicePrincipalID, ""},
	} {
		if count[f] != 1 {
			t.Errorf("%+v flagged %d times, want once", f, count[f])
		}
	}
	for _, f := range rep.Findings {
		if slices.Contains(per.BenignGuestIDs, f.ObjectID) || slices.Contains(per.BenignKeyIDs, f.Credential) || slices.Contains(per.BenignGrantIDs, f.ObjectID) {
			t.Errorf("benign object flagged: %+v", f)
		}
	}
	// Paging at 2 per page read every guest.
	if b, _ := os.ReadFile(filepath.Join(dir, "snapshot", "tenant", "service-principals.jsonl")); bytes.Count(b, []byte("\n")) != 4 {
		t.Errorf("service principals: %d lines", bytes.Count(b, []byte("\n")))
	}
}

// TestSnapshotUsage: flag combinations that cannot work end before anything
// is written.
func TestSnapshotUsage(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 1})
	for _, args := range [][]string{
		{"--user", "victim@contoso.com", "--tenant-objects"},
		{"--all-users", "--message-id", "<a@b>"},
		{"--user", "victim@contoso.com", "--message-id", "nonsense"},
		{"--user", "victim@contoso.com", "--attach", filepath.Join(t.TempDir(), "missing.eml")},
		{"--user", "victim@contoso.com", "--attach", t.TempDir()},
	} {
		out := t.TempDir()
		code, _, stderr := invoke(t, tokenEnv, grabArgs(srv, out, args...)...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d (%s)", args, code, stderr)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%v: wrote %v", args, entries)
		}
	}
}
