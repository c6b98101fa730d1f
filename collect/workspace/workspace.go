// Package workspace collects Entra ID and Microsoft 365 logs that a tenant's
// diagnostic settings (or Microsoft Sentinel's connectors) keep in a Log
// Analytics workspace, through the Azure Monitor Logs query API
// (POST {endpoint}/workspaces/{id}/query, with the azquery client). These
// copies often reach far beyond Entra's 7 or 30 days, and hold what Graph's
// reporting API does not serve at all (Microsoft Graph activity logs, risk
// events).
//
// Every table is queried in half-open TimeGenerated windows. A window whose
// result reaches the service's row or byte limit, or comes back as a partial
// result, is never taken: it is recorded as superseded, split in halves and
// queried again, down to MinWindow; a window that cannot be split further
// is recorded as failed with the reason. Each row is written as one JSON
// object, its column names as keys and each value's JSON text exactly as
// the service sent it.
package workspace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"
)

// Name is the source's name in --sources and the manifest.
const Name = "workspace"

// The service's documented limits (Azure Monitor service limits, "Query
// API": https://learn.microsoft.com/azure/azure-monitor/fundamentals/service-limits#la-query-api;
// timeouts: https://learn.microsoft.com/azure/azure-monitor/logs/api/timeouts).
const (
	DefaultRowLimit  = 500000            // maximum records returned in a single query
	DefaultByteLimit = 100 * 1024 * 1024 // ~100 MiB of raw data returned
	DefaultWait      = 10 * time.Minute  // maximum query running time (Prefer: wait=600)
	DefaultEndpoint  = "https://api.loganalytics.io/v1"
	DefaultAudience  = "https://api.loganalytics.io"
	DefaultRetries   = 6
	DefaultMinWindow = time.Second
	// DefaultConcurrency is how many queries run at once (one per table):
	// the service runs up to 5 concurrent queries per user and queues the
	// rest (https://learn.microsoft.com/azure/azure-monitor/fundamentals/service-limits#user-query-throttling);
	// 3 leaves room for the analyst's own queries, and with the 200
	// queries per 30 s rate far away.
	DefaultConcurrency = 3
	// MaxConcurrency is the service's per-user limit of running queries.
	MaxConcurrency = 5
)

