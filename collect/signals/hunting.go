package signals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/catalog"
	"github.com/evidence-dfir/evidence/collect/kql"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/collect/tenant"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Advanced hunting limits, from Defender's advanced hunting API pages
// (https://learn.microsoft.com/defender-xdr/api-advanced-hunting and
// https://learn.microsoft.com/defender-endpoint/api/run-advanced-query-api).
const (
	// HuntingRowLimit: a result holds at most 100,000 rows; an answer of
	// that many may be cut, so its window is asked again in halves.
	HuntingRowLimit = 100000
)

// HuntingQueriesPath lists every advanced hunting answer: the query and
// timespan sent, the rows returned, whether they reached the cap, and the
// answer's schema as returned. It is JSON, not JSON Lines: its entries
// describe answers, they are not records of the tenant.
const HuntingQueriesPath = Dir + "/hunting-queries.json"

// HuntingQueriesFormat names the layout of HuntingQueriesPath.
const HuntingQueriesFormat = "evidence-hunting-queries/1"

// HuntingQuery is one table of the advanced hunting schema read for the
// subjects, and the columns that name them.
type HuntingQuery struct {
	Table string
	// ByName are columns compared (in~, case-insensitive) with the
	// subjects' user principal names and mail addresses; ByID with their
	// Entra object ids. A row matching any column is the subject's.
	ByName, ByID []string
	Cols         []collect.Column
}

// HuntingQueries are the queries of the signals source, one per table (the
// advanced hunting schema reference names the columns:
// https://learn.microsoft.com/defender-xdr/advanced-hunting-<table>-table).
var HuntingQueries = []HuntingQuery{
	{Table: "IdentityLogonEvents", ByName: []string{"AccountUpn"}, Cols: cols("ActionType", "Application", "LogonType", "FailureReason", "AccountUpn", "IPAddress", "Location", "ISP", "ReportId")},
	{Table: "CloudAppEvents", ByID: []string{"AccountObjectId"}, Cols: cols("ActionType", "Application", "AccountObjectId", "AccountDisplayName", "IPAddress", "CountryCode", "ObjectName", "ReportId")},
	{Table: "EmailEvents", ByName: []string{"RecipientEmailAddress", "SenderFromAddress"}, Cols: cols("SenderFromAddress", "RecipientEmailAddress", "Subject", "EmailDirection", "DeliveryAction", "DeliveryLocation", "ThreatTypes", "InternetMessageId", "NetworkMessageId")},
	{Table: "UrlClickEvents", ByName: []string{"AccountUpn"}, Cols: cols("Url", "ActionType", "AccountUpn", "Workload", "IPAddress", "ThreatTypes", "IsClickedThrough", "NetworkMessageId", "ReportId")},
}

func cols(names ...string) []collect.Column {
	out := []collect.Column{collect.Time("Timestamp (UTC)", "Timestamp")}
	for _, n := range names {
		out = append(out, collect.Str(n, n))
	}
	return out
}

// File is the bundle path of the table's rows.
func (q HuntingQuery) File() string { return Dir + "/hunting-" + q.Table + ".jsonl" }

// KQL is the query of the table over the half-open window w for the given
// names and ids:
//
//	TABLE
//	| where Timestamp >= datetime(START) and Timestamp < datetime(END)
//	| where COLUMN in~ ("name", ...) or ...
//	| order by Timestamp asc
//
// ok is false when there is nothing to compare the table's columns with.
func (q HuntingQuery) KQL(w collect.Window, names, ids []string) (string, bool) {
	var preds []string
	list := func(cols, vals []string) {
		if len(vals) == 0 {
			return
		}
		lits := make([]string, len(vals))
		for i, v := range vals {
			lits[i] = kql.String(v)
		}
		for _, c := range cols {
			preds = append(preds, c+" in~ ("+strings.Join(lits, ", ")+")")
		}
	}
	list(q.ByName, names)
	list(q.ByID, ids)
	if len(preds) == 0 {
		return "", false
	}
	return q.Table + "\n| where Timestamp >= " + kql.Time(w.Start) + " and Timestamp < " + kql.Time(w.End) +
		"\n| where " + strings.Join(preds, " or ") + "\n| order by Timestamp asc", true
}

