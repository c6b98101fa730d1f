package ual

import "github.com/evidence-dfir/evidence/collect"

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
		New: func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },
	})
}
