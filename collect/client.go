// Package collect reads evidence from Microsoft Graph: the shared Graph
// client (pacing, retries, provenance, raw bytes) and one Source per log.
//
// Every record leaves this package as the bytes Graph sent (at most passed
// through json.Compact to fit on one JSON Lines line); nothing is decoded
// into SDK models and re-serialised.
package collect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/evidence-dfir/evidence/collect/catalog"
)

// Budget classes: each Graph service throttles separately, so each has its
// own client-side limiter.
const (
	ClassReports      = "reports"      // /auditLogs/signIns, /auditLogs/directoryAudits
	ClassDirectory    = "directory"    // /users, /organization
	ClassMessageTrace = "messagetrace" // /admin/exchange/tracing
	ClassAuditQuery   = "auditquery"   // /security/auditLog/queries submissions
	ClassSecurity     = "security"     // /security/incidents, /security/alerts_v2 (Defender XDR)
	ClassHunting      = "hunting"      // /security/runHuntingQuery (Defender XDR advanced hunting)
)

// HuntingTimeout bounds one advanced hunting request: Defender documents
// that a query may run up to 200 seconds, beyond the 100 s the other
// requests are given.
const HuntingTimeout = 240 * time.Second

// DefaultGraphURL is the global-cloud Graph endpoint.
const DefaultGraphURL = "https://graph.microsoft.com"

// maxBody bounds one response body; a page of 1,000 sign-ins is a few MB.
const maxBody = 256 << 20

// RetryPolicy says how hard the client tries before it gives up on a request.
type RetryPolicy struct {
	MaxAttempts   int           // attempts per request, first included
	BaseDelay     time.Duration // first backoff step
	MaxDelay      time.Duration // cap of one backoff step
	MaxRetryAfter time.Duration // a Retry-After longer than this gives up (throttling budget)
	// MinSpan is the least time over which the attempts of one request are
	// spread: before the last attempt the client waits until MinSpan has
	// passed since the first, so a storm of 429s answered "Retry-After: 0"
	// cannot burn every attempt in a second. Zero means 120 × BaseDelay
	// (2 minutes with the default 1 s).
	MinSpan time.Duration
}

// minSpan is MinSpan with its default.
func (p RetryPolicy) minSpan() time.Duration {
	if p.MinSpan > 0 {
		return p.MinSpan
	}
	return 120 * p.BaseDelay
}

// DefaultRetry is the production retry policy.
var DefaultRetry = RetryPolicy{MaxAttempts: 8, BaseDelay: time.Second, MaxDelay: 60 * time.Second, MaxRetryAfter: 10 * time.Minute}

// Options configure a Client.
type Options struct {
	GraphURL   string                 // e.g. https://graph.microsoft.com; no version segment
	Credential azcore.TokenCredential // from Credential()
	Budgets    map[string]Budget      // per class; missing classes use the documented defaults
	Margin     time.Duration          // added to every budget window (clock skew); default Per/50
	Retry      RetryPolicy            // zero -> DefaultRetry
	RequestLog io.Writer              // requests.jsonl; nil discards
	Logger     *slog.Logger           // nil -> slog.Default()
	UserAgent  string                 // product/version
	// AppOnly says the credential carries application permissions (no
	// signed-in user): requests to endpoints whose documentation lists
	// application permissions as not supported are refused before they
	// are sent, as Graph would refuse them (403 Authorization_RequestDenied).
	AppOnly bool
}

// Client talks to Graph through the msgraph-sdk-go core request adapter and
// middleware pipeline, returning raw response bytes.
type Client struct {
	base     string
	basePath string // the escaped path of base, stripped before catalogue lookups
	// appOnly: the credential carries application permissions; kindKnown:
	// that is settled (from Options or the first token's claims).
	appOnly, kindKnown atomic.Bool
	answered           atomic.Bool // some request got an HTTP answer: the service is reachable
	adapter            *msgraphcore.GraphRequestAdapterBase
	http               *http.Client
	hunting            *http.Client // http with HuntingTimeout, for ClassHunting
	limiters           map[string]*Limiter
	retry              RetryPolicy
	log                *slog.Logger

	reqLogMu sync.Mutex
	reqLog   io.Writer

	stats  Stats
	onWait atomic.Pointer[func(source, reason string, d time.Duration)]
}

// Stats counts what the client did; safe for concurrent reads.
type Stats struct {
	Requests  atomic.Int64 // attempts sent
	Retries   atomic.Int64 // attempts after the first
	Throttled atomic.Int64 // 429 answers
	Bytes     atomic.Int64 // response bytes read
}

