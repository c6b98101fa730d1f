package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestGrabFilterIgnored: a service that ignores $filter answers other users'
// and out-of-window records. The bundle's subject files hold only the
// victim's records in the asked window, the rest is byte-exact in
// <file>.out-of-scope.jsonl, counted per source in outOfScope, named in the
// report, the bundle verifies, and the run exits 3.
func TestGrabFilterIgnored(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5, IgnoreFilter: true, SignInsPerUser: 30, AuditsPerUser: 10,
		NonInteractivePerUser: 30, AppSignIns: 10})
	out := t.TempDir()
	v := srv.Tenant.Victim()
	start, end := fixedNow.Add(-10*24*time.Hour), fixedNow.Add(-2*24*time.Hour)
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "dir",
		"--since", start.Format(time.RFC3339), "--until", end.Format(time.RFC3339), "--budget", "reports=50/20ms", "--retry-base", "1ms",
		"--user", v.UPN, "--sources", "signins,audits", "--signin-kinds", "interactive,noninteractive"}
	code, stdout, stderr := invoke(t, tokenEnv, args...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want %d\n%s", code, ExitIncomplete, stderr)
	}
	if !strings.Contains(stderr, "outside the asked user/window") {
		t.Errorf("the run does not say why it is incomplete:\n%s", stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	paths := map[string]string{"signins.interactive": "signins/interactive.jsonl", "signins.noninteractive": "signins/noninteractive.jsonl", "audits": "audits/directory.jsonl"}
	seen := 0
	for _, s := range m.Sources {
		p, ok := paths[s.Name]
		if !ok {
			continue
		}
		seen++
		mine := fileLines(t, filepath.Join(dir, p))
		apart := fileLines(t, filepath.Join(dir, collect.OutOfScopePath(p)))
		if s.OutOfScope == 0 || int64(len(apart)) != s.OutOfScope || int64(len(mine)) != s.Records {
			t.Errorf("%s: %d records (%d lines), outOfScope %d (%d lines)", s.Name, s.Records, len(mine), s.OutOfScope, len(apart))
		}
		timeProp := "createdDateTime"
		if s.Name == "audits" {
			timeProp = "activityDateTime"
		}
		for _, l := range mine {
			g := gjson.Parse(l)
			tm, _ := time.Parse(time.RFC3339Nano, g.Get(timeProp).String())
			who := g.Get("userId").String() == v.ID || g.Get("initiatedBy.user.id").String() == v.ID || strings.Contains(g.Get("targetResources.#.id").Raw, v.ID)
			if !who || tm.Before(start) || !tm.Before(end) {
				t.Fatalf("%s: a record outside the asked user/window among the subject's: %.300s", s.Name, l)
			}
		}
	}
	if seen != len(paths) {
		t.Fatalf("sources %d of %d", seen, len(paths))
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "outside the asked user/window") || !strings.Contains(string(report), "interactive.out-of-scope.jsonl") {
		t.Error("the report does not name the out-of-scope records")
	}
	if code, vout, verr := invoke(t, nil, "verify", dir); code != ExitOK && code != ExitIncomplete {
		t.Errorf("verify: exit %d\n%s\n%s", code, vout, verr)
	}
}

// TestGrabInteractiveFromBeta: interactive sign-ins in a bundle carry
// authenticationDetails; when beta is refused they come from v1.0 and the
// manifest and the report say which fields those records cannot hold.
func TestGrabInteractiveFromBeta(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		srv := newSim(t, graphtest.Config{Seed: 6, SignInsPerUser: 30, AuditsPerUser: 5, RefuseBetaSignIns: refuse})
		out := t.TempDir()
		v := srv.Tenant.Victim()
		code, stdout, stderr := invoke(t, tokenEnv, grabArgs(srv, out, "--user", v.UPN, "--bundle", "dir", "--sources", "signins", "--signin-kinds", "interactive")...)
		if code != ExitOK {
			t.Fatalf("refuse beta %v: exit %d\n%s", refuse, code, stderr)
		}
		dir := lastLine(stdout)
		lines := fileLines(t, filepath.Join(dir, "signins", "interactive.jsonl"))
		if len(lines) == 0 {
			t.Fatal("no interactive sign-ins")
		}
		var src *manifest.Source
		for i, s := range readManifest(t, dir).Sources {
			if s.Name == "signins.interactive" {
				src = &readManifest(t, dir).Sources[i]
			}
		}
		if src == nil || src.API == nil {
			t.Fatalf("refuse beta %v: no api in the manifest: %+v", refuse, src)
		}
		report, _ := os.ReadFile(filepath.Join(dir, "report.html"))
		if !refuse {
			if src.API.Version != "beta" {
				t.Errorf("api %+v", src.API)
			}
			for _, l := range lines {
				if !gjson.Get(l, "authenticationDetails").IsArray() {
					t.Fatalf("interactive sign-in without authenticationDetails: %.300s", l)
				}
			}
			continue
		}
		if src.API.Version != "v1.0" || !strings.Contains(strings.Join(src.API.FieldsNotHeld, ","), "authenticationDetails") {
			t.Errorf("api %+v", src.API)
		}
		if !strings.Contains(string(report), "authenticationDetails") {
			t.Error("the report does not say which fields v1.0 cannot hold")
		}
	}
}

