package graphtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// UAL configures the simulated Purview audit log query API
// (/security/auditLog/queries, v1.0 and beta).
//
// A query is answered 201 with status notStarted, reads notStarted for the
// first third of QueryDelay, running until QueryDelay has passed, then its
// final status: succeeded, or failed (FailRate, FailAt), or it stays running
// forever (StuckAt). Its records are generated when it is created and paged
// newest first by /records with $top and an opaque, HMAC-protected
// $skiptoken in @odata.nextLink. A query matching more than RecordLimit
// records still succeeds, serves only RecordLimit of them and says
// isRecordCountLimitExceeded: true, as the v1.0 reference documents.
type UAL struct {
	// RecordsPerUser is the number of background unified audit log records
	// per user in every 30-day period (default 300; negative means none).
	RecordsPerUser int
	// QueryDelay is how long a query takes to finish (default 30 ms).
	QueryDelay time.Duration
	// RecordLimit is the per-query record-count limit (default 1,000,000).
	RecordLimit int
	// MaxPageSize is the largest $top on /records and the page size
	// without $top (default 1000). The real value is not documented.
	MaxPageSize int
	// Submissions is the budget of query creations (POST) per token;
	// Graph documents at least 200 per tenant per 24 h. Zero: unlimited.
	Submissions Budget
	// Reads is the budget of query reads and record pages per token.
	Reads Budget
	// MaxActive is the number of queued or running queries a tenant may
	// have (default 50, Graph's documented minimum).
	MaxActive int
	// FailRate is the probability that a query ends failed (seeded by
	// Faults.Seed).
	FailRate float64
	// FailAt: a query whose time range contains one of these instants
	// ends failed.
	FailAt []time.Time
	// StuckAt: a query whose time range contains one of these instants
	// never finishes.
	StuckAt []time.Time
	// HideLimitFields leaves recordCountLimit, approximateReturnedRecordCount
	// and isRecordCountLimitExceeded out of query answers (the beta
	// reference page does not list them).
	HideLimitFields bool
}

const (
	defaultUALRecords   = 300
	defaultUALDelay     = 30 * time.Millisecond
	defaultUALLimit     = 1000000
	defaultUALPageSize  = 1000
	defaultUALMaxActive = 50
	ualRetentionTicks   = 180 * ticksPerDay // Audit (Standard)
)

func (c UAL) normalize() UAL {
	switch {
	case c.RecordsPerUser == 0:
		c.RecordsPerUser = defaultUALRecords
	case c.RecordsPerUser < 0:
		c.RecordsPerUser = 0
	}
	if c.QueryDelay <= 0 {
		c.QueryDelay = defaultUALDelay
	}
	if c.RecordLimit <= 0 {
		c.RecordLimit = defaultUALLimit
	}
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = defaultUALPageSize
	}
	if c.MaxActive <= 0 {
		c.MaxActive = defaultUALMaxActive
	}
	return c
}

// UALStats counts the audit log query API's work.
type UALStats struct {
	Created   int // queries created (201)
	Refused   int // creations refused: throttled, too many active, bad request
	Succeeded int // queries that ended succeeded (counted when first seen so)
	Failed    int // queries that ended failed
	Limited   int // queries that hit RecordLimit
	Pages     int // record pages served
	MaxActive int // most queries queued or running at once
}

// ualState is the audit log query API's state inside a Tenant.
type ualState struct {
	once    sync.Once
	cfg     UAL
	bg      []source // per user index
	story   []record // ascending ticks
	events  []UALEvent
	mu      sync.Mutex
	queries map[string]*ualQuery
	rng     *rand.Rand
	stats   UALStats
}

func (t *Tenant) ualInit() *ualState {
	s := t.ual
	s.once.Do(func() {
		s.cfg = t.cfg.UAL.normalize()
		s.queries = map[string]*ualQuery{}
		s.rng = rand.New(rand.NewPCG(uint64(t.cfg.Faults.Seed), 0x75616c))
		origin := toTicks(t.anchor) - spanTicks
		s.bg = make([]source, len(t.users))
		if n := int64(s.cfg.RecordsPerUser); n > 0 {
			for _, u := range t.users {
				s.bg[u.idx] = &bgUAL{t: t, u: u, tl: newTimeline(mix64(u.key^0x0a1), n, origin), o: int64(u.idx)}
			}
		}
		s.story, s.events = t.buildUALStory()
	})
	return s
}

