package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// Graph is the Microsoft Graph side of a plan: who to connect as, for whom,
// over which window, and which sources to collect.
type Graph struct {
	// Options configure the client; Run sets RequestLog (requests.jsonl in
	// the bundle).
	Options collect.Options
	// Users are resolved (UPN or object id) before anything is collected;
	// none with AllUsers collects tenant-wide.
	Users    []string
	AllUsers bool
	// Window is the half-open UTC window asked for.
	Window collect.Window
	// Sources are collected in order, over Window, into the bundle.
	Sources  []collect.Source
	PageSize int
	Split    *collect.Splitting
	// Probe asks for the licence even when no source needs it (export
	// plans its windows by the tier's retention). The probe runs once per
	// run, and its answer is Session.Facts.
	Probe bool
}

// connect creates the client (its request log in the bundle), reads the
// tenant, resolves the users, probes the licence once, and fills the
// manifest's tenant and users.
func (g *Graph) connect(ctx context.Context, p *Plan, s *Session) error {
	m := s.Manifest
	reqLog, err := s.Stage.Create(manifest.RequestsName, "provenance", bundle.MediaJSONL)
	if err != nil {
		return failErr(err)
	}
	opts := g.Options
	opts.RequestLog = reqLog
	if opts.Logger == nil {
		opts.Logger = s.Log
	}
	client, err := collect.New(opts)
	if err != nil {
		return usageErr("%v", err)
	}
	s.Client = client
	if pc, ok := s.Progress.(interface{ SetClient(*collect.Client) }); ok {
		pc.SetClient(client)
	}

	tenant, err := client.Organization(ctx)
	var tenantWarning string
	if ge := (*collect.GraphError)(nil); errors.As(err, &ge) && ge.Status == 403 {
		// The tenant's id and domain are metadata, not evidence: an app
		// granted only the log permissions still collects, and says so.
		tenantWarning = "tenant: /organization was refused (" + ge.Error() + "); the tenant's id and domain are not recorded (grant Organization.Read.All)"
		fmt.Fprintln(p.stderr(), "evidence: warning: "+tenantWarning)
	} else if err != nil {
		return GraphFail(err)
	}
	s.Tenant = tenant
	for _, who := range g.Users {
		u, err := client.ResolveUser(ctx, strings.TrimSpace(who))
		if err != nil {
			var nf *collect.UserNotFoundError
			if errors.As(err, &nf) {
				return usageErr("%v", err)
			}
			return GraphFail(err)
		}
		s.Users = append(s.Users, u)
	}
	m.Tenant = manifest.Tenant{ID: tenant.ID, Domain: tenant.Domain, DisplayName: tenant.DisplayName, GraphURL: client.GraphURL()}
	if tenantWarning != "" {
		m.Warnings = append(m.Warnings, tenantWarning)
	}
	for _, u := range s.Users {
		m.Users = append(m.Users, manifest.User{Requested: u.Requested, ID: u.ID, UPN: u.UPN, Mail: u.Mail})
	}

	if !g.Probe && !needsLicense(g.Sources) {
		return nil
	}
	facts, err := collect.Probe(ctx, client, s.Started)
	if err != nil {
		return GraphFail(err)
	}
	s.Facts = facts
	m.Tenant.License = facts.License
	m.Warnings = append(m.Warnings, "licence: "+facts.Reason)
	s.Log.Info("licence", "tier", facts.License, "retention", facts.Retention, "service_clock", collect.FormatTime(facts.Now))
	if len(g.Sources) > 0 {
		if kept, lost, why := facts.Clamp(g.Window); !lost.Empty() {
			s.Log.Warn("window clamped to the tenant's retention", "lost", lost.String(), "kept", kept.String(), "reason", why)
			m.Warnings = append(m.Warnings, "clamped: "+lost.String()+" is "+why+" and cannot be collected")
		}
	}
	if facts.License == collect.LicenseFree && needsSignIns(g.Sources, g.Probe) {
		fmt.Fprintln(p.stderr(), "evidence: sign-in logs unavailable: "+collect.HintNoPremium)
		m.Warnings = append(m.Warnings, "sign-in logs unavailable: "+collect.HintNoPremium)
	}
	return nil
}

// collect runs the plan's sources over its window, in order, each seeing
// the accounting of those before (the unified audit log reads the sign-ins'
// status: the Free-tier trail).
//
// A source carried from a partial bundle (see partial.go) is not collected
// again: its accounting is taken as it was sealed. A source that fails
// fatally stops the collection with a *stopped error.
func (g *Graph) collect(ctx context.Context, s *Session, carried *carry) error {
	m := s.Manifest
	job := collect.Job{Window: g.Window, Users: s.Users, AllUsers: g.AllUsers, Now: s.Started, PageSize: g.PageSize,
		Progress: s.Progress, Split: g.Split, Facts: s.Facts}
	for i, src := range g.Sources {
		if carried.has(src.Name()) {
			m.Sources = append(m.Sources, carried.sources[src.Name()])
			s.Log.Info("source carried from the partial bundle", "source", src.Name())
			continue
		}
		if p, ok := src.(interface{ SetPrior([]manifest.Source) }); ok {
			p.SetPrior(m.Sources)
		}
		got, err := src.Collect(ctx, s.Client, job, s.Stage)
		if w, ok := src.(interface{ Warnings() []string }); ok {
			m.Warnings = append(m.Warnings, w.Warnings()...)
		}
		if err != nil {
			return &stopped{err: err, got: got, src: src, rest: g.Sources[i+1:]}
		}
		if f, ok := s.Progress.(interface{ Flush() }); ok {
			f.Flush()
		}
		s.Log.Info("source done", "source", got.Name, "status", got.Status, "records", got.Records, "pages", got.Pages)
		if got.Status != manifest.StatusCollected || got.OutOfScope > 0 {
			s.Log.Warn("source incomplete", "source", got.Name, "status", got.Status, "out_of_scope", got.OutOfScope, "reason", got.Reason)
		}
		m.Sources = append(m.Sources, got)
	}
	return nil
}

// GraphFail turns a collection error into a failure with one clear line.
func GraphFail(err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	if p := collect.Explain(err); p != nil {
		return failErr(p) // one line: what happened, what to do (docs/cli.md)
	}
	var ge *collect.GraphError
	if errors.As(err, &ge) && (ge.Status == 401 || ge.Code == "credential") {
		return failErr(fmt.Errorf("Graph refused the credentials: %w (check --auth, --tenant, --client-id and the token's audience and expiry)", err))
	}
	return failErr(err)
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

// needsSignIns reports whether the run reads sign-ins (export probes for
// the tier of every source, and says itself what it skips).
func needsSignIns(srcs []collect.Source, probeOnly bool) bool {
	if probeOnly && len(srcs) == 0 {
		return false
	}
	return needsLicense(srcs)
}
