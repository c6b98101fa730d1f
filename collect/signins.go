package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/collect/catalog"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
)

// SignInKind is one tab of the Entra admin center's sign-in logs.
type SignInKind struct {
	Name      string   // --signin-kinds name and file base name
	EventType string   // signInEventTypes value
	Beta      bool     // only /beta serves it (interactive sign-ins fall back to v1.0)
	Path      string   // the JSON Lines file in the bundle
	Columns   []Column // its CSV view
}

// The four sign-in kinds, in collection order.
var (
	KindInteractive      = SignInKind{"interactive", "interactiveUser", true, "signins/interactive.jsonl", UserSignInColumns}
	KindNonInteractive   = SignInKind{"noninteractive", "nonInteractiveUser", true, "signins/noninteractive.jsonl", UserSignInColumns}
	KindServicePrincipal = SignInKind{"serviceprincipal", "servicePrincipal", true, "signins/serviceprincipal.jsonl", ServicePrincipalSignInColumns}
	KindManagedIdentity  = SignInKind{"managedidentity", "managedIdentity", true, "signins/managedidentity.jsonl", ManagedIdentitySignInColumns}
	SignInKinds          = []SignInKind{KindInteractive, KindNonInteractive, KindServicePrincipal, KindManagedIdentity}
)

// SignInKindNames are the --signin-kinds values.
func SignInKindNames() []string {
	out := make([]string, len(SignInKinds))
	for i, k := range SignInKinds {
		out[i] = k.Name
	}
	return out
}

// ParseSignInKinds reads --signin-kinds: names (interactive,
// noninteractive, serviceprincipal, managedidentity), Graph's event type
// names, or "all". Order follows SignInKinds.
func ParseSignInKinds(list []string) ([]SignInKind, error) {
	want := map[string]bool{}
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "all" {
			return SignInKinds, nil
		}
		found := false
		for _, k := range SignInKinds {
			if s == k.Name || s == strings.ToLower(k.EventType) {
				want[k.Name], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown sign-in kind %q (known: %s, or all)", s, strings.Join(SignInKindNames(), ", "))
		}
	}
	var out []SignInKind
	for _, k := range SignInKinds {
		if want[k.Name] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no sign-in kind selected (known: %s, or all)", strings.Join(SignInKindNames(), ", "))
	}
	return out, nil
}

// SignIns collects one kind of Entra sign-ins (the zero value: interactive).
// Every kind comes from /beta/auditLogs/signIns with
// $filter=signInEventTypes/any(t: t eq '<kind>'): beta's signIn carries
// authenticationDetails, sessionId, uniqueTokenIdentifier and the other
// properties v1.0 lacks. When beta is refused, interactive sign-ins come
// from v1.0 /auditLogs/signIns (which returns only those), and the manifest
// says which fields that version cannot hold. User kinds are filtered
// by userId; service principal and managed identity sign-ins, which carry
// no user, by the appId of each app the user owns or consented to (Apps),
// or tenant-wide with --all-users.
type SignIns struct {
	Kind SignInKind
	Apps *AppCache // shared by the service principal and managed identity kinds
}

func (s SignIns) kind() SignInKind {
	if s.Kind.Name == "" {
		return KindInteractive
	}
	return s.Kind
}

// Name implements Source.
func (s SignIns) Name() string { return "signins." + s.kind().Name }

