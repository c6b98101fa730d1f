package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/tidwall/gjson"
)

// Imported files (evidence import) are kept as they were downloaded from
// the Entra admin center: a CSV with the portal's column names, or JSON
// (an array of Graph records, or a saved Graph page {"value": [...]}).
// The page reads them like collected records, so an imported bundle gets
// the same timeline, rules and indicators.
const importedDir = "imported/"

func isImported(rel string) bool {
	return strings.HasPrefix(rel, importedDir) && !strings.Contains(rel[len(importedDir):], "/") &&
		(strings.HasSuffix(strings.ToLower(rel), ".csv") || strings.HasSuffix(strings.ToLower(rel), ".json"))
}

// feedImported reads one imported file.
func (a *Analyzer) feedImported(rel string, r io.Reader) error {
	if a.files[rel] != nil {
		return fmt.Errorf("report: %s read twice", rel)
	}
	fs := &FileStat{Path: rel, Class: ClassSignIn, LabelKey: "src.imported", LabelArg: path.Base(rel)}
	a.files[rel] = fs
	a.order = append(a.order, rel)
	br := bufio.NewReaderSize(r, 256<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\ufeff")) {
		br.Discard(3) //nolint:errcheck // just peeked
	}
	head, _ := br.Peek(512)
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return a.importedJSON(fs, br)
	}
	return a.importedCSV(fs, br)
}

func (a *Analyzer) importedJSON(fs *FileStat, r io.Reader) error {
	dec := json.NewDecoder(r)
	one := func() error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		fs.Records++
		g := gjson.ParseBytes(raw)
		ev := a.newEvent("", fs.Path, fs.Records)
		if g.Get("activityDateTime").Exists() {
			ev.Class = ClassAudit
			extractAudit(g, ev)
		} else {
			ev.Class = ClassSignIn
			extractSignIn(g, ev)
		}
		a.event(fs, ev)
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		return nil // not JSON after all: listed, not read
	}
	if d, ok := tok.(json.Delim); ok && d == '{' {
		// A Graph page: find "value".
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil
			}
			if k == "value" {
				if _, err := dec.Token(); err != nil {
					return nil
				}
				for dec.More() {
					if err := one(); err != nil {
						fs.Unreadable++
						return nil
					}
				}
				return nil
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
		}
		return nil
	}
	for dec.More() {
		if err := one(); err != nil {
			fs.Unreadable++
			return nil
		}
	}
	return nil
}

// importedCSV maps the admin center's sign-in and audit columns.
func (a *Analyzer) importedCSV(fs *FileStat, r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	audit := has(col, "Activity") && !has(col, "IP address")
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			fs.Unreadable++
			return nil
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		fs.Records++
		get := func(names ...string) string {
			for _, n := range names {
				if i, ok := col[n]; ok && i < len(rec) {
					if v := strings.TrimSpace(rec[i]); v != "" {
						return v
					}
				}
			}
			return ""
		}
		line, _ := cr.FieldPos(0)
		ev := a.newEvent("", fs.Path, int64(line))
		ev.Time = parseTime(get("Date (UTC)", "Date", "CreatedDateTime", "ActivityDateTime"))
		ev.ID = get("Request ID", "Id", "ID", "Correlation ID")
		if audit {
			ev.Class = ClassAudit
			ev.User = get("Actor UserPrincipalName", "Initiated by (actor)", "Actor", "Initiated By")
			ev.UserKey = firstOf(get("Actor ObjectId", "Actor ID"), ev.User)
			ev.Op = get("Activity")
			ev.Detail = joinNonEmpty(" · ", get("Target", "Target1DisplayName"), get("Status reason", "Result reason"))
			activityFlag(ev, ev.Op)
			a.event(fs, ev)
			continue
		}
		ev.Class = ClassSignIn
		ev.User = get("Username", "User", "Service principal name", "Service principal ID")
		ev.UserKey = firstOf(get("User ID", "Service principal ID"), ev.User)
		ev.IP = get("IP address")
		loc := strings.Split(get("Location"), ",")
		if n := len(loc); n > 0 && strings.TrimSpace(loc[0]) != "" {
			ev.Country = strings.TrimSpace(loc[n-1])
			if n > 1 {
				ev.City = strings.TrimSpace(loc[0])
			}
		}
		ev.App = get("Application", "Application ID")
		ev.Op = "Sign-in"
		ev.UA = firstOf(get("User agent"), joinNonEmpty(" / ", get("Browser"), get("Operating System")))
		ev.Tenant = get("Home tenant ID")
		ev.Code = get("Sign-in error code")
		reason := get("Failure reason")
		switch st := strings.ToLower(get("Status")); {
		case st == "success" || ev.Code == "0":
			ev.Result = ResultSuccess
		case st == "interrupted" || interruptCode(ev.Code):
			ev.Result = ResultInterrupted
			ev.Detail = joinNonEmpty(" ", ev.Code, reason)
		case st != "" || ev.Code != "":
			ev.Result = ResultFailure
			ev.Detail = joinNonEmpty(" ", ev.Code, reason)
		}
		if ev.App != "" {
			ev.Detail = joinNonEmpty(" · ", ev.App, ev.Detail)
		}
		switch strings.ToLower(get("Risk level during sign-in")) {
		case "high", "medium":
			if ev.Result == ResultSuccess {
				ev.flag(FlagRisky)
			}
		}
		a.event(fs, ev)
	}
}

func has(col map[string]int, h string) bool { _, ok := col[h]; return ok }

func interruptCode(c string) bool {
	var n int64
	if _, err := fmt.Sscan(c, &n); err != nil {
		return false
	}
	return interrupts[n]
}
