// Package pipeline is the one path every bundle takes, whatever makes it:
// collect -> write -> seal -> bundle -> deliver -> verify.
//
// A command (grab, demo, import, export, the Free-tier paths) describes a run
// as a Plan: the manifest's header, the Graph connection and sources or the
// collectors that fill the bundle, the seal (signing key, time-stamp
// authority) and the outputs. Run stages the bundle, collects into it,
// writes report.html and README.txt, seals it (manifest.json, SHA256SUMS,
// signature, time-stamp, custody.json and the custody log) and hands the
// sealed directory to each Deliverer in turn (a .tar.zst file, the directory
// itself, an immutable blob). Every Deliverer reads back and verifies what it
// wrote, and returns its location and SHA-256.
//
// Build (collect, write, seal) and Deliver are also callable on their own:
// export's state machine records its intent between the two.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// Plan is one run of the pipeline.
type Plan struct {
	// Out is the directory the bundle is staged and written in.
	Out string
	// Name is the bundle's name; a Collector may rename it (Session.Stage).
	Name string
	// Manifest is the header the caller fills: format, case, tool,
	// examiner, host, OS user, auth, command line, requested window,
	// collection start. Run adds the tenant and users (with Graph), the
	// sources, imports, requests, completeness, the end and the seal.
	Manifest *manifest.Manifest
	// Started is the collection start (UTC, whole seconds): every archive
	// entry's time, so that the same bundle packs to the same bytes.
	Started time.Time
	// Now reads the clock (tests fix it); nil is time.Now.
	Now func() time.Time

	// Graph, when set, connects to Microsoft Graph: requests.jsonl in the
	// bundle, the tenant, the users, one licence probe, then its Sources.
	Graph *Graph
	// Collectors run after Graph's sources, in order (export's cycle,
	// imported files, attachments).
	Collectors []Collector

	// Seal says how the bundle is sealed beyond its hashes.
	Seal Seal
	// Lang is report.html's language ("" English).
	Lang string
	// Readme writes README.txt; nil writes the README of a Graph collection.
	Readme func(*bundle.Stage, *manifest.Manifest) error
	// Outputs deliver the sealed bundle, in order. A Blob needs a Tar before it.
	Outputs []Deliverer

	// Log receives progress and warnings; nil discards them.
	Log *slog.Logger
	// Stderr receives the few lines meant for a person (licence, time-stamp,
	// upload receipt); nil discards them.
	Stderr io.Writer
	// Progress receives per-page counts; nil ignores them.
	Progress collect.Progress
	// Hook, when set, is called after each named step (see the Step
	// constants): the crash-point harness kills the process there.
	Hook func(step string)
	// ResumeDir, when set (grab), is the run's resume directory: a fatal
	// error during the Graph collection seals what was collected as a
	// partial bundle named there (partial.go), and a partial bundle named
	// there is carried into this run. Without it a fatal error fails the
	// run.
	ResumeDir string
	// ResumeCommand completes a partial bundle ("evidence grab --resume OUT").
	ResumeCommand string

	// BeforeCommit, when set, is called once the bundle is sealed, before
	// its directory takes its final name: export records the cycle as
	// pending there, so no sealed bundle ever sits under its final name
	// without the state knowing its content hash. An error aborts the
	// bundle (nothing is left behind). Sealed.Dir is still the staging
	// directory.
	BeforeCommit func(*Sealed) error
}

// Named steps, reported to Plan.Hook after they are done.
const (
	StepCollected = "collected" // every source written into the stage
	StepSums      = "seal:sums" // manifest.json and SHA256SUMS written
	StepSigned    = "seal:sig"  // SHA256SUMS.sig written (signed bundles)
	StepSealed    = "sealed"    // manifest, SHA256SUMS, signature, time-stamp, custody log written
	StepCommitted = "committed" // the staged directory renamed to its final name
	StepDelivered = "delivered" // one output written and verified (step "delivered:FORM")
)

