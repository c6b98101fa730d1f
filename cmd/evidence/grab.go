package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// sourceNames lists every --sources name, in collection order: ual comes
// after signins because it reads the sign-ins' status (the Free-tier trail).
var sourceNames = []string{"signins", "audits", "ual", "messagetrace", "snapshot"}

// defaultSources are collected without --sources; ual needs its own
// permission (AuditLogsQuery.Read.All), so it is asked for explicitly.
var defaultSources = []string{"signins", "audits"}

// knownSources lists the --sources names for help and error messages.
func knownSources() string { return strings.Join(sourceNames, ", ") }

func newSource(name string) (collect.Source, bool) {
	switch name {
	case "signins":
		return collect.SignIns{}, true
	case "audits":
		return collect.DirectoryAudits{}, true
	case "messagetrace":
		return collect.MessageTrace{}, true

	case "snapshot":
		return &snapshot.Source{}, true
	case "ual":
		return &ual.Source{}, true
	}
	return nil, false
}

// expandSource turns one --sources name into its collectors: "signins" is
// one collector per --signin-kinds kind, sharing the user-app lookup.
func expandSource(name string, src collect.Source, kinds []collect.SignInKind) []collect.Source {
	if _, ok := src.(collect.SignIns); !ok || name != "signins" {
		return []collect.Source{src}
	}
	apps := &collect.AppCache{}
	var out []collect.Source
	for _, k := range kinds {
		out = append(out, collect.SignIns{Kind: k, Apps: apps})
	}
	return out
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

// connFlags registers the shared flags.
func connFlags(f *pflag.FlagSet, o *connOptions) {
	f.StringVar(&o.examiner, "examiner", "", "who collects, for the manifest; default the OS user")
	f.IntVar(&o.pageSize, "page-size", 0, "records per page ($top); default each API's documented maximum")
	f.StringArrayVar(&o.budgets, "budget", nil, "override a throttling budget, CLASS=REQUESTS/DURATION (classes: reports, directory, messagetrace, auditquery, auditread), e.g. reports=5/10s")
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
	deliver  deliverOptions
	caseID   string
	connOptions
	seal     sealOptions
	ual      ualFlags // the unified audit log source (ual.go)
	resume   string   // --resume DIR
	kinds    []string // --signin-kinds
	split    string   // --split
	maxPages int      // --max-pages

	// set by --resume (resume.go)
	resumeDir string
	started   time.Time

	lang string // report.html's language

	traceDetails bool // --trace-details (messagetrace)

	attach        []string // files to copy into attachments/
	messageID     string   // internet message id to fetch as .eml
	tenantObjects bool     // snapshot: tenant-wide objects too

	// set programmatically (demo, export, tests)
	credential collect.TokenSource
	now        func() time.Time
	pipe       *pipeline // nil: grab's own naming and collection

	credentialID string // describes credential when set (export passes the one it made)
}

// pipeline lets export run grab's collect -> write -> seal -> bundle ->
// verify with its own bundle name and collection step (per-source windows,
// de-duplication). Nil fields keep grab's behaviour.
type pipeline struct {
	name string // bundle name
	// collect replaces grab's loop over the sources: it collects into out
	// and returns each source's accounting; it may complete m (warnings,
	// requested window, export fields).
	collect func(ctx context.Context, c *collect.Client, run pipelineRun) ([]manifest.Source, error)
}

// pipelineRun is what the collection step gets from the pipeline.
type pipelineRun struct {
	tenant  collect.Tenant
	users   []collect.User
	started time.Time
	stage   *bundle.Stage // records go through stage.Open; Rename names the bundle
	prog    collect.Progress
	m       *manifest.Manifest
	// sources are grab's configured collectors by --sources name (the ual
	// source carries its query options and resume state).
	sources map[string][]collect.Source
}

func (a *app) grabFlags(cmd *cobra.Command, o *grabOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.users, "user", nil, "user to collect for, by UPN or object id (repeatable)")
	f.BoolVar(&o.allUsers, "all-users", false, "collect tenant-wide instead of per user")
	f.StringVar(&o.since, "since", "30d", "start of the window: a duration back from now (30d, 2w, 36h, 1.5d), an RFC 3339 time or a date (2026-11-01, UTC)")
	f.StringVar(&o.until, "until", "", "end of the window (exclusive), same forms as --since; default now")
	f.StringSliceVar(&o.sources, "sources", defaultSources, "sources to collect: "+knownSources())
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
	code     int
}

