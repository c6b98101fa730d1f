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
	// of the top-level properties instead of scanning the record again.
	Path string
	From func(v gjson.Result) string
}

// Index holds a record's top-level properties, so that many columns cost
// one pass over the record. The zero value is ready; Reset reuses it.
type Index struct {
	top map[string]gjson.Result
}

// Reset indexes r.
func (x *Index) Reset(r gjson.Result) {
	if x.top == nil {
		x.top = make(map[string]gjson.Result, 64)
	}
	clear(x.top)
	r.ForEach(func(k, v gjson.Result) bool {
		if _, dup := x.top[k.String()]; !dup { // the first of duplicate keys, as gjson's Get finds it
			x.top[k.String()] = v
		}
		return true
	})
}

// Cell is the column's value for a record (parsed, and indexed in x) and
// its notes.
func (c Column) Cell(r gjson.Result, x *Index, notes map[string]string) string {
	switch {
	case c.Note != "" || c.Value == nil && c.From == nil:
		return notes[c.Note]
	case c.Path != "" && c.From != nil && x != nil && x.top != nil:
		head, rest, _ := strings.Cut(c.Path, ".")
		v := x.top[head]
		if rest != "" && v.Exists() {
			v = v.Get(rest)
		}
		return c.From(v)
	default:
		return c.Value(r)
	}
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
