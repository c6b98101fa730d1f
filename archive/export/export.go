// Package export is the scheduled export as an explicit state machine. One
// cycle runs these steps, in order, each named for Config.Hook:
//
//	plan    decide, per source and scope, the window to read: from the
//	        watermark (minus an overlap re-read) to now minus the settle time
//	collect read the windows into a staged bundle, dropping records an
//	        earlier bundle holds
//	seal    seal the bundle like any other (archive/pipeline), then record
//	        the cycle as pending in the state: the bundle's name, its content
//	        hash and the state it leads to
//	publish deliver it (archive, directory or immutable blob) and verify it
//	        where it is kept
//	commit  append it to the hash-chained index and move the watermarks
//
// The watermarks move only at commit, after the bundle is durable and
// verified where it was delivered. A run that finds a pending cycle (the
// previous run stopped between seal and commit) looks for the bundle where
// it would have been published: found with the same content hash, it is
// adopted (recorded as if that run had committed); not found, the pending
// cycle is discarded with its local leftovers and its interval exported
// again. A bundle on disk that the index does not hold and that is not the
// pending cycle's is adopted when this export sealed it as the next link of
// the chain (its manifest says so and it verifies), and otherwise moved
// into QuarantineDir with the reason (see settleOrphans).
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// Steps of a cycle, reported to Config.Hook once each is done.
const (
	StepPlan    = "plan"
	StepCollect = "collect"
	StepSeal    = "seal"
	StepPublish = "publish"
	StepCommit  = "commit"
	// StepAdopt: a pending cycle's published bundle was recorded.
	StepAdopt = "adopt"
)

// UsageError is bad input found while planning (a source never exported
// without --since or --backfill, a state of another tenant).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ChainError is a state whose index chain is broken: nothing is extended.
type ChainError struct{ Err error }

func (e *ChainError) Error() string { return e.Err.Error() }
func (e *ChainError) Unwrap() error { return e.Err }

// ErrNothingNew ends a cycle that found no window to read; the state is
// unchanged.
var ErrNothingNew = errors.New("nothing new to export yet")

// Config is one export run.
type Config struct {
	Store  state.Store
	Holder state.Holder // who takes the lock
	// Sources are the --sources names in order; Explicit those named on
	// the command line (a Free tenant's sign-ins are skipped unless named).
	Sources  []string
	Explicit map[string]bool
	// Collectors returns the configured collectors of a --sources name
	// (signins: one per kind; ual: with its query options).
	Collectors func(name string) ([]collect.Source, error)
	// Users limits the export to these users; none is tenant-wide.
	Users []string
	// Backfill or First say where a source never exported starts.
	Backfill bool
	First    time.Time
	// Settle and Overlap override the policies per source.
	Settle, Overlap map[string]time.Duration
	// Tier is "auto" (the licence probe decides), TierFree or TierPremium.
	Tier     string
	Now      time.Time
	PageSize int
	// Pipeline is the template of the cycle's pipeline plan: Out, the
	// manifest header, Graph.Options, Seal, Lang, Outputs, Log, Stderr.
	// Export sets the name, the users, the probe and the collector.
	Pipeline pipeline.Plan
	// Hook, when set, is called after each step (see the Step constants).
	Hook func(step string)
}

// Lost is an interval lost to retention before this run could read it.
type Lost struct {
	Source string
	Gap    manifest.Gap
}

// Result is what one run did.
type Result struct {
	// Adopted is the index entry of a bundle an interrupted run published,
	// recorded by this run; nil when there was none.
	Adopted *state.Entry
	// AdoptedOrphans are the bundles found on disk without an index entry
	// that this run adopted (sealed by this export as the next link of the
	// chain); Quarantined those it moved into QuarantineDir instead, and
	// the blobs it did not adopt (a first run lists its --blob-url), with
	// no To: a blob is never moved.
	AdoptedOrphans []state.Entry
	Quarantined    []Quarantined
	// NothingNew: no source had a window to read; no bundle, state unchanged.
	NothingNew bool
	// Bundle is this cycle's bundle, Entry its index entry.
	Bundle *pipeline.Result
	Entry  state.Entry
	Lost   []Lost
	// Alerts are the changes in the tenant's state since the previous
	// bundle that match a finding of this one (diff.json): a scheduler
	// should raise them (exit 6).
	Alerts []diff.Change
}