type classKey struct{}

// sendKey carries a *sendInfo through the middleware pipeline, so the pacer
// can report when the attempt really left and how long it waited.
type sendKey struct{}

type sendInfo struct {
	source string
	at     time.Time
	waited time.Duration
}

// New builds a Client.
func New(opts Options) (*Client, error) {
	if opts.GraphURL == "" {
		opts.GraphURL = DefaultGraphURL
	}
	base := strings.TrimRight(opts.GraphURL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--graph-url %q is not an absolute http(s) URL", opts.GraphURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("--graph-url %q: plain http is allowed only for a loopback simulator; use https", opts.GraphURL)
	}
	if opts.Credential == nil {
		return nil, errors.New("no credential")
	}
	retry := opts.Retry
	if retry.MaxAttempts == 0 {
		retry = DefaultRetry
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{base: base, basePath: strings.TrimRight(u.EscapedPath(), "/"), retry: retry, log: logger, reqLog: opts.RequestLog, limiters: map[string]*Limiter{}}
	if opts.AppOnly {
		c.appOnly.Store(true)
		c.kindKnown.Store(true)
	}
	defaults := map[string]Budget{ClassReports: ReportsBudget, ClassMessageTrace: MessageTraceBudget, ClassAuditQuery: AuditQueryBudget,
		ClassSecurity: SecurityBudget, ClassHunting: HuntingBudget}
	for class, b := range defaults {
		if ob, ok := opts.Budgets[class]; ok {
			b = ob
		}
		c.limiters[class] = NewLimiter(b, margin(opts.Margin, b))
	}
	for class, b := range opts.Budgets {
		if _, ok := c.limiters[class]; !ok {
			c.limiters[class] = NewLimiter(b, margin(opts.Margin, b))
		}
	}

	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		opts.Credential, []string{ScopeFor(base)}, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph auth provider: %w", err)
	}
	ua := khttp.NewUserAgentHandlerOptions()
	ua.ProductName, ua.ProductVersion = "evidence", strings.TrimPrefix(opts.UserAgent, "evidence/")
	// The pipeline: Graph telemetry (SdkVersion, a fresh client-request-id per
	// attempt), user agent, redirects, then our pacing right before the wire.
	// Left out on purpose: kiota's RetryHandler (it retries neither resets
	// nor truncated bodies and exposes no attempt count; Client.Do retries
	// instead), ParametersNameDecodingHandler (it rewrites query strings, and
	// nextLinks must be followed exactly as given) and CompressionHandler
	// (request bodies are logged as sent).
	mw := []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&msgraphcore.GraphClientOptions{GraphServiceVersion: "v1.0"}),
		khttp.NewUserAgentHandlerWithOptions(ua),
		khttp.NewRedirectHandler(),
		pacer{c},
	}
	c.http = khttp.GetDefaultClient(mw...)
	hunting := *c.http
	hunting.Timeout = max(hunting.Timeout, HuntingTimeout)
	c.hunting = &hunting
	parse := absser.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	ser := absser.NewSerializationWriterFactoryRegistry()
	ser.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()
	c.adapter, err = msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, msgraphcore.GraphClientOptions{GraphServiceVersion: "v1.0"}, parse, ser, c.http)
	if err != nil {
		return nil, fmt.Errorf("graph request adapter: %w", err)
	}
	c.adapter.SetBaseUrl(base + "/v1.0")
	return c, nil
}