// Options configure the collector. Zero values take the defaults above.
type Options struct {
	WorkspaceID string                 // the workspace's id (a GUID, "Workspace ID" in the portal)
	Credential  azcore.TokenCredential // e.g. an azidentity credential; its token's audience is Audience
	Endpoint    string                 // query API base, DefaultEndpoint (national clouds differ)
	Audience    string                 // token audience, DefaultAudience
	Tables      []string               // tables to read; default all of Tables
	RowLimit    int64                  // a result with this many rows is split (the service truncates there)
	ByteLimit   int64                  // a response body of this size is split
	Wait        time.Duration          // server-side query timeout asked for (Prefer: wait)
	MinWindow   time.Duration          // windows are not split below this
	MaxRetries  int32                  // attempts after the first for 429 and 5xx (azcore's retry policy, honouring Retry-After)
	RetryDelay  time.Duration          // first backoff step when no Retry-After is given
	Concurrency int                    // tables queried at once, DefaultConcurrency; at most MaxConcurrency
	Transport   policy.Transporter     // HTTP client (tests: the simulator's TLS client)
	Log         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}
	if len(o.Tables) == 0 {
		o.Tables = TableNames()
	}
	if o.RowLimit <= 0 {
		o.RowLimit = DefaultRowLimit
	}
	if o.ByteLimit <= 0 {
		o.ByteLimit = DefaultByteLimit
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.MinWindow <= 0 {
		o.MinWindow = DefaultMinWindow
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultRetries
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency > MaxConcurrency {
		o.Concurrency = MaxConcurrency
	}
	return o
}

// Source is the Log Analytics workspace collector.
type Source struct {
	Opt   Options
	warns []string
	Stats Stats // what the last Collect did
}

// Stats are the counts of the last Collect.
type Stats struct {
	Queries, Requests, Throttled, Split, Partial int64
	Missing                                      []string // tables the workspace does not have
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// Warnings are the notes of the last Collect for the manifest: missing
// tables, tables not read per user, splits.
func (s *Source) Warnings() []string { return s.warns }

func (s *Source) warn(format string, a ...any) {
	s.warns = append(s.warns, Name+": "+fmt.Sprintf(format, a...))
}

// LookupTable returns the table of that name.
func LookupTable(name string) (Table, bool) {
	for _, t := range Tables {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Table{}, false
}

// counter counts every attempt the client sends, and the 429 answers.
type counter struct{ requests, throttled atomic.Int64 }

func (c *counter) Do(req *policy.Request) (*http.Response, error) {
	c.requests.Add(1)
	resp, err := req.Next()
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		c.throttled.Add(1)
	}
	return resp, err
}

// EndpointName names the Logs query API in requests.jsonl; its reference
// is https://learn.microsoft.com/rest/api/loganalytics/dataaccess/query/execute.
const EndpointName = "loganalytics: POST /v1/workspaces/{workspaceId}/query"

// attemptKey carries the attempt counter of one query through the pipeline.
type attemptKey struct{}

// reqLog writes every attempt to requests.jsonl through the Graph client's
// request log (no header but the ids is recorded: never the token).
type reqLog struct{ c *collect.Client }

func (p reqLog) Do(req *policy.Request) (*http.Response, error) {
	start := time.Now()
	n := 1
	if a, ok := req.Raw().Context().Value(attemptKey{}).(*atomic.Int64); ok {
		n = int(a.Add(1))
	}
	resp, err := req.Next()
	rec := collect.RequestRecord{Time: collect.FormatTime(start), Source: Name, Endpoint: EndpointName, Method: req.Raw().Method,
		URL: collect.RedactURL(req.Raw().URL.String()), Attempt: n, ClientRequestID: req.Raw().Header.Get("x-ms-client-request-id")}
	if resp != nil {
		rec.Status = resp.StatusCode
		rec.RequestID = resp.Header.Get("x-ms-request-id")
		rec.Date = resp.Header.Get("Date")
		if body, perr := runtime.Payload(resp); perr == nil {
			rec.Bytes = len(body)
			sum := sha256.Sum256(body)
			rec.SHA256 = hex.EncodeToString(sum[:])
		}
	}
	if err != nil {
		rec.Error = compactText(err.Error())
	}
	rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	p.c.LogRequest(rec)
	return resp, err
}

// Collect implements collect.Source. The workspace has its own endpoint
// and token audience; the Graph client c, when given, only logs the
// requests in requests.jsonl.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	o := s.Opt.withDefaults()
	s.warns, s.Stats = nil, Stats{}
	src := manifest.Source{Name: Name, Endpoint: "POST " + strings.TrimRight(o.Endpoint, "/") + "/workspaces/" + o.WorkspaceID + "/query",
		Status: manifest.StatusCollected, Windows: []manifest.SubWindow{}}
	if o.WorkspaceID == "" {
		return src, &collect.FatalError{Err: errors.New("workspace: no workspace id (--workspace)")}
	}
	if o.Credential == nil {
		return src, &collect.FatalError{Err: errors.New("workspace: no credential")}
	}
	var tables []Table
	for _, n := range o.Tables {
		t, ok := LookupTable(n)
		if !ok {
			return src, &collect.FatalError{Err: fmt.Errorf("workspace: unknown table %q (known: %s)", n, strings.Join(TableNames(), ", "))}
		}
		tables = append(tables, t)
	}
	cnt := &counter{}
	perRetry := []policy.Policy{cnt}
	if c != nil {
		perRetry = append(perRetry, reqLog{c})
	}
	client, err := azquery.NewLogsClient(o.Credential, &azquery.LogsClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			azquery.ServiceNameLogs: {Audience: o.Audience, Endpoint: strings.TrimRight(o.Endpoint, "/")}}},
		Transport:        o.Transport,
		Retry:            policy.RetryOptions{MaxRetries: o.MaxRetries, RetryDelay: o.RetryDelay},
		PerRetryPolicies: perRetry,
		Telemetry:        policy.TelemetryOptions{ApplicationID: "evidence"},
	}})
	if err != nil {
		return src, &collect.FatalError{Err: fmt.Errorf("workspace: %w", err)}
	}
	var users *terms
	if !job.AllUsers {
		u := userTerms(job.Users)
		users = &u
	}
	defer func() {
		s.Stats.Requests, s.Stats.Throttled = cnt.requests.Load(), cnt.throttled.Load()
	}()
	// The tables are read Concurrency at a time (each table's windows in
	// order); each writes its own files. The results are merged in table
	// order: the manifest, the notes and the files are the same whatever
	// the order the queries finish in.
	runs := make([]*run, len(tables))
	errs := make([]error, len(tables))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for i, t := range tables {
		runs[i] = &run{o: o, client: client, job: job, out: out, src: &manifest.Source{}, users: users}
		g.Go(func() error {
			errs[i] = runs[i].table(gctx, t)
			return errs[i]
		})
	}
	_ = g.Wait() // errs holds each table's error
	for i, r := range runs {
		src.Windows = append(src.Windows, r.src.Windows...)
		src.Superseded = append(src.Superseded, r.src.Superseded...)
		src.Files = append(src.Files, r.src.Files...)
		src.OutOfScope += r.src.OutOfScope
		s.warns = append(s.warns, r.warns...)
		s.Stats.Queries += r.stats.Queries
		s.Stats.Split += r.stats.Split
		s.Stats.Partial += r.stats.Partial
		s.Stats.Missing = append(s.Stats.Missing, r.stats.Missing...)
		if errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
			return src, errs[i]
		}
	}
	if err := ctx.Err(); err != nil {
		return src, err
	}
	for _, err := range errs {
		if err != nil {
			return src, err
		}
	}
	s.Stats.Requests, s.Stats.Throttled = cnt.requests.Load(), cnt.throttled.Load()
	src.Counts = map[string]int64{"queries": s.Stats.Queries, "requests": s.Stats.Requests, "throttled": s.Stats.Throttled,
		"split": s.Stats.Split, "partial": s.Stats.Partial, "tables_missing": int64(len(s.Stats.Missing))}
	src.Summarize()
	return src, nil
}

