package main

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/collect/workspace"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// connOptions are the flags grab and export share (pipeline.Conn).
type connOptions = pipeline.Conn

// connFlags registers the shared flags.
func connFlags(f *pflag.FlagSet, o *connOptions) {
	f.StringVar(&o.Examiner, "examiner", "", "who collects, for the manifest; default the OS user")
	f.IntVar(&o.PageSize, "page-size", 0, "records per page ($top); default each API's documented maximum")
	f.StringArrayVar(&o.Budgets, "budget", nil, "override a throttling budget, CLASS=REQUESTS/DURATION (classes: reports, directory, messagetrace, auditquery, auditread, security), e.g. reports=5/10s")
	f.IntVar(&o.Attempts, "max-attempts", collect.DefaultRetry.MaxAttempts, "attempts per request before a window is marked failed")
	f.DurationVar(&o.RetryBase, "retry-base", collect.DefaultRetry.BaseDelay, "first backoff step between retries")
	_ = f.MarkHidden("retry-base")
	f.StringVar(&o.Auth.Method, "auth", "", "sign-in method: "+strings.Join(collect.AuthMethods, ", "))
	f.StringVar(&o.Auth.Tenant, "tenant", "", "tenant id or domain (device, secret, certificate, azcli)")
	f.StringVar(&o.Auth.ClientID, "client-id", "", "app registration client id (or a user-assigned managed identity's client id)")
	f.StringVar(&o.Auth.CertPath, "cert", "", "certificate file (PEM or PFX) for --auth certificate; password from "+collect.EnvCertPassword)
	f.StringVar(&o.Auth.GraphURL, "graph-url", collect.DefaultGraphURL, "Graph endpoint (national clouds, or the simulator)")
}

// grabOptions are grab's flags: the Grab they fill, and the sources'
// option values (pipeline.Grab.Options).
type grabOptions struct {
	pipeline.Grab
	resume string
	ual    ualFlags
	ws     workspace.Flags
	da     diagarchive.Flags
	mt     collect.MessageTraceFlags
	snap   snapshot.Flags
}

func (a *app) grabFlags(cmd *cobra.Command, o *grabOptions) {
	f, s := cmd.Flags(), &o.Scope
	f.StringArrayVar(&s.Users, "user", nil, "user to collect for, by UPN or object id (repeatable)")
	f.BoolVar(&s.AllUsers, "all-users", false, "collect tenant-wide instead of per user")
	f.StringVar(&s.Since, "since", "30d", "start of the window: a duration back from now (30d, 2w, 36h, 1.5d), an RFC 3339 time or a date (2026-11-01, UTC)")
	f.StringVar(&s.Until, "until", "", "end of the window (exclusive), same forms as --since; default now")
	f.StringSliceVar(&s.Sources, "sources", nil, "sources to collect: "+strings.Join(collect.SourceNames(), ", ")+" (default: "+collect.DefaultSourcesHelp()+"; see docs/sources.md)")
	s.Given = f.Changed
	f.BoolVar(&o.mt.Details, "trace-details", false, "messagetrace: also fetch per-recipient delivery details (getDetailsByRecipient) for mail sent outside the tenant's verified domains, at most one throttling-budget window of calls")
	f.StringArrayVar(&o.Attach, "attach", nil, "file to copy into the bundle's attachments/ with its SHA-256, name, size and mtime (repeatable)")
	f.StringVar(&o.MessageID, "message-id", "", "internet message id of a message to fetch from the users' mailboxes as .eml (needs Mail.Read)")
	f.BoolVar(&o.snap.TenantObjects, "tenant-objects", false, "with --sources snapshot: also guests, app registrations, service principals and consents tenant-wide")
	f.StringSliceVar(&s.Kinds, "signin-kinds", collect.SignInKindNames(), "sign-in kinds (Entra admin center tabs) to collect: "+strings.Join(collect.SignInKindNames(), ", ")+", or all")
	f.StringVar(&s.Split, "split", "7d", "initial sub-window length (7d, 2w, 36h, 1.5d, ...; 0: one window); sub-windows are the unit of accounting in the manifest")
	f.IntVar(&s.MaxPages, "max-pages", collect.DefaultSplitting.MaxPages, "pages per sub-window before it is split further (0: no limit)")
	f.StringVar(&o.Out, "out", ".", "directory the bundle is written to")
	bundleFlag(f, &o.Deliver)
	blobFlags(f, &o.Deliver)
	f.StringVar(&o.CaseID, "case", "", "case id (a UUID); default a new random UUID")
	connFlags(f, &o.Conn)
	a.sealFlags(f, &o.Seal)
	f.StringVar(&o.Lang, "lang", "", langFlagHelp)
	f.StringVar(&o.resume, "resume", "", "resume the interrupted grab whose output directory (or .evidence-*.resume directory) is DIR")
	o.ual.register(f)
	workspaceFlags(f, &o.ws)
	diagArchiveFlags(f, &o.da)
}

