package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
)

// TestScopeCheck: grab's scope is checked before any request, each
// refusal a usage error naming the flag; without --sources the registry's
// defaults are collected, the workspace only with --workspace.
func TestScopeCheck(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	user := []string{"alice@contoso.com"}
	flags := func(set ...string) func(string) bool {
		return func(f string) bool {
			for _, s := range set {
				if s == f {
					return true
				}
			}
			return false
		}
	}
	for _, c := range []struct {
		s    Scope
		want string
	}{
		{Scope{Since: "30d"}, "no --user"},
		{Scope{Users: user, AllUsers: true, Since: "30d"}, "exclude each other"},
		{Scope{Users: []string{" "}, Since: "30d"}, "--user is empty"},
		{Scope{Users: user, Since: "yesterday"}, "--since"},
		{Scope{Users: user, Since: "2026-12-01", Until: "2026-11-01"}, "must be after"},
		{Scope{Users: user, Since: "30d", Until: "2026-12-06"}, "in the future"},
		{Scope{Users: user, Since: "30d", Kinds: []string{"robots"}}, "--signin-kinds"},
		{Scope{Users: user, Since: "30d", Split: "a week"}, "--split"},
		{Scope{Users: user, Since: "30d", MaxPages: -1}, "--max-pages"},
		{Scope{Users: user, Since: "30d", Sources: []string{"signins", "mailbox"}}, `unknown source "mailbox"`},
		{Scope{Users: user, Since: "30d", Given: flags("sources")}, "no source selected"},
		{Scope{Users: user, Since: "30d", Sources: []string{"audits"}, Given: flags("sources", "trace-details")}, "--trace-details applies to the messagetrace source"},
		{Scope{Users: user, Since: "30d", Sources: []string{"signins"}, Given: flags("sources", "workspace")}, "add workspace to --sources"},
		{Scope{Users: user, Since: "30d", Sources: []string{"audits"}, Given: flags("sources", "preset")}, "--preset applies to the ual source"},
	} {
		_, err := c.s.Check(now)
		var pe *Error
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &pe) || pe.Kind != Usage {
			t.Errorf("%+v: %v, want a usage error with %q", c.s, err, c.want)
		}
	}
	names := func(c *CheckedScope) map[string]bool {
		out := map[string]bool{}
		for _, s := range c.Sources {
			d, _ := collect.SourceOf(s.Name())
			out[d.Name] = true
		}
		return out
	}
	c, err := Scope{Users: user, Since: "2026-11-01", Split: "1.5d"}.Check(now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Window.Start != time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) || c.Window.End != now || c.Split.Every != 36*time.Hour {
		t.Errorf("window %v, split %v", c.Window, c.Split)
	}
	got := names(c)
	for _, n := range collect.DefaultSourceNames(nil) {
		if !got[n] {
			t.Errorf("default source %s not selected", n)
		}
	}
	if got["workspace"] {
		t.Error("the workspace is selected without --workspace")
	}
	if c, err = (Scope{Users: user, Since: "30d", Given: flags("workspace")}).Check(now); err != nil || !names(c)["workspace"] {
		t.Errorf("--workspace without --sources: %v", err)
	}
	if c, err = (Scope{Users: user, Since: "30d", Sources: []string{"audits"}, Given: flags("sources")}).Check(now); err != nil || len(c.Sources) != 1 {
		t.Errorf("--sources audits narrows: %v %v", c, err)
	}
}

// TestCaseIDAndBudgets: --case is a UUID or a new one; --budget is
// CLASS=REQUESTS/DURATION.
func TestCaseIDAndBudgets(t *testing.T) {
	if id, err := CaseID(""); err != nil || len(id) != 36 {
		t.Errorf("CaseID(\"\") = %q, %v", id, err)
	}
	if _, err := CaseID("case-42"); err == nil || !strings.Contains(err.Error(), "not a UUID") {
		t.Errorf("CaseID(case-42): %v", err)
	}
	b, err := ParseBudgets([]string{"reports=5/10s"})
	if err != nil || b["reports"].Requests != 5 || b["reports"].Per != 10*time.Second {
		t.Errorf("ParseBudgets = %v, %v", b, err)
	}
	if _, err := ParseBudgets([]string{"reports"}); err == nil || !strings.Contains(err.Error(), "CLASS=REQUESTS/DURATION") {
		t.Errorf("ParseBudgets(reports): %v", err)
	}
}
