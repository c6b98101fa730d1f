package graphtest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// gerr is a Graph error answer.
type gerr struct {
	status  int
	code    string
	message string
}

func (e *gerr) Error() string { return e.code + ": " + e.message }

func badRequest(format string, args ...any) *gerr {
	return &gerr{http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) *gerr {
	return &gerr{http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // a name or member path: createdDateTime, initiatedBy/user/id, and, eq, null
	tString         // a quoted literal, unescaped
	tBare           // an unquoted literal starting with a digit or sign: timestamps, numbers
	tLParen
	tRParen
	tColon
	tComma
)

type token struct {
	k   tokKind
	s   string
	pos int
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || '0' <= c && c <= '9' || c == '/' || c == '.'
}

// lex splits an OData $filter expression into tokens.
func lex(s string) ([]token, *gerr) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == ':':
			toks = append(toks, token{tColon, ":", i})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ",", i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, badRequest("Invalid filter clause: unterminated string literal at position %d in '%s'.", i, s)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tString, b.String(), i})
			i = j + 1
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			toks = append(toks, token{tIdent, s[i:j], i})
			i = j
		case '0' <= c && c <= '9' || c == '-' || c == '+':
			j := i
			for j < len(s) && (isIdentChar(s[j]) || s[j] == ':' || s[j] == '-' || s[j] == '+') {
				j++
			}
			toks = append(toks, token{tBare, s[i:j], i})
			i = j
		default:
			return nil, badRequest("Invalid filter clause: syntax error at position %d in '%s'.", i, s)
		}
	}
	return append(toks, token{tEOF, "", len(s)}), nil
}

// clause is one comparison of a conjunction. For a lambda such as
// targetResources/any(t: t/id eq 'x'), prop is "targetResources/any/id"
// (or "proxyAddresses/any" when the variable itself is compared).
type clause struct {
	prop string
	op   string
	val  token
}

var comparisonOps = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true, "has": true, "in": true}

