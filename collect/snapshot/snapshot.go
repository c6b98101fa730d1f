// Package snapshot records the current state of what an attacker leaves
// behind in a Microsoft 365 / Entra ID account (authentication methods,
// devices, inbox rules, consents, app credentials, roles, risk), the record a
// responder would otherwise screenshot before remediation, and flags what the
// incident guides say to look at (findings.json).
//
// It only reads: every request is a GET. Each object is written as Graph
// sent it (compacted), with one exception: a credential's secretText, which
// Graph never returns on reads, is replaced by null should a service ever
// send one, so that no secret value reaches the bundle.
package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Name is the source's name in --sources and the manifest.
const Name = "snapshot"

// Dir is the bundle folder of the snapshot; findings go in FindingsPath.
const (
	Dir          = "snapshot"
	FindingsPath = Dir + "/findings.json"
	FindingsCSV  = Dir + "/findings.csv"
)

// Files creates plain (non-record) files in the bundle; the bundle stage
// implements it besides collect.Output.
type Files interface {
	Create(rel, source, media string) (io.Writer, error)
}

// Source is the persistence snapshot. For each user of the job it reads the
// account's state; with TenantObjects (or a tenant-wide job) also the
// tenant's guests, app registrations, service principals and consents.
type Source struct {
	TenantObjects bool
}

// Name implements collect.Source.
func (*Source) Name() string { return Name }

// run is one collection.
type run struct {
	c     *collect.Client
	job   collect.Job
	out   collect.Output
	src   manifest.Source
	sinks map[string]*sink
	f     *findings
	base  string

	// Records a filtered part returned for someone else: kept apart in
	// <file>.out-of-scope.jsonl, never judged by the findings.
	oosSinks map[string]collect.Sink
	oos      int64
	oosFirst string
}

// sink is a JSON Lines file opened on first use, so a part the service
// refused leaves no empty file that could be read as "nothing there".
type sink struct {
	path  string
	cols  []collect.Column
	w     collect.Sink
	lines int64
}

// Collect implements collect.Source.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	r := &run{c: c, job: job, out: out, sinks: map[string]*sink{}, f: newFindings(job.Window), base: c.BaseURL("v1.0"),
		src: manifest.Source{Name: Name, Endpoint: "GET " + c.BaseURL("v1.0") + " (one query per part: windows[].query)",
			Query: "current state at collection time; windows[] are the read intervals, one per part and scope"}}
	if !job.AllUsers {
		for i, u := range job.Users {
			if err := r.user(ctx, i, u); err != nil {
				return r.src, err
			}
		}
	}
	if s.TenantObjects || job.AllUsers {
		if err := r.tenant(ctx); err != nil {
			return r.src, err
		}
	}
	if err := r.writeFindings(); err != nil {
		return r.src, &collect.FatalError{Err: err}
	}
	summarize(&r.src)
	for p := range r.sinks {
		r.src.Files = append(r.src.Files, p, collect.CSVPath(p))
	}
	for p := range r.oosSinks {
		r.src.Files = append(r.src.Files, p, collect.CSVPath(p))
	}
	if r.oos > 0 {
		r.src.OutOfScope, r.src.Records = r.oos, r.src.Records-r.oos
		reason := collect.OutOfScopeReason(r.oos, "snapshot/*"+manifest.OutOfScopeSuffix, r.oosFirst)
		if r.src.Reason != "" {
			reason = r.src.Reason + "; " + reason
		}
		r.src.Reason = reason
	}
	r.src.Files = append(r.src.Files, FindingsPath, FindingsCSV)
	sort.Strings(r.src.Files)
	return r.src, nil
}

// part is one GET of the snapshot.
type part struct {
	name     string // e.g. "authentication-methods"
	scope    string // user object id, or "tenant"
	file     string // bundle path of the .jsonl
	url      string // absolute, as sent
	single   bool   // one object, not a collection
	missing  string // for a 404 on a single object: why that means "nothing to record"
	cols     []collect.Column
	onRecord func(ptr Pointer, r gjson.Result)
	// asked is what a filtered part asked for (e.g. principalId eq the
	// user); a record outside it is kept apart. nil: nothing to check.
	asked *collect.Scope
}

