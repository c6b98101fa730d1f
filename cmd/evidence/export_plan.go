package main

import (
	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/spf13/cobra"
)

func (a *app) exportPlanCmd() *cobra.Command {
	var o export.PlanOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Spread many tenants' daily exports over the day within one app registration's shared Graph budget",
		Long: `plan reads a list of tenants (one per line: TENANT [REQUESTS_PER_RUN]) and
prints a daily schedule (cron lines, or one Kubernetes CronJob per shard)
that never asks Graph for more than one app registration may send: the
identity and access reports budget is 5 requests per 10 s per tenant and
122 per 10 s for the app across all its tenants, so at most 24 tenants run
at once. Each shard gets the time its slowest tenant needs at 5 requests
per 10 s, plus half again. When the tenants do not fit in a day, plan says
how many app registrations are needed (exit 1).`,
		Example: `  evidence export plan --tenants tenants.txt --state-base /var/lib/evidence --out-base /srv/evidence
  evidence export plan --tenants tenants.txt --format cronjob --image registry.example/evidence:1.0 \
      --state-base https://acct.blob.core.windows.net/evidence-state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Format == "cronjob" { // the cronjob's own volume layout
				if !cmd.Flags().Changed("state-base") {
					o.StateBase = "/data/state"
				}
				if !cmd.Flags().Changed("out-base") {
					o.OutBase = "/data/bundles"
				}
			}
			return exportErr(o.Plan(a.stdout))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Tenants, "tenants", "", "file listing the tenants, one per line: TENANT [REQUESTS_PER_RUN]")
	f.StringVar(&o.Format, "format", "cron", "cron (crontab lines) or cronjob (one Kubernetes CronJob per shard)")
	f.IntVar(&o.Requests, "requests", 60, "estimated reports requests per tenant and daily run, where the file gives none (pages of 1,000 records; see docs/schedule.md)")
	f.StringVar(&o.Start, "start", "01:00", "when the first shard starts, HH:MM UTC")
	f.StringVar(&o.StateBase, "state-base", "/var/lib/evidence", "state location; each tenant's state is BASE/TENANT (cronjob default /data/state on the evidence-data volume)")
	f.StringVar(&o.OutBase, "out-base", "/srv/evidence", "bundle directory; each tenant's bundles go to BASE/TENANT")
	f.StringVar(&o.Image, "image", "evidence:latest", "container image (cronjob)")
	f.StringVar(&o.ClientID, "client-id", "APP_ID", "the multi-tenant app registration's client id")
	f.StringVar(&o.Namespace, "namespace", "evidence", "Kubernetes namespace (cronjob)")
	_ = cmd.MarkFlagRequired("tenants")
	return cmd
}
