package lawtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// User is a seeded user.
type User struct{ ID, UPN string }

// schemas are the seeded tables' columns (a subset of each table's real
// columns, with their API types), TimeGenerated and Type always present.
var schemas = map[string][]Column{
	"SigninLogs":                      signinCols,
	"AADNonInteractiveUserSignInLogs": signinCols,
	"AADServicePrincipalSignInLogs":   spCols,
	"AADManagedIdentitySignInLogs":    spCols,
	"AuditLogs": {{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"OperationName", "string"}, {"Category", "string"}, {"Result", "string"},
		{"InitiatedBy", "dynamic"}, {"TargetResources", "dynamic"}, {"CorrelationId", "string"}, {"Id", "string"}, {"Type", "string"}},
	"MicrosoftGraphActivityLogs": {{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"UserId", "string"}, {"AppId", "string"}, {"ServicePrincipalId", "string"},
		{"IPAddress", "string"}, {"RequestMethod", "string"}, {"RequestUri", "string"}, {"ResponseStatusCode", "int"}, {"ResponseSizeBytes", "long"}, {"RequestId", "string"}, {"Type", "string"}},
	"AADRiskyUsers": {{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"Id", "string"}, {"UserPrincipalName", "string"}, {"RiskLevel", "string"},
		{"RiskState", "string"}, {"RiskDetail", "string"}, {"RiskLastUpdatedDateTime", "datetime"}, {"Type", "string"}},
	"AADUserRiskEvents": {{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"UserId", "string"}, {"UserPrincipalName", "string"}, {"RiskEventType", "string"},
		{"RiskLevel", "string"}, {"IpAddress", "string"}, {"DetectedDateTime", "datetime"}, {"Location", "dynamic"}, {"Id", "string"}, {"Type", "string"}},
	"OfficeActivity": {{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"UserId", "string"}, {"UserKey", "string"}, {"Operation", "string"},
		{"OfficeWorkload", "string"}, {"ClientIP", "string"}, {"ResultStatus", "string"}, {"OfficeObjectId", "string"}, {"Type", "string"}},
}

var signinCols = []Column{{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"UserId", "string"}, {"UserPrincipalName", "string"},
	{"IPAddress", "string"}, {"AppDisplayName", "string"}, {"AppId", "string"}, {"ResultType", "string"}, {"LocationDetails", "dynamic"},
	{"DurationMs", "long"}, {"RiskScore", "real"}, {"IsInteractive", "bool"}, {"CorrelationId", "string"}, {"Id", "string"}, {"Type", "string"}}

var spCols = []Column{{"TenantId", "string"}, {"TimeGenerated", "datetime"}, {"ServicePrincipalId", "string"}, {"ServicePrincipalName", "string"},
	{"AppId", "string"}, {"IPAddress", "string"}, {"ResourceDisplayName", "string"}, {"ResultType", "string"}, {"Id", "string"}, {"Type", "string"}}

// DemoRows are the rows per user and table of the demo's workspace.
var DemoRows = map[string]int{"SigninLogs": 40, "AADNonInteractiveUserSignInLogs": 120, "AADServicePrincipalSignInLogs": 10,
	"AADManagedIdentitySignInLogs": 5, "AuditLogs": 12, "MicrosoftGraphActivityLogs": 60, "AADRiskyUsers": 1, "AADUserRiskEvents": 3, "OfficeActivity": 50}

// TableNames are the tables Seed fills.
var TableNames = []string{"SigninLogs", "AADNonInteractiveUserSignInLogs", "AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs",
	"AuditLogs", "MicrosoftGraphActivityLogs", "AADRiskyUsers", "AADUserRiskEvents", "OfficeActivity"}

const tenant = "72f988bf-0000-4000-8000-000000000001"

func str(v string) json.RawMessage { b, _ := json.Marshal(v); return b }

// dyn is a dynamic value as the API serves it: a string holding JSON.
func dyn(v any) json.RawMessage { b, _ := json.Marshal(v); return str(string(b)) }

func guid(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
}