// run is one table's part of a Collect: its own manifest entry, notes and
// counts, merged into the source's in table order once every table is
// done, so the output does not depend on which query answered first.
type run struct {
	o      Options
	client *azquery.LogsClient
	job    collect.Job
	out    collect.Output
	src    *manifest.Source
	users  *terms
	warns  []string
	stats  Stats
}

func (r *run) warn(format string, a ...any) {
	r.warns = append(r.warns, Name+": "+fmt.Sprintf(format, a...))
}

// answer is one query's outcome.
type answer struct {
	body    []byte // the response body as received
	rows    int64
	partial string // the service's partial-error answer, or why the result is not taken whole
}

// table reads one table over the job's window.
func (r *run) table(ctx context.Context, t Table) error {
	if _, ok := t.KQL(r.job.Window, r.users); !ok {
		if len(t.Users) == 0 {
			r.warn("%s not read: the table has no user column, so a per-user grab cannot select its rows (it is read with --all-users)", t.Name)
		} else {
			r.warn("%s not read: none of the asked users has a value for its user columns", t.Name)
		}
		return nil
	}
	var sink collect.Sink
	queue := r.job.Split
	split := collect.DefaultSplitting
	if queue != nil {
		split = *queue
	}
	windows := split.Windows(r.job.Window)
	open := func() (collect.Sink, error) {
		if sink == nil {
			var err error
			if sink, err = r.out.Open(t.Path(), Name, t.Columns()); err != nil {
				return nil, &collect.FatalError{Err: fmt.Errorf("workspace: %s: %w", t.Path(), err)}
			}
			r.src.Files = append(r.src.Files, t.Path())
		}
		return sink, nil
	}
	var outside collect.Sink
	oosPath := strings.TrimSuffix(t.Path(), ".jsonl") + manifest.OutOfScopeSuffix
	openOutside := func() (collect.Sink, error) {
		if outside == nil {
			var err error
			if outside, err = r.out.Open(oosPath, Name, t.Columns()); err != nil {
				return nil, &collect.FatalError{Err: fmt.Errorf("workspace: %s: %w", oosPath, err)}
			}
			r.src.Files = append(r.src.Files, oosPath)
		}
		return outside, nil
	}
	first := true
	for len(windows) > 0 {
		w := windows[0]
		windows = windows[1:]
		kql, _ := t.KQL(w, r.users)
		sw := manifest.SubWindow{Window: manifest.NewWindow(w.Start, w.End), Scope: t.Name, Query: kql, Status: manifest.StatusCollected}
		r.stats.Queries++
		a, err := r.query(ctx, kql, w)
		wasFirst := first
		first = false
		if err != nil {
			if missingTable(err, t.Name) && wasFirst {
				r.stats.Missing = append(r.stats.Missing, t.Name)
				sw.Window = manifest.NewWindow(r.job.Window.Start, r.job.Window.End)
				sw.Reason = fmt.Sprintf("table %s does not exist in the workspace (the service answered: %s); nothing of it can be collected. %s", t.Name, errorText(err), enableHint(t))
				r.src.Windows = append(r.src.Windows, sw)
				r.warn("table %s does not exist in workspace %s: not collected", t.Name, r.o.WorkspaceID)
				return nil
			}
			status, reason, fatal := classify(err)
			if fatal {
				return &collect.FatalError{Err: fmt.Errorf("workspace: %s %s: %w", t.Name, w, err)}
			}
			sw.Status, sw.Reason, sw.Pages = status, reason, 1
			r.src.Windows = append(r.src.Windows, sw)
			if status == manifest.StatusUnavailable { // a refusal holds for every window
				for _, rest := range windows {
					q, _ := t.KQL(rest, r.users)
					r.src.Windows = append(r.src.Windows, manifest.SubWindow{Window: manifest.NewWindow(rest.Start, rest.End), Scope: t.Name, Query: q,
						Status: status, Reason: "not queried: " + reason})
				}
				return nil
			}
			continue
		}
		if a.partial != "" {
			r.stats.Partial++
			sw.Pages, sw.Records = 1, a.rows
			left, right, ok := halves(w, r.o.MinWindow)
			if !ok {
				sw.Status, sw.Reason, sw.Records = manifest.StatusFailed, "result not complete and the window cannot be split below "+r.o.MinWindow.String()+": "+a.partial, 0
				r.src.Windows = append(r.src.Windows, sw)
				continue
			}
			sw.Status, sw.Reason = manifest.StatusFailed, "superseded: "+a.partial+"; split in halves"
			r.src.Superseded = append(r.src.Superseded, sw)
			r.stats.Split++
			r.o.Log.Info("workspace: result not complete, splitting", "table", t.Name, "window", w.String(), "rows", a.rows, "why", a.partial)
			windows = append([]collect.Window{left, right}, windows...)
			continue
		}
		n, out, err := writeRows(a.body, w, open, openOutside)
		if err != nil {
			var fe *collect.FatalError
			if errors.As(err, &fe) {
				return err
			}
			sw.Status, sw.Reason, sw.Pages = manifest.StatusFailed, "response not understood: "+err.Error(), 1
			r.src.Windows = append(r.src.Windows, sw)
			continue
		}
		sw.Pages, sw.Records = 1, n+out
		r.src.Windows = append(r.src.Windows, sw)
		if out > 0 {
			r.src.OutOfScope += out
			r.warn("%s %s: %d rows outside the window's TimeGenerated bounds kept apart in %s", t.Name, w, out, oosPath)
		}
		if r.job.Progress != nil {
			r.job.Progress.Add(Name, int(n), 1)
		}
	}
	return nil
}