// validated is grab's input after checking.
type validated struct {
	window  collect.Window
	sources []collect.Source
	byName  map[string][]collect.Source // the same collectors by --sources name
	attach  []attachment
	message *snapshot.Message
	split   collect.Splitting
	caseID  string
	budgets map[string]collect.Budget
	deliver *deliverPlan
}

func (o *grabOptions) validate(now time.Time) (*validated, error) {
	v := &validated{budgets: map[string]collect.Budget{}, byName: map[string][]collect.Source{}}
	if len(o.users) == 0 && !o.allUsers {
		return nil, usageErr("no --user given: name at least one user (--user alice@contoso.com, repeatable) or use --all-users")
	}
	if len(o.users) > 0 && o.allUsers {
		return nil, usageErr("--user and --all-users exclude each other")
	}
	for _, u := range o.users {
		if strings.TrimSpace(u) == "" {
			return nil, usageErr("--user is empty")
		}
	}
	start, err := collect.ParseWhen(o.since, now)
	if err != nil {
		return nil, usageErr("--since: %v", err)
	}
	end := now.UTC().Truncate(collect.Tick)
	if o.until != "" {
		if end, err = collect.ParseWhen(o.until, now); err != nil {
			return nil, usageErr("--until: %v", err)
		}
	}
	if !start.Before(end) {
		return nil, usageErr("--until (%s) must be after --since (%s)", collect.FormatTime(end), collect.FormatTime(start))
	}
	if end.After(now) {
		return nil, usageErr("--until (%s) is in the future; the latest possible end is now (%s)", collect.FormatTime(end), collect.FormatTime(now))
	}
	v.window = collect.Window{Start: start, End: end}
	if len(o.kinds) == 0 {
		o.kinds = []string{"all"}
	}
	kinds, err := collect.ParseSignInKinds(o.kinds)
	if err != nil {
		return nil, usageErr("--signin-kinds: %v", err)
	}
	if o.split == "" {
		o.split = "7d"
	}
	every, err := collect.ParseDuration(o.split)
	if err != nil {
		return nil, usageErr("--split: %v", err)
	}
	if o.maxPages < 0 {
		return nil, usageErr("--max-pages must be 0 (no limit) or more")
	}
	v.split = collect.Splitting{Every: every, MaxPages: o.maxPages}
	seen := map[string]bool{}
	for _, s := range o.sources {
		s = strings.TrimSpace(s)
		if _, ok := newSource(s); !ok {
			return nil, usageErr("--sources: unknown source %q (known: %s)", s, knownSources())
		}
		seen[s] = true
	}
	for _, s := range sourceNames { // in collection order: ual reads the sign-ins' status
		if seen[s] {
			src, _ := newSource(s)
			exp := expandSource(s, src, kinds)
			v.sources = append(v.sources, exp...)
			v.byName[s] = exp
		}
	}
	if err := o.configureMessageTrace(v); err != nil {
		return nil, err
	}
	if len(v.sources) == 0 {
		return nil, usageErr("--sources is empty (known: %s)", knownSources())
	}
	if err := o.validateSnapshot(v); err != nil {
		return nil, err
	}
	if v.deliver, err = o.deliver.plan(true); err != nil {
		return nil, err
	}
	v.caseID = o.caseID
	if v.caseID == "" {
		v.caseID = uuid.NewString()
	} else if _, err := uuid.Parse(v.caseID); err != nil {
		return nil, usageErr("--case %q is not a UUID", o.caseID)
	}
	for _, b := range o.budgets {
		class, spec, ok := strings.Cut(b, "=")
		if !ok {
			return nil, usageErr("--budget %q: want CLASS=REQUESTS/DURATION, e.g. reports=5/10s", b)
		}
		bud, err := collect.ParseBudget(spec)
		if err != nil {
			return nil, usageErr("--budget: %v", err)
		}
		v.budgets[class] = bud
	}
	if o.pageSize < 0 {
		return nil, usageErr("--page-size must be positive")
	}
	if o.attempts < 1 {
		return nil, usageErr("--max-attempts must be at least 1")
	}
	if o.lang, err = reportLang(o.lang); err != nil {
		return nil, err
	}
	return v, nil
}

