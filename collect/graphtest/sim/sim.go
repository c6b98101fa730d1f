// Package sim runs the simulated tenant as `evidence sim` does: its flags
// checked into a graphtest.Config, the server on a loopback address, its
// clock following the wall clock until the run is cancelled.
package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// Flags are the sim command's options that need checking, as its command
// line gives them; the rest are set on Config directly.
type Flags struct {
	Listen    string   // loopback host:port
	Token     string   // the bearer token accepted
	License   string   // free, p1 or p2
	TokenKind string   // delegated or app
	Reports   string   // the reports budget, REQUESTS/DURATION or unlimited
	UALReads  string   // the audit log query reads' budget (polls, pages); "" unlimited
	Now       string   // a fixed clock, RFC 3339; "" follows the wall clock
	Fail      []string // PATH=CODE or PATH=CODE@N
	Config    graphtest.Config
}

// Checked checks f before anything listens and returns the tenant's
// configuration. Its errors name the flag.
func (f Flags) Checked() (graphtest.Config, error) {
	cfg := f.Config
	if f.Token == "" {
		return cfg, fmt.Errorf("--token is required: the bearer token the simulated tenant accepts")
	}
	switch f.License {
	case "free", "p1", "p2":
	default:
		return cfg, fmt.Errorf("--license %q: use free, p1 or p2", f.License)
	}
	switch f.TokenKind {
	case "delegated", "app":
	default:
		return cfg, fmt.Errorf("--token-kind %q: use delegated or app", f.TokenKind)
	}
	host, _, _ := strings.Cut(f.Listen, ":")
	if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
		return cfg, fmt.Errorf("--listen %q: the simulator serves loopback addresses only (127.0.0.1:PORT)", f.Listen)
	}
	b, err := collect.ParseBudget(f.Reports)
	if err != nil {
		return cfg, fmt.Errorf("--reports-budget: %w", err)
	}
	if f.UALReads != "" {
		rb, err := collect.ParseBudget(f.UALReads)
		if err != nil {
			return cfg, fmt.Errorf("--ual-read-budget: %w", err)
		}
		cfg.UAL.Reads = graphtest.Budget{Requests: rb.Requests, Per: rb.Per}
	}
	if f.Now != "" {
		t, err := collect.ParseWhen(f.Now, time.Now())
		if err != nil {
			return cfg, fmt.Errorf("--now: %w", err)
		}
		cfg.Now = t
	}
	for _, rule := range f.Fail {
		if err := cfg.AddFail(rule); err != nil {
			return cfg, fmt.Errorf("--fail %q: %w", rule, err)
		}
	}
	cfg.Token, cfg.License, cfg.TokenKind = f.Token, graphtest.License(f.License), graphtest.TokenKind(f.TokenKind)
	cfg.Reports = graphtest.Budget{Requests: b.Requests, Per: b.Per}
	return cfg, nil
}

// Serve listens on f.Listen with cfg (from Checked), prints the base URL on
// stdout, and serves until ctx is cancelled; the tenant's clock follows the
// wall clock unless f.Now fixed it. Violations of the documented contract
// are logged as warnings.
func Serve(ctx context.Context, f Flags, cfg graphtest.Config, stdout io.Writer, log *slog.Logger) error {
	cfg.Logger = log
	srv, err := graphtest.Listen(f.Listen, cfg)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer srv.Close()
	fmt.Fprintln(stdout, srv.URL)
	log.Info("simulated tenant serving", "url", srv.URL, "license", f.License, "victim", srv.Tenant.Victim().UPN)
	if f.Now == "" {
		srv.Tenant.FollowWallClock(ctx)
	}
	<-ctx.Done()
	return nil
}
