package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Tenant is what the collection records about the tenant.
type Tenant struct {
	ID          string
	DisplayName string
	Domain      string // default verified domain
}

// Organization reads /organization. These requests use hand-built URLs: the
// typed builders for /users and /organization live in msgraph-sdk-go
// packages that would add minutes to every cold build for two GETs.
func (c *Client) Organization(ctx context.Context) (Tenant, error) {
	body, err := c.GetJSON(ctx, ClassDirectory, "tenant", c.BaseURL("v1.0")+"/organization?$select=id,displayName,verifiedDomains")
	if err != nil {
		return Tenant{}, fmt.Errorf("reading the tenant (/organization): %w", err)
	}
	var org struct {
		Value []struct {
			ID              string `json:"id"`
			DisplayName     string `json:"displayName"`
			VerifiedDomains []struct {
				Name      string `json:"name"`
				IsDefault bool   `json:"isDefault"`
			} `json:"verifiedDomains"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &org); err != nil || len(org.Value) == 0 {
		return Tenant{}, errors.New("reading the tenant (/organization): unexpected answer")
	}
	o := org.Value[0]
	t := Tenant{ID: o.ID, DisplayName: o.DisplayName}
	for _, d := range o.VerifiedDomains {
		if d.IsDefault {
			t.Domain = d.Name
		}
	}
	return t, nil
}

// ResolveUser looks a user up by UPN or object id (/users/{id}).
func (c *Client) ResolveUser(ctx context.Context, who string) (User, error) {
	u := c.BaseURL("v1.0") + "/users/" + url.PathEscape(who) + "?$select=id,userPrincipalName,mail,proxyAddresses,displayName"
	body, err := c.GetJSON(ctx, ClassDirectory, "users", u)
	if err != nil {
		var ge *GraphError
		if errors.As(err, &ge) && ge.Status == 404 {
			return User{}, &UserNotFoundError{Who: who}
		}
		return User{}, fmt.Errorf("resolving user %q: %w", who, err)
	}
	var v struct {
		ID             string   `json:"id"`
		UPN            string   `json:"userPrincipalName"`
		Mail           string   `json:"mail"`
		ProxyAddresses []string `json:"proxyAddresses"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.ID == "" {
		return User{}, fmt.Errorf("resolving user %q: unexpected answer", who)
	}
	return User{Requested: who, ID: v.ID, UPN: v.UPN, Mail: v.Mail, ProxyAddresses: v.ProxyAddresses}, nil
}

// UserNotFoundError means the tenant has no such user.
type UserNotFoundError struct{ Who string }

// Error implements error.
func (e *UserNotFoundError) Error() string {
	return fmt.Sprintf("--user %q: no such user in the tenant (check the UPN or use the object id)", e.Who)
}

// ODataString quotes s as an OData string literal, doubling each quote.
func ODataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QueryEscape encodes a query value the way Graph's own nextLinks do:
// percent-encoded, spaces as %20.
func QueryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
