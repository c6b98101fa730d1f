package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestExportSealsTheDayChanges: two daily exports of the state sources, a
// simulated day apart, with an attacker's three changes between them
// (graphtest.Drift: a forwarding inbox rule, a new client secret, a
// disabled conditional access policy). The second bundle seals a diff.json
// naming exactly those three objects, its manifest summarises it, and the
// run exits 6 so a scheduler can alert; the first run has nothing to
// compare with and says so (exit 0). As an archive and as a blob (the
// previous bundle is then read back from the container).
func TestExportSealsTheDayChanges(t *testing.T) {
	for _, form := range []string{"tar", "blob"} {
		t.Run(form, func(t *testing.T) {
			var extra []string
			if form == "blob" {
				az := azuritetest.Start(t)
				az.CreateContainer(t, "evidence")
				t.Setenv(blob.EnvSAS, az.ContainerSAS(t, "evidence", "racw"))
				t.Setenv(blob.EnvConnectionString, "")
				extra = []string{"--blob-url", az.ContainerURL("evidence") + "/contoso", "--allow-mutable"}
			}
			t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)
			day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
			sim := newSim(t, graphtest.Config{Seed: 41, AuditsPerUser: 20, SignInsPerUser: 20, Now: day0})
			stateDir, out := t.TempDir(), t.TempDir()
			run := func(now time.Time, more ...string) (int, string, string) {
				sim.Tenant.SetNow(now)
				args := exportArgs(sim, stateDir, out, now, append([]string{"--bundle", form, "--user", "victim@contoso.com",
					"--sources", "audits,snapshot,tenant,signals"}, append(extra, more...)...)...)
				return invokeCtx(context.Background(), args...)
			}

			code, _, stderr := run(day0, "--since", "2d")
			if code != ExitOK || !strings.Contains(stderr, "not compared (the first bundle of the series") {
				t.Fatalf("day 1: exit %d, want 0 and no comparison\n%s", code, stderr)
			}
			drift := sim.Tenant.Drift(day0.Add(2 * time.Hour))
			code, stdout, stderr := run(day0.Add(24 * time.Hour))
			if code != ExitAlert {
				t.Fatalf("day 2: exit %d, want %d (alert)\n%s", code, ExitAlert, stderr)
			}
			if !strings.Contains(stderr, "1 appeared, 0 disappeared, 2 changed") || strings.Count(stderr, "evidence: ALERT ") != 3 {
				t.Fatalf("day 2: the changes are not reported as three alerts:\n%s", stderr)
			}

			st := loadDirState(t, stateDir)
			e := st.Index[len(st.Index)-1]
			if got := strings.TrimSpace(stdout); got != e.Location {
				t.Fatalf("printed %q, the index records %q", got, e.Location)
			}
			var r diff.Result
			var m manifest.Manifest
			read := func(rd io.Reader) {
				err := archive.Walk(rd, func(name string, f io.Reader) error {
					switch name {
					case diff.File:
						return json.NewDecoder(f).Decode(&r)
					case "manifest.json":
						return json.NewDecoder(f).Decode(&m)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if form == "tar" {
				f, err := os.Open(e.Location)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				read(f)
			} else {
				st, err := pipeline.OpenStore(mustTarget(t, e.Location), nil, "", "")
				if err != nil {
					t.Fatal(err)
				}
				info, err := st.Stat(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				rc, err := st.Open(context.Background(), info.ETag)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				read(rc)
			}
			var got []string
			for _, c := range r.Changes {
				got = append(got, c.Kind+" "+filepath.Base(c.File)+" "+c.ID)
			}
			sort.Strings(got)
			want := []string{
				"appeared inbox-rules.jsonl " + drift.InboxRuleID,
				"changed applications.jsonl " + drift.AppID,
				"changed conditional-access-policies.jsonl " + drift.PolicyID,
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("diff.json changes:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			ch := m.Export.Changes
			if ch == nil || ch.File != diff.File || ch.Alerts != 3 || ch.Previous != st.Index[0].Location {
				t.Fatalf("manifest export.changes = %+v, want diff.json, 3 alerts, previous %s", ch, st.Index[0].Location)
			}
			if code, vout, verr := invokeCtx(context.Background(), "verify", e.Location); code != ExitOK {
				t.Fatalf("verify %s: exit %d\n%s\n%s", e.Location, code, vout, verr)
			}
		})
	}
}

func mustTarget(t *testing.T, u string) blob.Target {
	t.Helper()
	tg, err := blob.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
