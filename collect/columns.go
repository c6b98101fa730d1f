package collect

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/tidwall/gjson"
)

// Column is one CSV column of a record file (see collect/record, which
// writes them).
type Column = record.Column

// RecordIndex holds a record's properties as columns ask for them
// (record.Index).
type RecordIndex = record.Index

// Getter returns the value at a path of one record (record.Getter).
type Getter = record.Getter

// Column constructors for the sources' tables, from collect/record.
var (
	// NoteColumn is a column holding the record's note key (e.g. SideNote).
	NoteColumn = record.Note
	// Str is a column holding the string at a gjson path ("" when absent).
	Str = record.Str
	// Time is a column holding the time at path rendered as RFC 3339 UTC.
	Time = record.Time
	// Raw is a column holding the JSON at path as sent (arrays, objects).
	Raw = record.Raw
	// Func is a column computed by f.
	Func = record.Func
	// pathColumn is a column holding from applied to the value at path.
	pathColumn = record.At
	// At is a column holding from applied to the value at path, served
	// from the record's index.
	At = record.At
	// Lookup is a column computed from values looked up by path, served
	// from the record's index.
	Lookup = record.Lookup
	// First is a column holding the first non-empty string among paths.
	First = record.First
)

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

// CSVPath is the CSV file beside a .jsonl path.
var CSVPath = record.CSVPath