// fetch runs one part and accounts for it in a sub-window. Only errors that
// end the run are returned.
func (r *run) fetch(ctx context.Context, p part) (manifest.SubWindow, error) {
	started := time.Now().UTC()
	sw := manifest.SubWindow{Scope: p.scope, Query: p.name + ": GET " + strings.TrimPrefix(collect.RedactURL(p.url), r.base), Status: manifest.StatusCollected}
	write := func(rec []byte) error {
		s, err := r.sink(p.file, p.cols)
		if err != nil {
			return err
		}
		rec, n := ScrubSecrets(rec)
		if n > 0 {
			r.f.redacted += n
		}
		if why := p.asked.Outside(rec); why != "" {
			sw.Records++ // returned by the query, counted in outOfScope
			return r.outside(p, rec, why)
		}
		if err := s.w.Write(rec); err != nil {
			return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", Name, p.file, err)}
		}
		s.lines++
		sw.Records++
		if p.onRecord != nil {
			sum := sha256.Sum256(rec)
			parsed := gjson.ParseBytes(rec)
			p.onRecord(Pointer{File: p.file, Line: s.lines, ID: parsed.Get("id").String(), SHA256: hex.EncodeToString(sum[:])}, parsed)
		}
		return nil
	}
	var err error
	if p.single {
		var body []byte
		body, err = r.c.GetJSON(ctx, collect.ClassDirectory, Name, p.url)
		if err == nil {
			sw.Pages = 1
			var rec []byte
			if rec, err = compact(body); err == nil {
				err = write(rec)
			}
		}
	} else {
		var pages int
		pages, err = r.c.Pages(ctx, collect.ClassDirectory, Name, p.url, func(_ int, pg *collect.Page) error {
			if _, err := r.sink(p.file, p.cols); err != nil { // an empty collection still gets its (empty) file
				return err
			}
			for _, rec := range pg.Records {
				if err := write(rec); err != nil {
					return err
				}
			}
			if r.job.Progress != nil {
				r.job.Progress.Add(Name, len(pg.Records), 1)
			}
			return nil
		})
		sw.Pages = int64(pages)
	}
	sw.Window = manifest.NewWindow(started, time.Now().UTC())
	if err != nil {
		var fe *collect.FatalError
		if errors.As(err, &fe) {
			return sw, err
		}
		var ge *collect.GraphError
		if p.missing != "" && errors.As(err, &ge) && ge.Status == 404 {
			sw.Reason = p.missing
			return sw, nil
		}
		status, reason, fatal := classify(err)
		if fatal {
			return sw, &collect.FatalError{Err: err}
		}
		sw.Status, sw.Reason = status, reason
	}
	return sw, nil
}

// add records a part's sub-window.
func (r *run) add(sw manifest.SubWindow) bool {
	r.src.Windows = append(r.src.Windows, sw)
	return sw.Status == manifest.StatusCollected
}

// outside writes a record a filtered part returned outside what it asked,
// byte-exact, to the out-of-scope file beside the part's file.
func (r *run) outside(p part, rec []byte, why string) error {
	path := collect.OutOfScopePath(p.file)
	w := r.oosSinks[path]
	if w == nil {
		var err error
		if w, err = r.out.Open(path, manifest.OutOfScopeSource(Name), p.cols); err != nil {
			return &collect.FatalError{Err: fmt.Errorf("%s: %w", Name, err)}
		}
		if r.oosSinks == nil {
			r.oosSinks = map[string]collect.Sink{}
		}
		r.oosSinks[path] = w
	}
	if r.oos == 0 {
		r.oosFirst = p.name + ": " + why
	}
	r.oos++
	if err := w.Write(rec); err != nil {
		return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", Name, path, err)}
	}
	return nil
}

func (r *run) sink(path string, cols []collect.Column) (*sink, error) {
	if s := r.sinks[path]; s != nil {
		return s, nil
	}
	w, err := r.out.Open(path, Name, cols)
	if err != nil {
		return nil, &collect.FatalError{Err: fmt.Errorf("%s: %w", Name, err)}
	}
	s := &sink{path: path, cols: cols, w: w}
	r.sinks[path] = s
	return s, nil
}

// classify is collect.Classify with reasons that name the licence or
// permission a snapshot part needs.
func classify(err error) (status, reason string, fatal bool) {
	status, reason, fatal = collect.Classify(err)
	var ge *collect.GraphError
	if !errors.As(err, &ge) || ge.Status != 403 {
		return status, reason, fatal
	}
	switch ge.Code {
	case collect.CodeNoPremium:
		return manifest.StatusUnavailable, "licence: the tenant has no Entra ID P1/P2 (" + ge.Error() + ")", false
	case "AadPremiumLicenseRequired":
		return manifest.StatusUnavailable, "licence: Privileged Identity Management needs Entra ID P2 (" + ge.Error() + ")", false
	}
	return manifest.StatusUnavailable, "licence or permission refused by the service: " + ge.Error(), false
}

// summarize is Source.Summarize with the snapshot's reason: how many
// parts were not collected.
func summarize(s *manifest.Source) {
	s.Summarize()
	unavailable := 0
	for _, w := range s.Windows {
		if w.Status != manifest.StatusCollected {
			unavailable++
		}
	}
	if unavailable > 0 {
		s.Reason = fmt.Sprintf("%d of %d parts not collected; see windows[].reason", unavailable, len(s.Windows))
	}
}

// compact removes insignificant whitespace, the only change a record may
// undergo.
func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("answer is not valid JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// pathSafe matches ids that may name a folder of the bundle.
var pathSafe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// userDir is the bundle folder of a user's snapshot: the object id when it
// is a plain id, else the user's position on the command line.
func userDir(i int, u collect.User) string {
	if pathSafe.MatchString(u.ID) && !strings.Contains(u.ID, "..") {
		return Dir + "/users/" + u.ID
	}
	return fmt.Sprintf("%s/users/user-%02d", Dir, i+1)
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }
