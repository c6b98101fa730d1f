package pipeline

import (
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	_ "github.com/evidence-dfir/evidence/collect/sources" // every source registers: Scope selects among them
	"github.com/google/uuid"
)

// Scope is what a grab is asked to collect, as the command line gives it:
// whom, over which window, from which sources, cut how.
type Scope struct {
	Users    []string // --user
	AllUsers bool
	Since    string // collect.ParseWhen forms
	Until    string // "" for now
	// Sources are the --sources names; empty, unless Given("sources"), for
	// the registry's defaults.
	Sources []string
	// Given reports whether a flag was set on the command line: the
	// defaults depend on it (the workspace source on --workspace).
	Given    func(flag string) bool
	Kinds    []string // --signin-kinds; empty for all
	Split    string   // --split; "" for 7d
	MaxPages int
}

// CheckedScope is a Scope checked, with its collectors in collection
// order.
type CheckedScope struct {
	Window  collect.Window
	Sources []collect.Source
	Split   collect.Splitting
}

// Check checks s against now (the collection start) before any request;
// the errors are usage errors naming the flag.
func (s Scope) Check(now time.Time) (*CheckedScope, error) {
	if len(s.Users) == 0 && !s.AllUsers {
		return nil, usageErr("no --user given: name at least one user (--user alice@contoso.com, repeatable) or use --all-users")
	}
	if len(s.Users) > 0 && s.AllUsers {
		return nil, usageErr("--user and --all-users exclude each other")
	}
	for _, u := range s.Users {
		if strings.TrimSpace(u) == "" {
			return nil, usageErr("--user is empty")
		}
	}
	start, err := collect.ParseWhen(s.Since, now)
	if err != nil {
		return nil, usageErr("--since: %v", err)
	}
	end := now.UTC().Truncate(collect.Tick)
	if s.Until != "" {
		if end, err = collect.ParseWhen(s.Until, now); err != nil {
			return nil, usageErr("--until: %v", err)
		}
	}
	if !start.Before(end) {
		return nil, usageErr("--until (%s) must be after --since (%s)", collect.FormatTime(end), collect.FormatTime(start))
	}
	if end.After(now) {
		return nil, usageErr("--until (%s) is in the future; the latest possible end is now (%s)", collect.FormatTime(end), collect.FormatTime(now))
	}
	c := &CheckedScope{Window: collect.Window{Start: start, End: end}}
	if len(s.Kinds) == 0 {
		s.Kinds = []string{"all"}
	}
	kinds, err := collect.ParseSignInKinds(s.Kinds)
	if err != nil {
		return nil, usageErr("--signin-kinds: %v", err)
	}
	if s.Split == "" {
		s.Split = "7d"
	}
	every, err := collect.ParseDuration(s.Split)
	if err != nil {
		return nil, usageErr("--split: %v", err)
	}
	if s.MaxPages < 0 {
		return nil, usageErr("--max-pages must be 0 (no limit) or more")
	}
	c.Split = collect.Splitting{Every: every, MaxPages: s.MaxPages}
	names := s.Sources
	if len(names) == 0 && (s.Given == nil || !s.Given("sources")) {
		names = collect.DefaultSourceNames(s.Given)
	}
	if c.Sources, err = collect.SelectSources(names, collect.Config{Kinds: kinds}); err != nil {
		return nil, usageErr("--sources: %v", err)
	}
	if err := flagsOfOthers(names, s.Given); err != nil {
		return nil, err
	}
	return c, nil
}

// flagsOfOthers refuses a flag that configures a source (its descriptor's
// Flags) when that source is not selected: it would be silently ignored.
func flagsOfOthers(selected []string, given func(string) bool) error {
	if given == nil {
		return nil
	}
	mine := map[string]bool{}
	for _, n := range selected {
		d, _ := collect.LookupSource(strings.TrimSpace(n))
		for _, f := range d.Flags {
			mine[f] = true
		}
	}
	for _, d := range collect.Sources() {
		for _, f := range d.Flags {
			if given(f) && !mine[f] {
				return usageErr("--%s applies to the %s source: add %s to --sources", f, d.Name, d.Name)
			}
		}
	}
	return nil
}

// CaseID returns the --case id given, checked, or a new random one.
func CaseID(given string) (string, error) {
	if given == "" {
		return uuid.NewString(), nil
	}
	if _, err := uuid.Parse(given); err != nil {
		return "", usageErr("--case %q is not a UUID", given)
	}
	return given, nil
}

// ParseBudgets reads the --budget overrides, CLASS=REQUESTS/DURATION.
func ParseBudgets(specs []string) (map[string]collect.Budget, error) {
	out := map[string]collect.Budget{}
	for _, b := range specs {
		class, spec, ok := strings.Cut(b, "=")
		if !ok {
			return nil, usageErr("--budget %q: want CLASS=REQUESTS/DURATION, e.g. reports=5/10s", b)
		}
		bud, err := collect.ParseBudget(spec)
		if err != nil {
			return nil, usageErr("--budget: %v", err)
		}
		out[class] = bud
	}
	return out, nil
}