// Seal says how a bundle is sealed beyond its hashes.
type Seal struct {
	// Signer signs SHA256SUMS and the custody entries; nil: unsigned.
	Signer seal.Signer
	// TSA is an RFC 3161 time-stamp authority URL; "" for none.
	TSA string
	// Sources names what was asked for, for custody.json.
	Sources []string
}

// Collector fills the bundle: it writes files through s.Stage and adds to
// s.Manifest what it collected (sources, imports, attachments, warnings).
type Collector interface {
	Collect(ctx context.Context, s *Session) error
}

// CollectorFunc adapts a function to Collector.
type CollectorFunc func(ctx context.Context, s *Session) error

// Collect implements Collector.
func (f CollectorFunc) Collect(ctx context.Context, s *Session) error { return f(ctx, s) }

// Session is what collectors get from a run.
type Session struct {
	Stage    *bundle.Stage
	Manifest *manifest.Manifest
	Started  time.Time
	Log      *slog.Logger
	Progress collect.Progress
	// With Graph only:
	Client *collect.Client
	Tenant collect.Tenant
	Users  []collect.User
	// Facts is the licence probe's answer, nil when no probe was needed.
	Facts *collect.TenantFacts
}

// Result is what a run produced.
type Result struct {
	Name     string
	Manifest *manifest.Manifest
	// Deliveries are the outputs' results, in Plan.Outputs order.
	Deliveries []*Delivery
	// Path is where the bundle ended up for a person: the archive or the
	// directory, or the blob's URL when nothing local is kept.
	Path string
	// SHA256 is the archive's when one was written, else the directory's
	// content hash (see Dir).
	SHA256 string
	// Verified is the verification of the last local output read back.
	Verified *manifest.Result
	// NotImmutable is set when a blob's immutability could not be read back
	// and was not accepted (exit code 3).
	NotImmutable bool
}

// Incomplete reports whether something asked for was not collected or not
// protected: exit code 3.
func (r *Result) Incomplete() bool { return !r.Manifest.Complete || r.NotImmutable }

// Kind classifies a run's error for the exit code.
type Kind int

// Kinds of errors.
const (
	Failed Kind = iota // no complete sealed bundle (exit 2)
	Usage              // bad input found before or while connecting (exit 1)
	Verify             // what was written does not verify (exit 4)
)

// Error is a run's error with its kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func usageErr(format string, a ...any) error {
	return &Error{Kind: Usage, Err: fmt.Errorf(format, a...)}
}

func failErr(err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	return &Error{Kind: Failed, Err: err}
}

func verifyErr(err error) error { return &Error{Kind: Verify, Err: err} }

// Run builds the bundle (collect, write, seal) and delivers it to every
// output.
func Run(ctx context.Context, p Plan) (*Result, error) {
	b, err := Build(ctx, p)
	if err != nil {
		return nil, err
	}
	if b.Manifest.Partial != nil {
		// the signal that stopped the collection is spent: the partial
		// bundle is delivered (a second one ends the process)
		ctx = context.WithoutCancel(ctx)
	}
	return Deliver(ctx, p, b)
}

func (p *Plan) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Plan) hook(step string) {
	if p.Hook != nil {
		p.Hook(step)
	}
	KillPoint(step)
}

func (p *Plan) logger() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (p *Plan) stderr() io.Writer {
	if p.Stderr != nil {
		return p.Stderr
	}
	return io.Discard
}