// query runs one KQL query and returns the response body, or why it cannot
// be taken whole.
func (r *run) query(ctx context.Context, kql string, w collect.Window) (answer, error) {
	var resp *http.Response
	cctx := runtime.WithCaptureResponse(context.WithValue(ctx, attemptKey{}, new(atomic.Int64)), &resp)
	// The timespan is applied in addition to the KQL's bounds; it covers
	// the window whole-second-wide, so the KQL's half-open bounds decide.
	span := azquery.NewTimeInterval(w.Start.UTC().Truncate(time.Second), w.End.UTC().Truncate(time.Second).Add(time.Second))
	wait := int(r.o.Wait / time.Second)
	res, err := r.client.QueryWorkspace(cctx, r.o.WorkspaceID, azquery.Body{Query: &kql, Timespan: &span},
		&azquery.LogsClientQueryWorkspaceOptions{Options: &azquery.LogsQueryOptions{Wait: &wait}})
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusGatewayTimeout {
			return answer{partial: "the query did not finish within the server timeout (504 Gateway Timeout)"}, nil
		}
		return answer{}, err
	}
	if resp == nil {
		return answer{}, errors.New("no response captured")
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return answer{}, fmt.Errorf("reading the response: %w", err)
	}
	a := answer{body: body}
	if len(res.Tables) > 0 && res.Tables[0] != nil {
		a.rows = int64(len(res.Tables[0].Rows))
	}
	switch {
	case res.Error != nil:
		a.partial = "partial result (" + res.Error.Code + "): " + partialText(body)
	case len(res.Tables) != 1:
		a.partial = fmt.Sprintf("the response holds %d tables, one expected", len(res.Tables))
	case a.rows >= r.o.RowLimit:
		a.partial = fmt.Sprintf("%d rows: the per-query row limit (%d) is reached, so rows may be cut", a.rows, r.o.RowLimit)
	case int64(len(body)) >= r.o.ByteLimit:
		a.partial = fmt.Sprintf("%d bytes: the per-query size limit (%d) is reached, so rows may be cut", len(body), r.o.ByteLimit)
	}
	return a, nil
}

