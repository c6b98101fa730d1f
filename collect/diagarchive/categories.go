package diagarchive

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect/record"
)

// Category is one Microsoft Entra diagnostic-settings log category as the
// setting archives it to a storage account: the container
// "insights-logs-<category, lower case>", one append blob per hour.
type Category struct {
	// Name is the category as the diagnostic setting names it.
	Name string
	// Container is the container the setting writes it to.
	Container string
	// Users are the gjson paths of a record (the resource-log envelope,
	// the Graph object under "properties") that name the user it is
	// about; none: the records name no user (service principal and
	// managed identity sign-ins), and a per-user grab writes no subject
	// file for them.
	Users []string
}

// signInUser are the identity fields of a user sign-in record.
var signInUser = []string{"properties.userId", "properties.userPrincipalName"}

// Categories are the containers read, in collection order
// (https://learn.microsoft.com/entra/identity/monitoring-health/concept-diagnostic-settings-logs-options;
// container names: https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs#send-to-azure-storage).
var Categories = []Category{
	{Name: "SignInLogs", Users: signInUser},
	{Name: "NonInteractiveUserSignInLogs", Users: signInUser},
	{Name: "ServicePrincipalSignInLogs"},
	{Name: "ManagedIdentitySignInLogs"},
	{Name: "AuditLogs", Users: []string{"properties.initiatedBy.user.id", "properties.initiatedBy.user.userPrincipalName",
		"properties.targetResources.#.id", "properties.targetResources.#.userPrincipalName"}},
	{Name: "MicrosoftGraphActivityLogs", Users: []string{"properties.userId", "properties.UserId"}},
	{Name: "ADFSSignInLogs", Users: signInUser},
	{Name: "RiskyUsers", Users: []string{"properties.id", "properties.userPrincipalName"}},
	{Name: "UserRiskEvents", Users: []string{"properties.userId", "properties.userPrincipalName"}},
	{Name: "ProvisioningLogs", Users: []string{"properties.initiatedBy.id", "properties.sourceIdentity.id", "properties.targetIdentity.id"}},
}

func init() {
	for i := range Categories {
		Categories[i].Container = "insights-logs-" + strings.ToLower(Categories[i].Name)
	}
}

// ContainerNames lists the containers read by default.
func ContainerNames() []string {
	n := make([]string, len(Categories))
	for i, c := range Categories {
		n[i] = c.Container
	}
	return n
}

// LookupContainer returns the category archived in container (or named
// so, case-insensitively).
func LookupContainer(name string) (Category, bool) {
	for _, c := range Categories {
		if strings.EqualFold(c.Container, name) || strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Category{}, false
}

// subjectColumns is the CSV view of a subject file: the resource-log
// envelope (https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema)
// and the identity fields of the Graph object it carries.
var subjectColumns = []record.Column{
	record.Time("time", "time"),
	record.Str("category", "category"),
	record.Str("operationName", "operationName"),
	record.Str("resultType", "resultType"),
	record.Str("callerIpAddress", "callerIpAddress"),
	record.Str("identity", "identity"),
	record.Str("userPrincipalName", "properties.userPrincipalName"),
	record.Str("userId", "properties.userId"),
	record.Str("appDisplayName", "properties.appDisplayName"),
	record.Str("id", "properties.id"),
	record.Str("correlationId", "correlationId"),
}
