// Package lawtest is a simulated Azure Monitor Logs query endpoint
// (POST /v1/workspaces/{id}/query) served over real HTTPS, for the
// workspace source's tests. It parses only the KQL the collector sends
// (a table, a half-open TimeGenerated range, an optional user filter of
// "in~" and "has_any" terms joined by "or", "order by TimeGenerated asc")
// and answers anything else with 400 and a message saying what it did not
// understand. It enforces the documented per-query row and byte limits the
// way the service does (a 200 answer with the rows cut and a PartialError),
// a request budget per period (429 with Retry-After), answers a table it
// does not hold with the service's semantic error, and checks the bearer
// token.
package lawtest

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// Column is a table column as the API describes it.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Table is a seeded table: rows are the values' JSON text in column order,
// sorted by TimeGenerated; Owner[i] names the user row i belongs to (the
// ground truth, never served).
type Table struct {
	Columns []Column
	Rows    [][]json.RawMessage
	Owner   []string
	times   []time.Time
}

// Server is the simulated endpoint.
type Server struct {
	WorkspaceID string
	Token       string
	RowLimit    int           // rows per answer before it is cut (default 500,000)
	ByteLimit   int           // body bytes per answer before it is cut (default 100 MiB)
	Budget      int           // requests per Period; 0 = no limit
	Period      time.Duration // default 1 s
	Leak        time.Duration // a faulty service: rows this much before and after the asked range are answered too
	Forbidden   bool          // the caller has no read access to the workspace (403)
	TimeoutOver int           // a query selecting more rows than this does not finish: 504 Gateway Timeout (0: never)
	// Latency holds every answer this long, so that concurrent queries
	// overlap as they do against the service.
	Latency time.Duration

	mu        sync.Mutex
	tables    map[string]*Table
	queries   []string
	requests  int
	throttled int
	partial   int
	inFlight  int
	maxFlight int
	periodAt  time.Time
	inPeriod  int
	srv       *httptest.Server
}

// New starts a server for one workspace, accepting one bearer token.
func New(workspaceID, token string) *Server {
	s := &Server{WorkspaceID: workspaceID, Token: token, RowLimit: 500000, ByteLimit: 100 << 20, Period: time.Second, tables: map[string]*Table{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Endpoint is the query API's base ({Endpoint}/workspaces/{id}/query).
func (s *Server) Endpoint() string { return s.srv.URL + "/v1" }

// Client is an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertificatePEM is the server's certificate, for a client to trust.
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Put stores a table (its rows sorted by TimeGenerated).
func (s *Server) Put(name string, t *Table) {
	ti := -1
	for i, c := range t.Columns {
		if c.Name == "TimeGenerated" {
			ti = i
		}
	}
	if ti < 0 {
		panic("lawtest: table " + name + " has no TimeGenerated")
	}
	t.times = make([]time.Time, len(t.Rows))
	for i, r := range t.Rows {
		var v string
		if err := json.Unmarshal(r[ti], &v); err != nil {
			panic(err)
		}
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			panic(err)
		}
		t.times[i] = tm
	}
	idx := make([]int, len(t.Rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return t.times[idx[a]].Before(t.times[idx[b]]) })
	rows, owner, times := make([][]json.RawMessage, len(idx)), make([]string, len(idx)), make([]time.Time, len(idx))
	for j, i := range idx {
		rows[j], times[j] = t.Rows[i], t.times[i]
		if i < len(t.Owner) {
			owner[j] = t.Owner[i]
		}
	}
	t.Rows, t.Owner, t.times = rows, owner, times
	s.mu.Lock()
	s.tables[name] = t
	s.mu.Unlock()
}

// Omit removes a table, as in a workspace that never received it.
func (s *Server) Omit(name string) {
	s.mu.Lock()
	delete(s.tables, name)
	s.mu.Unlock()
}

// Table returns a stored table.
func (s *Server) Table(name string) *Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tables[name]
}

// Stats are the server's counts. MaxConcurrent is the most queries it
// answered at once; the service runs at most 5 concurrent queries per user
// (Azure Monitor service limits, "User query throttling").
type Stats struct{ Requests, Throttled, Partial, MaxConcurrent int }

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{s.requests, s.throttled, s.partial, s.maxFlight}
}

