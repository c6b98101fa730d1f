package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect"
)

// TestCompletionValues: shell completion offers the registry's sources
// (those not yet named in the list), the sign-in kinds, the --auth methods,
// the report languages and the bundle forms.
func TestCompletionValues(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"grab", "--sources", ""}, collect.SourceNames(), nil},
		{[]string{"grab", "--sources", "signins,a"}, []string{"signins,audits"}, []string{"signins,signins"}},
		{[]string{"grab", "--signin-kinds", "inter"}, []string{"interactive"}, []string{"noninteractive"}},
		{[]string{"export", "--auth", ""}, collect.AuthMethods, nil},
		{[]string{"grab", "--lang", ""}, []string{"en", "ja"}, nil},
		{[]string{"demo", "--bundle", ""}, []string{"tar", "dir", "blob", "tar,blob"}, nil},
	} {
		_, stdout, _ := invoke(t, nil, append([]string{"__complete"}, c.args...)...)
		got := strings.Split(strings.TrimSpace(stdout), "\n")
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%v: %q not offered: %q", c.args, w, got)
			}
		}
		for _, n := range c.not {
			if slices.Contains(got, n) {
				t.Errorf("%v: %q offered: %q", c.args, n, got)
			}
		}
	}
}
