package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// exportOptions are export's flags.
type exportOptions struct {
	state    string
	sources  []string
	users    []string
	backfill bool
	since    string
	settle   []string
	overlap  []string
	tier     string
	out      string
	connOptions
	nowSpec string
	deliver pipeline.DeliveryFlags // --bundle, --blob-url, --retain, ...: as grab
	seal    sealOptions            // --sign-key, --tsa: as grab
	ual     ualFlags               // --ual-*: as grab

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
again. Two runs on the same state never run at once: the second exits 2 and
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
			res, err := a.export(cmd.Context(), o)
			if err != nil {
				return err
			}
			a.code = res.code
			if a.asJSON || res.path != "" {
				return a.printResult("export", res.res)
			}
			return nil
		},
	}
	f := cmd.Flags()
	a.jsonFlag(f)
	f.StringVar(&o.state, "state", "", "where the export's state is kept: a directory, or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (credential: "+blob.EnvSAS+" or "+blob.EnvConnectionString+" from the environment, or the Entra ID --auth)")
	f.StringSliceVar(&o.sources, "sources", nil, "sources to export (default: "+strings.Join(export.DefaultSources, ", ")+", those this build has; sign-ins only where licensed)")
	f.StringArrayVar(&o.users, "user", nil, "export only these users, by UPN or object id (repeatable); default the whole tenant")
	f.BoolVar(&o.backfill, "backfill", false, "a source never exported starts from the oldest data the tenant still keeps")
	f.StringVar(&o.since, "since", "", "a source never exported starts here: a duration back from now (7d, 1.5d), an RFC 3339 time or a date (2026-11-01, UTC)")
	f.StringArrayVar(&o.settle, "settle", nil, "override a source's settle time, SOURCE=DURATION (e.g. audits=1h, audits=2w, ual=1.5d): how long before now a window is considered complete")
	f.StringArrayVar(&o.overlap, "overlap", nil, "override a source's overlap re-read, SOURCE=DURATION (e.g. ual=96h)")
	f.StringVar(&o.tier, "tier", "auto", "licence tier for retention: auto (ask Graph), free, premium (P1/P2)")
	f.StringVar(&o.out, "out", ".", "directory the bundles are written to")
	connFlags(f, &o.connOptions)
	bundleFlag(f, &o.deliver)
	blobFlags(f, &o.deliver)
	o.ual.register(f)
	a.sealFlags(f, &o.seal)
	f.StringVar(&o.nowSpec, "now", "", "plan as if it were this RFC 3339 time (tests against the simulator's clock)")
	_ = f.MarkHidden("now")
	_ = cmd.MarkFlagRequired("state")
	cmd.AddCommand(a.exportStatusCmd(), a.exportPlanCmd())
	return cmd
}

// exportResult is what one export run produced.
type exportResult struct {
	path string // the bundle; "" when there was nothing to export
	code int
	res  *pipeline.Result // nil when there was nothing to export
}

