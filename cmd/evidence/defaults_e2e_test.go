package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// defaultGrab is a grab with no --sources against srv, scaled for tests.
func defaultGrab(t *testing.T, srv *graphtest.Server) (int, *manifest.Manifest, string, string) {
	t.Helper()
	out := t.TempDir()
	args := []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "dir",
		"--since", fixedNow.Add(-30 * 24 * time.Hour).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
		"--budget", "reports=5/20ms", "--budget", "messagetrace=20/100ms", "--retry-base", "1ms", "--ual-poll", "5ms",
		"--user", srv.Tenant.Victim().UPN}
	code, stdout, stderr := invoke(t, tokenEnv, args...)
	if code != ExitOK && code != ExitIncomplete {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	return code, readManifest(t, dir), dir, stderr
}

// manifestSources maps each registered source to its sources[] entries.
func manifestSources(t *testing.T, m *manifest.Manifest) map[string][]manifest.Source {
	t.Helper()
	got := map[string][]manifest.Source{}
	for _, s := range m.Sources {
		d, ok := collect.SourceOf(s.Name)
		if !ok {
			t.Errorf("manifest source %q belongs to no registered source", s.Name)
			continue
		}
		got[d.Name] = append(got[d.Name], s)
	}
	return got
}

// TestGrabDefaultSources: grab without --sources collects every default
// source of the registry (all sign-in kinds, audits, the unified audit log,
// message trace, the snapshot, the tenant's posture, signals) and nothing
// else. It is also the simulator's coverage check of the registry: every
// request a source sent is a catalogue entry its descriptor names, and
// every record file is one its descriptor declares.
func TestGrabDefaultSources(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5})
	code, m, dir, stderr := defaultGrab(t, srv)
	if code != ExitOK {
		t.Errorf("exit %d on a tenant that allows everything\n%s", code, stderr)
	}
	got := manifestSources(t, m)
	want := collect.DefaultSourceNames(nil)
	for _, n := range want {
		if len(got[n]) == 0 {
			t.Errorf("default source %s is not in the manifest", n)
		}
	}
	for n := range got {
		if !slices.Contains(want, n) {
			t.Errorf("source %s collected though not a default", n)
		}
	}
	if len(got["signins"]) != len(collect.SignInKinds) {
		t.Errorf("sign-in kinds collected: %d, want all %d", len(got["signins"]), len(collect.SignInKinds))
	}
	for _, s := range m.Sources {
		if s.Status != manifest.StatusCollected {
			t.Errorf("%s: %s (%s)", s.Name, s.Status, s.Reason)
		}
	}

	// Every request is one its source's descriptor names; the user lookup
	// and licence probe ("users", "licence-probe") send the collection's
	// own entries and the sign-ins' user-app lookup.
	f, err := os.Open(filepath.Join(dir, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	signins, _ := collect.LookupSource("signins")
	core := append(slices.Clone(collect.CoreEndpoints), signins.Endpoints...)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ Source, Endpoint string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		allowed := core
		if d, ok := collect.SourceOf(r.Source); ok {
			allowed = d.Endpoints
		} else if r.Source != "users" && r.Source != "licence-probe" {
			t.Errorf("request of unknown source %q (%s)", r.Source, r.Endpoint)
			continue
		}
		if !slices.Contains(allowed, r.Endpoint) {
			t.Errorf("source %q sent %s, which its descriptor does not name", r.Source, r.Endpoint)
		}
	}
	// Every record file is one its source declares.
	for _, fl := range m.Files {
		if fl.Source == "" || fl.Source == "provenance" || !strings.HasSuffix(fl.Path, ".jsonl") { // requests.jsonl is the run's own
			continue
		}
		if d, ok := collect.SourceOf(fl.Source); !ok || !d.Writes(fl.Path) {
			t.Errorf("%s (source %s) is not among its descriptor's files", fl.Path, fl.Source)
		}
	}
}

// TestGrabDefaultSourcesRecordsRefusals: on a tenant that allows less (no
// Entra ID P1/P2, no message trace service principal, no mailbox
// permission), a grab without --sources still names every default source
// in the manifest, each refused one with its reason, and exits 3.
func TestGrabDefaultSourcesRecordsRefusals(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5, License: graphtest.LicenseFree, NoMessageTraceSP: true})
	code, m, _, stderr := defaultGrab(t, srv)
	if code != ExitIncomplete {
		t.Errorf("exit %d, want %d\n%s", code, ExitIncomplete, stderr)
	}
	got := manifestSources(t, m)
	for _, n := range collect.DefaultSourceNames(nil) {
		if len(got[n]) == 0 {
			t.Errorf("default source %s is not in the manifest", n)
		}
	}
	reason := func(n, want string) {
		t.Helper()
		for _, s := range got[n] {
			if s.Status == manifest.StatusUnavailable && strings.Contains(s.Reason, want) {
				return
			}
		}
		t.Errorf("%s: not recorded as unavailable with %q: %+v", n, want, got[n])
	}
	reason("signins", "licence")
	reason("messagetrace", "service principal")
}
