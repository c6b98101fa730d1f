package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/spf13/cobra"
)

func (a *app) simCmd() *cobra.Command {
	var (
		listen, token, license, reports, ualReads, now, tokenKind string
		fail                                                      []string
		cfg                                                       graphtest.Config
	)
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
expired token), to see how a run records it.

Its clock follows the wall clock, so records keep arriving while it runs and
a grab started minutes later still reaches "now".`,
		Example: `  evidence sim --listen 127.0.0.1:8080 --token test-token --license p2
  EVIDENCE_GRAPH_TOKEN=test-token evidence grab --graph-url http://127.0.0.1:8080 --auth token --user victim@contoso.com
  evidence sim --token test-token --fail /auditLogs/signIns=401`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				return usageErr("--token is required: the bearer token the simulated tenant accepts")
			}
			switch license {
			case "free", "p1", "p2":
			default:
				return usageErr("--license %q: use free, p1 or p2", license)
			}
			switch tokenKind {
			case "delegated", "app":
			default:
				return usageErr("--token-kind %q: use delegated or app", tokenKind)
			}
			host, _, _ := strings.Cut(listen, ":")
			if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
				return usageErr("--listen %q: the simulator serves loopback addresses only (127.0.0.1:PORT)", listen)
			}
			b, err := collect.ParseBudget(reports)
			if err != nil {
				return usageErr("--reports-budget: %v", err)
			}
			rb, err := collect.ParseBudget(ualReads)
			if err != nil {
				return usageErr("--ual-read-budget: %v", err)
			}
			cfg.UAL.Reads = graphtest.Budget{Requests: rb.Requests, Per: rb.Per}
			if now != "" {
				t, err := collect.ParseWhen(now, time.Now())
				if err != nil {
					return usageErr("--now: %v", err)
				}
				cfg.Now = t
			}
			for _, rule := range fail {
				p, code, ok := strings.Cut(rule, "=")
				n, err := strconv.Atoi(code)
				if !ok || !strings.HasPrefix(p, "/") || err != nil || n < 400 || n > 599 {
					return usageErr("--fail %q: want PATH=CODE, a path from / and an HTTP error status, e.g. /auditLogs/signIns=401", rule)
				}
				if cfg.Fail == nil {
					cfg.Fail = map[string]int{}
				}
				cfg.Fail[p] = n
			}
			cfg.Token, cfg.License, cfg.TokenKind = token, graphtest.License(license), graphtest.TokenKind(tokenKind)
			cfg.Reports = graphtest.Budget{Requests: b.Requests, Per: b.Per}
			cfg.Logger = a.log // violations of the documented contract are logged as warnings
			srv, err := graphtest.Listen(listen, cfg)
			if err != nil {
				return failErr(fmt.Errorf("sim: %w", err))
			}
			defer srv.Close()
			fmt.Fprintln(a.stdout, srv.URL)
			a.log.Info("simulated tenant serving", "url", srv.URL, "license", license, "victim", srv.Tenant.Victim().UPN)
			if now != "" {
				<-cmd.Context().Done()
				return nil
			}
			tick := time.NewTicker(time.Second) // the tenant's clock follows the wall clock
			defer tick.Stop()
			for {
				select {
				case <-cmd.Context().Done():
					return nil
				case t := <-tick.C:
					srv.Tenant.SetNow(t)
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "loopback address to listen on")
	f.StringVar(&token, "token", "", "the bearer token to accept (a test value, not a real credential)")
	f.StringVar(&license, "license", "p2", "tenant licence: free, p1 or p2 (free refuses sign-in logs and keeps 7 days)")
	f.StringVar(&tokenKind, "token-kind", "delegated", "what the token stands for: delegated (a signed-in user) or app (application permissions; endpoints without application permissions answer 403 Authorization_RequestDenied)")
	f.BoolVar(&cfg.IgnoreFilter, "ignore-filter", false, "answer like a service that ignores $filter on sign-ins, audits and message trace (other users' and out-of-window records), to see them kept apart")
	f.BoolVar(&cfg.RefuseBetaSignIns, "refuse-beta-signins", false, "refuse /beta/auditLogs/signIns (403), to see interactive sign-ins fall back to v1.0")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of the generated data")
	f.IntVar(&cfg.SignInsPerUser, "signins-per-user", 300, "background interactive sign-ins per user over 30 days")
	f.IntVar(&cfg.AuditsPerUser, "audits-per-user", 60, "background directory audits per user over 30 days")
	f.IntVar(&cfg.NonInteractivePerUser, "noninteractive-per-user", 600, "background non-interactive sign-ins per user over 30 days")
	f.IntVar(&cfg.AppSignIns, "app-signins", 200, "background service principal / managed identity sign-ins per app over 30 days")
	f.StringVar(&reports, "reports-budget", collect.ReportsBudget.String(), "throttling budget of /auditLogs, REQUESTS/DURATION, or unlimited")
	f.Float64Var(&cfg.Faults.Rate5xx, "fault-5xx", 0, "share of requests answered 5xx")
	f.Float64Var(&cfg.Faults.RateReset, "fault-reset", 0, "share of connections reset")
	f.Float64Var(&cfg.Faults.RateTruncate, "fault-truncate", 0, "share of bodies truncated")
	f.Float64Var(&cfg.Faults.Storm429, "fault-429-storm", 0, "share of requests that start a 429 storm")
	f.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every request")
	f.Int64Var(&cfg.Faults.Seed, "fault-seed", 1, "seed of the fault generator")
	f.IntVar(&cfg.UAL.RecordsPerUser, "ual-records-per-user", 300, "unified audit log records per user per 30 days (kept 180 days)")
	f.StringVar(&ualReads, "ual-read-budget", "unlimited", "throttling budget of audit log query reads (status polls and record pages), REQUESTS/DURATION, or unlimited")
	f.DurationVar(&cfg.UAL.QueryDelay, "ual-query-delay", 2*time.Second, "how long a simulated audit log query takes to succeed")
	f.IntVar(&cfg.UAL.RecordLimit, "ual-record-limit", 1000000, "per-query record limit (isRecordCountLimitExceeded above it)")
	f.Float64Var(&cfg.UAL.FailRate, "ual-fail-rate", 0, "share of audit log queries that end failed")
	f.StringArrayVar(&fail, "fail", nil, "answer every request below PATH with status CODE and Graph's error body, PATH=CODE (repeatable), e.g. /auditLogs/signIns=401")
	f.StringVar(&now, "now", "", "fix the tenant's clock at this time, RFC 3339 (default: it follows the wall clock)")
	_ = f.MarkHidden("now")
	return cmd
}
