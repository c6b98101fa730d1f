package snapshot

import (
	"context"
	"strconv"
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/tidwall/gjson"
)

// AppSelect are the application properties the findings need.
const AppSelect = "id,appId,displayName,createdDateTime,publisherDomain,signInAudience,verifiedPublisher,passwordCredentials,keyCredentials"

// GuestSelect are the guest properties a responder needs.
const GuestSelect = "id,displayName,mail,userPrincipalName,userType,createdDateTime,creationType,externalUserState,accountEnabled"

// tenant collects the tenant-wide objects: guests, app registrations,
// service principals (before consents, which are judged by them) and every
// delegated permission grant.
func (r *run) tenant(ctx context.Context) error {
	top := r.job.PageSize
	if top <= 0 || top > 999 {
		top = 999
	}
	t := "&$top=" + strconv.Itoa(top)
	file := func(name string) string { return Dir + "/tenant/" + name + ".jsonl" }
	sps := map[string]gjson.Result{}
	type grantRec struct {
		p   Pointer
		rec gjson.Result
	}
	var grants []grantRec
	parts := []part{
		{name: "guests", url: r.base + "/users?$filter=" + collect.QueryEscape("userType eq 'Guest'") + "&$select=" + GuestSelect + t,
			cols: GuestColumns, onRecord: func(p Pointer, rec gjson.Result) { r.f.guest(p, rec) }},
		{name: "applications", url: r.base + "/applications?$select=" + AppSelect + t,
			cols: ObjectColumns, onRecord: func(p Pointer, rec gjson.Result) { r.f.appObject(userRef{}, p, rec) }},
		{name: "service-principals", url: r.base + "/servicePrincipals?$select=" + SPSelect + t,
			cols: SPColumns, onRecord: func(p Pointer, rec gjson.Result) {
				sps[strings.ToLower(rec.Get("id").String())] = gjson.Parse(rec.Raw)
				r.f.appObject(userRef{}, p, rec)
			}},
		{name: "oauth2-permission-grants", url: r.base + "/oauth2PermissionGrants",
			cols: GrantColumns, onRecord: func(p Pointer, rec gjson.Result) { grants = append(grants, grantRec{p, gjson.Parse(rec.Raw)}) }},
	}
	spsOK := true
	for _, p := range parts {
		p.scope, p.file = "tenant", file(p.name)
		sw, err := r.fetch(ctx, p)
		if err != nil {
			return err
		}
		if !r.add(sw) {
			r.f.notChecked("tenant "+p.name, "tenant", sw.Reason)
			if p.name == "service-principals" {
				spsOK = false
			}
		}
	}
	for _, g := range grants {
		sp, ok := sps[strings.ToLower(g.rec.Get("clientId").String())]
		if !ok && !spsOK {
			continue // already listed as not checked
		}
		r.f.consent(userRef{id: g.rec.Get("principalId").String()}, g.p, g.rec, sp, true)
	}
	return nil
}
