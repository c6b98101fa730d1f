// Package tenant records the tenant's identity configuration an attacker
// changes to stay in after a compromise (Microsoft's guidance on recovering
// from systemic identity compromise: federation, conditional access, roles
// and application credentials): conditional access policies and named
// locations, every directory role assignment and eligibility, domains and
// the federation settings of each federated domain, the authorization
// policy, cross-tenant access settings, the authentication methods policy,
// and every application's and service principal's credentials (metadata,
// never secret values) and owners. It flags what the guides say to look at
// (tenant/findings.json).
//
// It only reads: every request is a GET listed in collect/catalog. Each part
// is its own JSON Lines file, records as Graph sent them (compacted), paged
// by @odata.nextLink, with a CSV view beside it; each part is one window of
// the manifest entry, and a refused part is recorded with Graph's answer
// and the permission or licence that would fix it.
package tenant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/catalog"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Name is the source's name in --sources and the manifest.
const Name = "tenant"

// Dir is the bundle folder of the source; findings go in FindingsPath.
const (
	Dir          = "tenant"
	FindingsPath = Dir + "/findings.json"
	FindingsCSV  = Dir + "/findings.csv"
)

// Source is the tenant posture source.
type Source struct{}

// Name implements collect.Source.
func (*Source) Name() string { return Name }

// part is one request (or one request per parent object) of the source.
type part struct {
	name     string // file base name, e.g. "conditional-access-policies"
	endpoint string // catalogue id
	url      string // absolute; for per-object parts see objects
	single   bool   // one object, not a collection
	cols     []collect.Column
	onRecord func(p snapshot.Pointer, rec gjson.Result)
	// onChild is onRecord for a per-object part, with the parent's id.
	onChild func(parent string, p snapshot.Pointer, rec gjson.Result)
}

type run struct {
	c     *collect.Client
	job   collect.Job
	out   collect.Output
	base  string
	src   manifest.Source
	sinks map[string]*sink
	f     *findings
}

type sink struct {
	w     collect.Sink
	lines int64
}