func margin(m time.Duration, b Budget) time.Duration {
	if m > 0 {
		return m
	}
	return b.Per / 50
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// ScopeFor is the OAuth scope of a Graph endpoint: "<graph url>/.default".
func ScopeFor(graphURL string) string { return strings.TrimRight(graphURL, "/") + "/.default" }

// BaseURL is the service root for an API version, e.g. ".../v1.0".
func (c *Client) BaseURL(version string) string { return c.base + "/" + version }

// GraphURL is the Graph endpoint without version.
func (c *Client) GraphURL() string { return c.base }

// Adapter is the msgraph-sdk-go request adapter, for typed request builders.
func (c *Client) Adapter() abs.RequestAdapter { return c.adapter }

// Stats returns the client's counters.
func (c *Client) Stats() *Stats { return &c.stats }

// OnWait has f told whenever a request is about to wait: for its throttling
// budget, a Retry-After or a retry's backoff (reasons WaitBudget,
// WaitRetryAfter, WaitRetry), so a progress display can say what it waits for.
func (c *Client) OnWait(f func(source, reason string, d time.Duration)) { c.onWait.Store(&f) }

func (c *Client) reportWait(source, reason string, d time.Duration) {
	if f := c.onWait.Load(); f != nil && d > 0 {
		(*f)(source, reason, d)
	}
}

// Budget returns the budget requests of class are paced by.
func (c *Client) Budget(class string) Budget {
	if l := c.limiters[class]; l != nil {
		return l.budget
	}
	return Budget{}
}

// ThrottleWait sums the time every limiter made requests wait.
func (c *Client) ThrottleWait() (time.Duration, int64) {
	var d time.Duration
	var n int64
	for _, l := range c.limiters {
		w, k := l.Waited()
		d += w
		n += k
	}
	return d, n
}

// pacer is the kiota middleware that holds each attempt until its service
// budget allows it.
type pacer struct{ c *Client }

// Intercept implements khttp.Middleware.
func (p pacer) Intercept(pipeline khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	class, _ := req.Context().Value(classKey{}).(string)
	var waited time.Duration
	si, _ := req.Context().Value(sendKey{}).(*sendInfo)
	if l := p.c.limiters[class]; l != nil {
		slot, w, err := l.reserve(req.Context(), func(d time.Duration) {
			if si != nil {
				p.c.reportWait(si.source, WaitBudget, d)
			}
		})
		if err != nil {
			return nil, err
		}
		waited = w
		if slot >= 0 {
			// The budget counts from when the request is written to the
			// connection, which can come later than now.
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				WroteRequest: func(httptrace.WroteRequestInfo) { l.Sent(slot, time.Now()) },
			}))
		}
	}
	if si != nil {
		si.at, si.waited = time.Now(), waited
	}
	return pipeline.Next(req, i)
}

// Request is one Graph call.
type Request struct {
	Class  string // budget class
	Source string // for the provenance log
	Method string // GET when empty
	URL    string // absolute, sent exactly as given
	Body   []byte // JSON request body, for POST

	// nextLink marks a URL the service gave (@odata.nextLink): its path must
	// still be a catalogue entry, but its query is the service's own.
	nextLink bool
	endpoint string // catalogue entry id, for requests.jsonl
	ep       *catalog.Endpoint
}

// UncataloguedError is a request the tool must not send: it matches no
// entry of the endpoint catalogue (collect/catalog) or breaks the entry's
// documented rules. It is a defect in the tool, so it ends the run.
type UncataloguedError struct {
	Method, URL string
	Problems    []string
	Doc         string
}

// Error renders the error on one line.
func (e *UncataloguedError) Error() string {
	s := e.Method + " " + e.URL + ": "
	if e.Doc == "" {
		return s + "no entry in the endpoint catalogue (collect/catalog); the tool sends only catalogued requests"
	}
	return s + "breaks the documented rules (" + e.Doc + "): " + strings.Join(e.Problems, "; ")
}

// Endpoint returns the catalogue entry a request URL belongs to, checking
// its query against the entry unless it is a nextLink given by the service.
func (c *Client) Endpoint(method string, u *url.URL, nextLink bool) (*catalog.Endpoint, error) {
	path := u.EscapedPath()
	if !strings.HasPrefix(path, c.basePath+"/") {
		return nil, &UncataloguedError{Method: method, URL: RedactURL(u.String())}
	}
	ep := catalog.Match(method, strings.TrimPrefix(path, c.basePath))
	if ep == nil {
		return nil, &UncataloguedError{Method: method, URL: RedactURL(u.String())}
	}
	if nextLink {
		return ep, nil
	}
	if vs := ep.CheckQuery(u.RawQuery); len(vs) > 0 {
		e := &UncataloguedError{Method: method, URL: RedactURL(u.String()), Doc: ep.Doc}
		for _, v := range vs {
			e.Problems = append(e.Problems, v.Message)
		}
		return nil, e
	}
	return ep, nil
}

// AppOnly reports whether the client's credential is known to be app-only
// (from Options, or from the claims of the first token it sent).
func (c *Client) AppOnly() bool { return c.appOnly.Load() }

