package tenant

import "github.com/evidence-dfir/evidence/collect"

func init() {
	collect.Register(collect.Descriptor{
		Name:    Name,
		Summary: "the tenant's posture: conditional access, roles, domains and federation, policies, app and service principal credentials and owners, with findings",
		Order:   60,
		Default: collect.On,
		Files:   []collect.File{{Pattern: Dir + "/*.jsonl"}},
		Endpoints: []string{"organization", "ca.policies", "ca.namedLocations", "roles.assignments", "roles.eligibilitySchedules",
			"domains.list", "domains.federation", "policies.authorization", "policies.crossTenant", "policies.crossTenantPartners",
			"policies.authenticationMethods", "applications.list", "applications.owners", "serviceprincipals.list", "serviceprincipals.owners"},
		Split:  "state: one read per part",
		Resume: "read again",
		State:  true,
		New:    func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },
	})
}
