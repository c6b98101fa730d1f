package report

import (
	"strings"

	"github.com/tidwall/gjson"
)

// FindingsPath is where the persistence snapshot writes its findings.
const FindingsPath = "snapshot/findings.json"

// FindingsPaths are every source's findings files (the snapshot's, the
// tenant source's, the signals source's), all in the same format; the page
// shows their findings together, in this order.
var FindingsPaths = []string{FindingsPath, "tenant/findings.json", "signals/findings.json"}

func isFindings(rel string) bool {
	for _, p := range FindingsPaths {
		if rel == p {
			return true
		}
	}
	return false
}

// maxFindingsFile bounds how much of the findings file is read.
const maxFindingsFile = 16 << 20

// Finding is one finding of a findings file, as the page shows it. Kind
// is the stable code (e.g. "inbox-rule-suspicious") the page's catalogue
// keys its title, why it matters and next step by, in every language;
// Title, Detail and NextStep are the English text the file holds.
type Finding struct {
	Kind     string
	Severity string
	Title    string
	Detail   string
	NextStep string
	Object   string
	UPN      string
	Time     string
	Records  []RecordRef
}

// RecordRef points at one record of the bundle: its file, 1-based line,
// id and the SHA-256 of the line.
type RecordRef struct {
	Path   string
	Line   int64
	ID     string
	SHA256 string
}

// parseFindings reads the findings file tolerantly: a JSON array of
// findings, or an object holding one under "findings". Each finding's
// fields are looked up under their documented names (docs/format.md) with
// common alternatives; records are {"path","id"} objects or bare ids.
func parseFindings(b []byte) ([]Finding, bool) {
	if !gjson.ValidBytes(b) {
		return nil, false
	}
	root := gjson.ParseBytes(b)
	list := root
	if root.IsObject() {
		list = root.Get("findings")
	}
	if !list.IsArray() {
		return nil, false
	}
	var out []Finding
	list.ForEach(func(_, f gjson.Result) bool {
		fd := Finding{
			Kind:     first(f, "kind", "code", "rule"),
			Severity: strings.ToLower(first(f, "severity", "level")),
			Title:    first(f, "title", "summary", "name", "rule", "kind"),
			Detail:   first(f, "detail", "details", "description", "message"),
			NextStep: first(f, "next_step", "nextStep"),
			Object:   first(f, "object"),
			UPN:      first(f, "upn"),
			Time:     first(f, "time", "createdDateTime", "detectedDateTime", "at"),
		}
		for _, k := range []string{"records", "evidence", "refs"} {
			f.Get(k).ForEach(func(_, r gjson.Result) bool {
				if r.Type == gjson.String {
					fd.Records = append(fd.Records, RecordRef{ID: r.String()})
				} else {
					fd.Records = append(fd.Records, RecordRef{Path: first(r, "path", "file"), Line: r.Get("line").Int(), ID: first(r, "id", "record_id", "recordId"), SHA256: first(r, "sha256")})
				}
				return len(fd.Records) < 50
			})
		}
		if p := first(f, "path", "file"); p != "" && len(fd.Records) == 0 {
			fd.Records = append(fd.Records, RecordRef{Path: p, ID: first(f, "id", "record_id")})
		}
		out = append(out, fd)
		return len(out) < 1000
	})
	return out, true
}
