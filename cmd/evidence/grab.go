package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// knownSources lists the --sources names for help and error messages.
func knownSources() string { return strings.Join(collect.SourceNames(), ", ") }

// defaultSourcesHelp says what grab collects without --sources.
func defaultSourcesHelp() string {
	h := strings.Join(collect.DefaultSourceNames(nil), ",")
	for _, d := range collect.Sources() {
		if d.Default == collect.WhenFlag {
			h += ", and " + d.Name + " with --" + d.Flags[0]
		}
	}
	return h
}

// connOptions are the flags grab and export share: how to sign in to Graph,
// how hard to try, and who collects.
type connOptions struct {
	examiner string
	pageSize int
	budgets  []string
	attempts int
	retryMin time.Duration
	auth     collect.AuthOptions
}

// check checks the shared flags and returns the --budget overrides.
func (o connOptions) check() (map[string]collect.Budget, error) {
	if o.pageSize < 0 {
		return nil, usageErr("--page-size must be positive")
	}
	if o.attempts < 1 {
		return nil, usageErr("--max-attempts must be at least 1")
	}
	return pipeline.ParseBudgets(o.budgets)
}

// connFlags registers the shared flags.
func connFlags(f *pflag.FlagSet, o *connOptions) {
	f.StringVar(&o.examiner, "examiner", "", "who collects, for the manifest; default the OS user")
	f.IntVar(&o.pageSize, "page-size", 0, "records per page ($top); default each API's documented maximum")
	f.StringArrayVar(&o.budgets, "budget", nil, "override a throttling budget, CLASS=REQUESTS/DURATION (classes: reports, directory, messagetrace, auditquery, auditread, security), e.g. reports=5/10s")
	f.IntVar(&o.attempts, "max-attempts", collect.DefaultRetry.MaxAttempts, "attempts per request before a window is marked failed")
	f.DurationVar(&o.retryMin, "retry-base", collect.DefaultRetry.BaseDelay, "first backoff step between retries")
	_ = f.MarkHidden("retry-base")
	f.StringVar(&o.auth.Method, "auth", "", "sign-in method: "+strings.Join(collect.AuthMethods, ", "))
	f.StringVar(&o.auth.Tenant, "tenant", "", "tenant id or domain (device, secret, certificate, azcli)")
	f.StringVar(&o.auth.ClientID, "client-id", "", "app registration client id (or a user-assigned managed identity's client id)")
	f.StringVar(&o.auth.CertPath, "cert", "", "certificate file (PEM or PFX) for --auth certificate; password from "+collect.EnvCertPassword)
	f.StringVar(&o.auth.GraphURL, "graph-url", collect.DefaultGraphURL, "Graph endpoint (national clouds, or the simulator)")
}

// grabOptions are grab's flags.
type grabOptions struct {
	users    []string
	allUsers bool
	since    string
	until    string
	sources  []string
	out      string
	deliver  pipeline.DeliveryFlags
	caseID   string
	connOptions
	seal     sealOptions
	ual      ualFlags         // the unified audit log source (ual.go)
	ws       workspaceFlags   // the Log Analytics workspace source (workspace.go)
	da       diagArchiveFlags // the diagnostic-settings storage archive (diagarchive.go)
	resume   string           // --resume DIR
	kinds    []string         // --signin-kinds
	split    string           // --split
	maxPages int              // --max-pages

	// set by --resume (resume.go)
	resumeDir string
	started   time.Time

	lang string // report.html's language

	traceDetails bool // --trace-details (messagetrace)

	attach        []string // files to copy into attachments/
	messageID     string   // internet message id to fetch as .eml
	tenantObjects bool     // snapshot: tenant-wide objects too

	// given reports whether a flag was set on the command line: the
	// default sources depend on it (the workspace source on --workspace).
	given func(flag string) bool

	// set programmatically (demo, export, tests)
	credential collect.TokenSource
	now        func() time.Time

	credentialID string // describes credential when set (export passes the one it made)
}