// writeRows writes each row of the response's only table as one JSON
// object: the column names as keys, in the response's column order, each
// value's JSON text as the service sent it. A row whose TimeGenerated is
// not inside w (the service answered beyond what was asked) goes to the
// out-of-scope file instead. Sinks are opened at the first row.
func writeRows(body []byte, w collect.Window, in, outside func() (collect.Sink, error)) (n, out int64, err error) {
	tbl := gjson.GetBytes(body, "tables.0")
	var names [][]byte
	tg := -1
	for i, c := range tbl.Get("columns").Array() {
		k, err := json.Marshal(c.Get("name").String())
		if err != nil {
			return 0, 0, err
		}
		if c.Get("name").String() == "TimeGenerated" {
			tg = i
		}
		names = append(names, k)
	}
	rows := tbl.Get("rows")
	if !rows.IsArray() || len(names) == 0 {
		return 0, 0, errors.New("no columns or rows in the response's table")
	}
	if tg < 0 {
		return 0, 0, errors.New("the response's table has no TimeGenerated column")
	}
	var buf bytes.Buffer
	var werr error
	rows.ForEach(func(_, row gjson.Result) bool {
		vals := row.Array()
		if !row.IsArray() || len(vals) != len(names) {
			werr = fmt.Errorf("row %d has %d values for %d columns", n, len(vals), len(names))
			return false
		}
		buf.Reset()
		buf.WriteByte('{')
		for i, v := range vals {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(names[i])
			buf.WriteByte(':')
			if bytes.ContainsAny([]byte(v.Raw), "\r\n") { // whitespace between tokens of a nested value only
				if err := json.Compact(&buf, []byte(v.Raw)); err != nil {
					werr = err
					return false
				}
				continue
			}
			buf.WriteString(v.Raw)
		}
		buf.WriteByte('}')
		at, perr := time.Parse(time.RFC3339Nano, vals[tg].String())
		open := in
		if perr != nil || at.Before(w.Start) || !at.Before(w.End) {
			open = outside
		}
		sink, err := open()
		if err != nil {
			werr = err
			return false
		}
		if err := sink.Write(bytes.Clone(buf.Bytes())); err != nil {
			werr = &collect.FatalError{Err: fmt.Errorf("workspace: writing record: %w", err)}
			return false
		}
		if perr != nil || at.Before(w.Start) || !at.Before(w.End) {
			out++
		} else {
			n++
		}
		return true
	})
	return n, out, werr
}

