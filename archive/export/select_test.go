package export

import (
	"errors"
	"slices"
	"strings"
	"testing"

	_ "github.com/evidence-dfir/evidence/collect/sources" // every source registered
)

// TestSelectSources: without --sources, every default export source the
// build registers; named ones in DefaultSources order, each once and
// marked explicit; an unknown one is a usage error.
func TestSelectSources(t *testing.T) {
	got, explicit, err := SelectSources(nil, nil)
	if err != nil || !slices.Equal(got, DefaultSources) || len(explicit) != 0 {
		t.Errorf("defaults: %v %v %v", got, explicit, err)
	}
	got, explicit, err = SelectSources([]string{"ual", " signins", "ual"}, nil)
	if err != nil || !slices.Equal(got, []string{"signins", "ual"}) || !explicit["signins"] || !explicit["ual"] || explicit["audits"] {
		t.Errorf("named: %v %v %v", got, explicit, err)
	}
	var ue *UsageError
	if _, _, err := SelectSources([]string{"nosuch"}, nil); !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown source "nosuch"`) {
		t.Errorf("nosuch: %v", err)
	}
	// A source that needs its flag joins the defaults when it is given,
	// and its flag without it is refused.
	given := func(f string) bool { return f == "workspace" }
	if got, _, err := SelectSources(nil, given); err != nil || !slices.Equal(got, append(slices.Clone(DefaultSources), "workspace")) {
		t.Errorf("defaults with --workspace: %v %v", got, err)
	}
	if _, _, err := SelectSources([]string{"audits"}, given); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--workspace is for --sources workspace") {
		t.Errorf("--workspace without the source: %v", err)
	}
	for in, want := range map[string]string{"auto": "auto", "p1": TierPremium, "p2": TierPremium, "free": TierFree} {
		if got, err := ParseTier(in); err != nil || got != want {
			t.Errorf("ParseTier(%s) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseTier("gold"); !errors.As(err, &ue) {
		t.Errorf("ParseTier(gold): %v", err)
	}
}
