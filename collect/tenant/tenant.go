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
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/evidence-dfir/evidence/collect"
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

// Collect implements collect.Source.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	f := newFindings(job)
	r := NewParts(c, job, out, Name, Dir, "tenant configuration at collection time; windows[] are the read intervals, one per part", f.notChecked)
	base := r.Base()
	top := "&$top=999"
	if job.PageSize > 0 && job.PageSize < 999 {
		top = "&$top=" + strconv.Itoa(job.PageSize)
	}
	var domains, apps, sps []gjson.Result
	parts := []Part{
		{Name: "conditional-access-policies", Endpoint: "ca.policies", URL: base + "/identity/conditionalAccess/policies",
			Cols: PolicyColumns, OnRecord: f.policy},
		{Name: "named-locations", Endpoint: "ca.namedLocations", URL: base + "/identity/conditionalAccess/namedLocations", Cols: LocationColumns},
		{Name: "role-assignments", Endpoint: "roles.assignments", URL: base + "/roleManagement/directory/roleAssignments?$expand=principal",
			Cols: RoleColumns, OnRecord: f.assignment},
		{Name: "role-eligibility-schedules", Endpoint: "roles.eligibilitySchedules",
			URL: base + "/roleManagement/directory/roleEligibilitySchedules?$expand=principal", Cols: RoleColumns, OnRecord: f.eligibility},
		{Name: "domains", Endpoint: "domains.list", URL: base + "/domains", Cols: DomainColumns,
			OnRecord: func(p snapshot.Pointer, rec gjson.Result) { domains = append(domains, rec); f.domain(p, rec) }},
	}
	for _, p := range parts {
		if err := r.Fetch(ctx, p); err != nil {
			return r.Finish(), err
		}
	}
	// Federation settings of each federated domain.
	var fed []string
	for _, d := range domains {
		if strings.EqualFold(d.Get("authenticationType").String(), "Federated") {
			fed = append(fed, d.Get("id").String())
		}
	}
	if err := r.PerObject(ctx, Part{Name: "domain-federation", Endpoint: "domains.federation", Cols: FederationColumns,
		OnChild: f.federation}, "domains", fed, func(id string) string {
		return base + "/domains/" + url.PathEscape(id) + "/federationConfiguration"
	}); err != nil {
		return r.Finish(), err
	}
	parts = []Part{
		{Name: "authorization-policy", Endpoint: "policies.authorization", URL: base + "/policies/authorizationPolicy", Single: true,
			Cols: AuthorizationColumns, OnRecord: f.authorization},
		{Name: "cross-tenant-access-policy", Endpoint: "policies.crossTenant", URL: base + "/policies/crossTenantAccessPolicy", Single: true,
			Cols: CrossTenantColumns},
		{Name: "cross-tenant-partners", Endpoint: "policies.crossTenantPartners", URL: base + "/policies/crossTenantAccessPolicy/partners",
			Cols: PartnerColumns},
		{Name: "authentication-methods-policy", Endpoint: "policies.authenticationMethods", URL: base + "/policies/authenticationMethodsPolicy",
			Single: true, Cols: AuthMethodsPolicyColumns},
		{Name: "applications", Endpoint: "applications.list", URL: base + "/applications?$select=" + snapshot.AppSelect + top,
			Cols: CredentialColumns, OnRecord: func(p snapshot.Pointer, rec gjson.Result) { apps = append(apps, rec); f.credentials(p, rec) }},
		{Name: "service-principals", Endpoint: "serviceprincipals.list", URL: base + "/servicePrincipals?$select=" + snapshot.SPSelect + top,
			Cols: CredentialColumns, OnRecord: func(p snapshot.Pointer, rec gjson.Result) { sps = append(sps, rec); f.credentials(p, rec) }},
	}
	for _, p := range parts {
		if err := r.Fetch(ctx, p); err != nil {
			return r.Finish(), err
		}
	}
	if err := r.PerObject(ctx, Part{Name: "application-owners", Endpoint: "applications.owners", Cols: OwnerColumns}, "applications",
		ids(apps), func(id string) string { return base + "/applications/" + url.PathEscape(id) + "/owners" }); err != nil {
		return r.Finish(), err
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
	if err := r.PerObject(ctx, Part{Name: "service-principal-owners", Endpoint: "serviceprincipals.owners", Cols: OwnerColumns}, "service-principals",
		ids(own), func(id string) string { return base + "/servicePrincipals/" + url.PathEscape(id) + "/owners" }); err != nil {
		return r.Finish(), err
	}
	src := r.Source()
	for i := range src.Windows {
		if w := &src.Windows[i]; skipped > 0 && w.Scope == "tenant" && strings.HasPrefix(w.Query, "service-principal-owners: ") {
			note := fmt.Sprintf("%d service principals owned by Microsoft's tenants not asked (first-party apps have no owners in the tenant)", skipped)
			if w.Reason != "" {
				note = w.Reason + "; " + note
			}
			w.Reason = note
		}
	}
	if err := snapshot.WriteReport(out, FindingsPath, FindingsCSV, Name, f.report()); err != nil {
		return r.Finish(), &collect.FatalError{Err: err}
	}
	return r.Finish(FindingsPath, FindingsCSV), nil
}

func ids(objs []gjson.Result) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Get("id").String())
	}
	return out
}

func file(name string) string { return Dir + "/" + name + ".jsonl" }
