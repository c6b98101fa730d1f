package main

import (
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/spf13/pflag"
)

// ualFlags are grab's and export's options for the unified audit log
// source (ual.Flags checks them).
type ualFlags struct{ ual.Flags }

func (u *ualFlags) register(f *pflag.FlagSet) {
	o := &u.Options
	f.StringVar(&o.APIVersion, "ual-api-version", "beta", "Graph version of the audit log query API: beta or v1.0")
	f.StringSliceVar(&o.Operations, "ual-operations", nil, "ual: operations to keep (operationFilters), e.g. New-InboxRule,Set-InboxRule")
	f.StringSliceVar(&o.RecordTypes, "ual-record-types", nil, "ual: record types (recordTypeFilters), e.g. exchangeAdmin,azureActiveDirectoryStsLogon")
	f.StringSliceVar(&o.Services, "ual-services", nil, "ual: services (workloads), one query per service, e.g. Exchange,AzureActiveDirectory")
	f.StringVar(&o.Keyword, "ual-keyword", "", "ual: free-text keyword (keywordFilter)")
	f.StringVar(&u.Preset, "preset", "", "ual operation preset: mailbox-takeover (see docs/sources.md)")
	f.IntVar(&o.Concurrency, "ual-concurrency", ual.DefaultConcurrency, "ual: audit log queries in flight at once (1..50)")
	f.IntVar(&o.Windows, "ual-windows", 0, "ual: initial windows the requested window is split into; default --ual-concurrency")
	f.DurationVar(&o.PollInterval, "ual-poll", ual.DefaultPollInterval, "ual: first wait before polling a query's status (then growing by half, up to 1m)")
	f.DurationVar(&o.QueryTimeout, "ual-query-timeout", ual.DefaultQueryTimeout, "ual: a query not finished by then marks its window failed")
	f.IntVar(&o.PageSize, "ual-page-size", ual.DefaultPageSize, "ual: records per page ($top of /records; the service maximum is not documented)")
	f.Int64Var(&o.RecordLimit, "ual-record-limit", ual.DefaultRecordLimit, "ual: per-query record limit assumed when the service does not report it")
	f.Int64Var(&o.MaxQueries, "ual-max-queries", ual.DefaultMaxQueries, "ual: audit log queries this run may submit (the tenant allows at least 200 per 24 h)")
}

// options checks the flags and returns the collector's options.
func (u *ualFlags) options(caseID, stateDir string) (ual.Options, error) {
	return u.Checked(caseID, stateDir)
}
