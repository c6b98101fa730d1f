package export

import (
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestFits: a verified orphan is adopted only as the next link of this
// state's chain; every other case is quarantined with its own reason.
func TestFits(t *testing.T) {
	store := &state.Dir{Path: "/var/lib/evidence/contoso"}
	st := state.New(state.Tenant{ID: "t1", Domain: "contoso.com"})
	first := st.Append(state.Entry{Bundle: "evidence-export-a.tar.zst", Location: "/out/evidence-export-a.tar.zst", SHA256: "aaa"})
	cfg := &Config{Store: store}
	next := func(edit func(m *manifest.Manifest)) *orphan {
		m := &manifest.Manifest{Tenant: manifest.Tenant{ID: "t1"},
			Export: &manifest.Export{State: store.String(), Sequence: 2, Previous: first.Hash()}}
		if edit != nil {
			edit(m)
		}
		return &orphan{path: "/out/evidence-export-b.tar.zst", sum: "bbb", m: m}
	}
	if why := fits(cfg, st, next(nil)); why != "" {
		t.Errorf("the next link is not adopted: %s", why)
	}
	copied := next(nil)
	copied.sum = "aaa"
	for name, c := range map[string]struct {
		o    *orphan
		want string
	}{
		"copy":         {copied, "copy of bundle 1"},
		"other state":  {next(func(m *manifest.Manifest) { m.Export.State = "/elsewhere" }), "another export sealed it"},
		"other tenant": {next(func(m *manifest.Manifest) { m.Tenant.ID = "t2" }), "holds tenant t2"},
		"superseded":   {next(func(m *manifest.Manifest) { m.Export.Sequence, m.Export.Previous = 1, "" }), "its interval was exported again"},
		"not next":     {next(func(m *manifest.Manifest) { m.Export.Sequence = 3 }), "not where this index ends"},
		"other chain":  {next(func(m *manifest.Manifest) { m.Export.Previous = "beef" }), "not where this index ends"},
	} {
		if why := fits(cfg, st, c.o); !strings.Contains(why, c.want) {
			t.Errorf("%s: %q, want %q", name, why, c.want)
		}
	}
}
