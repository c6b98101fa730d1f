package collect

import (
	"context"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/tidwall/gjson"
)

// SignIns collects interactive user sign-ins from v1.0 /auditLogs/signIns,
// which returns interactive (and federated) sign-ins only.
type SignIns struct{}

// Name implements Source.
func (SignIns) Name() string { return "signins.interactive" }

// SignInsPath is where the records go in the bundle.
const SignInsPath = "signins/interactive.jsonl"

// Collect implements Source.
func (s SignIns) Collect(ctx context.Context, c *Client, job Job, out Output) (manifest.Source, error) {
	src := manifest.Source{Name: s.Name(), Endpoint: "GET " + c.BaseURL("v1.0") + "/auditLogs/signIns"}
	sink, err := out.Open(SignInsPath, s.Name(), SignInColumns)
	if err != nil {
		return src, &FatalError{Err: err}
	}
	src.Files = []string{SignInsPath, csvPath(SignInsPath)}
	top := int32(pageSize(job.PageSize, 1000))
	for _, scope := range scopes(job) {
		filter := RangeFilter("createdDateTime", job.Window)
		if scope.ID != "" {
			filter = "userId eq " + odataString(scope.ID) + " and " + filter
		}
		rb := auditlogs.NewSignInsRequestBuilderInternal(map[string]string{"baseurl": c.BaseURL("v1.0")}, c.Adapter())
		ri, err := rb.ToGetRequestInformation(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
			QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
		})
		if err != nil {
			return src, &FatalError{Err: err}
		}
		u, err := ri.GetUri()
		if err != nil {
			return src, &FatalError{Err: err}
		}
		sw, err := query{class: ClassReports, source: s.Name(), url: u.String(), window: job.Window, scope: scope.ID, filter: filter}.run(ctx, c, sink, job.Progress)
		src.Windows = append(src.Windows, sw)
		if err != nil {
			return src, err
		}
		if sw.Status == manifest.StatusUnavailable {
			break // a licence or permission refusal holds for every user
		}
	}
	src.Query = "$filter=userId eq '<user id>' and createdDateTime ge <start> and createdDateTime le <end - 100ns>"
	summarize(&src)
	return src, nil
}

// scopes is one entry per user, or a single tenant-wide entry.
func scopes(job Job) []User {
	if job.AllUsers || len(job.Users) == 0 {
		return []User{{}}
	}
	return job.Users
}

func pageSize(asked, max int) int {
	if asked <= 0 || asked > max {
		return max
	}
	return asked
}

// SignInColumns follow the Entra admin center's sign-in download (see
// docs/format.md), flattened; multi-valued fields stay JSON in one cell.
var SignInColumns = []Column{
	Time("Date (UTC)", "createdDateTime"),
	Str("Request ID", "id"),
	Str("Correlation ID", "correlationId"),
	Str("User ID", "userId"),
	Str("User", "userDisplayName"),
	Str("Username", "userPrincipalName"),
	Str("Application", "appDisplayName"),
	Str("Application ID", "appId"),
	Str("Resource", "resourceDisplayName"),
	Str("Resource ID", "resourceId"),
	Str("IP address", "ipAddress"),
	Func("Location", func(r gjson.Result) string {
		return joinNonEmpty(", ", r.Get("location.city").String(), r.Get("location.state").String(), r.Get("location.countryOrRegion").String())
	}),
	Func("Status", func(r gjson.Result) string {
		if !r.Get("status.errorCode").Exists() {
			return ""
		}
		if r.Get("status.errorCode").Int() == 0 {
			return "Success"
		}
		return "Failure"
	}),
	Str("Sign-in error code", "status.errorCode"),
	Str("Failure reason", "status.failureReason"),
	Str("Client app", "clientAppUsed"),
	Str("Device ID", "deviceDetail.deviceId"),
	Str("Browser", "deviceDetail.browser"),
	Str("Operating System", "deviceDetail.operatingSystem"),
	Str("Compliant", "deviceDetail.isCompliant"),
	Str("Managed", "deviceDetail.isManaged"),
	Str("Join Type", "deviceDetail.trustType"),
	Str("Conditional Access", "conditionalAccessStatus"),
	Str("Risk state", "riskState"),
	Str("Risk level during sign-in", "riskLevelDuringSignIn"),
	Raw("Applied conditional access policies", "appliedConditionalAccessPolicies"),
}
