package pipeline

import (
	"context"
	"errors"
	"fmt"
	"github.com/evidence-dfir/evidence/collect/msg"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
)

// Conn is how a run connects to Graph, as the flags grab and export share
// give it: how to sign in, how hard to try, and who collects.
type Conn struct {
	Examiner  string
	PageSize  int
	Budgets   []string // --budget CLASS=REQUESTS/DURATION
	Attempts  int
	RetryBase time.Duration
	Auth      collect.AuthOptions
}

// Check checks the shared flags and returns the --budget overrides.
func (o Conn) Check() (map[string]collect.Budget, error) {
	if o.PageSize < 0 {
		return nil, usageErr("--page-size must be positive")
	}
	if o.Attempts < 1 {
		return nil, usageErr("--max-attempts must be at least 1")
	}
	return ParseBudgets(o.Budgets)
}

// ClientOptions configures the Graph client; version names the tool in the
// User-Agent.
func (o Conn) ClientOptions(budgets map[string]collect.Budget, cred collect.TokenSource, log *slog.Logger, version string) collect.Options {
	return collect.Options{
		GraphURL:   o.Auth.GraphURL,
		Credential: cred,
		Budgets:    budgets,
		Retry:      collect.RetryPolicy{MaxAttempts: o.Attempts, BaseDelay: o.RetryBase, MaxDelay: max(60*time.Second, o.RetryBase), MaxRetryAfter: collect.DefaultRetry.MaxRetryAfter},
		Logger:     log,
		UserAgent:  "evidence/" + version,
	}
}

// Credential returns the run's credential: cred when a caller made one
// (demo, export, tests), else the one o.Auth names; and how to describe it.
func (o Conn) Credential(cred collect.TokenSource, identity string) (collect.TokenSource, string, error) {
	if cred != nil {
		if identity == "" {
			identity = "in-process simulator token"
		}
		return cred, identity, nil
	}
	c, id, err := collect.Credential(o.Auth)
	if err != nil {
		return nil, "", usageErr("%v", err)
	}
	return c, id, nil
}

// ReportLang checks --lang and applies the default (the environment's
// locale, else English).
func ReportLang(lang string) (string, error) {
	if lang == "" {
		return report.DefaultLang(), nil
	}
	if !report.ValidLang(lang) {
		return "", usageErr("--lang %q: use %s", lang, strings.Join(report.Languages, " or "))
	}
	return lang, nil
}

// Grab is one grab (or demo, or resumed grab) as its command line gives
// it. RunGrab checks it, builds its Plan and runs it.
type Grab struct {
	Scope     Scope // users, window, sources, sign-in kinds, splitting
	Out       string
	Deliver   DeliveryFlags
	CaseID    string // "" for a new one
	Conn      Conn
	Seal      SealFlags
	Lang      string
	Attach    []string // files copied into attachments/
	MessageID string   // an internet message id fetched as .eml
	// Options are the sources' option values by source name (see
	// collect.Setup).
	Options map[string]any

	// Set when resuming (grab --resume): the resume directory and the
	// interrupted run's collection start.
	ResumeDir string
	Started   time.Time

	Args []string      // the command line, for the manifest and the resume state
	Tool manifest.Tool // this build, for the manifest

	// Credential, when set, is used instead of Conn.Auth's (demo, tests);
	// CredentialID describes it.
	Credential   collect.TokenSource
	CredentialID string
	Now          func() time.Time

	Log      *slog.Logger
	Stderr   io.Writer
	Progress collect.Progress
	Hook     func(step string) // after each named step (see Plan.Hook)
}

// message checks --message-id and returns the message source, nil when
// none is asked for.
func (g *Grab) message() (*snapshot.Message, error) {
	if g.MessageID == "" {
		return nil, nil
	}
	id := snapshot.NormalizeMessageID(g.MessageID)
	if len(id) < 5 || !strings.Contains(id, "@") || strings.ContainsAny(id, "\r\n") {
		return nil, usageErr("--message-id %q is not an internet message id (like <CAF7731.x@example.com>)", g.MessageID)
	}
	if g.Scope.AllUsers {
		return nil, usageErr("--message-id needs --user: the message is looked up in the named users' mailboxes")
	}
	return &snapshot.Message{InternetMessageID: id}, nil
}

