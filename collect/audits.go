package collect

import (
	"context"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
)

// DirectoryAudits collects Entra directory audit records from v1.0
// /auditLogs/directoryAudits. For a user it asks both sides of the trail,
// what the user did (initiatedBy/user/id eq) and what was done to the user
// (targetResources/any(t: t/id eq)), merges them newest first into one
// file, writes a record matched by both once, and notes in the CSV which
// side matched. With --all-users it asks for every audit.
type DirectoryAudits struct{}

// Name implements Source.
func (DirectoryAudits) Name() string { return "audits" }

// AuditsPath is where the records go in the bundle.
const AuditsPath = "audits/directory.jsonl"

// Audit trail sides, as the CSV's Matched column shows them.
const (
	SideInitiated = "initiated" // the user initiated the activity
	SideTarget    = "target"    // the user is one of its targets
)

// Collect implements Source.
func (a DirectoryAudits) Collect(ctx context.Context, c *Client, job Job, out Output) (manifest.Source, error) {
	src := manifest.Source{Name: a.Name(), Endpoint: "GET " + c.BaseURL("v1.0") + "/auditLogs/directoryAudits"}
	inner, err := out.Open(AuditsPath, a.Name(), AuditColumns)
	if err != nil {
		return src, &FatalError{Err: err}
	}
	sink := NewScopedSink(out, AuditsPath, a.Name(), AuditColumns, inner)
	src.Files = []string{AuditsPath, CSVPath(AuditsPath)}
	window, lost, lostReason := job.Facts.Clamp(job.Window)
	if !lost.Empty() {
		src.Missing = append(src.Missing, manifest.Gap{Window: manifest.NewWindow(lost.Start, lost.End), Status: manifest.StatusClamped, Reason: lostReason})
	}
	top := int32(pageSize(job.PageSize, 1000))
	query := func(side string) func(w Window) (string, string, error) {
		return func(w Window) (string, string, error) {
			filter := RangeFilter("activityDateTime", w)
			if side != "" {
				filter = side + " and " + filter
			}
			rb := auditlogs.NewDirectoryAuditsRequestBuilderInternal(map[string]string{"baseurl": c.BaseURL("v1.0")}, c.Adapter())
			ri, err := rb.ToGetRequestInformation(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top, Orderby: []string{"activityDateTime desc"}},
			})
			if err != nil {
				return "", "", err
			}
			u, err := builderURL(ri)
			if err != nil {
				return "", "", err
			}
			return u, filter, nil
		}
	}
	for _, scope := range scopes(job) {
		asked := &Scope{Window: window, TimeProp: "activityDateTime"}
		if scope.ID != "" {
			asked.Require = []Cond{UserCond(scope, "initiatedBy.user.id", "initiatedBy.user.userPrincipalName", "targetResources.#.id")}
		}
		sink.SetScope(asked)
		spec := mergeSpec{class: ClassReports, source: a.Name(), scope: scope.ID, timeProp: "activityDateTime"}
		if scope.ID == "" {
			spec.streams = []stream{{url: query("")}}
		} else {
			id := ODataString(scope.ID)
			spec.streams = []stream{
				{side: SideInitiated, url: query("initiatedBy/user/id eq " + id)},
				{side: SideTarget, url: query("targetResources/any(t: t/id eq " + id + ")")},
			}
		}
		sws, err := collectSplit(ctx, c, spec, window, job.splitting(), sink, job.Progress)
		src.Windows = append(src.Windows, sws...)
		if err != nil { // stopped: what was written stays accounted
			src.Summarize()
			sink.Account(&src)
			return src, err
		}
		if len(sws) > 0 && sws[len(sws)-1].Status == manifest.StatusUnavailable {
			break
		}
	}
	src.Query = "$filter=initiatedBy/user/id eq '<user id>' and activityDateTime ge <start> and activityDateTime le <end - 100ns> | " +
		"$filter=targetResources/any(t: t/id eq '<user id>') and activityDateTime ge <start> and activityDateTime le <end - 100ns>; $orderby=activityDateTime desc"
	src.Summarize()
	sink.Account(&src)
	return src, nil
}
