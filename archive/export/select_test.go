package export

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSelectSources: without --sources, every default export source the
// build registers; named ones in DefaultSources order, each once and
// marked explicit; an unknown one is a usage error.
func TestSelectSources(t *testing.T) {
	got, explicit, err := SelectSources(nil)
	if err != nil || !slices.Equal(got, DefaultSources) || len(explicit) != 0 {
		t.Errorf("defaults: %v %v %v", got, explicit, err)
	}
	got, explicit, err = SelectSources([]string{"ual", " signins", "ual"})
	if err != nil || !slices.Equal(got, []string{"signins", "ual"}) || !explicit["signins"] || !explicit["ual"] || explicit["audits"] {
		t.Errorf("named: %v %v %v", got, explicit, err)
	}
	var ue *UsageError
	if _, _, err := SelectSources([]string{"workspace"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown source "workspace"`) {
		t.Errorf("workspace: %v", err)
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
