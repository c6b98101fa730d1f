package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/spf13/pflag"
)

// ualFlags are grab's options for the unified audit log source.
type ualFlags struct {
	apiVersion  string
	operations  []string
	recordTypes []string
	services    []string
	keyword     string
	preset      string
	concurrency int
	windows     int
	poll        time.Duration
	timeout     time.Duration
	pageSize    int
	recordLimit int64
	maxQueries  int64
}

func (u *ualFlags) register(f *pflag.FlagSet) {
	f.StringVar(&u.apiVersion, "ual-api-version", "beta", "Graph version of the audit log query API: beta or v1.0")
	f.StringSliceVar(&u.operations, "ual-operations", nil, "ual: operations to keep (operationFilters), e.g. New-InboxRule,Set-InboxRule")
	f.StringSliceVar(&u.recordTypes, "ual-record-types", nil, "ual: record types (recordTypeFilters), e.g. exchangeAdmin,azureActiveDirectoryStsLogon")
	f.StringSliceVar(&u.services, "ual-services", nil, "ual: services (workloads), one query per service, e.g. Exchange,AzureActiveDirectory")
	f.StringVar(&u.keyword, "ual-keyword", "", "ual: free-text keyword (keywordFilter)")
	f.StringVar(&u.preset, "preset", "", "ual operation preset: mailbox-takeover (see docs/sources.md)")
	f.IntVar(&u.concurrency, "ual-concurrency", ual.DefaultConcurrency, "ual: audit log queries in flight at once (1..50)")
	f.IntVar(&u.windows, "ual-windows", 0, "ual: initial windows the requested window is split into; default --ual-concurrency")
	f.DurationVar(&u.poll, "ual-poll", ual.DefaultPollInterval, "ual: first wait before polling a query's status (then growing by half, up to 1m)")
	f.DurationVar(&u.timeout, "ual-query-timeout", ual.DefaultQueryTimeout, "ual: a query not finished by then marks its window failed")
	f.IntVar(&u.pageSize, "ual-page-size", ual.DefaultPageSize, "ual: records per page ($top of /records; the service maximum is not documented)")
	f.Int64Var(&u.recordLimit, "ual-record-limit", ual.DefaultRecordLimit, "ual: per-query record limit assumed when the service does not report it")
	f.Int64Var(&u.maxQueries, "ual-max-queries", ual.DefaultMaxQueries, "ual: audit log queries this run may submit (the tenant allows at least 200 per 24 h)")
}

// options checks the flags and returns the collector's options.
func (u *ualFlags) options(caseID, stateDir string) (ual.Options, error) {
	o := ual.Options{APIVersion: u.apiVersion, RecordTypes: clean(u.recordTypes), Services: clean(u.services), Keyword: u.keyword,
		Concurrency: u.concurrency, Windows: u.windows, PollInterval: u.poll, QueryTimeout: u.timeout, PageSize: u.pageSize,
		RecordLimit: u.recordLimit, MaxQueries: u.maxQueries, CaseID: caseID, StateDir: stateDir}
	if o.APIVersion != "beta" && o.APIVersion != "v1.0" {
		return o, fmt.Errorf("--ual-api-version %q: use beta or v1.0", u.apiVersion)
	}
	ops := clean(u.operations)
	if u.preset != "" {
		p, ok := ual.Presets[u.preset]
		if !ok {
			return o, fmt.Errorf("--preset %q: known presets: mailbox-takeover", u.preset)
		}
		ops = append(ops, p...)
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if !seen[strings.ToLower(op)] {
			seen[strings.ToLower(op)] = true
			o.Operations = append(o.Operations, op)
		}
	}
	switch {
	case u.concurrency < 1 || u.concurrency > 50:
		return o, fmt.Errorf("--ual-concurrency %d: use 1 to 50 (the tenant allows at least 50 queued or running queries)", u.concurrency)
	case u.windows < 0:
		return o, fmt.Errorf("--ual-windows must not be negative")
	case u.poll <= 0 || u.timeout <= 0:
		return o, fmt.Errorf("--ual-poll and --ual-query-timeout must be positive")
	case u.pageSize < 1:
		return o, fmt.Errorf("--ual-page-size must be positive")
	case u.recordLimit < 1 || u.maxQueries < 1:
		return o, fmt.Errorf("--ual-record-limit and --ual-max-queries must be positive")
	}
	return o, nil
}

func clean(l []string) []string {
	var out []string
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
