package graphtest

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Tenant is a simulated Microsoft Entra ID tenant answering a subset of
// Microsoft Graph v1.0. It implements http.Handler and is safe for
// concurrent use. Create it with New.
type Tenant struct {
	cfg      Config
	ns       uuid.UUID // namespace of every derived UUID
	tenantID string
	anchor   time.Time // the initial Now: period 0 of the background streams ends here
	users    []*person
	byID     map[string]*person // lower-case object id
	byUPN    map[string]*person // lower-case UPN
	admin    *person
	groups   []group
	key      []byte // HMAC key of skip tokens

	apps       []*spApp
	signInSrc  []source // per user index; nil when the user has no background sign-ins
	nonIntSrc  []source // per user index: background non-interactive sign-ins
	appSrc     []source // per app index: background service principal / managed identity sign-ins
	storyNonIn []record
	storySP    []record
	storyMI    []record
	selfSrc    []source // per user index: audits the user initiates on their own account
	adminSrc   []source // per user index: audits the administrator initiates on the user
	storySign  []record
	storyAudit []record
	story      Story
	mt         mtData // message traces, generated on first use

	snap snapState // the persistence snapshot, built on first use
	ual  *ualState // the audit log query API (ual.go)

	mu         sync.Mutex
	failSeen   map[string]int // requests matching each Config.Fail rule (FailAfter)
	violations []string       // requests that broke the documented contract (contract.go)
	now        time.Time
	follow     context.Context // FollowWallClock: now is read from the wall clock while it lasts
	stats      Stats
	windows    map[string][]time.Time // throttling: class+token -> times of admitted requests
	faultRNG   *rand.Rand
	stormLeft  int
	stormEnd   time.Time // with Faults.StormFor: the current or last storm's end
}

// New creates a tenant from cfg. It fails when cfg.Token is empty or a
// value is out of range.
func New(cfg Config) (*Tenant, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	ns := uuid.NewSHA1(uuid.NameSpaceOID, []byte("github.com/evidence-dfir/evidence/collect/graphtest/"+itoa(cfg.Seed)))
	t := &Tenant{
		cfg:      cfg,
		ns:       ns,
		tenantID: uuid.NewSHA1(ns, []byte("tenant")).String(),
		anchor:   cfg.Now,
		now:      cfg.Now,
		byID:     map[string]*person{},
		byUPN:    map[string]*person{},
		windows:  map[string][]time.Time{},
		faultRNG: rand.New(rand.NewPCG(uint64(cfg.Faults.Seed), 0x67726170687465)),
		stats:    Stats{ByStatus: map[int]int{}},
		ual:      &ualState{},
	}
	keySum := uuid.NewSHA1(ns, []byte("skiptoken-key"))
	t.key = append(keySum[:], []byte(itoa(cfg.Seed))...)
	t.users = buildDirectory(ns, cfg.Seed, cfg.ExtraUsers, cfg.Now)
	t.admin = t.users[1]
	t.groups = buildGroups(ns)
	origin := toTicks(cfg.Now) - spanTicks
	adminN := int64(cfg.AuditsPerUser / 5)
	if cfg.AuditsPerUser > 0 && adminN == 0 {
		adminN = 1
	}
	t.signInSrc = make([]source, len(t.users))
	t.nonIntSrc = make([]source, len(t.users))
	t.selfSrc = make([]source, len(t.users))
	t.adminSrc = make([]source, len(t.users))
	for _, u := range t.users {
		t.byID[strings.ToLower(u.ID)] = u
		t.byUPN[strings.ToLower(u.UPN)] = u
		i := int64(u.idx)
		if n := int64(cfg.SignInsPerUser); n > 0 {
			t.signInSrc[u.idx] = &bgSignIns{t: t, u: u, tl: newTimeline(mix64(u.key^0x51), n, origin), o: i}
		}
		if n := int64(cfg.NonInteractivePerUser); n > 0 {
			t.nonIntSrc[u.idx] = &bgSignIns{t: t, u: u, kind: kindNonInteractive, tl: newTimeline(mix64(u.key^0x52), n, origin), o: i}
		}
		if n := int64(cfg.AuditsPerUser); n > 0 {
			t.selfSrc[u.idx] = &bgAudits{t: t, init: u, subject: u, tl: newTimeline(mix64(u.key^0xa1), n, origin), o: 2 * i}
		}
		if !u.admin && adminN > 0 {
			t.adminSrc[u.idx] = &bgAudits{t: t, init: t.admin, subject: u, admin: true,
				tl: newTimeline(mix64(u.key^0xa2), adminN, origin), o: 2*i + 1}
		}
	}
	t.buildApps()
	t.appSrc = make([]source, len(t.apps))
	for _, a := range t.apps {
		if n := int64(cfg.AppSignIns); n > 0 && !a.story {
			t.appSrc[a.idx] = &bgAppSignIns{t: t, a: a, tl: newTimeline(mix64(hashString(a.spID)^uint64(cfg.Seed)), n, origin), o: int64(a.idx)}
		}
	}
	t.storySign, t.storyAudit, t.story = t.buildStory()
	_, t.story.Mail = t.mailStory()
	t.storyNonIn, t.storySP, t.storyMI = t.buildKindStory(&t.story)
	byTick := func(rs []record) {
		sort.Slice(rs, func(i, j int) bool { return rs[i].tick() < rs[j].tick() })
	}
	byTick(t.storyNonIn)
	byTick(t.storySP)
	byTick(t.storyMI)
	return t, nil
}

