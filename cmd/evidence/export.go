package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/collect/workspace"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exportOptions are export's flags.
type exportOptions struct {
	export.Options
	out string
	connOptions
	deliver pipeline.DeliveryFlags // --bundle, --blob-url, --retain, ...: as grab
	seal    sealOptions            // --sign-key, --tsa: as grab
	ual     ualFlags               // --ual-*: as grab
	ws      workspace.Flags        // --workspace*: as grab
	da      diagarchive.Flags      // --diag-archive*: as grab

	// set programmatically (tests)
	credential collect.TokenSource
	now        func() time.Time
	hook       func(step string) // after each named step (crash-point tests)
}

func (a *app) exportCmd() *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Scheduled export: keep the whole tenant's logs before they expire (incremental, gap-aware)",
		Long: `export collects the configured sources for the whole tenant (or --user list)
from where the previous run stopped (each source's watermark, minus an
overlap re-read for late records) up to now minus a settle time, drops the
records an earlier bundle already holds, and seals one bundle per run,
named by the UTC interval it covers. Its state (--state) keeps per source
and scope the watermark, the ids at the overlap edge and a hash-chained
index of the sealed bundles. Each run is one cycle of named steps: plan,
collect, seal (the cycle is recorded as pending in the state), publish
(--bundle tar, dir or blob, read back and verified where it is kept) and
commit; the watermark advances only at commit. A run that finds a pending
cycle adopts its bundle when it is published with the same content hash,
and otherwise removes the unpublished leftovers and exports the interval
again. A bundle in --out that the index does not hold is adopted when this
export sealed it as the next link of its chain, else moved into
--out/quarantine. Two runs on the same state never run at once: the second exits 2 and
changes nothing.

When a watermark is older than what the tenant still keeps (Entra ID Free:
7 days; P1/P2: 30; message trace: 90; unified audit log: 180), the lost
interval is recorded in the manifest and the state, printed, and the exit
code is 3. The first run starts from the oldest data the tenant still keeps
(--backfill) or from --since. See docs/schedule.md for recipes (cron,
systemd, containers, Kubernetes, Azure Container Apps).`,
		Example: `  evidence export --state /var/lib/evidence/contoso --out /srv/evidence/contoso --backfill \
      --auth certificate --tenant contoso.com --client-id APP_ID --cert /etc/evidence/app.pem
  evidence export status --state /var/lib/evidence/contoso
  evidence export plan --tenants tenants.txt --format cronjob`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Given = cmd.Flags().Changed
			return a.export(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	a.jsonFlag(f)
	f.StringVar(&o.State, "state", "", "where the export's state is kept: a directory, or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (credential: "+blob.EnvSAS+" or "+blob.EnvConnectionString+" from the environment, or the Entra ID --auth)")
	f.StringSliceVar(&o.Sources, "sources", nil, "sources to export (default: "+strings.Join(export.DefaultSources, ", ")+", those this build has; sign-ins only where licensed)")
	f.StringArrayVar(&o.Users, "user", nil, "export only these users, by UPN or object id (repeatable); default the whole tenant")
	f.BoolVar(&o.Backfill, "backfill", false, "a source never exported starts from the oldest data the tenant still keeps")
	f.StringVar(&o.Since, "since", "", "a source never exported starts here: a duration back from now (7d, 1.5d), an RFC 3339 time or a date (2026-11-01, UTC)")
	f.StringArrayVar(&o.Settle, "settle", nil, "override a source's settle time, SOURCE=DURATION (e.g. audits=1h, audits=2w, ual=1.5d): how long before now a window is considered complete")
	f.StringArrayVar(&o.Overlap, "overlap", nil, "override a source's overlap re-read, SOURCE=DURATION (e.g. ual=96h)")
	f.StringVar(&o.Tier, "tier", "auto", "licence tier for retention: auto (ask Graph), free, premium (P1/P2)")
	f.StringVar(&o.out, "out", ".", "directory the bundles are written to")
	connFlags(f, &o.connOptions)
	bundleFlag(f, &o.deliver)
	blobFlags(f, &o.deliver)
	o.ual.register(f)
	workspaceFlags(f, &o.ws)
	diagArchiveFlags(f, &o.da)
	a.sealFlags(f, &o.seal)
	f.StringVar(&o.Options.Now, "now", "", "plan as if it were this RFC 3339 time (tests against the simulator's clock)")
	_ = f.MarkHidden("now")
	_ = cmd.MarkFlagRequired("state")
	cmd.AddCommand(a.exportStatusCmd(), a.exportPlanCmd())
	return cmd
}

