package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// App is an application a user owns, created or consented to: the service
// principal and managed identity sign-ins of these apps are collected with
// the user.
type App struct {
	AppID string // application (client) id, what sign-ins carry as appId
	Name  string
	Via   string // "consent", "owner" or "audit: <activity>"
}

// Lookup routes of a user's apps.
const (
	RouteConsent = "consent grants"   // /oauth2PermissionGrants?$filter=principalId eq
	RouteOwned   = "owned objects"    // /users/{id}/ownedObjects (delegated callers only)
	RouteAudits  = "directory audits" // apps the user created or changed, from the directory audits
)

// LookupRoute is one way a user's apps were looked up: whether it answered,
// and what it cannot see.
type LookupRoute struct {
	Route  string
	Status string // manifest.StatusCollected, StatusUnavailable or StatusFailed
	Reason string
}

// AppLookup is what a user's app lookup found, route by route. A refused
// route never drops the apps the others found.
type AppLookup struct {
	Apps   []App // sorted by appId
	Routes []LookupRoute
}

// appActivities are the directory audit activities by which a user creates
// an app or takes control of one (Entra audit activity names).
var appActivities = []string{"Add application", "Add service principal", "Add owner to application",
	"Add owner to service principal", "Update application – Certificates and secrets management",
	"Update application - Certificates and secrets management"}

func isAppActivity(name string) bool {
	name = strings.TrimSpace(name)
	for _, a := range appActivities {
		if strings.EqualFold(name, a) {
			return true
		}
	}
	return false
}

// UserApps finds the apps of a user by three routes, each recorded:
//   - the clients of the user's delegated permission grants
//     (/oauth2PermissionGrants?$filter=principalId eq '{id}', documented
//     for application permissions too; each client resolved through
//     /servicePrincipals/{id});
//   - the applications and service principals the user owns
//     (/users/{id}/ownedObjects): documented for delegated permissions
//     only, so an app-only client does not ask, and a refusal is recorded;
//   - the apps the user created or took control of within w, from the
//     directory audits the user initiated ("Add application", "Add service
//     principal", "Add owner to ...", "Update application – Certificates
//     and secrets management"), with each application's current owners
//     (/applications/{id}/owners).
//
// Only a fatal error (credentials, cancellation) is returned.
func (c *Client) UserApps(ctx context.Context, userID string, w Window) (AppLookup, error) {
	byID := map[string]App{}
	add := func(a App) {
		if a.AppID == "" {
			return
		}
		if _, ok := byID[a.AppID]; !ok {
			byID[a.AppID] = a
		}
	}
	var look AppLookup
	route := func(name string, err error, ok string) error {
		if err == nil {
			look.Routes = append(look.Routes, LookupRoute{Route: name, Status: manifest.StatusCollected, Reason: ok})
			return nil
		}
		status, reason, fatal := Classify(err)
		if fatal {
			return &FatalError{Err: err}
		}
		look.Routes = append(look.Routes, LookupRoute{Route: name, Status: status, Reason: reason})
		return nil
	}

	err := c.consentApps(ctx, userID, add)
	if e := route(RouteConsent, err, "apps the user consented to for themself; admin consent for all users is not a per-user grant"); e != nil {
		return look, e
	}
	err = c.ownedApps(ctx, userID, add)
	if e := route(RouteOwned, err, "applications and service principals the user owns now"); e != nil {
		return look, e
	}
	err = c.auditApps(ctx, userID, w, add)
	if e := route(RouteAudits, err, "apps the user created or took control of within "+w.String()+"; earlier ones show only through ownership"); e != nil {
		return look, e
	}
	for _, a := range byID {
		look.Apps = append(look.Apps, a)
	}
	sort.Slice(look.Apps, func(i, j int) bool { return look.Apps[i].AppID < look.Apps[j].AppID })
	return look, nil
}