// Collect implements collect.Source.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	r := &run{c: c, job: job, out: out, base: c.BaseURL("v1.0"), sinks: map[string]*sink{}, f: newFindings(job),
		src: manifest.Source{Name: Name, Endpoint: "GET " + c.BaseURL("v1.0") + " (one query per part: windows[].query)",
			Query: "tenant configuration at collection time; windows[] are the read intervals, one per part"}}
	top := "&$top=999"
	if job.PageSize > 0 && job.PageSize < 999 {
		top = "&$top=" + strconv.Itoa(job.PageSize)
	}
	var domains, apps, sps []gjson.Result
	parts := []part{
		{name: "conditional-access-policies", endpoint: "ca.policies", url: r.base + "/identity/conditionalAccess/policies",
			cols: PolicyColumns, onRecord: r.f.policy},
		{name: "named-locations", endpoint: "ca.namedLocations", url: r.base + "/identity/conditionalAccess/namedLocations", cols: LocationColumns},
		{name: "role-assignments", endpoint: "roles.assignments", url: r.base + "/roleManagement/directory/roleAssignments?$expand=principal",
			cols: RoleColumns, onRecord: r.f.assignment},
		{name: "role-eligibility-schedules", endpoint: "roles.eligibilitySchedules",
			url: r.base + "/roleManagement/directory/roleEligibilitySchedules?$expand=principal", cols: RoleColumns, onRecord: r.f.eligibility},
		{name: "domains", endpoint: "domains.list", url: r.base + "/domains", cols: DomainColumns,
			onRecord: func(p snapshot.Pointer, rec gjson.Result) { domains = append(domains, rec); r.f.domain(p, rec) }},
	}
	for _, p := range parts {
		if err := r.fetch(ctx, p); err != nil {
			return r.src, err
		}
	}
	// Federation settings of each federated domain.
	var fed []string
	for _, d := range domains {
		if strings.EqualFold(d.Get("authenticationType").String(), "Federated") {
			fed = append(fed, d.Get("id").String())
		}
	}
	if err := r.perObject(ctx, part{name: "domain-federation", endpoint: "domains.federation", cols: FederationColumns,
		onChild: r.f.federation}, "domains", fed, func(id string) string {
		return r.base + "/domains/" + url.PathEscape(id) + "/federationConfiguration"
	}); err != nil {
		return r.src, err
	}
	parts = []part{
		{name: "authorization-policy", endpoint: "policies.authorization", url: r.base + "/policies/authorizationPolicy", single: true,
			cols: AuthorizationColumns, onRecord: r.f.authorization},
		{name: "cross-tenant-access-policy", endpoint: "policies.crossTenant", url: r.base + "/policies/crossTenantAccessPolicy", single: true,
			cols: CrossTenantColumns},
		{name: "cross-tenant-partners", endpoint: "policies.crossTenantPartners", url: r.base + "/policies/crossTenantAccessPolicy/partners",
			cols: PartnerColumns},
		{name: "authentication-methods-policy", endpoint: "policies.authenticationMethods", url: r.base + "/policies/authenticationMethodsPolicy",
			single: true, cols: AuthMethodsPolicyColumns},
		{name: "applications", endpoint: "applications.list", url: r.base + "/applications?$select=" + snapshot.AppSelect + top,
			cols: CredentialColumns, onRecord: func(p snapshot.Pointer, rec gjson.Result) { apps = append(apps, rec); r.f.credentials(p, rec) }},
		{name: "service-principals", endpoint: "serviceprincipals.list", url: r.base + "/servicePrincipals?$select=" + snapshot.SPSelect + top,
			cols: CredentialColumns, onRecord: func(p snapshot.Pointer, rec gjson.Result) { sps = append(sps, rec); r.f.credentials(p, rec) }},
	}
	for _, p := range parts {
		if err := r.fetch(ctx, p); err != nil {
			return r.src, err
		}
	}
	if err := r.perObject(ctx, part{name: "application-owners", endpoint: "applications.owners", cols: OwnerColumns}, "applications",
		ids(apps), func(id string) string { return r.base + "/applications/" + url.PathEscape(id) + "/owners" }); err != nil {
		return r.src, err
	}
	// Microsoft's first-party service principals have no owners in the
	// tenant; asking would cost one request each (hundreds in a real
	// tenant). They are counted in the window's reason instead.
	var own []gjson.Result
	skipped := 0
	for _, sp := range sps {
		if snapshot.MicrosoftTenant(sp.Get("appOwnerOrganizationId").String()) {
			skipped++
			continue
		}
		own = append(own, sp)
	}
	if err := r.perObject(ctx, part{name: "service-principal-owners", endpoint: "serviceprincipals.owners", cols: OwnerColumns}, "service-principals",
		ids(own), func(id string) string { return r.base + "/servicePrincipals/" + url.PathEscape(id) + "/owners" }); err != nil {
		return r.src, err
	}
	for i := range r.src.Windows {
		if w := &r.src.Windows[i]; skipped > 0 && w.Scope == "tenant" && strings.HasPrefix(w.Query, "service-principal-owners: ") {
			note := fmt.Sprintf("%d service principals owned by Microsoft's tenants not asked (first-party apps have no owners in the tenant)", skipped)
			if w.Reason != "" {
				note = w.Reason + "; " + note
			}
			w.Reason = note
		}
	}
	if err := snapshot.WriteReport(out, FindingsPath, FindingsCSV, Name, r.f.report()); err != nil {
		return r.src, &collect.FatalError{Err: err}
	}
	summarize(&r.src)
	for p := range r.sinks {
		r.src.Files = append(r.src.Files, p, collect.CSVPath(p))
	}
	r.src.Files = append(r.src.Files, FindingsPath, FindingsCSV)
	sort.Strings(r.src.Files)
	return r.src, nil
}

func ids(objs []gjson.Result) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Get("id").String())
	}
	return out
}

func file(name string) string { return Dir + "/" + name + ".jsonl" }

