package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"sync"
)

// App is an application a user owns or consented to: the service principal
// and managed identity sign-ins of these apps are collected with the user.
type App struct {
	AppID string // application (client) id, what sign-ins carry as appId
	Name  string
	Via   string // "consent" (a delegated permission grant by the user) or "owner"
}

// UserApps finds the apps of a user: the clients of the user's delegated
// permission grants (/oauth2PermissionGrants?$filter=principalId eq '{id}',
// which, unlike /users/{id}/oauth2PermissionGrants, also works with
// application permissions; each client resolved through
// /servicePrincipals/{id}) and the applications and service principals the
// user owns (/users/{id}/ownedObjects). Sorted by appId.
func (c *Client) UserApps(ctx context.Context, userID string) ([]App, error) {
	base := c.BaseURL("v1.0") + "/users/" + url.PathEscape(userID)
	byID := map[string]App{}
	var clients []string
	grants := c.BaseURL("v1.0") + "/oauth2PermissionGrants?" + odataQuery("$filter", "principalId eq "+ODataString(userID))
	_, err := c.Pages(ctx, ClassDirectory, "users", grants, func(_ int, p *Page) error {
		for _, r := range p.Records {
			var g struct {
				ClientID string `json:"clientId"`
			}
			if json.Unmarshal(r, &g) == nil && g.ClientID != "" {
				clients = append(clients, g.ClientID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the consent grants of user %s: %w", userID, err)
	}
	for _, id := range clients {
		body, err := c.GetJSON(ctx, ClassDirectory, "users", c.BaseURL("v1.0")+"/servicePrincipals/"+url.PathEscape(id)+"?$select=id,appId,displayName")
		if err != nil {
			return nil, fmt.Errorf("resolving service principal %s of a consent grant: %w", id, err)
		}
		var sp struct {
			AppID       string `json:"appId"`
			DisplayName string `json:"displayName"`
		}
		if json.Unmarshal(body, &sp) == nil && sp.AppID != "" {
			byID[sp.AppID] = App{AppID: sp.AppID, Name: sp.DisplayName, Via: "consent"}
		}
	}
	_, err = c.Pages(ctx, ClassDirectory, "users", base+"/ownedObjects?$select=id,appId,displayName", func(_ int, p *Page) error {
		for _, r := range p.Records {
			var o struct {
				AppID       string `json:"appId"`
				DisplayName string `json:"displayName"`
			}
			if json.Unmarshal(r, &o) == nil && o.AppID != "" {
				if _, ok := byID[o.AppID]; !ok {
					byID[o.AppID] = App{AppID: o.AppID, Name: o.DisplayName, Via: "owner"}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the objects user %s owns: %w", userID, err)
	}
	out := make([]App, 0, len(byID))
	for _, a := range byID {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AppID < out[j].AppID })
	return out, nil
}

// AppCache remembers each user's apps for one run, so that the service
// principal and managed identity sources look them up once.
type AppCache struct {
	mu   sync.Mutex
	apps map[string][]App
	errs map[string]error
}

// Get returns the user's apps, looking them up on first use.
func (a *AppCache) Get(ctx context.Context, c *Client, userID string) ([]App, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apps == nil {
		a.apps, a.errs = map[string][]App{}, map[string]error{}
	}
	if apps, ok := a.apps[userID]; ok {
		return apps, a.errs[userID]
	}
	apps, err := c.UserApps(ctx, userID)
	a.apps[userID], a.errs[userID] = apps, err
	return apps, err
}
