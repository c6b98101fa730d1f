package export

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
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
	if cred, credID, err = (pipeline.Conn{Auth: auth}).Credential(cred, credID); err != nil {
		return nil, nil, "", err
	}
	return store, cred, credID, nil
}

// BuildCollectors builds, before any request, the collectors of every
// source of cfg (signins: one per kind), configures each with its
// descriptor's Configure and the run's setup (the sources' option values,
// the credential, the case id; a source that keeps state, the unified
// audit log, keeps it in a work directory in out that the returned cleanup
// removes), and sets cfg.Collectors to hand them out. A source's bad
// options are refused here, with the error its Configure gives.
func (cfg *Config) BuildCollectors(setup collect.Setup, out string) (cleanup func(), err error) {
	dir := filepath.Join(out, ".evidence-export-ual-"+setup.CaseID[:8])
	cleanup = func() { os.RemoveAll(dir) }
	setup.StateDir = dir
	built := map[string][]collect.Source{}
	for _, name := range cfg.Sources {
		srcs, err := collect.SelectSources([]string{name}, collect.Config{Kinds: collect.SignInKinds})
		if err != nil {
			return cleanup, &UsageError{err}
		}
		if built[name], err = collect.ConfigureSources(srcs, setup); err != nil {
			return cleanup, &UsageError{err}
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