func (c *Config) hook(step string) {
	if c.Hook != nil {
		c.Hook(step)
	}
	pipeline.KillPoint(step)
}

// Run takes the state's lock, settles a pending cycle, and runs one cycle.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	unlock, err := cfg.Store.Lock(ctx, cfg.Holder)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := state.Load(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	if st != nil {
		if p := st.VerifyChain(); len(p) > 0 {
			return nil, &ChainError{fmt.Errorf("state %s: the bundle index chain is broken at entry %d (%s); refusing to extend it: run `evidence export status` and investigate", cfg.Store, p[0].Seq, p[0].Reason)}
		}
	}
	res := &Result{}
	if st != nil && st.Pending != nil {
		if st, res.Adopted, err = settlePending(ctx, &cfg, st); err != nil {
			return nil, err
		}
	}

	removed, err := RemoveLeftovers(cfg.Pipeline.Out, stateDir(cfg.Store), st)
	if log := cfg.Pipeline.Log; log != nil && len(removed) > 0 {
		log.Info("removed what interrupted runs left", "paths", removed)
	}
	if err != nil {
		return nil, err
	}
	if st, res.AdoptedOrphans, res.Quarantined, err = settleOrphans(ctx, &cfg, st); err != nil {
		return nil, err
	}

	c := &cycle{cfg: &cfg, st: st}
	plan := cfg.Pipeline
	if plan.Graph == nil {
		return nil, errors.New("export: the plan has no Graph connection")
	}
	g := *plan.Graph
	g.Users, g.AllUsers, g.Probe, g.Sources = cfg.Users, len(cfg.Users) == 0, cfg.Tier == "auto", nil
	plan.Graph = &g
	plan.Name = "evidence-export-" + bundle.Stamp(cfg.Now)
	plan.Collectors = append([]pipeline.Collector{c}, plan.Collectors...)
	plan.Hook = func(step string) {
		if step == pipeline.StepCollected {
			cfg.hook(StepCollect)
		}
		if cfg.Pipeline.Hook != nil {
			cfg.Pipeline.Hook(step)
		}
	}
	// seal: the pipeline seals the bundle; before it takes its final name,
	// the state records the cycle as pending, so a bundle under its final
	// name is always one the next run can adopt or discard by content hash.
	var withPending *state.State
	plan.BeforeCommit = func(b *pipeline.Sealed) error {
		next := c.st.Clone()
		next.Pending = c.pending(b, archiveName(plan.Outputs, b.Name))
		if err := state.Save(ctx, cfg.Store, next, cfg.Now); err != nil {
			return fmt.Errorf("bundle %s is sealed, but the state could not record it as pending, so it was not published: %w", b.Name, err)
		}
		withPending = next
		cfg.hook(StepSeal)
		return nil
	}
	sealed, err := pipeline.Build(ctx, plan)
	if errors.Is(err, ErrNothingNew) {
		res.NothingNew = true
		return res, nil
	}
	if err != nil {
		return nil, err
	}

	// publish
	pres, err := pipeline.Deliver(ctx, plan, sealed)
	if err != nil {
		return nil, err
	}
	cfg.hook(StepPublish)

	// commit
	last := pres.Deliveries[len(pres.Deliveries)-1]
	next, entry := commitPending(withPending, last.Location, last.SHA256)
	if err := state.Save(ctx, cfg.Store, next, cfg.Now); err != nil {
		return nil, fmt.Errorf("bundle %s is sealed and published, but the state could not be written (the next run adopts it): %w", last.Location, err)
	}
	cfg.hook(StepCommit)
	res.Bundle, res.Entry, res.Lost, res.Alerts = pres, entry, c.lost, c.alerts
	return res, nil
}

// archiveName is the name the index records: NAME.tar.zst when an archive
// is written (tar, blob), else the directory's NAME.
func archiveName(outputs []pipeline.Deliverer, name string) string {
	for _, o := range outputs {
		if _, ok := o.(pipeline.Tar); ok {
			return name + manifest.ArchiveSuffix
		}
	}
	return name
}