// Collect implements Source.
func (s SignIns) Collect(ctx context.Context, c *Client, job Job, out Output) (manifest.Source, error) {
	k := s.kind()
	api := &manifest.SourceAPI{Version: "beta"}
	if k.Name == KindInteractive.Name && (job.Facts == nil || job.Facts.SignInsRefused == "") {
		var err error
		if api, err = interactiveVersion(ctx, c, job); err != nil {
			return manifest.Source{Name: s.Name()}, err
		}
	}
	beta := api.Version == "beta"
	version := api.Version
	src := manifest.Source{Name: s.Name(), Endpoint: "GET " + c.BaseURL(version) + "/auditLogs/signIns", API: api}
	inner, err := out.Open(k.Path, s.Name(), k.Columns)
	if err != nil {
		return src, &FatalError{Err: err}
	}
	sink := NewScopedSink(out, k.Path, s.Name(), k.Columns, inner)
	src.Files = []string{k.Path, CSVPath(k.Path)}
	byApp := k.Name == KindServicePrincipal.Name || k.Name == KindManagedIdentity.Name
	switch {
	case byApp:
		src.Query = "$filter=appId eq '<app id>' and signInEventTypes/any(t: t eq '" + k.EventType + "') and createdDateTime ge <start> and createdDateTime le <end - 100ns>&$orderby=createdDateTime desc"
	case beta:
		src.Query = "$filter=userId eq '<user id>' and signInEventTypes/any(t: t eq '" + k.EventType + "') and createdDateTime ge <start> and createdDateTime le <end - 100ns>&$orderby=createdDateTime desc"
	default:
		src.Query = "$filter=userId eq '<user id>' and createdDateTime ge <start> and createdDateTime le <end - 100ns>&$orderby=createdDateTime desc"
	}

	window, lost, lostReason := job.Facts.Clamp(job.Window)
	if f := job.Facts; f != nil && f.SignInsRefused != "" {
		// The probe was refused: asking again per user would only repeat it.
		src.Windows = append(src.Windows, manifest.SubWindow{Window: manifest.NewWindow(job.Window.Start, job.Window.End),
			Status: f.SignInsStatus, Reason: f.SignInsRefused})
		src.Missing = append(src.Missing, manifest.Gap{Window: manifest.NewWindow(job.Window.Start, job.Window.End),
			Status: f.SignInsStatus, Reason: f.SignInsRefused})
		src.Summarize()
		return src, nil
	}
	if !lost.Empty() {
		src.Missing = append(src.Missing, manifest.Gap{Window: manifest.NewWindow(lost.Start, lost.End), Status: manifest.StatusClamped, Reason: lostReason})
	}
	top := pageSize(job.PageSize, 1000)
	type scope struct {
		label, userID, appID string
		user                 User
	}
	var todo []scope
	for _, u := range scopes(job) {
		if !byApp {
			todo = append(todo, scope{label: u.ID, userID: u.ID, user: u})
			continue
		}
		if u.ID == "" {
			todo = append(todo, scope{})
			continue
		}
		cache := s.Apps
		if cache == nil {
			cache = &AppCache{}
		}
		look, err := cache.Get(ctx, c, u.ID, window)
		if err != nil {
			return src, &FatalError{Err: err}
		}
		// Each lookup route that could not answer is on record with what it
		// cannot see; the apps the other routes found are still asked for.
		var routes []string
		for _, r := range look.Routes {
			if r.Status == manifest.StatusCollected {
				routes = append(routes, r.Route)
				continue
			}
			src.Windows = append(src.Windows, manifest.SubWindow{Window: manifest.NewWindow(window.Start, window.End), Scope: "user:" + u.ID + " lookup:" + r.Route,
				Status: r.Status, Reason: "the apps of user " + u.ID + " through " + r.Route + " are not known: " + r.Reason})
		}
		apps := look.Apps
		if len(apps) == 0 && len(routes) > 0 {
			src.Windows = append(src.Windows, manifest.SubWindow{Window: manifest.NewWindow(window.Start, window.End), Scope: "user:" + u.ID,
				Status: manifest.StatusCollected, Reason: "no apps found through " + strings.Join(routes, ", ") + ": nothing to ask for"})
		}
		for _, a := range apps {
			todo = append(todo, scope{label: "user:" + u.ID + " app:" + a.AppID + " (" + a.Name + ", " + a.Via + ")", appID: a.AppID})
		}
	}
	for _, sc := range todo {
		sc := sc
		build := func(w Window) (string, string, error) {
			filter := RangeFilter("createdDateTime", w)
			if beta {
				filter = "signInEventTypes/any(t: t eq '" + k.EventType + "') and " + filter
			}
			switch {
			case sc.userID != "":
				filter = "userId eq " + ODataString(sc.userID) + " and " + filter
			case sc.appID != "":
				filter = "appId eq " + ODataString(sc.appID) + " and " + filter
			}
			if beta {
				return c.BaseURL("beta") + "/auditLogs/signIns?" + odataQuery("$filter", filter, "$top", fmt.Sprint(top), "$orderby", "createdDateTime desc"), filter, nil
			}
			t32 := int32(top)
			rb := auditlogs.NewSignInsRequestBuilderInternal(map[string]string{"baseurl": c.BaseURL("v1.0")}, c.Adapter())
			ri, err := rb.ToGetRequestInformation(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter, Top: &t32, Orderby: []string{"createdDateTime desc"}},
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
		asked := &Scope{Window: window, TimeProp: "createdDateTime"}
		switch {
		case sc.userID != "":
			asked.Require = append(asked.Require, UserCond(sc.user, "userId", "userPrincipalName"))
		case sc.appID != "":
			asked.Require = append(asked.Require, Cond{What: "app " + sc.appID, Paths: []string{"appId"}, Values: []string{sc.appID}})
		}
		if beta {
			asked.Require = append(asked.Require, Cond{What: "sign-in kind " + k.EventType, Paths: []string{"signInEventTypes"}, Values: []string{k.EventType}})
		}
		sink.SetScope(asked)
		spec := mergeSpec{class: ClassReports, source: s.Name(), scope: sc.label, timeProp: "createdDateTime", streams: []stream{{url: build}}}
		sws, err := collectSplit(ctx, c, spec, window, job.splitting(), sink, job.Progress)
		src.Windows = append(src.Windows, sws...)
		if err != nil { // stopped: what was written stays accounted
			src.Summarize()
			sink.Account(&src)
			return src, err
		}
		if len(sws) > 0 && sws[len(sws)-1].Status == manifest.StatusUnavailable {
			break // a licence or permission refusal holds for every scope
		}
	}
	src.Summarize()
	sink.Account(&src)
	return src, nil
}

// interactiveVersion decides where interactive sign-ins come from: beta,
// unless a one-row probe of beta with the interactive filter is refused
// (400, 403 other than the licence refusal, 404), then v1.0, which holds
// interactive sign-ins without the authentication details.
func interactiveVersion(ctx context.Context, c *Client, job Job) (*manifest.SourceAPI, error) {
	w := job.Window
	filter := "signInEventTypes/any(t: t eq '" + KindInteractive.EventType + "') and " + RangeFilter("createdDateTime", w)
	u := c.BaseURL("beta") + "/auditLogs/signIns?" + odataQuery("$filter", filter, "$top", "1")
	_, err := c.Do(ctx, Request{Class: ClassReports, Source: "signins.version-probe", URL: u}, func(body []byte) (int, error) {
		p, err := ParsePage(body)
		if err != nil {
			return 0, err
		}
		return len(p.Records), nil
	})
	if err == nil {
		return &manifest.SourceAPI{Version: "beta"}, nil
	}
	if _, _, fatal := Classify(err); fatal {
		return nil, &FatalError{Err: err}
	}
	var ge *GraphError
	if errors.As(err, &ge) && ge.Code != CodeNoPremium && (ge.Status == 400 || ge.Status == 403 || ge.Status == 404) {
		return &manifest.SourceAPI{Version: "v1.0", Reason: "beta /auditLogs/signIns refused (" + ge.Error() + "): interactive sign-ins read from v1.0",
			FieldsNotHeld: catalog.SignInV1Lacks}, nil
	}
	// Anything else (a licence refusal, a failure) the collection itself meets and records.
	return &manifest.SourceAPI{Version: "beta"}, nil
}

// odataQuery encodes OData options the way Graph's own links do: option
// names with their "$", values percent-encoded (spaces as %20).
func odataQuery(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+QueryEscape(kv[i+1]))
	}
	return strings.Join(parts, "&")
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
