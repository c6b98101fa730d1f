package catalog

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// GraphAppID is the application id of Microsoft Graph, whose service
// principal holds the app roles (application permissions) below.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// AppPermissionIDs are the ids of the Microsoft Graph application
// permissions (app roles) the catalogue names, as Microsoft's permissions
// reference lists them (https://learn.microsoft.com/en-us/graph/permissions-reference).
// The creation scripts check each against the tenant's Microsoft Graph
// service principal before granting it.
var AppPermissionIDs = map[string]string{
	"Application.Read.All":                   "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
	"AuditLog.Read.All":                      "b0afded3-3588-46d8-8b3d-9842eff778da",
	"AuditLogsQuery.Read.All":                "5e1e9171-754d-478c-812c-f1755a9a4c2d",
	"Directory.Read.All":                     "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
	"Domain.Read.All":                        "dbb9058a-0e50-45d7-ae91-66909b5d4664",
	"ExchangeMessageTrace.Read.All":          "89b20d8a-76e2-4057-867b-9961f800b9a4",
	"GroupMember.Read.All":                   "98830695-27a2-44f7-8c18-0c3ebc9698f6",
	"IdentityRiskEvent.Read.All":             "6e472fd1-ad78-48da-a0f0-97ab2c6b769e",
	"IdentityRiskyServicePrincipal.Read.All": "607c7344-0eed-41e5-823a-9695ebe1b7b0",
	"IdentityRiskyUser.Read.All":             "dc5007c0-2d7d-4c42-879c-2dab87571379",
	"Mail.Read":                              "810c84a8-4a9e-49e6-bf7d-12d183f40d01",
	"Mail.ReadBasic.All":                     "693c5e45-0940-467d-9b8a-1022fb9d42ef",
	"MailboxSettings.Read":                   "40f97065-369a-49f4-947c-6a255697ae91",
	"Organization.Read.All":                  "498476ce-e0fe-48b0-b801-37ba7e2685c6",
	"Policy.Read.All":                        "246dd0d5-5bd0-4def-940b-0421030a5b68",
	"RoleManagement.Read.Directory":          "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
	"SecurityAlert.Read.All":                 "472e4a4d-bb4a-4026-98d1-0b0d74cb74a5",
	"SecurityIncident.Read.All":              "45cc0394-e837-488b-a098-1918f48d186c",
	"ThreatHunting.Read.All":                 "dd98c7f5-2d42-42d3-a0e4-633161547251",
	"User.Read.All":                          "df021288-bdef-4463-88db-98f22de89214",
	"UserAuthenticationMethod.Read.All":      "38d9df27-64da-44fd-b7c5-a6fbac20248f",
}