// export checks the flags, wires the state, the Graph connection, the seal
// and the outputs into an export.Config, runs one cycle and prints it.
func (a *app) export(ctx context.Context, o *exportOptions) (*exportResult, error) {
	nowf := o.now
	if o.nowSpec != "" {
		t, err := collect.ParseWhen(o.nowSpec, time.Now())
		if err != nil {
			return nil, usageErr("--now: %v", err)
		}
		nowf = func() time.Time { return t }
	}
	if nowf == nil {
		nowf = time.Now
	}
	now := nowf().UTC().Truncate(time.Second)

	names, explicit, err := export.SelectSources(o.sources)
	if err != nil {
		return nil, exportErr(err)
	}
	settle, err := export.ParseDurations("--settle", o.settle)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	overlap, err := export.ParseDurations("--overlap", o.overlap)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	var first time.Time
	if o.since != "" {
		if o.backfill {
			return nil, usageErr("--since and --backfill exclude each other")
		}
		if first, err = collect.ParseWhen(o.since, now); err != nil {
			return nil, usageErr("--since: %v", err)
		}
	}
	if o.tier, err = export.ParseTier(o.tier); err != nil {
		return nil, exportErr(err)
	}
	budgets, err := o.Check()
	if err != nil {
		return nil, err
	}
	deliver, err := o.deliver.Plan(true)
	if err != nil {
		return nil, err
	}
	ualOpts, err := o.ual.options("", "")
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if err := a.loadSigner(&o.seal); err != nil {
		return nil, err
	}
	cred, credID, err := export.StateCredential(o.state, o.credential, o.Auth)
	if err != nil {
		return nil, exportErr(err)
	}
	store, err := export.OpenState(o.state, cred, credID, o.Auth.Method)
	if err != nil {
		return nil, exportErr(err)
	}
	if cred == nil {
		if cred, credID, err = collect.Credential(o.Auth); err != nil {
			return nil, usageErr("%v", err)
		}
	} else if credID == "" {
		credID = "in-process simulator token"
	}
	outputs, err := deliver.Deliverers(cred, credID, o.Auth.Method)
	if err != nil {
		return nil, err
	}

	caseID := uuid.NewString()
	m := a.header(caseID, o.Examiner, now)
	m.Auth = manifest.Auth{Method: o.Auth.Method, Identity: credID}
	prog := newProgress(a.stderr, a.log)
	defer prog.stop()
	ualDir := filepath.Join(o.out, ".evidence-export-ual-"+caseID[:8])
	defer os.RemoveAll(ualDir)
	cfg := export.Config{
		Store: store, Holder: state.Holder{PID: os.Getpid(), Host: pipeline.Hostname(), Since: manifest.FormatTime(now)},
		Sources: names, Explicit: explicit,
		Collectors: func(name string) ([]collect.Source, error) {
			srcs, err := collect.SelectSources([]string{name}, collect.Config{Kinds: collect.SignInKinds})
			for _, src := range srcs {
				if u, ok := src.(*ual.Source); ok {
					opt := ualOpts
					opt.CaseID, opt.StateDir = caseID, filepath.Join(ualDir, "ual")
					u.Opt, u.Log = opt, a.log
				}
			}
			return srcs, err
		},
		Users: o.users, Backfill: o.backfill, First: first, Settle: settle, Overlap: overlap,
		Tier: o.tier, Now: now, PageSize: o.PageSize,
		Pipeline: pipeline.Plan{
			Out: o.out, Manifest: m, Started: now, Now: nowf,
			Graph: &pipeline.Graph{Options: a.clientOptions(o.connOptions, budgets, cred)},
			Seal:  a.sealPlan(&o.seal, names), Outputs: outputs,
			Log: a.log, Stderr: a.stderr, Progress: prog,
		},
		Hook: o.hook,
	}
	res, err := export.Run(ctx, cfg)
	if err != nil {
		return nil, exportErr(err)
	}
	if res.Adopted != nil {
		fmt.Fprintf(a.stderr, "  export: adopted bundle %d, %s, which an interrupted run published but did not record\n", res.Adopted.Seq, res.Adopted.Location)
	}
	if res.NothingNew {
		fmt.Fprintf(a.stderr, "evidence: nothing new to export yet (every source's window is shorter than its settle time); state unchanged\n")
		return &exportResult{code: ExitOK}, nil
	}
	gr := a.grabResult(res.Bundle)
	a.summary(gr)
	for _, l := range res.Lost {
		scope := ""
		if l.Gap.Scope != state.ScopeTenant {
			scope = " (user " + l.Gap.Scope + ")"
		}
		fmt.Fprintf(a.stderr, "evidence: LOST %s%s [%s, %s), %s: %s\n", l.Source, scope, l.Gap.Start, l.Gap.End, export.Human(export.Span(l.Gap.Window)), l.Gap.Reason)
	}
	fmt.Fprintf(a.stderr, "  export: bundle %d of state %s, index head %s\n", res.Entry.Seq, store, res.Entry.Hash()[:16])
	code := gr.code
	if len(res.Lost) > 0 {
		code = ExitIncomplete
	}
	if ch := res.Bundle.Manifest.Export.Changes; ch != nil {
		if ch.NotCompared != "" {
			fmt.Fprintf(a.stderr, "  export: changes since the previous bundle: not compared (%s)\n", ch.NotCompared)
		} else {
			fmt.Fprintf(a.stderr, "  export: changes since the previous bundle (%s): %d appeared, %d disappeared, %d changed\n", ch.File, ch.Appeared, ch.Disappeared, ch.Changed)
		}
	}
	for _, c := range res.Alerts {
		fmt.Fprintf(a.stderr, "evidence: ALERT %s %s %q (%s): matches finding %s\n", c.Kind, c.File, c.Name, c.ID, strings.Join(c.Findings, ", "))
	}
	if len(res.Alerts) > 0 {
		code = ExitAlert // outranks incomplete: a scheduler must raise it; the manifest still says what is missing
	}
	return &exportResult{path: gr.path, code: code, res: res.Bundle}, nil
}

// exportErr gives export's errors their exit codes.
func exportErr(err error) error {
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