// Users returns the tenant's users: victim, alice (the administrator), bob,
// sōta, then the generated ones.
func (t *Tenant) Users() []User {
	out := make([]User, len(t.users))
	for i, u := range t.users {
		out[i] = u.User.clone()
	}
	return out
}

// Victim returns the compromised user, victim@contoso.com.
func (t *Tenant) Victim() User { return t.users[0].User.clone() }

// Admin returns the administrator, alice@contoso.com, who initiates the
// admin audits (including the story's password reset).
func (t *Tenant) Admin() User { return t.admin.User.clone() }

// TenantID returns the tenant's (organization's) id.
func (t *Tenant) TenantID() string { return t.tenantID }

// Story returns the seeded compromise.
func (t *Tenant) Story() Story { return t.story.clone() }

// Now returns the tenant's current time.
func (t *Tenant) Now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.follow != nil && t.follow.Err() == nil {
		if w := time.Now().UTC().Truncate(tickDur); w.After(t.now) {
			t.now = w
		}
	}
	return t.now
}

// SetNow moves the tenant's clock. Retention windows follow it; background
// activity continues at the same rate after the initial Now, so advancing
// the clock reveals new records. The story stays where it was.
func (t *Tenant) SetNow(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = now.UTC().Truncate(tickDur)
}

// FollowWallClock makes the tenant's clock the wall clock, read at every
// request, until ctx ends (evidence sim and evidence demo): records keep
// arriving, and the service's "now" is never behind a collection window
// that ended at the caller's "now", however loaded the machine (a clock
// moved by a ticker lagged it and made message trace refuse such a window).
// The clock never moves back.
func (t *Tenant) FollowWallClock(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.follow = ctx
}

// Stats counts what the tenant has done since New.
type Stats struct {
	Requests  int         // requests received
	ByStatus  map[int]int // complete responses written normally, by status code
	Throttled int         // 429 answers sent: budget exhaustion plus storms
	Faults    FaultStats  // injected faults
	Pages     int         // collection pages (log lists and user lists) answered 200
}

// FaultStats counts injected faults by kind.
type FaultStats struct {
	Status5xx int // 500/502/503/504 answers
	Reset     int // connections closed without an answer
	Truncate  int // 200 answers cut at half their body
	Storms    int // 429 storms started
	Storm429  int // 429 answers sent during storms (also counted in Stats.Throttled)
	Delayed   int // requests delayed by Faults.Latency
}

// Stats returns a snapshot of the counters.
func (t *Tenant) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.ByStatus = make(map[int]int, len(t.stats.ByStatus))
	for k, v := range t.stats.ByStatus {
		s.ByStatus[k] = v
	}
	return s
}

// Stream names a ground-truth record stream.
type Stream string

