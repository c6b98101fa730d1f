// Package kql writes Kusto Query Language literals, so that a value the
// tool puts in a query (a user principal name, an object id, a time) stays
// a value and can never end the literal and add query text. The rules are
// those of the KQL reference ("The string data type", "The datetime data
// type": https://learn.microsoft.com/kusto/query/scalar-data-types/string,
// .../datetime): in a double-quoted literal the backslash escapes the quote,
// itself, tab (\t) and newline (\n); a newline or carriage return may not
// appear unescaped.
//
// Both the workspace source (Log Analytics) and the signals source
// (Defender advanced hunting) build their queries with it.
package kql

import (
	"strings"
	"time"
)

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// String is s as a double-quoted KQL string literal.
func String(s string) string { return `"` + escaper.Replace(s) + `"` }

// Time is t as a KQL datetime literal in UTC, with every fraction digit
// Go keeps (RFC 3339).
func Time(t time.Time) string { return "datetime(" + t.UTC().Format(time.RFC3339Nano) + ")" }