// export checks the flags, wires the state, the Graph connection, the seal
// and the outputs into an export.Config, runs one cycle and prints it.
func (a *app) export(ctx context.Context, o *exportOptions) error {
	cfg, clock, err := o.Options.Check(o.now)
	if err != nil {
		return exportErr(err)
	}
	budgets, err := o.connOptions.Check()
	if err != nil {
		return err
	}
	deliver, err := o.deliver.Plan(true)
	if err != nil {
		return err
	}
	if err := a.loadSigner(&o.seal); err != nil {
		return err
	}
	store, cred, credID, err := export.Connect(o.State, o.credential, o.Auth)
	if err != nil {
		return exportErr(err)
	}
	outputs, err := deliver.Deliverers(cred, credID, o.Auth.Method)
	if err != nil {
		return err
	}
	caseID := uuid.NewString()
	m := a.header(caseID, o.Examiner, cfg.Now)
	m.Auth = manifest.Auth{Method: o.Auth.Method, Identity: credID}
	prog := a.newProgress()
	defer prog.stop()
	cfg.Store, cfg.PageSize, cfg.Hook = store, o.PageSize, o.hook
	cfg.Pipeline = pipeline.Plan{Out: o.out, Manifest: m, Started: cfg.Now, Now: clock,
		Graph: &pipeline.Graph{Options: a.clientOptions(o.connOptions, budgets, cred)},
		Seal:  a.sealPlan(&o.seal, cfg.Sources), Outputs: outputs, Log: a.log, Stderr: a.stderr, Progress: prog}
	cleanup, err := cfg.BuildCollectors(collect.Setup{Credential: cred, AuthMethod: o.Auth.Method, CaseID: caseID, Log: a.log,
		Options: map[string]any{ual.Name: o.ual.Flags, workspace.Name: o.ws, diagarchive.Name: o.da}}, o.out)
	defer cleanup()
	if err != nil {
		return exportErr(err)
	}
	res, err := export.Run(ctx, cfg)
	if err != nil {
		return exportErr(err)
	}
	res.WriteSettled(a.stderr)
	if res.NothingNew {
		if a.asJSON { // a report without a bundle
			return a.printResult("export", nil)
		}
		return nil
	}
	gr := a.grabResult(res.Bundle)
	a.summary(gr)
	res.WriteCycle(a.stderr, store)
	a.code = gr.code
	if len(res.Lost) > 0 {
		a.code = ExitIncomplete
	}
	if len(res.Alerts) > 0 {
		a.code = ExitAlert // outranks incomplete: a scheduler must raise it; the manifest still says what is missing
	}
	return a.printResult("export", res.Bundle)
}

// diagArchiveFlags registers the diagnostic-settings archive source's
// flags (grab's and export's).
func diagArchiveFlags(f *pflag.FlagSet, d *diagarchive.Flags) {
	f.StringVar(&d.URL, "diag-archive", "", "storage account the tenant's Entra diagnostic settings archive to, https://ACCOUNT.blob.core.windows.net, for --sources diagarchive (credential: "+diagarchive.EnvSAS+" from the environment, or the Entra ID --auth)")
	f.StringSliceVar(&d.Containers, "diag-archive-containers", nil, "containers to read (default all): "+strings.Join(diagarchive.ContainerNames(), ", "))
}

// exportErr gives export's errors their exit codes.
func exportErr(err error) error {
	if err == nil {
		return nil
	}
	var ue *export.UsageError
	var ce *export.ChainError
	switch {
	case errors.As(err, &ue):
		return &exitError{code: ExitUsage, err: err}
	case errors.As(err, &ce):
		return &exitError{code: ExitVerify, err: err}
	}
	var pe *pipeline.Error
	var ee *exitError
	if errors.As(err, &pe) || errors.As(err, &ee) {
		return err
	}
	return failErr(err)
}
