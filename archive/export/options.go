package export

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/manifest"
)

// Options are export's command-line options as given. Check turns them
// into a Config before any request.
type Options struct {
	State    string   // --state: a directory or a blob URL
	Sources  []string // --sources; none: DefaultSources this build has
	Users    []string // --user; none: the whole tenant
	Backfill bool     // --backfill
	Since    string   // --since: where a source never exported starts
	Settle   []string // --settle SOURCE=DURATION
	Overlap  []string // --overlap SOURCE=DURATION
	Tier     string   // --tier: auto, free, premium
	Now      string   // --now: plan as if it were this time (tests)
	// Given reports whether a flag was set on the command line (a
	// source's own flags, e.g. --workspace); nil: none.
	Given func(flag string) bool
}

// Check checks the options and returns the Config they give (without the
// store, the collectors and the pipeline plan, which the command wires)
// and the run's clock: clock, or the fixed --now. Its errors are
// *UsageError.
func (o Options) Check(clock func() time.Time) (Config, func() time.Time, error) {
	if clock == nil {
		clock = time.Now
	}
	if o.Now != "" {
		t, err := collect.ParseWhen(o.Now, time.Now())
		if err != nil {
			return Config{}, nil, &UsageError{fmt.Errorf("--now: %w", err)}
		}
		clock = func() time.Time { return t }
	}
	now := clock().UTC().Truncate(time.Second)
	cfg := Config{Users: o.Users, Backfill: o.Backfill, Now: now,
		Holder: state.Holder{PID: os.Getpid(), Host: pipeline.Hostname(), Since: manifest.FormatTime(now)}}
	var err error
	if cfg.Sources, cfg.Explicit, err = SelectSources(o.Sources, o.Given); err != nil {
		return cfg, nil, err
	}
	if cfg.Settle, err = ParseDurations("--settle", o.Settle); err != nil {
		return cfg, nil, err
	}
	if cfg.Overlap, err = ParseDurations("--overlap", o.Overlap); err != nil {
		return cfg, nil, err
	}
	if o.Since != "" {
		if o.Backfill {
			return cfg, nil, &UsageError{fmt.Errorf("--since and --backfill exclude each other")}
		}
		if cfg.First, err = collect.ParseWhen(o.Since, now); err != nil {
			return cfg, nil, &UsageError{fmt.Errorf("--since: %w", err)}
		}
	}
	if cfg.Tier, err = ParseTier(o.Tier); err != nil {
		return cfg, nil, err
	}
	return cfg, clock, nil
}

// Connect opens the state of --state and returns it with the credential
// the run uses for Graph, the state and any blob output, and that
// credential's identity for the manifest: have when the caller made one
// (tests: the simulator's token), else the one --auth signs in with.
func Connect(spec string, have collect.TokenSource, auth collect.AuthOptions) (state.Store, collect.TokenSource, string, error) {
	cred, credID, err := StateCredential(spec, have, auth)
	if err != nil {
		return nil, nil, "", err
	}
	store, err := OpenState(spec, cred, credID, auth.Method)
	if err != nil {
		return nil, nil, "", err
	}
	switch {
	case cred == nil:
		if cred, credID, err = collect.Credential(auth); err != nil {
			return nil, nil, "", &UsageError{err}
		}
	case credID == "":
		credID = "in-process simulator token"
	}
	return store, cred, credID, nil
}

// BuildCollectors builds, before any request, the collectors of every source
// of cfg (signins: one per kind; ual: with opt, its case id and a work
// directory in out that the returned cleanup removes) and sets
// cfg.Collectors to hand them out. configure, when not nil, completes the
// collectors' options (a source's own flags) and may refuse them.
func (cfg *Config) BuildCollectors(opt ual.Options, caseID, out string, configure func([]collect.Source) error) (cleanup func(), err error) {
	dir := filepath.Join(out, ".evidence-export-ual-"+caseID[:8])
	cleanup = func() { os.RemoveAll(dir) }
	built := map[string][]collect.Source{}
	var all []collect.Source
	for _, name := range cfg.Sources {
		srcs, err := collect.SelectSources([]string{name}, collect.Config{Kinds: collect.SignInKinds})
		if err != nil {
			return cleanup, &UsageError{err}
		}
		for _, src := range srcs {
			if u, ok := src.(*ual.Source); ok {
				o := opt
				o.CaseID, o.StateDir = caseID, filepath.Join(dir, "ual")
				u.Opt, u.Log = o, cfg.Pipeline.Log
			}
		}
		built[name] = srcs
		all = append(all, srcs...)
	}
	if configure != nil {
		if err := configure(all); err != nil {
			return cleanup, err
		}
	}
	cfg.Collectors = func(name string) ([]collect.Source, error) {
		if srcs, ok := built[name]; ok {
			return srcs, nil
		}
		return nil, fmt.Errorf("export: no collectors built for %s", name)
	}
	return cleanup, nil
}
