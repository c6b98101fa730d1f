package export

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

	"github.com/evidence-dfir/evidence/collect"
)

// AppBudget is Graph's identity and access reports budget shared by one
// app registration across all its tenants (docs/sources.md, throttling
// limits): 122 requests per 10 seconds. Each tenant is also limited to
// collect.ReportsBudget (5 per 10 s).
var AppBudget = collect.Budget{Requests: 122, Per: 10 * time.Second}

// Tenant is one line of the --tenants file.
type Tenant struct {
	Name     string
	Requests int // estimated reports requests per daily run
}

// Shard is a group of tenants that run at the same time.
type Shard struct {
	Start   time.Duration // offset from midnight UTC
	Tenants []Tenant
}

// Schedule spreads tenants over the day so that the tenants running at
// once never need more than the app's shared budget: at most
// floor(app rate / tenant rate) tenants per shard, each shard given the
// time its slowest tenant needs at the per-tenant rate, plus half again
// and five minutes for sign-in and sealing.
func Schedule(tenants []Tenant, start time.Duration) (shards []Shard, perShard int, slot time.Duration, err error) {
	tenantRate := float64(collect.ReportsBudget.Requests) / collect.ReportsBudget.Per.Seconds()
	appRate := float64(AppBudget.Requests) / AppBudget.Per.Seconds()
	perShard = int(math.Floor(appRate / tenantRate))
	maxReq := 0
	for _, t := range tenants {
		maxReq = max(maxReq, t.Requests)
	}
	need := time.Duration(float64(maxReq)/tenantRate*1.5*float64(time.Second)) + 5*time.Minute
	step := 5 * time.Minute
	slot = (need + step - 1) / step * step
	for i := 0; i < len(tenants); i += perShard {
		end := min(i+perShard, len(tenants))
		shards = append(shards, Shard{Start: start + time.Duration(len(shards))*slot, Tenants: tenants[i:end]})
	}
	if total := time.Duration(len(shards)) * slot; total > 24*time.Hour {
		perDay := perShard * int(24*time.Hour/slot)
		return nil, perShard, slot, fmt.Errorf("one app registration cannot keep up: %d tenants need %d shards of %s (%s a day); at %d requests per run one app keeps up with %d tenants a day: split the tenants across %d app registrations",
			len(tenants), len(shards), Human(slot), Human(total), maxReq, perDay, (len(tenants)+perDay-1)/perDay)
	}
	return shards, perShard, slot, nil
}

var tenantNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

// ReadTenants reads the --tenants file: TENANT [REQUESTS_PER_RUN] a line,
// "#" comments.
func ReadTenants(r io.Reader, defaultRequests int) ([]Tenant, error) {
	var out []Tenant
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
		t := Tenant{Name: f[0], Requests: defaultRequests}
		if len(f) == 2 {
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("--tenants line %d: %q is not a positive number of requests", line, f[1])
			}
			t.Requests = n
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

// ContainerName turns a tenant name into a DNS-1123 label.
func ContainerName(t string) string {
	s := strings.ToLower(strings.NewReplacer(".", "-", "_", "-").Replace(t))
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}

// ParseClock reads a time of day, HH:MM (UTC), as the duration since
// midnight.
func ParseClock(s string) (time.Duration, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("%q: want HH:MM (UTC)", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// PlanTargets say where the planned exports keep their state and bundles
// (BASE/TENANT) and, for Kubernetes, which image and namespace they run in.
type PlanTargets struct {
	StateBase, OutBase string
	ClientID           string // the multi-tenant app registration's client id
	Image, Namespace   string // cronjob
}

// WritePlan prints a schedule as crontab lines (format "cron") or one
// Kubernetes CronJob per shard ("cronjob"), headed by what it fits in the
// shared budget.
func WritePlan(w io.Writer, format string, tenants []Tenant, shards []Shard, perShard int, slot time.Duration, startAt string, t PlanTargets) error {
	if format != "cron" && format != "cronjob" {
		return fmt.Errorf("--format %q: use cron or cronjob", format)
	}
	fmt.Fprintf(w, "# evidence export plan: %d tenants, %d shards of at most %d tenants, one every %s from %s UTC\n", len(tenants), len(shards), perShard, Human(slot), startAt)
	fmt.Fprintf(w, "# budget: %s per app across tenants, %s per tenant; this slot length fits %d tenants a day per app registration\n",
		AppBudget, collect.ReportsBudget, perShard*int(24*time.Hour/slot))
	if format == "cron" {
		fmt.Fprintln(w, "CRON_TZ=UTC")
		fmt.Fprintln(w, "# certificate password, if any, in EVIDENCE_CERT_PASSWORD (set it in the crontab's environment, never on the command line)")
		for i, s := range shards {
			at := s.Start % (24 * time.Hour)
			for _, tn := range s.Tenants {
				fmt.Fprintf(w, "%d %d * * * evidence export --state %s/%s --out %s/%s --backfill --auth certificate --tenant %s --client-id %s --cert /etc/evidence/app.pem  # shard %d\n",
					int(at/time.Minute)%60, int(at/time.Hour), t.StateBase, tn.Name, t.OutBase, tn.Name, tn.Name, t.ClientID, i+1)
			}
		}
		return nil
	}
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
`, i+1, t.Namespace, int(at/time.Minute)%60, int(at/time.Hour), int(slot/time.Second))
		for _, tn := range s.Tenants {
			fmt.Fprintf(w, `          - name: %s
            image: %s
            args: ["export", "--state", "%s/%s", "--out", "%s/%s", "--backfill", "--auth", "certificate", "--cert", "/secrets/app.pem", "--tenant", "%s", "--client-id", "%s"]
            securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
            resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
            volumeMounts: [{name: data, mountPath: /data}, {name: app-cert, mountPath: /secrets, readOnly: true}]
`, ContainerName(tn.Name), t.Image, t.StateBase, tn.Name, t.OutBase, tn.Name, tn.Name, t.ClientID)
		}
		fmt.Fprintln(w, "          volumes: [{name: data, persistentVolumeClaim: {claimName: evidence-data}}, {name: app-cert, secret: {secretName: evidence-app-cert}}]")
	}
	return nil
}

// PlanOptions are export plan's options.
type PlanOptions struct {
	Tenants  string // --tenants: the file listing them
	Format   string // cron or cronjob
	Requests int    // estimated requests per tenant and run where the file gives none
	Start    string // HH:MM UTC of the first shard
	PlanTargets
}

// Plan reads the tenants file, spreads the tenants over the day and
// writes the schedule to w (WritePlan). Its errors are *UsageError.
func (o PlanOptions) Plan(w io.Writer) error {
	f, err := os.Open(o.Tenants)
	if err != nil {
		return &UsageError{fmt.Errorf("--tenants: %w", err)}
	}
	defer f.Close()
	tenants, err := ReadTenants(f, o.Requests)
	if err != nil {
		return &UsageError{err}
	}
	start, err := ParseClock(o.Start)
	if err != nil {
		return &UsageError{fmt.Errorf("--start %w", err)}
	}
	shards, perShard, slot, err := Schedule(tenants, start)
	if err != nil {
		return &UsageError{err}
	}
	if err := WritePlan(w, o.Format, tenants, shards, perShard, slot, o.Start, o.PlanTargets); err != nil {
		return &UsageError{err}
	}
	return nil
}
