package workspace

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/kql"
	"github.com/evidence-dfir/evidence/collect/record"
)

// Match says how a table's column is compared with the asked users.
type Match struct {
	// Expr is the KQL expression compared: a column, or tostring() of a
	// path into a dynamic column.
	Expr string
	// By is what the users are matched by: "id" (Entra object id) or
	// "name" (userPrincipalName, primary SMTP address).
	By string
	// Op is the KQL operator: "in~" (equal, case-insensitive) or "has_any"
	// (a whole term inside the value, for dynamic arrays).
	Op string
}

// Table is one Log Analytics table the workspace source reads.
type Table struct {
	Name string
	// Category is the Entra ID diagnostic-settings log category that fills
	// the table ("" when it is filled otherwise).
	Category string
	// Users are the columns a per-user grab filters by, joined with "or";
	// none: the table has no user (service principal and managed identity
	// sign-ins) and is read only by an --all-users grab.
	Users []Match
	// CSV are the columns of the CSV view beside the JSON Lines file.
	CSV []string
}

// Tables are the tables read, in collection order. The user columns are
// those of the Azure Monitor Logs table reference
// (https://learn.microsoft.com/azure/azure-monitor/reference/tables/<table>).
var Tables = []Table{
	{Name: "SigninLogs", Category: "SignInLogs",
		Users: []Match{{"UserId", "id", "in~"}, {"UserPrincipalName", "name", "in~"}},
		CSV:   []string{"UserPrincipalName", "UserId", "IPAddress", "AppDisplayName", "AppId", "ResultType", "CorrelationId", "Id"}},
	{Name: "AADNonInteractiveUserSignInLogs", Category: "NonInteractiveUserSignInLogs",
		Users: []Match{{"UserId", "id", "in~"}, {"UserPrincipalName", "name", "in~"}},
		CSV:   []string{"UserPrincipalName", "UserId", "IPAddress", "AppDisplayName", "AppId", "ResultType", "CorrelationId", "Id"}},
	{Name: "AADServicePrincipalSignInLogs", Category: "ServicePrincipalSignInLogs",
		CSV: []string{"ServicePrincipalName", "ServicePrincipalId", "AppId", "IPAddress", "ResourceDisplayName", "ResultType", "Id"}},
	{Name: "AADManagedIdentitySignInLogs", Category: "ManagedIdentitySignInLogs",
		CSV: []string{"ServicePrincipalName", "ServicePrincipalId", "AppId", "IPAddress", "ResourceDisplayName", "ResultType", "Id"}},
	{Name: "AuditLogs", Category: "AuditLogs",
		Users: []Match{{"tostring(InitiatedBy.user.id)", "id", "in~"}, {"tostring(InitiatedBy.user.userPrincipalName)", "name", "in~"},
			{"TargetResources", "id", "has_any"}, {"TargetResources", "name", "has_any"}},
		CSV: []string{"OperationName", "Category", "Result", "InitiatedBy", "TargetResources", "CorrelationId", "Id"}},
	{Name: "MicrosoftGraphActivityLogs", Category: "MicrosoftGraphActivityLogs",
		Users: []Match{{"UserId", "id", "in~"}},
		CSV:   []string{"UserId", "AppId", "ServicePrincipalId", "IPAddress", "RequestMethod", "RequestUri", "ResponseStatusCode", "RequestId"}},
	{Name: "AADRiskyUsers", Category: "RiskyUsers",
		Users: []Match{{"Id", "id", "in~"}, {"UserPrincipalName", "name", "in~"}},
		CSV:   []string{"UserPrincipalName", "Id", "RiskLevel", "RiskState", "RiskDetail", "RiskLastUpdatedDateTime"}},
	{Name: "AADUserRiskEvents", Category: "UserRiskEvents",
		Users: []Match{{"UserId", "id", "in~"}, {"UserPrincipalName", "name", "in~"}},
		CSV:   []string{"UserPrincipalName", "UserId", "RiskEventType", "RiskLevel", "IpAddress", "DetectedDateTime", "Id"}},
	{Name: "OfficeActivity", // Microsoft Sentinel's Office 365 connector; UserId holds the UPN
		Users: []Match{{"UserId", "name", "in~"}},
		CSV:   []string{"UserId", "Operation", "OfficeWorkload", "ClientIP", "ResultStatus", "OfficeObjectId"}},
}

// TableNames lists the names of Tables.
func TableNames() []string {
	var out []string
	for _, t := range Tables {
		out = append(out, t.Name)
	}
	return out
}

// Path is the bundle path of a table's records.
func (t Table) Path() string { return "workspace/" + t.Name + ".jsonl" }

// Columns are the CSV columns of the table: TimeGenerated (UTC) first.
func (t Table) Columns() []collect.Column {
	cols := []collect.Column{record.Time("TimeGenerated", "TimeGenerated")}
	for _, c := range t.CSV {
		cols = append(cols, record.Str(c, c))
	}
	return cols
}

// terms are the values a per-user filter compares, lower-cased and
// de-duplicated: object ids, and user principal names and mail addresses.
type terms struct{ ids, names []string }

func userTerms(users []collect.User) terms {
	var t terms
	seen := map[string]bool{}
	add := func(dst *[]string, v string) {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "" || seen[v] {
			return
		}
		seen[v] = true
		*dst = append(*dst, v)
	}
	for _, u := range users {
		add(&t.ids, u.ID)
		add(&t.names, u.UPN)
		add(&t.names, u.Mail)
		if strings.Contains(u.Requested, "@") {
			add(&t.names, u.Requested)
		}
	}
	return t
}

// kqlTime is a KQL datetime literal in UTC.
func kqlTime(t collect.Window, end bool) string {
	if end {
		return kql.Time(t.End)
	}
	return kql.Time(t.Start)
}

// KQL is the query of one table over one half-open window: TimeGenerated
// in [start, end), the users' rows (all rows when users is nil), ordered by
// TimeGenerated. ok is false when the table cannot be filtered by user.
func (t Table) KQL(w collect.Window, users *terms) (q string, ok bool) {
	var b strings.Builder
	b.WriteString(t.Name)
	b.WriteString("\n| where TimeGenerated >= " + kqlTime(w, false) + " and TimeGenerated < " + kqlTime(w, true))
	if users != nil {
		var preds []string
		for _, m := range t.Users {
			vals := users.names
			if m.By == "id" {
				vals = users.ids
			}
			if len(vals) == 0 {
				continue
			}
			lits := make([]string, len(vals))
			for i, v := range vals {
				lits[i] = kql.String(v)
			}
			preds = append(preds, m.Expr+" "+m.Op+" ("+strings.Join(lits, ", ")+")")
		}
		if len(preds) == 0 {
			return "", false
		}
		b.WriteString("\n| where " + strings.Join(preds, " or "))
	}
	b.WriteString("\n| order by TimeGenerated asc")
	return b.String(), true
}
