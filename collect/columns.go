package collect

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Column is one CSV column derived from a record's raw JSON.
type Column struct {
	Name  string
	Value func(r gjson.Result) string
}

// Str is a column holding the string at a gjson path ("" when absent).
func Str(name, path string) Column {
	return Column{Name: name, Value: func(r gjson.Result) string { return r.Get(path).String() }}
}

// Time is a column holding the time at path rendered as RFC 3339 UTC. A
// value that does not parse is kept as sent, so nothing is hidden.
func Time(name, path string) Column {
	return Column{Name: name, Value: func(r gjson.Result) string {
		v := r.Get(path).String()
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return FormatTime(t)
		}
		return v
	}}
}

// Raw is a column holding the JSON at path as sent (arrays, objects).
func Raw(name, path string) Column {
	return Column{Name: name, Value: func(r gjson.Result) string {
		v := r.Get(path)
		if !v.Exists() || v.Type == gjson.Null {
			return ""
		}
		return v.Raw
	}}
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
