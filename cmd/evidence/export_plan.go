package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/cobra"
)

// appBudget is Graph's identity and access reports budget shared by one
// app registration across all its tenants (docs/sources.md, throttling
// limits): 122 requests per 10 seconds. Each tenant is also limited to
// collect.ReportsBudget (5 per 10 s).
var appBudget = collect.Budget{Requests: 122, Per: 10 * time.Second}

// planTenant is one line of the --tenants file.
type planTenant struct {
	name     string
	requests int // estimated reports requests per daily run
}

// planShard is a group of tenants that run at the same time.
type planShard struct {
	start   time.Duration // offset from midnight UTC
	tenants []planTenant
}

// schedule spreads tenants over the day so that the tenants running at
// once never need more than the app's shared budget: at most
// floor(app rate / tenant rate) tenants per shard, each shard given the
// time its slowest tenant needs at the per-tenant rate, plus half again
// and five minutes for sign-in and sealing.
func schedule(tenants []planTenant, start time.Duration) (shards []planShard, perShard int, slot time.Duration, err error) {
	tenantRate := float64(collect.ReportsBudget.Requests) / collect.ReportsBudget.Per.Seconds()
	appRate := float64(appBudget.Requests) / appBudget.Per.Seconds()
	perShard = int(math.Floor(appRate / tenantRate))
	maxReq := 0
	for _, t := range tenants {
		maxReq = max(maxReq, t.requests)
	}
	need := time.Duration(float64(maxReq)/tenantRate*1.5*float64(time.Second)) + 5*time.Minute
	step := 5 * time.Minute
	slot = (need + step - 1) / step * step
	for i := 0; i < len(tenants); i += perShard {
		end := min(i+perShard, len(tenants))
		shards = append(shards, planShard{start: start + time.Duration(len(shards))*slot, tenants: tenants[i:end]})
	}
	if total := time.Duration(len(shards)) * slot; total > 24*time.Hour {
		perDay := perShard * int(24*time.Hour/slot)
		return nil, perShard, slot, fmt.Errorf("one app registration cannot keep up: %d tenants need %d shards of %s (%s a day); at %d requests per run one app keeps up with %d tenants a day: split the tenants across %d app registrations",
			len(tenants), len(shards), export.Human(slot), export.Human(total), maxReq, perDay, (len(tenants)+perDay-1)/perDay)
	}
	return shards, perShard, slot, nil
}

var tenantNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

func readTenants(r io.Reader, defaultRequests int) ([]planTenant, error) {
	var out []planTenant
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		if len(f) == 0 {
			continue
		}
		if len(f) > 2 || !tenantNameRE.MatchString(f[0]) {
			return nil, fmt.Errorf("--tenants line %d: want TENANT [REQUESTS_PER_RUN], e.g. contoso.com 300", line)
		}
		t := planTenant{name: f[0], requests: defaultRequests}
		if len(f) == 2 {
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("--tenants line %d: %q is not a positive number of requests", line, f[1])
			}
			t.requests = n
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--tenants: no tenant listed")
	}
	return out, nil
}

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
			tenants, err := readTenants(f, requests)
			if err != nil {
				return usageErr("%v", err)
			}
			hh, mm, ok := strings.Cut(startAt, ":")
			h, err1 := strconv.Atoi(hh)
			m, err2 := strconv.Atoi(mm)
			if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
				return usageErr("--start %q: want HH:MM (UTC)", startAt)
			}
			shards, perShard, slot, err := schedule(tenants, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute)
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
				appBudget, collect.ReportsBudget, perShard*int(24*time.Hour/slot))
			switch format {
			case "cron":
				fmt.Fprintln(w, "CRON_TZ=UTC")
				fmt.Fprintln(w, "# certificate password, if any, in EVIDENCE_CERT_PASSWORD (set it in the crontab's environment, never on the command line)")
				for i, s := range shards {
					at := s.start % (24 * time.Hour)
					for _, t := range s.tenants {
						fmt.Fprintf(w, "%d %d * * * evidence export --state %s/%s --out %s/%s --backfill --auth certificate --tenant %s --client-id %s --cert /etc/evidence/app.pem  # shard %d\n",
							int(at/time.Minute)%60, int(at/time.Hour), stateBase, t.name, outBase, t.name, t.name, clientID, i+1)
					}
				}
			case "cronjob":
				for i, s := range shards {
					at := s.start % (24 * time.Hour)
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
					for _, t := range s.tenants {
						fmt.Fprintf(w, `          - name: %s
            image: %s
            args: ["export", "--state", "%s/%s", "--out", "%s/%s", "--backfill", "--auth", "certificate", "--cert", "/secrets/app.pem", "--tenant", "%s", "--client-id", "%s"]
            securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
            resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
            volumeMounts: [{name: data, mountPath: /data}, {name: app-cert, mountPath: /secrets, readOnly: true}]
`, containerName(t.name), image, stateBase, t.name, outBase, t.name, t.name, clientID)
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

// containerName turns a tenant name into a DNS-1123 label.
func containerName(t string) string {
	s := strings.ToLower(strings.NewReplacer(".", "-", "_", "-").Replace(t))
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}
