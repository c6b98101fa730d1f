// Package portal reads files downloaded from the Microsoft Entra admin
// center (sign-in logs of any tab, audit logs; CSV or JSON) far enough to
// say what they are, how many records they hold and which time range they
// cover, and whether their times are in UTC. It never changes a file: the
// bytes a person downloaded are the evidence, and `evidence import` seals
// them as they are.
package portal

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Kinds of portal download.
const (
	KindInteractive      = "signins.interactive"
	KindNonInteractive   = "signins.noninteractive"
	KindUserSignIns      = "signins.user" // a user sign-in CSV whose tab the header cannot tell
	KindServicePrincipal = "signins.serviceprincipal"
	KindManagedIdentity  = "signins.managedidentity"
	KindAudits           = "audits"
	KindUnknown          = "unknown"
)

// Summary is what a download holds.
type Summary struct {
	Kind     string    // one of the Kind constants
	Format   string    // csv or json
	Records  int64     // data rows (CSV) or objects (JSON)
	First    time.Time // earliest record time, UTC (zero when none could be read)
	Last     time.Time // latest record time, UTC
	TimeCol  string    // the column or property the times came from
	Warnings []string  // e.g. times not in UTC
}

// Read summarises a download. name (the file's original name) helps tell
// the interactive and non-interactive tabs apart, whose CSV headers are
// identical. An error means the file is neither a CSV with a header nor
// JSON.
func Read(r io.Reader, name string) (*Summary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\ufeff")) {
		br.Discard(3) //nolint:errcheck // just peeked
	}
	head, _ := br.Peek(4096)
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		return readJSON(br, name)
	}
	return readCSV(br, name)
}

// hint reads the tab from a portal file name such as
// NonInteractiveSignIns_2026-11-13_2026-11-20.csv.
func hint(name string) string {
	n := strings.ToLower(filepath.Base(name))
	switch {
	case strings.HasPrefix(n, "noninteractivesignins"):
		return KindNonInteractive
	case strings.HasPrefix(n, "interactivesignins"):
		return KindInteractive
	case strings.HasPrefix(n, "applicationsignins"), strings.HasPrefix(n, "serviceprincipalsignins"):
		return KindServicePrincipal
	case strings.HasPrefix(n, "msisignins"), strings.HasPrefix(n, "managedidentitysignins"):
		return KindManagedIdentity
	case strings.HasPrefix(n, "auditlogs"):
		return KindAudits
	}
	return ""
}

// refine applies what the file name says where the records cannot tell:
// the non-interactive tab's records look interactive, and the managed
// identity tab's download (MSISignIns_*.json or .csv) carries service
// principal records without the managed identity properties.
func refine(kind, name string) string {
	switch h := hint(name); {
	case kind == KindInteractive && h == KindNonInteractive:
		return KindNonInteractive
	case kind == KindServicePrincipal && h == KindManagedIdentity:
		return KindManagedIdentity
	}
	return kind
}

// timeRange accumulates record times and notes non-UTC ones.
type timeRange struct {
	s             *Summary
	offset, naive int64
	bad           int64
	example       string
}

func (tr *timeRange) add(v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	t, err := parseZoned(v)
	if err != nil {
		if tr.example == "" {
			tr.example = v
		}
		if looksNaive(v) {
			tr.naive++
		} else {
			tr.bad++
		}
		return
	}
	if _, off := t.Zone(); off != 0 {
		tr.offset++
		if tr.example == "" {
			tr.example = v
		}
	}
	t = t.UTC()
	if tr.s.First.IsZero() || t.Before(tr.s.First) {
		tr.s.First = t
	}
	if t.After(tr.s.Last) {
		tr.s.Last = t
	}
}

// parseZoned reads a time that carries its zone: RFC 3339, or ISO 8601
// with a space instead of T, as spreadsheets re-save it.
func parseZoned(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t, err = time.Parse("2006-01-02 15:04:05Z07:00", v)
	}
	return t, err
}

// columns maps each header name (trimmed, without a byte-order mark) to
// its first index.
func columns(header []string) map[string]int {
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	return col
}

// looksNaive reports a date-time without zone (local time or ambiguous).
func looksNaive(v string) bool {
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "1/2/2006 3:04:05 PM", "1/2/2006 15:04", "2/1/2006 15:04:05", "1/2/2006 15:04:05"} {
		if _, err := time.Parse(layout, v); err == nil {
			return true
		}
	}
	return false
}

func (tr *timeRange) finish() {
	if tr.naive > 0 {
		tr.s.Warnings = append(tr.s.Warnings, fmt.Sprintf("%d times have no time zone (e.g. %q): they are not UTC and cannot be placed in time; the time range covers only the others", tr.naive, tr.example))
	}
	if tr.offset > 0 {
		tr.s.Warnings = append(tr.s.Warnings, fmt.Sprintf("%d times carry a non-UTC offset (e.g. %q); the time range is converted to UTC", tr.offset, tr.example))
	}
	if tr.bad > 0 {
		tr.s.Warnings = append(tr.s.Warnings, fmt.Sprintf("%d times could not be read (e.g. %q)", tr.bad, tr.example))
	}
}

