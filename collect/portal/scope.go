package portal

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
)

// Scope is what `evidence import --user/--since/--until` asks of its files:
// the records of Users (UPNs or object ids; none: every user a file holds)
// whose time lies in Window (a zero Window: any time). The zero Scope
// checks nothing: the files are taken "as downloaded".
type Scope struct {
	Users  []string
	Window collect.Window
}

// AsDownloaded reports whether the scope checks nothing.
func (sc Scope) AsDownloaded() bool { return len(sc.Users) == 0 && sc.Window == (collect.Window{}) }

// String describes the scope for the manifest and the report.
func (sc Scope) String() string {
	if sc.AsDownloaded() {
		return "as downloaded (every user and time the file holds)"
	}
	var parts []string
	if len(sc.Users) > 0 {
		parts = append(parts, "users "+strings.Join(sc.Users, ", "))
	}
	if sc.Window != (collect.Window{}) {
		parts = append(parts, "window "+sc.Window.String())
	}
	return strings.Join(parts, "; ")
}

// userPaths are the properties (Graph's names; CSV columns are projected
// onto them) that name the user a record of each kind is about. Service
// principal and managed identity sign-ins name no user.
var userPaths = map[string][]string{
	KindInteractive:    {"userId", "userPrincipalName"},
	KindNonInteractive: {"userId", "userPrincipalName"},
	KindUserSignIns:    {"userId", "userPrincipalName"},
	KindAudits:         {"initiatedBy.user.id", "initiatedBy.user.userPrincipalName", "targetResources.#.id", "targetResources.#.userPrincipalName"},
}

// check is the collect.Scope a file of kind is judged by, and a note on
// what could not be checked.
func (sc Scope) check(kind string) (*collect.Scope, string) {
	s := &collect.Scope{}
	var notes []string
	if sc.Window != (collect.Window{}) {
		s.Window, s.TimeProp = sc.Window, "createdDateTime"
		if kind == KindAudits {
			s.TimeProp = "activityDateTime"
		}
	}
	if len(sc.Users) > 0 {
		if p, ok := userPaths[kind]; ok {
			s.Require = []collect.Cond{{What: "user (" + strings.Join(sc.Users, ", ") + ")", Paths: p, Values: sc.Users}}
		} else {
			notes = append(notes, "the user was not checked: "+kind+" records name no user")
		}
	}
	return s, strings.Join(notes, "; ")
}

// Split is how a download's records fall against a Scope.
type Split struct {
	InScope, OutOfScope int64
	First               string // why the first record outside was outside
	Note                string // what could not be checked
}

// SplitRecords reads a download of the kind and format sum describes and
// judges each record against sc. When in and out are not nil it writes
// each record's bytes unchanged to in (within the scope) or out: a CSV's
// header row (with its byte-order mark) goes to both, then each row as it
// was; a JSON download's records go into a JSON array each, every record
// byte for byte as it stood in the download. Times without a zone cannot
// be placed in the window: such a record is judged by its user alone, and
// the note says how many.
func SplitRecords(r io.Reader, sum *Summary, sc Scope, in, out io.Writer) (*Split, error) {
	if sum.Kind == KindUnknown {
		return nil, errors.New("the records' kind is unknown: their user and time cannot be read")
	}
	scope, note := sc.check(sum.Kind)
	sp := &Split{Note: note}
	var unplaced int64
	var err error
	if sum.Format == "json" {
		err = splitJSON(r, scope, sp, in, out)
	} else {
		unplaced, err = splitCSV(r, sum.Kind, scope, sp, in, out)
	}
	if err != nil {
		return nil, err
	}
	if unplaced > 0 && scope.TimeProp != "" {
		n := fmt.Sprintf("%d records have no time in UTC and were judged by their user alone", unplaced)
		if sp.Note != "" {
			n = sp.Note + "; " + n
		}
		sp.Note = n
	}
	return sp, nil
}

func (sp *Split) judge(scope *collect.Scope, judged, raw []byte, in, out io.Writer) error {
	w := in
	if why := scope.Outside(judged); why != "" {
		sp.OutOfScope++
		if sp.First == "" {
			sp.First = why
		}
		w = out
	} else {
		sp.InScope++
	}
	if w == nil {
		return nil
	}
	_, err := w.Write(raw)
	return err
}