// commitPending returns the state that records the pending bundle, published
// at location with the given SHA-256, and its index entry.
func commitPending(st *state.State, location, sum string) (*state.State, state.Entry) {
	p := st.Pending
	next := st.Clone()
	next.Pending = nil
	next.Tier = p.Tier
	next.Sources = p.Sources
	if next.Sources == nil {
		next.Sources = map[string]*state.Source{}
	}
	e := p.Entry
	e.Location, e.SHA256 = location, sum
	e.Bundle = path.Base(filepath.ToSlash(location))
	entry := next.Append(e)
	return next, entry
}

// settlePending adopts the bundle of an interrupted cycle when it is where
// that cycle publishes, with the same content; otherwise it removes the
// cycle's local leftovers and forgets it.
func settlePending(ctx context.Context, cfg *Config, st *state.State) (*state.State, *state.Entry, error) {
	p := st.Pending
	plan := cfg.Pipeline
	found, err := pipeline.Find(ctx, plan, p.Bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("state %s: the bundle %s of an interrupted run: %w", cfg.Store, p.Bundle, err)
	}
	log := plan.Log
	if last := found[len(found)-1]; last != nil {
		if last.Content != p.Content {
			return nil, nil, fmt.Errorf("state %s: %s is published but holds other content (SHA256SUMS %s, the state expects %s); it is not adopted: investigate", cfg.Store, last.Location, last.Content, p.Content)
		}
		next, entry := commitPending(st, last.Location, last.SHA256)
		if err := state.Save(ctx, cfg.Store, next, cfg.Now); err != nil {
			return nil, nil, err
		}
		if log != nil {
			log.Info("adopted the bundle an interrupted run published", "bundle", last.Location, "seq", entry.Seq)
		}
		cfg.hook(StepAdopt)
		return next, &entry, nil
	}
	// Not published: nothing outside this machine holds it.
	for _, leftover := range []string{p.Bundle, p.Bundle + manifest.ArchiveSuffix, p.Bundle + manifest.CustodySuffix,
		p.Bundle + manifest.ArchiveSuffix + ".upload.json", "." + p.Bundle + manifest.ArchiveSuffix + ".partial"} {
		if err := os.RemoveAll(filepath.Join(plan.Out, leftover)); err != nil {
			return nil, nil, err
		}
	}
	next := st.Clone()
	next.Pending = nil
	if err := state.Save(ctx, cfg.Store, next, cfg.Now); err != nil {
		return nil, nil, err
	}
	if log != nil {
		log.Warn("an interrupted run sealed a bundle it did not publish; it was removed and its interval is exported again", "bundle", p.Bundle)
	}
	return next, nil, nil
}

// scopeRun is one source and scope of a cycle, planned and then collected.
type scopeRun struct {
	plan     *scopePlan
	filter   *scopeFilter
	advanced bool
}

// cycle is the collector of one export cycle: it plans every source and
// scope once the tenant and its licence are known, then collects them.
type cycle struct {
	cfg      *Config
	st       *state.State
	runs     []*scopeRun
	tier     string
	interval manifest.Window
	lost     []Lost
	sealedAt string
	complete bool
	state    bool          // a State source was read: compare with the previous bundle
	alerts   []diff.Change // changes since the previous bundle that match a finding
}