// Build collects into a staged bundle, writes report.html and README.txt,
// seals it and commits it under its final name in Plan.Out. Nothing is left
// behind when it fails before the commit.
func Build(ctx context.Context, p Plan) (*Sealed, error) {
	m := p.Manifest
	if m == nil {
		return nil, failErr(errors.New("pipeline: the plan has no manifest header"))
	}
	log := p.logger()
	stage, err := bundle.Create(p.Out, p.Name)
	if err != nil {
		return nil, failErr(err)
	}
	committed := false
	defer func() {
		if !committed {
			stage.Abort()
		}
	}()
	s := &Session{Stage: stage, Manifest: m, Started: p.Started, Log: log, Progress: p.Progress}
	if s.Progress == nil {
		s.Progress = nopProgress{}
	}
	var stop *stopped
	if p.Graph != nil {
		var carried *carry
		if p.ResumeDir != "" {
			if carried, err = loadCarry(p.Out, p.ResumeDir, stage, p.Graph.Sources); err != nil {
				return nil, failErr(err)
			}
		}
		if err := p.Graph.connect(ctx, &p, s); err != nil {
			return nil, tokenFail(m.Auth.Method, err, true)
		}
		if carried != nil && len(carried.sources) > 0 {
			m.Warnings = append(m.Warnings, carried.note())
		}
		if err := p.Graph.collect(ctx, s, carried); err != nil {
			if !errors.As(err, &stop) || p.ResumeDir == "" {
				return nil, tokenFail(m.Auth.Method, err, false)
			}
			// Seal what was collected: nothing below is cancelled by the
			// signal that stopped the collection (a second one ends the
			// process).
			ctx = context.WithoutCancel(ctx)
			stop.record(m, p.Graph.Window, p.ResumeCommand)
			fmt.Fprintln(p.stderr(), "evidence: "+oneLine(stopLine(m.Auth.Method, stop.err))+": sealing what was collected as a partial bundle")
			if err := stage.Rename(PartialName(p.Name, bundle.Stamp(p.now()))); err != nil {
				return nil, failErr(err)
			}
			if err := makeRoom(stage, m, stop.err, log); err != nil {
				return nil, failErr(err)
			}
		}
	}
	for _, c := range p.Collectors {
		if err := c.Collect(ctx, s); err != nil {
			return nil, failErr(err)
		}
	}
	if s.Client != nil {
		st := s.Client.Stats()
		wait, _ := s.Client.ThrottleWait()
		m.Requests = &manifest.Requests{Total: st.Requests.Load(), Retries: st.Retries.Load(), Throttled: st.Throttled.Load(), ThrottleWaitS: wait.Seconds()}
	}
	if len(m.Imports) == 0 {
		m.Complete = !m.Incomplete()
		if !m.Complete {
			m.Warnings = append(m.Warnings, "incomplete: at least one source or window could not be collected; see sources[].windows[].reason")
		}
	}
	m.CollectionEnd = manifest.FormatTime(p.now())
	p.hook(StepCollected)

	if err := prepareSeal(stage, m, p.Seal); err != nil {
		return nil, failErr(err)
	}
	writeReport(stage, m, p.Lang, p.Seal.Signer, log)
	readme := p.Readme
	if readme == nil {
		readme = writeReadme
	}
	sealStage := func() error {
		if err := readme(stage, m); err != nil {
			return err
		}
		if err := stage.Seal(m); err != nil {
			return err
		}
		p.hook(StepSums)
		// a Ctrl-C from here on finishes the seal (the time-stamp has its own
		// timeout) and stops before the delivery (Deliver)
		if err := applySeal(context.WithoutCancel(ctx), stage.Dir(), m, p.Seal, p.stderr()); err != nil {
			return fmt.Errorf("sealing: %w", err)
		}
		return nil
	}
	if err := sealStage(); err != nil {
		// A disk that fills now, with every record written, need not lose
		// the collection: a partial bundle without the files made from the
		// records fits where they did not, and `grab --resume` writes them.
		if !errors.Is(err, syscall.ENOSPC) || p.Graph == nil || p.ResumeDir == "" {
			return nil, failErr(err)
		}
		rerr := stage.Unseal()
		if rerr == nil {
			rerr = roomAtSeal(stage, m, &p, err, log)
		}
		if rerr != nil {
			return nil, failErr(errors.Join(err, rerr))
		}
		if err := sealStage(); err != nil {
			return nil, failErr(err)
		}
	}
	p.hook(StepSealed)
	if p.BeforeCommit != nil {
		content, err := DirSHA256(stage.Dir())
		if err != nil {
			return nil, failErr(err)
		}
		if err := p.BeforeCommit(&Sealed{Dir: stage.Dir(), Name: stage.Name(), Manifest: m, Started: p.Started, Content: content}); err != nil {
			return nil, failErr(err)
		}
	}
	dir, err := stage.Commit()
	if err != nil {
		return nil, failErr(err)
	}
	committed = true
	if m.Partial != nil { // stopped (stop), or filled the disk at the seal (roomAtSeal)
		if err := notePartial(p.ResumeDir, stage.Name()); err != nil {
			return nil, failErr(fmt.Errorf("partial bundle %s sealed, but the resume state could not name it: %w", dir, err))
		}
		p.hook(StepCommittedPartial)
	} else {
		p.hook(StepCommitted)
	}
	content, err := DirSHA256(dir)
	if err != nil {
		return nil, failErr(err)
	}
	return &Sealed{Dir: dir, Name: stage.Name(), Manifest: m, Started: p.Started, Signer: p.Seal.Signer, Custody: true, Content: content}, nil
}

