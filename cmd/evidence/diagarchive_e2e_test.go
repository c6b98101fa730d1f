package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/evidence-dfir/evidence/collect/diagarchive/diagtest"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestGrabDiagArchive: `grab --sources diagarchive --diag-archive URL` of
// one user against a storage account laid out as diagnostic settings lay
// it out (Azurite) packs (.tar.zst) and seals the blobs byte for byte (SHA256SUMS covers them,
// their hashes equal the source blobs'), the index, and the subject's
// lines in a filtered file marked as such in files[]; a missing hour is a
// gap in the manifest and exits 3; the bundle verifies; no SAS is written
// anywhere. Bad flags are refused before any request.
func TestGrabDiagArchive(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 21, SignInsPerUser: 2, AuditsPerUser: 2})
	az := azuritetest.Start(t)
	v, a := srv.Tenant.Victim(), srv.Tenant.Admin()
	from, to := fixedNow.Add(-3*24*time.Hour), fixedNow
	missing := from.Add(30 * time.Hour)
	truth := diagtest.Seed(t, diagtest.Plain(az), diagtest.Spec{Tenant: srv.Tenant.TenantID(), Start: from, End: to,
		Users:      []diagtest.User{{ID: v.ID, UPN: v.UPN, Name: v.DisplayName}, {ID: a.ID, UPN: a.UPN, Name: a.DisplayName}},
		Categories: []string{"SignInLogs", "AuditLogs"}, Append: map[string]bool{"SignInLogs": true},
		Missing: map[string][]time.Time{"SignInLogs": {missing}}})
	sas := diagtest.AccountSAS(t, true)
	env := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, diagarchive.EnvSAS: sas}
	out := t.TempDir()
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "tar",
		"--since", from.Format(time.RFC3339), "--until", to.Format(time.RFC3339), "--user", v.UPN,
		"--sources", "diagarchive", "--diag-archive", az.Endpoint}
	code, stdout, stderr := invoke(t, env, args...)
	if code != ExitIncomplete {
		t.Fatalf("grab exit %d, want %d (a missing hour)\n%s", code, ExitIncomplete, stderr)
	}
	// The archive (blob paths past USTAR's 100 bytes: PAX) verifies and
	// extracts.
	tarPath := lastLine(stdout)
	dir := t.TempDir()
	extract(t, tarPath, dir)
	if c, o, e := invoke(t, nil, "verify", tarPath); c != ExitOK && c != ExitIncomplete {
		t.Fatalf("verify exit %d\n%s%s", c, o, e)
	} else if strings.Contains(o+e, "inconsistent") {
		t.Fatalf("verify: %s%s", o, e)
	}
	m := readManifest(t, dir)
	var src *manifest.Source
	for i := range m.Sources {
		if m.Sources[i].Name == diagarchive.Name {
			src = &m.Sources[i]
		}
	}
	if src == nil {
		t.Fatal("no diagarchive source in the manifest")
	}
	if len(src.Missing) != 1 || src.Missing[0].Start != missing.Format(time.RFC3339) || src.Missing[0].End != missing.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("missing: %+v", src.Missing)
	}
	listed := map[string]manifest.File{}
	for _, f := range m.Files {
		listed[f.Path] = f
	}
	var lines int64
	for _, b := range truth.Blobs {
		p := "diagarchive/" + b.Container + "/" + b.Name
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		sum := sha256.Sum256(got)
		if err != nil || hex.EncodeToString(sum[:]) != b.SHA256 || listed[p].SHA256 != b.SHA256 || listed[p].Source != diagarchive.Name {
			t.Errorf("%s: not sealed byte for byte (%v)", p, err)
		}
		lines += int64(len(b.Lines))
	}
	if src.Records != lines || src.Counts["blobs"] != int64(len(truth.Blobs)) {
		t.Errorf("records %d (want %d), blobs %d (want %d)", src.Records, lines, src.Counts["blobs"], len(truth.Blobs))
	}
	for _, c := range []string{"insights-logs-signinlogs", "insights-logs-auditlogs"} {
		p := "diagarchive/" + c + ".subject.jsonl"
		want := truth.Subject(c, diagtest.User{ID: v.ID, UPN: v.UPN, Name: v.DisplayName}, from, to)
		if got := fileLines(t, filepath.Join(dir, filepath.FromSlash(p))); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s: %d lines, want the subject's %d", p, len(got), len(want))
		}
		if listed[p].Source != diagarchive.SubjectSource || !slices.Contains(src.Files, p) {
			t.Errorf("%s: not accounted as the filtered subject file: %+v", p, listed[p])
		}
	}
	if listed[diagarchive.IndexPath].Source != diagarchive.IndexSource {
		t.Errorf("index: %+v", listed[diagarchive.IndexPath])
	}
	if sig := strings.SplitN(strings.SplitN(sas, "sig=", 2)[1], "&", 2)[0]; sig != "" {
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error { //nolint:errcheck
			if err == nil && !fi.IsDir() {
				b, _ := os.ReadFile(p)
				if strings.Contains(string(b), sig) {
					t.Errorf("%s holds the SAS", p)
				}
			}
			return nil
		})
	}
	req, _ := os.ReadFile(filepath.Join(dir, manifest.RequestsName))
	if !strings.Contains(string(req), `"source":"diagarchive"`) {
		t.Error("requests.jsonl does not log the storage requests")
	}

	for _, bad := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--sources", "diagarchive"}, env, "needs --diag-archive"},
		{[]string{"--sources", "diagarchive", "--diag-archive", "https://acct.blob.core.windows.net/?sig=SECRET"}, env, "query string"},
		{[]string{"--sources", "diagarchive", "--diag-archive", "http://acct.blob.core.windows.net"}, env, "https"},
		{[]string{"--sources", "diagarchive", "--diag-archive", az.Endpoint, "--diag-archive-containers", "insights-logs-x"}, env, "unknown container"},
		{[]string{"--sources", "signins", "--diag-archive", az.Endpoint}, env, "add diagarchive to --sources"},
		{[]string{"--sources", "diagarchive", "--diag-archive", az.Endpoint}, map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, diagarchive.EnvSAS: ""}, "a Graph token cannot read storage"},
	} {
		empty := t.TempDir()
		a := append([]string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", empty, "--user", v.UPN}, bad.args...)
		code, _, stderr := invoke(t, bad.env, a...)
		if code != ExitUsage || !strings.Contains(stderr, bad.want) || strings.Contains(stderr, "SECRET") {
			t.Errorf("%v: exit %d\n%s", bad.args, code, stderr)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Errorf("%v: a refused grab left %d entries", bad.args, len(entries))
		}
	}
}