// fetch runs one part and records its window. Only errors that end the run
// are returned.
func (r *run) fetch(ctx context.Context, p part) error {
	started := time.Now().UTC()
	sw := manifest.SubWindow{Scope: "tenant", Query: p.name + ": GET " + strings.TrimPrefix(collect.RedactURL(p.url), r.base),
		Status: manifest.StatusCollected}
	n, pages, err := r.get(ctx, p, p.url, nil)
	sw.Records, sw.Pages = n, pages
	sw.Window = manifest.NewWindow(started, time.Now().UTC())
	if err != nil {
		var fe *collect.FatalError
		if errors.As(err, &fe) {
			return err
		}
		status, reason, fatal := classify(p.endpoint, err)
		if fatal {
			return &collect.FatalError{Err: err}
		}
		sw.Status, sw.Reason = status, reason
		r.f.notChecked(p.name, reason)
	}
	r.src.Windows = append(r.src.Windows, sw)
	return nil
}

// perObject runs one request per parent object (a domain's federation, an
// app's owners) into one file, with the parent's id in the CSV column
// noteName. The part is one window; a parent whose request failed gets its
// own window with the reason.
func (r *run) perObject(ctx context.Context, p part, from string, parents []string, url func(id string) string) error {
	started := time.Now().UTC()
	tmpl := strings.TrimPrefix(collect.RedactURL(url("{id}")), r.base)
	sw := manifest.SubWindow{Scope: "tenant", Query: fmt.Sprintf("%s: GET %s for each of %d objects", p.name, tmpl, len(parents)),
		Status: manifest.StatusCollected}
	if why := r.notCollected(from); why != "" {
		sw.Status, sw.Window = manifest.StatusUnavailable, manifest.NewWindow(started, started)
		sw.Reason = "not asked: it needs the ids from the part " + from + ", which was not collected (" + why + ")"
		r.src.Windows = append(r.src.Windows, sw)
		r.f.notChecked(p.name, sw.Reason)
		return nil
	}
	if len(parents) > 0 {
		if _, err := r.sink(p); err != nil { // every asked part has its file, even when empty
			return err
		}
	}
	var failed []manifest.SubWindow
	for _, id := range parents {
		t0 := time.Now().UTC()
		n, pages, err := r.get(ctx, p, url(id), map[string]string{"parent": id})
		sw.Records += n
		sw.Pages += pages
		if err == nil {
			continue
		}
		var fe *collect.FatalError
		if errors.As(err, &fe) {
			return err
		}
		status, reason, fatal := classify(p.endpoint, err)
		if fatal {
			return &collect.FatalError{Err: err}
		}
		failed = append(failed, manifest.SubWindow{Scope: id, Query: p.name + ": GET " + strings.TrimPrefix(collect.RedactURL(url(id)), r.base),
			Status: status, Reason: reason, Records: n, Pages: pages, Window: manifest.NewWindow(t0, time.Now().UTC())})
		r.f.notChecked(p.name+" "+id, reason)
	}
	sw.Window = manifest.NewWindow(started, time.Now().UTC())
	if len(failed) > 0 {
		sw.Reason = fmt.Sprintf("%d of %d objects not collected; see the windows of this part with their id as scope", len(failed), len(parents))
	}
	r.src.Windows = append(r.src.Windows, sw)
	r.src.Windows = append(r.src.Windows, failed...)
	return nil
}

// notCollected returns the reason the part named name was not collected,
// or "" when it was.
func (r *run) notCollected(name string) string {
	for _, w := range r.src.Windows {
		if strings.HasPrefix(w.Query, name+": ") && w.Status != manifest.StatusCollected {
			return w.Reason
		}
	}
	return ""
}

