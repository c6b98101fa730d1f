package main

import (
	"slices"
	"strings"

	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/cobra"
)

// flagValues are the values shell completion offers for a flag, wherever a
// command has it; list flags take several, comma-separated.
var flagValues = map[string]struct {
	values func() []string
	list   bool
}{
	"sources":      {collect.SourceNames, true},
	"signin-kinds": {func() []string { return append(collect.SignInKindNames(), "all") }, true},
	"auth":         {func() []string { return collect.AuthMethods }, false},
	"lang":         {func() []string { return report.Languages }, false},
	"bundle":       {func() []string { return []string{"tar", "dir", "blob", "tar,blob"} }, false},
}

// registerCompletions gives every command's value flags their completion.
func registerCompletions(cmd *cobra.Command) {
	for name, fv := range flagValues {
		if cmd.Flags().Lookup(name) == nil {
			continue
		}
		_ = cmd.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return completeValue(fv.values(), fv.list, toComplete)
		})
	}
	for _, c := range cmd.Commands() {
		registerCompletions(c)
	}
}

// completeValue offers the values that extend toComplete; for a list, the
// values not yet named after the last comma.
func completeValue(values []string, list bool, toComplete string) ([]string, cobra.ShellCompDirective) {
	prefix, partial := "", toComplete
	if i := strings.LastIndex(toComplete, ","); list && i >= 0 {
		prefix, partial = toComplete[:i+1], toComplete[i+1:]
	}
	named := strings.Split(prefix, ",")
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, partial) && !slices.Contains(named, v) {
			out = append(out, prefix+v)
		}
	}
	dir := cobra.ShellCompDirectiveNoFileComp
	if list {
		dir |= cobra.ShellCompDirectiveNoSpace
	}
	return out, dir
}