// Deliver hands a sealed bundle to every output of the plan in turn. The
// result's Path is the last kept location.
func Deliver(ctx context.Context, p Plan, b *Sealed) (*Result, error) {
	return deliverRest(ctx, p, b, nil)
}

// deliverRest is Deliver for the outputs after those done already (a
// resumed delivery), whose results count as delivered first.
func deliverRest(ctx context.Context, p Plan, b *Sealed, done []*Delivery) (*Result, error) {
	res := &Result{Name: b.Name, Manifest: b.Manifest, Path: b.Dir}
	if len(p.Outputs) == 0 {
		return nil, failErr(errors.New("pipeline: the plan has no output"))
	}
	localKept := false
	for i, d := range p.Outputs {
		var dl *Delivery
		var err error
		if i < len(done) {
			dl = done[i]
		} else if err = interrupted(ctx, &p, b, nil); err != nil {
			return nil, err
		} else if dl, err = d.Deliver(ctx, b, &p); err != nil {
			return nil, interrupted(ctx, &p, b, err)
		}
		res.Deliveries = append(res.Deliveries, dl)
		if dl.Verified != nil {
			res.Verified = dl.Verified
		}
		if dl.NotImmutable {
			res.NotImmutable = true
		}
		switch {
		case dl.Kept && dl.Form != FormBlob:
			res.Path, localKept = dl.Location, true
		case dl.Kept && !localKept: // a blob is the path only when nothing local is kept
			res.Path = dl.Location
		}
		if res.SHA256 == "" || dl.Form == FormTar {
			res.SHA256 = dl.SHA256
		}
		if i >= len(done) {
			p.hook(StepDelivered + ":" + dl.Form)
		}
	}
	return res, nil
}

// interrupted is the error of a run with a resume state (grab) whose
// context was cancelled (Ctrl-C, SIGINT, SIGTERM) once its bundle was
// sealed: the delivery stops before its next output, or with the one the
// signal cut short (err), and says where the sealed bundle is and the
// command that delivers it (Plan.ResumeCommand, which finishSealed
// serves). Otherwise err itself (nil: go on).
func interrupted(ctx context.Context, p *Plan, b *Sealed, err error) error {
	if ctx.Err() == nil || p.ResumeDir == "" {
		return err
	}
	where := b.Dir
	if b.Archive != "" {
		where = b.Archive
	}
	msg := fmt.Sprintf("interrupted (%v) once the bundle was sealed: it is kept, sealed, in %s but not delivered; `%s` delivers it", context.Cause(ctx), where, p.ResumeCommand)
	if err != nil {
		msg += " (" + oneLine(err.Error()) + ")"
	}
	return &Error{Kind: Failed, Err: errors.New(msg)}
}

// nopProgress ignores progress.
type nopProgress struct{}

func (nopProgress) Add(string, int, int) {}

// oneLine joins a message's lines for a one-line warning.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func joinSorted(parts []string) string {
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
