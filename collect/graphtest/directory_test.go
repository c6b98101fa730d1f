package graphtest

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

type userJSON struct {
	Context           string   `json:"@odata.context"`
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	Mail              string   `json:"mail"`
	ProxyAddresses    []string `json:"proxyAddresses"`
	AccountEnabled    *bool    `json:"accountEnabled"`
	CreatedDateTime   string   `json:"createdDateTime"`
}

func TestUserLookup(t *testing.T) {
	s := newTestServer(t, Config{ExtraUsers: 3})
	c := newClient(t)
	users := s.Tenant.Users()
	if len(users) != 7 || users[0].UPN != "victim@contoso.com" || users[3].UPN != "sōta@contoso.co.jp" || users[6].UPN != "user0003@contoso.com" {
		t.Fatalf("users %+v", users)
	}
	sota := users[3]
	for _, key := range []string{
		url.PathEscape("sōta@contoso.co.jp"),
		url.PathEscape("SŌTA@contoso.co.jp"),
		"s%C5%8Dta%40contoso.co.jp",
		sota.ID,
		strings.ToUpper(sota.ID),
	} {
		var u userJSON
		if err := json.Unmarshal(mustGet(t, c, s.URL+"/v1.0/users/"+key, 200), &u); err != nil {
			t.Fatal(err)
		}
		if u.ID != sota.ID || u.UserPrincipalName != "sōta@contoso.co.jp" || u.DisplayName != "田中 颯太" {
			t.Errorf("%s: %+v", key, u)
		}
		if u.Context != s.URL+"/v1.0/$metadata#users/$entity" {
			t.Errorf("context %q", u.Context)
		}
		// Graph's default property set does not include these.
		if u.ProxyAddresses != nil || u.AccountEnabled != nil {
			t.Errorf("default properties include non-default ones: %+v", u)
		}
	}
	var u userJSON
	b := mustGet(t, c, s.URL+"/v1.0/users/VICTIM@contoso.com?$select=id,userPrincipalName,displayName,mail,proxyAddresses,accountEnabled,createdDateTime", 200)
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	v := s.Tenant.Victim()
	if u.ID != v.ID || u.DisplayName != "Megan Bowen" || u.Mail != "victim@contoso.com" || u.AccountEnabled == nil || !*u.AccountEnabled ||
		strings.Join(u.ProxyAddresses, ",") != "SMTP:victim@contoso.com,smtp:v.user@contoso.com" || u.CreatedDateTime == "" {
		t.Errorf("victim: %s", b)
	}
	if !strings.Contains(u.Context, "#users(id,userPrincipalName,displayName,mail,proxyAddresses,accountEnabled,createdDateTime)/$entity") {
		t.Errorf("context %q", u.Context)
	}
	ge := expectError(t, c, s.URL+"/v1.0/users/nobody@contoso.com", 404, "Request_ResourceNotFound")
	if ge.Error.Message != "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present." {
		t.Errorf("message %q", ge.Error.Message)
	}
	expectError(t, c, s.URL+"/v1.0/users/victim@contoso.com?$select=password", 400, "BadRequest")
}

func TestUserList(t *testing.T) {
	s := newTestServer(t, Config{ExtraUsers: 250})
	c := newClient(t)
	var all []string
	next := s.URL + "/v1.0/users?$select=id,userPrincipalName"
	pages := 0
	for next != "" {
		var p struct {
			NextLink string     `json:"@odata.nextLink"`
			Value    []userJSON `json:"value"`
		}
		if err := json.Unmarshal(mustGet(t, c, next, 200), &p); err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Value {
			all = append(all, u.ID)
		}
		next = p.NextLink
		pages++
	}
	if len(all) != 254 || pages != 3 {
		t.Fatalf("%d users in %d pages", len(all), pages)
	}
	var p struct {
		Value []userJSON `json:"value"`
	}
	b := mustGet(t, c, logURL(s.URL, "/v1.0/users", "$filter", "proxyAddresses/any(x: x eq 'smtp:v.user@contoso.com')"), 200)
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Value) != 1 || p.Value[0].ID != s.Tenant.Victim().ID {
		t.Errorf("proxyAddresses filter: %s", b)
	}
	expectError(t, c, logURL(s.URL, "/v1.0/users", "$filter", "startswith(displayName,'A')"), 400, "Request_UnsupportedQuery")
}
