package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
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
	deliver deliverOptions // --bundle, --blob-url, --retain, ...: as grab
	seal    sealOptions    // --sign-key, --tsa: as grab
	ual     ualFlags       // --ual-*: as grab

	// set programmatically (tests)
	credential collect.TokenSource
	now        func() time.Time
	publish    publisher // nil: keep the bundle in --out
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
index of the sealed bundles; the watermark advances only after the bundle
is sealed, verified and published. A run that fails leaves the state as it
was. Two runs on the same state never run at once: the second exits 2 and
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
			if res.path != "" {
				fmt.Fprintln(a.stdout, res.path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.state, "state", "", "where the export's state is kept: a directory, or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (credential: "+blob.EnvSAS+" or "+blob.EnvConnectionString+" from the environment, or the Entra ID --auth)")
	f.StringSliceVar(&o.sources, "sources", nil, "sources to export (default: "+strings.Join(exportDefaultSources, ", ")+", those this build has; sign-ins only where licensed)")
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
	lost []lostInterval
}

// lostInterval is a gap found by this run, for the loud report.
type lostInterval struct {
	source string
	gap    manifest.Gap
}

// scopeRun is one source and scope of a run, planned and then collected.
type scopeRun struct {
	plan     *scopePlan
	filter   *scopeFilter
	windows  []manifest.SubWindow
	advanced bool
}

// errNothingNew ends a run that found no window to read.
var errNothingNew = errors.New("nothing new to export yet")

// publisher delivers a sealed, verified bundle to where it is kept and
// proves it arrived intact; export advances the watermark only after it
// succeeds. The blob publisher (upload, write-once, read back and compare)
// plugs in here.
type publisher interface {
	Publish(ctx context.Context, path, sha256 string) (location string, err error)
}

// localPublisher keeps the bundle where grab wrote it (--out) and reads it
// back to check its SHA-256.
type localPublisher struct{}

// Publish implements publisher.
func (localPublisher) Publish(_ context.Context, path, sum string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return "", fmt.Errorf("%s reads back with SHA-256 %s, not %s", path, got, sum)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return abs, nil
}

