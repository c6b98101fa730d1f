package graphtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// fieldSet is a $select projection; nil selects everything.
type fieldSet map[string]bool

// params are the OData system query options of a request ("$filter", ...).
type params map[string]string

func (p params) get(k string) (string, bool) { v, ok := p[k]; return v, ok }

// parseParams reads the query string. Options may arrive as "$filter" or
// "%24filter"; options other than allowed are refused, repeated ones too.
// Parameters without "$" are ignored, as Graph does.
func parseParams(raw string, allowed ...string) (params, *gerr) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("The query specified in the URI is not valid.")
	}
	out := params{}
	for k, v := range vals {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		if !slices.Contains(allowed, k) {
			return nil, badRequest("The query parameter '%s' is not supported.", k)
		}
		if len(v) > 1 {
			return nil, badRequest("Query option '%s' was specified more than once, but it must be specified at most once.", k)
		}
		out[k] = v[0]
	}
	return out, nil
}

// parseSelect validates $select against an entity's properties. It returns
// the projection, the canonical names in request order, and the
// "(a,b)" suffix of @odata.context.
func parseSelect(p params, fields []string, entity string) (fieldSet, []string, string, *gerr) {
	v, ok := p.get("$select")
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil, "", nil
	}
	sel := fieldSet{}
	var names []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		canon := ""
		for _, k := range fields {
			if strings.EqualFold(k, f) {
				canon = k
				break
			}
		}
		if canon == "" {
			return nil, nil, "", badRequest("Could not find a property named '%s' on type 'microsoft.graph.%s'.", f, entity)
		}
		if !sel[canon] {
			sel[canon] = true
			names = append(names, canon)
		}
	}
	return sel, names, "(" + strings.Join(names, ",") + ")", nil
}

// odataEscape percent-encodes a query value the way Graph's nextLinks do:
// everything but unreserved characters, spaces as %20.
func odataEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// nextLink builds an absolute nextLink carrying the request's options and a
// new skip token.
func nextLink(rc *reqCtx, path string, p params, token string) string {
	var b strings.Builder
	b.WriteString(rc.base)
	b.WriteString(path)
	sep := byte('?')
	for _, k := range []string{"$filter", "$top", "$select", "$orderby", "$expand"} {
		if v, ok := p[k]; ok {
			b.WriteByte(sep)
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(odataEscape(v))
			sep = '&'
		}
	}
	b.WriteByte(sep)
	b.WriteString("$skiptoken=")
	b.WriteString(token)
	return b.String()
}

// Skip tokens: base64url(version | position | HMAC-SHA256(key, scope | query | version | position)[:16]).
// The HMAC binds the token to the tenant, the endpoint and the canonical
// query, so tampering or replaying it under another filter is detected.

func (t *Tenant) mac(scope, canon string, payload []byte) []byte {
	h := hmac.New(sha256.New, t.key)
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(canon))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:16]
}