// get reads one URL (one object or every page of a collection) into the
// part's file and returns the records and pages read.
func (r *run) get(ctx context.Context, p part, u string, notes map[string]string) (int64, int64, error) {
	var n int64
	write := func(rec []byte) error {
		s, err := r.sink(p)
		if err != nil {
			return err
		}
		rec, _ = snapshot.ScrubSecrets(rec)
		if ns, ok := s.w.(record.NotedSink); ok && notes != nil {
			err = ns.WriteNoted(rec, notes)
		} else {
			err = s.w.Write(rec)
		}
		if err != nil {
			return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", Name, file(p.name), err)}
		}
		s.lines++
		n++
		if p.onRecord != nil || p.onChild != nil {
			sum := sha256.Sum256(rec)
			parsed := gjson.ParseBytes(rec)
			ptr := snapshot.Pointer{File: file(p.name), Line: s.lines, ID: parsed.Get("id").String(), SHA256: hex.EncodeToString(sum[:])}
			if p.onRecord != nil {
				p.onRecord(ptr, parsed)
			} else {
				p.onChild(notes["parent"], ptr, parsed)
			}
		}
		return nil
	}
	if p.single {
		body, err := r.c.GetJSON(ctx, collect.ClassDirectory, Name, u)
		if err != nil {
			return 0, 0, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, body); err != nil {
			return 0, 1, fmt.Errorf("answer is not valid JSON: %w", err)
		}
		return n, 1, write(buf.Bytes())
	}
	pages, err := r.c.Pages(ctx, collect.ClassDirectory, Name, u, func(_ int, pg *collect.Page) error {
		if _, err := r.sink(p); err != nil {
			return err
		}
		for _, rec := range pg.Records {
			if err := write(rec); err != nil {
				return err
			}
		}
		if r.job.Progress != nil {
			r.job.Progress.Add(Name, len(pg.Records), 1)
		}
		return nil
	})
	return n, int64(pages), err
}

// sink opens the part's file on first use, so a refused part leaves no
// empty file that could be read as "nothing there".
func (r *run) sink(p part) (*sink, error) {
	path := file(p.name)
	if s := r.sinks[path]; s != nil {
		return s, nil
	}
	w, err := r.out.Open(path, Name, p.cols)
	if err != nil {
		return nil, &collect.FatalError{Err: fmt.Errorf("%s: %w", Name, err)}
	}
	s := &sink{w: w}
	r.sinks[path] = s
	return s, nil
}

// classify is collect.Classify with reasons that name what would fix a
// refusal: the endpoint's permissions and role from the catalogue, or the
// licence.
func classify(endpoint string, err error) (status, reason string, fatal bool) {
	status, reason, fatal = collect.Classify(err)
	var ge *collect.GraphError
	if fatal || !errors.As(err, &ge) {
		return status, reason, fatal
	}
	e := catalog.ByID(endpoint)
	fix := ""
	if e != nil {
		fix = "; fix: grant " + e.Application + " (application) or " + e.Delegated + " (delegated)"
		if e.Role != "" {
			fix += " with the role " + e.Role
		}
	}
	switch {
	case ge.Status == 403 && (ge.Code == "AadPremiumLicenseRequired" || ge.Code == collect.CodeNoPremium):
		lic := ""
		if e != nil {
			lic = e.Licence
		}
		return manifest.StatusUnavailable, "licence: the tenant lacks " + lic + " (" + ge.Error() + "); fix: license the tenant, nothing to grant", false
	case ge.Status == 403:
		return manifest.StatusUnavailable, "permission: " + ge.Error() + fix, false
	case ge.Status == 404 || ge.Status == 501:
		return manifest.StatusUnavailable, "not available in this tenant or cloud: " + ge.Error() +
			"; fix: check that the feature is enabled and that the request is documented for this cloud", false
	}
	return status, reason, fatal
}

// summarize is Source.Summarize with the source's reason: how many parts
// were not collected.
func summarize(s *manifest.Source) {
	s.Summarize()
	bad := 0
	for _, w := range s.Windows {
		if w.Status != manifest.StatusCollected {
			bad++
		}
	}
	if bad > 0 {
		s.Reason = fmt.Sprintf("%d of %d parts not collected; see windows[].reason", bad, len(s.Windows))
	}
}
