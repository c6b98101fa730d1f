package workspace

import "github.com/evidence-dfir/evidence/collect"

// Flags are the source's option values as a command line gives them
// (collect.Setup.Options["workspace"]): the workspace id, endpoint, tables
// and transport of Options, and CA, a PEM file of a CA to trust besides the
// system's (a TLS-inspecting proxy, the simulator).
type Flags struct {
	Options
	CA string
}

// configure checks the flags (before any request) and hands the collector
// its options and the run's credential.
func configure(src collect.Source, s collect.Setup) (collect.Source, error) {
	ws, ok := src.(*Source)
	if !ok {
		return src, nil
	}
	f, _ := s.Options[Name].(Flags)
	o := f.Options
	o.Credential, o.Log = s.Credential, s.Log
	opt, err := o.Checked(f.CA)
	if err != nil {
		return nil, err
	}
	ws.Opt = opt
	return ws, nil
}

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
		Configure: configure,
	})
}