// splitCSV projects each row onto the Graph property names of its kind
// and judges it; the row's own bytes (from a replay of the input kept
// only as far as the row reaches) are what is written.
func splitCSV(r io.Reader, kind string, scope *collect.Scope, sp *Split, in, out io.Writer) (unplaced int64, err error) {
	raw := &rowBytes{}
	br := bufio.NewReader(r)
	var base int64 // the byte-order mark, kept in the bytes, not given to the CSV reader
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\ufeff")) {
		raw.Write(bom) //nolint:errcheck // never fails
		br.Discard(3)  //nolint:errcheck // just peeked
		base = 3
	}
	cr := csv.NewReader(io.TeeReader(br, raw))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("not a CSV with a header row: %w", err)
	}
	head := raw.take(base + cr.InputOffset())
	for _, w := range []io.Writer{in, out} {
		if w != nil {
			if _, err := w.Write(head); err != nil {
				return 0, err
			}
		}
	}
	proj := projector(kind, columns(header))
	row := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		row++
		if err != nil {
			return 0, fmt.Errorf("CSV row %d: %w", row+1, err)
		}
		b := raw.take(base + cr.InputOffset())
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			if in != nil { // a blank line: no record, kept with the subject's file
				if _, err := in.Write(b); err != nil {
					return 0, err
				}
			}
			continue
		}
		obj, placed := proj(rec)
		if !placed {
			unplaced++
		}
		j, err := json.Marshal(obj)
		if err != nil {
			return 0, err
		}
		if err := sp.judge(scope, j, b, in, out); err != nil {
			return 0, err
		}
	}
	// Bytes after the last row (none, normally).
	if rest := raw.take(raw.end); len(rest) > 0 && in != nil {
		if _, err := in.Write(rest); err != nil {
			return 0, err
		}
	}
	return unplaced, nil
}

// rowBytes keeps what the CSV reader has read and not yet been taken.
type rowBytes struct {
	buf []byte
	off int64 // input offset of buf[0]
	end int64 // input offset after the last byte read
}

func (b *rowBytes) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	b.end += int64(len(p))
	return len(p), nil
}

// take returns the bytes up to input offset to (the end of a row) and
// forgets them.
func (b *rowBytes) take(to int64) []byte {
	n := int(to - b.off)
	out := append([]byte(nil), b.buf[:n]...)
	b.buf = append(b.buf[:0], b.buf[n:]...)
	b.off = to
	return out
}

// projector maps a CSV row of kind onto the Graph properties its scope is
// checked at; placed is false when the row's time is missing or not UTC.
func projector(kind string, col map[string]int) func([]string) (map[string]any, bool) {
	get := func(rec []string, names ...string) string {
		for _, n := range names {
			if i, ok := col[n]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
		}
		return ""
	}
	when := func(rec []string) (string, bool) {
		v := get(rec, "Date (UTC)", "Date", "CreatedDateTime", "createdDateTime", "ActivityDateTime", "activityDateTime")
		t, err := parseZoned(v)
		if err != nil {
			return "", false
		}
		return t.UTC().Format(time.RFC3339Nano), true
	}
	if kind == KindAudits {
		return func(rec []string) (map[string]any, bool) {
			t, ok := when(rec)
			var targets []map[string]string
			for n := 1; ; n++ {
				p := "Target" + strconv.Itoa(n)
				if _, ok := col[p+"Type"]; !ok {
					break
				}
				targets = append(targets, map[string]string{"id": get(rec, p+"ObjectId"), "userPrincipalName": get(rec, p+"UserPrincipalName")})
			}
			return map[string]any{
				"activityDateTime": t,
				"initiatedBy":      map[string]any{"user": map[string]string{"id": get(rec, "ActorObjectId"), "userPrincipalName": get(rec, "ActorUserPrincipalName")}},
				"targetResources":  targets,
			}, ok
		}
	}
	return func(rec []string) (map[string]any, bool) {
		t, ok := when(rec)
		return map[string]any{"createdDateTime": t, "userId": get(rec, "User ID", "UserId", "userId"), "userPrincipalName": get(rec, "Username", "User principal name", "userPrincipalName")}, ok
	}
}

// splitJSON judges the records of a JSON array or a saved Graph page and
// writes each into a JSON array of its own side, byte for byte.
func splitJSON(r io.Reader, scope *collect.Scope, sp *Split, in, out io.Writer) error {
	sides := map[io.Writer]int{}
	err := eachJSON(r, func(rec json.RawMessage) error {
		w := in
		if scope.Outside(rec) != "" {
			w = out
		}
		var b bytes.Buffer
		if w != nil {
			if sides[w] == 0 {
				b.WriteString("[\n")
			} else {
				b.WriteString(",\n")
			}
			sides[w]++
		}
		b.Write(rec)
		return sp.judge(scope, rec, b.Bytes(), in, out)
	})
	if err != nil {
		return err
	}
	for _, w := range []io.Writer{in, out} {
		if w == nil {
			continue
		}
		end := "\n]\n"
		if sides[w] == 0 {
			end = "[]\n"
		}
		if _, err := io.WriteString(w, end); err != nil {
			return err
		}
	}
	return nil
}
