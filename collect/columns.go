package collect

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
	// value at Path) in a form the sink can serve from a per-record index
	// of the top-level properties instead of scanning the record again.
	Path string
	From func(v gjson.Result) string
}

// RecordIndex holds a record's top-level properties, so that many columns
// cost one pass over the record. The zero value is ready; Reset reuses it.
type RecordIndex struct {
	top map[string]gjson.Result
}

// Reset indexes r.
func (x *RecordIndex) Reset(r gjson.Result) {
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
func (c Column) Cell(r gjson.Result, x *RecordIndex, notes map[string]string) string {
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

func pathColumn(name, path string, from func(v gjson.Result) string) Column {
	return Column{Name: name, Path: path, From: from, Value: func(r gjson.Result) string { return from(r.Get(path)) }}
}

// NoteColumn is a column holding the record's note key (e.g. SideNote).
func NoteColumn(name, key string) Column { return Column{Name: name, Note: key} }

// Str is a column holding the string at a gjson path ("" when absent).
func Str(name, path string) Column {
	return pathColumn(name, path, func(v gjson.Result) string { return v.String() })
}

// Time is a column holding the time at path rendered as RFC 3339 UTC. A
// value that does not parse is kept as sent, so nothing is hidden.
func Time(name, path string) Column {
	return pathColumn(name, path, func(r gjson.Result) string {
		v := r.String()
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return FormatTime(t)
		}
		return v
	})
}

// Raw is a column holding the JSON at path as sent (arrays, objects).
func Raw(name, path string) Column {
	return pathColumn(name, path, func(v gjson.Result) string {
		if !v.Exists() || v.Type == gjson.Null {
			return ""
		}
		return v.Raw
	})
}

// Func is a column computed by f.
func Func(name string, f func(r gjson.Result) string) Column { return Column{Name: name, Value: f} }

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// gjsonResult shortens column function signatures.
type gjsonResult = gjson.Result

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// csvPath is the CSV file beside a .jsonl path.
func csvPath(jsonl string) string { return strings.TrimSuffix(jsonl, ".jsonl") + ".csv" }

// CSVPath is the CSV file beside a .jsonl path.
func CSVPath(jsonl string) string { return csvPath(jsonl) }