// UALStats returns a snapshot of the audit log query counters.
func (t *Tenant) UALStats() UALStats {
	s := t.ualInit()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// UALEvent is one seeded unified audit log record of the story.
type UALEvent struct {
	ID        string
	Time      time.Time
	Operation string
	Service   string
	ClientIP  string
}

// UALStory returns the story's unified audit log records, oldest first.
func (t *Tenant) UALStory() []UALEvent {
	return append([]UALEvent(nil), t.ualInit().events...)
}

// UALIDs returns the ids of the unified audit log records of the user with
// the given UPN (all users when "") with createdDateTime in [start, end),
// still within the 180-day retention at the tenant's Now, newest first:
// the ground truth of an unfiltered query.
func (t *Tenant) UALIDs(upn string, start, end time.Time) []string {
	s := t.ualInit()
	now := toTicks(t.Now())
	lo, hi := max(toTicksCeil(start), now-ualRetentionTicks+1), min(toTicksCeil(end), now+1)
	q := &ualQuery{}
	if upn != "" {
		q.upns = map[string]bool{strings.ToLower(upn): true}
	}
	runs, total := plan(t.ualSources(s, q), lo, hi, nil)
	out := make([]string, 0, total)
	m := newMerger(runs)
	for {
		src, p, ok := m.next()
		if !ok {
			return out
		}
		out = append(out, src.id(p))
	}
}

// ualQuery is one created audit log query.
type ualQuery struct {
	id, version, name string
	start, end        string // as sent
	created           time.Time
	lo, hi            int64 // ticks, hi exclusive
	upns, ops, types  map[string]bool
	services          map[string]bool
	serviceField      string // "serviceFilter" or "serviceFilters"
	keyword           string
	raw               map[string]json.RawMessage
	fate              string // succeeded, failed, stuck
	total             int64  // matching records
	served            int64  // min(total, limit)
	limited           bool
	counted           bool
}

func (q *ualQuery) matches(r *ualRec) bool {
	if q.upns != nil && !q.upns[strings.ToLower(r.u.UPN)] {
		return false
	}
	if q.ops != nil && !q.ops[strings.ToLower(r.op)] {
		return false
	}
	if q.types != nil && !q.types[strings.ToLower(r.recType)] {
		return false
	}
	if q.services != nil && !q.services[strings.ToLower(r.service)] {
		return false
	}
	if q.keyword != "" {
		var w jw
		r.appendJSON(&w, nil)
		if !strings.Contains(strings.ToLower(string(w.b)), q.keyword) {
			return false
		}
	}
	return true
}

func (q *ualQuery) filtered() bool {
	return q.ops != nil || q.types != nil || q.services != nil || q.keyword != ""
}

func (t *Tenant) ualSources(s *ualState, q *ualQuery) []source {
	var out []source
	for _, u := range t.users {
		if q.upns != nil && !q.upns[strings.ToLower(u.UPN)] {
			continue
		}
		if src := s.bg[u.idx]; src != nil {
			out = append(out, src)
		}
	}
	st := &storySource{o: -1}
	for _, r := range s.story {
		if q.upns == nil || q.upns[strings.ToLower(r.(*ualRec).u.UPN)] {
			st.recs = append(st.recs, r)
		}
	}
	if len(st.recs) > 0 {
		out = append(out, st)
	}
	return out
}

// status returns the query's status at now.
func (s *ualState) status(q *ualQuery, now time.Time) string {
	el := now.Sub(q.created)
	switch {
	case el < s.cfg.QueryDelay/3:
		return "notStarted"
	case q.fate == "stuck" || el < s.cfg.QueryDelay:
		return "running"
	}
	return q.fate
}

// routeUAL routes /{version}/security/auditLog/queries[/{id}[/records]].
func (t *Tenant) routeUAL(version string, segs []string, notFound func(string) *gerr) (*endpoint, string, *gerr) {
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	if !is(0, "security") || !is(1, "auditLog") || !is(2, "queries") {
		if len(segs) == 0 {
			return nil, "", notFound("")
		}
		return nil, "", notFound(segs[len(segs)-1])
	}
	switch {
	case len(segs) == 3:
		return &endpoint{class: "auditquery", post: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
			return t.handleUALCreate(rc, version)
		}}, "", nil
	case len(segs) == 4:
		return &endpoint{class: "auditread", handle: func(rc *reqCtx, id string) ([]byte, bool, *gerr) {
			return t.handleUALGet(rc, version, id)
		}}, segs[3], nil
	case len(segs) == 5 && is(4, "records"):
		return &endpoint{class: "auditread", faults: true, handle: func(rc *reqCtx, id string) ([]byte, bool, *gerr) {
			return t.handleUALRecords(rc, version, id)
		}}, segs[3], nil
	}
	return nil, "", notFound(segs[len(segs)-1])
}