// Streams for Count and IDs. With userID "", the audit streams cover every
// directory audit.
const (
	StreamSignIns         Stream = "signins"          // interactive sign-ins of the user (userId eq)
	StreamAuditsInitiated Stream = "audits.initiated" // audits whose initiatedBy/user/id is the user
	StreamAuditsTarget    Stream = "audits.target"    // audits with a targetResources entry whose id is the user

	// Beta sign-in kinds. For the non-interactive stream the key is a user
	// id; for the service principal and managed identity streams it is an
	// appId ("" for every app).
	StreamSignInsNonInteractive   Stream = "signins.noninteractive"
	StreamSignInsServicePrincipal Stream = "signins.serviceprincipal"
	StreamSignInsManagedIdentity  Stream = "signins.managedidentity"
)

// groundQuery is the Graph query equivalent to a ground-truth stream; nil
// when Graph would refuse it (sign-ins on a free tenant).
func (t *Tenant) groundQuery(s Stream, userID string, start, end time.Time) *logQuery {
	q := &logQuery{lo: toTicksCeil(start), hi: toTicksCeil(end)}
	switch s {
	case StreamSignIns:
		if t.cfg.License == LicenseFree {
			return nil
		}
		q.api = apiSignIns
		if userID != "" {
			q.userID.add(userID)
		}
	case StreamSignInsNonInteractive, StreamSignInsServicePrincipal, StreamSignInsManagedIdentity:
		if t.cfg.License == LicenseFree {
			return nil
		}
		q.api, q.beta = apiSignIns, true
		switch s {
		case StreamSignInsNonInteractive:
			q.kind = kindNonInteractive
			if userID != "" {
				q.userID.add(userID)
			}
		case StreamSignInsServicePrincipal:
			q.kind = kindSP
		default:
			q.kind = kindMI
		}
		if s != StreamSignInsNonInteractive && userID != "" {
			q.appID.add(userID)
		}
	case StreamAuditsInitiated:
		q.api = apiAudits
		if userID != "" {
			q.initID.add(userID)
		}
	case StreamAuditsTarget:
		q.api = apiAudits
		if userID != "" {
			q.targetID.add(userID)
		}
	default:
		return nil
	}
	return q
}

// Count returns how many records of stream s for userID (all users when "")
// Graph would serve with createdDateTime/activityDateTime in [start, end),
// after licence and retention rules at the tenant's current Now. It costs
// O(log n) per user stream.
func (t *Tenant) Count(s Stream, userID string, start, end time.Time) int {
	q := t.groundQuery(s, userID, start, end)
	if q == nil {
		return 0
	}
	now := toTicks(t.Now())
	lo, hi := t.window(q, now)
	if t.cfg.Arrival.on() {
		return len(t.IDs(s, userID, start, end))
	}
	return int(count(t.sources(q), lo, hi))
}

// IDs returns the ids of the records Count counts, in the order Graph
// serves them (newest first).
func (t *Tenant) IDs(s Stream, userID string, start, end time.Time) []string {
	q := t.groundQuery(s, userID, start, end)
	if q == nil {
		return nil
	}
	now := toTicks(t.Now())
	lo, hi := t.window(q, now)
	runs, total := plan(t.sources(q), lo, hi, nil)
	out := make([]string, 0, total)
	m := newMerger(runs)
	for {
		src, p, ok := t.nextArrived(m, now)
		if !ok {
			return out
		}
		out = append(out, src.id(p))
	}
}

// retention returns how far back the endpoint serves records.
func (t *Tenant) retention(api logAPI) int64 {
	if t.cfg.License == LicenseFree {
		return 7 * ticksPerDay
	}
	return 30 * ticksPerDay
}

// window intersects the query's time range with what the tenant serves at
// now: records newer than now-retention and not after now.
func (t *Tenant) window(q *logQuery, now int64) (int64, int64) {
	return max(q.lo, now-t.retention(q.api)+1), min(q.hi, now+1)
}