// RunGrab checks g before any request (scope, message id, attachments,
// delivery, case id, connection flags, language, signing key, credential,
// the sources' options), then builds the Plan and runs it. A source that
// keeps resume state (the unified audit log) keeps it in OUT/.NAME.resume
// until the bundle is sealed.
func RunGrab(ctx context.Context, g Grab) (*Result, error) {
	nowf := g.Now
	if nowf == nil {
		nowf = time.Now
	}
	log := g.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	started := nowf().UTC().Truncate(time.Second)
	if !g.Started.IsZero() {
		started = g.Started
	}
	sc, err := g.Scope.Check(started)
	if err != nil {
		return nil, err
	}
	msg, err := g.message()
	if err != nil {
		return nil, err
	}
	attach, err := CheckAttachments(g.Attach)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	deliver, err := g.Deliver.Plan(true)
	if err != nil {
		return nil, err
	}
	caseID, err := CaseID(g.CaseID)
	if err != nil {
		return nil, err
	}
	budgets, err := g.Conn.Check()
	if err != nil {
		return nil, err
	}
	lang, err := ReportLang(g.Lang)
	if err != nil {
		return nil, err
	}
	stderr := g.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	if err := g.Seal.Load(stderr); err != nil {
		return nil, err
	}
	cred, identity, err := g.Conn.Credential(g.Credential, g.CredentialID)
	if err != nil {
		return nil, err
	}
	name := bundle.Name(started, caseID)
	stateDir := g.ResumeDir
	if stateDir == "" {
		stateDir = ResumeDirFor(g.Out, name)
	}
	sources, err := collect.ConfigureSources(sc.Sources, collect.Setup{Options: g.Options, Credential: cred,
		AuthMethod: g.Conn.Auth.Method, CaseID: caseID, StateDir: stateDir, Log: log})
	if err != nil {
		return nil, usageErr("%v", err)
	}
	collectors := []Collector{Attachments{Files: attach}}
	if msg != nil {
		sources = append(sources, msg)
		collectors[0] = Attachments{Files: attach, Before: msg.Attachments}
	}
	outputs, err := deliver.Deliverers(cred, identity, g.Conn.Auth.Method)
	if err != nil {
		return nil, err
	}
	if !collect.Resuming(sources) && GrabArgs(g.Args) == nil && g.ResumeDir == "" {
		stateDir = "" // a demo without the audit log: nothing to resume
	} else if err := keepState(g, stateDir, name, started, caseID); err != nil {
		return nil, err
	}

	m := Header(caseID, g.Conn.Examiner, started, g.Args, g.Tool)
	m.Auth = manifest.Auth{Method: g.Conn.Auth.Method, Identity: identity}
	m.Requested = manifest.NewWindow(sc.Window.Start, sc.Window.End)
	log.Info("collecting", "case", caseID, "window", sc.Window.String(), "users", len(g.Scope.Users))
	sealed, committed, partial := false, false, false
	plan := Plan{
		Out: g.Out, Name: name, Manifest: m, Started: started, Now: nowf,
		Graph: &Graph{
			Options: g.Conn.ClientOptions(budgets, cred, log, g.Tool.Version),
			Users:   g.Scope.Users, AllUsers: g.Scope.AllUsers, Window: sc.Window, Sources: sources,
			PageSize: g.Conn.PageSize, Split: &sc.Split,
		},
		Collectors: collectors,
		Seal:       g.Seal.Plan(g.Scope.Sources), Lang: lang, Outputs: outputs, ResumeDir: stateDir, ResumeCommand: "evidence grab --resume " + g.Out,
		Log: log, Stderr: g.Stderr, Progress: g.Progress,
		Hook: func(step string) {
			if g.Hook != nil {
				g.Hook(step)
			}
			sealed = sealed || step == StepSealed
			committed = committed || step == StepCommitted
			partial = partial || step == StepCommittedPartial
		},
	}
	var res *Result
	if g.ResumeDir != "" {
		res, err = finishSealed(ctx, plan)
	}
	if res == nil && err == nil {
		res, err = Run(ctx, plan)
	}
	if err == nil && stateDir != "" && !partial {
		if err := RemoveResume(stateDir); err != nil { // delivered: nothing left to resume
			log.Warn("the bundle is delivered, but its resume state could not be removed", "state", stateDir, "err", err)
		}
	}
	full := errors.Is(err, syscall.ENOSPC)
	if full && !sealed {
		err = failErr(fmt.Errorf("%w; the disk is too full to seal even a partial bundle, so nothing was sealed: free space and run `evidence grab --resume %s`", err, g.Out))
	}
	if err != nil && stateDir != "" {
		if !ResumeStarted(stateDir) && !full && !committed && g.ResumeDir == "" {
			os.RemoveAll(stateDir) // failed before any query: nothing to resume
		} else if committed {
			log.Warn("the bundle is sealed but not delivered; the resume state is kept: deliver it with `evidence grab --resume "+g.Out+"`", "state", stateDir)
		} else if _, serr := os.Stat(stateDir); serr == nil {
			log.Warn("the collection did not finish; what it did is kept: resume with `evidence grab --resume "+g.Out+"`", "state", stateDir)
		}
	}
	return res, err
}