func (c *Client) consentApps(ctx context.Context, userID string, add func(App)) error {
	var clients []string
	grants := c.BaseURL("v1.0") + "/oauth2PermissionGrants?" + odataQuery("$filter", "principalId eq "+ODataString(userID))
	_, err := c.Pages(ctx, ClassDirectory, "users", grants, func(_ int, p *Page) error {
		for _, r := range p.Records {
			if id := gjson.GetBytes(r, "clientId").String(); id != "" {
				clients = append(clients, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the consent grants of user %s: %w", userID, err)
	}
	var firstErr error
	for _, id := range clients {
		a, err := c.servicePrincipalApp(ctx, id)
		if err != nil {
			if _, _, fatal := Classify(err); fatal {
				return err
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("resolving service principal %s of a consent grant: %w", id, err)
			}
			continue
		}
		a.Via = "consent"
		add(a)
	}
	return firstErr
}

func (c *Client) servicePrincipalApp(ctx context.Context, spID string) (App, error) {
	body, err := c.GetJSON(ctx, ClassDirectory, "users", c.BaseURL("v1.0")+"/servicePrincipals/"+url.PathEscape(spID)+"?$select=id,appId,displayName")
	if err != nil {
		return App{}, err
	}
	return App{AppID: gjson.GetBytes(body, "appId").String(), Name: gjson.GetBytes(body, "displayName").String()}, nil
}

func (c *Client) ownedApps(ctx context.Context, userID string, add func(App)) error {
	u := c.BaseURL("v1.0") + "/users/" + url.PathEscape(userID) + "/ownedObjects?$select=id,appId,displayName"
	_, err := c.Pages(ctx, ClassDirectory, "users", u, func(_ int, p *Page) error {
		for _, r := range p.Records {
			add(App{AppID: gjson.GetBytes(r, "appId").String(), Name: gjson.GetBytes(r, "displayName").String(), Via: "owner"})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the objects user %s owns: %w", userID, err)
	}
	return nil
}

// auditApps reads the directory audits the user initiated within w and
// keeps the applications and service principals of app activities.
func (c *Client) auditApps(ctx context.Context, userID string, w Window, add func(App)) error {
	if w.Empty() {
		return nil
	}
	filter := "initiatedBy/user/id eq " + ODataString(userID) + " and " + RangeFilter("activityDateTime", w)
	u := c.BaseURL("v1.0") + "/auditLogs/directoryAudits?" + odataQuery("$filter", filter, "$top", "1000")
	type target struct{ id, typ, appID, name, activity string }
	var found []target
	_, err := c.Pages(ctx, ClassReports, "users", u, func(_ int, p *Page) error {
		for _, r := range p.Records {
			g := gjson.ParseBytes(r)
			act := g.Get("activityDisplayName").String()
			if !isAppActivity(act) || !strings.EqualFold(g.Get("initiatedBy.user.id").String(), userID) {
				continue
			}
			g.Get("targetResources").ForEach(func(_, t gjson.Result) bool {
				typ := t.Get("type").String()
				if !strings.EqualFold(typ, "Application") && !strings.EqualFold(typ, "ServicePrincipal") {
					return true
				}
				tg := target{id: t.Get("id").String(), typ: typ, name: t.Get("displayName").String(), activity: act}
				t.Get("modifiedProperties").ForEach(func(_, m gjson.Result) bool {
					if strings.EqualFold(m.Get("displayName").String(), "AppId") {
						var v []string
						nv := m.Get("newValue").String()
						if json.Unmarshal([]byte(nv), &v) == nil && len(v) > 0 {
							tg.appID = v[0]
						} else {
							tg.appID = strings.Trim(nv, `"[] `)
						}
					}
					return true
				})
				found = append(found, tg)
				return true
			})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the directory audits user %s initiated: %w", userID, err)
	}
	var firstErr error
	for _, tg := range found {
		a := App{AppID: tg.appID, Name: tg.name, Via: "audit: " + tg.activity}
		if a.AppID == "" && strings.EqualFold(tg.typ, "ServicePrincipal") && tg.id != "" {
			sp, err := c.servicePrincipalApp(ctx, tg.id)
			if err != nil {
				if _, _, fatal := Classify(err); fatal {
					return err
				}
				firstErr = errors.Join(firstErr, err)
				continue
			}
			a.AppID, a.Name = sp.AppID, sp.Name
		}
		if a.AppID == "" && strings.EqualFold(tg.typ, "Application") && tg.id != "" {
			body, err := c.GetJSON(ctx, ClassDirectory, "users", c.BaseURL("v1.0")+"/applications/"+url.PathEscape(tg.id)+"?$select=id,appId,displayName")
			if err != nil {
				if _, _, fatal := Classify(err); fatal {
					return err
				}
				firstErr = errors.Join(firstErr, fmt.Errorf("resolving application %s named in an audit: %w", tg.id, err))
				continue
			}
			a.AppID = gjson.GetBytes(body, "appId").String()
			if n := gjson.GetBytes(body, "displayName").String(); n != "" {
				a.Name = n
			}
		}
		if strings.EqualFold(tg.typ, "Application") && tg.id != "" {
			owner, err := c.ownsApplication(ctx, tg.id, userID)
			if err != nil {
				if _, _, fatal := Classify(err); fatal {
					return err
				}
			} else if owner {
				a.Via += " (owner now)"
			}
		}
		add(a)
	}
	return firstErr
}

// ownsApplication reports whether user is among the application's owners.
func (c *Client) ownsApplication(ctx context.Context, appObjectID, userID string) (bool, error) {
	owner := false
	u := c.BaseURL("v1.0") + "/applications/" + url.PathEscape(appObjectID) + "/owners?$select=id"
	_, err := c.Pages(ctx, ClassDirectory, "users", u, func(_ int, p *Page) error {
		for _, r := range p.Records {
			owner = owner || strings.EqualFold(gjson.GetBytes(r, "id").String(), userID)
		}
		return nil
	})
	return owner, err
}

// AppCache remembers each user's app lookup for one run, so that the
// service principal and managed identity sources look them up once.
type AppCache struct {
	mu   sync.Mutex
	look map[string]AppLookup
	errs map[string]error
}

// Get returns the user's app lookup over w, looking it up on first use.
func (a *AppCache) Get(ctx context.Context, c *Client, userID string, w Window) (AppLookup, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.look == nil {
		a.look, a.errs = map[string]AppLookup{}, map[string]error{}
	}
	if l, ok := a.look[userID]; ok {
		return l, a.errs[userID]
	}
	l, err := c.UserApps(ctx, userID, w)
	a.look[userID], a.errs[userID] = l, err
	return l, err
}