func readCSV(r io.Reader, name string) (*Summary, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("not a CSV with a header row: %w", err)
	}
	col := columns(header)
	s := &Summary{Format: "csv", Kind: KindUnknown}
	has := func(h string) bool { _, ok := col[h]; return ok }
	switch {
	case has("Service principal ID") && has("Managed Identity type"):
		s.Kind = KindManagedIdentity
	case has("Service principal ID"):
		s.Kind = refine(KindServicePrincipal, name)
	case has("Username") && has("Request ID"):
		s.Kind = KindUserSignIns
		if h := hint(name); h == KindInteractive || h == KindNonInteractive {
			s.Kind = h
		}
	case has("Activity") && (has("ActorType") || has("Category")):
		s.Kind = KindAudits
	}
	timeCol := -1
	for _, h := range []string{"Date (UTC)", "Date", "CreatedDateTime", "createdDateTime", "ActivityDateTime", "activityDateTime"} {
		if i, ok := col[h]; ok {
			timeCol, s.TimeCol = i, h
			break
		}
	}
	if timeCol < 0 {
		for h, i := range col {
			if strings.HasPrefix(strings.ToLower(h), "date") {
				timeCol, s.TimeCol = i, h
				break
			}
		}
	}
	switch {
	case timeCol < 0:
		s.Warnings = append(s.Warnings, "no date column found: the time range is unknown")
	case s.TimeCol != "Date (UTC)":
		s.Warnings = append(s.Warnings, fmt.Sprintf("the date column is %q, not \"Date (UTC)\": the portal may have written local times", s.TimeCol))
	}
	tr := &timeRange{s: s}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("CSV row %d: %w", s.Records+2, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		s.Records++
		if timeCol >= 0 && timeCol < len(rec) {
			tr.add(rec[timeCol])
		}
	}
	tr.finish()
	return s, nil
}

// jsonRecord holds the properties that tell a record's kind and time.
type jsonRecord struct {
	CreatedDateTime    string   `json:"createdDateTime"`
	ActivityDateTime   string   `json:"activityDateTime"`
	SignInEventTypes   []string `json:"signInEventTypes"`
	IsInteractive      *bool    `json:"isInteractive"`
	UserID             string   `json:"userId"`
	ServicePrincipalID string   `json:"servicePrincipalId"`
	MSI                *struct {
		MsiType string `json:"msiType"`
	} `json:"managedServiceIdentity"`
}

func (j jsonRecord) kind() string {
	if j.ActivityDateTime != "" {
		return KindAudits
	}
	if j.CreatedDateTime == "" {
		return KindUnknown
	}
	for _, t := range j.SignInEventTypes {
		switch t {
		case "interactiveUser":
			return KindInteractive
		case "nonInteractiveUser":
			return KindNonInteractive
		case "servicePrincipal":
			return KindServicePrincipal
		case "managedIdentity":
			return KindManagedIdentity
		}
	}
	switch {
	case j.MSI != nil && j.MSI.MsiType != "" && j.MSI.MsiType != "none":
		return KindManagedIdentity
	case j.UserID == "" && j.ServicePrincipalID != "":
		return KindServicePrincipal
	case j.IsInteractive != nil && !*j.IsInteractive:
		return KindNonInteractive
	}
	return KindInteractive
}

// readJSON reads a JSON array of records (the portal's JSON download) or a
// saved Graph page ({"value": [...]}), one record at a time.
func readJSON(r io.Reader, name string) (*Summary, error) {
	s := &Summary{Format: "json", Kind: KindUnknown}
	tr := &timeRange{s: s}
	kinds := map[string]int64{}
	err := eachJSON(r, func(raw json.RawMessage) error {
		var j jsonRecord
		if err := json.Unmarshal(raw, &j); err != nil {
			return fmt.Errorf("JSON record %d: %w", s.Records+1, err)
		}
		s.Records++
		kinds[j.kind()]++
		if j.ActivityDateTime != "" {
			tr.add(j.ActivityDateTime)
			s.TimeCol = "activityDateTime"
		} else {
			tr.add(j.CreatedDateTime)
			s.TimeCol = "createdDateTime"
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tr.finish()
	// The file's kind is its records' kind when they agree.
	if len(kinds) == 1 {
		for k := range kinds {
			s.Kind = k
		}
	} else if len(kinds) > 1 {
		s.Kind = KindUnknown
		s.Warnings = append(s.Warnings, fmt.Sprintf("records of several kinds: %v", kinds))
	}
	s.Kind = refine(s.Kind, name)
	return s, nil
}

// eachJSON calls fn with the bytes of each record of a JSON array of
// records (the portal's JSON download) or of a saved Graph page's value
// array ({"value": [...]}), one record at a time, as they stand in r.
func eachJSON(r io.Reader, fn func(json.RawMessage) error) error {
	dec := json.NewDecoder(r)
	n := 0
	one := func() error {
		var rec json.RawMessage
		n++
		if err := dec.Decode(&rec); err != nil {
			return fmt.Errorf("JSON record %d: %w", n, err)
		}
		return fn(rec)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			if err := one(); err != nil {
				return err
			}
		}
	case json.Delim('{'):
		// A saved Graph page: find its value array.
		found := false
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("JSON: %w", err)
			}
			if k, _ := kt.(string); k == "value" {
				if t, err := dec.Token(); err != nil || t != json.Delim('[') {
					return errors.New("JSON: value is not an array")
				}
				for dec.More() {
					if err := one(); err != nil {
						return err
					}
				}
				if _, err := dec.Token(); err != nil {
					return fmt.Errorf("JSON: %w", err)
				}
				found = true
				continue
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("JSON: %w", err)
			}
		}
		if !found {
			return errors.New("JSON object without a value array: not a log download")
		}
	default:
		return errors.New("JSON that is neither an array of records nor a Graph page")
	}
	return nil
}