// sources returns the streams a query reads.
func (t *Tenant) sources(q *logQuery) []source {
	if q.none {
		return nil
	}
	var out []source
	story := &storySource{o: -1}
	switch q.api {
	case apiSignIns:
		userSrc, storyRecs := t.signInSrc, t.storySign
		switch q.kindOrDefault() {
		case kindNonInteractive:
			userSrc, storyRecs = t.nonIntSrc, t.storyNonIn
		case kindSP, kindMI:
			userSrc = nil
			storyRecs = t.storySP
			if q.kindOrDefault() == kindMI {
				storyRecs = t.storyMI
			}
			want := "Application"
			if q.kindOrDefault() == kindMI {
				want = "ManagedIdentity"
			}
			for _, a := range t.apps {
				if s := t.appSrc[a.idx]; s != nil && a.typ == want && q.appMatch(a) && !q.userID.set && !q.upn.set {
					out = append(out, s)
				}
			}
		}
		for _, u := range t.users {
			if userSrc == nil {
				break
			}
			if s := userSrc[u.idx]; s != nil && q.userID.match(u.ID) && q.upn.match(u.UPN) {
				out = append(out, s)
			}
		}
		for _, r := range storyRecs {
			sr := r.(*signInRec)
			if sr.u != nil {
				if q.userID.match(sr.u.ID) && q.upn.match(sr.u.UPN) {
					story.recs = append(story.recs, r)
				}
			} else if !q.userID.set && !q.upn.set && q.appMatch(sr.sp) {
				story.recs = append(story.recs, r)
			}
		}
	case apiAudits:
		initOK := func(p *person) bool { return q.initID.match(p.ID) && q.initUPN.match(p.UPN) }
		adminOK := initOK(t.admin)
		for _, u := range t.users {
			if !q.targetID.match(u.ID) {
				continue
			}
			if s := t.selfSrc[u.idx]; s != nil && initOK(u) {
				out = append(out, s)
			}
			if s := t.adminSrc[u.idx]; s != nil && adminOK {
				out = append(out, s)
			}
		}
		for _, r := range t.storyAudit {
			a := r.(*auditRec)
			if a.init != nil && initOK(a.init) && (!q.targetID.set || a.targetsID(q.targetID.v)) {
				story.recs = append(story.recs, r)
			}
		}
	}
	if len(story.recs) > 0 {
		out = append(out, story)
	}
	return out
}

// reqCtx is one request in flight.
type reqCtx struct {
	w           http.ResponseWriter
	r           *http.Request
	reqID       string
	clientReqID string
	base        string // scheme://host of the request
	status      int
	contentType string   // of a successful answer that is not JSON (MIME content)
	pooled      [][]byte // page buffers to recycle once the answer is written (buffer)
}

// endpoint is a routed resource.
type endpoint struct {
	class  string // throttling budget: "reports" or "directory"
	faults bool   // subject to fault injection
	handle func(rc *reqCtx, arg string) (body []byte, page bool, err *gerr)
	post   bool // accepts POST (answered 201 Created) as well as GET
	action bool // accepts POST, answered 200 OK (an OData action such as runHuntingQuery)
}

// route maps a request path to an endpoint. Paths are routed by version
// segment, and segment names are matched case-insensitively, as Graph does.
func (t *Tenant) route(r *http.Request) (*endpoint, string, *gerr) {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	var segs []string
	if raw != "" {
		segs = strings.Split(raw, "/")
	}
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, "", badRequest("The request URI is malformed.")
		}
		segs[i] = u
	}
	notFound := func(seg string) *gerr {
		return &gerr{http.StatusNotFound, "BadRequest", "Resource not found for the segment '" + seg + "'."}
	}
	if len(segs) == 0 {
		return nil, "", notFound("")
	}
	switch segs[0] {
	case "v1.0":
		if len(segs) == 3 && strings.EqualFold(segs[1], "security") && strings.EqualFold(segs[2], "runHuntingQuery") {
			return t.routeHunting(), "", nil // hunting.go
		}
		if len(segs) > 1 && strings.EqualFold(segs[1], "security") {
			if ep, arg, ok := t.routeSnapshot(segs[1:]); ok { // /security/incidents (signals.go)
				return ep, arg, nil
			}
			return t.routeUAL("v1.0", segs[1:], notFound)
		}
		return t.routeV1(segs[1:], notFound)
	case "beta":
		b := segs[1:]
		if len(b) == 2 && strings.EqualFold(b[0], "auditLogs") && strings.EqualFold(b[1], "signIns") {
			return &endpoint{class: "reports", faults: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
				return t.handleLog(rc, apiSignIns, true)
			}}, "", nil
		}
		return t.routeUAL("beta", segs[1:], notFound)
	default:
		return nil, "", &gerr{http.StatusNotFound, "BadRequest", "Invalid version: " + segs[0]}
	}
}