// Collect implements pipeline.Collector: plan, then collect.
func (c *cycle) Collect(ctx context.Context, s *pipeline.Session) error {
	cfg := c.cfg
	if c.st == nil {
		c.st = state.New(state.Tenant{ID: s.Tenant.ID, Domain: s.Tenant.Domain})
	} else if !strings.EqualFold(c.st.Tenant.ID, s.Tenant.ID) {
		return &UsageError{fmt.Errorf("state %s belongs to tenant %s (%s), but these credentials read tenant %s (%s): use one state per tenant", cfg.Store, c.st.Tenant.ID, c.st.Tenant.Domain, s.Tenant.ID, s.Tenant.Domain)}
	}
	m := s.Manifest
	c.tier = cfg.Tier
	if c.tier == "auto" {
		switch {
		case s.Facts != nil && s.Facts.License == collect.LicenseFree:
			c.tier = TierFree
		case s.Facts != nil && s.Facts.License == collect.LicensePremium:
			c.tier = TierPremium
		case c.st.Tier != "":
			c.tier = c.st.Tier
			m.Warnings = append(m.Warnings, "licence probe inconclusive; using the tier seen last time: "+c.tier)
		default:
			c.tier = TierFree
			m.Warnings = append(m.Warnings, "licence probe inconclusive; assuming Entra ID Free (7-day retention), the shortest")
		}
	}
	fo := newFilterOutput(s.Stage)
	var sources []manifest.Source
	var start, end time.Time
	planned := false
	for _, name := range cfg.Sources {
		pol := Policies[name]
		if pol.PremiumOnly && c.tier == TierFree && !cfg.Explicit[name] {
			m.Warnings = append(m.Warnings, name+": not exported: Entra ID Free has no sign-in logs through Graph (licence)")
			continue
		}
		srcs, err := cfg.Collectors(name)
		if err != nil {
			return &UsageError{err}
		}
		if pol.Whole {
			for _, src := range srcs {
				if !planned {
					planned = true
					cfg.hook(StepPlan)
				}
				got, err := c.collectState(ctx, s, src)
				if err != nil {
					return err
				}
				sources = append(sources, got)
				p := c.runs[len(c.runs)-1].plan
				if start.IsZero() || p.from.Before(start) {
					start = p.from
				}
				if p.to.After(end) {
					end = p.to
				}
			}
			continue
		}
		set, ov := pol.Settle, pol.Overlap
		if d, ok := cfg.Settle[name]; ok {
			set = d
		}
		if d, ok := cfg.Overlap[name]; ok {
			ov = d
		}
		for _, src := range srcs {
			key := src.Name() // state and accounting per collector (e.g. signins.interactive)
			merged := manifest.Source{Export: &manifest.SourceExport{}}
			ran := false
			scopes := []*collect.User{nil}
			if len(s.Users) > 0 && !pol.TenantScope {
				scopes = scopes[:0]
				for i := range s.Users {
					scopes = append(scopes, &s.Users[i])
				}
			}
			if p, ok := src.(interface{ SetPrior([]manifest.Source) }); ok {
				p.SetPrior(sources)
			}
			for _, u := range scopes {
				scope := state.ScopeTenant
				if u != nil {
					scope = u.ID
				}
				prev := c.st.Scope(key, scope)
				p, err := planScope(key, scope, pol, c.tier, prev, cfg.Now, cfg.First, cfg.Backfill, set, ov)
				if err != nil {
					return err
				}
				p.user = u
				if p.gap != nil {
					merged.Missing = append(merged.Missing, *p.gap)
					c.lost = append(c.lost, Lost{key, *p.gap})
				}
				newFrom := p.from
				if p.gap != nil {
					newFrom, _ = time.Parse(time.RFC3339Nano, p.gap.Start)
				}
				if start.IsZero() || newFrom.Before(start) {
					start = newFrom
				}
				if p.to.After(end) {
					end = p.to
				}
				sr := &scopeRun{plan: p}
				c.runs = append(c.runs, sr)
				var prevMark time.Time
				if prev != nil && prev.Watermark != "" {
					prevMark, _ = time.Parse(time.RFC3339Nano, prev.Watermark)
				}
				sr.filter = newScopeFilter(prev, prevMark)
				es := manifest.ExportScope{Scope: scope, ReadFrom: manifest.FormatTime(p.readFrom), Watermark: manifest.FormatTime(p.to)}
				if prev != nil {
					es.Previous = prev.Watermark
				}
				if p.empty() {
					es.Watermark = es.Previous
					merged.Export.Scopes = append(merged.Export.Scopes, es)
					continue
				}
				if !planned {
					planned = true
					cfg.hook(StepPlan)
				}
				job := collect.Job{Window: collect.Window{Start: p.readFrom, End: p.to}, AllUsers: u == nil, Now: s.Started, PageSize: cfg.PageSize, Progress: s.Progress, Facts: s.Facts}
				switch {
				case u != nil:
					job.Users = []collect.User{*u}
				case pol.TenantScope && len(s.Users) > 0: // the tenant's, with the users' filtered copies
					job.Users, job.AllUsers = s.Users, false
				}
				fo.use(sr.filter)
				got, err := src.Collect(ctx, s.Client, job, fo)
				fo.use(nil)
				if err != nil {
					return pipeline.GraphFail(err)
				}
				ran = true
				sr.advanced = len(got.Windows) > 0
				for _, w := range got.Windows {
					if w.Status != manifest.StatusCollected {
						sr.advanced = false
					}
				}
				es.Advanced = sr.advanced
				if !sr.advanced {
					es.Watermark = es.Previous
					if p.gap != nil {
						es.Watermark = p.gap.End // the lost interval is accounted for
					}
				}
				merged.Name, merged.Endpoint, merged.Query, merged.API = got.Name, got.Endpoint, got.Query, got.API
				for _, f := range got.Files { // out-of-scope files appear only where some scope had any
					if !slices.Contains(merged.Files, f) {
						merged.Files = append(merged.Files, f)
					}
				}
				merged.OutOfScope += got.OutOfScope
				merged.Windows = append(merged.Windows, got.Windows...)
				merged.Missing = append(merged.Missing, got.Missing...)
				// Records the overlap re-read dropped, and those the source
				// dropped itself, are duplicates in the manifest's accounting:
				// records = windows' records - duplicates = lines written.
				merged.Duplicates += got.Duplicates + sr.filter.dropped
				for k, v := range got.Counts {
					if merged.Counts == nil {
						merged.Counts = map[string]int64{}
					}
					merged.Counts[k] += v
				}
				merged.Export.Deduplicated += sr.filter.dropped
				merged.Export.Late += sr.filter.late
				merged.Export.Revised += sr.filter.revised
				merged.Export.Scopes = append(merged.Export.Scopes, es)
			}
			if w, ok := src.(interface{ Warnings() []string }); ok && ran {
				m.Warnings = append(m.Warnings, w.Warnings()...)
			}
			if !ran && len(merged.Missing) == 0 {
				continue
			}
			if merged.Name == "" {
				merged.Name, merged.Status = key, manifest.StatusCollected
			}
			merged.Summarize()
			if merged.OutOfScope > 0 && merged.Reason == "" {
				merged.Reason = fmt.Sprintf("Graph returned %d records outside the asked user/window; the filter may have been ignored (kept apart in the %s files)", merged.OutOfScope, manifest.OutOfScopeSuffix)
			}
			sources = append(sources, merged)
		}
	}
	if len(sources) == 0 {
		return ErrNothingNew
	}
	c.interval = manifest.NewWindow(start, end)
	m.Requested = c.interval
	m.Sources = append(m.Sources, sources...)
	m.Export = &manifest.Export{State: cfg.Store.String(), Sequence: len(c.st.Index) + 1, Previous: c.st.Head(), Interval: c.interval}
	if c.state {
		if err := c.compare(ctx, s); err != nil {
			return err
		}
	}
	return s.Stage.Rename(bundle.ExportName(start, end))
}