// permissionNames splits "A and B" into its permissions.
func permissionNames(s string) []string {
	if s == NotSupported {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, " and ") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ApplicationPermissions are the distinct application permissions the
// catalogue's entries need, sorted: exactly what an unattended app
// registration is granted.
func ApplicationPermissions() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range Endpoints {
		for _, p := range permissionNames(e.Application) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Markers around the generated part of docs/permissions.md.
const (
	DocBegin = "<!-- BEGIN GENERATED from collect/catalog: go test ./collect/catalog -run TestPermissionsDoc -update -->"
	DocEnd   = "<!-- END GENERATED -->"
)

// Markdown renders the generated part of docs/permissions.md: every
// request with its permissions, role, licence, throttling class and
// reference page; the application permissions with their ids; and the
// scripts that create the app registration with exactly those.
func Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + s + "`"
	}
	perms := func(s string) string {
		if s == NotSupported {
			return "not supported"
		}
		var out []string
		for _, p := range permissionNames(s) {
			out = append(out, code(p))
		}
		return strings.Join(out, " and ")
	}
	w("%s\n\n", DocBegin)
	w("### Every request the tool can make\n\n")
	w("Least-privileged permissions as the reference page of each request lists them. A request whose\n")
	w("application permission is \"not supported\" is never sent by an app-only credential; the\n")
	w("manifest records the lookup as unavailable with what it cannot see.\n\n")
	w("| request | used for | delegated | application | role a delegated caller needs | licence | throttling | reference |\n")
	w("|---|---|---|---|---|---|---|---|\n")
	for _, e := range Endpoints {
		use := e.Use
		if e.Note != "" {
			use += " (" + e.Note + ")"
		}
		w("| `%s /%s%s` | %s | %s | %s | %s | %s | `%s` | %s |\n", e.Method, e.Version, e.Path, use,
			perms(e.Delegated), perms(e.Application), e.Role, e.Licence, e.Class, e.Doc)
	}
	w("\n### Application permissions for unattended use\n\n")
	w("Exactly these, all Microsoft Graph (`%s`) application permissions (app roles):\n\n", GraphAppID)
	w("| permission | id |\n|---|---|\n")
	for _, p := range ApplicationPermissions() {
		w("| `%s` | `%s` |\n", p, AppPermissionIDs[p])
	}
	w("\nAzure CLI (`az login` as an administrator who may consent to application permissions):\n\n")
	w("```sh real-tenant\nset -eu\nGRAPH=%s\n", GraphAppID)
	w("APP=$(az ad app create --display-name evidence-collector --sign-in-audience AzureADMyOrg --query appId -o tsv)\n")
	w("for p in")
	for _, p := range ApplicationPermissions() {
		w(" \\\n  %s=%s", AppPermissionIDs[p], p)
	}
	w("; do\n")
	w("  id=${p%%%%=*}; name=${p#*=}\n")
	w("  # refuse an id the tenant's Microsoft Graph does not know by that name\n")
	w("  got=$(az ad sp show --id \"$GRAPH\" --query \"appRoles[?id=='$id'].value | [0]\" -o tsv)\n")
	w("  [ \"$got\" = \"$name\" ] || { echo \"app role $id is '$got', not $name\" >&2; exit 1; }\n")
	w("  az ad app permission add --id \"$APP\" --api \"$GRAPH\" --api-permissions \"$id=Role\"\n")
	w("done\n")
	w("az ad sp create --id \"$APP\" >/dev/null\n")
	w("az ad app permission admin-consent --id \"$APP\"\n")
	w("echo \"client id: $APP\"\n```\n\n")
	w("Microsoft Graph PowerShell:\n\n")
	w("```powershell real-tenant\n")
	w("Connect-MgGraph -Scopes \"Application.ReadWrite.All\",\"AppRoleAssignment.ReadWrite.All\"\n")
	w("$graph = Get-MgServicePrincipal -Filter \"appId eq '%s'\"\n", GraphAppID)
	w("$perms = [ordered]@{\n")
	for _, p := range ApplicationPermissions() {
		w("  \"%s\" = \"%s\"\n", p, AppPermissionIDs[p])
	}
	w("}\n")
	w("foreach ($p in $perms.GetEnumerator()) {  # refuse an id the tenant's Microsoft Graph does not know by that name\n")
	w("  $role = $graph.AppRoles | Where-Object Id -eq $p.Value\n")
	w("  if ($role.Value -ne $p.Key) { throw \"app role $($p.Value) is '$($role.Value)', not $($p.Key)\" }\n")
	w("}\n")
	w("$app = New-MgApplication -DisplayName \"evidence-collector\" -SignInAudience AzureADMyOrg -RequiredResourceAccess @{\n")
	w("  ResourceAppId = \"%s\"\n", GraphAppID)
	w("  ResourceAccess = @($perms.Values | ForEach-Object { @{ Id = $_; Type = \"Role\" } })\n")
	w("}\n")
	w("$sp = New-MgServicePrincipal -AppId $app.AppId\n")
	w("foreach ($id in $perms.Values) {  # admin consent: one app role assignment per permission\n")
	w("  New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $sp.Id -PrincipalId $sp.Id -ResourceId $graph.Id -AppRoleId $id | Out-Null\n")
	w("}\n")
	w("\"client id: $($app.AppId)\"\n")
	w("```\n\n")
	w("Then add a certificate (`az ad app credential reset --id $APP --cert @cert.pem`, or\n")
	w("`Add-MgApplicationKey`) or use a managed identity; prefer either to a client secret.\n\n")
	w("%s\n", DocEnd)
	return b.String()
}

// GeneratedDoc checks the generated block of the documentation file at
// path (from the marker begin to the end marker after it, and the newline
// after that) against block, which carries its own markers. It reports
// whether the file is stale; with write, a stale file is rewritten with
// block in place (tests of generated documentation, run with -update).
func GeneratedDoc(path, begin, end, block string, write bool) (stale bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	doc := string(b)
	i := strings.Index(doc, begin)
	if i < 0 {
		return false, fmt.Errorf("%s: no generated block starting %q", path, begin)
	}
	j := strings.Index(doc[i:], end)
	if j < 0 {
		return false, fmt.Errorf("%s: generated block %q has no end %q", path, begin, end)
	}
	j += i + len(end)
	if j < len(doc) && doc[j] == '\n' {
		j++
	}
	want := doc[:i] + block + doc[j:]
	if want == doc {
		return false, nil
	}
	if write {
		return false, os.WriteFile(path, []byte(want), 0o644)
	}
	return true, nil
}