// Queries returns the KQL of every query answered (not throttled), in order.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func writeError(w http.ResponseWriter, status int, code, msg string, inner any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	e := map[string]any{"code": code, "message": msg}
	if inner != nil {
		e["innererror"] = inner
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	now := time.Now()
	if s.Budget > 0 {
		if s.periodAt.IsZero() || now.Sub(s.periodAt) >= s.Period {
			s.periodAt, s.inPeriod = now, 0
		}
		s.inPeriod++
		if s.inPeriod > s.Budget {
			s.throttled++
			wait := int(math.Ceil(s.periodAt.Add(s.Period).Sub(now).Seconds()))
			s.mu.Unlock()
			w.Header().Set("Retry-After", strconv.Itoa(max(wait, 1)))
			writeError(w, http.StatusTooManyRequests, "TooManyRequests", "lawtest: request budget spent for this period", nil)
			return
		}
	}
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	want := "/v1/workspaces/" + s.WorkspaceID + "/query"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1/workspaces/") || !strings.HasSuffix(r.URL.Path, "/query") {
		writeError(w, http.StatusNotFound, "PathNotFoundError", "lawtest: only POST /v1/workspaces/{id}/query is served, not "+r.Method+" "+r.URL.Path, nil)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeError(w, http.StatusUnauthorized, "AuthorizationRequiredError", "Valid authentication was not provided", nil)
		return
	}
	if s.Forbidden {
		writeError(w, http.StatusForbidden, "InsufficientAccessError", "The provided credentials have insufficient access to perform the requested operation", nil)
		return
	}
	if r.URL.Path != want {
		writeError(w, http.StatusNotFound, "WorkspaceNotFoundError", "Workspace could not be found", nil)
		return
	}
	var body struct {
		Query    string `json:"query"`
		Timespan string `json:"timespan"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "BadArgumentError", "lawtest: request body: "+err.Error(), nil)
		return
	}
	q, err := parseKQL(body.Query)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadArgumentError", "lawtest: unsupported KQL: "+err.Error(), nil)
		return
	}
	if body.Timespan != "" {
		a, b, ok := strings.Cut(body.Timespan, "/")
		ts, err1 := time.Parse(time.RFC3339Nano, a)
		te, err2 := time.Parse(time.RFC3339Nano, b)
		if !ok || err1 != nil || err2 != nil {
			writeError(w, http.StatusBadRequest, "BadArgumentError", "lawtest: timespan "+body.Timespan+" is not start/end in RFC 3339", nil)
			return
		}
		q.spanStart, q.spanEnd = ts, te
	}
	s.mu.Lock()
	t := s.tables[q.table]
	s.queries = append(s.queries, body.Query)
	s.mu.Unlock()
	if t == nil {
		writeError(w, http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties", map[string]any{
			"code": "SemanticError", "message": "A semantic error occurred.",
			"innererror": map[string]any{"code": "SEM0100", "message": fmt.Sprintf("'where' operator: Failed to resolve table or column expression named '%s'", q.table)}})
		return
	}
	s.answer(w, t, q)
}

// answer writes the rows of t that q selects, cut at the row and byte
// limits with a PartialError as the service does.
func (s *Server) answer(w http.ResponseWriter, t *Table, q *query) {
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c.Name] = i
	}
	for _, p := range q.preds {
		if _, ok := col[p.column]; !ok {
			writeError(w, http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties", map[string]any{
				"code": "SemanticError", "message": "A semantic error occurred.",
				"innererror": map[string]any{"code": "SEM0100", "message": fmt.Sprintf("'where' operator: Failed to resolve column or scalar expression named '%s'", p.column)}})
			return
		}
	}
	if s.TimeoutOver > 0 {
		n := 0
		for i, r := range t.Rows {
			tm := t.times[i]
			if !tm.Before(q.start) && tm.Before(q.end) && q.match(r, col) {
				n++
			}
		}
		if n > s.TimeoutOver {
			writeError(w, http.StatusGatewayTimeout, "GatewayTimeout", "lawtest: the query did not finish within the timeout", nil)
			return
		}
	}
	cols, _ := json.Marshal(t.Columns)
	var rows bytes.Buffer
	n, cut := 0, ""
	for i, r := range t.Rows {
		tm := t.times[i]
		if tm.Before(q.start.Add(-s.Leak)) || !tm.Before(q.end.Add(s.Leak)) {
			continue
		}
		if s.Leak == 0 && !q.spanStart.IsZero() && (tm.Before(q.spanStart) || tm.After(q.spanEnd)) {
			continue
		}
		if !q.match(r, col) {
			continue
		}
		if n >= s.RowLimit {
			cut = fmt.Sprintf("Query result set has exceeded the internal record count limit %d records.", s.RowLimit)
			break
		}
		var line bytes.Buffer
		if n > 0 {
			line.WriteByte(',')
		}
		line.WriteByte('[')
		for j, v := range r {
			if j > 0 {
				line.WriteByte(',')
			}
			line.Write(v)
		}
		line.WriteByte(']')
		if rows.Len()+line.Len()+len(cols)+200 > s.ByteLimit {
			cut = fmt.Sprintf("Query result set has exceeded the internal data size limit %d bytes.", s.ByteLimit)
			break
		}
		rows.Write(line.Bytes())
		n++
	}
	var out bytes.Buffer
	out.WriteString(`{"tables":[{"name":"PrimaryResult","columns":`)
	out.Write(cols)
	out.WriteString(`,"rows":[`)
	out.Write(rows.Bytes())
	out.WriteString(`]}]`)
	if cut != "" {
		s.mu.Lock()
		s.partial++
		s.mu.Unlock()
		e, _ := json.Marshal(map[string]any{"code": "PartialError", "message": "There were some errors when processing your query.",
			"details": []any{map[string]any{"code": "EngineError", "message": "Something went wrong processing your query on the server.",
				"innererror": map[string]any{"code": "-2133196797", "message": cut, "severity": 2, "severityName": "Error"}}}})
		out.WriteString(`,"error":`)
		out.Write(e)
	}
	out.WriteString("}")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(out.Bytes())
}

// query is a parsed KQL query of the collector's form.
type query struct {
	table              string
	start, end         time.Time
	spanStart, spanEnd time.Time
	preds              []pred
}

type pred struct {
	column string   // the column
	path   string   // gjson path into a dynamic column (tostring(Col.a.b)), "" for the column itself
	op     string   // in~ or has_any
	values []string // lower-cased
}

var (
	identRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	rangeRE  = regexp.MustCompile(`^where TimeGenerated >= datetime\(([^()]+)\) and TimeGenerated < datetime\(([^()]+)\)$`)
	predRE   = regexp.MustCompile(`^(?:([A-Za-z_][A-Za-z0-9_]*)|tostring\(([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\)) (in~|has_any) \(`)
	stringRE = regexp.MustCompile(`^"((?:[^"\\]|\\.)*)"`)
)

// parseKQL parses the collector's query form, and nothing else.
func parseKQL(kql string) (*query, error) {
	lines := strings.Split(kql, "\n")
	if len(lines) < 3 || len(lines) > 4 {
		return nil, fmt.Errorf("want 3 or 4 lines (table, time range, [user filter,] order), got %d: %q", len(lines), kql)
	}
	q := &query{table: lines[0]}
	if !identRE.MatchString(q.table) {
		return nil, fmt.Errorf("first line %q is not a table name", lines[0])
	}
	for i, l := range lines[1:] {
		if !strings.HasPrefix(l, "| ") {
			return nil, fmt.Errorf("line %d %q does not start with \"| \"", i+2, l)
		}
		lines[i+1] = strings.TrimPrefix(l, "| ")
	}
	m := rangeRE.FindStringSubmatch(lines[1])
	if m == nil {
		return nil, fmt.Errorf("line 2 %q is not `where TimeGenerated >= datetime(...) and TimeGenerated < datetime(...)`", lines[1])
	}
	var err error
	if q.start, err = time.Parse(time.RFC3339Nano, m[1]); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if q.end, err = time.Parse(time.RFC3339Nano, m[2]); err != nil {
		return nil, fmt.Errorf("end: %w", err)
	}
	if lines[len(lines)-1] != "order by TimeGenerated asc" {
		return nil, fmt.Errorf("last line %q is not `order by TimeGenerated asc`", lines[len(lines)-1])
	}
	if len(lines) == 4 {
		if q.preds, err = parsePreds(lines[2]); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func parsePreds(s string) ([]pred, error) {
	rest, ok := strings.CutPrefix(s, "where ")
	if !ok {
		return nil, fmt.Errorf("line 3 %q is not a where clause", s)
	}
	var out []pred
	for {
		m := predRE.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("cannot parse a term at %q (want COLUMN in~ (...), tostring(COLUMN.path) in~ (...) or COLUMN has_any (...))", rest)
		}
		p := pred{column: m[1], op: m[4]}
		if p.column == "" {
			p.column, p.path = m[2], strings.TrimPrefix(m[3], ".")
		}
		if p.path != "" && p.op != "in~" {
			return nil, fmt.Errorf("has_any over tostring() is not supported: %q", rest)
		}
		rest = rest[len(m[0]):]
		for {
			sm := stringRE.FindStringSubmatch(rest)
			if sm == nil {
				return nil, fmt.Errorf("want a string literal at %q", rest)
			}
			v := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(sm[1])
			p.values = append(p.values, strings.ToLower(v))
			rest = rest[len(sm[0]):]
			if r, ok := strings.CutPrefix(rest, ", "); ok {
				rest = r
				continue
			}
			if r, ok := strings.CutPrefix(rest, ")"); ok {
				rest = r
				break
			}
			return nil, fmt.Errorf("want \", \" or \")\" at %q", rest)
		}
		out = append(out, p)
		if rest == "" {
			return out, nil
		}
		r, ok := strings.CutPrefix(rest, " or ")
		if !ok {
			return nil, fmt.Errorf("want \" or \" between terms at %q", rest)
		}
		rest = r
	}
}

// match reports whether any term selects the row.
func (q *query) match(r []json.RawMessage, col map[string]int) bool {
	if len(q.preds) == 0 {
		return true
	}
	for _, p := range q.preds {
		raw := gjson.ParseBytes(r[col[p.column]])
		v := raw.String()
		if p.path != "" { // a dynamic column is served as a string holding JSON
			v = gjson.Get(v, p.path).String()
		}
		v = strings.ToLower(v)
		for _, want := range p.values {
			if p.op == "in~" && v == want || p.op == "has_any" && strings.Contains(v, want) {
				return true
			}
		}
	}
	return false
}

// Truth is the ground truth of a grab: the rows of table that belong to
// owner ("*": every row) with TimeGenerated in [start, end), each as the
// JSON object line the collector is to write (column names as keys, values
// as served), sorted.
func (s *Server) Truth(table, owner string, start, end time.Time) []string {
	t := s.Table(table)
	if t == nil {
		return nil
	}
	var out []string
	for i, r := range t.Rows {
		if owner != "*" && !slices.Contains(strings.Split(t.Owner[i], "|"), owner) {
			continue
		}
		if t.times[i].Before(start) || !t.times[i].Before(end) {
			continue
		}
		var b bytes.Buffer
		b.WriteByte('{')
		for j, c := range t.Columns {
			if j > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(c.Name)
			b.Write(k)
			b.WriteByte(':')
			b.Write(r[j])
		}
		b.WriteByte('}')
		out = append(out, b.String())
	}
	slices.Sort(out)
	return out
}