// halves splits w at a multiple of min, or reports false when it cannot.
func halves(w collect.Window, min time.Duration) (collect.Window, collect.Window, bool) {
	mid := w.Start.Add(w.Duration() / 2).Truncate(min)
	if !mid.After(w.Start) || !mid.Before(w.End) {
		return w, w, false
	}
	return collect.Window{Start: w.Start, End: mid}, collect.Window{Start: mid, End: w.End}, true
}

// missingTable reports whether err is the service's semantic error for a
// table the workspace does not have.
func missingTable(err error, table string) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return false
	}
	return strings.Contains(errorText(err), "Failed to resolve table or column expression named '"+table+"'")
}

// errorText is the service's error body (or the error) on one line.
func errorText(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.RawResponse != nil {
		if b, perr := runtime.Payload(re.RawResponse); perr == nil && len(b) > 0 {
			if m := gjson.GetBytes(b, "error.innererror.innererror.message"); m.Exists() {
				return m.String()
			}
			if m := gjson.GetBytes(b, "error.message"); m.Exists() {
				return gjson.GetBytes(b, "error.code").String() + ": " + m.String()
			}
			return compactText(string(b))
		}
		return fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
	}
	return compactText(err.Error())
}

// partialText is the innermost message of the response's partial error
// (e.g. "Query result set has exceeded the internal record count limit").
func partialText(body []byte) string {
	var msgs []string
	var walk func(v gjson.Result)
	walk = func(v gjson.Result) {
		if m := v.Get("innererror.message"); m.Exists() {
			msgs = append(msgs, m.String())
		}
		for _, d := range v.Get("details").Array() {
			walk(d)
		}
	}
	walk(gjson.GetBytes(body, "error"))
	if len(msgs) == 0 {
		return compactText(gjson.GetBytes(body, "error.message").String())
	}
	return compactText(strings.Join(msgs, "; "))
}

func compactText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// classify maps an error to a window status and reason; fatal errors end
// the run (cancellation, a refused credential).
func classify(err error) (status, reason string, fatal bool) {
	var re *azcore.ResponseError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return manifest.StatusFailed, "cancelled: " + err.Error(), true
	case errors.As(err, &re):
		switch re.StatusCode {
		case http.StatusUnauthorized:
			return manifest.StatusFailed, "credentials refused: " + errorText(err), true
		case http.StatusForbidden:
			return manifest.StatusUnavailable, "permission: the identity cannot read the workspace (" + errorText(err) + "); it needs Log Analytics Reader on the workspace", false
		case http.StatusNotFound:
			return manifest.StatusUnavailable, "workspace not found: " + errorText(err), false
		case http.StatusTooManyRequests:
			return manifest.StatusFailed, "throttled and out of retries: " + errorText(err), false
		}
		return manifest.StatusFailed, fmt.Sprintf("%d: %s", re.StatusCode, errorText(err)), false
	}
	var ae interface{ NonRetriable() }
	if errors.As(err, &ae) { // azidentity's authentication errors
		return manifest.StatusFailed, "credentials: " + err.Error(), true
	}
	return manifest.StatusFailed, compactText(err.Error()), false
}

// enableHint says how a tenant fills the table.
func enableHint(t Table) string {
	if t.Category == "" {
		return "It is filled by Microsoft Sentinel's Office 365 connector."
	}
	return "It is filled by the Entra ID diagnostic setting category " + t.Category + " sent to this workspace."
}