// grab runs collect -> write -> seal -> bundle -> verify.
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
	var store *blob.Store
	if v.deliver.blob {
		if store, err = openStore(v.deliver.target, cred, identity, o.auth.Method); err != nil {
			return nil, err
		}
	}

	name := "evidence-" + started.Format(time.RFC3339) + "-" + v.caseID[:8]
	if o.pipe != nil && o.pipe.name != "" {
		name = o.pipe.name
	}
	stateDir, err := a.prepareState(o, v, name, started)
	if err != nil {
		return nil, err
	}
	stage, err := bundle.Create(o.out, name)
	if err != nil {
		return nil, failErr(err)
	}
	committed := false
	defer func() {
		if !committed {
			stage.Abort()
			if stateDir != "" && !stateStarted(stateDir) {
				os.RemoveAll(stateDir) // failed before any query: nothing to resume
			} else if stateDir != "" {
				a.log.Warn("the collection did not finish; its audit log queries are kept: resume with `evidence grab --resume "+o.out+"`", "state", stateDir)
			}
		}
	}()
	reqLog, err := stage.Create(manifest.RequestsName, "provenance", bundle.MediaJSONL)
	if err != nil {
		return nil, failErr(err)
	}
	prog := newProgress(a.stderr, a.log)
	defer prog.stop()
	ver, commit, gover := buildInfo()
	client, err := collect.New(collect.Options{
		GraphURL:   o.auth.GraphURL,
		Credential: cred,
		Budgets:    v.budgets,
		Retry:      collect.RetryPolicy{MaxAttempts: o.attempts, BaseDelay: o.retryMin, MaxDelay: max(60*time.Second, o.retryMin), MaxRetryAfter: collect.DefaultRetry.MaxRetryAfter},
		RequestLog: reqLog,
		Logger:     a.log,
		UserAgent:  "evidence/" + ver,
	})
	if err != nil {
		return nil, usageErr("%v", err)
	}
	prog.client = client

	tenant, err := client.Organization(ctx)
	var tenantWarning string
	if ge := (*collect.GraphError)(nil); errors.As(err, &ge) && ge.Status == 403 {
		// The tenant's id and domain are metadata, not evidence: an app
		// granted only the log permissions still collects, and says so.
		tenantWarning = "tenant: /organization was refused (" + ge.Error() + "); the tenant's id and domain are not recorded (grant Organization.Read.All)"
		fmt.Fprintln(a.stderr, "evidence: warning: "+tenantWarning)
	} else if err != nil {
		return nil, graphFail(err)
	}
	var users []collect.User
	for _, who := range o.users {
		u, err := client.ResolveUser(ctx, strings.TrimSpace(who))
		if err != nil {
			var nf *collect.UserNotFoundError
			if errors.As(err, &nf) {
				return nil, usageErr("%v", err)
			}
			return nil, graphFail(err)
		}
		users = append(users, u)
	}

	m := &manifest.Manifest{
		Format:          manifest.Format,
		CaseID:          v.caseID,
		Tool:            manifest.Tool{Name: "evidence", Version: ver, Commit: commit, GoVersion: gover},
		Examiner:        o.examiner,
		Host:            hostname(),
		OSUser:          osUser(),
		Tenant:          manifest.Tenant{ID: tenant.ID, Domain: tenant.Domain, DisplayName: tenant.DisplayName, GraphURL: client.GraphURL()},
		Auth:            manifest.Auth{Method: o.auth.Method, Identity: identity},
		CommandLine:     redactArgs(a.args),
		CollectionStart: manifest.FormatTime(started),
		Requested:       manifest.NewWindow(v.window.Start, v.window.End),
	}
	if m.Examiner == "" {
		m.Examiner = m.OSUser
	}
	if tenantWarning != "" {
		m.Warnings = append(m.Warnings, tenantWarning)
	}
	for _, u := range users {
		m.Users = append(m.Users, manifest.User{Requested: u.Requested, ID: u.ID, UPN: u.UPN, Mail: u.Mail})
	}
	if o.pipe == nil { // export logs its own per-source windows
		a.log.Info("collecting", "case", v.caseID, "tenant", tenant.Domain, "window", v.window.String(), "users", len(users))
	}

	job := collect.Job{Window: v.window, Users: users, AllUsers: o.allUsers, Now: started, PageSize: o.pageSize, Progress: prog, Split: &v.split}
	if needsLicense(v.sources) {
		facts, err := collect.Probe(ctx, client, started)
		if err != nil {
			return nil, graphFail(err)
		}
		job.Facts = facts
		m.Tenant.License = facts.License
		m.Warnings = append(m.Warnings, "licence: "+facts.Reason)
		a.log.Info("licence", "tier", facts.License, "retention", facts.Retention, "service_clock", collect.FormatTime(facts.Now))
		if kept, lost, why := facts.Clamp(v.window); !lost.Empty() {
			a.log.Warn("window clamped to the tenant's retention", "lost", lost.String(), "kept", kept.String(), "reason", why)
			m.Warnings = append(m.Warnings, "clamped: "+lost.String()+" is "+why+" and cannot be collected")
		}
		if facts.License == collect.LicenseFree {
			fmt.Fprintln(a.stderr, "evidence: sign-in logs unavailable: "+collect.HintNoPremium)
			m.Warnings = append(m.Warnings, "sign-in logs unavailable: "+collect.HintNoPremium)
		}
	}
	if o.pipe != nil && o.pipe.collect != nil {
		srcs, err := o.pipe.collect(ctx, client, pipelineRun{tenant: tenant, users: users, started: started, stage: stage, prog: prog, m: m, sources: v.byName})
		if err != nil {
			return nil, err
		}
		m.Sources = srcs
		v.sources = nil // collected above
	}
	for _, src := range v.sources {
		if p, ok := src.(interface{ SetPrior([]manifest.Source) }); ok {
			p.SetPrior(m.Sources)
		}
		s, err := src.Collect(ctx, client, job, stage)
		if w, ok := src.(interface{ Warnings() []string }); ok {
			m.Warnings = append(m.Warnings, w.Warnings()...)
		}
		if err != nil {
			return nil, graphFail(err)
		}
		prog.flush()
		a.log.Info("source done", "source", s.Name, "status", s.Status, "records", s.Records, "pages", s.Pages)
		if s.Status != manifest.StatusCollected || s.OutOfScope > 0 {
			a.log.Warn("source incomplete", "source", s.Name, "status", s.Status, "out_of_scope", s.OutOfScope, "reason", s.Reason)
		}
		m.Sources = append(m.Sources, s)
	}
	prog.stop()
	if m.Attachments, err = attachAll(stage, v); err != nil {
		return nil, failErr(err)
	}

	st := client.Stats()
	wait, _ := client.ThrottleWait()
	m.Requests = &manifest.Requests{Total: st.Requests.Load(), Retries: st.Retries.Load(), Throttled: st.Throttled.Load(), ThrottleWaitS: wait.Seconds()}
	m.Complete = !m.Incomplete()
	if !m.Complete {
		m.Warnings = append(m.Warnings, "incomplete: at least one source or window could not be collected; see sources[].windows[].reason")
	}
	m.CollectionEnd = manifest.FormatTime(nowf())
	if err := prepareSeal(stage, m, &o.seal, sourceList(o)); err != nil {
		return nil, failErr(err)
	}

	a.writeReport(stage, m, o.lang)
	if err := writeReadme(stage, m); err != nil {
		return nil, failErr(err)
	}
	if err := stage.Seal(m); err != nil {
		return nil, failErr(err)
	}
	if err := a.applySeal(ctx, stage.Dir(), m, &o.seal); err != nil {
		return nil, failErr(fmt.Errorf("sealing: %w", err))
	}
	dir, err := stage.Commit()
	if err != nil {
		return nil, failErr(err)
	}
	committed = true
	name = stage.Name() // the collection step may have renamed it
	if stateDir != "" {
		os.RemoveAll(stateDir) // sealed: nothing left to resume
	}
	res := &grabResult{path: dir, dir: dir, manifest: m, code: ExitOK}
	if !m.Complete {
		res.code = ExitIncomplete
	}

	if !v.deliver.dir {
		path, sum, err := packTar(dir, name, started)
		if err != nil {
			return nil, failErr(fmt.Errorf("bundle sealed in %s, but archiving failed: %w", dir, err))
		}
		res.path, res.sha256 = path, sum
		if err := custodyArchived(dir, path, sum, m, &o.seal); err != nil {
			return nil, failErr(fmt.Errorf("bundle archived as %s, but its custody log could not be written: %w", path, err))
		}
		res.verified, err = archive.VerifyTarZst(path)
		if err != nil {
			return nil, &exitError{code: ExitVerify, err: err}
		}
		if res.verified.OK() {
			if err := os.RemoveAll(dir); err != nil {
				return nil, failErr(err)
			}
			res.dir = ""
		}
	} else {
		res.verified, err = manifest.VerifyDir(dir)
		if err != nil {
			return nil, &exitError{code: ExitVerify, err: err}
		}
	}
	if _, err := checkOwnSeal(res.verified, res.path, &o.seal); err != nil {
		return nil, &exitError{code: ExitVerify, err: err}
	}
	if !res.verified.OK() {
		return nil, &exitError{code: ExitVerify, err: fmt.Errorf("the bundle just written does not verify: %s", describeProblems(res.verified))}
	}
	a.summary(res)
	if store != nil {
		if err := a.deliverBlob(ctx, store, v.deliver, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// graphFail turns a collection error into exit 2 with one clear line.
func graphFail(err error) error {
	var ge *collect.GraphError
	if errors.As(err, &ge) && (ge.Status == 401 || ge.Code == "credential") {
		return failErr(fmt.Errorf("Graph refused the credentials: %v (check --auth, --tenant, --client-id and the token's audience and expiry)", err))
	}
	return failErr(err)
}

// packTar writes NAME.tar.zst beside dir, atomically, and returns its path
// and SHA-256.
func packTar(dir, name string, mtime time.Time) (string, string, error) {
	final := filepath.Join(filepath.Dir(dir), name+".tar.zst")
	sum, err := packArchive(dir, name, final, mtime)
	return final, sum, err
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

func describeProblems(r *manifest.Result) string {
	var parts []string
	for _, p := range r.Problems {
		parts = append(parts, p.Kind+" "+p.Path)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// secretFlags never reach the manifest with their values.
var secretFlags = []string{"--token", "--client-secret", "--password", "--sas"}

// redactArgs removes the values of flags that can carry secrets.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		for _, f := range secretFlags {
			if out[i] == f && i+1 < len(out) {
				out[i+1] = "REDACTED"
			} else if strings.HasPrefix(out[i], f+"=") {
				out[i] = f + "=REDACTED"
			}
		}
	}
	return out
}

// needsLicense reports whether a source depends on the licence probe (the
// Entra sign-in and audit logs).
func needsLicense(srcs []collect.Source) bool {
	for _, s := range srcs {
		switch s.(type) {
		case collect.SignIns, collect.DirectoryAudits:
			return true
		}
	}
	return false
}