func ualBad(format string, args ...any) *gerr {
	return &gerr{http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...)}
}

// handleUALCreate serves POST /security/auditLog/queries.
func (t *Tenant) handleUALCreate(rc *reqCtx, version string) ([]byte, bool, *gerr) {
	s := t.ualInit()
	refuse := func(e *gerr) ([]byte, bool, *gerr) {
		s.mu.Lock()
		s.stats.Refused++
		s.mu.Unlock()
		return nil, false, e
	}
	if rc.r.Method != http.MethodPost {
		// Listing queries is not simulated.
		return nil, false, &gerr{http.StatusMethodNotAllowed, "Request_BadRequest", "The requested resource does not support http method '" + rc.r.Method + "'."}
	}
	var body map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(rc.w, rc.r.Body, 1<<20))
	if err := dec.Decode(&body); err != nil {
		return refuse(ualBad("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."))
	}
	q := &ualQuery{version: version, raw: body}
	svcField := "serviceFilters"
	if version == "beta" {
		svcField = "serviceFilter"
	}
	for k, v := range body {
		var err *gerr
		switch k {
		case "@odata.type":
		case "displayName":
			err = jsonInto(k, v, &q.name)
		case "filterStartDateTime":
			err = jsonInto(k, v, &q.start)
		case "filterEndDateTime":
			err = jsonInto(k, v, &q.end)
		case "userPrincipalNameFilters":
			q.upns, err = jsonSet(k, v)
		case "operationFilters":
			q.ops, err = jsonSet(k, v)
		case "recordTypeFilters":
			q.types, err = jsonSet(k, v)
		case "keywordFilter":
			err = jsonInto(k, v, &q.keyword)
			q.keyword = strings.ToLower(q.keyword)
		case svcField:
			q.serviceField = k
			if k == "serviceFilter" {
				var one string
				if err = jsonInto(k, v, &one); err == nil && one != "" {
					q.services = map[string]bool{strings.ToLower(one): true}
				}
			} else {
				q.services, err = jsonSet(k, v)
			}
		case "ipAddressFilters", "objectIdFilters", "administrativeUnitIdFilters":
			var l []string
			if err = jsonInto(k, v, &l); err == nil && len(l) > 0 {
				err = ualBad("The simulator does not filter on '%s'.", k)
			}
		default:
			err = ualBad("The property '%s' does not exist on type 'microsoft.graph.security.auditLogQuery'. Make sure to only use property names that are defined by the type.", k)
		}
		if err != nil {
			return refuse(err)
		}
	}
	ts := func(name, v string) (time.Time, *gerr) {
		if v == "" {
			return time.Time{}, ualBad("The %s is required.", name)
		}
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, ualBad("Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset'.", v)
		}
		return tm, nil
	}
	start, e := ts("filterStartDateTime", q.start)
	if e != nil {
		return refuse(e)
	}
	end, e := ts("filterEndDateTime", q.end)
	if e != nil {
		return refuse(e)
	}
	if !start.Before(end) {
		return refuse(ualBad("filterStartDateTime must be earlier than filterEndDateTime."))
	}
	now := time.Now()
	tnow := toTicks(t.Now())
	// Both bounds inclusive: the reference does not say, and inclusive is
	// what makes adjacent windows overlap on their shared instant.
	q.lo = max(toTicksCeil(start), tnow-ualRetentionTicks+1)
	q.hi = min(toTicks(end)+1, tnow+1)

	s.mu.Lock()
	active := 0
	for _, o := range s.queries {
		if st := s.status(o, now); st == "notStarted" || st == "running" {
			active++
		}
	}
	if active >= s.cfg.MaxActive {
		s.stats.Refused++
		s.mu.Unlock()
		return nil, false, &gerr{http.StatusTooManyRequests, "TooManyRequests", "Too many queued or running audit log queries."}
	}
	q.fate = "succeeded"
	if s.cfg.FailRate > 0 && s.rng.Float64() < s.cfg.FailRate {
		q.fate = "failed"
	}
	for _, at := range s.cfg.FailAt {
		if k := toTicks(at); k >= q.lo && k < q.hi {
			q.fate = "failed"
		}
	}
	for _, at := range s.cfg.StuckAt {
		if k := toTicks(at); k >= q.lo && k < q.hi {
			q.fate = "stuck"
		}
	}
	s.stats.MaxActive = max(s.stats.MaxActive, active+1)
	q.id = uuid.NewString()
	q.created = now
	s.queries[q.id] = q
	s.stats.Created++
	s.mu.Unlock()

	t.countUAL(s, q)
	return t.ualQueryJSON(rc, s, q, "notStarted"), false, nil
}