// parseFilter parses a conjunction of comparisons. Anything else (or, not,
// functions, grouping) is refused as unsupported.
func parseFilter(s string) ([]clause, *gerr) {
	if strings.TrimSpace(s) == "" {
		return nil, badRequest("Invalid filter clause: the $filter expression is empty.")
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := 0
	var out []clause
	for {
		c, err := parseClause(toks, &p, s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		t := toks[p]
		switch {
		case t.k == tEOF:
			return out, nil
		case t.k == tIdent && t.s == "and":
			p++
		case t.k == tIdent && t.s == "or":
			return nil, unsupported("Unsupported query: the 'or' operator is not supported in $filter; only 'and' may combine clauses.")
		default:
			return nil, badRequest("Invalid filter clause: syntax error at position %d in '%s'.", t.pos, s)
		}
	}
}

func parseClause(toks []token, p *int, src string) (clause, *gerr) {
	t := toks[*p]
	syntax := func(at token) *gerr {
		return badRequest("Invalid filter clause: syntax error at position %d in '%s'.", at.pos, src)
	}
	switch {
	case t.k == tLParen:
		return clause{}, unsupported("Unsupported query: parenthesized expressions are not supported in $filter.")
	case t.k != tIdent:
		return clause{}, syntax(t)
	case t.s == "not":
		return clause{}, unsupported("Unsupported query: the 'not' operator is not supported in $filter.")
	}
	*p++
	if toks[*p].k == tLParen {
		i := strings.LastIndex(t.s, "/")
		if i < 0 || t.s[i+1:] != "any" {
			return clause{}, unsupported("Unsupported query: the function '%s' is not supported in $filter.", t.s[i+1:])
		}
		base := t.s[:i]
		// base/any(v: v[/prop] op value)
		*p++
		v := toks[*p]
		if v.k != tIdent || strings.Contains(v.s, "/") || toks[*p+1].k != tColon {
			return clause{}, syntax(v)
		}
		*p += 2
		inner := toks[*p]
		if inner.k != tIdent {
			return clause{}, syntax(inner)
		}
		prop := base + "/any"
		switch {
		case inner.s == v.s:
		case strings.HasPrefix(inner.s, v.s+"/"):
			prop += inner.s[len(v.s):]
		default:
			return clause{}, badRequest("Invalid filter clause: '%s' does not use the lambda variable '%s'.", inner.s, v.s)
		}
		*p++
		op, val, err := parseComparison(toks, p, src)
		if err != nil {
			return clause{}, err
		}
		if toks[*p].k != tRParen {
			if toks[*p].k == tIdent && (toks[*p].s == "and" || toks[*p].s == "or") {
				return clause{}, unsupported("Unsupported query: only a single comparison is supported inside a lambda expression.")
			}
			return clause{}, syntax(toks[*p])
		}
		*p++
		return clause{prop: prop, op: op, val: val}, nil
	}
	op, val, err := parseComparison(toks, p, src)
	if err != nil {
		return clause{}, err
	}
	return clause{prop: t.s, op: op, val: val}, nil
}

func parseComparison(toks []token, p *int, src string) (string, token, *gerr) {
	op := toks[*p]
	if op.k != tIdent || !comparisonOps[op.s] {
		return "", token{}, badRequest("Invalid filter clause: expected a comparison operator at position %d in '%s'.", op.pos, src)
	}
	*p++
	val := toks[*p]
	switch val.k {
	case tString, tBare, tIdent:
	default:
		return "", token{}, badRequest("Invalid filter clause: expected a value at position %d in '%s'.", val.pos, src)
	}
	*p++
	return op.s, val, nil
}

// parseTimestamp reads an unquoted OData DateTimeOffset literal: RFC 3339
// with "Z" or a numeric offset and at most seven fractional digits.
func parseTimestamp(prop string, v token) (int64, *gerr) {
	if v.k != tBare {
		return 0, badRequest("Invalid filter clause: the value for '%s' must be an unquoted DateTimeOffset literal such as 2026-11-20T08:15:32Z, not %s.", prop, describe(v))
	}
	s := v.s
	if len(s) < 20 || s[10] != 'T' {
		return 0, badRequest("Invalid filter clause: '%s' is not a valid DateTimeOffset value for '%s'.", s, prop)
	}
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		end := dot + 1
		for end < len(s) && '0' <= s[end] && s[end] <= '9' {
			end++
		}
		if end-dot-1 > 7 || end == dot+1 {
			return 0, badRequest("Invalid filter clause: '%s' is not a valid DateTimeOffset value for '%s' (at most seven fractional digits).", s, prop)
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, badRequest("Invalid filter clause: '%s' is not a valid DateTimeOffset value for '%s'.", s, prop)
	}
	return toTicks(t.UTC()), nil
}

func describe(v token) string {
	switch v.k {
	case tString:
		return "a string literal"
	case tIdent:
		return "'" + v.s + "'"
	}
	return "'" + v.s + "'"
}

func stringValue(prop string, v token) (string, *gerr) {
	if v.k != tString {
		return "", badRequest("Invalid filter clause: the value for '%s' must be a quoted string literal, not %s.", prop, describe(v))
	}
	return v.s, nil
}

// strEq is an equality constraint on a string property; several eq clauses
// on one property must agree (case-insensitively) or nothing matches.
type strEq struct {
	set bool
	v   string
}

func (c *strEq) add(v string) bool {
	if c.set && !strings.EqualFold(c.v, v) {
		return false
	}
	c.set, c.v = true, v
	return true
}

func (c *strEq) match(v string) bool { return !c.set || strings.EqualFold(c.v, v) }

func (c *strEq) canon() string {
	if !c.set {
		return "-"
	}
	return "=" + strings.ToLower(c.v)
}

// logAPI identifies a log endpoint.
type logAPI int

const (
	apiSignIns logAPI = iota
	apiAudits
)

func (a logAPI) String() string {
	if a == apiSignIns {
		return "signIns"
	}
	return "directoryAudits"
}

// logQuery is a parsed, validated $filter of a log endpoint: a time range
// [lo, hi) in ticks and equality constraints.
type logQuery struct {
	api    logAPI
	lo, hi int64
	none   bool // contradictory constraints: nothing matches

	beta        bool   // served by /beta
	kind        string // signIns: signInEventTypes/any(t: t eq kind); "" = interactive
	appID, spID strEq  // signIns of service principals and managed identities
	userID, upn strEq  // signIns
	initID      strEq  // directoryAudits
	initUPN     strEq
	targetID    strEq
}

// canon is the canonical form of the query, bound into skip tokens.
func (q *logQuery) canon() string {
	return fmt.Sprintf("%s|%t|%s|%d|%d|%t|%s|%s|%s|%s|%s|%s|%s", q.api, q.beta, q.kindOrDefault(), q.lo, q.hi, q.none,
		q.userID.canon(), q.upn.canon(), q.initID.canon(), q.initUPN.canon(), q.targetID.canon(), q.appID.canon(), q.spID.canon())
}

// kindOrDefault is the sign-in kind a query selects: Graph returns
// interactive sign-ins unless signInEventTypes is filtered explicitly.
func (q *logQuery) kindOrDefault() string {
	if q.kind == "" {
		return kindInteractive
	}
	return q.kind
}

// appMatch reports whether an app passes the query's appId and
// servicePrincipalId constraints.
func (q *logQuery) appMatch(a *spApp) bool {
	return a != nil && q.appID.match(a.appID) && q.spID.match(a.spID)
}

func (q *logQuery) timeClause(prop, op string, v token) *gerr {
	k, err := parseTimestamp(prop, v)
	if err != nil {
		return err
	}
	switch op {
	case "ge":
		q.lo = max(q.lo, k)
	case "le":
		q.hi = min(q.hi, k+1)
	case "eq":
		q.lo, q.hi = max(q.lo, k), min(q.hi, k+1)
	default:
		return unsupported("Unsupported query: the operator '%s' is not supported for property '%s'; use eq, ge or le.", op, prop)
	}
	return nil
}

func (q *logQuery) eqClause(c *strEq, prop, op string, v token) *gerr {
	if op != "eq" {
		return unsupported("Unsupported query: the operator '%s' is not supported for property '%s'; use eq.", op, prop)
	}
	s, err := stringValue(prop, v)
	if err != nil {
		return err
	}
	if !c.add(s) {
		q.none = true
	}
	return nil
}

// newLogQuery validates a $filter for a log endpoint.
func newLogQuery(api logAPI, beta bool, filter string, present bool) (*logQuery, *gerr) {
	q := &logQuery{api: api, beta: beta, lo: tickMin, hi: tickMax}
	if !present {
		return q, nil
	}
	clauses, err := parseFilter(filter)
	if err != nil {
		return nil, err
	}
	resource := "signIn"
	if api == apiAudits {
		resource = "directoryAudit"
	}
	for _, c := range clauses {
		var err *gerr
		switch {
		case api == apiSignIns && c.prop == "createdDateTime", api == apiAudits && c.prop == "activityDateTime":
			err = q.timeClause(c.prop, c.op, c.val)
		case api == apiSignIns && c.prop == "userId":
			err = q.eqClause(&q.userID, c.prop, c.op, c.val)
		case api == apiSignIns && c.prop == "userPrincipalName":
			err = q.eqClause(&q.upn, c.prop, c.op, c.val)
		case api == apiSignIns && c.prop == "appId":
			err = q.eqClause(&q.appID, c.prop, c.op, c.val)
		case api == apiSignIns && beta && c.prop == "servicePrincipalId":
			err = q.eqClause(&q.spID, c.prop, c.op, c.val)
		case api == apiSignIns && beta && c.prop == "signInEventTypes/any":
			err = q.kindClause(c.op, c.val)
		case api == apiAudits && c.prop == "initiatedBy/user/id":
			err = q.eqClause(&q.initID, c.prop, c.op, c.val)
		case api == apiAudits && c.prop == "initiatedBy/user/userPrincipalName":
			err = q.eqClause(&q.initUPN, c.prop, c.op, c.val)
		case api == apiAudits && c.prop == "targetResources/any/id":
			err = q.eqClause(&q.targetID, "targetResources/any(t: t/id)", c.op, c.val)
		default:
			name := strings.Replace(c.prop, "/any", "/any(...)", 1)
			err = unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", name, resource)
		}
		if err != nil {
			return nil, err
		}
	}
	if k := q.kindOrDefault(); (q.appID.set || q.spID.set) && (k == kindInteractive || k == kindNonInteractive) {
		return nil, unsupported("Unsupported query: the simulator filters appId and servicePrincipalId only on servicePrincipal and managedIdentity sign-ins.")
	}
	return q, nil
}

// kindClause reads signInEventTypes/any(t: t eq '<kind>').
func (q *logQuery) kindClause(op string, v token) *gerr {
	if op != "eq" {
		return unsupported("Unsupported query: the operator '%s' is not supported for property 'signInEventTypes'; use eq inside any().", op)
	}
	s, err := stringValue("signInEventTypes", v)
	if err != nil {
		return err
	}
	known := false
	for _, k := range signInKinds {
		known = known || k == s
	}
	if !known {
		return badRequest("Invalid filter clause: '%s' is not a valid value of signInEventType (interactiveUser, nonInteractiveUser, servicePrincipal, managedIdentity).", s)
	}
	if q.kind != "" && q.kind != s {
		q.none = true
	}
	q.kind = s
	return nil
}
