package collect

import (
	"context"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
)

// DirectoryAudits collects Entra directory audit records from v1.0
// /auditLogs/directoryAudits: for each user, what the user initiated.
type DirectoryAudits struct{}

// Name implements Source.
func (DirectoryAudits) Name() string { return "audits" }

// AuditsPath is where the records go in the bundle.
const AuditsPath = "audits/directory.jsonl"

// Collect implements Source.
func (a DirectoryAudits) Collect(ctx context.Context, c *Client, job Job, out Output) (manifest.Source, error) {
	src := manifest.Source{Name: a.Name(), Endpoint: "GET " + c.BaseURL("v1.0") + "/auditLogs/directoryAudits"}
	sink, err := out.Open(AuditsPath, a.Name(), AuditColumns)
	if err != nil {
		return src, &FatalError{Err: err}
	}
	src.Files = []string{AuditsPath, csvPath(AuditsPath)}
	top := int32(pageSize(job.PageSize, 1000))
	for _, scope := range scopes(job) {
		filter := RangeFilter("activityDateTime", job.Window)
		if scope.ID != "" {
			filter = "initiatedBy/user/id eq " + odataString(scope.ID) + " and " + filter
		}
		rb := auditlogs.NewDirectoryAuditsRequestBuilderInternal(map[string]string{"baseurl": c.BaseURL("v1.0")}, c.Adapter())
		ri, err := rb.ToGetRequestInformation(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
			QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
		})
		if err != nil {
			return src, &FatalError{Err: err}
		}
		u, err := ri.GetUri()
		if err != nil {
			return src, &FatalError{Err: err}
		}
		sw, err := query{class: ClassReports, source: a.Name(), url: u.String(), window: job.Window, scope: scope.ID, filter: filter}.run(ctx, c, sink, job.Progress)
		src.Windows = append(src.Windows, sw)
		if err != nil {
			return src, err
		}
		if sw.Status == manifest.StatusUnavailable {
			break
		}
	}
	src.Query = "$filter=initiatedBy/user/id eq '<user id>' and activityDateTime ge <start> and activityDateTime le <end - 100ns>"
	summarize(&src)
	return src, nil
}

// AuditColumns follow the Entra admin center's audit log download.
var AuditColumns = []Column{
	Time("Date (UTC)", "activityDateTime"),
	Str("Id", "id"),
	Str("CorrelationId", "correlationId"),
	Str("Service", "loggedByService"),
	Str("Category", "category"),
	Str("Activity", "activityDisplayName"),
	Str("Result", "result"),
	Str("ResultReason", "resultReason"),
	Func("ActorType", func(r gjsonResult) string {
		if r.Get("initiatedBy.user.id").String() != "" {
			return "User"
		}
		if r.Get("initiatedBy.app.appId").String() != "" || r.Get("initiatedBy.app.servicePrincipalId").String() != "" {
			return "Application"
		}
		return ""
	}),
	Func("ActorDisplayName", func(r gjsonResult) string {
		return firstNonEmpty(r.Get("initiatedBy.user.displayName").String(), r.Get("initiatedBy.app.displayName").String())
	}),
	Func("ActorObjectId", func(r gjsonResult) string {
		return firstNonEmpty(r.Get("initiatedBy.user.id").String(), r.Get("initiatedBy.app.servicePrincipalId").String())
	}),
	Str("ActorUserPrincipalName", "initiatedBy.user.userPrincipalName"),
	Str("IPAddress", "initiatedBy.user.ipAddress"),
	Str("Target1Type", "targetResources.0.type"),
	Str("Target1DisplayName", "targetResources.0.displayName"),
	Str("Target1ObjectId", "targetResources.0.id"),
	Str("Target1UserPrincipalName", "targetResources.0.userPrincipalName"),
	Raw("TargetResources", "targetResources"),
	Raw("AdditionalDetails", "additionalDetails"),
}