// pending is the state's record of the sealed cycle: what the index and the
// sources become once the bundle is published.
func (c *cycle) pending(b *pipeline.Sealed, file string) *state.Pending {
	next := c.st.Clone()
	for _, r := range c.runs {
		commitScope(next, r, file)
	}
	return &state.Pending{
		Bundle: b.Name, Content: b.Content, Tier: c.tier, Sources: next.Sources,
		Entry: state.Entry{Interval: c.interval, Bundle: file, Complete: b.Manifest.Complete, Sealed: b.Manifest.CollectionEnd},
	}
}

// commitScope moves one scope's state forward after its bundle is sealed
// and published.
func commitScope(s *state.State, r *scopeRun, bundle string) {
	p := r.plan
	prev := s.Scope(p.source, p.scope)
	sc := &state.Scope{}
	if prev != nil {
		sc.Watermark = prev.Watermark
		sc.Gaps = append(sc.Gaps, prev.Gaps...)
		sc.Edge = state.Edge{Start: prev.Edge.Start, Records: append([]state.EdgeID(nil), prev.Edge.Records...)}
	}
	if p.gap != nil {
		sc.Gaps = append(sc.Gaps, state.Gap{Window: p.gap.Window, Reason: p.gap.Reason, Bundle: bundle})
		sc.Watermark = p.gap.End
	}
	if r.filter != nil {
		sc.Edge.Records = append(sc.Edge.Records, r.filter.ids...)
	}
	switch {
	case p.empty():
		if sc.Watermark == "" && sc.Edge.Start == "" {
			return // nothing was ever read for this scope
		}
	case r.advanced:
		sc.Watermark = manifest.FormatTime(p.to)
		edgeStart := p.to.Add(-p.overlap)
		if edgeStart.Before(p.readFrom) {
			edgeStart = p.readFrom
		}
		sc.Edge.Prune(edgeStart)
	default: // not complete: keep every id seen since the re-read start, resume there
		start := p.readFrom
		if es, err := time.Parse(time.RFC3339Nano, sc.Edge.Start); err == nil && es.Before(start) {
			start = es
		}
		sc.Edge.Prune(start)
	}
	s.SetScope(p.source, p.scope, sc)
}