func (a *app) grabFlags(cmd *cobra.Command, o *grabOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.users, "user", nil, "user to collect for, by UPN or object id (repeatable)")
	f.BoolVar(&o.allUsers, "all-users", false, "collect tenant-wide instead of per user")
	f.StringVar(&o.since, "since", "30d", "start of the window: a duration back from now (30d, 2w, 36h, 1.5d), an RFC 3339 time or a date (2026-11-01, UTC)")
	f.StringVar(&o.until, "until", "", "end of the window (exclusive), same forms as --since; default now")
	f.StringSliceVar(&o.sources, "sources", nil, "sources to collect: "+knownSources()+" (default: "+defaultSourcesHelp()+"; see docs/sources.md)")
	o.given = f.Changed
	messageTraceFlags(cmd, o)
	f.StringArrayVar(&o.attach, "attach", nil, "file to copy into the bundle's attachments/ with its SHA-256, name, size and mtime (repeatable)")
	f.StringVar(&o.messageID, "message-id", "", "internet message id of a message to fetch from the users' mailboxes as .eml (needs Mail.Read)")
	f.BoolVar(&o.tenantObjects, "tenant-objects", false, "with --sources snapshot: also guests, app registrations, service principals and consents tenant-wide")
	f.StringSliceVar(&o.kinds, "signin-kinds", collect.SignInKindNames(), "sign-in kinds (Entra admin center tabs) to collect: "+strings.Join(collect.SignInKindNames(), ", ")+", or all")
	f.StringVar(&o.split, "split", "7d", "initial sub-window length (7d, 2w, 36h, 1.5d, ...; 0: one window); sub-windows are the unit of accounting in the manifest")
	f.IntVar(&o.maxPages, "max-pages", collect.DefaultSplitting.MaxPages, "pages per sub-window before it is split further (0: no limit)")
	f.StringVar(&o.out, "out", ".", "directory the bundle is written to")
	bundleFlag(f, &o.deliver)
	blobFlags(f, &o.deliver)
	f.StringVar(&o.caseID, "case", "", "case id (a UUID); default a new random UUID")
	connFlags(f, &o.connOptions)
	a.sealFlags(f, &o.seal)

	f.StringVar(&o.lang, "lang", "", langFlagHelp)
	f.StringVar(&o.resume, "resume", "", "resume the interrupted grab whose output directory (or .evidence-*.resume directory) is DIR")
	o.ual.register(f)
	o.ws.register(f)
	o.da.register(f)
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
			fmt.Fprintln(a.stdout, res.path)
			return nil
		},
	}
	a.grabFlags(cmd, o)
	return cmd
}

// grabResult is what a grab produced.
type grabResult struct {
	path     string // the bundle (archive or directory)
	dir      string // the sealed directory when kept
	sha256   string // of the archive, when one was written
	manifest *manifest.Manifest
	verified *manifest.Result
	receipt  *blob.Receipt // the upload's, with --bundle blob
	name     string
	code     int
}

// validated is grab's input after checking.
type validated struct {
	window  collect.Window
	sources []collect.Source
	attach  []pipeline.Attachment
	message *snapshot.Message
	split   collect.Splitting
	caseID  string
	budgets map[string]collect.Budget
	deliver *pipeline.DeliveryPlan
}

func (o *grabOptions) validate(now time.Time) (*validated, error) {
	sc, err := pipeline.Scope{Users: o.users, AllUsers: o.allUsers, Since: o.since, Until: o.until, Sources: o.sources, Given: o.given,
		Kinds: o.kinds, Split: o.split, MaxPages: o.maxPages}.Check(now)
	if err != nil {
		return nil, err
	}
	v := &validated{window: sc.Window, sources: sc.Sources, split: sc.Split}
	o.configureMessageTrace(v)
	if err := o.validateSnapshot(v); err != nil {
		return nil, err
	}
	if v.deliver, err = o.deliver.Plan(true); err != nil {
		return nil, err
	}
	if v.caseID, err = pipeline.CaseID(o.caseID); err != nil {
		return nil, err
	}
	if v.budgets, err = o.connOptions.check(); err != nil {
		return nil, err
	}
	if o.lang, err = reportLang(o.lang); err != nil {
		return nil, err
	}
	return v, nil
}

// grab builds the Plan of one grab (or demo, or resume) and runs it.
func (a *app) grab(ctx context.Context, o *grabOptions) (*grabResult, error) {
	nowf := o.now
	if nowf == nil {
		nowf = time.Now
	}
	if o.resume != "" {
		ro, err := a.resumeOptions(o)
		if err != nil {
			return nil, err
		}
		o = ro
	}
	started := nowf().UTC().Truncate(time.Second)
	if !o.started.IsZero() {
		started = o.started
	}
	v, err := o.validate(started)
	if err != nil {
		return nil, err
	}
	if err := a.loadSigner(&o.seal); err != nil {
		return nil, err
	}
	cred, identity := o.credential, o.credentialID
	if cred == nil {
		c, id, err := collect.Credential(o.auth)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		cred, identity = c, id
	} else if identity == "" {
		identity = "in-process simulator token"
	}
	if err := o.ws.configure(v, cred, a.log); err != nil {
		return nil, err
	}
	if err := o.da.configure(v, cred, o.auth.Method, a.log); err != nil {
		return nil, err
	}
	outputs, err := v.deliver.Deliverers(cred, identity, o.auth.Method)
	if err != nil {
		return nil, err
	}

	name := bundle.Name(started, v.caseID)
	stateDir, err := a.prepareState(o, v, name, started)
	if err != nil {
		return nil, err
	}
	m := a.header(v.caseID, o.examiner, started)
	m.Auth = manifest.Auth{Method: o.auth.Method, Identity: identity}
	m.Requested = manifest.NewWindow(v.window.Start, v.window.End)
	a.log.Info("collecting", "case", v.caseID, "window", v.window.String(), "users", len(o.users))
	prog := a.newProgress()
	defer prog.stop()
	plan := pipeline.Plan{
		Out: o.out, Name: name, Manifest: m, Started: started, Now: nowf,
		Graph: &pipeline.Graph{
			Options: a.clientOptions(o.connOptions, v.budgets, cred),
			Users:   o.users, AllUsers: o.allUsers, Window: v.window, Sources: v.sources,
			PageSize: o.pageSize, Split: &v.split,
		},
		Collectors: []pipeline.Collector{attachments(v)},
		Seal:       a.sealPlan(&o.seal, o.sources), Lang: o.lang, Outputs: outputs,
		Log: a.log, Stderr: a.stderr, Progress: prog,
		Hook: func(step string) {
			if step == pipeline.StepCollected {
				prog.stop()
			}
			if step == pipeline.StepCommitted && stateDir != "" {
				os.RemoveAll(stateDir) // sealed: nothing left to resume
			}
		},
	}
	pres, err := pipeline.Run(ctx, plan)
	if err != nil {
		if stateDir != "" && !pipeline.ResumeStarted(stateDir) {
			os.RemoveAll(stateDir) // failed before any query: nothing to resume
		} else if stateDir != "" {
			if _, serr := os.Stat(stateDir); serr == nil {
				a.log.Warn("the collection did not finish; its audit log queries are kept: resume with `evidence grab --resume "+o.out+"`", "state", stateDir)
			}
		}
		return nil, err
	}
	res := a.grabResult(pres)
	a.summary(res)
	return res, nil
}

