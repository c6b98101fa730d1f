package graphtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sobj is one directory or mailbox object of the persistence snapshot, kept
// as ordered properties with their JSON values, so answers have a stable key
// order like Graph's.
type sobj struct {
	keys []string
	vals map[string][]byte
}

// obj builds an object from key/value pairs. Values are marshalled with
// encoding/json, except time.Time (Graph's timestamp form), rawJSON (as is)
// and nil (null).
func obj(kv ...any) *sobj {
	o := &sobj{vals: map[string][]byte{}}
	for i := 0; i+1 < len(kv); i += 2 {
		o.set(kv[i].(string), kv[i+1])
	}
	return o
}

// rawJSON is a value already in JSON form.
type rawJSON string

func (o *sobj) set(k string, v any) *sobj {
	var b []byte
	switch x := v.(type) {
	case nil:
		b = []byte("null")
	case rawJSON:
		b = []byte(x)
	case time.Time:
		b = appendJSONString(nil, FormatTime(x))
	case *sobj:
		b = x.json(nil)
	case []*sobj:
		w := jw{}
		w.openA()
		for _, e := range x {
			w.sep()
			w.b = append(w.b, e.json(nil)...)
		}
		w.closeA()
		b = w.b
	default:
		var err error
		if b, err = json.Marshal(x); err != nil {
			panic(err)
		}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = b
	return o
}

func (o *sobj) str(k string) string {
	var s string
	_ = json.Unmarshal(o.vals[k], &s)
	return s
}

// json renders the object, projected on sel when sel is not nil (a selected
// property the object lacks is null, as Graph renders unset properties).
func (o *sobj) json(sel []string) []byte {
	w := jw{}
	w.open()
	keys := o.keys
	if sel != nil {
		keys = sel
		if t, ok := o.vals["@odata.type"]; ok && !slices.Contains(sel, "@odata.type") {
			w.key("@odata.type")
			w.b = append(w.b, t...)
		}
	}
	for _, k := range keys {
		w.key(k)
		if v, ok := o.vals[k]; ok {
			w.b = append(w.b, v...)
		} else {
			w.b = append(w.b, "null"...)
		}
	}
	w.close()
	return w.b
}

// snapList is a collection endpoint of the snapshot: its objects, the
// properties $filter accepts (eq on strings only) and its entity type.
type snapList struct {
	entity     string   // for error messages and @odata.context
	context    string   // @odata.context path after $metadata#
	filterable []string // properties accepted in $filter (eq)
	objs       []*sobj
	// expand names the one navigation property $expand accepts ("" for
	// none); expanded are objs with it expanded, in the same order.
	expand   string
	expanded []*sobj
	// filterFn, when set, takes over $filter: it returns the matching
	// objects and a canonical form of the filter, bound into skip tokens.
	filterFn func(filter string) ([]*sobj, string, *gerr)
}

// fields is the union of the objects' properties, for $select validation.
func (l *snapList) fields(extra ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range l.objs {
		for _, k := range o.keys {
			if !seen[k] && !strings.HasPrefix(k, "@") {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	for _, k := range extra {
		if !seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// snapPageSize is the default page size of snapshot collections (Graph's
// default for directory relationships is 100).
const snapPageSize = 100

// serveList answers a snapshot collection: $filter (eq conjunctions on
// filterable properties), $select, $top (1..999) and a $skiptoken carried
// in an absolute nextLink.
func (t *Tenant) serveList(rc *reqCtx, path string, l *snapList) ([]byte, bool, *gerr) {
	p, e := parseParams(rc.r.URL.RawQuery, "$filter", "$top", "$skiptoken", "$select", "$expand")
	if e != nil {
		return nil, false, e
	}
	ctxExpand := ""
	if x, ok := p.get("$expand"); ok {
		if l.expand == "" || !strings.EqualFold(strings.TrimSpace(x), l.expand) {
			return nil, false, badRequest("Could not find a navigation property named '%s' on type 'microsoft.graph.%s'.", x, l.entity)
		}
		l = &snapList{entity: l.entity, context: l.context, filterable: l.filterable, objs: l.expanded}
		ctxExpand = "(" + strings.TrimSpace(x) + "())"
	}
	if t.cfg.IgnoreFilter {
		delete(p, "$filter")
	}
	_, names, selCtx, e := parseSelect(p, l.fields("id"), l.entity)
	if e != nil {
		return nil, false, e
	}
	top := snapPageSize
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
	canonFilter := ""
	if f, ok := p.get("$filter"); ok && l.filterFn != nil {
		objs, c, e := l.filterFn(f)
		if e != nil {
			return nil, false, e
		}
		l = &snapList{entity: l.entity, context: l.context, objs: objs}
		canonFilter = "|" + c
	} else if ok {
		clauses, e := parseFilter(f)
		if e != nil {
			return nil, false, e
		}
		for _, c := range clauses {
			if !slices.Contains(l.filterable, c.prop) {
				return nil, false, unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", c.prop, l.entity)
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
	canon := path + ctxExpand + canonFilter
	for _, pr := range preds {
		canon += "|" + pr.prop + "=" + strings.ToLower(pr.val)
	}
	start := int64(0)
	if tok, ok := p.get("$skiptoken"); ok {
		v, e := t.decodeToken(tok, "v1.0/snapshot", canon, 3, 1)
		if e != nil {
			return nil, false, e
		}
		start = v[0]
	}
	vals := jw{}
	vals.openA()
	served, more, next := 0, false, start
	for i := start; i < int64(len(l.objs)); i++ {
		o := l.objs[i]
		ok := true
		for _, pr := range preds {
			ok = ok && strings.EqualFold(o.str(pr.prop), pr.val)
		}
		if !ok {
			continue
		}
		if served == top {
			more = true
			break
		}
		vals.sep()
		vals.b = append(vals.b, o.json(names)...)
		served++
		next = i + 1
	}
	vals.closeA()
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#" + l.context + selCtx + ctxExpand)
	if more {
		w.key("@odata.nextLink")
		w.str(nextLink(rc, path, p, t.encodeToken("v1.0/snapshot", canon, 3, next)))
	}
	w.key("value")
	w.b = append(w.b, vals.b...)
	w.close()
	return w.b, true, nil
}

// serveObject answers a single snapshot object, with $select.
func (t *Tenant) serveObject(rc *reqCtx, o *sobj, entity, context string) ([]byte, bool, *gerr) {
	p, e := parseParams(rc.r.URL.RawQuery, "$select")
	if e != nil {
		return nil, false, e
	}
	l := &snapList{objs: []*sobj{o}}
	_, names, selCtx, e := parseSelect(p, l.fields("id"), entity)
	if e != nil {
		return nil, false, e
	}
	body := o.json(names)
	w := jw{}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#" + context + selCtx + "/$entity")
	if len(body) > 2 { // the object's properties after the context
		w.b = append(w.b, ',')
		w.b = append(w.b, body[1:]...)
	} else {
		w.close()
	}
	return w.b, false, nil
}