// Span is the length of a manifest window.
func Span(w manifest.Window) time.Duration {
	a, _ := time.Parse(time.RFC3339Nano, w.Start)
	b, _ := time.Parse(time.RFC3339Nano, w.End)
	return b.Sub(a)
}

// WriteSettled writes, one line each, what the run did before its cycle:
// the bundles of interrupted runs it adopted, and those it quarantined.
func (r *Result) WriteSettled(w io.Writer) {
	if r.Adopted != nil {
		fmt.Fprintf(w, "  export: adopted bundle %d, %s, which an interrupted run published but did not record\n", r.Adopted.Seq, r.Adopted.Location)
	}
	for _, e := range r.AdoptedOrphans {
		fmt.Fprintf(w, "  export: adopted bundle %d, %s, found on disk without an index entry (this export sealed it as the next link of the chain)\n", e.Seq, e.Location)
	}
	for _, q := range r.Quarantined {
		if q.To == "" { // a blob: never moved
			fmt.Fprintf(w, "evidence: NOT ADOPTED %s, found in the blob container without an index entry (%s); a blob is never moved or overwritten: `export status --blob-url` lists it until it is removed\n", q.Path, q.Reason)
			continue
		}
		fmt.Fprintf(w, "evidence: QUARANTINED %s, found without an index entry and not adopted (%s): moved to %s\n", q.Path, q.Reason, q.To)
	}
	if r.NothingNew {
		fmt.Fprintf(w, "evidence: nothing new to export yet (every source's window is shorter than its settle time); state unchanged\n")
	}
}

// WriteCycle writes, one line each, what the cycle adds to grab's summary:
// every interval lost to retention, the index entry, the changes since the
// previous bundle and every alert among them.
func (r *Result) WriteCycle(w io.Writer, store fmt.Stringer) {
	for _, l := range r.Lost {
		scope := ""
		if l.Gap.Scope != state.ScopeTenant {
			scope = " (user " + l.Gap.Scope + ")"
		}
		fmt.Fprintf(w, "evidence: LOST %s%s [%s, %s), %s: %s\n", l.Source, scope, l.Gap.Start, l.Gap.End, Human(Span(l.Gap.Window)), l.Gap.Reason)
	}
	fmt.Fprintf(w, "  export: bundle %d of state %s, index head %s\n", r.Entry.Seq, store, r.Entry.Hash()[:16])
	if ch := r.Bundle.Manifest.Export.Changes; ch != nil {
		if ch.NotCompared != "" {
			fmt.Fprintf(w, "  export: changes since the previous bundle: not compared (%s)\n", ch.NotCompared)
		} else {
			fmt.Fprintf(w, "  export: changes since the previous bundle (%s): %d appeared, %d disappeared, %d changed\n", ch.File, ch.Appeared, ch.Disappeared, ch.Changed)
		}
	}
	for _, c := range r.Alerts {
		fmt.Fprintf(w, "evidence: ALERT %s %s %q (%s): matches finding %s\n", c.Kind, c.File, c.Name, c.ID, strings.Join(c.Findings, ", "))
	}
}
