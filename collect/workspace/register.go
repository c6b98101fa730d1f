package workspace

import "github.com/evidence-dfir/evidence/collect"

func init() {
	collect.Register(collect.Descriptor{
		Name:      Name,
		Summary:   "the copies a Log Analytics workspace keeps (sign-ins, audits, Graph activity, risk, Office activity)",
		Order:     80,
		Default:   collect.WhenFlag, // it cannot run without --workspace
		Files:     []collect.File{{Pattern: Name + "/*.jsonl"}},
		Endpoints: []string{EndpointName},
		Split:     "one query per table and window, halved past the row or byte limit",
		Resume:    "collected again",
		Flags:     []string{"workspace", "workspace-url", "workspace-tables"},
		New:       func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },
	})
}