// countUAL computes how many records the query matches and serves.
func (t *Tenant) countUAL(s *ualState, q *ualQuery) {
	srcs := t.ualSources(s, q)
	if !q.filtered() {
		q.total = count(srcs, q.lo, q.hi)
	} else {
		runs, _ := plan(srcs, q.lo, q.hi, nil)
		m := newMerger(runs)
		for {
			src, p, ok := m.next()
			if !ok {
				break
			}
			if q.matches(src.rec(p).(*ualRec)) {
				q.total++
			}
		}
	}
	q.served = min(q.total, int64(s.cfg.RecordLimit))
	q.limited = q.total > int64(s.cfg.RecordLimit)
}

func jsonInto(k string, v json.RawMessage, dst any) *gerr {
	if string(v) == "null" {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return ualBad("Cannot convert the value of property '%s' to the expected type.", k)
	}
	return nil
}

func jsonSet(k string, v json.RawMessage) (map[string]bool, *gerr) {
	var l []string
	if e := jsonInto(k, v, &l); e != nil {
		return nil, e
	}
	if len(l) == 0 {
		return nil, nil
	}
	m := map[string]bool{}
	for _, s := range l {
		m[strings.ToLower(s)] = true
	}
	return m, nil
}

func (t *Tenant) ualQueryJSON(rc *reqCtx, s *ualState, q *ualQuery, status string) []byte {
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/" + q.version + "/$metadata#security/auditLog/queries/$entity")
	w.key("@odata.type")
	w.str("#microsoft.graph.security.auditLogQuery")
	w.key("id")
	w.str(q.id)
	w.key("displayName")
	w.strN(q.name)
	w.key("filterStartDateTime")
	w.str(q.start)
	w.key("filterEndDateTime")
	w.str(q.end)
	list := func(k string, m map[string]bool) {
		w.key(k)
		w.openA()
		for _, v := range rawList(q.raw[k]) {
			w.str(v)
		}
		w.closeA()
	}
	list("recordTypeFilters", q.types)
	w.key("keywordFilter")
	w.strN(rawString(q.raw["keywordFilter"]))
	if q.version == "beta" {
		w.key("serviceFilter")
		w.strN(rawString(q.raw["serviceFilter"]))
	} else {
		list("serviceFilters", q.services)
	}
	list("operationFilters", q.ops)
	list("userPrincipalNameFilters", q.upns)
	list("ipAddressFilters", nil)
	list("objectIdFilters", nil)
	list("administrativeUnitIdFilters", nil)
	w.key("status")
	w.str(status)
	if !s.cfg.HideLimitFields {
		w.key("recordCountLimit")
		w.int(int64(s.cfg.RecordLimit))
		w.key("approximateReturnedRecordCount")
		if status == "succeeded" {
			w.int(q.served)
		} else {
			w.int(0)
		}
		w.key("isRecordCountLimitExceeded")
		w.boolean(status == "succeeded" && q.limited)
	}
	w.close()
	return w.b
}

func rawList(v json.RawMessage) []string {
	var l []string
	json.Unmarshal(v, &l) //nolint:errcheck // validated on creation
	return l
}