// finishSealed finishes the delivery of a bundle the interrupted run had
// sealed, taking up what it had delivered: its committed directory is
// delivered again (an archive already written is kept, Tar.Resume); when
// only its archive is left, the archive is read back and the outputs after
// it (a blob) are delivered from it; when only its blob is left, the blob
// is read back. Each output adopts what that run had delivered and holds
// this bundle (a blob is never uploaded twice nor overwritten, Blob.Resume)
// and refuses anything else. nil, nil when that run had not sealed it.
func finishSealed(ctx context.Context, p Plan) (*Result, error) {
	for i, o := range p.Outputs {
		switch o := o.(type) {
		case Tar:
			o.Resume = true
			p.Outputs[i] = o
		case Blob:
			o.Resume = true
			p.Outputs[i] = o
		}
	}
	dir := filepath.Join(p.Out, p.Name)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		res, err := manifest.VerifyDir(dir)
		if err != nil {
			return nil, verifyErr(err)
		}
		if !res.OK() {
			return nil, verifyErr(fmt.Errorf("--resume: %s does not verify: %s", dir, DescribeProblems(res)))
		}
		content, err := DirSHA256(dir)
		if err != nil {
			return nil, failErr(err)
		}
		return Deliver(ctx, p, &Sealed{Dir: dir, Name: p.Name, Manifest: res.Manifest, Started: p.Started, Signer: p.Seal.Signer, Custody: true, Content: content})
	}
	b := &Sealed{Name: p.Name, Manifest: p.Manifest, Started: p.Started, Signer: p.Seal.Signer, Custody: true}
	var done []*Delivery
	if _, err := os.Stat(dir + manifest.ArchiveSuffix); err == nil {
		tar, ok := p.Outputs[0].(Tar)
		if !ok {
			tar = Tar{}
		}
		d, err := tar.Find(ctx, p.Name, &p) // the archive in p.Out, read back and verified
		if err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
		if !ok { // not this run's output: the result is the archive alone
			return &Result{Name: p.Name, Manifest: d.Verified.Manifest, Deliveries: []*Delivery{d}, Path: d.Location, SHA256: d.SHA256, Verified: d.Verified}, nil
		}
		b.Manifest, b.Content, b.Archive, b.ArchiveSHA256 = d.Verified.Manifest, d.Content, d.Location, d.SHA256
		done = append(done, d)
	} else {
		u, ok := p.Outputs[len(p.Outputs)-1].(Blob)
		if !ok {
			return nil, nil
		}
		d, err := u.adopt(ctx, b, &p, u.options(&p))
		if err != nil || d == nil {
			return nil, err
		}
		return &Result{Name: p.Name, Manifest: d.Verified.Manifest, Deliveries: []*Delivery{d}, Path: d.Location, SHA256: d.SHA256, Verified: d.Verified, NotImmutable: d.NotImmutable}, nil
	}
	return deliverRest(ctx, p, b, done)
}

// keepState creates the resume directory of a grab (a partial bundle is
// named there, and sources that keep state keep it there), saving the
// command line and collection start a resume needs; a resumed run first
// removes the unsealed directory the interrupted one left.
func keepState(g Grab, dir, name string, started time.Time, caseID string) error {
	if g.ResumeDir != "" {
		if err := RemoveStalePartial(g.Out, name); err != nil {
			return failErr(fmt.Errorf("--resume: removing the interrupted run's unsealed directory: %w", err))
		}
	}
	if args := GrabArgs(g.Args); args != nil {
		if err := SaveResume(dir, args, started, caseID); err != nil {
			return failErr(err)
		}
	}
	return nil
}

// TarSHA256 is the SHA-256 of the archive the run wrote, "" when none.
func (r *Result) TarSHA256() string {
	for _, d := range r.Deliveries {
		if d.Form == FormTar {
			return d.SHA256
		}
	}
	return ""
}

// WriteSummary writes what a run collected, for a person: per source its
// status, records and pages, the requests, the verification, the archive's
// SHA-256, completeness and the signature.
func WriteSummary(w io.Writer, r *Result) {
	m := r.Manifest
	fmt.Fprintf(w, "\n%s\n", msg.T("summary.case", m.CaseID, m.Tenant.Domain, m.Requested.Start, m.Requested.End))
	for _, s := range m.Sources {
		line := "  " + msg.T("summary.source", s.Name, s.Status, s.Records, s.Pages)
		if s.Reason != "" {
			line += "  (" + s.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	if m.Requests != nil {
		fmt.Fprintln(w, "  "+msg.T("summary.requests", m.Requests.Total, m.Requests.Retries, m.Requests.Throttled, m.Requests.ThrottleWaitS))
	}
	fmt.Fprintln(w, "  "+msg.T("summary.verified", r.Verified.Files, r.Verified.Bytes))
	if sum := r.TarSHA256(); sum != "" {
		fmt.Fprintln(w, "  "+msg.T("summary.sha256", sum))
	}
	if m.Partial != nil {
		fmt.Fprintln(w, "  "+PartialLine(m.Partial))
	}
	if !m.Complete {
		fmt.Fprintln(w, "  "+msg.T("summary.incomplete"))
	}
	if s := m.Seal; s != nil && s.KeyFingerprint != "" {
		fmt.Fprintln(w, "  "+msg.T("summary.signed", manifest.SigName, s.KeyFingerprint))
	} else {
		fmt.Fprintln(w, "  "+msg.T("summary.unsigned"))
	}
}
