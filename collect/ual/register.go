package ual

import (
	"path/filepath"

	"github.com/evidence-dfir/evidence/collect"
)

// Flags are the source's option values as a command line gives them
// (collect.Setup.Options["ual"]): the query options and --preset.
type Flags struct {
	Options
	Preset string
}

// Checked checks f and completes it with the case id (which names the
// queries) and the state directory.
func (f Flags) Checked(caseID, stateDir string) (Options, error) {
	o := f.Options
	o.CaseID, o.StateDir = caseID, stateDir
	return o.Checked(f.Preset)
}

// configure hands the collector its options: its state goes in the run's
// resume directory, under ual/.
func configure(src collect.Source, s collect.Setup) (collect.Source, error) {
	u, ok := src.(*Source)
	if !ok {
		return src, nil
	}
	f, _ := s.Options[Name].(Flags)
	opt, err := f.Checked(s.CaseID, filepath.Join(s.StateDir, Name))
	if err != nil {
		return nil, err
	}
	u.Opt, u.Log = opt, s.Log
	return u, nil
}

func init() {
	collect.Register(collect.Descriptor{
		Name:    Name,
		Summary: "the Purview unified audit log (auditData intact); needs AuditLogsQuery.Read.All",
		Order:   30, // after signins: it reads their status (the Free-tier trail)
		Default: collect.On,
		Files:   []collect.File{{Pattern: RecordsPath, Columns: Columns}, {Pattern: SignInsFromUALPath, Columns: Columns}},
		Endpoints: []string{"auditquery.create.beta", "auditquery.get.beta", "auditquery.records.beta",
			"auditquery.create.v1.0", "auditquery.get.v1.0", "auditquery.records.v1.0"},
		Split:  "--ual-windows query windows, split again past a query's record limit",
		Resume: "re-uses the queries and records already read (OUT/.NAME.resume/ual)",
		Flags: []string{"ual-api-version", "ual-operations", "ual-record-types", "ual-services", "ual-keyword", "preset",
			"ual-concurrency", "ual-windows", "ual-poll", "ual-query-timeout", "ual-page-size", "ual-record-limit", "ual-max-queries"},
		New:       func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },
		Configure: configure,
		Resumes:   true,
	})
}