func rawString(v json.RawMessage) string {
	var s string
	json.Unmarshal(v, &s) //nolint:errcheck // validated on creation
	return s
}

func (s *ualState) lookup(id string) (*ualQuery, *gerr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries[id]
	if q == nil {
		return nil, &gerr{http.StatusNotFound, "NotFound", "The audit log query '" + id + "' was not found."}
	}
	return q, nil
}

// handleUALGet serves GET /security/auditLog/queries/{id}.
func (t *Tenant) handleUALGet(rc *reqCtx, version, id string) ([]byte, bool, *gerr) {
	s := t.ualInit()
	if _, e := parseParams(rc.r.URL.RawQuery, "$select"); e != nil {
		return nil, false, e
	}
	q, e := s.lookup(id)
	if e != nil {
		return nil, false, e
	}
	st := s.status(q, time.Now())
	s.mu.Lock()
	if (st == "succeeded" || st == "failed") && !q.counted {
		q.counted = true
		if st == "succeeded" {
			s.stats.Succeeded++
			if q.limited {
				s.stats.Limited++
			}
		} else {
			s.stats.Failed++
		}
	}
	s.mu.Unlock()
	qq := *q
	qq.version = version
	return t.ualQueryJSON(rc, s, &qq, st), false, nil
}

// handleUALRecords serves GET /security/auditLog/queries/{id}/records.
func (t *Tenant) handleUALRecords(rc *reqCtx, version, id string) ([]byte, bool, *gerr) {
	s := t.ualInit()
	p, e := parseParams(rc.r.URL.RawQuery, "$top", "$skiptoken")
	if e != nil {
		return nil, false, e
	}
	q, e := s.lookup(id)
	if e != nil {
		return nil, false, e
	}
	if st := s.status(q, time.Now()); st != "succeeded" {
		return nil, false, ualBad("The audit log query '%s' is %s; records are available once it has succeeded.", id, st)
	}
	top := s.cfg.MaxPageSize
	if v, ok := p.get("$top"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.cfg.MaxPageSize {
			return nil, false, &gerr{http.StatusBadRequest, "BadRequest", "Invalid page size specified: '" + v + "'. Must be between 1 and " + strconv.Itoa(s.cfg.MaxPageSize) + " inclusive."}
		}
		top = n
	}
	var cur *cursor
	var done int64
	scope := "ual/" + q.id
	if tok, ok := p.get("$skiptoken"); ok {
		v, e := t.decodeToken(tok, scope, "", 3, 3)
		if e != nil {
			return nil, false, e
		}
		cur, done = &cursor{tick: v[0], ord: v[1]}, v[2]
	}
	runs, _ := plan(t.ualSources(s, q), q.lo, q.hi, cur)
	m := newMerger(runs)
	vals := jw{b: rc.buffer(top*1200 + 16)}
	vals.openA()
	var last cursor
	served := 0
	for served < top && done < q.served {
		src, pos, ok := m.next()
		if !ok {
			break
		}
		last = cursor{tick: src.tickAt(pos), ord: src.ord()}
		r := src.rec(pos).(*ualRec)
		if q.filtered() && !q.matches(r) {
			continue
		}
		r.appendJSON(&vals, nil)
		served++
		done++
	}
	vals.closeA()
	out := jw{b: rc.buffer(len(vals.b) + 512)}
	out.open()
	out.key("@odata.context")
	out.str(rc.base + "/" + version + "/$metadata#security/auditLog/queries('" + q.id + "')/records")
	if done < q.served && served > 0 {
		var b strings.Builder
		b.WriteString(rc.base + "/" + version + "/security/auditLog/queries/" + q.id + "/records?")
		if v, ok := p.get("$top"); ok {
			b.WriteString("$top=" + odataEscape(v) + "&")
		}
		b.WriteString("$skiptoken=" + t.encodeToken(scope, "", 3, last.tick, last.ord, done))
		out.key("@odata.nextLink")
		out.str(b.String())
	}
	out.key("value")
	out.b = append(out.b, vals.b...)
	out.close()
	s.mu.Lock()
	s.stats.Pages++
	s.mu.Unlock()
	return out.b, true, nil
}
