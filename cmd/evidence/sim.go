package main

import (
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest/sim"
	"github.com/spf13/cobra"
)

func (a *app) simCmd() *cobra.Command {
	var o sim.Flags
	cfg := &o.Config
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve the simulated Microsoft 365 tenant over HTTP (for tests and trials)",
		Long: `sim serves the simulated tenant that demo uses, on a loopback address, until
interrupted. It prints its base URL on stdout; point grab at it with
--graph-url and --auth token (the token in EVIDENCE_GRAPH_TOKEN).

It answers /v1.0/organization, /v1.0/users/{id}, /v1.0/auditLogs/signIns,
/v1.0/auditLogs/directoryAudits, /beta/auditLogs/signIns (all four sign-in
kinds), /v1.0/oauth2PermissionGrants, /v1.0/users/{id}/ownedObjects,
/v1.0/servicePrincipals/{id} and the audit log query API (/beta and /v1.0
security/auditLog/queries) like Graph: OData paging with opaque
$skiptoken nextLinks, the documented $filter forms (others get Graph's 400),
every request checked against the endpoint catalogue (collect/catalog:
undocumented or percent-encoded options, $select of properties the version
lacks, and app-only tokens where no application permission exists are
answered 400 or 403 and logged as violations),
bearer-token checks, throttling budgets with 429 and Retry-After, licence
behaviour and optional fault injection. --fail PATH=CODE answers every
request below PATH with that status and Graph's error body for it (401: an
expired token), to see how a run records it; PATH=CODE@N serves the first
N requests below PATH first.

Its clock follows the wall clock, so records keep arriving while it runs and
a grab started minutes later still reaches "now".`,
		Example: `  evidence sim --listen 127.0.0.1:8080 --token test-token --license p2
  EVIDENCE_GRAPH_TOKEN=test-token evidence grab --graph-url http://127.0.0.1:8080 --auth token --user victim@contoso.com
  evidence sim --token test-token --fail /auditLogs/signIns=401`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.Checked()
			if err != nil {
				return usageErr("%v", err)
			}
			if err := sim.Serve(cmd.Context(), o, c, a.stdout, a.log); err != nil {
				return failErr(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "loopback address to listen on")
	f.StringVar(&o.Token, "token", "", "the bearer token to accept (a test value, not a real credential)")
	f.StringVar(&o.License, "license", "p2", "tenant licence: free, p1 or p2 (free refuses sign-in logs and keeps 7 days)")
	f.StringVar(&o.TokenKind, "token-kind", "delegated", "what the token stands for: delegated (a signed-in user) or app (application permissions; endpoints without application permissions answer 403 Authorization_RequestDenied)")
	f.BoolVar(&cfg.IgnoreFilter, "ignore-filter", false, "answer like a service that ignores $filter on sign-ins, audits and message trace (other users' and out-of-window records), to see them kept apart")
	f.BoolVar(&cfg.RefuseBetaSignIns, "refuse-beta-signins", false, "refuse /beta/auditLogs/signIns (403), to see interactive sign-ins fall back to v1.0")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of the generated data")
	f.IntVar(&cfg.SignInsPerUser, "signins-per-user", 300, "background interactive sign-ins per user over 30 days")
	f.IntVar(&cfg.AuditsPerUser, "audits-per-user", 60, "background directory audits per user over 30 days")
	f.IntVar(&cfg.NonInteractivePerUser, "noninteractive-per-user", 600, "background non-interactive sign-ins per user over 30 days")
	f.IntVar(&cfg.AppSignIns, "app-signins", 200, "background service principal / managed identity sign-ins per app over 30 days")
	f.StringVar(&o.Reports, "reports-budget", collect.ReportsBudget.String(), "throttling budget of /auditLogs, REQUESTS/DURATION, or unlimited")
	f.Float64Var(&cfg.Faults.Rate5xx, "fault-5xx", 0, "share of requests answered 5xx")
	f.Float64Var(&cfg.Faults.RateReset, "fault-reset", 0, "share of connections reset")
	f.Float64Var(&cfg.Faults.RateTruncate, "fault-truncate", 0, "share of bodies truncated")
	f.Float64Var(&cfg.Faults.Storm429, "fault-429-storm", 0, "share of requests that start a 429 storm")
	f.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every request")
	f.Int64Var(&cfg.Faults.Seed, "fault-seed", 1, "seed of the fault generator")
	f.IntVar(&cfg.UAL.RecordsPerUser, "ual-records-per-user", 300, "unified audit log records per user per 30 days (kept 180 days)")
	f.StringVar(&o.UALReads, "ual-read-budget", "unlimited", "throttling budget of audit log query reads (status polls and record pages), REQUESTS/DURATION, or unlimited")
	f.DurationVar(&cfg.UAL.QueryDelay, "ual-query-delay", 2*time.Second, "how long a simulated audit log query takes to succeed")
	f.IntVar(&cfg.UAL.RecordLimit, "ual-record-limit", 1000000, "per-query record limit (isRecordCountLimitExceeded above it)")
	f.Float64Var(&cfg.UAL.FailRate, "ual-fail-rate", 0, "share of audit log queries that end failed")
	f.StringArrayVar(&o.Fail, "fail", nil, "answer every request below PATH with status CODE and Graph's error body, PATH=CODE (repeatable), e.g. /auditLogs/signIns=401; PATH=CODE@N serves the first N requests below PATH first (a token that expires mid-run)")
	f.StringVar(&o.Now, "now", "", "fix the tenant's clock at this time, RFC 3339 (default: it follows the wall clock)")
	_ = f.MarkHidden("now")
	return cmd
}
