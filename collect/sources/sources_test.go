package sources

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/catalog"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/sources.md")

// TestSourcesDoc: docs/sources.md holds exactly the table the registry
// generates (run with -update after changing a descriptor).
func TestSourcesDoc(t *testing.T) {
	const path = "../../docs/sources.md"
	stale, err := catalog.GeneratedDoc(path, DocBegin, DocEnd, Markdown(), *update)
	if err != nil {
		t.Fatal(err)
	}
	if stale {
		t.Errorf("%s is stale: run go test ./collect/sources -run TestSourcesDoc -update", path)
	}
}

// TestCLIDocNamesEverySource: the --sources rows of docs/cli.md name every
// registered source, and grab's row gives the registry's defaults.
func TestCLIDocNamesEverySource(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var grabRow string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "| `--sources` |") {
			grabRow = l
			break
		}
	}
	if grabRow == "" {
		t.Fatal("docs/cli.md: no `--sources` row")
	}
	for _, n := range collect.SourceNames() {
		if !strings.Contains(grabRow, "`"+n+"`") {
			t.Errorf("docs/cli.md: grab's --sources row does not name %s:\n%s", n, grabRow)
		}
	}
	def := strings.Split(grabRow, "|")[2]
	for _, n := range collect.DefaultSourceNames(nil) {
		if !strings.Contains(def, n) {
			t.Errorf("docs/cli.md: grab's --sources default column %q lacks %s", def, n)
		}
	}
}

// TestRegistry: every source is registered once with its catalogue
// entries, and the catalogue has no entry that neither a source nor the
// collection's own lookups (the licence probe, the users) send.
func TestRegistry(t *testing.T) {
	want := []string{"signins", "audits", "ual", "messagetrace", "snapshot", "tenant", "signals", "workspace"}
	for _, n := range want {
		if _, ok := collect.LookupSource(n); !ok {
			t.Errorf("source %s is not registered", n)
		}
	}
	if got := collect.SourceNames(); len(got) < len(want) {
		t.Errorf("registered: %v", got)
	}
	used := map[string]bool{}
	for _, e := range collect.CoreEndpoints {
		used[e] = true
	}
	for _, d := range collect.Sources() {
		for _, e := range d.Endpoints {
			used[e] = true
			// A catalogue ID has no space; another API's endpoint is named
			// "api: METHOD /path" (workspace.EndpointName).
			if catalog.ByID(e) == nil && !strings.Contains(e, ": ") {
				t.Errorf("%s: endpoint %q is neither a catalogue entry nor another API's \"api: METHOD /path\"", d.Name, e)
			}
		}
		if len(d.New(collect.Config{})) == 0 {
			t.Errorf("%s: New returns no collector", d.Name)
		}
		for _, f := range d.Files {
			if !d.Writes(f.Pattern) && !strings.ContainsAny(f.Pattern, "*?[") {
				t.Errorf("%s: does not write its own file %s", d.Name, f.Pattern)
			}
		}
	}
	for _, e := range catalog.Endpoints {
		if !used[e.ID] {
			t.Errorf("catalogue entry %s is sent by no registered source", e.ID)
		}
	}
	// The manifest's names map back to their source.
	for name, src := range map[string]string{"signins.interactive": "signins", "snapshot.out-of-scope": "snapshot", "message": "snapshot", "ual.signins": "ual", "audits": "audits"} {
		if d, ok := collect.SourceOf(name); !ok || d.Name != src {
			t.Errorf("SourceOf(%s) = %s, %v; want %s", name, d.Name, ok, src)
		}
	}
	// Defaults: everything the tenant may allow; the workspace only with
	// its flag.
	got := collect.DefaultSourceNames(nil)
	for _, n := range []string{"signins", "audits", "ual", "messagetrace", "snapshot", "tenant", "signals"} {
		if !slices.Contains(got, n) {
			t.Errorf("defaults without flags lack %s: %v", n, got)
		}
	}
	if slices.Contains(got, "workspace") {
		t.Errorf("the workspace is a default without --workspace: %v", got)
	}
	if got := collect.DefaultSourceNames(func(f string) bool { return f == "workspace" }); !slices.Contains(got, "workspace") {
		t.Errorf("defaults with --workspace: %v", got)
	}
	// Collection order: ual reads the sign-ins' status.
	names := collect.SourceNames()
	if slices.Index(names, "ual") < slices.Index(names, "signins") {
		t.Errorf("ual is collected before signins: %v", names)
	}
}
