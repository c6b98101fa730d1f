// Package record writes a source's records: each record's JSON bytes as
// Graph sent them, one per line (JSON Lines), and a CSV view of chosen
// columns beside it. It is the one record writer and the one CSV writer of
// the project (UTF-8 with a byte order mark, CRLF line ends, a header row
// always, formula-leading cells neutralised), and it depends on nothing
// else of the project, so every stage can use it.
package record

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Column is one CSV column derived from a record's raw JSON, or, when Note
// is set, from the note of that name given with the record (NotedSink).
type Column struct {
	Name  string
	Value func(r gjson.Result) string
	Note  string
	// Path and From, when set, say the same as Value (From applied to the
	// value at Path) in a form the writer can serve from a per-record index
	// instead of scanning the record again.
	Path string
	From func(v gjson.Result) string
	// Look, when set, says the same as Value in terms of values looked up
	// by path, which the writer serves from the per-record index.
	Look func(get Getter) string
}

// Getter returns the value at a gjson path of one record.
type Getter func(path string) gjson.Result

// Index holds a record's top-level properties, so that many columns cost
// one pass over the record, and, once a path reaches into an object
// property (auditData.UserAgent), that object's properties too, so that
// the columns reading it cost one pass over it. The zero value is ready;
// Reset reuses it. Properties are kept in slices in record order and found
// by a scan from the first, which finds the first of duplicate keys, as
// gjson's Get does: records have tens of properties, for which hashing
// every key into a map (and clearing the maps for every record) cost more
// than the scans (BenchmarkColumns).
type Index struct {
	top   props
	inner []innerProps // the object properties indexed for this record
	spare []props      // slices of earlier records, for reuse
	ready bool
}

type prop struct {
	key string
	val gjson.Result
}

type props []prop

type innerProps struct {
	head  string
	props props
}

func (ps props) get(key string) gjson.Result {
	for i := range ps {
		if ps[i].key == key {
			return ps[i].val
		}
	}
	return gjson.Result{}
}

// Reset indexes r.
func (x *Index) Reset(r gjson.Result) {
	x.ready = true
	x.top = indexObject(x.top[:0], r)
	for _, in := range x.inner {
		x.spare = append(x.spare, in.props[:0])
	}
	x.inner = x.inner[:0]
}

// indexObject appends o's properties to ps.
func indexObject(ps props, o gjson.Result) props {
	o.ForEach(func(k, v gjson.Result) bool {
		ps = append(ps, prop{k.String(), v})
		return true
	})
	return ps
}

// object returns the index of the object property head (value v).
func (x *Index) object(head string, v gjson.Result) props {
	for _, in := range x.inner {
		if in.head == head {
			return in.props
		}
	}
	var ps props
	if n := len(x.spare); n > 0 {
		ps, x.spare = x.spare[n-1], x.spare[:n-1]
	}
	ps = indexObject(ps, v)
	x.inner = append(x.inner, innerProps{head, ps})
	return ps
}

// gjsonSyntax marks the bytes that make a path more than names and
// positions joined by dots.
var gjsonSyntax = func() (t [256]bool) {
	for _, c := range []byte(`*?#|@\!=<>%[]{}(),:"`) {
		t[c] = true
	}
	return t
}()

// plainPath: only names and positions joined by dots, no gjson syntax.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if gjsonSyntax[p[i]] {
			return false
		}
	}
	return true
}

// Get returns the value at path of the indexed record r, as r.Get(path)
// would: the top-level property from the index, the rest of the path
// within it.
func (x *Index) Get(r gjson.Result, path string) gjson.Result {
	if x == nil || !x.ready || !plainPath(path) {
		return r.Get(path)
	}
	head, rest, _ := strings.Cut(path, ".")
	v := x.top.get(head)
	if rest == "" || !v.Exists() {
		return v
	}
	if !v.IsObject() {
		return v.Get(rest)
	}
	key, deeper, _ := strings.Cut(rest, ".")
	w := x.object(head, v).get(key)
	if deeper != "" && w.Exists() {
		w = w.Get(deeper)
	}
	return w
}

// Cell is the column's value for a record (parsed, and indexed in x) and
// its notes.
func (c Column) Cell(r gjson.Result, x *Index, notes map[string]string) string {
	switch {
	case c.Note != "" || c.Value == nil && c.From == nil && c.Look == nil:
		return notes[c.Note]
	case c.Path != "" && c.From != nil && x != nil && x.ready:
		return c.From(x.Get(r, c.Path))
	case c.Look != nil && x != nil && x.ready:
		return c.Look(func(p string) gjson.Result { return x.Get(r, p) })
	default:
		return c.Value(r)
	}
}

// Lookup is a column computed by f from values it looks up by path; the
// writer serves the lookups from the record's index.
func Lookup(name string, f func(get Getter) string) Column {
	return Column{Name: name, Look: f, Value: func(r gjson.Result) string { return f(r.Get) }}
}

// First is a column holding the first non-empty string among paths.
func First(name string, paths ...string) Column {
	return Lookup(name, func(get Getter) string {
		for _, p := range paths {
			if v := get(p).String(); v != "" {
				return v
			}
		}
		return ""
	})
}

// At is a column holding from applied to the value at a gjson path; the
// writer serves it from the record's index.
func At(name, path string, from func(v gjson.Result) string) Column {
	return Column{Name: name, Path: path, From: from, Value: func(r gjson.Result) string { return from(r.Get(path)) }}
}

// Note is a column holding the record's note key (e.g. a side note).
func Note(name, key string) Column { return Column{Name: name, Note: key} }

// Str is a column holding the string at a gjson path ("" when absent).
func Str(name, path string) Column {
	return At(name, path, func(v gjson.Result) string { return v.String() })
}

// Time is a column holding the time at path rendered as RFC 3339 UTC. A
// value that does not parse is kept as sent, so nothing is hidden.
func Time(name, path string) Column {
	return At(name, path, func(r gjson.Result) string {
		v := r.String()
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return v
	})
}

// Raw is a column holding the JSON at path as sent (arrays, objects).
func Raw(name, path string) Column {
	return At(name, path, func(v gjson.Result) string {
		if !v.Exists() || v.Type == gjson.Null {
			return ""
		}
		return v.Raw
	})
}

// Func is a column computed by f.
func Func(name string, f func(r gjson.Result) string) Column { return Column{Name: name, Value: f} }

// CSVPath is the CSV file beside a .jsonl path.
func CSVPath(jsonl string) string { return strings.TrimSuffix(jsonl, ".jsonl") + ".csv" }