// header is the manifest header every bundle starts with.
func (a *app) header(caseID, examiner string, started time.Time) *manifest.Manifest {
	ver, commit, gover := buildInfo()
	return pipeline.Header(caseID, examiner, started, a.args, manifest.Tool{Name: "evidence", Version: ver, Commit: commit, GoVersion: gover})
}

// clientOptions configures the Graph client from the shared flags.
func (a *app) clientOptions(o connOptions, budgets map[string]collect.Budget, cred collect.TokenSource) collect.Options {
	ver, _, _ := buildInfo()
	return collect.Options{
		GraphURL:   o.auth.GraphURL,
		Credential: cred,
		Budgets:    budgets,
		Retry:      collect.RetryPolicy{MaxAttempts: o.attempts, BaseDelay: o.retryMin, MaxDelay: max(60*time.Second, o.retryMin), MaxRetryAfter: collect.DefaultRetry.MaxRetryAfter},
		Logger:     a.log,
		UserAgent:  "evidence/" + ver,
	}
}

// grabResult turns the pipeline's result into what grab prints.
func (a *app) grabResult(p *pipeline.Result) *grabResult {
	res := &grabResult{path: p.Path, manifest: p.Manifest, verified: p.Verified, code: ExitOK, name: p.Name}
	for _, d := range p.Deliveries {
		switch d.Form {
		case pipeline.FormTar:
			res.sha256 = d.SHA256
		case pipeline.FormDir:
			res.dir = d.Location
		case pipeline.FormBlob:
			res.receipt = d.Receipt
		}
	}
	if p.Incomplete() {
		res.code = ExitIncomplete
	}
	return res
}

// summary prints what was collected to stderr.
func (a *app) summary(r *grabResult) {
	w := a.stderr
	m := r.manifest
	fmt.Fprintf(w, "\nCase %s, tenant %s, window %s to %s (UTC)\n", m.CaseID, m.Tenant.Domain, m.Requested.Start, m.Requested.End)
	for _, s := range m.Sources {
		line := fmt.Sprintf("  %-22s %-11s %8d records %5d pages", s.Name, s.Status, s.Records, s.Pages)
		if s.Reason != "" {
			line += "  (" + s.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	if m.Requests != nil {
		fmt.Fprintf(w, "  requests: %d sent, %d retries, %d throttled (429), %.1fs waiting for the throttling budget\n",
			m.Requests.Total, m.Requests.Retries, m.Requests.Throttled, m.Requests.ThrottleWaitS)
	}
	fmt.Fprintf(w, "  verified: %d files, %d bytes, every SHA-256 matches\n", r.verified.Files, r.verified.Bytes)
	if r.sha256 != "" {
		fmt.Fprintf(w, "  bundle SHA-256: %s\n", r.sha256)
	}
	if !m.Complete {
		fmt.Fprintln(w, "  INCOMPLETE: some evidence could not be collected; the manifest says what and why (exit code 3)")
	}
	if s := m.Seal; s != nil && s.KeyFingerprint != "" {
		fmt.Fprintf(w, "  signed: %s by key %s\n", manifest.SigName, s.KeyFingerprint)
	} else {
		fmt.Fprintln(w, "  WARNING: UNSIGNED bundle: integrity is provable by hashes only (use --sign-key)")
	}
}

func describeProblems(r *manifest.Result) string { return pipeline.DescribeProblems(r) }