func (t *Tenant) routeV1(segs []string, notFound func(string) *gerr) (*endpoint, string, *gerr) {
	if ep, arg, ok := t.routeSnapshot(segs); ok {
		return ep, arg, nil
	}
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	switch {
	case len(segs) == 1 && is(0, "organization"):
		return &endpoint{class: "directory", handle: t.handleOrganization}, "", nil
	case len(segs) == 1 && is(0, "users"):
		return &endpoint{class: "directory", faults: true, handle: t.handleUserList}, "", nil
	case len(segs) == 2 && is(0, "users"):
		return &endpoint{class: "directory", faults: true, handle: t.handleUser}, segs[1], nil
	case len(segs) >= 4 && is(0, "admin") && is(1, "exchange") && is(2, "tracing") && is(3, "messageTraces"):
		return t.routeMessageTrace(segs, notFound)
	case len(segs) == 2 && is(0, "auditLogs") && is(1, "signIns"):
		return &endpoint{class: "reports", faults: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
			return t.handleLog(rc, apiSignIns, false)
		}}, "", nil
	case len(segs) == 2 && is(0, "auditLogs") && is(1, "directoryAudits"):
		return &endpoint{class: "reports", faults: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
			return t.handleLog(rc, apiAudits, false)
		}}, "", nil
	case len(segs) == 3 && is(0, "users") && is(2, "ownedObjects"):
		return &endpoint{class: "directory", faults: true, handle: t.handleOwnedObjects}, segs[1], nil
	case len(segs) == 2 && is(0, "servicePrincipals"):
		return &endpoint{class: "directory", faults: true, handle: t.handleServicePrincipal}, segs[1], nil
	}
	if len(segs) == 0 {
		return nil, "", notFound("")
	}
	depth, ok := map[string]int{"organization": 1, "users": 2, "auditlogs": 2, "serviceprincipals": 2}[strings.ToLower(segs[0])]
	switch {
	case !ok:
		return nil, "", notFound(segs[0])
	case is(0, "auditLogs") && len(segs) >= 2 && !is(1, "signIns") && !is(1, "directoryAudits"):
		return nil, "", notFound(segs[1])
	case len(segs) > depth:
		return nil, "", notFound(segs[depth])
	}
	return nil, "", notFound(segs[len(segs)-1])
}

// ServeHTTP answers one Graph request.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rc := &reqCtx{w: w, r: r, reqID: uuid.NewString(), clientReqID: r.Header.Get("client-request-id")}
	defer rc.release()
	if rc.clientReqID == "" {
		rc.clientReqID = uuid.NewString()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	rc.base = scheme + "://" + r.Host
	t.mu.Lock()
	t.stats.Requests++
	t.mu.Unlock()
	if l := t.cfg.Logger; l != nil {
		defer func() {
			l.LogAttrs(r.Context(), slog.LevelDebug, "graphtest request",
				slog.String("method", r.Method), slog.String("uri", r.RequestURI),
				slog.Int("status", rc.status), slog.Duration("elapsed", time.Since(start)),
				slog.String("request_id", rc.reqID))
		}()
	}
	token, e := t.authorize(r)
	if e != nil {
		t.writeError(rc, e, nil)
		return
	}
	if e := t.forced(r); e != nil {
		var extra map[string]string
		if e.status == http.StatusTooManyRequests {
			extra = map[string]string{"Retry-After": "1"}
		}
		t.writeError(rc, e, extra)
		return
	}
	ep, arg, e := t.route(r)
	if e != nil {
		t.writeError(rc, e, nil)
		return
	}
	if r.Method != http.MethodGet && !((ep.post || ep.action) && r.Method == http.MethodPost) {
		t.writeError(rc, &gerr{http.StatusMethodNotAllowed, "Request_BadRequest",
			"The requested resource does not support http method '" + r.Method + "'."}, nil)
		return
	}
	if e := t.checkContract(r); e != nil {
		t.writeError(rc, e, nil)
		return
	}
	if retry, ok := t.admit(ep.class, token, start); !ok {
		t.mu.Lock()
		t.stats.Throttled++
		t.mu.Unlock()
		t.writeError(rc, &gerr{http.StatusTooManyRequests, "TooManyRequests", "Too many requests."},
			map[string]string{"Retry-After": itoa(int64(retry))})
		return
	}
	act := faultNone
	if ep.faults {
		act = t.injectFault(rc)
		if act == faultHandled {
			return
		}
	}
	body, page, e := ep.handle(rc, arg)
	if e != nil {
		t.writeError(rc, e, nil)
		return
	}
	if act == faultTruncate {
		t.writeTruncated(rc, body)
		return
	}
	status := http.StatusOK
	if ep.post && r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	t.write(rc, status, body, nil)
	if page {
		t.mu.Lock()
		t.stats.Pages++
		t.mu.Unlock()
	}
}