// huntingAnswers is HuntingQueriesPath.
type huntingAnswers struct {
	Format  string          `json:"format"`
	Note    string          `json:"note"`
	Answers []huntingAnswer `json:"answers"`
}

// huntingAnswer is one answer of HuntingQueriesPath.
type huntingAnswer struct {
	Table    string          `json:"table"`
	Window   manifest.Window `json:"window"`
	Query    string          `json:"query"`
	Timespan string          `json:"timespan"`
	Rows     int             `json:"rows"`
	Capped   bool            `json:"capped"` // rows reached the cap: not kept, asked again in halves
	Schema   json.RawMessage `json:"schema"`
}

// hunt runs every hunting query for the job's subjects and records one
// window per answer kept (data windows, not read intervals).
func (s *Source) hunt(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output, src *manifest.Source, notChecked func(check, reason string)) error {
	limit := s.HuntingRowLimit
	if limit <= 0 {
		limit = HuntingRowLimit
	}
	if job.AllUsers {
		// By design, not a loss: 30 days of every user's events would take
		// thousands of capped queries against a quota of 45 a minute.
		notChecked("advanced-hunting", "not asked: advanced hunting is run per subject (--user); a tenant-wide collection does not query every user's events")
		return nil
	}
	var names, ids []string
	seen := map[string]bool{}
	add := func(dst *[]string, v string) {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" && !seen[v] {
			seen[v] = true
			*dst = append(*dst, v)
		}
	}
	for _, u := range job.Users {
		add(&ids, u.ID)
		add(&names, u.UPN)
		add(&names, u.Mail)
	}
	scope := strings.Join(userIDs(job.Users), ", ")
	now := job.Now // the service's clock when the licence probe read it
	if job.Facts != nil {
		now = job.Facts.Now
	}
	kept, lost := job.Window.Clamp(now.Add(-collect.Retention("hunting", "")))
	answers := huntingAnswers{Format: HuntingQueriesFormat, Answers: []huntingAnswer{},
		Note: "one entry per runHuntingQuery answer: the query and timespan sent, the rows it held, whether they reached the cap " +
			"(then not kept: the window was asked again in halves), and the answer's schema as returned"}
	u := c.BaseURL("v1.0") + "/security/runHuntingQuery"
	for _, q := range HuntingQueries {
		part := "hunting-" + q.Table
		if !lost.Empty() {
			w := manifest.SubWindow{Window: manifest.NewWindow(lost.Start, lost.End), Scope: scope, Status: manifest.StatusClamped,
				Query:  part + ": not asked",
				Reason: "retention: advanced hunting explores the last 30 days only (Defender XDR advanced hunting API); " + lost.String() + " not collected"}
			src.Windows = append(src.Windows, w)
			src.Missing = append(src.Missing, manifest.Gap{Window: w.Window, Scope: scope, Status: w.Status, Reason: part + ": " + w.Reason})
		}
		if kept.Empty() {
			continue
		}
		if _, ok := q.KQL(kept, names, ids); !ok {
			w := manifest.SubWindow{Window: manifest.NewWindow(kept.Start, kept.End), Scope: scope, Status: manifest.StatusUnavailable,
				Query: part + ": not asked", Reason: "not asked: the users' " + strings.Join(append(q.ByName, q.ByID...), ", ") + " values are not known"}
			src.Windows = append(src.Windows, w)
			notChecked(part, w.Reason)
			continue
		}
		var sink collect.Sink // opened on the first answer: a refused table leaves no empty file
		todo := []collect.Window{kept}
		note := map[collect.Window]string{}
		refused := ""
		for len(todo) > 0 {
			w := todo[0]
			todo = todo[1:]
			text, _ := q.KQL(w, names, ids)
			sw := manifest.SubWindow{Window: manifest.NewWindow(w.Start, w.End), Scope: scope, Status: manifest.StatusCollected,
				Query: part + ": POST /security/runHuntingQuery " + strings.ReplaceAll(text, "\n", " "), Reason: note[w]}
			if refused != "" {
				sw.Status, sw.Reason = manifest.StatusUnavailable, "not asked: "+refused
				src.Windows = append(src.Windows, sw)
				continue
			}
			timespan := collect.FormatTime(w.Start) + "/" + collect.FormatTime(w.End)
			body, _ := json.Marshal(struct {
				Query    string `json:"Query"`
				Timespan string `json:"Timespan"`
			}{text, timespan})
			var res gjson.Result
			resp, err := c.Do(ctx, collect.Request{Class: catalog.ClassHunting, Source: Name, Method: http.MethodPost, URL: u, Body: body},
				func(b []byte) (int, error) {
					if !gjson.ValidBytes(b) {
						return 0, errors.New("answer is not valid JSON")
					}
					res = gjson.GetBytes(b, "results")
					if !res.IsArray() {
						return 0, errors.New("answer without results")
					}
					return len(res.Array()), nil
				})
			if err != nil {
				status, reason, fatal := tenant.Classify("signals.huntingQuery", err)
				if fatal {
					return &collect.FatalError{Err: err}
				}
				sw.Status, sw.Reason = status, reason
				src.Windows = append(src.Windows, sw)
				notChecked(part+" "+sw.Window.Start+"/"+sw.Window.End, reason)
				if status == manifest.StatusUnavailable {
					refused = reason
				}
				continue
			}
			rows := res.Array()
			capped := len(rows) >= limit
			ans := huntingAnswer{Table: q.Table, Window: sw.Window, Query: text, Timespan: timespan, Rows: len(rows), Capped: capped,
				Schema: json.RawMessage(gjson.GetBytes(resp.Body, "schema").Raw)}
			if len(ans.Schema) == 0 {
				ans.Schema = json.RawMessage("null")
			}
			answers.Answers = append(answers.Answers, ans)
			if capped {
				if a, b, ok := w.Halves(); ok {
					why := fmt.Sprintf("asked in halves: the answer for %s held %d rows, the documented cap, and may have been cut", w, len(rows))
					note[a], note[b] = why, why
					todo = append([]collect.Window{a, b}, todo...)
					continue
				}
				sw.Status = manifest.StatusFailed
				sw.Reason = fmt.Sprintf("possibly truncated: %d rows, the documented cap, in a window too short to split; the rows are kept", len(rows))
				notChecked(part+" "+sw.Window.Start+"/"+sw.Window.End, sw.Reason)
			}
			if sink == nil {
				if sink, err = out.Open(q.File(), Name, q.Cols); err != nil {
					return &collect.FatalError{Err: fmt.Errorf("%s: %w", Name, err)}
				}
				src.Files = append(src.Files, q.File(), collect.CSVPath(q.File()))
			}
			for _, r := range rows {
				var buf bytes.Buffer
				if err := json.Compact(&buf, []byte(r.Raw)); err != nil {
					return &collect.FatalError{Err: fmt.Errorf("%s: a row of %s is not JSON: %w", Name, q.Table, err)}
				}
				if err := sink.Write(buf.Bytes()); err != nil {
					return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", Name, q.File(), err)}
				}
			}
			sw.Records, sw.Pages = int64(len(rows)), 1
			src.Windows = append(src.Windows, sw)
			if job.Progress != nil {
				job.Progress.Add(Name, len(rows), 1)
			}
		}
	}
	files, ok := out.(snapshot.Files)
	if !ok {
		return &collect.FatalError{Err: fmt.Errorf("%s: the bundle cannot hold %s", Name, HuntingQueriesPath)}
	}
	b, err := manifest.Canonical(answers)
	if err != nil {
		return &collect.FatalError{Err: err}
	}
	w, err := files.Create(HuntingQueriesPath, Name, "application/json")
	if err == nil {
		_, err = w.Write(append(b, '\n'))
	}
	if err != nil {
		return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", Name, HuntingQueriesPath, err)}
	}
	src.Files = append(src.Files, HuntingQueriesPath)
	return nil
}