// Seed fills every table of s with perUser rows for each user, at times
// spread over [start, end) with 100 ns resolution, plus rows at exactly
// start and exactly end (outside a half-open window), and service principal
// and managed identity sign-ins owned by no user. It returns the rows per
// table and owner, for ground truth.
func Seed(s *Server, seed uint64, users []User, start, end time.Time, perUser map[string]int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	span := end.Sub(start)
	for _, name := range TableNames {
		t := &Table{Columns: schemas[name]}
		owners := users
		if name == "AADServicePrincipalSignInLogs" || name == "AADManagedIdentitySignInLogs" {
			owners = []User{{ID: "", UPN: ""}}
		}
		for _, u := range owners {
			n := perUser[name]
			for i := 0; i < n+2; i++ {
				var at time.Time
				switch i {
				case n:
					at = start
				case n + 1:
					at = end
				default:
					at = start.Add(time.Duration(r.Int64N(int64(span/100))) * 100).Truncate(100 * time.Nanosecond)
				}
				rw, owner := row(r, name, u, users, at)
				t.Rows = append(t.Rows, rw)
				t.Owner = append(t.Owner, owner)
			}
		}
		s.Put(name, t)
	}
}

// row makes one row of table for u; owner lists the UPNs the row belongs
// to, joined by "|" (an audit belongs to its initiator and its target).
func row(r *rand.Rand, table string, u User, all []User, at time.Time) (_ []json.RawMessage, owner string) {
	owner = u.UPN
	ts := str(at.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	ip := str(fmt.Sprintf("203.0.113.%d", r.IntN(250)+1))
	switch table {
	case "SigninLogs", "AADNonInteractiveUserSignInLogs":
		return []json.RawMessage{str(tenant), ts, str(u.ID), str(u.UPN), ip, str("Office 365 Exchange Online"), str("00000002-0000-0ff1-ce00-000000000000"),
			str([]string{"0", "50126", "50074"}[r.IntN(3)]), dyn(map[string]any{"city": "Tokyo", "countryOrRegion": "JP"}),
			json.RawMessage("9007199254740993"), json.RawMessage("0.1"), json.RawMessage([]string{"true", "false"}[r.IntN(2)]),
			str(guid(r)), str(guid(r)), str(table)}, owner
	case "AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs":
		return []json.RawMessage{str(tenant), ts, str(guid(r)), str("app-" + guid(r)[:8]), str(guid(r)), ip, str("Microsoft Graph"), str("0"), str(guid(r)), str(table)}, owner
	case "AuditLogs":
		// Half initiated by the user, half done to the user by someone else.
		other := all[(r.IntN(len(all)))]
		init, target := u, other
		if r.IntN(2) == 0 {
			init, target = User{ID: guid(r), UPN: "admin@contoso.example"}, u
		}
		owner = init.UPN + "|" + target.UPN
		return []json.RawMessage{str(tenant), ts, str("Update user"), str("UserManagement"), str("success"),
			dyn(map[string]any{"user": map[string]any{"id": init.ID, "userPrincipalName": init.UPN}}),
			dyn([]any{map[string]any{"id": target.ID, "userPrincipalName": target.UPN, "type": "User"}}),
			str(guid(r)), str("Directory_" + guid(r)), str(table)}, owner
	case "MicrosoftGraphActivityLogs":
		return []json.RawMessage{str(tenant), ts, str(u.ID), str(guid(r)), str(guid(r)), ip, str("GET"),
			str("https://graph.microsoft.com/v1.0/me/messages?$top=50&$filter=x%20eq%20'é'"), json.RawMessage("200"), json.RawMessage("12345678901"), str(guid(r)), str(table)}, owner
	case "AADRiskyUsers":
		return []json.RawMessage{str(tenant), ts, str(u.ID), str(u.UPN), str("high"), str("atRisk"), str("none"), ts, str(table)}, owner
	case "AADUserRiskEvents":
		return []json.RawMessage{str(tenant), ts, str(u.ID), str(u.UPN), str("unfamiliarFeatures"), str("medium"), ip, ts,
			dyn(map[string]any{"city": "Osaka"}), str(guid(r)), str(table)}, owner
	case "OfficeActivity":
		return []json.RawMessage{str(tenant), ts, str(u.UPN), str(guid(r)), str("MailItemsAccessed"), str("Exchange"), ip, str("Succeeded"), str(guid(r)), str(table)}, owner
	}
	panic("lawtest: no schema for " + table)
}