func (t *Tenant) encodeToken(scope, canon string, version byte, vals ...int64) string {
	b := []byte{version}
	for _, v := range vals {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	b = append(b, t.mac(scope, canon, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t *Tenant) decodeToken(tok, scope, canon string, version byte, n int) ([]int64, *gerr) {
	invalid := &gerr{http.StatusBadRequest, "Request_BadRequest", "Invalid skip token"}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 1+8*n+16 || b[0] != version {
		return nil, invalid
	}
	payload, sum := b[:1+8*n], b[1+8*n:]
	if !hmac.Equal(sum, t.mac(scope, canon, payload)) {
		return nil, invalid
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.BigEndian.Uint64(payload[1+8*i:]))
	}
	return out, nil
}

// handleLog serves /auditLogs/signIns and /auditLogs/directoryAudits of
// v1.0, and /beta/auditLogs/signIns (all four sign-in kinds).
func (t *Tenant) handleLog(rc *reqCtx, api logAPI, beta bool) ([]byte, bool, *gerr) {
	version := "v1.0"
	if beta {
		version = "beta"
	}
	if api == apiSignIns && beta && t.cfg.RefuseBetaSignIns {
		return nil, false, &gerr{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
	}
	if api == apiSignIns && t.cfg.License == LicenseFree {
		return nil, false, &gerr{http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			"Neither tenant is B2C or tenant doesn't have premium license"}
	}
	p, e := parseParams(rc.r.URL.RawQuery, "$filter", "$top", "$skiptoken", "$select", "$orderby")
	if e != nil {
		return nil, false, e
	}
	if t.cfg.IgnoreFilter {
		delete(p, "$filter")
	}
	filter, hasFilter := p.get("$filter")
	q, e := newLogQuery(api, beta, filter, hasFilter)
	if e != nil {
		return nil, false, e
	}
	if t.cfg.RefuseTargetFilter && q.targetID.set {
		return nil, false, unsupported("Unsupported or invalid query filter clause specified for property 'targetResources' of resource 'directoryAudit'.")
	}
	top := t.cfg.MaxTop
	if s, ok := p.get("$top"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > t.cfg.MaxTop {
			return nil, false, &gerr{http.StatusBadRequest, "Request_BadRequest",
				"Invalid page size specified: '" + s + "'. Must be between 1 and " + strconv.Itoa(t.cfg.MaxTop) + " inclusive."}
		}
		top = n
	}
	fields, entity, timeProp := signInFields, "signIn", "createdDateTime"
	if beta {
		fields = betaSignInFields
	}
	if api == apiAudits {
		fields, entity, timeProp = auditFields, "directoryAudit", "activityDateTime"
	}
	sel, _, selCtx, e := parseSelect(p, fields, entity)
	if e != nil {
		return nil, false, e
	}
	if ob, ok := p.get("$orderby"); ok && strings.Join(strings.Fields(ob), " ") != timeProp+" desc" {
		return nil, false, unsupported("Unsupported query: $orderby supports only '%s desc'.", timeProp)
	}
	canon := q.canon()
	var cur *cursor
	if tok, ok := p.get("$skiptoken"); ok {
		v, e := t.decodeToken(tok, version+"/"+api.String(), canon, 1, 2)
		if e != nil {
			return nil, false, e
		}
		cur = &cursor{tick: v[0], ord: v[1]}
	}

	now := toTicks(t.Now())
	lo, hi := t.window(q, now)
	runs, total := plan(t.sources(q), lo, hi, cur)
	m := newMerger(runs)
	rctx := &renderCtx{sel: sel, hideRisk: t.cfg.License == LicenseP1, tenantID: t.tenantID, beta: beta}
	vals := jw{b: rc.buffer(int(min(total, int64(top)))*1400 + 16)}
	vals.openA()
	var last cursor
	served := 0
	for served < top {
		src, pos, ok := t.nextArrived(m, now)
		if !ok {
			break
		}
		src.rec(pos).appendJSON(&vals, rctx)
		last = cursor{tick: src.tickAt(pos), ord: src.ord()}
		served++
	}
	vals.closeA()

	path := "/" + version + "/auditLogs/" + api.String()
	out := jw{b: rc.buffer(len(vals.b) + 512)}
	out.open()
	out.key("@odata.context")
	out.str(rc.base + "/" + version + "/$metadata#auditLogs/" + api.String() + selCtx)
	if t.moreArrived(m, served, total, now) {
		out.key("@odata.nextLink")
		out.str(nextLink(rc, path, p, t.encodeToken(version+"/"+api.String(), canon, 1, last.tick, last.ord)))
	}
	out.key("value")
	out.b = append(out.b, vals.b...)
	out.close()
	return out.b, true, nil
}

// handleOrganization serves /organization.
func (t *Tenant) handleOrganization(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
	if _, e := parseParams(rc.r.URL.RawQuery, "$select"); e != nil {
		return nil, false, e
	}
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#organization")
	w.key("value")
	w.openA()
	w.open()
	w.key("id")
	w.str(t.tenantID)
	w.key("displayName")
	w.str("Contoso")
	w.key("verifiedDomains")
	w.openA()
	for _, d := range []struct {
		name             string
		isDefault, isIni bool
	}{{"contoso.com", true, false}, {"contoso.onmicrosoft.com", false, true}, {"contoso.co.jp", false, false}} {
		w.open()
		w.key("name")
		w.str(d.name)
		w.key("isDefault")
		w.boolean(d.isDefault)
		w.key("isInitial")
		w.boolean(d.isIni)
		w.key("type")
		w.str("Managed")
		w.close()
	}
	w.closeA()
	w.close()
	w.closeA()
	w.close()
	return w.b, false, nil
}

// userFields are the user properties the simulator knows; the first eleven
// are Graph v1.0's default set (returned without $select).
var userFields = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
	"accountEnabled", "createdDateTime", "proxyAddresses", "usageLocation", "userType",
	"lastPasswordChangeDateTime", "signInSessionsValidFromDateTime", "passwordPolicies", "otherMails", "creationType",
	"externalUserState", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime", "onPremisesImmutableId",
	"onPremisesSamAccountName", "signInActivity"}

var userDefaultFields = userFields[:11]

func (t *Tenant) appendUser(w *jw, u *person, names []string, context string) {
	if names == nil {
		names = userDefaultFields
	}
	w.open()
	if context != "" {
		w.key("@odata.context")
		w.str(context)
	}
	for _, n := range names {
		w.key(n)
		switch n {
		case "businessPhones":
			w.strs(nil)
		case "displayName":
			w.str(u.DisplayName)
		case "givenName":
			w.str(u.given)
		case "jobTitle":
			w.str(u.jobTitle)
		case "mail":
			w.strN(u.Mail)
		case "mobilePhone":
			w.str(u.mobile)
		case "officeLocation":
			w.str(u.office)
		case "preferredLanguage":
			w.str(u.lang)
		case "surname":
			w.str(u.surname)
		case "userPrincipalName":
			w.str(u.UPN)
		case "id":
			w.str(u.ID)
		case "accountEnabled":
			w.boolean(true)
		case "createdDateTime":
			w.ts(toTicks(u.created))
		case "proxyAddresses":
			w.strs(u.ProxyAddresses)
		case "usageLocation":
			w.str(u.loc)
		case "userType":
			w.str("Member")
		default:
			t.appendUserExtra(w, u, n)
		}
	}
	w.close()
}

// handleUser serves /users/{id | userPrincipalName}.
func (t *Tenant) handleUser(rc *reqCtx, key string) ([]byte, bool, *gerr) {
	p, e := parseParams(rc.r.URL.RawQuery, "$select")
	if e != nil {
		return nil, false, e
	}
	_, names, selCtx, e := parseSelect(p, userFields, "user")
	if e != nil {
		return nil, false, e
	}
	u := t.lookup(key)
	if u == nil {
		return nil, false, &gerr{http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
	}
	if e := t.checkUserSelect(names); e != nil {
		return nil, false, e
	}
	w := jw{}
	t.appendUser(&w, u, names, rc.base+"/v1.0/$metadata#users"+selCtx+"/$entity")
	return w.b, false, nil
}

// handleUserList serves /users with $top (1..999, default 100), $skiptoken,
// $select and a $filter of eq comparisons on id, userPrincipalName, mail or
// displayName, or proxyAddresses/any(p: p eq '...').
func (t *Tenant) handleUserList(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
	p, e := parseParams(rc.r.URL.RawQuery, "$filter", "$top", "$skiptoken", "$select")
	if e != nil {
		return nil, false, e
	}
	_, names, selCtx, e := parseSelect(p, userFields, "user")
	if e != nil {
		return nil, false, e
	}
	top := 100
	if s, ok := p.get("$top"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 999 {
			return nil, false, &gerr{http.StatusBadRequest, "Request_BadRequest",
				"Invalid page size specified: '" + s + "'. Must be between 1 and 999 inclusive."}
		}
		top = n
	}
	type pred struct{ prop, val string }
	var preds []pred
	if f, ok := p.get("$filter"); ok {
		clauses, e := parseFilter(f)
		if e != nil {
			return nil, false, e
		}
		if isGuestFilter(clauses) {
			return t.guestList(rc)
		}
		for _, c := range clauses {
			switch c.prop {
			case "id", "userPrincipalName", "mail", "displayName", "proxyAddresses/any":
			default:
				return nil, false, unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", c.prop)
			}
			if c.op != "eq" {
				return nil, false, unsupported("Unsupported query: the operator '%s' is not supported for property '%s'; use eq.", c.op, c.prop)
			}
			v, e := stringValue(c.prop, c.val)
			if e != nil {
				return nil, false, e
			}
			preds = append(preds, pred{c.prop, v})
		}
	}
	var canon strings.Builder
	canon.WriteString("users")
	for _, pr := range preds {
		canon.WriteString("|" + pr.prop + "=" + strings.ToLower(pr.val))
	}
	start := int64(0)
	if tok, ok := p.get("$skiptoken"); ok {
		v, e := t.decodeToken(tok, "v1.0/users", canon.String(), 2, 1)
		if e != nil {
			return nil, false, e
		}
		start = v[0]
	}
	match := func(u *person) bool {
		for _, pr := range preds {
			ok := false
			switch pr.prop {
			case "id":
				ok = strings.EqualFold(u.ID, pr.val)
			case "userPrincipalName":
				ok = strings.EqualFold(u.UPN, pr.val)
			case "mail":
				ok = strings.EqualFold(u.Mail, pr.val)
			case "displayName":
				ok = u.DisplayName == pr.val
			case "proxyAddresses/any":
				for _, a := range u.ProxyAddresses {
					ok = ok || strings.EqualFold(a, pr.val)
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	vals := jw{}
	vals.openA()
	served, more := 0, false
	next := start
	for i := start; i < int64(len(t.users)); i++ {
		u := t.users[i]
		if !match(u) {
			continue
		}
		if served == top {
			more = true
			break
		}
		t.appendUser(&vals, u, names, "")
		served++
		next = i + 1
	}
	vals.closeA()
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#users" + selCtx)
	if more {
		w.key("@odata.nextLink")
		w.str(nextLink(rc, "/v1.0/users", p, t.encodeToken("v1.0/users", canon.String(), 2, next)))
	}
	w.key("value")
	w.b = append(w.b, vals.b...)
	w.close()
	return w.b, true, nil
}

// Fault injection.

type faultAction int

const (
	faultNone     faultAction = iota
	faultTruncate             // serve the answer cut short
	faultHandled              // the fault already answered (or dropped) the request
)

// injectFault applies latency and draws the request's fault.
func (t *Tenant) injectFault(rc *reqCtx) faultAction {
	f := t.cfg.Faults
	if f.Latency > 0 {
		t.mu.Lock()
		t.stats.Faults.Delayed++
		t.mu.Unlock()
		timer := time.NewTimer(f.Latency)
		select {
		case <-timer.C:
		case <-rc.r.Context().Done():
			timer.Stop()
		}
	}
	t.mu.Lock()
	kind, pick := "", 0
	now := time.Now()
	switch {
	case f.StormFor > 0 && now.Before(t.stormEnd):
		kind = "storm"
	case t.stormLeft > 0:
		t.stormLeft--
		kind = "storm"
	default:
		s, a, b, c := t.faultRNG.Float64(), t.faultRNG.Float64(), t.faultRNG.Float64(), t.faultRNG.Float64()
		pick = t.faultRNG.IntN(10)
		// With StormFor, the service rests ten times as long as a storm
		// lasted before another can start.
		calm := f.StormFor > 0 && now.Before(t.stormEnd.Add(10*f.StormFor))
		switch {
		case s < f.Storm429 && !calm:
			if f.StormFor > 0 {
				t.stormEnd = now.Add(f.StormFor)
			} else {
				t.stormLeft = f.StormLength - 1
			}
			t.stats.Faults.Storms++
			kind = "storm"
		case a < f.Rate5xx:
			kind = "5xx"
		case b < f.RateReset:
			kind = "reset"
		case c < f.RateTruncate:
			kind = "truncate"
		}
	}
	switch kind {
	case "storm":
		t.stats.Faults.Storm429++
		t.stats.Throttled++
	case "5xx":
		t.stats.Faults.Status5xx++
	case "reset":
		t.stats.Faults.Reset++
	}
	t.mu.Unlock()

	switch kind {
	case "storm":
		t.writeError(rc, &gerr{http.StatusTooManyRequests, "TooManyRequests", "Too many requests."},
			map[string]string{"Retry-After": "0"})
		return faultHandled
	case "5xx":
		e := &gerr{http.StatusServiceUnavailable, "ServiceUnavailable", "Service is temporarily unavailable. Please retry later."}
		switch pick {
		case 7:
			e = &gerr{http.StatusInternalServerError, "InternalServerError", "An internal server error occurred."}
		case 8:
			e = &gerr{http.StatusBadGateway, "BadGateway", "The gateway received an invalid response."}
		case 9:
			e = &gerr{http.StatusGatewayTimeout, "GatewayTimeout", "The gateway timed out."}
		}
		t.writeError(rc, e, nil)
		return faultHandled
	case "reset":
		conn := t.hijack(rc)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) //nolint:errcheck // best effort: send RST rather than FIN
		}
		conn.Close()
		rc.status = -1
		return faultHandled
	case "truncate":
		return faultTruncate
	}
	return faultNone
}

// hijack takes over the connection. Without a hijackable HTTP/1 connection
// (e.g. HTTP/2, or a ResponseRecorder) it aborts the handler with
// http.ErrAbortHandler instead.
func (t *Tenant) hijack(rc *reqCtx) net.Conn {
	hj, ok := rc.w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return conn
}

// writeTruncated writes a raw HTTP/1.1 200 whose Content-Length is the full
// body's but which carries only its first half, then closes the connection.
func (t *Tenant) writeTruncated(rc *reqCtx, body []byte) {
	conn := t.hijack(rc)
	defer conn.Close()
	t.mu.Lock()
	t.stats.Faults.Truncate++
	t.mu.Unlock()
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h := http.Header{}
	t.setHeaders(h, rc, len(body))
	h.Set("Connection", "close")
	h.Write(&b) //nolint:errcheck // bytes.Buffer
	b.WriteString("\r\n")
	b.Write(body[:len(body)/2])
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
	conn.Write(b.Bytes())                                   //nolint:errcheck // the client may be gone
	rc.status = -2
}
