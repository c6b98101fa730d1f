package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/cobra"
)

func (a *app) exportPlanCmd() *cobra.Command {
	var (
		file, format, startAt, stateBase, outBase, image, clientID, namespace string
		requests                                                              int
	)
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
			f, err := os.Open(file)
			if err != nil {
				return usageErr("--tenants: %v", err)
			}
			defer f.Close()
			tenants, err := export.ReadTenants(f, requests)
			if err != nil {
				return usageErr("%v", err)
			}
			hh, mm, ok := strings.Cut(startAt, ":")
			h, err1 := strconv.Atoi(hh)
			m, err2 := strconv.Atoi(mm)
			if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
				return usageErr("--start %q: want HH:MM (UTC)", startAt)
			}
			shards, perShard, slot, err := export.Schedule(tenants, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute)
			if err != nil {
				return usageErr("%v", err)
			}
			if format == "cronjob" {
				if !cmd.Flags().Changed("state-base") {
					stateBase = "/data/state"
				}
				if !cmd.Flags().Changed("out-base") {
					outBase = "/data/bundles"
				}
			}
			w := a.stdout
			fmt.Fprintf(w, "# evidence export plan: %d tenants, %d shards of at most %d tenants, one every %s from %s UTC\n", len(tenants), len(shards), perShard, export.Human(slot), startAt)
			fmt.Fprintf(w, "# budget: %s per app across tenants, %s per tenant; this slot length fits %d tenants a day per app registration\n",
				export.AppBudget, collect.ReportsBudget, perShard*int(24*time.Hour/slot))
			switch format {
			case "cron":
				fmt.Fprintln(w, "CRON_TZ=UTC")
				fmt.Fprintln(w, "# certificate password, if any, in EVIDENCE_CERT_PASSWORD (set it in the crontab's environment, never on the command line)")
				for i, s := range shards {
					at := s.Start % (24 * time.Hour)
					for _, t := range s.Tenants {
						fmt.Fprintf(w, "%d %d * * * evidence export --state %s/%s --out %s/%s --backfill --auth certificate --tenant %s --client-id %s --cert /etc/evidence/app.pem  # shard %d\n",
							int(at/time.Minute)%60, int(at/time.Hour), stateBase, t.Name, outBase, t.Name, t.Name, clientID, i+1)
					}
				}
			case "cronjob":
				for i, s := range shards {
					at := s.Start % (24 * time.Hour)
					fmt.Fprintf(w, `---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: evidence-export-shard-%02d
  namespace: %s
spec:
  schedule: "%d %d * * *"
  timeZone: "Etc/UTC"
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 3600
  jobTemplate:
    spec:
      backoffLimit: 0
      activeDeadlineSeconds: %d
      template:
        spec:
          serviceAccountName: evidence-export
          restartPolicy: Never
          securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
          containers:
`, i+1, namespace, int(at/time.Minute)%60, int(at/time.Hour), int(slot/time.Second))
					for _, t := range s.Tenants {
						fmt.Fprintf(w, `          - name: %s
            image: %s
            args: ["export", "--state", "%s/%s", "--out", "%s/%s", "--backfill", "--auth", "certificate", "--cert", "/secrets/app.pem", "--tenant", "%s", "--client-id", "%s"]
            securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
            resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
            volumeMounts: [{name: data, mountPath: /data}, {name: app-cert, mountPath: /secrets, readOnly: true}]
`, export.ContainerName(t.Name), image, stateBase, t.Name, outBase, t.Name, t.Name, clientID)
					}
					fmt.Fprintln(w, "          volumes: [{name: data, persistentVolumeClaim: {claimName: evidence-data}}, {name: app-cert, secret: {secretName: evidence-app-cert}}]")
				}
			default:
				return usageErr("--format %q: use cron or cronjob", format)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "tenants", "", "file listing the tenants, one per line: TENANT [REQUESTS_PER_RUN]")
	f.StringVar(&format, "format", "cron", "cron (crontab lines) or cronjob (one Kubernetes CronJob per shard)")
	f.IntVar(&requests, "requests", 60, "estimated reports requests per tenant and daily run, where the file gives none (pages of 1,000 records; see docs/schedule.md)")
	f.StringVar(&startAt, "start", "01:00", "when the first shard starts, HH:MM UTC")
	f.StringVar(&stateBase, "state-base", "/var/lib/evidence", "state location; each tenant's state is BASE/TENANT (cronjob default /data/state on the evidence-data volume)")
	f.StringVar(&outBase, "out-base", "/srv/evidence", "bundle directory; each tenant's bundles go to BASE/TENANT")
	f.StringVar(&image, "image", "evidence:latest", "container image (cronjob)")
	f.StringVar(&clientID, "client-id", "APP_ID", "the multi-tenant app registration's client id")
	f.StringVar(&namespace, "namespace", "evidence", "Kubernetes namespace (cronjob)")
	_ = cmd.MarkFlagRequired("tenants")
	return cmd
}