// appToken is an unsigned JWT whose claims say app-only (idtyp app, roles,
// no scp), as an Entra access token with application permissions does; the
// simulator accepts it as its configured token.
func appToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc([]byte(`{"aud":"https://graph.microsoft.com","idtyp":"app","roles":["AuditLog.Read.All","Directory.Read.All"]}`)) + ".sig"
}

// TestGrabAppOnly: with an app-only token, a grab of a user who consented to
// an app collects that app's service principal sign-ins and the user's
// consent grants; /users/{id}/ownedObjects, which documents no application
// permission, is not sent, and the manifest records that lookup as refused
// with what it cannot see (exit 3). The strict tenant records no violation.
func TestGrabAppOnly(t *testing.T) {
	tok := appToken()
	srv := newSim(t, graphtest.Config{Seed: 8, Token: tok, TokenKind: graphtest.TokenApp, SignInsPerUser: 20, AuditsPerUser: 5,
		NonInteractivePerUser: 10, AppSignIns: 20})
	v := srv.Tenant.Victim()
	consented := srv.Tenant.Story().App
	out := t.TempDir()
	code, stdout, stderr := invoke(t, map[string]string{"EVIDENCE_GRAPH_TOKEN": tok},
		grabArgs(srv, out, "--user", v.UPN, "--bundle", "dir", "--sources", "signins,snapshot", "--signin-kinds", "serviceprincipal")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want %d (the owned-objects lookup is refused)\n%s", code, ExitIncomplete, stderr)
	}
	dir := lastLine(stdout)
	m := readManifest(t, dir)
	var sp *manifest.Source
	for i := range m.Sources {
		if m.Sources[i].Name == "signins.serviceprincipal" {
			sp = &m.Sources[i]
		}
	}
	if sp == nil {
		t.Fatal("no service principal sign-ins source")
	}
	refused, asked := false, false
	for _, w := range sp.Windows {
		if strings.Contains(w.Scope, "lookup:"+collect.RouteOwned) && w.Status == manifest.StatusUnavailable && strings.Contains(w.Reason, "not sent") {
			refused = true
		}
		if strings.Contains(w.Scope, "app:"+consented.AppID) && w.Status == manifest.StatusCollected {
			asked = true
		}
	}
	if !refused || !asked {
		t.Fatalf("owned-objects lookup recorded refused: %v; consented app %s asked: %v; windows %+v", refused, consented.AppID, asked, sp.Windows)
	}
	lines := fileLines(t, filepath.Join(dir, "signins", "serviceprincipal.jsonl"))
	n := 0
	for _, l := range lines {
		if gjson.Get(l, "appId").String() == consented.AppID {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no sign-ins of the consented app %s (%d lines)", consented.Name, len(lines))
	}
	// The consent grants, through the filtered list (documented for
	// application permissions), are in the snapshot.
	grants, err := filepath.Glob(filepath.Join(dir, "snapshot", "users", "*", "oauth2-permission-grants.jsonl"))
	if err != nil || len(grants) != 1 {
		t.Fatalf("consent grants file: %v %v", grants, err)
	}
	if b, _ := os.ReadFile(grants[0]); !strings.Contains(string(b), srv.Tenant.Persistence().ConsentGrantID) {
		t.Error("the victim's consent to the attacker's app is not in the snapshot")
	}
	b, _ := os.ReadFile(filepath.Join(dir, manifest.RequestsName))
	if strings.Contains(string(b), "/ownedObjects") {
		t.Error("an app-only run sent /users/{id}/ownedObjects")
	}
}

// TestExportAppOnly: the unattended daily export runs app-only. For a user
// who consented to an app it collects that app's service principal
// sign-ins (found through the consent grants) and the consent audit, does
// not send /users/{id}/ownedObjects, and records that lookup as refused.
func TestExportAppOnly(t *testing.T) {
	tok := appToken()
	srv := newSim(t, graphtest.Config{Seed: 8, Token: tok, TokenKind: graphtest.TokenApp, SignInsPerUser: 20, AuditsPerUser: 5,
		NonInteractivePerUser: 10, AppSignIns: 20})
	v := srv.Tenant.Victim()
	consented := srv.Tenant.Story().App
	stateDir, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := invoke(t, map[string]string{"EVIDENCE_GRAPH_TOKEN": tok},
		exportArgs(srv, stateDir, out, fixedNow, "--user", v.UPN, "--sources", "signins,audits,snapshot", "--backfill")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want %d (the owned-objects lookup is refused)\n%s", code, ExitIncomplete, stderr)
	}
	m, ids := bundleRecords(t, lastLine(stdout))
	var sp *manifest.Source
	for i := range m.Sources {
		if m.Sources[i].Name == "signins.serviceprincipal" {
			sp = &m.Sources[i]
		}
	}
	if sp == nil {
		t.Fatal("the export has no service principal sign-ins")
	}
	refused, asked := false, false
	for _, w := range sp.Windows {
		refused = refused || (strings.Contains(w.Scope, "lookup:"+collect.RouteOwned) && w.Status == manifest.StatusUnavailable)
		asked = asked || (strings.Contains(w.Scope, "app:"+consented.AppID) && w.Status == manifest.StatusCollected)
	}
	if !refused || !asked || len(ids["signins/serviceprincipal.jsonl"]) == 0 {
		t.Fatalf("owned-objects refusal recorded %v, consented app asked %v, %d sign-ins; windows %+v",
			refused, asked, len(ids["signins/serviceprincipal.jsonl"]), sp.Windows)
	}
	found := false
	for _, id := range ids["audits/directory.jsonl"] {
		found = found || id == srv.Tenant.Story().Consent.ID
	}
	if !found {
		t.Error("the victim's consent (audit) is not in the export")
	}
	// The export's daily snapshot holds the consent grant itself, read
	// app-only through /oauth2PermissionGrants?$filter=principalId eq.
	grant := srv.Tenant.Persistence().ConsentGrantID
	found = false
	for _, id := range ids["snapshot/users/"+v.ID+"/oauth2-permission-grants.jsonl"] {
		found = found || id == grant
	}
	if !found {
		t.Errorf("the victim's consent grant %s is not in the export's snapshot (files %v)", grant, keys(ids))
	}
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSimTokenKind: `evidence sim --token-kind app` serves an app-only
// tenant (ownedObjects answers 403 Authorization_RequestDenied), and a bad
// kind is a usage error before anything listens.
func TestSimTokenKind(t *testing.T) {
	if code, _, stderr := invoke(t, nil, "sim", "--listen", "127.0.0.1:0", "--token", testToken, "--token-kind", "robot"); code != ExitUsage || !strings.Contains(stderr, "--token-kind") {
		t.Fatalf("bad kind: exit %d\n%s", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		done <- run(ctx, []string{"sim", "--listen", "127.0.0.1:0", "--token", testToken, "--token-kind", "app"}, pw, &errb)
		pw.Close()
	}()
	base, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSpace(base)+"/v1.0/users/victim@contoso.com/ownedObjects", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "Authorization_RequestDenied") {
		t.Errorf("app-only ownedObjects: %d %s", resp.StatusCode, b)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("sim exit %d", code)
	}
}