// export runs one scheduled export.
func (a *app) export(ctx context.Context, o *exportOptions) (*exportResult, error) {
	nowf := o.now
	if o.nowSpec != "" {
		t, err := collect.ParseWhen(o.nowSpec, time.Now())
		if err != nil {
			return nil, usageErr("--now: %v", err)
		}
		nowf = func() time.Time { return t }
		o.now = nowf
	}
	if nowf == nil {
		nowf = time.Now
	}
	now := nowf().UTC().Truncate(time.Second)

	names, explicit, err := o.sourceList()
	if err != nil {
		return nil, err
	}
	settle, err := parseDurations("--settle", o.settle)
	if err != nil {
		return nil, err
	}
	overlap, err := parseDurations("--overlap", o.overlap)
	if err != nil {
		return nil, err
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
	switch o.tier {
	case "auto", tierFree, tierPremium:
	case "p1", "p2":
		o.tier = tierPremium
	default:
		return nil, usageErr("--tier %q: use auto, free or premium", o.tier)
	}
	cred, credID, err := stateCredential(o.state, o.credential, o.auth)
	if err != nil {
		return nil, err
	}
	store, err := openState(o.state, cred, credID, o.auth.Method)
	if err != nil {
		return nil, err
	}

	unlock, err := store.Lock(ctx, state.Holder{PID: os.Getpid(), Host: hostname(), Since: manifest.FormatTime(now)})
	if err != nil {
		return nil, failErr(err)
	}
	defer unlock()
	st, err := state.Load(ctx, store)
	if err != nil {
		return nil, failErr(err)
	}
	if st != nil {
		if p := st.VerifyChain(); len(p) > 0 {
			return nil, &exitError{code: ExitVerify, err: fmt.Errorf("state %s: the bundle index chain is broken at entry %d (%s); refusing to extend it: run `evidence export status` and investigate", store, p[0].Seq, p[0].Reason)}
		}
	}

	var (
		runs     []*scopeRun
		tier     string
		interval manifest.Window
		lost     []lostInterval
		next     *state.State
	)
	collectAll := func(ctx context.Context, c *collect.Client, run pipelineRun) ([]manifest.Source, error) {
		if st == nil {
			st = state.New(state.Tenant{ID: run.tenant.ID, Domain: run.tenant.Domain})
		} else if !strings.EqualFold(st.Tenant.ID, run.tenant.ID) {
			return nil, usageErr("state %s belongs to tenant %s (%s), but these credentials read tenant %s (%s): use one state per tenant", store, st.Tenant.ID, st.Tenant.Domain, run.tenant.ID, run.tenant.Domain)
		}
		tier = o.tier
		if tier == "auto" {
			t, err := probeTier(ctx, c)
			if err != nil {
				return nil, err
			}
			switch {
			case t != "":
				tier = t
			case st.Tier != "":
				tier = st.Tier
				run.m.Warnings = append(run.m.Warnings, "licence probe inconclusive; using the tier seen last time: "+tier)
			default:
				tier = tierFree
				run.m.Warnings = append(run.m.Warnings, "licence probe inconclusive; assuming Entra ID Free (7-day retention), the shortest")
			}
		}
		fo := newFilterOutput(run.stage)
		var sources []manifest.Source
		var start, end time.Time
		for _, name := range names {
			pol := exportPolicies[name]
			if pol.premiumOnly && tier == tierFree && !explicit[name] {
				run.m.Warnings = append(run.m.Warnings, name+": not exported: Entra ID Free has no sign-in logs through Graph (licence)")
				continue
			}
			srcs := run.sources[name] // configured by grab (ual: options and state; signins: one per kind)
			if len(srcs) == 0 {
				s, _ := newSource(name)
				srcs = []collect.Source{s}
			}
			set, ov := pol.settle, pol.overlap
			if d, ok := settle[name]; ok {
				set = d
			}
			if d, ok := overlap[name]; ok {
				ov = d
			}
			for _, src := range srcs {
				key := src.Name() // state and accounting per collector (e.g. signins.interactive)
				merged := manifest.Source{Export: &manifest.SourceExport{}}
				ran := false
				scopes := []*collect.User{nil}
				if len(run.users) > 0 {
					scopes = scopes[:0]
					for i := range run.users {
						scopes = append(scopes, &run.users[i])
					}
				}
				for _, u := range scopes {
					scope := state.ScopeTenant
					if u != nil {
						scope = u.ID
					}
					prev := st.Scope(key, scope)
					p, err := planScope(key, scope, pol, tier, prev, now, first, o.backfill, set, ov)
					if err != nil {
						return nil, err
					}
					p.user = u
					if p.gap != nil {
						merged.Missing = append(merged.Missing, *p.gap)
						lost = append(lost, lostInterval{key, *p.gap})
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
					runs = append(runs, sr)
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
					job := collect.Job{Window: collect.Window{Start: p.readFrom, End: p.to}, AllUsers: u == nil, Now: run.started, PageSize: o.pageSize, Progress: run.prog}
					if u != nil {
						job.Users = []collect.User{*u}
					}
					fo.use(sr.filter)
					s, err := src.Collect(ctx, c, job, fo)
					fo.use(nil)
					if err != nil {
						return nil, graphFail(err)
					}
					ran = true
					sr.windows = s.Windows
					sr.advanced = len(s.Windows) > 0
					for _, w := range s.Windows {
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
					merged.Name, merged.Endpoint, merged.Query, merged.API = s.Name, s.Endpoint, s.Query, s.API
					for _, f := range s.Files { // out-of-scope files appear only where some scope had any
						if !slices.Contains(merged.Files, f) {
							merged.Files = append(merged.Files, f)
						}
					}
					merged.OutOfScope += s.OutOfScope
					merged.Windows = append(merged.Windows, s.Windows...)
					merged.Missing = append(merged.Missing, s.Missing...)
					// Records the overlap re-read dropped, and those the source
					// dropped itself, are duplicates in the manifest's accounting:
					// records = windows' records - duplicates = lines written.
					merged.Duplicates += s.Duplicates + sr.filter.dropped
					for k, v := range s.Counts {
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
				if !ran && len(merged.Missing) == 0 {
					continue
				}
				if merged.Name == "" {
					merged.Name, merged.Status = key, manifest.StatusCollected
				}
				summarizeSource(&merged)
				sources = append(sources, merged)
			}
		}
		if len(sources) == 0 {
			return nil, errNothingNew
		}
		interval = manifest.NewWindow(start, end)
		run.m.Requested = interval
		run.m.Export = &manifest.Export{State: store.String(), Sequence: len(st.Index) + 1, Previous: st.Head(), Interval: interval}
		bundleName := "evidence-export-" + start.Format(time.RFC3339) + "--" + end.Format(time.RFC3339)
		if err := run.stage.Rename(bundleName); err != nil {
			return nil, failErr(err)
		}
		return sources, nil
	}

	g := &grabOptions{
		allUsers: len(o.users) == 0, users: o.users, since: "1s", sources: names, out: o.out, deliver: o.deliver, seal: o.seal, ual: o.ual,
		connOptions: o.connOptions, credential: cred, credentialID: credID, now: o.now,
		pipe: &pipeline{name: "evidence-export-" + now.Format(time.RFC3339), collect: collectAll},
	}
	res, err := a.grab(ctx, g)
	if errors.Is(err, errNothingNew) {
		fmt.Fprintf(a.stderr, "evidence: nothing new to export yet (every source's window is shorter than its settle time); state unchanged\n")
		return &exportResult{code: ExitOK}, nil
	}
	if err != nil {
		return nil, err
	}

	pub := o.publish
	if pub == nil {
		pub = localPublisher{}
	}
	location, err := pub.Publish(ctx, res.path, res.sha256)
	if err != nil {
		return nil, failErr(fmt.Errorf("bundle %s is sealed but publishing it failed, so the state was not advanced: %w", res.path, err))
	}

	next = st.Clone()
	next.Tier = tier
	for _, r := range runs {
		commitScope(next, r, filepath.Base(res.path))
	}
	entry := next.Append(state.Entry{Interval: interval, Bundle: filepath.Base(res.path), Location: location, SHA256: res.sha256,
		Complete: res.manifest.Complete, Sealed: res.manifest.CollectionEnd})
	if entry.Seq != res.manifest.Export.Sequence || entry.Prev != res.manifest.Export.Previous {
		return nil, failErr(errors.New("internal: the index changed while the state was locked"))
	}
	if err := state.Save(ctx, store, next, nowf()); err != nil {
		return nil, failErr(fmt.Errorf("bundle %s is sealed and published, but the state could not be written (the next run will export its interval again): %w", res.path, err))
	}
	for _, l := range lost {
		scope := ""
		if l.gap.Scope != state.ScopeTenant {
			scope = " (user " + l.gap.Scope + ")"
		}
		fmt.Fprintf(a.stderr, "evidence: LOST %s%s [%s, %s), %s: %s\n", l.source, scope, l.gap.Start, l.gap.End, human(mustSpan(l.gap.Window)), l.gap.Reason)
	}
	fmt.Fprintf(a.stderr, "  export: bundle %d of state %s, index head %s\n", entry.Seq, store, entry.Hash()[:16])
	code := res.code
	if len(lost) > 0 {
		code = ExitIncomplete
	}
	return &exportResult{path: res.path, code: code, lost: lost}, nil
}

// sourceList returns the sources to export, and which were named explicitly.
func (o *exportOptions) sourceList() ([]string, map[string]bool, error) {
	explicit := map[string]bool{}
	if len(o.sources) == 0 {
		var out []string
		for _, n := range exportDefaultSources {
			if _, ok := newSource(n); ok {
				out = append(out, n)
			}
		}
		return out, explicit, nil
	}
	var out []string
	for _, n := range o.sources {
		n = strings.TrimSpace(n)
		if _, ok := exportPolicies[n]; !ok {
			return nil, nil, usageErr("--sources: unknown source %q (known: %s)", n, strings.Join(exportDefaultSources, ", "))
		}
		if _, ok := newSource(n); !ok {
			return nil, nil, usageErr("--sources: %s is not collected by this build yet", n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
		explicit[n] = true
	}
	return sortedSources(out), explicit, nil
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

// summarizeSource fills a merged source's totals and status from its windows
// and gaps.
func summarizeSource(s *manifest.Source) {
	s.Status, s.Reason = manifest.StatusCollected, ""
	s.Records, s.Pages = -s.Duplicates-s.OutOfScope, 0
	for _, w := range s.Windows {
		s.Records += w.Records
		s.Pages += w.Pages
		if w.Status != manifest.StatusCollected && s.Status == manifest.StatusCollected {
			s.Status, s.Reason = w.Status, w.Reason
		}
	}
	if s.Status == manifest.StatusCollected && len(s.Missing) > 0 {
		s.Status, s.Reason = s.Missing[0].Status, s.Missing[0].Reason
	}
	if s.OutOfScope > 0 && s.Reason == "" {
		s.Reason = fmt.Sprintf("Graph returned %d records outside the asked user/window; the filter may have been ignored (kept apart in the %s files)", s.OutOfScope, manifest.OutOfScopeSuffix)
	}
}

func mustSpan(w manifest.Window) time.Duration {
	a, _ := time.Parse(time.RFC3339Nano, w.Start)
	b, _ := time.Parse(time.RFC3339Nano, w.End)
	return b.Sub(a)
}