// workspaceFlags registers the Log Analytics workspace source's flags.
func workspaceFlags(f *pflag.FlagSet, w *workspace.Flags) {
	f.StringVar(&w.WorkspaceID, "workspace", "", "Log Analytics workspace id (a GUID) for --sources workspace")
	f.StringVar(&w.Endpoint, "workspace-url", workspace.DefaultEndpoint, "Logs query API endpoint (national clouds, or the simulator)")
	f.StringVar(&w.CA, "workspace-ca", "", "PEM file of an extra CA to trust for --workspace-url")
	_ = f.MarkHidden("workspace-ca")
	f.StringSliceVar(&w.Tables, "workspace-tables", nil, "workspace tables to read (default all): "+strings.Join(workspace.TableNames(), ", "))
}

func (a *app) grabCmd() *cobra.Command {
	o := &grabOptions{}
	cmd := &cobra.Command{
		Use:   "grab",
		Short: "Collect, seal, bundle and verify the evidence for one or more users",
		Long: `grab collects the selected sources for the given users over a half-open UTC
window [--since, --until), writes each record as Graph sent it (JSON Lines)
plus a CSV view, logs every request in requests.jsonl, seals everything in
manifest.json and SHA256SUMS, bundles it and verifies the bundle.

The path of the sealed bundle is the last line on stdout. Secrets are read
only from the environment: ` + collect.EnvGraphToken + ` (--auth token),
` + collect.EnvClientSecret + ` (--auth secret), ` + collect.EnvCertPassword + `.`,
		Example: `  evidence grab --user alice@contoso.com --since 30d --auth device --tenant contoso.com --client-id APP_ID
  evidence grab --user alice@contoso.com --user bob@contoso.com --since 2026-11-01T00:00:00Z --until 2026-11-08T00:00:00Z --auth azcli
  EVIDENCE_GRAPH_TOKEN=... evidence grab --user victim@contoso.com --graph-url http://127.0.0.1:8080 --auth token --bundle dir`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := a.grab(cmd.Context(), o)
			if err != nil {
				return err
			}
			a.code = res.code
			return a.printResult("grab", res.Result)
		},
	}
	a.grabFlags(cmd, o)
	a.jsonFlag(cmd.Flags())
	return cmd
}

// grabResult is what a grab produced, for printing.
type grabResult struct {
	*pipeline.Result
	path string
	code int
}

// grab runs one grab (or demo, or resume) and prints its summary.
func (a *app) grab(ctx context.Context, o *grabOptions) (*grabResult, error) {
	if o.resume != "" { // the interrupted run's command line, case and start; credentials and test hooks from o
		dir, ri, started, err := pipeline.LoadResume(o.resume)
		if err != nil {
			return nil, err
		}
		n, cmd := &grabOptions{}, &cobra.Command{Use: "grab"}
		a.grabFlags(cmd, n)
		if err := cmd.Flags().Parse(ri.Args); err != nil {
			return nil, usageErr("--resume: the saved command line no longer parses: %v", err)
		}
		n.CaseID, n.Out, n.Started, n.ResumeDir = ri.CaseID, filepath.Dir(dir), started, dir
		n.Credential, n.Now = o.Credential, o.Now
		a.log.Info("resuming an interrupted grab", "state", dir, "case", ri.CaseID, "started", ri.Started)
		o = n
	}
	g := o.Grab
	g.Options = map[string]any{ual.Name: o.ual.Flags, workspace.Name: o.ws, diagarchive.Name: o.da, "messagetrace": o.mt, snapshot.Name: o.snap}
	g.Args, g.Tool, g.Log, g.Stderr = a.args, tool(), a.log, a.stderr
	prog := a.newProgress()
	defer prog.stop()
	g.Progress = prog
	g.Hook = func(step string) {
		if step == pipeline.StepCollected {
			prog.stop()
		}
	}
	res, err := pipeline.RunGrab(ctx, g)
	if err != nil {
		return nil, err
	}
	r := a.grabResult(res)
	a.summary(r)
	return r, nil
}

// grabResult is the exit code and path of a run's result.
func (a *app) grabResult(p *pipeline.Result) *grabResult {
	r := &grabResult{Result: p, path: p.Path, code: ExitOK}
	if p.Incomplete() {
		r.code = ExitIncomplete
	}
	return r
}

func (a *app) summary(r *grabResult) { pipeline.WriteSummary(a.stderr, r.Result) }

// header is the manifest header every bundle starts with.
func (a *app) header(caseID, examiner string, started time.Time) *manifest.Manifest {
	return pipeline.Header(caseID, examiner, started, a.args, tool())
}

func (a *app) clientOptions(o connOptions, budgets map[string]collect.Budget, cred collect.TokenSource) collect.Options {
	return o.ClientOptions(budgets, cred, a.log, tool().Version)
}

// tool is this build, for the manifest.
func tool() manifest.Tool {
	ver, commit, gover := buildInfo()
	return manifest.Tool{Name: "evidence", Version: ver, Commit: commit, GoVersion: gover}
}