// tokenAppOnly reads an "Authorization: Bearer <JWT>" header's claims:
// Entra access tokens carry idtyp "app" and roles, without scp, when they
// hold application permissions. known is false for a token that is not a
// readable JWT. The token itself is never kept or logged.
func tokenAppOnly(header string) (appOnly, known bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false, false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false, false
	}
	var claims struct {
		IDType string   `json:"idtyp"`
		Scp    string   `json:"scp"`
		Roles  []string `json:"roles"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return false, false
	}
	return claims.IDType == "app" || (claims.Scp == "" && len(claims.Roles) > 0), true
}

// Response is a successful answer.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Attempts  int
	RequestID string
}

// GraphError is a non-retryable error answer from Graph, in its error shape.
type GraphError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	Method    string
	URL       string
	Date      string // the answer's Date header: the service's clock
	cause     error  // for Code "credential": the credential's own error (Explain reads it)
}

// Unwrap returns the credential's error behind a "credential" GraphError.
func (e *GraphError) Unwrap() error { return e.cause }

// Error renders the error on one line.
func (e *GraphError) Error() string {
	s := fmt.Sprintf("graph answered %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	return s
}

// GaveUpError is returned when a request kept failing through every retry, or
// the service asked to wait longer than the throttling budget allows.
type GaveUpError struct {
	Attempts  int
	Throttled bool
	Last      error
}

// Error renders the error on one line.
func (e *GaveUpError) Error() string {
	if e.Throttled {
		return fmt.Sprintf("throttling budget exhausted after %d attempts: %v", e.Attempts, e.Last)
	}
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Last)
}

// Unwrap returns the last attempt's error.
func (e *GaveUpError) Unwrap() error { return e.Last }

// Validate checks a successful body: it returns the number of records it
// holds, or an error when the body is not what was asked for (invalid JSON
// is retried, since a truncated or garbled answer is usually transient).
type Validate func(body []byte) (records int, err error)

// Do sends req with pacing and retries and returns the raw answer. Every
// attempt is written to the provenance log.
func (c *Client) Do(ctx context.Context, req Request, validate Validate) (*Response, error) {
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("request URL %q: %w", RedactURL(req.URL), err)
	}
	ep, err := c.Endpoint(req.Method, u, req.nextLink)
	if err != nil {
		return nil, &FatalError{Err: err}
	}
	req.endpoint, req.ep = ep.ID, ep
	var last error
	throttled, reauth := false, false
	first := time.Now()
	for attempt := 1; attempt <= c.retry.MaxAttempts; attempt++ {
		if attempt > 1 {
			c.stats.Retries.Add(1)
		}
		resp, wait, err := c.attempt(ctx, req, u, attempt, validate)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ge *GraphError
		if errors.As(err, &ge) {
			if ge.Status == http.StatusUnauthorized && !reauth {
				// The token expired or was revoked: the credential is asked
				// again for the next try (the auth provider calls GetToken
				// for every request), so one that can refresh (azidentity)
				// hands a new token; a fixed token is refused again.
				reauth = true
				if attempt == 1 { // counted by the loop otherwise
					c.stats.Retries.Add(1)
				}
				c.log.Info("Graph refused the token (401); asking the credential for a new one", "source", req.Source)
				attempt--
				continue
			}
			return nil, err
		}
		last = err
		if p := Explain(err); p != nil && p.Kind == ProblemNetwork && !c.answered.Load() {
			// Nothing answered yet: retrying for minutes would only hide that
			// there is no connection at all.
			return nil, &FatalError{Err: p}
		}
		var te *throttleError
		throttled = errors.As(err, &te)
		if wait > c.retry.MaxRetryAfter {
			return nil, &GaveUpError{Attempts: attempt, Throttled: true, Last: err}
		}
		if wait < 0 {
			wait = c.backoff(attempt)
		}
		if attempt == c.retry.MaxAttempts {
			break
		}
		if attempt+1 == c.retry.MaxAttempts {
			// The last attempt: not before MinSpan since the first.
			wait = max(wait, c.retry.minSpan()-time.Since(first))
		}
		c.log.Debug("retrying", "source", req.Source, "attempt", attempt, "wait", wait, "err", err)
		if throttled && te.retryAfter != "" {
			c.reportWait(req.Source, WaitRetryAfter, wait)
		} else {
			c.reportWait(req.Source, WaitRetry+": "+err.Error(), wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	return nil, &GaveUpError{Attempts: c.retry.MaxAttempts, Throttled: throttled, Last: last}
}

// transportError is a request that got no HTTP answer; its text is
// scrubbed, the cause is kept for Explain.
type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

// throttleError is a 429 answer.
type throttleError struct{ retryAfter string }

func (e *throttleError) Error() string {
	return "429 Too Many Requests (Retry-After " + e.retryAfter + ")"
}

// backoff is capped exponential backoff with full jitter.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay << min(attempt-1, 20)
	if d > c.retry.MaxDelay || d <= 0 {
		d = c.retry.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// attempt sends one try. It returns the response, or an error and how long to
// wait before the next try (-1: use backoff).
func (c *Client) attempt(ctx context.Context, req Request, u *url.URL, n int, validate Validate) (*Response, time.Duration, error) {
	ri := abs.NewRequestInformation()
	ri.Method = method(req.Method)
	ri.SetUri(*u)
	ri.Headers.Add("Accept", "application/json")
	if req.Body != nil {
		ri.SetStreamContentAndContentType(req.Body, "application/json")
	}
	si := &sendInfo{source: req.Source}
	ctx = context.WithValue(context.WithValue(ctx, classKey{}, req.Class), sendKey{}, si)
	native, err := c.adapter.ConvertToNativeRequest(ctx, ri)
	if err != nil {
		return nil, 0, &GraphError{Status: 0, Code: "credential", Message: scrub(err.Error()), Method: req.Method, URL: RedactURL(req.URL), cause: err}
	}
	hreq := native.(*http.Request).WithContext(ctx)
	if !c.kindKnown.Load() {
		if app, known := tokenAppOnly(hreq.Header.Get("Authorization")); known {
			c.appOnly.Store(app)
		}
		c.kindKnown.Store(true)
	}
	if req.ep != nil {
		if v := req.ep.CheckToken(c.appOnly.Load()); v != nil {
			// Not sent: Graph documents no application permission here.
			return nil, 0, &GraphError{Status: v.Status, Code: v.Code, Method: req.Method, URL: RedactURL(req.URL),
				Message: "not sent: " + req.ep.Name() + " supports no application permissions (" + req.ep.Doc + "), and the credential is app-only"}
		}
	}
	rec := RequestRecord{Source: req.Source, Endpoint: req.endpoint, Budget: req.Class, Method: req.Method, URL: RedactURL(req.URL), Attempt: n}
	c.stats.Requests.Add(1)
	hc := c.http
	if req.Class == ClassHunting {
		hc = c.hunting
	}
	resp, err := hc.Do(hreq)
	start := si.at
	if start.IsZero() { // the pipeline failed before the pacer
		start = time.Now()
	}
	rec.Time = FormatTime(start)
	rec.ThrottleWaitMS = float64(si.waited.Microseconds()) / 1000
	if err != nil {
		rec.Error = scrub(err.Error())
		rec.finish(start, nil, nil)
		c.writeRecord(rec)
		return nil, -1, &transportError{msg: fmt.Sprintf("%s %s: %s", req.Method, RedactURL(req.URL), rec.Error), err: err}
	}
	c.answered.Store(true)
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.RequestID = resp.Header.Get("request-id")
	rec.ClientRequestID = hreq.Header.Get("client-request-id")
	if v := resp.Header.Get("client-request-id"); v != "" {
		rec.ClientRequestID = v
	}
	rec.Date = resp.Header.Get("Date")
	body, rerr := readBody(resp)
	if rerr == nil && len(body) > maxBody {
		rerr = fmt.Errorf("response larger than %d bytes", maxBody)
	}
	if rerr == nil && resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		rerr = fmt.Errorf("body %d bytes, Content-Length %d", len(body), resp.ContentLength)
	}
	c.stats.Bytes.Add(int64(len(body)))
	rec.finish(start, body, nil)
	if rerr != nil {
		rec.Error = "truncated body: " + scrub(rerr.Error())
		c.writeRecord(rec)
		return nil, -1, &transportError{msg: fmt.Sprintf("%s %s: %s", req.Method, RedactURL(req.URL), rec.Error), err: err}
	}
	c.answered.Store(true)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.stats.Throttled.Add(1)
		ra := resp.Header.Get("Retry-After")
		rec.Error = "throttled"
		c.writeRecord(rec)
		wait, ok := ParseRetryAfter(ra, time.Now())
		if !ok || wait == 0 {
			// Absent or "now": exponential backoff with full jitter, as
			// for any other retryable answer.
			wait = -1
		}
		return nil, wait, &throttleError{retryAfter: ra}
	case resp.StatusCode >= 500:
		ge := parseGraphError(resp, body, req)
		rec.Error = ge.Error()
		c.writeRecord(rec)
		wait := time.Duration(-1)
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = d
		}
		return nil, wait, fmt.Errorf("%s %s: %s", req.Method, RedactURL(req.URL), ge.Error())
	case resp.StatusCode >= 300:
		ge := parseGraphError(resp, body, req)
		rec.Error = ge.Error()
		c.writeRecord(rec)
		return nil, 0, ge
	}
	if validate != nil {
		records, verr := validate(body)
		if verr != nil {
			rec.Error = "invalid answer: " + verr.Error()
			c.writeRecord(rec)
			return nil, -1, fmt.Errorf("%s %s: %s", req.Method, RedactURL(req.URL), rec.Error)
		}
		rec.Records = &records
	}
	c.writeRecord(rec)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Attempts: n, RequestID: rec.RequestID}, 0, nil
}

// readBody reads at most maxBody+1 bytes of an answer as io.ReadAll does
// (same bytes, same errors), starting with a buffer of the announced
// Content-Length (io.ReadAll would grow and copy a 2.5 MB page a dozen
// times).
func readBody(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, maxBody+1)
	n := resp.ContentLength
	if n < 0 || n > maxBody {
		return io.ReadAll(r)
	}
	body := make([]byte, 0, n+1) // one byte more: the end is seen without growing
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		m, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return body, err
		}
	}
}

func method(m string) abs.HttpMethod {
	switch m {
	case http.MethodPost:
		return abs.POST
	case http.MethodDelete:
		return abs.DELETE
	case http.MethodPatch:
		return abs.PATCH
	default:
		return abs.GET
	}
}

// parseGraphError reads Graph's {"error":{"code","message"}} shape.
func parseGraphError(resp *http.Response, body []byte, req Request) *GraphError {
	ge := &GraphError{Status: resp.StatusCode, RequestID: resp.Header.Get("request-id"), Method: req.Method, URL: RedactURL(req.URL), Date: resp.Header.Get("Date")}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		ge.Code, ge.Message = e.Error.Code, scrub(e.Error.Message)
	}
	if ge.Code == "" {
		ge.Message = http.StatusText(resp.StatusCode)
	}
	return ge
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// RequestRecord is one line of requests.jsonl: one attempt of one request.
type RequestRecord struct {
	Time            string  `json:"time"` // when the attempt left, after pacing
	Source          string  `json:"source,omitempty"`
	Endpoint        string  `json:"endpoint,omitempty"` // catalogue entry (collect/catalog), naming its documentation
	Budget          string  `json:"budget,omitempty"`   // throttling budget class
	ThrottleWaitMS  float64 `json:"throttle_wait_ms"`   // time held by the client-side pacer
	Method          string  `json:"method"`
	URL             string  `json:"url"`
	Attempt         int     `json:"attempt"`
	Status          int     `json:"status"`
	RequestID       string  `json:"request_id,omitempty"`
	ClientRequestID string  `json:"client_request_id,omitempty"`
	Date            string  `json:"date,omitempty"`
	DurationMS      float64 `json:"duration_ms"`
	Bytes           int     `json:"bytes"`
	SHA256          string  `json:"sha256,omitempty"`
	Records         *int    `json:"records,omitempty"`
	Error           string  `json:"error,omitempty"`
}

func (r *RequestRecord) finish(start time.Time, body []byte, _ error) {
	r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	r.Bytes = len(body)
	if body != nil {
		s := sha256.Sum256(body)
		r.SHA256 = hex.EncodeToString(s[:])
	}
}

// LogRequest writes r to requests.jsonl: the requests a source sends to a
// service other than Graph (the Logs query API) are logged beside Graph's.
// r must carry no credential.
func (c *Client) LogRequest(r RequestRecord) { c.writeRecord(r) }

func (c *Client) writeRecord(r RequestRecord) {
	if c.reqLog == nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs stay readable: & not \u0026
	if err := enc.Encode(r); err != nil {
		return
	}
	b := buf.Bytes()
	c.reqLogMu.Lock()
	defer c.reqLogMu.Unlock()
	if _, err := c.reqLog.Write(b); err != nil {
		c.log.Error("requests.jsonl write failed", "err", err)
	}
}

// credentialWords mark a query parameter that can carry a credential (a SAS
// signature, an OAuth code, token, secret or assertion, a password or key)
// when they are one of the words of its name (split at _ - .): access and
// refresh tokens, client secrets and assertions, api keys alike. OData's
// $skiptoken is one word, an opaque paging cursor, and stays readable: the
// provenance log needs it.
var credentialWords = []string{"sig", "code", "token", "secret", "password", "assertion", "key"}

// secretParam reports whether a query parameter name can carry a credential.
func secretParam(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for _, w := range words {
		for _, c := range credentialWords {
			if w == c {
				return true
			}
		}
	}
	return false
}

// RedactURL removes credential-bearing query parameters and user info from
// a URL before it is logged or written anywhere.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery == "" {
		return u.String()
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if secretParam(k) {
			parts[i] = k + "=REDACTED"
		}
	}
	u.RawQuery = strings.Join(parts, "&")
	return u.String()
}

var (
	urlInTextRE  = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)
	pairInTextRE = regexp.MustCompile(`([A-Za-z0-9_.-]+)=([^;&\s"'<>]+)`)
)

// RedactText removes credentials from free text a person typed (a custody
// detail, a note): the credential parameters and user info of every URL in
// it (as RedactURL), every NAME=VALUE pair whose NAME can carry a
// credential (a SAS signature, a storage account key, an app's client
// secret, as in a SAS or a connection string), and bearer tokens.
func RedactText(s string) string {
	s = urlInTextRE.ReplaceAllStringFunc(s, RedactURL)
	s = pairInTextRE.ReplaceAllStringFunc(s, func(kv string) string {
		k, _, _ := strings.Cut(kv, "=")
		if secretParam(k) || secretParam(camelWords(k)) {
			return k + "=REDACTED"
		}
		return kv
	})
	return scrub(s)
}

// camelWords splits AccountKey into Account_Key, as connection strings
// name their parts.
func camelWords(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RedactDetail is RedactText for a KEY=VALUE detail: the whole value when
// KEY itself names a credential (sig, token, secret, password, key, ...).
func RedactDetail(key, value string) string {
	if secretParam(key) || secretParam(camelWords(key)) {
		return "REDACTED"
	}
	return RedactText(value)
}

// bearerRE matches a bearer token in free text.
var bearerRE = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;]+`)

// scrub removes anything that looks like a bearer token from an error text.
func scrub(s string) string { return bearerRE.ReplaceAllString(s, "${1}REDACTED") }

// Page is one parsed page of an OData collection.
type Page struct {
	Records  []json.RawMessage // each compacted, otherwise as sent
	NextLink string
}

// ParsePage splits an OData collection body into its records' raw bytes and
// the @odata.nextLink, without decoding the records. See parsePageFast.
func ParsePage(body []byte) (*Page, error) { return parsePageFast(body) }

// parsePageStd is the encoding/json reference of ParsePage, kept to prove
// the fast path gives the same bytes (TestParsePageFastMatchesStd).
func parsePageStd(body []byte) (*Page, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("page: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("page: not a JSON object")
	}
	p := &Page{}
	sawValue := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("page: %w", err)
		}
		key, _ := kt.(string)
		switch key {
		case "value":
			sawValue = true
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return nil, errors.New("page: value is not an array")
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, fmt.Errorf("page record %d: %w", len(p.Records)+1, err)
				}
				if len(raw) == 0 || raw[0] != '{' {
					return nil, fmt.Errorf("page record %d: not an object", len(p.Records)+1)
				}
				var buf bytes.Buffer
				if err := json.Compact(&buf, raw); err != nil {
					return nil, fmt.Errorf("page record %d: %w", len(p.Records)+1, err)
				}
				p.Records = append(p.Records, buf.Bytes())
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("page: %w", err)
			}
		case "@odata.nextLink":
			if err := dec.Decode(&p.NextLink); err != nil {
				return nil, fmt.Errorf("page nextLink: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("page %q: %w", key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("page end: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("page: trailing data after the JSON object")
	}
	if !sawValue {
		return nil, errors.New("page: no value array")
	}
	return p, nil
}

// PageFunc receives each page in order; n counts pages from 1.
type PageFunc func(n int, p *Page) error

// pageWalk follows one collection's @odata.nextLink chain: the loop check,
// the GET and the parse of each page, and the check of the link it gives,
// shared by Pages and PagesAhead.
type pageWalk struct {
	c                   *Client
	class, source, next string
	n                   int  // pages fetched
	linked              bool // the first URL is a nextLink the service gave
	seen                map[[32]byte]bool
}

func newPageWalk(c *Client, class, source, first string) *pageWalk {
	return &pageWalk{c: c, class: class, source: source, next: first, seen: map[[32]byte]bool{}}
}

// fetch GETs the next page. A nextLink seen before is a loop: an error
// rather than a spin.
func (w *pageWalk) fetch(ctx context.Context) (*Page, error) {
	key := sha256.Sum256([]byte(w.next))
	if w.seen[key] {
		return nil, fmt.Errorf("%s page %d: nextLink repeats an earlier page (paging loop): %s", w.source, w.n+1, RedactURL(w.next))
	}
	w.seen[key] = true
	var page *Page
	_, err := w.c.Do(ctx, Request{Class: w.class, Source: w.source, URL: w.next, nextLink: w.n > 0 || w.linked}, func(body []byte) (int, error) {
		p, err := ParsePage(body)
		if err != nil {
			return 0, err
		}
		page = p
		return len(p.Records), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s page %d: %w", w.source, w.n+1, err)
	}
	w.n++
	return page, nil
}

// follow makes page's nextLink, exactly as given, the next to fetch ("" ends
// the walk).
func (w *pageWalk) follow(page *Page) error {
	if page.NextLink != "" {
		if _, err := url.Parse(page.NextLink); err != nil {
			return fmt.Errorf("%s page %d: bad nextLink: %w", w.source, w.n, err)
		}
	}
	w.next = page.NextLink
	return nil
}

// Pages GETs first and follows @odata.nextLink exactly as given until the
// collection ends. A nextLink seen before is a loop: Pages stops with an
// error rather than spin.
func (c *Client) Pages(ctx context.Context, class, source, first string, fn PageFunc) (pages int, err error) {
	w := newPageWalk(c, class, source, first)
	for w.next != "" {
		page, err := w.fetch(ctx)
		if err != nil {
			return pages, err
		}
		pages++
		if err := fn(pages, page); err != nil {
			return pages, err
		}
		if err := w.follow(page); err != nil {
			return pages, err
		}
	}
	return pages, nil
}

// PagesAhead is Pages with the next page requested while fn works on the
// current one: as soon as a page's @odata.nextLink is known, the next GET
// is sent (paced by the budget like any other), so the service's latency
// and the transfer overlap the caller's work. At most one page waits for
// fn and one more is being fetched. Pages reach fn in order, with the same
// numbers and the same errors as Pages; when fn fails, the page being
// fetched is abandoned (its attempt is logged as cancelled).
func (c *Client) PagesAhead(ctx context.Context, class, source, first string, fn PageFunc) (pages int, err error) {
	return walkAhead(ctx, newPageWalk(c, class, source, first), fn)
}

// ResumePagesAhead is PagesAhead from link, a nextLink the service gave
// before (a read resumed where it stopped): that link, like every later
// one, is followed as given, its query the service's own. Pages are
// numbered from 1 at link.
func (c *Client) ResumePagesAhead(ctx context.Context, class, source, link string, fn PageFunc) (pages int, err error) {
	w := newPageWalk(c, class, source, link)
	w.linked = true
	return walkAhead(ctx, w, fn)
}

func walkAhead(ctx context.Context, w *pageWalk, fn PageFunc) (pages int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type got struct {
		page *Page
		err  error
	}
	ch := make(chan got, 1)
	ended := false // the walk reached its last page; read once ch is closed
	go func() {
		defer close(ch)
		send := func(g got) bool {
			select {
			case ch <- g:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for w.next != "" {
			page, err := w.fetch(ctx)
			if err != nil {
				send(got{err: err})
				return
			}
			if !send(got{page: page}) {
				return
			}
			if err := w.follow(page); err != nil {
				send(got{err: err})
				return
			}
		}
		ended = true
	}()
	defer func() {
		cancel()
		for range ch { // the fetcher ends at once on a cancelled context
		}
	}()
	for g := range ch {
		if g.err != nil {
			return pages, g.err
		}
		pages++
		if err := fn(pages, g.page); err != nil {
			return pages, err
		}
	}
	// The fetcher drops what it holds when it sees the context cancelled
	// (the select in send may pick either case): pages remain, and the
	// walk says why it stopped.
	if !ended {
		if err := ctx.Err(); err != nil {
			return pages, fmt.Errorf("%s page %d: %w", w.source, pages+1, err)
		}
		return pages, fmt.Errorf("%s page %d: the page walk stopped before its last page", w.source, pages+1)
	}
	return pages, nil
}

// GetJSON fetches one JSON object (not a collection) and returns its bytes.
func (c *Client) GetJSON(ctx context.Context, class, source, u string) ([]byte, error) {
	resp, err := c.Do(ctx, Request{Class: class, Source: source, URL: u}, func(body []byte) (int, error) {
		if !json.Valid(body) {
			return 0, errors.New("not valid JSON")
		}
		return 1, nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