// authorize checks the bearer token.
func (t *Tenant) authorize(r *http.Request) (string, *gerr) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if h == "" || (ok && tok == "") {
		return "", &gerr{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty."}
	}
	if !ok || tok != t.cfg.Token {
		return "", &gerr{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."}
	}
	return tok, nil
}

// admit applies the per-token sliding-window budget of a class to a
// request that arrived at `at` (when ServeHTTP began: the service counts a
// request when it receives it, not after its own routing and checks). When
// the request is refused it returns the Retry-After seconds: the time until
// the oldest admitted request leaves the window, rounded up, or 0 when the
// window itself is shorter than a second.
func (t *Tenant) admit(class, token string, at time.Time) (int, bool) {
	b := t.cfg.Directory
	switch class {
	case "reports":
		b = t.cfg.Reports
	case "auditquery":
		b = t.cfg.UAL.Submissions
	case "auditread":
		b = t.cfg.UAL.Reads
	case "messagetrace":
		b = t.cfg.MessageTrace
	case "hunting":
		b = t.cfg.Hunting
	}
	if b.unlimited() {
		return 0, true
	}
	now := at
	key := class + "\x00" + token
	t.mu.Lock()
	defer t.mu.Unlock()
	win := t.windows[key]
	i := 0
	for i < len(win) && now.Sub(win[i]) >= b.Per {
		i++
	}
	win = win[i:]
	if len(win) >= b.Requests {
		t.windows[key] = win
		if b.Per < time.Second {
			return 0, false
		}
		wait := win[0].Add(b.Per).Sub(now)
		secs := int((wait + time.Second - 1) / time.Second)
		return max(secs, 1), false
	}
	if cap(win) == len(win) { // compact instead of growing without bound
		win = append(make([]time.Time, 0, b.Requests), win...)
	}
	// Requests that arrived together may take the lock out of order: keep
	// the window sorted by arrival.
	i = len(win)
	for i > 0 && win[i-1].After(now) {
		i--
	}
	win = append(win, time.Time{})
	copy(win[i+1:], win[i:])
	win[i] = now
	t.windows[key] = win
	return 0, true
}

// write sends a complete answer with Graph's headers.
func (t *Tenant) write(rc *reqCtx, status int, body []byte, extra map[string]string) {
	h := rc.w.Header()
	t.setHeaders(h, rc, len(body))
	for k, v := range extra {
		h.Set(k, v)
	}
	rc.status = status
	rc.w.WriteHeader(status)
	rc.w.Write(body) //nolint:errcheck // the client may be gone
	t.mu.Lock()
	t.stats.ByStatus[status]++
	t.mu.Unlock()
}

const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func (t *Tenant) setHeaders(h http.Header, rc *reqCtx, n int) {
	h.Set("Content-Type", contentType)
	if rc.contentType != "" && rc.status == 0 {
		h.Set("Content-Type", rc.contentType)
	}
	h.Set("Content-Length", itoa(int64(n)))
	h.Set("request-id", rc.reqID)
	h.Set("client-request-id", rc.clientReqID)
	h.Set("Date", t.Now().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
}

// writeError sends a Graph error:
// {"error":{"code":..,"message":..,"innerError":{"date":..,"request-id":..,"client-request-id":..}}}
func (t *Tenant) writeError(rc *reqCtx, e *gerr, extra map[string]string) {
	w := jw{b: make([]byte, 0, 256)}
	w.open()
	w.key("error")
	w.open()
	w.key("code")
	w.str(e.code)
	w.key("message")
	w.str(e.message)
	w.key("innerError")
	w.open()
	w.key("date")
	w.str(t.Now().Format("2006-01-02T15:04:05"))
	w.key("request-id")
	w.str(rc.reqID)
	w.key("client-request-id")
	w.str(rc.clientReqID)
	w.close()
	w.close()
	w.close()
	t.write(rc, e.status, w.b, extra)
}
