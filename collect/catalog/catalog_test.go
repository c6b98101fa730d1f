package catalog

import (
	"flag"
	"regexp"
	"strings"
	"testing"
)

// Every entry names its method, version, path, permissions of both kinds,
// licence, throttling class and the reference page it comes from.
func TestEntriesComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Endpoints {
		if seen[e.ID] {
			t.Errorf("%s: duplicate id", e.ID)
		}
		seen[e.ID] = true
		if e.Method != "GET" && e.Method != "POST" {
			t.Errorf("%s: method %q", e.ID, e.Method)
		}
		if e.Version != "v1.0" && e.Version != "beta" {
			t.Errorf("%s: version %q", e.ID, e.Version)
		}
		if !strings.HasPrefix(e.Path, "/") || !strings.HasPrefix(e.Doc, "https://learn.microsoft.com/") {
			t.Errorf("%s: path %q or doc %q malformed", e.ID, e.Path, e.Doc)
		}
		if e.Delegated == "" || e.Application == "" || e.Licence == "" || e.Class == "" || e.Use == "" {
			t.Errorf("%s: permission, licence, class or use missing", e.ID)
		}
		if (e.MaxTop > 0) != contains(e.Options, "$top") {
			t.Errorf("%s: $top documented (%v) but MaxTop %d", e.ID, contains(e.Options, "$top"), e.MaxTop)
		}
		if (e.Expand != nil) != contains(e.Options, "$expand") {
			t.Errorf("%s: $expand an option (%v) but Expand list given (%v)", e.ID, contains(e.Options, "$expand"), e.Expand != nil)
		}
		if (e.Select != nil) != contains(e.Options, "$select") {
			t.Errorf("%s: $select an option (%v) but Select list given (%v)", e.ID, contains(e.Options, "$select"), e.Select != nil)
		}
		if strings.HasPrefix(e.Path, "/auditLogs/directoryAudits") && e.Application != "AuditLog.Read.All and Directory.Read.All" {
			t.Errorf("%s: directory audits need AuditLog.Read.All and Directory.Read.All, have %q", e.ID, e.Application)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestMatch(t *testing.T) {
	for path, want := range map[string]string{
		"/v1.0/auditLogs/signIns":                        "signins.v1",
		"/beta/auditlogs/signins":                        "signins.beta",
		"/v1.0/users/a%40b.com":                          "users.get",
		"/v1.0/users/abc/ownedObjects":                   "users.ownedObjects",
		"/v1.0/users/abc/messages/xyz/$value":            "users.messageMIME",
		"/v1.0/users/abc/mailFolders/inbox/messageRules": "users.messageRules",
		"/v1.0/users/abc/mailFolders/AAMk":               "users.mailFolder",
		"/v1.0/admin/exchange/tracing/messageTraces/4a/getDetailsByRecipient(recipientAddress='x%40y.com')": "messagetrace.details",
		"/beta/security/auditLog/queries/q1/records":                                                        "auditquery.records.beta",
		"/v1.0/users/abc/oauth2PermissionGrants":                                                            "",
		"/v1.0/servicePrincipals/x/owners":                                                                  "serviceprincipals.owners",
		"/v1.0/servicePrincipals/x/appRoleAssignedTo":                                                       "",
		"/v1.0/policies/authorizationPolicy":                                                                "policies.authorization",
		"/v2.0/users":                                                                                       "",
	} {
		got := ""
		if e := Match("GET", path); e != nil {
			got = e.ID
		}
		if got != want {
			t.Errorf("Match(GET %s) = %q, want %q", path, got, want)
		}
	}
	if e := Match("POST", "/beta/security/auditLog/queries"); e == nil || e.ID != "auditquery.create.beta" {
		t.Errorf("POST queries: %v", e)
	}
	if e := Match("GET", "/beta/security/auditLog/queries"); e != nil {
		t.Errorf("GET queries (listing) is not catalogued, matched %s", e.ID)
	}
}

func TestCheckQuery(t *testing.T) {
	for _, c := range []struct {
		id, query string
		bad       string // substring of the violation; "" for none
	}{
		{"signins.beta", "$filter=userId%20eq%20%27x%27&$top=1000&$orderby=createdDateTime%20desc", ""},
		{"signins.beta", "%24filter=userId%20eq%20%27x%27", "percent-encoded"},
		{"audits", "%24top=10", "percent-encoded"},
		{"signins.beta", "$top=1001", "page size"},
		{"signins.beta", "$top=10&$top=10", "more than once"},
		{"signins.beta", "$expand=x", "not supported"},
		{"serviceprincipals.get", "$select=id,publisherName", "publisherName"},
		{"serviceprincipals.get", "$select=id,appId,verifiedPublisher", ""},
		{"signins.v1", "$select=authenticationDetails", "authenticationDetails"},
		{"signins.beta", "$select=id,authenticationDetails", ""},
		{"messagetrace.list", "$top=5000", ""},
		{"messagetrace.list", "$filter=receivedDateTime%20ge%202026-11-01T00%3A00%3A00Z%20and%20receivedDateTime%20le%202026-11-05T06%3A12%3A37Z", ""},
		{"messagetrace.list", "$filter=receivedDateTime%20ge%202026-11-01T00%3A00%3A00Z%20and%20receivedDateTime%20le%202026-11-05T06%3A12%3A36.9999999Z", "YYYY-MM-DDThh:mm:ssZ"},
		{"messagetrace.list", "$top=5001", "page size"},
		{"users.ownedObjects", "$select=id&api-version=1", ""},
	} {
		e := ByID(c.id)
		vs := e.CheckQuery(c.query)
		got := ""
		for _, v := range vs {
			got += v.Message + ";"
		}
		if (c.bad == "") != (len(vs) == 0) || (c.bad != "" && !strings.Contains(got, c.bad)) {
			t.Errorf("%s ?%s: violations %q, want one with %q", c.id, c.query, got, c.bad)
		}
	}
}

func TestCheckToken(t *testing.T) {
	if v := ByID("users.ownedObjects").CheckToken(true); v == nil || v.Status != 403 || v.Code != "Authorization_RequestDenied" {
		t.Errorf("app-only ownedObjects: %v", v)
	}
	if v := ByID("users.ownedObjects").CheckToken(false); v != nil {
		t.Errorf("delegated ownedObjects refused: %v", v)
	}
	if v := ByID("grants.list").CheckToken(true); v != nil {
		t.Errorf("app-only grants refused: %v", v)
	}
}

var update = flag.Bool("update", false, "rewrite the generated part of docs/permissions.md")

// TestPermissionsDoc: docs/permissions.md holds exactly what the catalogue
// generates (run with -update after changing the catalogue).
func TestPermissionsDoc(t *testing.T) {
	const path = "../../docs/permissions.md"
	stale, err := GeneratedDoc(path, DocBegin, DocEnd, Markdown(), *update)
	if err != nil {
		t.Fatal(err)
	}
	if stale {
		t.Errorf("%s is stale: run go test ./collect/catalog -run TestPermissionsDoc -update", path)
	}
}

// Every application permission the catalogue names has its id, in the
// form of a GUID, and no id is listed twice.
func TestAppPermissionIDs(t *testing.T) {
	seen := map[string]string{}
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	for _, p := range ApplicationPermissions() {
		id, ok := AppPermissionIDs[p]
		if !ok || !guid.MatchString(id) {
			t.Errorf("%s: id %q", p, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share id %s", p, other, id)
		}
		seen[id] = p
	}
	if len(AppPermissionIDs) != len(ApplicationPermissions()) {
		t.Errorf("%d ids for %d permissions: the table names a permission the catalogue does not need", len(AppPermissionIDs), len(ApplicationPermissions()))
	}
	for _, p := range ApplicationPermissions() {
		if p == "Directory.Read.All" {
			return
		}
	}
	t.Error("Directory.Read.All missing: directory audits need AuditLog.Read.All and Directory.Read.All")
}
